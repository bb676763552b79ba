package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// Defaults of a Manager.
const (
	DefaultPoll = 250 * time.Millisecond
	DefaultKeep = 4
	// maxPlugins bounds the folders of the plugin directory that are looked at.
	maxPlugins = 500
	// retireTimeout bounds how long a version that left service may finish its calls.
	retireTimeout = 5 * time.Minute
)

// Config configures a Manager.
type Config struct {
	// Dir is the plugin folder (CM_PLUGIN_DIR): each folder in it is one plugin.
	Dir string
	// Registry receives the plugins' node types. Required.
	Registry *node.Registry
	// Policy guards WebAssembly plugins' outbound requests (the server's CM_HTTP_* settings).
	Policy *netguard.Policy
	// Poll is how often the folder is looked at (default 250 ms): a change is loaded once it has
	// stayed the same for one poll, so within about two polls.
	Poll time.Duration
	// Keep is how many replaced versions of each plugin are kept loaded for the executions that
	// started on them (default 4).
	Keep   int
	Logger *slog.Logger
	// Cache keeps WebAssembly modules' compiled code; nil keeps it in memory (see CompilationCache).
	Cache wazero.CompilationCache
}

// CompilationCache returns a cache of compiled WebAssembly code kept in dir, so that a restarted
// server does not compile its plugins again, or one in memory when dir cannot be used.
func CompilationCache(dir string) wazero.CompilationCache {
	if dir != "" {
		if c, err := wazero.NewCompilationCacheWithDir(dir); err == nil {
			return c
		}
	}
	return wazero.NewCompilationCache()
}

// Manager loads the plugins of a folder into a node registry and keeps them in step with it.
type Manager struct {
	cfg    Config
	logger *slog.Logger
	cache  wazero.CompilationCache

	scanMu  sync.Mutex // one scan at a time
	mu      sync.RWMutex
	entries map[string]*entry // by folder name
	gone    map[string]string // plugin name → version, for plugins whose folder was removed
	reloads atomic.Int64
	retire  sync.WaitGroup
}

// entry is one folder of the plugin directory.
type entry struct {
	folder string
	// fp is the folder's fingerprint at the last load; pending the one seen at the last poll.
	fp, pending string
	current     *version
	retired     []*version // newest first
	// refused is set when the last load failed; problems say why.
	refused *refusal
	changed time.Time
	// missing is set when the folder was not there at the last poll: it is removed if it is still not
	// there at the next, so that a folder replaced by two renames is never taken out in between.
	missing bool
}

type refusal struct {
	// version, kind, description and author are the refused plugin.json's, when it could be read.
	version, kind, description, author string
	problems                           plugin.Problems
	at                                 time.Time
}

// NewManager returns a Manager; Start loads the folder and watches it.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Registry == nil {
		return nil, errors.New("pluginhost: Registry is required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Cache == nil {
		cfg.Cache = wazero.NewCompilationCache()
	}
	return &Manager{cfg: cfg, logger: logger.With("component", "plugins"), cache: cfg.Cache,
		entries: map[string]*entry{}, gone: map[string]string{}}, nil
}

// Dir returns the plugin folder.
func (m *Manager) Dir() string { return m.cfg.Dir }

// Reload looks at the folder now and loads every change at once, without waiting for it to settle.
func (m *Manager) Reload(ctx context.Context) error { return m.scan(ctx, true) }

// Watch looks at the folder every Poll until ctx ends, loading what changed.
func (m *Manager) Watch(ctx context.Context) {
	t := time.NewTicker(m.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.scan(ctx, false); err != nil && ctx.Err() == nil {
				m.logger.WarnContext(ctx, "Could not read the plugin folder", "dir", m.cfg.Dir, "error", err.Error())
			}
		}
	}
}

// scan compares the folder with what is loaded. A folder whose files changed is loaded once they
// have stayed the same for one poll (or at once when force is set): a plugin being copied in is not
// loaded half-written.
func (m *Manager) scan(ctx context.Context, force bool) error {
	m.scanMu.Lock()
	defer m.scanMu.Unlock()
	dirents, err := os.ReadDir(m.cfg.Dir)
	if errors.Is(err, os.ErrNotExist) {
		dirents, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("read plugin folder: %w", err)
	}
	seen := map[string]bool{}
	for _, d := range dirents {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		if len(seen) == maxPlugins {
			m.logger.WarnContext(ctx, "The plugin folder holds too many folders; the rest are ignored", "max", maxPlugins)
			break
		}
		seen[d.Name()] = true
		m.scanFolder(ctx, d.Name(), force)
	}
	for _, folder := range m.folders() {
		if !seen[folder] && (force || m.markMissing(folder)) {
			m.remove(ctx, folder)
		}
	}
	return nil
}

// markMissing records that folder was not there; it reports whether it was already missing at the
// last poll.
func (m *Manager) markMissing(folder string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[folder]
	if e == nil {
		return false
	}
	was := e.missing
	e.missing = true
	return was
}

