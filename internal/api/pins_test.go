package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// pinChain is start -> double (x = 2n) -> inc (y = x + 1) -> copy (z = y), each reading its input.
const pinChain = `{"name":"pinChain","nodes":[{"id":"start","type":"trigger.manual"},
	{"id":"double","type":"data.set","config":{"fields":{"x":"{{ input.n * 2 }}"},"keepInput":false}},
	{"id":"inc","type":"data.set","config":{"fields":{"y":"{{ input.x + 1 }}"},"keepInput":false}},
	{"id":"copy","type":"data.set","config":{"fields":{"z":"{{ input.y }}","t":"{{ trigger.n }}"},"keepInput":false}}],
	"edges":[{"source":"start","target":"double"},{"source":"double","target":"inc"},{"source":"inc","target":"copy"}]}`

type pinList struct {
	Items []struct {
		NodeID string
		Port   string
		Data   json.RawMessage
		Bytes  int
	}
}

// startTest starts a test run and waits for it to finish.
func startTest(t *testing.T, s *apitest.Server, workflowID, body string) (*store.Execution, map[string]store.NodeRun) {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/workflows/"+workflowID+"/test-runs", body, nil)
	require.Equal(t, http.StatusAccepted, r.Status, r.Body)
	var out struct {
		ID      string
		Trigger struct{ Kind string }
	}
	r.JSON(t, &out)
	require.Equal(t, "test", out.Trigger.Kind)
	require.Equal(t, "/api/v1/executions/"+out.ID, r.Header.Get("Location"))
	exec := s.Wait(t, out.ID)
	require.Equal(t, store.TriggerTest, exec.TriggerKind)
	return exec, s.Runs(t, out.ID)
}

func outputOf(t *testing.T, run store.NodeRun) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(run.Output, &m), "output of %s: %s", run.NodeID, run.Output)
	return m
}

// TestPinsAndTestRuns pins outputs and runs parts of a workflow with them: one node with the last
// run's inputs, up to a node, the whole workflow, and a trigger alone; production runs ignore pins.
func TestPinsAndTestRuns(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, pinChain)
	base := "/api/v1/workflows/" + w.ID
	first := s.Env.Run(t, w.ID, `{"n":1}`)
	require.Equal(t, workflow.ExecutionSucceeded, first.Status)

	// Nothing pinned yet: test the last node with the last run's inputs.
	exec, runs := startTest(t, s, w.ID, `{"node":"copy","mode":"node"}`)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	require.Equal(t, map[string]any{"z": float64(3), "t": float64(1)}, outputOf(t, runs["copy"]), "inc's output and the trigger come from the last run")
	require.Equal(t, "output reused from execution "+first.ID+"; the node did not run", runs["inc"].Logs[0].Message)
	require.Equal(t, workflow.NodeRunSucceeded, runs["double"].Status)
	require.JSONEq(t, `{"n":1}`, string(exec.Input), "the trigger's data is the source run's input")

	// Pin double's output; a test of inc uses it, and inc's successors do not run.
	r := s.Do(t, http.MethodPut, base+"/pins/double", `{"data":{"x":10}}`, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	require.Contains(t, r.Body, `"port":"out"`)
	require.Contains(t, r.Body, `"bytes":8`)
	exec, runs = startTest(t, s, w.ID, `{"node":"inc","mode":"node"}`)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	require.Equal(t, map[string]any{"y": float64(11)}, outputOf(t, runs["inc"]))
	require.Equal(t, "pinned output used; the node did not run", runs["double"].Logs[0].Message)
	require.Equal(t, workflow.NodeRunSkipped, runs["copy"].Status, "after the node under test, nothing runs")
	require.Equal(t, "not part of this test run", runs["copy"].Logs[0].Message)
	events := s.Events(t, exec.ID)
	require.Contains(t, string(events[0].Data), `"pinned":["double"]`)
	require.Contains(t, string(events[0].Data), `"mode":"node"`)

	// Up to copy: double is pinned, so start does not run either; inc and copy do.
	exec, runs = startTest(t, s, w.ID, `{"node":"copy"}`)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	require.Equal(t, float64(11), outputOf(t, runs["copy"])["z"])
	require.Equal(t, workflow.NodeRunSkipped, runs["start"].Status)
	require.Equal(t, 1, runs["inc"].Attempt)
	require.Empty(t, runs["inc"].Logs, "inc ran")

	// The whole workflow, with input: the same, as double is pinned.
	exec, runs = startTest(t, s, w.ID, `{"input":{"n":5}}`)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	require.Equal(t, float64(11), outputOf(t, runs["copy"])["z"])
	require.JSONEq(t, `{"n":5}`, string(exec.Input))

	// A production run never uses a pin.
	prod := s.Env.Run(t, w.ID, `{"n":1}`)
	require.Equal(t, map[string]any{"z": float64(3), "t": float64(1)}, enginetest.Output(t, prod))

	// Testing the trigger alone runs it with the given input and nothing else.
	exec, runs = startTest(t, s, w.ID, `{"node":"start","mode":"node","input":{"n":7}}`)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	require.Equal(t, workflow.NodeRunSucceeded, runs["start"].Status)
	require.Equal(t, workflow.NodeRunSkipped, runs["double"].Status)

	// Test runs are listed under their own trigger.
	var list struct{ Items []struct{ ID string } }
	s.Do(t, http.MethodGet, "/api/v1/executions?trigger=test&workflowId="+w.ID, "", nil).JSON(t, &list)
	require.Len(t, list.Items, 5)

	// Unpinned, double's output comes from the run named: the production run's x = 2.
	require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodDelete, base+"/pins/double", "", nil).Status)
	require.Equal(t, http.StatusNotFound, s.Do(t, http.MethodDelete, base+"/pins/double", "", nil).Status)
	exec, runs = startTest(t, s, w.ID, fmt.Sprintf(`{"node":"inc","mode":"node","executionId":%q}`, prod.ID))
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	require.Equal(t, map[string]any{"y": float64(3)}, outputOf(t, runs["inc"]))
}

