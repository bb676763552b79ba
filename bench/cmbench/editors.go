package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concertmaster/concertmaster/internal/latency"
)

// The API figures of issue 11 on one server (the same binary, `serve`):
//
//   - editors: concurrent simulated editors, each with a workflow of its own, looping: list
//     workflows, open theirs (GET, keeping the ETag), validate an edit, save it (PUT with If-Match:
//     the ETag), run it; a think time between operations. Per operation p50/p95/p99 and errors; a
//     412 is an error (nobody else edits an editor's workflow, so a conflict would be a bug).
//   - stress: an open-loop generator of mixed reads at a constant arrival rate (editors.go's
//     neighbour, stress.go).

// editorOptions size the editors figure.
type editorOptions struct {
	editors  int
	duration time.Duration
	// think is the mean pause between two operations of one editor (uniform over 0.5–1.5 × think).
	think time.Duration
}

// opStats are one operation's latencies and errors.
type opStats struct {
	rec      latency.Recorder
	errs     atomic.Int64
	firstErr atomic.Pointer[string]
}

func (s *opStats) fail(msg string) {
	s.errs.Add(1)
	s.firstErr.CompareAndSwap(nil, &msg)
}

// editorDef is an editor's workflow: a manual trigger and three data.set nodes, the last one's value
// the edit number.
func editorDef(name string, edit int) map[string]any {
	return chain(name, setNode("a"), setNode("b"),
		map[string]any{"id": "c", "type": "data.set", "config": map[string]any{"fields": map[string]any{"edit": edit}}})
}

// do sends one API request and returns its status, a header and the body (read and closed).
func (b *bench) do(method, path string, body any, header map[string]string) (int, http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		r = bytes.NewReader(buf)
	}
	req, err := b.request(method, path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data, err
}

var editorOps = []string{"list", "open", "validate", "save", "run"}

// editors runs the editors figure.
func (b *bench) editors(o editorOptions) error {
	ids := make([]string, o.editors)
	for i := range ids {
		id, err := b.createWorkflow(editorDef(fmt.Sprintf("editor %03d", i), 0))
		if err != nil {
			return err
		}
		ids[i] = id
	}
	stats := map[string]*opStats{}
	for _, op := range editorOps {
		stats[op] = &opStats{}
	}
	// timed runs one operation, recording its latency, and reports whether it answered want.
	timed := func(op, method, path string, body any, header map[string]string, want int) (http.Header, []byte, bool) {
		began := time.Now()
		status, h, data, err := b.do(method, path, body, header)
		stats[op].rec.Add(time.Since(began))
		switch {
		case err != nil:
			stats[op].fail(err.Error())
			return nil, nil, false
		case status != want:
			stats[op].fail(fmt.Sprintf("%s %s: %d %s", method, path, status, bytes.TrimSpace(data)))
			return nil, nil, false
		}
		return h, data, true
	}
	cpuBefore := b.cpu()
	began := time.Now()
	end := began.Add(o.duration)
	var loops atomic.Int64
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 11)) //nolint:gosec // think times, nothing to guess
			think := func() bool {
				d := time.Duration(float64(o.think) * (0.5 + rng.Float64()))
				if time.Now().Add(d).After(end) {
					return false
				}
				time.Sleep(d)
				return true
			}
			// Editors start spread over one think time, not in lockstep.
			time.Sleep(time.Duration(rng.Int64N(int64(o.think) + 1)))
			for edit := 1; time.Now().Before(end); edit++ {
				timed("list", "GET", "/api/v1/workflows?limit=50", nil, nil, http.StatusOK)
				if !think() {
					return
				}
				h, _, ok := timed("open", "GET", "/api/v1/workflows/"+id, nil, nil, http.StatusOK)
				if !think() || !ok {
					return
				}
				def := editorDef(fmt.Sprintf("editor %03d", i), edit)
				timed("validate", "POST", "/api/v1/workflows/validate", def, nil, http.StatusOK)
				if !think() {
					return
				}
				timed("save", "PUT", "/api/v1/workflows/"+id, def, map[string]string{"If-Match": h.Get("ETag")}, http.StatusOK)
				if !think() {
					return
				}
				timed("run", "POST", "/api/v1/workflows/"+id+"/executions", map[string]any{"input": map[string]any{"n": edit}}, nil, http.StatusAccepted)
				loops.Add(1)
				if !think() {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	cpu := b.cpu() - cpuBefore
	var worst time.Duration
	var total, errs int64
	for _, op := range editorOps {
		s := stats[op]
		worst = max(worst, s.rec.Percentile(95))
		total += int64(s.rec.Count())
		errs += s.errs.Load()
	}
	figure(fmt.Sprintf("%d simulated editors for %s (list, open, validate, save with If-Match, run; think %s), worst p95 of an operation",
		o.editors, o.duration, o.think), "%.2f ms", "p95 per operation ≤ 50 ms, 0 errors",
		worst <= 50*time.Millisecond && errs == 0, float64(worst.Microseconds())/1000, b.store)
	for _, op := range editorOps {
		s := stats[op]
		first := ""
		if p := s.firstErr.Load(); p != nil {
			first = " (first: " + truncate(*p, 200) + ")"
		}
		fmt.Printf("  %-8s %s; %d errors%s\n", op, s.rec.Summary(), s.errs.Load(), first)
	}
	fmt.Printf("  %d requests (%.0f/s), %d edit loops, %d errors; server CPU %.2f cores; load average %s\n",
		total, float64(total)/elapsed.Seconds(), loops.Load(), errs, cpu.Seconds()/elapsed.Seconds(), loadAverage())
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// splitComma splits a comma-separated list, dropping empty items.
func splitComma(s string) []string {
	return slices.DeleteFunc(strings.Split(s, ","), func(f string) bool { return strings.TrimSpace(f) == "" })
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o750) }
