package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/internal/latency"
)

// stressOptions size the stress figure.
type stressOptions struct {
	rate     int
	duration time.Duration
	// workflows are created before the run, each saved three times and run runsPer times.
	workflows, runsPer int
}

// stressRead is one kind of read of the stress mix and its share, in percent.
type stressRead struct {
	name   string
	weight int
	path   func(rng *rand.Rand) string
}

// stress runs the stress figure: mixed reads at a constant arrival rate (an open model: a request is
// sent at its scheduled time whatever the ones before it are doing, and its latency counts from that
// time, so a stall of the server shows in the figure instead of slowing the load — no coordinated
// omission).
func (b *bench) stress(o stressOptions) error {
	wfs, execs, err := b.stressData(o)
	if err != nil {
		return err
	}
	pick := func(rng *rand.Rand, s []string) string { return s[rng.IntN(len(s))] }
	mix := []stressRead{
		{"workflow list", 15, func(*rand.Rand) string { return "/api/v1/workflows?limit=50" }},
		{"workflow get", 20, func(r *rand.Rand) string { return "/api/v1/workflows/" + pick(r, wfs) }},
		{"versions", 10, func(r *rand.Rand) string { return "/api/v1/workflows/" + pick(r, wfs) + "/versions" }},
		{"node types", 5, func(*rand.Rand) string { return "/api/v1/node-types" }},
		{"execution list", 15, func(r *rand.Rand) string { return "/api/v1/executions?limit=50&workflowId=" + pick(r, wfs) }},
		{"execution get", 20, func(r *rand.Rand) string { return "/api/v1/executions/" + pick(r, execs) }},
		{"events", 15, func(r *rand.Rand) string { return "/api/v1/executions/" + pick(r, execs) + "/events" }},
	}
	var weights []int
	for i, m := range mix {
		for range m.weight {
			weights = append(weights, i)
		}
	}
	recs := make([]latency.Recorder, len(mix))
	errs := make([]int64, len(mix))
	var firstErr string
	var mu sync.Mutex
	var all latency.Recorder
	// Each window's requests, by scheduled send time: where in the run the latency was.
	const window = 30 * time.Second
	windows := make([]latency.Recorder, int((o.duration+window-1)/window))
	loads := make([]string, len(windows))
	interval := time.Second / time.Duration(o.rate)
	total := int(o.duration / interval)
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // the mix's order, nothing to guess
	cpuBefore, ownBefore := b.cpu(), selfCPU()
	var wg sync.WaitGroup
	var behind time.Duration
	start := time.Now()
	for i := range total {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		} else {
			behind = max(behind, -wait)
		}
		w := int(time.Duration(i) * interval / window)
		if loads[w] == "" {
			loads[w] = loadAverage()
		}
		kind := weights[rng.IntN(len(weights))]
		path := mix[kind].path(rng)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fail := func(msg string) {
				mu.Lock()
				errs[kind]++
				if firstErr == "" {
					firstErr = msg
				}
				mu.Unlock()
			}
			req, err := b.request("GET", path, nil)
			if err != nil {
				fail(err.Error())
				return
			}
			resp, err := b.client.Do(req)
			if err != nil {
				fail(err.Error())
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			d := time.Since(at)
			recs[kind].Add(d)
			all.Add(d)
			windows[w].Add(d)
			if resp.StatusCode != http.StatusOK {
				fail(fmt.Sprintf("GET %s: %d", path, resp.StatusCode))
			}
		}()
	}
	sent := time.Since(start)
	wg.Wait()
	cpu, own := b.cpu()-cpuBefore, selfCPU()-ownBefore
	var errTotal int64
	for _, e := range errs {
		errTotal += e
	}
	p99 := all.Percentile(99)
	figure(fmt.Sprintf("API stress: %d requests/s of mixed reads for %s (open loop, latency from the scheduled send), p99", o.rate, o.duration),
		"%.2f ms", "p99 ≤ 10 ms, 0 errors", p99 <= 10*time.Millisecond && errTotal == 0, float64(p99.Microseconds())/1000, b.store)
	fmt.Printf("  all: %s; %d errors (%.3f %%)%s\n", all.Summary(), errTotal, 100*float64(errTotal)/float64(max(total, 1)), errSuffixString(firstErr))
	for i, m := range mix {
		fmt.Printf("  %-15s %2d %%: %s; %d errors\n", m.name, m.weight, recs[i].Summary(), errs[i])
	}
	for i := range windows {
		fmt.Printf("  %4.0f–%4.0f s (load average %s): p50 %s, p99 %s\n", (time.Duration(i) * window).Seconds(), (time.Duration(i+1) * window).Seconds(),
			loads[i], latency.Ms(windows[i].Percentile(50)), latency.Ms(windows[i].Percentile(99)))
	}
	fmt.Printf("  %.0f requests/s sent (the generator fell behind its schedule by at most %s); CPU: server %.2f cores, the generator (this process) %.2f cores; data: %d workflows, %d executions; load average %s\n",
		float64(total)/sent.Seconds(), behind.Round(time.Millisecond), cpu.Seconds()/sent.Seconds(), own.Seconds()/sent.Seconds(), len(wfs), len(execs), loadAverage())
	return nil
}

func errSuffixString(s string) string {
	if s == "" {
		return ""
	}
	return " (first: " + truncate(s, 200) + ")"
}

// stressData creates the workflows (three versions each) and executions the stress reads, and waits
// until the executions have finished.
func (b *bench) stressData(o stressOptions) (wfs, execs []string, err error) {
	for i := range o.workflows {
		name := fmt.Sprintf("stress %03d", i)
		id, err := b.createWorkflow(editorDef(name, 0))
		if err != nil {
			return nil, nil, err
		}
		for edit := 1; edit <= 2; edit++ {
			// If-Match "*": the setup overwrites whatever version is current.
			status, _, body, err := b.do("PUT", "/api/v1/workflows/"+id, editorDef(name, edit), map[string]string{"If-Match": "*"})
			if err != nil {
				return nil, nil, fmt.Errorf("save %s: %w", id, err)
			}
			if status != http.StatusOK {
				return nil, nil, fmt.Errorf("save %s: %d %s", id, status, body)
			}
		}
		wfs = append(wfs, id)
		for range o.runsPer {
			e, err := b.startExecution(id)
			if err != nil {
				return nil, nil, err
			}
			execs = append(execs, e)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, id := range execs {
		for {
			var e struct{ Status string }
			if _, err := b.call("GET", "/api/v1/executions/"+id, nil, &e); err != nil {
				return nil, nil, err
			}
			if e.Status == "succeeded" {
				break
			}
			if time.Now().After(deadline) {
				return nil, nil, fmt.Errorf("execution %s is %s after 2 minutes", id, e.Status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return wfs, execs, nil
}
