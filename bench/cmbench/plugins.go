package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// pluginFigures measures issue 12's plugin figures on a server of its own with a plugin folder:
// the time from a plugin's files changing to its new version serving (through the watcher), and the
// executions that fail while the plugin is replaced `reloads` times (POST /api/v1/plugins/reload, so
// that each replacement is loaded at once) under a steady load of workflows calling it.
func pluginFigures(bin, dir string, reloads int) error {
	pdir := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(pdir, 0o750); err != nil {
		return err
	}
	module := filepath.Join(dir, "hello.wasm")
	build := exec.Command("go", //nolint:gosec // go, with the bench's own paths
		"build", "-buildmode=c-shared", "-o", module, "./examples/plugins/hello-wasm")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build hello-wasm: %w\n%s", err, out)
	}
	wasm, err := os.ReadFile(module) //nolint:gosec // the module the bench just built
	if err != nil {
		return err
	}
	// install replaces the plugin's folder at once (a new folder renamed over the old), as a deploy would.
	install := func(version string) error {
		tmp := filepath.Join(pdir, ".new-hello")
		if err := os.MkdirAll(tmp, 0o750); err != nil {
			return err
		}
		man, _ := json.Marshal(map[string]any{"name": "hello-wasm", "version": version, "nodes": []any{map[string]any{"type": "hello.greet", "title": "Greet", "pure": true,
			"schema": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}}}})
		if err := os.WriteFile(filepath.Join(tmp, "plugin.wasm"), wasm, 0o600); err != nil { //nolint:gosec // the bench's own scratch folder
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, "plugin.json"), man, 0o600); err != nil {
			return err
		}
		old := filepath.Join(pdir, ".old-hello")
		_ = os.RemoveAll(old)
		if err := os.Rename(filepath.Join(pdir, "hello"), old); err != nil && !os.IsNotExist(err) {
			return err
		}
		return os.Rename(tmp, filepath.Join(pdir, "hello"))
	}
	if err := install("1.0.0"); err != nil {
		return err
	}
	b, err := start(bin, "sqlite://"+filepath.Join(dir, "plugins.db"), dir, "CM_PLUGIN_DIR="+pdir)
	if err != nil {
		return err
	}
	b.store = "SQLite"
	defer b.stop()
	serving := func() (string, error) {
		var out struct {
			Items []struct {
				Folder, Version, Status string
			}
		}
		if _, err := b.call("GET", "/api/v1/plugins", nil, &out); err != nil {
			return "", err
		}
		for _, p := range out.Items {
			if p.Folder == "hello" {
				return p.Version, nil
			}
		}
		return "", nil
	}

	// File change → serving, through the watcher.
	var latencies []time.Duration
	for i := range 20 {
		version := fmt.Sprintf("1.1.%d", i)
		start := time.Now()
		if err := install(version); err != nil {
			return err
		}
		for {
			v, err := serving()
			if err != nil {
				return err
			}
			if v == version {
				break
			}
			if time.Since(start) > 30*time.Second {
				return fmt.Errorf("version %s not serving after 30 s", version)
			}
			time.Sleep(5 * time.Millisecond)
		}
		latencies = append(latencies, time.Since(start))
	}
	slices.Sort(latencies)
	p95 := latencies[len(latencies)*95/100]
	fmt.Printf("  plugins: file change → new version serving, %d changes: p50 %v, p95 %v, max %v\n", len(latencies),
		latencies[len(latencies)/2].Round(time.Millisecond), p95.Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))
	figure("plugin file change → new version serving, p95", "%.0f ms", "≤ 1,000 ms", p95 <= time.Second, float64(p95.Milliseconds()), b.store)

	// Reloads under load.
	wf, err := b.createWorkflow(map[string]any{"name": "greet", "nodes": []any{
		map[string]any{"id": "start", "type": "trigger.manual"},
		map[string]any{"id": "greet", "type": "hello.greet", "config": map[string]any{"name": "{{ trigger.name }}"}},
	}, "edges": []any{map[string]any{"source": "start", "target": "greet"}}})
	if err != nil {
		return err
	}
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
				var out struct {
					Status string
					Error  *struct{ Message string }
				}
				_, err := b.call("POST", "/api/v1/workflows/"+wf+"/executions?wait=30s", map[string]any{"input": map[string]any{"name": "Ada"}}, &out)
				runs.Add(1)
				if err != nil || out.Status != "succeeded" {
					failed.Add(1)
					msg := fmt.Sprint(err)
					if out.Error != nil {
						msg = out.Error.Message
					}
					firstFailure.CompareAndSwap(nil, msg)
				}
			}
		}()
	}
	rssBefore := b.rss()
	began := time.Now()
	var reloadTimes []time.Duration
	for i := range reloads {
		if err := install(fmt.Sprintf("2.0.%d", i)); err != nil {
			close(stop)
			return err
		}
		t := time.Now()
		if _, err := b.call("POST", "/api/v1/plugins/reload", nil, nil); err != nil {
			close(stop)
			return err
		}
		reloadTimes = append(reloadTimes, time.Since(t))
	}
	elapsed := time.Since(began)
	close(stop)
	wg.Wait()
	slices.Sort(reloadTimes)
	fmt.Printf("  plugins: %d reloads in %v (reload p50 %v, p95 %v) under load: %d executions (%.0f/s), %d failed\n", reloads, elapsed.Round(time.Millisecond),
		reloadTimes[len(reloadTimes)/2].Round(time.Millisecond), reloadTimes[len(reloadTimes)*95/100].Round(time.Millisecond),
		runs.Load(), float64(runs.Load())/elapsed.Seconds(), failed.Load())
	fmt.Printf("  plugins: server resident memory %.1f MiB before the reloads, %.1f MiB after\n", rssBefore, b.rss())
	if f := firstFailure.Load(); f != nil {
		fmt.Printf("  plugins: first failure: %v\n", f)
	}
	figure(fmt.Sprintf("executions failed during %d plugin reloads under load", reloads), "%.0f", "0", failed.Load() == 0, float64(failed.Load()), b.store)
	return nil
}
