package main

import (
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServeFiresSchedulesAcrossRestart activates an @every 1s schedule on the real binary, restarts it
// (SIGTERM), and checks that runs came from both processes with no fire time started twice.
func TestServeFiresSchedulesAcrossRestart(t *testing.T) {
	t.Parallel()
	db := t.TempDir() + "/cm.db"
	first := startServer(t, db)
	wf := first.do(t, "POST", "/api/v1/workflows", `{"name":"ticks","nodes":[
		{"id":"tick","type":"trigger.schedule","config":{"cron":"@every 1s"}},
		{"id":"stamp","type":"data.set","config":{"fields":{"at":"{{ trigger.scheduledAt }}"}}}],
		"edges":[{"source":"tick","target":"stamp"}]}`)
	id := wf["id"].(string)
	first.do(t, "POST", "/api/v1/workflows/"+id+"/activate", "")
	before := waitRuns(t, first, id, 2)
	require.NoError(t, first.stop(t, syscall.SIGTERM), first.log())

	second := startServer(t, db)
	after := waitRuns(t, second, id, len(before)+2)
	second.do(t, "POST", "/api/v1/workflows/"+id+"/deactivate", "")
	sched := second.do(t, "GET", "/api/v1/workflows/"+id+"/schedules", "")["items"].([]any)[0].(map[string]any)
	require.Equal(t, false, sched["active"])
	require.Len(t, sched["next"], 5)

	seen := map[string]bool{}
	for _, e := range waitRuns(t, second, id, len(after)) {
		exec := second.waitFinished(t, e)
		require.Equal(t, "succeeded", exec["status"], second.log())
		require.Equal(t, "schedule", exec["trigger"].(map[string]any)["kind"])
		at := exec["input"].(map[string]any)["scheduledAt"].(string)
		require.False(t, seen[at], "fire time %s started twice", at)
		seen[at] = true
		require.Equal(t, at, exec["output"].(map[string]any)["at"])
	}
	require.NoError(t, second.stop(t, syscall.SIGTERM))
}

// waitRuns polls until the workflow has at least n executions and returns their ids.
func waitRuns(t *testing.T, s *server, workflowID string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		page := s.do(t, "GET", "/api/v1/executions?limit=500&workflowId="+url.QueryEscape(workflowID), "")
		items := page["items"].([]any)
		if len(items) >= n {
			ids := make([]string, len(items))
			for i, it := range items {
				ids[i] = it.(map[string]any)["id"].(string)
			}
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs of %s after 30s, want %d:\n%s", len(items), workflowID, n, s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
