package plugin_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// manifest is a valid plugin.json as a map, for tests to break one rule at a time.
func manifest() map[string]any {
	return map[string]any{
		"name":    "hello",
		"version": "1.0.0",
		"nodes":   []any{map[string]any{"type": "hello.greet", "title": "Greet"}},
	}
}

func firstNode(m map[string]any) map[string]any { return m["nodes"].([]any)[0].(map[string]any) }

func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// nodes returns n valid node types named fam.a0, fam.a1, ….
func nodes(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"type": "fam.a" + strconv.Itoa(i), "title": "T"}
	}
	return out
}

func ports(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"name": "p" + strings.Repeat("x", i)}
	}
	return out
}

func TestParseManifestDefaults(t *testing.T) {
	t.Parallel()

	t.Run("Process", func(t *testing.T) {
		t.Parallel()
		m := manifest()
		m["kind"] = "process"
		m["process"] = map[string]any{"command": []any{"python3", "main.py"}}
		got, err := plugin.ParseManifest(encode(t, m))
		require.NoError(t, err)
		require.Nil(t, got.Wasm)
		require.Equal(t, &plugin.ProcessSpec{Command: []string{"python3", "main.py"}, Concurrency: 4}, got.Process)
		require.Equal(t, int64(30_000), got.TimeoutMs)
	})

	t.Run("ValuesGivenAreKept", func(t *testing.T) {
		t.Parallel()
		m := manifest()
		m["wasm"] = map[string]any{"module": "lib/x.wasm", "memoryMiB": 16, "instances": 2}
		m["timeoutMs"] = 500
		n := firstNode(m)
		n["category"], n["icon"] = "Text", "hand"
		n["inputs"] = []any{}
		n["outputs"] = []any{map[string]any{"name": "yes"}, map[string]any{"name": "no"}}
		got, err := plugin.ParseManifest(encode(t, m))
		require.NoError(t, err)
		require.Equal(t, &plugin.WasmSpec{Module: "lib/x.wasm", MemoryMiB: 16, Instances: 2}, got.Wasm)
		require.Equal(t, int64(500), got.TimeoutMs)
		require.Equal(t, "Text", got.Nodes[0].Category)
		require.Equal(t, "hand", got.Nodes[0].Icon)
		require.Empty(t, got.Nodes[0].Inputs)
		require.NotNil(t, got.Nodes[0].Inputs, "an empty list means no input port, not the default")
		require.Equal(t, []plugin.Port{{Name: "yes"}, {Name: "no"}}, got.Nodes[0].Outputs)

		again, err := plugin.ParseManifest(encode(t, got))
		require.NoError(t, err)
		require.Equal(t, got, again, "a parsed manifest survives encoding and parsing")
	})

	t.Run("Wasm", func(t *testing.T) {
		t.Parallel()
		got, err := plugin.ParseManifest(encode(t, manifest()))
		require.NoError(t, err)
		require.Equal(t, plugin.KindWasm, got.Kind)
		require.Equal(t, &plugin.WasmSpec{Module: "plugin.wasm", MemoryMiB: 128, Instances: 4}, got.Wasm)
		require.Nil(t, got.Process)
		require.Equal(t, int64(30_000), got.TimeoutMs)
		require.Equal(t, []plugin.NodeSpec{{
			Type: "hello.greet", Title: "Greet", Category: "Plugins", Icon: "puzzle",
			Inputs:  []plugin.Port{{Name: "in", Title: "Input"}},
			Outputs: []plugin.Port{{Name: "out", Title: "Output"}},
		}}, got.Nodes)
		require.Empty(t, got.Validate(), "defaults are valid")
	})
}

