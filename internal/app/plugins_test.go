package app_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/app"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

var (
	helloOnce   sync.Once
	helloModule []byte
	helloErr    error
)

// helloWasm builds examples/plugins/hello-wasm once.
func helloWasm(t *testing.T) []byte {
	t.Helper()
	helloOnce.Do(func() {
		out := filepath.Join(os.TempDir(), "cm-app-test-hello.wasm")
		cmd := exec.CommandContext(context.Background(), "go", "build", "-buildmode=c-shared", "-o", out, "../../examples/plugins/hello-wasm")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			helloErr = &buildError{err: err, out: string(b)}
			return
		}
		helloModule, helloErr = os.ReadFile(out)
		_ = os.Remove(out)
	})
	require.NoError(t, helloErr)
	return helloModule
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// installHello writes the hello plugin at version into dir/hello; strict makes its schema require a
// "title" the test workflows never set, so that a node run on that version fails its configuration.
func installHello(t *testing.T, dir, version string, strict bool) {
	t.Helper()
	props := map[string]any{"name": map[string]any{"type": "string"}}
	required := []string{"name"}
	if strict {
		props["title"] = map[string]any{"type": "string"}
		required = append(required, "title")
	}
	man := map[string]any{"name": "hello-wasm", "version": version, "nodes": []any{map[string]any{"type": "hello.greet", "title": "Greet",
		"schema": map[string]any{"type": "object", "properties": props, "required": required}}}}
	b, err := json.Marshal(man)
	require.NoError(t, err)
	p := filepath.Join(dir, "hello")
	require.NoError(t, os.MkdirAll(p, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(p, "plugin.wasm"), helloWasm(t), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(p, "plugin.json"), b, 0o644))
}

func startPluginRuntime(t *testing.T, dir string, keep int) *app.Runtime {
	t.Helper()
	cfg := testConfig(t)
	cfg.PluginDir = dir
	cfg.PluginKeepVersions = keep
	// One compile of the module for every test and run (a Go module takes ~40 s to compile under -race).
	cfg.PluginCacheDir = filepath.Join(os.TempDir(), "concertmaster-test-wazero-cache")
	ctx := context.Background()
	rt, err := app.NewRuntime(ctx, cfg, nil)
	require.NoError(t, err)
	require.NoError(t, rt.Start(ctx))
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	return rt
}

func greetWorkflow(delay string) *workflow.Definition {
	def := &workflow.Definition{Name: "greet", Nodes: []workflow.Node{
		{ID: "start", Type: "trigger.manual"},
		{ID: "greet", Type: "hello.greet", Config: map[string]any{"name": "{{ trigger.name }}"}},
	}, Edges: []workflow.Edge{{Source: "start", Target: "greet"}}}
	if delay != "" {
		def.Nodes = append(def.Nodes, workflow.Node{ID: "wait", Type: "flow.delay", Config: map[string]any{"duration": delay}})
		def.Edges = []workflow.Edge{{Source: "start", Target: "wait"}, {Source: "wait", Target: "greet"}}
	}
	return def
}

func run(t *testing.T, rt *app.Runtime, workflowID, name string) *store.Execution {
	t.Helper()
	exec, _, err := rt.Service.StartExecution(context.Background(), store.DefaultTenant, service.StartParams{WorkflowID: workflowID, Input: json.RawMessage(`{"name":"` + name + `"}`)})
	require.NoError(t, err)
	return exec
}

func wait(t *testing.T, rt *app.Runtime, id string) *store.Execution {
	t.Helper()
	exec, done, err := rt.Service.WaitExecution(context.Background(), store.DefaultTenant, id, 60*time.Second)
	require.NoError(t, err)
	require.True(t, done, "execution %s did not finish", id)
	return exec
}

func TestPluginNodesRunInWorkflows(t *testing.T) {
	dir := t.TempDir()
	installHello(t, dir, "1.0.0", false)
	rt := startPluginRuntime(t, dir, 4)
	ctx := context.Background()
	wf, err := rt.Service.CreateWorkflow(ctx, store.DefaultTenant, greetWorkflow(""))
	require.NoError(t, err)
	exec := wait(t, rt, run(t, rt, wf.ID, "Ada").ID)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status, "%+v", exec.Error)
	require.JSONEq(t, `{"greeting":"Hello, Ada!"}`, string(exec.Output))
	pins, err := rt.Store.ExecutionPlugins(ctx, store.DefaultTenant, exec.ID)
	require.NoError(t, err)
	require.Contains(t, pins["hello.greet"], "hello-wasm@1.0.0#")

	// The plugin's own error fails the node with its message.
	exec = wait(t, rt, run(t, rt, wf.ID, " ").ID)
	require.Equal(t, workflow.ExecutionFailed, exec.Status)
	require.Contains(t, exec.Error.Message, "name is empty")
}

