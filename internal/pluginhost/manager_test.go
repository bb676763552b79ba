package pluginhost

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/pkg/plugin"
)

func helloManifest(version string) map[string]any {
	return map[string]any{"name": "hello-wasm", "version": version, "nodes": []any{map[string]any{"type": "hello.greet", "title": "Greet " + version,
		"schema": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}, "required": []string{"name"}}}}}
}

// builtinLike registers a type that stands for a built-in.
func builtinLike(t *testing.T) *node.Registry {
	t.Helper()
	reg := node.NewRegistry()
	b := newNode(&plugin.NodeSpec{Type: "data.set", Title: "Set", Category: "Data", Icon: "x", Inputs: []plugin.Port{{Name: "in"}}, Outputs: []plugin.Port{{Name: "out"}}}, nil, nil)
	require.NoError(t, reg.Register(b))
	return reg
}

func newManager(t *testing.T, dir string, reg *node.Registry) *Manager {
	t.Helper()
	m, err := NewManager(Config{Dir: dir, Registry: reg, Cache: sharedCache, Keep: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func status(t *testing.T, m *Manager, folder string) Status {
	t.Helper()
	for _, s := range m.List() {
		if s.Folder == folder {
			return s
		}
	}
	t.Fatalf("no status for folder %s in %+v", folder, m.List())
	return Status{}
}

func TestManagerLoadsReplacesAndRemoves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	reg := builtinLike(t)
	m := newManager(t, dir, reg)
	require.NoError(t, m.Reload(ctx))
	require.Empty(t, m.List())

	writePlugin(t, dir, "hello", helloManifest("1.0.0"), "hello")
	gen := reg.Generation()
	require.NoError(t, m.Reload(ctx))
	s := status(t, m, "hello")
	require.Equal(t, StateActive, s.State)
	require.Equal(t, "1.0.0", s.Version)
	require.Equal(t, []string{"hello.greet"}, s.NodeTypes)
	v1, ok := reg.Lookup("hello.greet")
	require.True(t, ok)
	require.Equal(t, "1.0.0", v1.Info.Plugin.Version)
	require.Greater(t, reg.Generation(), gen)
	ref1 := v1.Info.Plugin.String()

	// A refused version leaves the earlier one in service.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hello", "plugin.json"), []byte(`{"name": "hello-wasm", "version": "2"}`), 0o644))
	require.NoError(t, m.Reload(ctx))
	s = status(t, m, "hello")
	require.Equal(t, StateRefused, s.State)
	require.Equal(t, "1.0.0", s.Version)
	require.NotEmpty(t, s.Problems)
	cur, _ := reg.Lookup("hello.greet")
	require.Same(t, v1, cur)

	// A sound version replaces it; the one before is kept for the executions that started on it.
	writePlugin(t, dir, "hello", helloManifest("1.1.0"), "hello")
	require.NoError(t, m.Reload(ctx))
	s = status(t, m, "hello")
	require.Equal(t, StateActive, s.State)
	require.Equal(t, "1.1.0", s.Version)
	require.Equal(t, []string{ref1}, s.Retired)
	old, err := m.Resolve("hello.greet", ref1)
	require.NoError(t, err)
	require.Same(t, v1, old)

	// Only Keep replaced versions are kept.
	for _, v := range []string{"1.2.0", "1.3.0"} {
		writePlugin(t, dir, "hello", helloManifest(v), "hello")
		require.NoError(t, m.Reload(ctx))
	}
	_, err = m.Resolve("hello.greet", ref1)
	require.ErrorContains(t, err, "is no longer loaded: hello-wasm@1.3.0")

	// Removing the folder removes the types; the plugin's executions fail clearly.
	v13, _ := reg.Lookup("hello.greet")
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "hello")))
	require.NoError(t, m.Reload(ctx))
	_, ok = reg.Lookup("hello.greet")
	require.False(t, ok)
	require.Empty(t, m.List())
	_, err = m.Resolve("hello.greet", v13.Info.Plugin.String())
	require.ErrorContains(t, err, "was removed from the plugin folder")
}

