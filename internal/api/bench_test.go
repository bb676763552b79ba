package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/latency"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/storetest"
)

// benchOptions picks the store: SQLite in a temp file, or PostgreSQL when CM_BENCH_DATABASE_URL is set.
func benchOptions() enginetest.Options {
	return enginetest.Options{PostgresURL: os.Getenv("CM_BENCH_DATABASE_URL")}
}

func storeName() string {
	if os.Getenv("CM_BENCH_DATABASE_URL") != "" {
		return "postgres"
	}
	return "sqlite"
}

// reportLatency reports rec's p50 and p95 as the benchmark's metrics and, once there are enough
// samples, prints the figure line bench/run.sh collects: "figure: <what> (<store>): <summary> — <target>".
func reportLatency(b *testing.B, rec *latency.Recorder, what, target string) {
	b.ReportMetric(float64(rec.Percentile(50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(rec.Percentile(95).Microseconds())/1000, "p95-ms")
	b.ReportMetric(0, "ns/op")
	if b.N >= 10 {
		fmt.Printf("figure: %s (%s): %s — %s\n", what, storeName(), rec.Summary(), target)
	}
}

// bigWorkflow returns a valid 200-node workflow: a trigger fanning out to 199 data.set nodes in
// chains of ten, each with an expression.
func bigWorkflow(n int) string {
	nodes := []string{`{"id":"start","type":"trigger.manual","position":{"x":0,"y":0}}`}
	var edges []string
	for i := 1; i < n; i++ {
		id := fmt.Sprintf("n_%d", i)
		nodes = append(nodes, fmt.Sprintf(`{"id":%q,"type":"data.set","position":{"x":%d,"y":%d},"config":{"fields":{"v%d":"{{ input.total * %d }}","label":"node %d"}}}`,
			id, (i%10)*220, (i/10)*120, i, i, i))
		src := "start"
		if i%10 != 1 {
			src = fmt.Sprintf("n_%d", i-1)
		}
		edges = append(edges, fmt.Sprintf(`{"source":%q,"target":%q}`, src, id))
	}
	return `{"name":"big","nodes":[` + strings.Join(nodes, ",") + `],"edges":[` + strings.Join(edges, ",") + `]}`
}

// BenchmarkCreateWorkflow200 measures POST /api/v1/workflows with a 200-node workflow: decode, schema
// check, full validation with expression compilation, and the durable insert. Target: p95 ≤ 20 ms.
func BenchmarkCreateWorkflow200(b *testing.B) {
	s := apitest.Start(b, benchOptions())
	body := bigWorkflow(200)
	var rec latency.Recorder
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		resp := s.Do(b, "POST", "/api/v1/workflows", body, nil)
		rec.Add(time.Since(start))
		if resp.Status != 201 {
			b.Fatalf("status %d: %s", resp.Status, resp.Body)
		}
	}
	reportLatency(b, &rec, "create + validate a 200-node workflow via the API", "target p95 ≤ 20 ms")
}

// BenchmarkRunToFirstNodeStarted measures the time from sending a run request to the first node's
// start being committed (the node.started event). Target: p95 ≤ 5 ms.
func BenchmarkRunToFirstNodeStarted(b *testing.B) {
	s := apitest.Start(b, benchOptions())
	w := create(&testing.T{}, s, orderFlow)
	id := w["id"].(string)
	sub := s.Bus.Subscribe(event.Filter{TenantID: store.DefaultTenant}, 4096)
	defer sub.Close()
	var rec latency.Recorder
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		resp := s.Do(b, "POST", "/api/v1/workflows/"+id+"/executions", `{"input":{"total":5}}`, nil)
		var exec map[string]any
		resp.JSON(b, &exec)
		for m := range sub.C {
			if m.Event.ExecutionID == exec["id"] && m.Event.Type == engine.EventNodeStarted {
				rec.Add(time.Since(start))
				break
			}
		}
	}
	b.StopTimer()
	reportLatency(b, &rec, "run request → first node started", "target p95 ≤ 5 ms")
}

