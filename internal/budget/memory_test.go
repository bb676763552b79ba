package budget_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
)

func TestMemoryReserveAndRelease(t *testing.T) {
	t.Parallel()
	m := budget.NewMemory(100)
	require.NoError(t, m.Reserve(60))
	err := m.Reserve(41)
	require.ErrorIs(t, err, budget.ErrExceeded)
	var ee *budget.ExceededError
	require.True(t, errors.As(err, &ee))
	require.Equal(t, budget.ExceededError{Limit: 100, Used: 60, Requested: 41}, *ee)
	require.Equal(t, "needs 41 bytes more while holding 60 bytes, over the memory budget of 100 bytes", err.Error())
	require.Equal(t, int64(60), m.Used(), "a refused reservation takes nothing")
	require.NoError(t, m.Reserve(40))
	m.Release(100)
	require.Zero(t, m.Used())
}

func TestMemoryUnlimitedAndNil(t *testing.T) {
	t.Parallel()
	var nilMem *budget.Memory
	require.NoError(t, nilMem.Reserve(1<<62))
	nilMem.Release(5)
	require.Zero(t, nilMem.Used())
	require.Zero(t, nilMem.Limit())

	m := budget.NewMemory(0)
	require.NoError(t, m.Reserve(1<<40))
	require.Equal(t, int64(1<<40), m.Used())

	var nilAcc *budget.Account
	require.NoError(t, nilAcc.Reserve(10))
	require.Zero(t, nilAcc.Held())
	require.Zero(t, nilAcc.Limit())
	nilAcc.Close()
}

func TestAccountCloseReleasesEverything(t *testing.T) {
	t.Parallel()
	m := budget.NewMemory(1000)
	a := m.Open()
	b := m.Open()
	require.NoError(t, a.Reserve(300))
	require.NoError(t, a.Reserve(200))
	require.NoError(t, b.Reserve(400))
	require.ErrorIs(t, a.Reserve(101), budget.ErrExceeded)
	require.Equal(t, int64(500), a.Held())
	require.Equal(t, int64(1000), a.Limit())
	a.Close()
	require.Equal(t, int64(400), m.Used())
	require.Zero(t, a.Held())
	require.NoError(t, a.Reserve(600), "a closed account is usable again")
}

func TestMemoryConcurrentReservationsNeverOvershoot(t *testing.T) {
	t.Parallel()
	m := budget.NewMemory(10_000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if m.Reserve(7) == nil {
					mu.Lock()
					granted++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 10_000/7, granted)
	require.Equal(t, int64(granted*7), m.Used())
}

func TestBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"}, {1, "1 byte"}, {1023, "1023 bytes"}, {1024, "1 KiB"}, {1536, "1.5 KiB"},
		{256 << 20, "256 MiB"}, {3 << 30, "3 GiB"}, {1<<30 + 1<<29, "1.5 GiB"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, budget.Bytes(tt.n), "%d", tt.n)
	}
}
