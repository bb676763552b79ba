package ratelimit

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/clocktest"
)

type testBundle struct {
	clock   *clocktest.Clock
	limiter *Memory
}

func setup(t testing.TB, rule Rule, maxKeys int) *testBundle {
	t.Helper()
	clock := clocktest.New(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	l, err := NewMemory(rule, MemoryConfig{MaxKeys: maxKeys, Now: clock.Now})
	require.NoError(t, err)
	return &testBundle{clock: clock, limiter: l}
}

func (b *testBundle) allow(t *testing.T, key string, cost int) (bool, time.Duration) {
	t.Helper()
	ok, retry, err := b.limiter.Allow(context.Background(), key, cost)
	require.NoError(t, err)
	return ok, retry
}

func TestBurstThenRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, Rule{Rate: 5, Period: time.Minute, Burst: 3}, 0)
	for i := range 3 {
		ok, retry := b.allow(t, "ip:1", 1)
		require.True(t, ok, "request %d within the burst", i)
		require.Zero(t, retry)
	}
	ok, retry := b.allow(t, "ip:1", 1)
	require.False(t, ok)
	require.Equal(t, 12*time.Second, retry, "one unit comes back every 60s/5")
}

func TestRetryAfterIsExact(t *testing.T) {
	t.Parallel()
	b := setup(t, Rule{Rate: 5, Period: time.Minute, Burst: 3}, 0)
	for range 3 {
		ok, _ := b.allow(t, "k", 1)
		require.True(t, ok)
	}
	b.clock.Advance(5 * time.Second)
	ok, retry := b.allow(t, "k", 1)
	require.False(t, ok)
	require.Equal(t, 7*time.Second, retry)

	b.clock.Advance(retry - time.Nanosecond)
	ok, retry = b.allow(t, "k", 1)
	require.False(t, ok, "one nanosecond early")
	require.Equal(t, time.Nanosecond, retry)

	b.clock.Advance(time.Nanosecond)
	ok, _ = b.allow(t, "k", 1)
	require.True(t, ok, "exactly at retryAfter")

	// A cost of 2 needs two intervals of credit.
	ok, retry = b.allow(t, "k", 2)
	require.False(t, ok)
	require.Equal(t, 24*time.Second, retry)
	b.clock.Advance(retry)
	ok, _ = b.allow(t, "k", 2)
	require.True(t, ok)
}

func TestSteadyRate(t *testing.T) {
	t.Parallel()
	b := setup(t, Rule{Rate: 10, Period: time.Second, Burst: 2}, 0)
	// Arriving every 100 ms, exactly the rate, is always allowed.
	for i := range 100 {
		ok, _ := b.allow(t, "k", 1)
		require.True(t, ok, "request %d", i)
		b.clock.Advance(100 * time.Millisecond)
	}
	// Arriving every 50 ms, twice the rate, lets through about half over a long run (plus the burst).
	allowed := 0
	for range 200 {
		if ok, _ := b.allow(t, "k", 1); ok {
			allowed++
		}
		b.clock.Advance(50 * time.Millisecond)
	}
	require.InDelta(t, 100+2, allowed, 1)
}

func TestIdleKeyRegainsFullBurstOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, Rule{Rate: 1, Period: time.Second, Burst: 3}, 0)
	for range 3 {
		ok, _ := b.allow(t, "k", 1)
		require.True(t, ok)
	}
	b.clock.Advance(time.Hour)
	for range 3 {
		ok, _ := b.allow(t, "k", 1)
		require.True(t, ok)
	}
	ok, _ := b.allow(t, "k", 1)
	require.False(t, ok, "idling does not save up more than the burst")
}

func TestKeysAreIsolated(t *testing.T) {
	t.Parallel()
	b := setup(t, Rule{Rate: 1, Period: time.Minute, Burst: 1}, 0)
	ok, _ := b.allow(t, "account:alice", 1)
	require.True(t, ok)
	ok, _ = b.allow(t, "account:alice", 1)
	require.False(t, ok)
	ok, _ = b.allow(t, "account:bob", 1)
	require.True(t, ok, "another key has its own allowance")

	// Long keys are hashed, and two long keys that differ only at the end stay apart.
	long := string(make([]byte, 1000))
	ok, _ = b.allow(t, long+"a", 1)
	require.True(t, ok)
	ok, _ = b.allow(t, long+"b", 1)
	require.True(t, ok)
	ok, _ = b.allow(t, long+"a", 1)
	require.False(t, ok)
}