// TestPluginExecutionsFinishOnTheirVersion: an execution waiting in a delay when its plugin is
// replaced resumes on the version it started with; one whose version is no longer kept, or whose
// plugin was removed, fails saying so.
func TestPluginExecutionsFinishOnTheirVersion(t *testing.T) {
	dir := t.TempDir()
	installHello(t, dir, "1.0.0", false)
	rt := startPluginRuntime(t, dir, 1)
	ctx := context.Background()
	wf, err := rt.Service.CreateWorkflow(ctx, store.DefaultTenant, greetWorkflow("3s"))
	require.NoError(t, err)

	waitStarted := func(id string) {
		require.Eventually(t, func() bool {
			pins, err := rt.Store.ExecutionPlugins(ctx, store.DefaultTenant, id)
			return err == nil && pins != nil
		}, 10*time.Second, 20*time.Millisecond)
	}
	kept := run(t, rt, wf.ID, "Ada")
	waitStarted(kept.ID)
	// Version 2 refuses the workflow's configuration: had the execution moved to it, it would fail.
	installHello(t, dir, "2.0.0", true)
	require.NoError(t, rt.Plugins.Reload(ctx))
	exec := wait(t, rt, kept.ID)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status, "%+v", exec.Error)
	require.JSONEq(t, `{"greeting":"Hello, Ada!"}`, string(exec.Output))

	// A new execution is refused: on version 2 the workflow's configuration is invalid.
	_, _, err = rt.Service.StartExecution(ctx, store.DefaultTenant, service.StartParams{WorkflowID: wf.ID, Input: json.RawMessage(`{"name":"Bob"}`)})
	require.ErrorContains(t, err, "title")

	// Two more versions after the one an execution started on: it drops out of the one kept.
	installHello(t, dir, "3.0.0", false)
	require.NoError(t, rt.Plugins.Reload(ctx))
	// The next executions wait long enough for the reloads to land first, however loaded the machine
	// (two reloads once took over 3 s under -race beside other packages).
	slow, err := rt.Service.CreateWorkflow(ctx, store.DefaultTenant, greetWorkflow("12s"))
	require.NoError(t, err)
	dropped := run(t, rt, slow.ID, "Cy")
	waitStarted(dropped.ID)
	installHello(t, dir, "4.0.0", false)
	require.NoError(t, rt.Plugins.Reload(ctx))
	installHello(t, dir, "5.0.0", false)
	require.NoError(t, rt.Plugins.Reload(ctx))
	exec = wait(t, rt, dropped.ID)
	require.Equal(t, workflow.ExecutionFailed, exec.Status)
	require.Equal(t, "unrunnable", exec.Error.Code)
	require.Contains(t, exec.Error.Message, "hello-wasm@3.0.0")
	require.Contains(t, exec.Error.Message, "is no longer loaded")

	// Removed while an execution waits: it fails saying the plugin was removed.
	removed := run(t, rt, slow.ID, "Di")
	waitStarted(removed.ID)
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "hello")))
	require.NoError(t, rt.Plugins.Reload(ctx))
	exec = wait(t, rt, removed.ID)
	require.Equal(t, workflow.ExecutionFailed, exec.Status)
	require.Contains(t, exec.Error.Message, "removed")
	_, _, err = rt.Service.StartExecution(ctx, store.DefaultTenant, service.StartParams{WorkflowID: wf.ID})
	require.ErrorContains(t, err, "unknown node type \"hello.greet\"")
}

// TestPluginReloadsUnderLoad replaces the plugin again and again while executions run: none fails.
func TestPluginReloadsUnderLoad(t *testing.T) {
	dir := t.TempDir()
	installHello(t, dir, "1.0.0", false)
	rt := startPluginRuntime(t, dir, 4)
	ctx := context.Background()
	wf, err := rt.Service.CreateWorkflow(ctx, store.DefaultTenant, greetWorkflow(""))
	require.NoError(t, err)

	const reloads = 30
	stop := make(chan struct{})
	var runs, failed atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				exec := wait(t, rt, run(t, rt, wf.ID, "Ada").ID)
				runs.Add(1)
				if exec.Status != workflow.ExecutionSucceeded {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, exec.Error.Message)
				}
			}
		}()
	}
	for i := range reloads {
		installHello(t, dir, "1.0."+string(rune('0'+i%2)), false)
		require.NoError(t, rt.Plugins.Reload(ctx))
	}
	close(stop)
	wg.Wait()
	t.Logf("%d executions during %d reloads, %d failed", runs.Load(), reloads, failed.Load())
	require.Zero(t, failed.Load(), "first failure: %v", firstFailure.Load())
	require.Positive(t, runs.Load())
}
