package pluginhost

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// modules are the WebAssembly modules the tests build once: hello (examples/plugins/hello-wasm) and
// evil (testdata/wasm/evil). The process plugins are built by buildProcPlugins.
var modules = map[string][]byte{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pluginhost-test")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if err := buildProcPlugins(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for name, pkg := range map[string]string{"hello": "../../examples/plugins/hello-wasm", "evil": "./testdata/wasm/evil"} {
			out := filepath.Join(dir, name+".wasm")
			cmd := exec.CommandContext(context.Background(), "go", "build", "-buildmode=c-shared", "-o", out, pkg)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, b)
				return 1
			}
			b, err := os.ReadFile(out)
			if err != nil {
				panic(err)
			}
			modules[name] = b
		}
		return m.Run()
	}()
	os.Exit(code)
}

// writePlugin writes a plugin folder dir/name with manifest m and, for wasm, the named module.
func writePlugin(t testing.TB, dir, folder string, manifest map[string]any, module string) string {
	t.Helper()
	p := filepath.Join(dir, folder)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "plugin.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if module != "" {
		if err := os.WriteFile(filepath.Join(p, "plugin.wasm"), modules[module], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// evilManifest declares every type of the evil module.
func evilManifest(extra map[string]any) map[string]any {
	var nodes []any
	for _, typ := range []string{"loop", "alloc", "trap", "panic", "file", "socket", "env", "big", "print", "fetch", "echo"} {
		nodes = append(nodes, map[string]any{"type": "evil." + typ, "title": typ, "schema": map[string]any{"type": "object"}})
	}
	m := map[string]any{"name": "evil", "version": "1.0.0", "timeoutMs": 5000, "wasm": map[string]any{"memoryMiB": 64, "instances": 4}, "nodes": nodes}
	for k, v := range extra {
		m[k] = v
	}
	return m
}