func TestManagerRefusesBadPlugins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	reg := builtinLike(t)
	m := newManager(t, dir, reg)
	bad := map[string]map[string]any{
		"badschema": {"name": "badschema", "version": "1.0.0", "nodes": []any{map[string]any{"type": "bad.schema", "title": "Bad", "schema": map[string]any{"type": "nope"}}}},
		"clash":     {"name": "clash", "version": "1.0.0", "nodes": []any{map[string]any{"type": "data.set", "title": "Mine"}}},
		"nomodule":  {"name": "nomodule", "version": "1.0.0", "nodes": []any{map[string]any{"type": "no.module", "title": "None"}}},
		"dupname":   helloManifest("1.0.0"),
	}
	writePlugin(t, dir, "a-hello", helloManifest("1.0.0"), "hello")
	for folder, man := range bad {
		module := "hello"
		if folder == "nomodule" {
			module = ""
		}
		writePlugin(t, dir, folder, man, module)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "garbage.wasm"), []byte("not a folder"), 0o644))
	notWasm := writePlugin(t, dir, "notwasm", map[string]any{"name": "notwasm", "version": "1.0.0", "nodes": []any{map[string]any{"type": "not.wasm", "title": "X"}}}, "")
	require.NoError(t, os.WriteFile(filepath.Join(notWasm, "plugin.wasm"), []byte("\x00asm garbage"), 0o644))
	require.NoError(t, m.Reload(ctx))

	want := map[string]string{
		"badschema": "/nodes/0/schema",
		"clash":     "/nodes/0/type",
		"nomodule":  "/wasm/module",
		"dupname":   "/name",
		"notwasm":   "/wasm/module",
	}
	for folder, ptr := range want {
		s := status(t, m, folder)
		require.Equal(t, StateRefused, s.State, folder)
		require.NotEmpty(t, s.Problems, folder)
		require.Equal(t, ptr, s.Problems[0].Pointer, "%s: %v", folder, s.Problems)
	}
	require.Equal(t, StateActive, status(t, m, "a-hello").State)
	set, _ := reg.Lookup("data.set")
	require.Nil(t, set.Info.Plugin, "the built-in stays")
}

func TestManagerWatchLoadsWithinASecond(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg := node.NewRegistry()
	m, err := NewManager(Config{Dir: dir, Registry: reg, Cache: sharedCache, Poll: 50 * time.Millisecond})
	require.NoError(t, err)
	defer func() { _ = m.Close(context.Background()) }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Watch(ctx)
	// Warm the compilation cache so that the figure is the watcher's, not the compiler's.
	b, _, err := readBundle(writePlugin(t, t.TempDir(), "warm", helloManifest("0.0.1"), "hello"))
	require.NoError(t, err)
	w, err := NewWasm(ctx, b.manifest, b.module, WasmOptions{Cache: sharedCache})
	require.NoError(t, err)
	require.NoError(t, w.Close(ctx))
	start := time.Now()
	writePlugin(t, dir, "hello", helloManifest("1.0.0"), "hello")
	require.Eventually(t, func() bool { _, ok := reg.Lookup("hello.greet"); return ok }, 10*time.Second, 10*time.Millisecond)
	t.Logf("loaded %s after the files were written", time.Since(start))
}

// TestManagerKeepsAFolderReplacedByRenames: a deploy that renames the old folder away and the new
// one into place leaves a moment with no folder; a poll that falls in it must not take the plugin
// out. A folder is removed once it is missing at two polls in a row. The polls are made by hand, so
// that which poll sees what does not depend on timing.
func TestManagerKeepsAFolderReplacedByRenames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, staged := t.TempDir(), t.TempDir()
	reg := node.NewRegistry()
	m := newManager(t, dir, reg)
	writePlugin(t, dir, "hello", helloManifest("1.0.0"), "hello")
	require.NoError(t, m.Reload(ctx))
	version := func() string {
		typ, ok := reg.Lookup("hello.greet")
		if !ok {
			return ""
		}
		return typ.Info.Plugin.Version
	}
	poll := func() { require.NoError(t, m.scan(ctx, false)) }

	next := writePlugin(t, staged, "next", helloManifest("1.1.0"), "hello")
	require.NoError(t, os.Rename(filepath.Join(dir, "hello"), filepath.Join(staged, "old")))
	poll() // in the gap
	require.Equal(t, "1.0.0", version(), "a folder missing at one poll stays in service")
	require.NoError(t, os.Rename(next, filepath.Join(dir, "hello")))
	poll() // the new folder, seen once: it settles
	require.Equal(t, "1.0.0", version())
	poll()
	require.Equal(t, "1.1.0", version(), "the new folder serves once it has stayed the same for a poll")

	require.NoError(t, os.Rename(filepath.Join(dir, "hello"), filepath.Join(staged, "gone")))
	poll()
	require.Equal(t, "1.1.0", version())
	poll()
	require.Empty(t, version(), "a folder missing at two polls in a row is removed")
}