// TestPinFromExecution is "debug in editor": a past run's trigger data, or named nodes' outputs,
// become pins.
func TestPinFromExecution(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, pinChain)
	base := "/api/v1/workflows/" + w.ID
	exec := s.Env.Run(t, w.ID, `{"n":4}`)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)

	r := s.Do(t, http.MethodPost, base+"/pins/from-execution", fmt.Sprintf(`{"executionId":%q}`, exec.ID), nil)
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	var pins pinList
	r.JSON(t, &pins)
	require.Len(t, pins.Items, 1)
	require.Equal(t, "start", pins.Items[0].NodeID)
	require.JSONEq(t, `{"n":4}`, string(pins.Items[0].Data))

	r = s.Do(t, http.MethodPost, base+"/pins/from-execution", fmt.Sprintf(`{"executionId":%q,"nodes":["inc"]}`, exec.ID), nil)
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	r.JSON(t, &pins)
	require.Len(t, pins.Items, 2)
	require.Equal(t, "inc", pins.Items[0].NodeID)
	require.JSONEq(t, `{"y":9}`, string(pins.Items[0].Data))

	// Listing reads them back; a test of the whole workflow runs only copy.
	s.Do(t, http.MethodGet, base+"/pins", "", nil).JSON(t, &pins)
	require.Len(t, pins.Items, 2)
	test, runs := startTest(t, s, w.ID, `{}`)
	require.Equal(t, workflow.ExecutionSucceeded, test.Status)
	require.Equal(t, float64(9), outputOf(t, runs["copy"])["z"])
	require.Equal(t, float64(4), outputOf(t, runs["copy"])["t"], "trigger. reads the pinned trigger data")
	require.Equal(t, workflow.NodeRunSkipped, runs["double"].Status, "not needed: inc is pinned")
	for _, id := range []string{"start", "inc"} {
		require.Equal(t, workflow.NodeRunSucceeded, runs[id].Status, id)
		require.Equal(t, "pinned output used; the node did not run", runs[id].Logs[0].Message, id)
	}

	// Another workflow's execution, and an unknown one.
	other := s.Save(t, pinChain)
	otherExec := s.Env.Run(t, other.ID, `{"n":1}`)
	r = s.Do(t, http.MethodPost, base+"/pins/from-execution", fmt.Sprintf(`{"executionId":%q}`, otherExec.ID), nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Body)
	require.Contains(t, r.Body, `"location":"/executionId"`)
	r = s.Do(t, http.MethodPost, base+"/pins/from-execution", `{"executionId":"nope"}`, nil)
	require.Equal(t, http.StatusNotFound, r.Status, r.Body)
	require.Contains(t, r.Body, `"location":"/executionId"`)
}

