package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/internal/latency"
)

// schedules measures schedule accuracy (issue 9): n workflows, each with a trigger.schedule
// `@every 1s` followed by a data.set, active for d. Fire lateness is each run's firedAt minus its
// scheduledAt (both in the run's input: when the scheduler created the run, and the fire time it is
// for); start lateness is when the run's first node started, minus the fire time. Every fire time
// between activation and deactivation must start exactly one run: the consecutive fire times of each
// schedule are checked to be one second apart.
func (b *bench) schedules(n int, d time.Duration) error {
	def := map[string]any{"name": "schedule bench", "nodes": []map[string]any{
		{"id": "tick", "type": "trigger.schedule", "config": map[string]any{"cron": "@every 1s"}},
		{"id": "stamp", "type": "data.set", "config": map[string]any{"fields": map[string]any{"at": "{{ trigger.scheduledAt }}"}}},
	}, "edges": []map[string]any{{"source": "tick", "target": "stamp"}}}
	ids := make([]string, n)
	for i := range ids {
		id, err := b.createWorkflow(def)
		if err != nil {
			return err
		}
		ids[i] = id
	}
	if err := b.forEach(ids, func(id string) error {
		_, err := b.call("POST", "/api/v1/workflows/"+id+"/activate", nil, nil)
		return err
	}); err != nil {
		return err
	}
	cpu0 := b.cpu()
	time.Sleep(d)
	cpu := b.cpu() - cpu0
	if err := b.forEach(ids, func(id string) error {
		_, err := b.call("POST", "/api/v1/workflows/"+id+"/deactivate", nil, nil)
		return err
	}); err != nil {
		return err
	}

	var fire, startLate latency.Recorder
	var mu sync.Mutex
	runs, gaps, doubled, unfinished := 0, 0, 0, 0
	err := b.forEach(ids, func(id string) error {
		execIDs, err := b.executionIDs(id)
		if err != nil {
			return err
		}
		var times []time.Time
		for _, eid := range execIDs {
			e, err := b.finishedExecution(eid)
			if err != nil {
				return err
			}
			var in struct{ ScheduledAt, FiredAt time.Time }
			if err := json.Unmarshal(e.Input, &in); err != nil {
				return fmt.Errorf("execution %s input: %w", eid, err)
			}
			fire.Add(in.FiredAt.Sub(in.ScheduledAt))
			for _, r := range e.NodeRuns {
				if r.NodeID == "stamp" && r.StartedAt != nil {
					startLate.Add(r.StartedAt.Sub(in.ScheduledAt))
				}
			}
			mu.Lock()
			if e.Status != "succeeded" {
				unfinished++
			}
			mu.Unlock()
			times = append(times, in.ScheduledAt)
		}
		sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
		mu.Lock()
		defer mu.Unlock()
		runs += len(times)
		for i := 1; i < len(times); i++ {
			switch gap := times[i].Sub(times[i-1]); {
			case gap == 0:
				doubled++
			case gap != time.Second:
				gaps++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	p99 := fire.Percentile(99)
	figure(fmt.Sprintf("%d schedules @every 1s for %s, fire lateness (p99)", n, d), "%.1f ms", "every fire time once, p99 < 1 s",
		gaps == 0 && doubled == 0 && unfinished == 0 && p99 < time.Second, float64(p99.Microseconds())/1000, b.store)
	fmt.Printf("  %d runs (%.1f/s); fire lateness %s\n", runs, float64(runs)/d.Seconds(), fire.Summary())
	fmt.Printf("  first node started after the fire time: %s\n", startLate.Summary())
	fmt.Printf("  fire times skipped: %d, started twice: %d, runs not succeeded: %d; server CPU %.1f%% of a core\n",
		gaps, doubled, unfinished, 100*cpu.Seconds()/d.Seconds())
	return nil
}

// forEach calls f for every id, 16 at a time, and returns the first error.
func (b *bench) forEach(ids []string, f func(string) error) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	var mu sync.Mutex
	var first error
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(id); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// executionIDs returns the ids of every execution of a workflow.
func (b *bench) executionIDs(workflow string) ([]string, error) {
	var out []string
	cursor := ""
	for {
		var page struct {
			Items      []struct{ ID string }
			NextCursor string
		}
		if _, err := b.call("GET", "/api/v1/executions?limit=500&workflowId="+workflow+"&cursor="+url.QueryEscape(cursor), nil, &page); err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			out = append(out, it.ID)
		}
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

type benchExecution struct {
	Status   string
	Input    json.RawMessage
	NodeRuns []struct {
		NodeID    string
		StartedAt *time.Time
	}
}

// finishedExecution reads an execution, waiting up to a minute for it to finish.
func (b *bench) finishedExecution(id string) (*benchExecution, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		var e benchExecution
		if _, err := b.call("GET", "/api/v1/executions/"+id, nil, &e); err != nil {
			return nil, err
		}
		switch {
		case e.Status == "succeeded" || e.Status == "failed" || e.Status == "canceled":
			return &e, nil
		case time.Now().After(deadline):
			return &e, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}
