package latency

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	var r Recorder
	require.Zero(t, r.Percentile(95))
	for i := 1; i <= 100; i++ {
		r.Add(time.Duration(i) * time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}}
	for _, tt := range tests {
		require.Equal(t, tt.want, r.Percentile(tt.p), "p%v", tt.p)
	}
	require.Equal(t, 100, r.Count())
	require.Contains(t, r.Summary(), "p95 95.00 ms")
}