func TestParseManifestRules(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1025)
	tests := []struct {
		name string
		edit func(m map[string]any)
		// ok, when set, says the edit is valid; else pointer and message name the one problem.
		ok      bool
		pointer string
		message string
	}{
		{name: "AuthorTooLong", edit: func(m map[string]any) { m["author"] = long }, pointer: "/author", message: "over the 1024-byte limit"},
		{name: "CommandArgumentEmpty", edit: func(m map[string]any) {
			m["kind"], m["process"] = "process", map[string]any{"command": []any{"python3", ""}}
		}, pointer: "/process/command/1", message: "non-empty"},
		{name: "CommandArgumentNUL", edit: func(m map[string]any) {
			m["kind"], m["process"] = "process", map[string]any{"command": []any{"a\x00b"}}
		}, pointer: "/process/command/0", message: "non-empty"},
		{name: "CommandEmpty", edit: func(m map[string]any) {
			m["kind"], m["process"] = "process", map[string]any{"command": []any{}}
		}, pointer: "/process/command", message: "needs a command"},
		{name: "CommandMissing", edit: func(m map[string]any) { m["kind"] = "process" }, pointer: "/process/command", message: "needs a command"},
		{name: "CommandTooLong", edit: func(m map[string]any) {
			args := make([]any, 33)
			for i := range args {
				args[i] = "a"
			}
			m["kind"], m["process"] = "process", map[string]any{"command": args}
		}, pointer: "/process/command", message: "33 arguments, more than 32"},
		{name: "ConcurrencyTooHigh", edit: func(m map[string]any) {
			m["kind"], m["process"] = "process", map[string]any{"command": []any{"./run"}, "concurrency": 65}
		}, pointer: "/process/concurrency", message: "between 1 and 64"},
		{name: "DescriptionTooLong", edit: func(m map[string]any) { m["description"] = long }, pointer: "/description", message: "1025 bytes long"},
		{name: "HomepageTooLong", edit: func(m map[string]any) { m["homepage"] = long }, pointer: "/homepage", message: "over the 1024-byte limit"},
		{name: "HostAny", edit: func(m map[string]any) { m["network"] = map[string]any{"hosts": []any{"*"}} }, ok: true},
		{name: "HostBadPort", edit: func(m map[string]any) { m["network"] = map[string]any{"hosts": []any{"api.example.com:70000"}} }, pointer: "/network/hosts/0", message: "is not a host"},
		{name: "HostPortZero", edit: func(m map[string]any) { m["network"] = map[string]any{"hosts": []any{"api.example.com:0"}} }, pointer: "/network/hosts/0", message: "is not a host"},
		{name: "HostScheme", edit: func(m map[string]any) {
			m["network"] = map[string]any{"hosts": []any{"api.example.com", "https://api.example.com"}}
		}, pointer: "/network/hosts/1", message: `"https://api.example.com" is not a host`},
		{name: "HostUppercase", edit: func(m map[string]any) { m["network"] = map[string]any{"hosts": []any{"API.example.com"}} }, pointer: "/network/hosts/0", message: "is not a host"},
		{name: "HostWildcardInside", edit: func(m map[string]any) { m["network"] = map[string]any{"hosts": []any{"api.*.com"}} }, pointer: "/network/hosts/0", message: "is not a host"},
		{name: "HostWildcardTwice", edit: func(m map[string]any) { m["network"] = map[string]any{"hosts": []any{"*.*.example.com"}} }, pointer: "/network/hosts/0", message: "is not a host"},
		{name: "Hosts", edit: func(m map[string]any) {
			m["network"] = map[string]any{"hosts": []any{"api.example.com", "*.example.com", "api.example.com:8443", "127.0.0.1:65535"}}
		}, ok: true},
		{name: "HostsTooMany", edit: func(m map[string]any) {
			hosts := make([]any, 65)
			for i := range hosts {
				hosts[i] = "a.example.com"
			}
			m["network"] = map[string]any{"hosts": hosts}
		}, pointer: "/network/hosts", message: "at most 64 hosts"},
		{name: "KindUnknown", edit: func(m map[string]any) { m["kind"] = "docker" }, pointer: "/kind", message: "kind must be wasm or process"},
		{name: "LicenseTooLong", edit: func(m map[string]any) { m["license"] = long }, pointer: "/license", message: "over the 1024-byte limit"},
		{name: "MemoryNegative", edit: func(m map[string]any) { m["wasm"] = map[string]any{"memoryMiB": -1} }, pointer: "/wasm/memoryMiB", message: "between 1 and 1024"},
		{name: "MemoryTooHigh", edit: func(m map[string]any) { m["wasm"] = map[string]any{"memoryMiB": 1025} }, pointer: "/wasm/memoryMiB", message: "between 1 and 1024"},
		{name: "ModuleAbsolute", edit: func(m map[string]any) { m["wasm"] = map[string]any{"module": "/etc/x.wasm"} }, pointer: "/wasm/module", message: "inside the plugin folder"},
		{name: "ModuleBackslash", edit: func(m map[string]any) { m["wasm"] = map[string]any{"module": `..\x.wasm`} }, pointer: "/wasm/module", message: "inside the plugin folder"},
		{name: "ModuleEmptySegment", edit: func(m map[string]any) { m["wasm"] = map[string]any{"module": "a//x.wasm"} }, pointer: "/wasm/module", message: "inside the plugin folder"},
		{name: "ModuleParent", edit: func(m map[string]any) { m["wasm"] = map[string]any{"module": "lib/../../x.wasm"} }, pointer: "/wasm/module", message: "inside the plugin folder"},
		{name: "NameEmpty", edit: func(m map[string]any) { m["name"] = "" }, pointer: "/name", message: "1 to 63 lowercase letters"},
		{name: "NameLeadingDigit", edit: func(m map[string]any) { m["name"] = "1hello" }, pointer: "/name", message: "starting with a letter"},
		{name: "NameTooLong", edit: func(m map[string]any) { m["name"] = "a" + strings.Repeat("b", 63) }, pointer: "/name", message: "1 to 63"},
		{name: "NameUppercase", edit: func(m map[string]any) { m["name"] = "Hello" }, pointer: "/name", message: "lowercase"},
		{name: "NetworkOnProcess", edit: func(m map[string]any) {
			m["kind"], m["process"] = "process", map[string]any{"command": []any{"./run"}}
			m["network"] = map[string]any{"hosts": []any{"*"}}
		}, pointer: "/network", message: "network applies to wasm plugins"},
		{name: "NodeCategoryTooLong", edit: func(m map[string]any) { firstNode(m)["category"] = long }, pointer: "/nodes/0/category", message: "over the 1024-byte limit"},
		{name: "NodeDescriptionTooLong", edit: func(m map[string]any) { firstNode(m)["description"] = long }, pointer: "/nodes/0/description", message: "over the 1024-byte limit"},
		{name: "NodeDocsTooLong", edit: func(m map[string]any) { firstNode(m)["docs"] = strings.Repeat("d", 64<<10+1) }, pointer: "/nodes/0/docs", message: "65537 bytes long, over the 65536-byte limit"},
		{name: "NodeIconTooLong", edit: func(m map[string]any) { firstNode(m)["icon"] = long }, pointer: "/nodes/0/icon", message: "over the 1024-byte limit"},
		{name: "NodeInputNameBad", edit: func(m map[string]any) { firstNode(m)["inputs"] = []any{map[string]any{"name": "In"}} }, pointer: "/nodes/0/inputs/0/name", message: "starting with a lowercase letter"},
		{name: "NodeInputsTooMany", edit: func(m map[string]any) { firstNode(m)["inputs"] = ports(33) }, pointer: "/nodes/0/inputs", message: "at most 32 ports"},
		{name: "NodeOutputDuplicate", edit: func(m map[string]any) {
			firstNode(m)["outputs"] = []any{map[string]any{"name": "out"}, map[string]any{"name": "out"}}
		}, pointer: "/nodes/0/outputs/1/name", message: "port out is declared twice"},
		{name: "NodeOutputsEmpty", edit: func(m map[string]any) { firstNode(m)["outputs"] = []any{} }, pointer: "/nodes/0/outputs", message: "at least one output port"},
		{name: "NodePortTitleTooLong", edit: func(m map[string]any) {
			firstNode(m)["outputs"] = []any{map[string]any{"name": "out", "title": strings.Repeat("t", 101)}}
		}, pointer: "/nodes/0/outputs/0", message: "too long"},
		{name: "NodeSchemaArray", edit: func(m map[string]any) { firstNode(m)["schema"] = []any{} }, pointer: "/nodes/0/schema", message: "must be a JSON Schema object"},
		{name: "NodeSchemaFalse", edit: func(m map[string]any) { firstNode(m)["schema"] = false }, pointer: "/nodes/0/schema", message: "must be a JSON Schema object"},
		{name: "NodeSchemaNull", edit: func(m map[string]any) { firstNode(m)["schema"] = nil }, pointer: "/nodes/0/schema", message: "must be a JSON Schema object"},
		{name: "NodeSchemaTooLarge", edit: func(m map[string]any) {
			firstNode(m)["schema"] = map[string]any{"description": strings.Repeat("s", 64<<10)}
		}, pointer: "/nodes/0/schema", message: "over the 65536-byte limit"},
		{name: "NodeSchemaTrue", edit: func(m map[string]any) { firstNode(m)["schema"] = true }, ok: true},
		{name: "NodeTitleBlank", edit: func(m map[string]any) { firstNode(m)["title"] = "  " }, pointer: "/nodes/0/title", message: "title is required"},
		{name: "NodeTitleTooLong", edit: func(m map[string]any) { firstNode(m)["title"] = strings.Repeat("t", 101) }, pointer: "/nodes/0/title", message: "at most 100 bytes"},
		{name: "NodeTypeDuplicate", edit: func(m map[string]any) {
			m["nodes"] = append(m["nodes"].([]any), map[string]any{"type": "hello.greet", "title": "Again"})
		}, pointer: "/nodes/1/type", message: "type hello.greet is already declared at /nodes/0"},
		{name: "NodeTypeNoFamily", edit: func(m map[string]any) { firstNode(m)["type"] = "greet" }, pointer: "/nodes/0/type", message: "family.action"},
		{name: "NodeTypeTooLong", edit: func(m map[string]any) { firstNode(m)["type"] = "a." + strings.Repeat("b", 127) }, pointer: "/nodes/0/type", message: "family.action"},
		{name: "NodeTypeTrigger", edit: func(m map[string]any) { firstNode(m)["type"] = "trigger.mine" }, pointer: "/nodes/0/type", message: "plugins cannot add triggers"},
		{name: "NodeTypeUppercase", edit: func(m map[string]any) { firstNode(m)["type"] = "hello.Greet" }, pointer: "/nodes/0/type", message: "family.action"},
		{name: "Nodes100", edit: func(m map[string]any) { m["nodes"] = nodes(100) }, ok: true},
		{name: "NodesEmpty", edit: func(m map[string]any) { m["nodes"] = []any{} }, pointer: "/nodes", message: "at least one node type"},
		{name: "NodesMissing", edit: func(m map[string]any) { delete(m, "nodes") }, pointer: "/nodes", message: "at least one node type"},
		{name: "NodesTooMany", edit: func(m map[string]any) { m["nodes"] = nodes(101) }, pointer: "/nodes", message: "at most 100 node types; this one has 101"},
		{name: "InstancesTooHigh", edit: func(m map[string]any) { m["wasm"] = map[string]any{"instances": 65} }, pointer: "/wasm/instances", message: "between 1 and 64"},
		{name: "ProcessOnWasm", edit: func(m map[string]any) { m["process"] = map[string]any{"command": []any{"./run"}} }, pointer: "/process", message: "a wasm plugin takes no process section"},
		{name: "TimeoutNegative", edit: func(m map[string]any) { m["timeoutMs"] = -1 }, pointer: "/timeoutMs", message: "between 1 and 900000"},
		{name: "TimeoutTooLong", edit: func(m map[string]any) { m["timeoutMs"] = 900_001 }, pointer: "/timeoutMs", message: "between 1 and 900000"},
		{name: "VersionPrerelease", edit: func(m map[string]any) { m["version"] = "1.0.0-beta.1+build.7" }, ok: true},
		{name: "VersionShort", edit: func(m map[string]any) { m["version"] = "1.0" }, pointer: "/version", message: "semantic version"},
		{name: "VersionWithV", edit: func(m map[string]any) { m["version"] = "v1.0.0" }, pointer: "/version", message: "semantic version"},
		{name: "WasmOnProcess", edit: func(m map[string]any) {
			m["kind"], m["process"], m["wasm"] = "process", map[string]any{"command": []any{"./run"}}, map[string]any{}
		}, pointer: "/wasm", message: "a process plugin takes no wasm section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := manifest()
			tt.edit(m)
			got, err := plugin.ParseManifest(encode(t, m))
			if tt.ok {
				require.NoError(t, err)
				require.NotNil(t, got)
				return
			}
			require.Nil(t, got)
			var problems plugin.Problems
			require.ErrorAs(t, err, &problems)
			require.Len(t, problems, 1, "%v", problems)
			require.Equal(t, tt.pointer, problems[0].Pointer)
			require.Contains(t, problems[0].Message, tt.message)
		})
	}
}

