// Package plugins_test builds the example plugins with scripts/build-plugins.sh, as `make plugins`
// does, and checks what it makes: the files, pluginhost.Check, and the Python plugin's answers.
package plugins_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/plugin/plugintest"
	"github.com/concertmaster/concertmaster/internal/pluginhost"
	"github.com/concertmaster/concertmaster/pkg/plugin"
	"github.com/concertmaster/concertmaster/pkg/plugin/python"
)

// buildPlugins runs the build script with args and returns its combined output.
func buildPlugins(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "../../scripts/build-plugins.sh", args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestBuildPlugins(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	log, err := buildPlugins(t, out)
	require.NoError(t, err, log)
	require.Equal(t, []string{"hello-python", "hello-wasm", "xml"}, files(t, out), "one folder per example, no staging left")

	for _, name := range []string{"hello-python", "hello-wasm", "xml"} {
		dir := filepath.Join(out, name)
		built, err := os.ReadFile(filepath.Join(dir, plugin.ManifestFile))
		require.NoError(t, err)
		src, err := os.ReadFile(filepath.Join(name, plugin.ManifestFile))
		require.NoError(t, err)
		require.Equal(t, src, built)
		m, err := plugin.ParseManifest(built)
		require.NoError(t, err)
		require.Equal(t, name, m.Name, "the folder is named after the plugin")
		if name != "hello-wasm" { // internal/pluginhost's tests compile and run hello-wasm; compiling costs ~40 s under -race
			_, problems, err := pluginhost.Check(t.Context(), dir)
			require.NoError(t, err)
			require.Empty(t, problems, "the built plugin loads as the server would load it")
		}

		switch m.Kind {
		case plugin.KindWasm:
			require.Equal(t, []string{plugin.ManifestFile, m.Wasm.Module}, files(t, dir))
			module, err := os.ReadFile(filepath.Join(dir, m.Wasm.Module))
			require.NoError(t, err)
			require.True(t, bytes.HasPrefix(module, []byte("\x00asm\x01\x00\x00\x00")), "a WebAssembly module")
			for _, export := range []string{"cm_alloc", "cm_call", "_initialize"} {
				require.True(t, bytes.Contains(module, []byte(export)), "the reactor exports %s", export)
			}
		case plugin.KindProcess:
			require.Equal(t, []string{python.FileName, "main.py", plugin.ManifestFile}, files(t, dir))
			helper, err := os.ReadFile(filepath.Join(dir, python.FileName))
			require.NoError(t, err)
			require.Equal(t, python.Source(), helper, "the helper is the one copy in pkg/plugin/python")
			p := plugintest.Start(t, dir, nil, m.Process.Command...)
			resp := p.Call(plugin.Request{ID: 1, Type: "hellopy.greet", Config: json.RawMessage(`{"name":"Ada"}`)})
			require.JSONEq(t, `{"greeting":"Hello, Ada!"}`, string(resp.Output))
		}
	}

	// A second build of one plugin replaces it in place.
	stale := filepath.Join(out, "hello-python", "stale.py")
	require.NoError(t, os.WriteFile(stale, nil, 0o600))
	log, err = buildPlugins(t, out, "hello-python")
	require.NoError(t, err, log)
	require.NoFileExists(t, stale)
	require.Equal(t, []string{"hello-python", "hello-wasm", "xml"}, files(t, out))

	log, err = buildPlugins(t, out, "nope")
	require.Error(t, err)
	require.Contains(t, log, "build-plugins: examples/plugins/nope has no plugin.json")
}