// TestPinsBadInput: every refusal is a 4xx problem at the field at fault, and changes nothing.
func TestPinsBadInput(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, pinChain)
	branchy := s.Save(t, `{"name":"branchy","nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"check","type":"flow.if","config":{"condition":"{{ input.ok }}"}},
		{"id":"yes","type":"data.set","config":{"fields":{"a":1}}},{"id":"no","type":"data.set","config":{"fields":{"b":"{{ input.why }}"},"keepInput":false}}],
		"edges":[{"source":"start","target":"check"},{"source":"check","sourcePort":"true","target":"yes"},{"source":"check","sourcePort":"false","target":"no"}]}`)
	fresh := s.Save(t, pinChain)
	base := "/api/v1/workflows/" + w.ID
	big := `{"data":"` + strings.Repeat("a", 1<<20) + `"}`
	tests := []struct {
		name, method, url, body string
		status                  int
		location                string
	}{
		{"UnknownWorkflow", http.MethodGet, "/api/v1/workflows/nope/pins", "", http.StatusNotFound, ""},
		{"UnknownNode", http.MethodPut, base + "/pins/ghost", `{"data":1}`, http.StatusUnprocessableEntity, "/path/nodeId"},
		{"UnknownPort", http.MethodPut, base + "/pins/double", `{"data":1,"port":"true"}`, http.StatusUnprocessableEntity, "/port"},
		{"NoData", http.MethodPut, base + "/pins/double", `{"port":"out"}`, http.StatusUnprocessableEntity, ""},
		{"TooBig", http.MethodPut, base + "/pins/double", big, http.StatusUnprocessableEntity, "/data"},
		{"WayTooBig", http.MethodPut, base + "/pins/double", `{"data":"` + strings.Repeat("a", 2<<20) + `"}`, http.StatusRequestEntityTooLarge, ""},
		{"UnpinNothing", http.MethodDelete, base + "/pins/double", "", http.StatusNotFound, ""},
		{"TestUnknownNode", http.MethodPost, base + "/test-runs", `{"node":"ghost"}`, http.StatusUnprocessableEntity, "/node"},
		{"TestBadMode", http.MethodPost, base + "/test-runs", `{"node":"inc","mode":"sideways"}`, http.StatusUnprocessableEntity, ""},
		{"TestNodeWithoutNode", http.MethodPost, base + "/test-runs", `{"mode":"node"}`, http.StatusUnprocessableEntity, "/node"},
		{"TestNodeNoInputs", http.MethodPost, "/api/v1/workflows/" + fresh.ID + "/test-runs", `{"node":"copy","mode":"node"}`, http.StatusUnprocessableEntity, "/node"},
		{"TestUnknownExecution", http.MethodPost, base + "/test-runs", `{"node":"inc","executionId":"nope"}`, http.StatusNotFound, "/executionId"},
		{"TestUnknownWorkflow", http.MethodPost, "/api/v1/workflows/nope/test-runs", `{}`, http.StatusNotFound, ""},
		{"FromExecutionUnknownExecution", http.MethodPost, "/api/v1/workflows/" + branchy.ID + "/pins/from-execution", `{"executionId":"x","nodes":["ghost"]}`, http.StatusNotFound, "/executionId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Do(t, tt.method, tt.url, tt.body, nil)
			require.Equal(t, tt.status, r.Status, r.Body)
			require.Contains(t, r.Header.Get("Content-Type"), "application/problem+json")
			if tt.location != "" {
				require.Contains(t, r.Body, `"location":"`+tt.location+`"`)
			}
		})
	}
	var pins pinList
	s.Do(t, http.MethodGet, base+"/pins", "", nil).JSON(t, &pins)
	require.Empty(t, pins.Items, "no refused request left a pin")

	// A branch: pin the if node's false port, and the false branch's node tests with it.
	r := s.Do(t, http.MethodPut, "/api/v1/workflows/"+branchy.ID+"/pins/check", `{"data":{"why":"late"},"port":"false"}`, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	exec, runs := startTest(t, s, branchy.ID, `{"node":"no"}`)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	require.Equal(t, map[string]any{"b": "late"}, outputOf(t, runs["no"]))
	require.Equal(t, workflow.NodeRunSkipped, runs["yes"].Status)
	// The true branch's node has no input from that pin.
	r = s.Do(t, http.MethodPost, "/api/v1/workflows/"+branchy.ID+"/test-runs", `{"node":"yes","mode":"node"}`, nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Body)
	require.Contains(t, r.Body, "pin the output of check")
	// A node that did not succeed in the run has nothing to pin.
	run := s.Env.Run(t, branchy.ID, `{"ok":true}`)
	r = s.Do(t, http.MethodPost, "/api/v1/workflows/"+branchy.ID+"/pins/from-execution", fmt.Sprintf(`{"executionId":%q,"nodes":["yes","no"]}`, run.ID), nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Body)
	require.Contains(t, r.Body, `"location":"/nodes/1"`)
}