// BenchmarkListPages stores 10,000 workflows and 100,000 executions and measures list pages:
// the first page, a name filter, deep cursor pages, filters by workflow and by status.
// Target: p95 ≤ 50 ms for every kind.
func BenchmarkListPages(b *testing.B) {
	if b.N < 10 {
		// The testing package probes with b.N = 1 first; seeding 100,000 executions is only worth it
		// for the real run (-benchtime 20x).
		return
	}
	s := apitest.Start(b, benchOptions())
	ctx := context.Background()
	const workflows, executions = 10_000, 100_000
	seedStart := time.Now()
	wfIDs := make([]string, workflows)
	parallel(b, workflows, func(i int) error {
		def := storetest.Definition(fmt.Sprintf("workflow %05d %s", i, []string{"billing", "shipping", "crm", "reports"}[i%4]))
		w, err := s.Store.CreateWorkflow(ctx, store.DefaultTenant, service.NewID(), def)
		if err == nil {
			wfIDs[i] = w.ID
		}
		return err
	})
	statuses := []string{"succeeded", "succeeded", "succeeded", "failed", "canceled"}
	parallel(b, executions, func(i int) error {
		e, _, err := s.Store.CreateExecution(ctx, store.DefaultTenant, store.CreateExecutionParams{
			ID: service.NewID(), WorkflowID: wfIDs[i%100], WorkflowVersion: 1, TriggerKind: store.TriggerManual,
			Input: json.RawMessage(`{"orderId":12345,"total":99.5}`),
		})
		if err != nil || statuses[i%5] != "canceled" {
			return err
		}
		_, err = s.Store.RequestCancel(ctx, store.DefaultTenant, e.ID, store.CancelParams{})
		return err
	})
	b.Logf("seeded %d workflows and %d executions in %s", workflows, executions, time.Since(seedStart).Round(time.Second))

	deepCursor := func(path string, pages int) string {
		cursor := ""
		for range pages {
			resp := s.Do(b, "GET", path+"&cursor="+cursor, "", nil)
			var page struct{ NextCursor string }
			resp.JSON(b, &page)
			cursor = page.NextCursor
		}
		return cursor
	}
	queries := []struct{ name, url string }{
		{"workflows, first page", "/api/v1/workflows?limit=50"},
		{"workflows, name filter", "/api/v1/workflows?limit=50&name=shipping"},
		{"workflows, page 100", "/api/v1/workflows?limit=50&cursor=" + deepCursor("/api/v1/workflows?limit=50", 99)},
		{"executions, first page", "/api/v1/executions?limit=50"},
		{"executions, by workflow", "/api/v1/executions?limit=50&workflowId=" + wfIDs[7]},
		{"executions, by status", "/api/v1/executions?limit=50&status=canceled"},
		{"executions, by workflow and status", "/api/v1/executions?limit=50&status=canceled&workflowId=" + wfIDs[7]},
		{"executions, page 200", "/api/v1/executions?limit=50&cursor=" + deepCursor("/api/v1/executions?limit=50", 199)},
	}
	b.ResetTimer()
	recs := make([]latency.Recorder, len(queries))
	for range b.N {
		for i, q := range queries {
			start := time.Now()
			resp := s.Do(b, "GET", q.url, "", nil)
			recs[i].Add(time.Since(start))
			require.Equal(b, 200, resp.Status, resp.Body)
		}
	}
	b.StopTimer()
	worst := time.Duration(0)
	for i, q := range queries {
		fmt.Printf("figure: list %s with 10k workflows / 100k executions (%s): %s — target p95 ≤ 50 ms\n", q.name, storeName(), recs[i].Summary())
		worst = max(worst, recs[i].Percentile(95))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-p95-ms")
	b.ReportMetric(0, "ns/op")
}

// parallel runs f(0..n-1) on 128 goroutines, so that group commit fills its batches.
func parallel(b *testing.B, n int, f func(i int) error) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	next := make(chan int, 1024)
	go func() {
		for i := range n {
			next <- i
		}
		close(next)
	}()
	for range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// BenchmarkGetWorkflow200Conditional measures GET /api/v1/workflows/{id} of a 200-node workflow
// answered in full (200, about 34 KB of JSON) and answered 304 to If-None-Match naming its ETag.
// Both read the workflow (authorization and tenant scope are the same); the 304 skips building and
// encoding the body and sends none.
func BenchmarkGetWorkflow200Conditional(b *testing.B) {
	s := apitest.Start(b, benchOptions())
	created := s.Do(b, "POST", "/api/v1/workflows", bigWorkflow(200), nil)
	require.Equal(b, 201, created.Status, created.Body)
	var w struct{ ID string }
	created.JSON(b, &w)
	path := "/api/v1/workflows/" + w.ID
	tag := s.Do(b, "GET", path, "", nil).Header.Get("ETag")
	for _, bc := range []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{name: "200", status: 200},
		{name: "304", headers: map[string]string{"If-None-Match": tag}, status: 304},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var rec latency.Recorder
			bytes := 0
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				resp := s.Do(b, "GET", path, "", bc.headers)
				rec.Add(time.Since(start))
				if resp.Status != bc.status {
					b.Fatalf("status %d, want %d: %s", resp.Status, bc.status, resp.Body)
				}
				bytes = len(resp.Body)
			}
			b.StopTimer()
			b.ReportMetric(float64(bytes), "body-bytes")
			b.ReportMetric(float64(rec.Percentile(50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(rec.Percentile(95).Microseconds())/1000, "p95-ms")
			if b.N >= 10 {
				fmt.Printf("figure: GET a 200-node workflow answered %s (%s): %s, %d body bytes\n", bc.name, storeName(), rec.Summary(), bytes)
			}
		})
	}
}

// BenchmarkTestNode500 measures "test node" in a 500-node workflow: POST test-runs in mode node with the
// last run's outputs (499 seeded node runs written with the execution), until the test run has
// finished. Target: p95 ≤ 100 ms.
func BenchmarkTestNode500(b *testing.B) {
	s := apitest.Start(b, benchOptions())
	w := create(&testing.T{}, s, bigWorkflow(500))
	id := w["id"].(string)
	if exec := s.Env.Run(b, id, `{"total":5}`); exec.Status != "succeeded" {
		b.Fatalf("first run: %s", exec.Status)
	}
	var rec latency.Recorder
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		resp := s.Do(b, "POST", "/api/v1/workflows/"+id+"/test-runs", `{"node":"n_255","mode":"node"}`, nil)
		if resp.Status != 202 {
			b.Fatalf("status %d: %s", resp.Status, resp.Body)
		}
		var exec struct{ ID string }
		resp.JSON(b, &exec)
		if done := s.Wait(b, exec.ID); done.Status != "succeeded" {
			b.Fatalf("test run: %s", done.Status)
		}
		rec.Add(time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, &rec, "test one node of a 500-node workflow with the last run's data, request → finished", "target p95 ≤ 100 ms")
}