func (m *Manager) folders() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.entries))
	for f := range m.entries {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

func (m *Manager) scanFolder(ctx context.Context, folder string, force bool) {
	dir := filepath.Join(m.cfg.Dir, folder)
	fp, err := fingerprint(dir)
	if err != nil {
		fp = "error: " + err.Error()
	}
	m.mu.Lock()
	e := m.entries[folder]
	if e == nil {
		e = &entry{folder: folder}
		m.entries[folder] = e
	}
	e.missing = false
	if fp == e.fp {
		e.pending = fp
		m.mu.Unlock()
		return
	}
	if !force && fp != e.pending {
		// Changed since the last poll: wait for it to settle.
		e.pending = fp
		m.mu.Unlock()
		return
	}
	e.fp, e.pending = fp, fp
	m.mu.Unlock()
	m.load(ctx, e, dir)
}

// load loads the folder of e and, when it is sound, swaps its node types into the registry.
func (m *Manager) load(ctx context.Context, e *entry, dir string) {
	start := time.Now()
	b, problems, err := readBundle(dir)
	if err != nil {
		problems = plugin.Problems{{Pointer: "", Message: err.Error()}}
	}
	if len(problems) == 0 {
		problems = m.nameTaken(e, b.manifest.Name)
	}
	if len(problems) == 0 && e.current != nil && e.current.ref.Digest == b.digest {
		m.mu.Lock()
		e.refused = nil
		m.mu.Unlock()
		return
	}
	var v *version
	if len(problems) == 0 {
		v, problems = m.start(ctx, b)
	}
	if len(problems) == 0 {
		problems = m.swapIn(e, v)
		if len(problems) > 0 {
			m.closeLater(v)
		}
	}
	if len(problems) > 0 {
		r := &refusal{problems: problems, at: time.Now()}
		if b != nil {
			r.version, r.kind, r.description, r.author = b.manifest.Version, b.manifest.Kind, b.manifest.Description, b.manifest.Author
		}
		m.mu.Lock()
		e.refused = r
		m.mu.Unlock()
		attrs := []any{"folder", e.folder, "problems", problems.Error()}
		if e.current != nil {
			attrs = append(attrs, "serving", e.current.ref.String())
		}
		m.logger.WarnContext(ctx, "Plugin refused", attrs...)
		return
	}
	m.reloads.Add(1)
	m.logger.InfoContext(ctx, "Plugin loaded", "plugin", v.ref.String(), "kind", v.ref.Kind, "types", len(v.types), "took", time.Since(start).Round(time.Microsecond))
}

// nameTaken refuses a plugin whose name another folder already uses.
func (m *Manager) nameTaken(e *entry, name string) plugin.Problems {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, other := range m.entries {
		if other != e && other.current != nil && other.current.ref.Name == name {
			return plugin.Problems{{Pointer: "/name", Message: fmt.Sprintf("plugin %s is already loaded from folder %s", name, other.folder)}}
		}
	}
	return nil
}

// start makes a version's runtime and node types.
func (m *Manager) start(ctx context.Context, b *bundle) (*version, plugin.Problems) {
	man := b.manifest
	v := &version{ref: node.PluginRef{Name: man.Name, Version: man.Version, Kind: man.Kind, Digest: b.digest}, manifest: man, dir: b.dir,
		types: map[node.TypeName]*node.Type{}, loadedAt: time.Now()}
	logger := m.logger.With("plugin", v.ref.String())
	switch man.Kind {
	case plugin.KindWasm:
		var hosts []string
		if man.Network != nil {
			hosts = man.Network.Hosts
		}
		w, err := NewWasm(ctx, man, b.module, WasmOptions{Cache: m.cache, Fetch: newFetcher(hosts, m.cfg.Policy), Logger: logger})
		if err != nil {
			return nil, plugin.Problems{{Pointer: "/wasm/module", Message: err.Error()}}
		}
		v.rt = w
	case plugin.KindProcess:
		v.rt = NewProcess(b.dir, man, logger)
	}
	for i := range man.Nodes {
		spec := &man.Nodes[i]
		t, err := node.NewType(newNode(spec, v, man))
		if err != nil {
			m.closeLater(v)
			return nil, plugin.Problems{{Pointer: "/nodes/" + strconv.Itoa(i), Message: err.Error()}}
		}
		v.types[t.Info.Type] = t
	}
	return v, nil
}

// swapIn puts v's types in the registry in place of e's current version's, at once.
func (m *Manager) swapIn(e *entry, v *version) plugin.Problems {
	var remove []node.TypeName
	if e.current != nil {
		for name := range e.current.types {
			remove = append(remove, name)
		}
	}
	add := make([]*node.Type, 0, len(v.types))
	for _, spec := range v.manifest.Nodes {
		add = append(add, v.types[node.TypeName(spec.Type)])
	}
	if err := m.cfg.Registry.Swap(remove, add); err != nil {
		ptr := ""
		for i, spec := range v.manifest.Nodes {
			if strings.Contains(err.Error(), spec.Type+" ") {
				ptr = "/nodes/" + strconv.Itoa(i) + "/type"
			}
		}
		return plugin.Problems{{Pointer: ptr, Message: err.Error()}}
	}
	m.mu.Lock()
	old := e.current
	e.current, e.refused, e.changed = v, nil, time.Now()
	delete(m.gone, v.ref.Name)
	var dropped []*version
	if old != nil {
		e.retired = append([]*version{old}, e.retired...)
		if len(e.retired) > m.cfg.Keep {
			dropped = e.retired[m.cfg.Keep:]
			e.retired = e.retired[:m.cfg.Keep]
		}
	}
	m.mu.Unlock()
	if w, ok := oldRuntime(old).(*Wasm); ok {
		w.shrink()
	}
	for _, d := range dropped {
		m.closeLater(d)
	}
	return nil
}

func oldRuntime(v *version) Runtime {
	if v == nil {
		return nil
	}
	return v.rt
}

// remove takes out the plugin of a folder that is gone: its types leave the registry, nodes that have
// not started fail, calls in flight finish.
func (m *Manager) remove(ctx context.Context, folder string) {
	m.mu.Lock()
	e := m.entries[folder]
	delete(m.entries, folder)
	m.mu.Unlock()
	if e == nil || e.current == nil {
		return
	}
	var names []node.TypeName
	for name := range e.current.types {
		names = append(names, name)
	}
	if err := m.cfg.Registry.Swap(names, nil); err != nil {
		m.logger.ErrorContext(ctx, "Could not remove a plugin's node types", "plugin", e.current.ref.String(), "error", err.Error())
	}
	m.mu.Lock()
	m.gone[e.current.ref.Name] = e.current.ref.Version
	m.mu.Unlock()
	for _, v := range append([]*version{e.current}, e.retired...) {
		v.removed.Store(true)
		m.closeLater(v)
	}
	m.reloads.Add(1)
	m.logger.InfoContext(ctx, "Plugin removed", "plugin", e.current.ref.String())
}

// closeLater closes v's runtime once its calls have finished (at most retireTimeout).
func (m *Manager) closeLater(v *version) {
	if v == nil || v.rt == nil {
		return
	}
	m.retire.Add(1)
	go func() {
		defer m.retire.Done()
		ctx, cancel := context.WithTimeout(context.Background(), retireTimeout)
		defer cancel()
		if err := v.rt.Close(ctx); err != nil {
			m.logger.Warn("Could not stop a plugin version cleanly", "plugin", v.ref.String(), "error", err.Error())
		}
	}()
}

// Resolve implements engine.PluginResolver: the node type name of the plugin version ref, kept for
// the executions that started on it, or an error saying why it is gone.
func (m *Manager) Resolve(name node.TypeName, ref string) (*node.Type, error) {
	pluginName, _, _ := strings.Cut(ref, "@")
	m.mu.RLock()
	defer m.mu.RUnlock()
	var current *version
	for _, e := range m.entries {
		if e.current == nil || e.current.ref.Name != pluginName {
			continue
		}
		current = e.current
		for _, v := range append([]*version{e.current}, e.retired...) {
			if v.ref.String() == ref {
				if t, ok := v.types[name]; ok {
					return t, nil
				}
				return nil, fmt.Errorf("node type %s: plugin version %s does not define it", name, ref)
			}
		}
	}
	if current == nil {
		if _, removed := m.gone[pluginName]; removed {
			return nil, fmt.Errorf("node type %s: plugin %s was removed from the plugin folder while this execution ran (it started on %s)", name, pluginName, ref)
		}
		return nil, fmt.Errorf("node type %s: plugin %s is not loaded in this process (this execution started on %s)", name, pluginName, ref)
	}
	return nil, fmt.Errorf("node type %s: plugin version %s, which this execution started on, is no longer loaded: %s has replaced it, and only the last %d replaced versions are kept (CM_PLUGIN_KEEP_VERSIONS)",
		name, ref, current.ref.String(), m.cfg.Keep)
}

// Close stops every plugin's runtime, letting calls in flight finish until ctx ends.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	var all []*version
	for _, e := range m.entries {
		if e.current != nil {
			all = append(all, e.current)
		}
		all = append(all, e.retired...)
	}
	m.mu.Unlock()
	var errs []error
	for _, v := range all {
		if err := v.rt.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop plugin %s: %w", v.ref.String(), err))
		}
	}
	done := make(chan struct{})
	go func() { m.retire.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return errors.Join(errs...)
}

// Reloads counts the plugin versions loaded and removed since start.
func (m *Manager) Reloads() int64 { return m.reloads.Load() }
