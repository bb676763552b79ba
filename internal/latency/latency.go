// Package latency records durations and reports percentiles, for benchmarks and load tools.
package latency

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Recorder collects durations. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	samples []time.Duration
}

// Add records one duration.
func (r *Recorder) Add(d time.Duration) {
	r.mu.Lock()
	r.samples = append(r.samples, d)
	r.mu.Unlock()
}

// Count returns the number of samples.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.samples)
}

// Percentile returns the p-th percentile (0 < p ≤ 100) by the nearest-rank method, or 0 without samples.
func (r *Recorder) Percentile(p float64) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) == 0 {
		return 0
	}
	s := slices.Clone(r.samples)
	slices.Sort(s)
	rank := int(p/100*float64(len(s))+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// Max returns the largest sample.
func (r *Recorder) Max() time.Duration { return r.Percentile(100) }

// Ms formats d in milliseconds with two decimals.
func Ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// Summary returns "p50 … p95 … p99 … max …".
func (r *Recorder) Summary() string {
	return fmt.Sprintf("p50 %s, p95 %s, p99 %s, max %s (%d samples)",
		Ms(r.Percentile(50)), Ms(r.Percentile(95)), Ms(r.Percentile(99)), Ms(r.Max()), r.Count())
}