func TestParseManifestDocument(t *testing.T) {
	t.Parallel()
	valid := string(encode(t, manifest()))
	tests := []struct {
		name    string
		data    string
		message string
	}{
		{name: "Array", data: `[]`, message: "not a valid manifest"},
		{name: "Empty", data: ``, message: "not a valid manifest"},
		{name: "NotJSON", data: `name: hello`, message: "not a valid manifest"},
		{name: "TooLarge", data: valid + strings.Repeat(" ", plugin.MaxManifestBytes), message: "over the 1048576-byte limit"},
		{name: "TrailingBrace", data: valid + `}`, message: "more than one JSON value"},
		{name: "TrailingValue", data: valid + `{}`, message: "more than one JSON value"},
		{name: "UnknownField", data: `{"name":"hello","version":"1.0.0","nodes":[],"main":"x"}`, message: `unknown field "main"`},
		{name: "WrongType", data: `{"name":1}`, message: "not a valid manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := plugin.ParseManifest([]byte(tt.data))
			require.Nil(t, got)
			var problems plugin.Problems
			require.ErrorAs(t, err, &problems)
			require.Len(t, problems, 1)
			require.Empty(t, problems[0].Pointer, "the problem is the whole document")
			require.Contains(t, problems[0].Message, tt.message)
			require.True(t, strings.HasPrefix(err.Error(), "invalid plugin.json: plugin.json "), err.Error())
		})
	}

	t.Run("TrailingSpace", func(t *testing.T) {
		t.Parallel()
		_, err := plugin.ParseManifest([]byte(valid + "\n\t "))
		require.NoError(t, err)
	})
}