func TestInvalidCostAndRule(t *testing.T) {
	t.Parallel()
	b := setup(t, Rule{Rate: 1, Period: time.Second, Burst: 3}, 0)
	for _, cost := range []int{0, -1, 4} {
		ok, _, err := b.limiter.Allow(context.Background(), "k", cost)
		require.ErrorIs(t, err, ErrInvalidCost)
		require.False(t, ok)
	}
	for _, r := range []Rule{
		{Rate: 0, Period: time.Second, Burst: 1},
		{Rate: 1, Period: 0, Burst: 1},
		{Rate: 1, Period: time.Second, Burst: 0},
		{Rate: 10, Period: time.Nanosecond, Burst: 1},
	} {
		_, err := NewMemory(r, MemoryConfig{})
		require.Error(t, err, r.String())
	}
	_, err := NewMemory(Rule{Rate: 1, Period: time.Second, Burst: 1}, MemoryConfig{MaxKeys: 5})
	require.Error(t, err)
}

func TestEvictionKeepsTheBound(t *testing.T) {
	t.Parallel()
	const maxKeys = 1024
	b := setup(t, Rule{Rate: 1, Period: time.Minute, Burst: 1}, maxKeys)

	// Keys spent and never back at full allowance: eviction keeps the count at the bound.
	for i := range 10 * maxKeys {
		ok, _ := b.allow(t, "k"+strconv.Itoa(i), 1)
		require.True(t, ok, "a new key is always allowed")
		require.LessOrEqual(t, b.limiter.Len(), maxKeys)
	}

	// Once all are back at full allowance, a sweep drops them rather than the sampled eviction.
	b.clock.Advance(2 * time.Minute)
	for i := range maxKeys {
		ok, _ := b.allow(t, "fresh"+strconv.Itoa(i), 1)
		require.True(t, ok)
	}
	require.LessOrEqual(t, b.limiter.Len(), maxKeys)
}

func TestSweepForgetsOnlyKeysAtFullAllowance(t *testing.T) {
	t.Parallel()
	const maxKeys = 64 * shardCount
	b := setup(t, Rule{Rate: 1, Period: time.Minute, Burst: 1}, maxKeys)
	// Fill the limiter with keys that spend their allowance now.
	for i := range 2 * maxKeys {
		_, _ = b.allow(t, "cold"+strconv.Itoa(i), 1)
	}
	require.Equal(t, maxKeys, b.limiter.Len(), "every shard is full")

	// A minute later the cold keys are back at full allowance; a hot key spends its own.
	b.clock.Advance(time.Minute + time.Second)
	ok, _ := b.allow(t, "hot", 1)
	require.True(t, ok)

	// New keys meet full shards: the sweep drops the cold keys, never the hot one.
	for i := range maxKeys / 2 {
		ok, _ := b.allow(t, "fresh"+strconv.Itoa(i), 1)
		require.True(t, ok)
	}
	require.Less(t, b.limiter.Len(), maxKeys, "the cold keys were swept")
	ok, retry := b.allow(t, "hot", 1)
	require.False(t, ok, "the hot key is still limited")
	require.Equal(t, time.Minute, retry)
}

// TestMemoryBoundedWithMillionKeys feeds a million distinct keys through the default limiter and
// measures the heap it holds afterwards.
func TestMemoryBoundedWithMillionKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("a million keys")
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	b := setup(t, Rule{Rate: 5, Period: time.Minute, Burst: 5}, 0)
	ctx := context.Background()
	for i := range 1_000_000 {
		key := fmt.Sprintf("ip:203.0.%d.%d/account:user%07d@example.com", i>>8&0xff, i&0xff, i)
		if _, _, err := b.limiter.Allow(ctx, key, 1); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 0 {
			b.clock.Advance(time.Millisecond)
		}
	}
	after := heap()
	held := int64(after) - int64(before)
	t.Logf("1,000,000 distinct keys of ~50 bytes: %d keys tracked, %.1f MiB held (cap %d)",
		b.limiter.Len(), float64(held)/(1<<20), DefaultMaxKeys)
	require.LessOrEqual(t, b.limiter.Len(), DefaultMaxKeys)
	require.Less(t, held, int64(32<<20), "the limiter holds at most ~32 MiB for DefaultMaxKeys")
	runtime.KeepAlive(b.limiter)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	b := setup(t, Rule{Rate: 1, Period: time.Hour, Burst: 10}, 256)
	var allowedHot atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			ctx := context.Background()
			for i := range 500 {
				if ok, _, err := b.limiter.Allow(ctx, "hot", 1); err == nil && ok {
					allowedHot.Add(1)
				}
				_, _, _ = b.limiter.Allow(ctx, fmt.Sprintf("g%d-%d", g, i), 1)
				if i%100 == 0 {
					b.clock.Advance(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, int64(10), allowedHot.Load(), "exactly the burst gets through, however many race for it")
	require.LessOrEqual(t, b.limiter.Len(), 256)
}

func BenchmarkAllow(b *testing.B) {
	bundle := setup(b, Rule{Rate: 1000, Period: time.Second, Burst: 1000}, 0)
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = "token:" + strconv.Itoa(i)
	}
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, _, _ = bundle.limiter.Allow(ctx, keys[i%len(keys)], 1)
			i++
		}
	})
}
