package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPluginsServe runs the example plugins, as `make plugins` builds them, in the server: the
// WebAssembly and Python greeters and the xml plugin in one workflow; a refused plugin folder shown
// with its problem; the plugin routes' roles and errors.
func TestPluginsServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "../../scripts/build-plugins.sh", plugins).CombinedOutput(); err != nil {
		t.Fatalf("build the example plugins: %v\n%s", err, out)
	}
	broken := filepath.Join(plugins, "broken")
	require.NoError(t, os.MkdirAll(broken, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "plugin.json"), []byte(`{"name":"broken","version":"1.0.0","kind":"process","process":{"command":["python3"]},
		"nodes":[{"type":"broken.node","title":"Broken","schema":{"type":"nonsense"}}]}`), 0o644))

	s := startServer(t, filepath.Join(dir, "cm.db"), "CM_PLUGIN_DIR="+plugins, "CM_PLUGIN_CACHE_DIR="+filepath.Join(os.TempDir(), "concertmaster-test-wazero-cache"))

	var list struct {
		Items []struct {
			Folder, Name, Version, Kind, Status string
			NodeTypes                           []string
			Errors                              []struct{ Pointer, Message string }
		}
	}
	require.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/api/v1/plugins", "", &list))
	byFolder := map[string]int{}
	for i, p := range list.Items {
		byFolder[p.Folder] = i
	}
	require.Len(t, list.Items, 4, "%+v", list.Items)
	for folder, want := range map[string]string{"hello-wasm": "hello.greet", "hello-python": "hellopy.greet", "xml": "xml.parse"} {
		p := list.Items[byFolder[folder]]
		require.Equal(t, "active", p.Status, "%s: %+v", folder, p.Errors)
		require.Contains(t, p.NodeTypes, want)
	}
	b := list.Items[byFolder["broken"]]
	require.Equal(t, "refused", b.Status)
	require.Equal(t, "/nodes/0/schema", b.Errors[0].Pointer)
	require.Equal(t, "process", list.Items[byFolder["hello-python"]].Kind)

	var nt struct {
		Plugin *struct{ Name, Version, Kind string }
	}
	require.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/api/v1/node-types/hello.greet", "", &nt))
	require.Equal(t, "hello-wasm", nt.Plugin.Name)
	require.Equal(t, "wasm", nt.Plugin.Kind)

	wf := `{"name":"plugins","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"wasm","type":"hello.greet","config":{"name":"{{ trigger.name }}"}},
		{"id":"py","type":"hellopy.greet","config":{"name":"{{ trigger.name }}"}},
		{"id":"xml","type":"xml.build","config":{"value":{"person":{"@id":7,"name":"{{ nodes.py.output.greeting }}"}},"declaration":false}},
		{"id":"parsed","type":"xml.parse","config":{"field":"xml"}},
		{"id":"all","type":"data.set","config":{"keepInput":false,"fields":{"wasm":"{{ nodes.wasm.output.greeting }}","py":"{{ nodes.py.output.greeting }}","xml":"{{ nodes.parsed.output }}"}}}
	],"edges":[{"source":"start","target":"wasm"},{"source":"wasm","target":"py"},{"source":"py","target":"xml"},{"source":"xml","target":"parsed"},{"source":"parsed","target":"all"}]}`
	var created struct{ ID string }
	code := s.call(t, http.MethodPost, "/api/v1/workflows", wf, &created)
	require.Equal(t, http.StatusCreated, code)
	var exec struct {
		Status string
		Output map[string]any
		Error  *struct{ Message string }
	}
	require.Equal(t, http.StatusOK, s.call(t, http.MethodPost, "/api/v1/workflows/"+created.ID+"/executions?wait=60s", `{"input":{"name":"Ada"}}`, &exec))
	require.Equal(t, "succeeded", exec.Status, "%+v", exec.Error)
	require.Equal(t, "Hello, Ada!", exec.Output["wasm"])
	require.Equal(t, "Hello, Ada!", exec.Output["py"])
	require.Equal(t, map[string]any{"person": map[string]any{"@id": "7", "name": "Hello, Ada!"}}, exec.Output["xml"])
	var detail struct{ PluginVersions map[string]string }
	require.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/api/v1/executions/"+execID(t, s, created.ID), "", &detail))
	require.True(t, strings.HasPrefix(detail.PluginVersions["hello.greet"], "hello-wasm@"), "%v", detail.PluginVersions)
	require.True(t, strings.HasPrefix(detail.PluginVersions["hellopy.greet"], "hello-python@"), "%v", detail.PluginVersions)

	// Reloading is an admin's; a viewer's key gets a problem.
	viewer := s.apiKey(t, "viewer")
	code, err := apiCall(s.url, viewer, http.MethodPost, "/api/v1/plugins/reload", "", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, code)
	code, err = apiCall(s.url, viewer, http.MethodGet, "/api/v1/plugins", "", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, http.StatusOK, s.call(t, http.MethodPost, "/api/v1/plugins/reload", "", &list))

	// Removing a plugin takes its type out; the workflow can no longer start.
	require.NoError(t, os.RemoveAll(filepath.Join(plugins, "hello-python")))
	require.Equal(t, http.StatusOK, s.call(t, http.MethodPost, "/api/v1/plugins/reload", "", &list))
	require.Len(t, list.Items, 3)
	code = s.call(t, http.MethodPost, "/api/v1/workflows/"+created.ID+"/executions", `{"input":{"name":"Ada"}}`, nil)
	require.Equal(t, http.StatusUnprocessableEntity, code)
}

// execID returns the id of the workflow's one execution.
func execID(t *testing.T, s *server, workflowID string) string {
	t.Helper()
	var page struct{ Items []struct{ ID string } }
	require.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/api/v1/executions?workflowId="+workflowID, "", &page))
	require.Len(t, page.Items, 1)
	return page.Items[0].ID
}
