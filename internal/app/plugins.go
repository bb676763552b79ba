package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/config"
	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/pluginhost"
)

// pluginSet is a process's plugin manager and the watch that keeps it in step with CM_PLUGIN_DIR.
type pluginSet struct {
	m          *pluginhost.Manager
	stopWatch  context.CancelFunc
	watchEnded chan struct{}
}

// startPlugins loads the plugins of cfg.PluginDir into reg and watches the folder; nil when
// CM_PLUGIN_DIR=off. Plugins that are refused are logged and shown by the API; they never stop the
// process from starting.
func startPlugins(ctx context.Context, cfg config.Config, reg *node.Registry, logger *slog.Logger) (*pluginSet, error) {
	if cfg.PluginDir == "off" {
		return nil, nil
	}
	// Compiled modules are kept next to the plugins, so that a restart does not compile them again;
	// in memory when there is no plugin folder yet.
	cacheDir := cfg.PluginCacheDir
	if st, err := os.Stat(cfg.PluginDir); cacheDir == "" && err == nil && st.IsDir() {
		cacheDir = filepath.Join(cfg.PluginDir, ".cache")
	}
	m, err := pluginhost.NewManager(pluginhost.Config{Dir: cfg.PluginDir, Registry: reg, Policy: cfg.Policy(), Keep: cfg.PluginKeepVersions, Logger: logger,
		Cache: pluginhost.CompilationCache(cacheDir)})
	if err != nil {
		return nil, err
	}
	if err := m.Reload(ctx); err != nil {
		logger.WarnContext(ctx, "Could not load the plugins", "dir", cfg.PluginDir, "error", err.Error())
	}
	watchCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p := &pluginSet{m: m, stopWatch: stop, watchEnded: make(chan struct{})}
	go func() {
		defer close(p.watchEnded)
		m.Watch(watchCtx)
	}()
	return p, nil
}

func (p *pluginSet) manager() *pluginhost.Manager {
	if p == nil {
		return nil
	}
	return p.m
}

// api returns what the API shows of the plugins; nil when plugins are off.
func (p *pluginSet) api() api.Plugins {
	if p == nil {
		return nil
	}
	return p.m
}

func (p *pluginSet) resolver() engine.PluginResolver {
	if p == nil {
		return nil
	}
	return p.m
}

// close stops watching and stops the plugins' runtimes, letting their calls finish until ctx ends.
func (p *pluginSet) close(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.stopWatch()
	<-p.watchEnded
	return p.m.Close(ctx)
}