func TestValidateReportsEveryProblemInOrder(t *testing.T) {
	t.Parallel()
	m := &plugin.Manifest{
		Name: "Bad", Version: "1", Kind: "wasm", Author: strings.Repeat("a", 2000), License: strings.Repeat("l", 2000),
		Nodes: []plugin.NodeSpec{
			{Type: "x", Title: "X", Schema: json.RawMessage(`{`)},
			{Type: "a.b", Description: strings.Repeat("d", 2000), Icon: strings.Repeat("i", 2000)},
		},
	}
	for range 5 { // the order never depends on map iteration
		require.Equal(t, plugin.Problems{
			{Pointer: "/name", Message: "name must be 1 to 63 lowercase letters, digits and dashes, starting with a letter"},
			{Pointer: "/version", Message: "version must be a semantic version such as 1.0.0"},
			{Pointer: "/author", Message: "is 2000 bytes long, over the 1024-byte limit"},
			{Pointer: "/license", Message: "is 2000 bytes long, over the 1024-byte limit"},
			{Pointer: "/nodes/0/type", Message: "type must look like family.action in lowercase, such as hello.greet"},
			{Pointer: "/nodes/0/schema", Message: "schema is not JSON: unexpected end of JSON input"},
			{Pointer: "/nodes/1/title", Message: "title is required, at most 100 bytes"},
			{Pointer: "/nodes/1/description", Message: "is 2000 bytes long, over the 1024-byte limit"},
			{Pointer: "/nodes/1/icon", Message: "is 2000 bytes long, over the 1024-byte limit"},
		}, m.Validate())
	}
}