// TestPinsRoles: viewers read pins; only editors pin, unpin and start test runs.
func TestPinsRoles(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, pinChain)
	viewer := s.AddMember(t, "viewer@example.com", "viewer")
	base := "/api/v1/workflows/" + w.ID
	auth := map[string]string{"Authorization": "Bearer " + viewer}
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodGet, base+"/pins", "", auth).Status)
	for _, req := range [][3]string{
		{http.MethodPut, base + "/pins/double", `{"data":1}`},
		{http.MethodDelete, base + "/pins/double", ""},
		{http.MethodPost, base + "/pins/from-execution", `{"executionId":"x"}`},
		{http.MethodPost, base + "/test-runs", `{}`},
	} {
		r := s.Do(t, req[0], req[1], req[2], auth)
		require.Equal(t, http.StatusForbidden, r.Status, "%s %s: %s", req[0], req[1], r.Body)
	}
}

// TestFailedTestRunStartsNoErrorWorkflow: a test run that fails is the editor's business; the error
// workflow that alerts on production failures does not start, as it does for a manual run.
func TestFailedTestRunStartsNoErrorWorkflow(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	alerts := s.Save(t, `{"name":"alerts","nodes":[{"id":"oops","type":"trigger.error"}]}`)
	w := s.Save(t, `{"name":"fails","settings":{"errorWorkflow":"`+alerts.ID+`"},"nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"boom","type":"flow.fail","config":{"message":"no stock"}}],"edges":[{"source":"start","target":"boom"}]}`)
	exec, _ := startTest(t, s, w.ID, `{"node":"boom"}`)
	require.Equal(t, workflow.ExecutionFailed, exec.Status)
	prod := s.Env.Run(t, w.ID, `{}`)
	require.Equal(t, workflow.ExecutionFailed, prod.Status)

	var list struct {
		Items []struct{ Trigger struct{ Kind string } }
	}
	require.Eventually(t, func() bool {
		s.Do(t, http.MethodGet, "/api/v1/executions?workflowId="+alerts.ID, "", nil).JSON(t, &list)
		return len(list.Items) > 0
	}, 10*time.Second, 20*time.Millisecond, "the production failure starts the error workflow")
	require.Len(t, list.Items, 1, "only the production failure did")
}
