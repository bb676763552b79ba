package pluginhost

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWarmCompilationCache compiles the test modules into the shared on-disk cache and checks that
// they run. `make test-go` runs it alone, without -race, before the race-enabled run: wazero's
// compiler is ~10× slower under the race detector, and every later compile of these modules (here,
// in internal/app) is then a cache hit.
func TestWarmCompilationCache(t *testing.T) {
	t.Parallel()
	evil := newEvil(t, nil, nil)
	resp, err := call(t, evil, "evil.echo", map[string]any{})
	require.NoError(t, err)
	require.Nil(t, resp.Error)

	p := writePlugin(t, t.TempDir(), "hello", helloManifest("1.0.0"), "hello")
	b, problems, err := readBundle(p)
	require.NoError(t, err)
	require.Empty(t, problems)
	hello, err := NewWasm(context.Background(), b.manifest, b.module, WasmOptions{Cache: sharedCache})
	require.NoError(t, err)
	t.Cleanup(func() { _ = hello.Close(context.Background()) })
	resp, err = call(t, hello, "hello.greet", map[string]any{"name": "cache"})
	require.NoError(t, err)
	require.Contains(t, output(t, resp)["greeting"], "cache")
}
