package meter_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/meter"
)

func TestMeter(t *testing.T) {
	t.Parallel()

	t.Run("NoLimits", func(t *testing.T) {
		t.Parallel()
		m := meter.New(node.Limits{}, "x")
		require.NoError(t, m.Add(1<<40, 1<<40, ""))
		require.True(t, m.Fits(1<<50))
		require.NoError(t, m.Flush())
	})

	t.Run("OutputCap", func(t *testing.T) {
		t.Parallel()
		m := meter.New(node.Limits{MaxOutputBytes: 1024}, "the parsed CSV")
		require.NoError(t, m.Add(1000, 0, ""))
		require.Equal(t, int64(24), m.Remaining())
		err := m.Add(25, 0, "at line 7")
		var ne *node.Error
		require.True(t, errors.As(err, &ne))
		require.Equal(t, meter.CodeOutputTooLarge, ne.Code)
		require.Equal(t, "the parsed CSV is over the 1 KiB output limit (CM_MAX_OUTPUT_BYTES) at line 7", ne.Message)
		require.True(t, node.IsPermanent(err))
		require.Equal(t, int64(1000), m.Output(), "a refused addition is not counted")
	})

	t.Run("MemoryInChunks", func(t *testing.T) {
		t.Parallel()
		mem := budget.NewMemory(100 << 10)
		m := meter.New(node.Limits{Memory: mem.Open()}, "x")
		require.NoError(t, m.Add(0, 1000, ""))
		require.Equal(t, int64(0), mem.Used(), "small amounts are gathered")
		require.NoError(t, m.Flush())
		require.Equal(t, int64(1000), mem.Used())
		require.NoError(t, m.Add(0, 64<<10, ""))
		require.Equal(t, int64(1000+64<<10), mem.Used(), "a chunk is reserved at once")
		err := m.Reserve(64 << 10)
		require.ErrorIs(t, err, budget.ErrExceeded)
	})
}