func TestExampleManifestsParse(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../examples/plugins/*/plugin.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = plugin.ParseManifest(data)
		require.NoError(t, err, f)
	}
}

// FuzzParseManifest checks that any input gives a manifest or problems, never a panic, and that a
// manifest parsed once is valid and parses again to the same manifest.
func FuzzParseManifest(f *testing.F) {
	files, _ := filepath.Glob("../../examples/plugins/*/plugin.json")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"name":"p","version":"0.1.0","kind":"process","process":{"command":["./run"]},"nodes":[{"type":"p.a","title":"A","inputs":[]}]}`))
	f.Add([]byte(`{"name":"p","version":"0.1.0","network":{"hosts":["*","*.example.com:443"]},"nodes":[{"type":"p.a","title":"A","schema":true,"outputs":[{"name":"a"},{"name":"a"}]}]}`))
	f.Add([]byte(`{"name":"p","version":"0.1.0","nodes":[{"type":"p.a","title":"A","schema":{"type":"object"}}]}{}`))
	f.Add([]byte(`{"nodes":null,"wasm":{"module":"../x"},"timeoutMs":1e99}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := plugin.ParseManifest(data)
		if err != nil {
			require.Nil(t, m)
			var problems plugin.Problems
			require.True(t, errors.As(err, &problems), "%T", err)
			require.NotEmpty(t, problems)
			for _, p := range problems {
				require.True(t, p.Pointer == "" || strings.HasPrefix(p.Pointer, "/"), p.Pointer)
				require.NotEmpty(t, p.Message)
			}
			return
		}
		require.Empty(t, m.Validate(), "a parsed manifest with its defaults is valid")
		first, err := json.Marshal(m)
		require.NoError(t, err)
		again, err := plugin.ParseManifest(first)
		require.NoError(t, err)
		second, err := json.Marshal(again)
		require.NoError(t, err)
		require.JSONEq(t, string(first), string(second))
	})
}
