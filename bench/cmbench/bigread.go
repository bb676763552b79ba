package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// The issue 6 case: a 7 MB input through 40 chained data.set nodes, whose execution read once
// answered 588 MB in 4.4 s and took the server from 141 MB to 2.47 GB.
const (
	bigReadInputBytes = 7_000_000
	bigReadNodes      = 40
	bigReadGets       = 5
)

// bigRead runs the execution (on a server whose execution budget admits 40 × 7 MB), then
// restarts the server, so that nothing of the run stays in its memory, and measures the execution
// read against that fresh process: the response's size and time, and how far its peak resident
// memory (VmHWM) rises; then the same for streaming one whole 7 MB node output.
func (b *bench) bigRead(bin, dbURL, dir string) error {
	b.stop()
	nb, err := start(bin, dbURL, dir, "CM_MAX_EXECUTION_BYTES=2147483648")
	if err != nil {
		return err
	}
	nb.store = b.store
	*b = *nb
	nodes := []map[string]any{{"id": "start", "type": "trigger.manual"}}
	var edges []map[string]any
	prev := "start"
	for i := 1; i <= bigReadNodes; i++ {
		id := fmt.Sprintf("n_%d", i)
		nodes = append(nodes, map[string]any{"id": id, "type": "data.set", "config": map[string]any{"fields": map[string]any{"step": i}}})
		edges = append(edges, map[string]any{"source": prev, "target": id})
		prev = id
	}
	wf, err := b.createWorkflow(map[string]any{"name": "big read", "nodes": nodes, "edges": edges})
	if err != nil {
		return err
	}
	body := `{"input":{"blob":"` + strings.Repeat("a", bigReadInputBytes-len(`{"blob":""}`)) + `"}}`
	req, err := b.request("POST", "/api/v1/workflows/"+wf+"/executions?wait=5m", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	runStart := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	runBytes, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 200 || loc == "" {
		return fmt.Errorf("run: %d (location %q)", resp.StatusCode, loc)
	}
	fmt.Printf("  big read: ran 7 MB × %d data.set in %v; the run answer was %s\n", bigReadNodes, time.Since(runStart).Round(time.Millisecond), human(runBytes))

	// A fresh process: its memory holds nothing of the run.
	b.stop()
	nb, err = start(bin, dbURL, dir)
	if err != nil {
		return err
	}
	nb.store = b.store
	*b = *nb
	time.Sleep(time.Second)
	base := b.hwm()
	var sizes []int64
	var times []time.Duration
	for range bigReadGets {
		n, d, err := b.get(loc)
		if err != nil {
			return err
		}
		sizes, times = append(sizes, n), append(times, d)
	}
	var probe struct {
		Status   string
		NodeRuns []struct{ OutputTruncated bool }
	}
	if _, err := b.call("GET", loc, nil, &probe); err != nil {
		return err
	}
	readGrowth := b.hwm() - base
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	size := float64(sizes[0]) / (1 << 20)
	fmt.Printf("  big read: execution %s, %d node runs; GET %s: %s, first %v, median of %d %v; peak RSS %.1f → %.1f MiB\n",
		probe.Status, len(probe.NodeRuns), loc, human(sizes[0]), times[0].Round(time.Millisecond), bigReadGets, times[len(times)/2].Round(time.Millisecond), base, base+readGrowth)
	figure("7 MB × 40 data.set: execution read response", "%.3f MiB", "≤ 2 MiB", size <= 2, size, b.store)
	figure("7 MB × 40 data.set: execution read time (median)", "%.0f ms", "≤ 100 ms", float64(times[len(times)/2].Milliseconds()) <= 100, float64(times[len(times)/2].Microseconds())/1000, b.store)
	figure("7 MB × 40 data.set: server RSS growth while reading", "%.1f MiB", "≤ 100 MiB", readGrowth <= 100, readGrowth, b.store)

	// One whole value, streamed.
	before := b.hwm()
	n, d, err := b.get(fmt.Sprintf("%s/node-runs/n_%d/attempts/1/output", loc, bigReadNodes))
	if err != nil {
		return err
	}
	fmt.Printf("  big read: whole output of n_%d: %s in %v; peak RSS +%.1f MiB\n", bigReadNodes, human(n), d.Round(time.Millisecond), b.hwm()-before)
	return nil
}

// get reads path and returns the body's size and the time to its last byte.
func (b *bench) get(path string) (int64, time.Duration, error) {
	req, err := b.request("GET", path, nil)
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, 0, err
	}
	if resp.StatusCode != 200 {
		return n, 0, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return n, time.Since(t0), nil
}

func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
