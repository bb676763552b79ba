package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/latency"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// BenchmarkSubWorkflowCall measures flow.call: from the parent's call node starting to the child's
// first event (execution.queued committed) and to the child starting (execution.started), and the
// whole parent run (call, park, child run, wake, resume).
func BenchmarkSubWorkflowCall(b *testing.B) {
	opts := benchOptions()
	opts.SuspendThreshold = time.Millisecond
	s := apitest.Start(b, opts)
	child := create(&testing.T{}, s, doubler)["id"].(string)
	parent := create(&testing.T{}, s, callerOf(child, ""))["id"].(string)
	sub := s.Bus.Subscribe(event.Filter{TenantID: store.DefaultTenant}, 4096)
	defer sub.Close()
	var started, queued, whole latency.Recorder
	b.ResetTimer()
	for range b.N {
		begin := time.Now()
		exec, _, err := s.Service.StartExecution(context.Background(), store.DefaultTenant, serviceStart(parent))
		if err != nil {
			b.Fatal(err)
		}
		var callStarted time.Time
		var childID string
		for m := range sub.C {
			switch {
			case m.Event.ExecutionID == exec.ID && m.Event.Type == engine.EventNodeStarted && m.Event.NodeID == "call" && callStarted.IsZero():
				callStarted = time.Now()
			case m.Event.Type == engine.EventExecutionQueued && m.Event.ExecutionID != exec.ID && childID == "":
				childID = m.Event.ExecutionID
				queued.Add(time.Since(callStarted))
			case m.Event.ExecutionID == childID && m.Event.Type == engine.EventExecutionStarted:
				started.Add(time.Since(callStarted))
			}
			if m.Event.ExecutionID == exec.ID && m.Event.Type == engine.EventExecutionFinished {
				break
			}
		}
		whole.Add(time.Since(begin))
	}
	b.StopTimer()
	b.ReportMetric(float64(started.Percentile(95).Microseconds())/1000, "p95-ms")
	b.ReportMetric(0, "ns/op")
	if b.N >= 10 {
		fmt.Printf("figure: flow.call, call node started → child queued (%s): %s\n", storeName(), queued.Summary())
		fmt.Printf("figure: flow.call, call node started → child started (%s): %s — the sub-workflow call overhead\n", storeName(), started.Summary())
		fmt.Printf("figure: parent run with one flow.call, start → finished (%s): %s\n", storeName(), whole.Summary())
	}
}

// BenchmarkApprovalRoundTrip measures POST …/approve until the execution has finished (the decision
// stored, the parked run woken, claimed, resumed and finished).
func BenchmarkApprovalRoundTrip(b *testing.B) {
	opts := benchOptions()
	opts.SuspendThreshold = time.Millisecond
	s := apitest.Start(b, opts)
	wf := create(&testing.T{}, s, `{"name":"approve","nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"ask","type":"flow.wait","config":{"mode":"approval"}},{"id":"after","type":"data.set","config":{"fields":{"ok":true}}}],
		"edges":[{"source":"start","target":"ask"},{"source":"ask","target":"after"}]}`)["id"].(string)
	sub := s.Bus.Subscribe(event.Filter{TenantID: store.DefaultTenant}, 4096)
	defer sub.Close()
	var rec latency.Recorder
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		exec, _, err := s.Service.StartExecution(context.Background(), store.DefaultTenant, serviceStart(wf))
		if err != nil {
			b.Fatal(err)
		}
		for m := range sub.C {
			if m.Event.ExecutionID == exec.ID && m.Event.Type == engine.EventExecutionWaiting {
				break
			}
		}
		b.StartTimer()
		begin := time.Now()
		resp := s.Do(b, "POST", "/api/v1/executions/"+exec.ID+"/nodes/ask/approve", `{"comment":"ok"}`, nil)
		if resp.Status != 200 {
			b.Fatalf("approve: %d %s", resp.Status, resp.Body)
		}
		for m := range sub.C {
			if m.Event.ExecutionID == exec.ID && m.Event.Type == engine.EventExecutionFinished {
				break
			}
		}
		rec.Add(time.Since(begin))
	}
	b.StopTimer()
	b.ReportMetric(float64(rec.Percentile(95).Microseconds())/1000, "p95-ms")
	b.ReportMetric(0, "ns/op")
	if b.N >= 10 {
		fmt.Printf("figure: approval round trip, POST approve → execution finished (%s): %s\n", storeName(), rec.Summary())
	}
}

// BenchmarkForEachCall1000 runs 1,000 children through forEach over flow.call, ten at a time.
func BenchmarkForEachCall1000(b *testing.B) {
	opts := benchOptions()
	opts.SuspendThreshold = time.Millisecond
	s := apitest.Start(b, opts)
	child := create(&testing.T{}, s, doubler)["id"].(string)
	parent := create(&testing.T{}, s, `{"name":"batch","nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"each","type":"flow.call","forEach":"{{ input.items }}","concurrency":10,"config":{"workflowId":"`+child+`","input":"{{ {x: item} }}"}}],
		"edges":[{"source":"start","target":"each"}]}`)["id"].(string)
	items := make([]int, 1000)
	for i := range items {
		items[i] = i
	}
	in, _ := json.Marshal(map[string]any{"items": items})
	var rec latency.Recorder
	b.ResetTimer()
	for range b.N {
		begin := time.Now()
		p := serviceStart(parent)
		p.Input = in
		exec, _, err := s.Service.StartExecution(context.Background(), store.DefaultTenant, p)
		if err != nil {
			b.Fatal(err)
		}
		done, _, err := s.Service.WaitExecution(context.Background(), store.DefaultTenant, exec.ID, 5*time.Minute)
		if err != nil || done.Status != workflow.ExecutionSucceeded {
			b.Fatalf("batch: %v %+v", err, done)
		}
		rec.Add(time.Since(begin))
	}
	b.StopTimer()
	b.ReportMetric(float64(rec.Percentile(50).Milliseconds()), "p50-ms")
	b.ReportMetric(0, "ns/op")
	fmt.Printf("figure: forEach over flow.call, 1,000 children 10 at a time (%s): %s per batch\n", storeName(), rec.Summary())
}

func serviceStart(workflowID string) service.StartParams {
	return service.StartParams{WorkflowID: workflowID, Input: json.RawMessage(`{"x":1}`)}
}
