package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/plugin/plugintest"
	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// TestPluginNewPython scaffolds a Python plugin, validates it and speaks the protocol to its process.
func TestPluginNewPython(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "greeter")
	out, errOut, code := execute(t, "plugin", "new", "--lang", "python", "greeter", "--dir", dir)
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Created plugin greeter (Python, process) in "+dir+": plugin.json, concertmaster_plugin.py, main.py, README.md\n")
	require.Contains(t, out, "Node type greeter.hello.")

	out, errOut, code = execute(t, "plugin", "validate", dir)
	require.Zero(t, code, errOut)
	require.Contains(t, out, "greeter 0.1.0: process plugin (command python3 main.py, 4 at once), calls time out after 30000 ms\n")
	require.Regexp(t, `greeter\.hello\s+Hello\s+in\s+out\s+true`, out)
	require.Contains(t, out, "No problems.\n")

	data, err := os.ReadFile(filepath.Join(dir, plugin.ManifestFile))
	require.NoError(t, err)
	m, err := plugin.ParseManifest(data)
	require.NoError(t, err)
	p := plugintest.Start(t, dir, nil, m.Process.Command...)
	resp := p.Call(plugin.Request{ID: 1, Type: "greeter.hello", Config: json.RawMessage(`{"name":"Ada"}`)})
	require.Nil(t, resp.Error)
	require.JSONEq(t, `{"greeting":"Hello, Ada!"}`, string(resp.Output))
	resp = p.Call(plugin.Request{ID: 2, Type: "greeter.hello", Config: json.RawMessage(`{"name":" "}`)})
	require.Equal(t, &plugin.Error{Message: "name is empty", Code: "invalid_config", Permanent: true}, resp.Error)
	p.CloseStdin()
	require.NoError(t, p.Wait())
}

// TestPluginNewGo scaffolds a Go plugin outside the module, pointed at this checkout with --sdk,
// builds it with GOOS=wasip1 and validates it.
func TestPluginNewGo(t *testing.T) {
	t.Parallel()
	repo, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "go-greeter")
	out, errOut, code := execute(t, "plugin", "new", "--lang", "go", "go-greeter", "--dir", dir, "--sdk", repo)
	require.Zero(t, code, errOut)
	require.Contains(t, out, "Created plugin go-greeter (Go, WebAssembly) in "+dir+": plugin.json, go.mod, main.go, README.md, .gitignore\n")
	require.Contains(t, out, "  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .\n")

	out, _, code = execute(t, "plugin", "validate", dir)
	require.Equal(t, 1, code, "not built yet")
	require.Contains(t, out, "/wasm/module: ")

	build := exec.CommandContext(t.Context(), "go", "build", "-buildmode=c-shared", "-o", "plugin.wasm", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	log, err := build.CombinedOutput()
	require.NoError(t, err, string(log))

	out, errOut, code = execute(t, "plugin", "validate", dir)
	require.Zero(t, code, "%s\n%s", out, errOut)
	require.Contains(t, out, "go-greeter 0.1.0: wasm plugin (module plugin.wasm, 128 MiB, 4 instances), calls time out after 30000 ms\n")
	require.Regexp(t, `go_greeter\.hello\s+Hello\s+in\s+out\s+true`, out)
	require.Contains(t, out, "No problems.\n")
}

func TestPluginNewRefuses(t *testing.T) {
	t.Parallel()
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o600))
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"FolderNotEmpty", []string{"--lang", "go", "ok", "--dir", full}, 2, "is not empty (it holds x)"},
		{"LangMissing", []string{"ok", "--dir", filepath.Join(full, "a")}, 1, `required flag(s) "lang" not set`},
		{"LangUnknown", []string{"--lang", "rust", "ok", "--dir", filepath.Join(full, "b")}, 2, `--lang must be go or python, not "rust"`},
		{"NameBad", []string{"--lang", "python", "My_Plugin", "--dir", filepath.Join(full, "c")}, 2,
			`plugin name "My_Plugin" cannot be used: name must be 1 to 63 lowercase letters, digits and dashes, starting with a letter`},
		{"NameMissing", []string{"--lang", "go"}, 1, "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errOut, code := execute(t, append([]string{"plugin", "new"}, tt.args...)...)
			require.Equal(t, tt.code, code, errOut)
			require.Contains(t, errOut, tt.want)
		})
	}
}

func TestPluginValidateProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, plugin.ManifestFile), []byte(`{"name":"Bad","version":"1","nodes":[]}`), 0o600))

	out, errOut, code := execute(t, "plugin", "validate", dir)
	require.Equal(t, 1, code)
	require.Contains(t, out, "Problems:\n")
	for _, ptr := range []string{"/name", "/version", "/nodes"} {
		require.Contains(t, out, "  "+ptr+": ")
	}
	require.Contains(t, errOut, "plugin "+dir+" has 3 problems")

	bad := `{"name":"x","version":"1.0.0","kind":"process","process":{"command":["./nope"]},"nodes":[{"type":"x.y","title":"Y","schema":{"type":"nonsense"}}]}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, plugin.ManifestFile), []byte(bad), 0o600))
	out, errOut, code = execute(t, "plugin", "validate", dir)
	require.Equal(t, 1, code)
	require.Contains(t, out, "x 1.0.0: process plugin (command ./nope, 4 at once)", "what could be read is shown with the problems")
	require.Contains(t, out, "  /process/command/0: ./nope is not in the plugin folder\n")
	require.Contains(t, out, "  /nodes/0/schema: compile schema: the schema is not valid JSON Schema: at /type: value must be one of 'array'")
	require.Contains(t, errOut, "has 2 problems")

	out, _, code = execute(t, "plugin", "validate", "--json", dir)
	require.Equal(t, 1, code)
	var report struct {
		Manifest *plugin.Manifest `json:"manifest"`
		Problems plugin.Problems  `json:"problems"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &report))
	require.Equal(t, "x", report.Manifest.Name)
	require.Len(t, report.Problems, 2)
	require.Equal(t, "/process/command/0", report.Problems[0].Pointer)

	_, errOut, code = execute(t, "plugin", "validate", filepath.Join(dir, "nope"))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "has 1 problem")

	clash := `{"name":"x","version":"1.0.0","kind":"process","process":{"command":["python3"]},"nodes":[{"type":"data.set","title":"Mine"}]}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, plugin.ManifestFile), []byte(clash), 0o600))
	out, _, code = execute(t, "plugin", "validate", dir)
	require.Equal(t, 1, code)
	require.Contains(t, out, "  /nodes/0/type: data.set is a built-in node type; pick another name\n")
}
