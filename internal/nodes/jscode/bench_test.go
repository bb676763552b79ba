package jscode

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
)

// BenchmarkTrivialScript measures the node's overhead for a trivial script: a fresh sandbox, the
// input copied in, the result converted out. It reports the median run time as p50-µs.
func BenchmarkTrivialScript(b *testing.B) {
	n := New(Config{}).(*Code)
	n.Code = `return {sum: input.a + input.b}`
	require := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	require(n.Validate())
	in := &node.Input{
		Data:   map[string]any{"a": 1.0, "b": 2.0},
		Logger: slog.New(slog.DiscardHandler),
		Limits: node.Limits{MaxOutputBytes: 16 << 20, Memory: budget.NewMemory(256 << 20).Open()},
	}
	ctx := context.Background()
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		_, err := n.Execute(ctx, in)
		times = append(times, time.Since(start))
		require(err)
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkSandboxSetup measures what a pool of runtimes could save at most: creating the runtime
// with its guards and globals, without running anything.
func BenchmarkSandboxSetup(b *testing.B) {
	n := New(Config{}).(*Code)
	in := &node.Input{Data: map[string]any{"a": 1.0}, Logger: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = newSandbox(ctx, &n.shared.lim, in)
	}
}
