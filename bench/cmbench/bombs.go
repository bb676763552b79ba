package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// bomb is a workflow that once crashed the server, drove it to gigabytes or pinned its cores.
type bomb struct {
	name string
	def  map[string]any
	// runs is how many executions of it run at once.
	runs int
}

func transform(id, expr string, extra map[string]any) map[string]any {
	n := map[string]any{"id": id, "type": "data.transform", "config": map[string]any{"expression": expr}}
	for k, v := range extra {
		n[k] = v
	}
	return n
}

func bombWorkflow(name string, n map[string]any) map[string]any {
	return map[string]any{"name": name,
		"nodes": []any{map[string]any{"id": "start", "type": "trigger.manual"}, n},
		"edges": []any{map[string]any{"source": "start", "target": n["id"]}}}
}

func bombs() []bomb {
	fields := map[string]any{}
	for i := range 200 {
		fields[fmt.Sprintf("f%d", i)] = "{{ map(1..15, repeat('a', 1048576)) }}"
	}
	return []bomb{
		{name: "replace asking for 1 TiB", runs: 1, def: bombWorkflow("replace", transform("bomb",
			"{{ len(replace(repeat('a', 1048576), 'a', repeat('b', 1048576))) }}", nil))},
		{name: "data.set, 200 fields of 15 MiB", runs: 1, def: bombWorkflow("fields",
			map[string]any{"id": "bomb", "type": "data.set", "config": map[string]any{"fields": fields}})},
		{name: "forEach of 1,000 × 1 MiB", runs: 1, def: bombWorkflow("foreach", transform("bomb",
			"{{ repeat('a', 1048576) }}", map[string]any{"forEach": "{{ 1..1000 }}", "concurrency": 4}))},
		{name: "catastrophic regex, 4 at once", runs: 4, def: bombWorkflow("regex", transform("bomb",
			"{{ repeat('a', 1048576) matches repeat('(a|b)', 1500) + 'c' }}", nil))},
		{name: "string doubling", runs: 1, def: bombWorkflow("doubling", transform("bomb",
			`{{ reduce(1..80, #acc + #acc, "ab") }}`, nil))},
		{name: "nested loops", runs: 4, def: bombWorkflow("loops", transform("bomb",
			"{{ reduce(1..900, reduce(1..900, reduce(1..900, #acc + 1, 0), 0), 0) }}", nil))},
	}
}

// runBombs starts a fresh server (defaults, SQLite) for each bomb, runs it, and reports whether the
// process stayed up, how each run failed and how fast, and the process's peak resident memory.
func runBombs(bin, dir string) error {
	for i, bm := range bombs() {
		bdir := filepath.Join(dir, fmt.Sprintf("bomb%d", i))
		if err := os.MkdirAll(bdir, 0o750); err != nil {
			return err
		}
		b, err := start(bin, "sqlite://"+filepath.Join(bdir, "cm.db"), bdir)
		if err != nil {
			return err
		}
		err = b.runBomb(bm)
		b.stop()
		if err != nil {
			return fmt.Errorf("%s: %w", bm.name, err)
		}
	}
	return nil
}

func (b *bench) runBomb(bm bomb) error {
	id, err := b.createWorkflow(bm.def)
	if err != nil {
		return err
	}
	type result struct {
		Status     string
		DurationMs float64
		Error      struct{ Code, Message string }
	}
	results := make([]result, bm.runs)
	errs := make([]error, bm.runs)
	cpu0 := b.cpu()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range bm.runs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = b.call("POST", "/api/v1/workflows/"+id+"/executions?wait=2m", map[string]any{}, &results[i])
		}(i)
	}
	wg.Wait()
	wall := time.Since(start)
	cpu := b.cpu() - cpu0
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	alive := false
	if code, err := b.call("GET", "/healthz", nil, nil); err == nil && code == 200 {
		alive = true
	}
	peak := b.hwm()
	slowest := 0.0
	clear := true
	for _, r := range results {
		slowest = max(slowest, r.DurationMs)
		clear = clear && r.Status == "failed" && r.Error.Code != "" && r.Error.Message != ""
	}
	r := results[0]
	fmt.Printf("figure: bomb %q (SQLite): process alive %t, %d run(s) %s with %s (%s), slowest %.0f ms start to failure, wall %.0f ms, server CPU %.0f ms, peak RSS %.1f MiB — target alive, a clear error, ≤ 512 MiB peak — %s\n",
		bm.name, alive, bm.runs, r.Status, r.Error.Code, shorten(r.Error.Message, 140), slowest, float64(wall.Milliseconds()),
		float64(cpu.Milliseconds()), peak, verdict(alive && clear && peak <= 512))
	return nil
}

// validateBomb posts a workflow of 4,000 distinct long expressions to the validate endpoint and
// reports the time and server CPU per call.
func (b *bench) validateBomb(calls int) error {
	nodes := make([]any, 0, 2000)
	for i := range 2000 {
		fields := map[string]any{}
		for j := range 2 {
			fields[fmt.Sprintf("f%d", j)] = fmt.Sprintf("{{ %d + %s1 }}", i*2+j+calls*10000, strings.Repeat("input.a * 2 + ", 60))
		}
		nodes = append(nodes, map[string]any{"id": fmt.Sprintf("n%d", i), "type": "data.set", "config": map[string]any{"fields": fields}})
	}
	cpu0 := b.cpu()
	start := time.Now()
	status := 0
	for c := range calls {
		// Distinct expressions on every call, so the template cache does not help.
		for _, n := range nodes {
			f := n.(map[string]any)["config"].(map[string]any)["fields"].(map[string]any)
			for k, v := range f {
				f[k] = strings.Replace(v.(string), "{{ ", fmt.Sprintf("{{ %d + ", c), 1)
			}
		}
		status, _ = b.call("POST", "/api/v1/workflows/validate", map[string]any{"name": "expressions", "nodes": nodes}, nil)
	}
	per := float64(time.Since(start).Milliseconds()) / float64(calls)
	cpu := float64((b.cpu() - cpu0).Milliseconds()) / float64(calls)
	fmt.Printf("figure: validate 4,000 distinct long expressions (SQLite): %.0f ms per call, %.0f ms server CPU per call, answer %d — target milliseconds, not seconds — %s\n",
		per, cpu, status, verdict(per < 500))
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "MEETS"
	}
	return "MISSES"
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
