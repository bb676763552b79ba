package pluginhost

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
)

// BenchmarkWasmNodeCall measures a hello.greet node attempt on a warm WebAssembly plugin, as the engine
// makes it: the input and configuration encoded, the call into the module, the answer decoded. It
// reports the p50 and p95 of single calls. Target: p95 ≤ 1 ms (issue 12).
func BenchmarkWasmNodeCall(b *testing.B) {
	dir := b.TempDir()
	writePlugin(b, dir, "hello", map[string]any{"name": "hello-wasm", "version": "1.0.0",
		"nodes": []any{map[string]any{"type": "hello.greet", "title": "Greet", "schema": map[string]any{"type": "object"}}}}, "hello")
	reg := node.NewRegistry()
	m, err := NewManager(Config{Dir: dir, Registry: reg, Cache: sharedCache})
	require.NoError(b, err)
	defer func() { _ = m.Close(context.Background()) }()
	require.NoError(b, m.Reload(context.Background()))
	typ, ok := reg.Lookup("hello.greet")
	require.True(b, ok)
	n, err := typ.Instantiate(map[string]any{"name": "Ada"}, false)
	require.NoError(b, err)
	in := &node.Input{Data: map[string]any{"id": 42, "tags": []any{"a", "b"}}, Execution: node.ExecutionInfo{ExecutionID: "e", NodeID: "greet", Attempt: 1}}
	ctx := context.Background()
	for range 100 { // warm
		_, err := n.Execute(ctx, in)
		require.NoError(b, err)
	}
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		out, err := n.Execute(ctx, in)
		durations = append(durations, time.Since(start))
		if err != nil || out.Value.(map[string]any)["greeting"] != "Hello, Ada!" {
			b.Fatalf("call: %v %v", out, err)
		}
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durations[len(durations)*95/100].Microseconds()), "p95-µs")
}
