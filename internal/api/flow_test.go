package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// startRun starts a workflow through the API and returns the execution id.
func startRun(t *testing.T, s *apitest.Server, wf, input string) string {
	t.Helper()
	resp := s.Do(t, "POST", "/api/v1/workflows/"+wf+"/executions", `{"input":`+input+`}`, nil)
	require.Equal(t, http.StatusAccepted, resp.Status, resp.Body)
	var e map[string]any
	resp.JSON(t, &e)
	return e["id"].(string)
}

// waitNode waits until the latest run of a node has the status.
func waitNode(t *testing.T, s *apitest.Server, execID, nodeID string, status workflow.NodeRunStatus) {
	t.Helper()
	require.Eventually(t, func() bool {
		runs, err := s.Store.ListNodeRuns(t.Context(), store.DefaultTenant, execID)
		require.NoError(t, err)
		latest := ""
		attempt := 0
		for _, r := range runs {
			if r.NodeID == nodeID && r.Attempt >= attempt {
				latest, attempt = string(r.Status), r.Attempt
			}
		}
		return latest == string(status)
	}, 20*time.Second, 10*time.Millisecond, "node %s of %s never became %s", nodeID, execID, status)
}

func TestFlowStopEndsTheRunSuccessfully(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			s := apitest.Start(t, backend.opts)
			wf := create(t, s, `{"name":"stops","nodes":[{"id":"start","type":"trigger.manual"},
				{"id":"check","type":"flow.if","config":{"condition":"{{ input.n == 0 }}"}},
				{"id":"none","type":"flow.stop","config":{"output":{"processed":0}}},
				{"id":"slow","type":"flow.delay","config":{"duration":"1h"}},
				{"id":"pass","type":"flow.noop"},
				{"id":"after","type":"data.set","config":{"fields":{"done":true}}}],
				"edges":[{"source":"start","target":"check"},{"source":"check","sourcePort":"true","target":"none"},
				{"source":"start","target":"slow"},{"source":"check","sourcePort":"false","target":"pass"},{"source":"pass","target":"after"}]}`)["id"].(string)

			stopped := s.Wait(t, startRun(t, s, wf, `{"n":0}`))
			require.Equal(t, workflow.ExecutionSucceeded, stopped.Status)
			require.JSONEq(t, `{"processed":0}`, string(stopped.Output))
			runs, err := s.Store.ListNodeRuns(t.Context(), store.DefaultTenant, stopped.ID)
			require.NoError(t, err)
			final := map[string]workflow.NodeRunStatus{}
			for _, r := range runs {
				final[r.NodeID] = r.Status
			}
			require.Equal(t, workflow.NodeRunCanceled, final["slow"], "the waiting branch is canceled")
			require.Equal(t, workflow.NodeRunSkipped, final["after"])

			// Without the stop, flow.noop passes its input on and the run waits on the delay.
			other := startRun(t, s, wf, `{"n":1}`)
			waitNode(t, s, other, "after", workflow.NodeRunSucceeded)
			runs, err = s.Store.ListNodeRuns(t.Context(), store.DefaultTenant, other)
			require.NoError(t, err)
			for _, r := range runs {
				if r.NodeID == "after" {
					require.JSONEq(t, `{"n":1,"done":true}`, string(r.Output))
				}
			}
		})
	}
}

func TestHTTPRespondAnswersTheWebhookWhileTheRunGoesOn(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, backends(t)[0].opts)
	wf := create(t, s, `{"name":"acks","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"ack/order","method":"POST"}},
		{"id":"ack","type":"http.respond","config":{"status":201,"headers":{"X-Order":"{{ string(input.body.id) }}","Content-Security-Policy":"x"},
		  "body":{"accepted":"{{ input.body.id }}"}}},
		{"id":"gate","type":"test.block","config":{"key":"respond"}},
		{"id":"text","type":"http.respond","config":{"body":"second"}}],
		"edges":[{"source":"hook","target":"ack"},{"source":"ack","target":"gate"},{"source":"gate","target":"text"}]}`)["id"].(string)
	require.Equal(t, 200, s.Do(t, "POST", "/api/v1/workflows/"+wf+"/activate", "", nil).Status)

	resp := s.Do(t, "POST", "/hooks/ack/order", `{"id":42}`, map[string]string{"Content-Type": "application/json"})
	require.Equal(t, http.StatusCreated, resp.Status, resp.Body)
	require.JSONEq(t, `{"accepted":42}`, resp.Body)
	require.Equal(t, "42", resp.Header.Get("X-Order"))
	require.NotEqual(t, "x", resp.Header.Get("Content-Security-Policy"), "a workflow cannot replace the security headers")
	id := resp.Header.Get("X-Execution-ID")
	require.NotEmpty(t, id)
	require.Equal(t, "respond", <-s.Probe.Started, "the run went on after the answer")
	s.Probe.ReleaseAll()
	done := s.Wait(t, id)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status)

	// Refused configurations.
	bad := s.Do(t, "POST", "/api/v1/workflows", `{"name":"bad","nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"r","type":"http.respond","config":{"status":700,"headers":{"Set-Cookie":"a=b"}}}],"edges":[{"source":"start","target":"r"}]}`, nil)
	require.Equal(t, http.StatusUnprocessableEntity, bad.Status, bad.Body)
	require.Contains(t, bad.Body, "/nodes/1/config/status")
}

func TestApprovals(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			opts := backend.opts
			opts.SuspendThreshold = 10 * time.Millisecond
			s := apitest.Start(t, opts)
			wf := create(t, s, `{"name":"approve","nodes":[{"id":"start","type":"trigger.manual"},
				{"id":"ask","type":"flow.wait","config":{"mode":"approval","message":"Refund {{ input.amount }}?"}},
				{"id":"after","type":"data.set","config":{"fields":{"ok":"{{ input.approved }}"},"keepInput":false}}],
				"edges":[{"source":"start","target":"ask"},{"source":"ask","target":"after"}]}`)["id"].(string)

			id := startRun(t, s, wf, `{"amount":12}`)
			s.WaitStatus(t, id, workflow.ExecutionWaiting)
			viewer := s.AddMember(t, "viewer-"+backend.name+"@example.com", "viewer")
			r := s.Do(t, "POST", "/api/v1/executions/"+id+"/nodes/ask/approve", `{}`, map[string]string{"Authorization": "Bearer " + viewer})
			require.Equal(t, http.StatusForbidden, r.Status, r.Body)
			require.Equal(t, http.StatusNotFound, s.Do(t, "POST", "/api/v1/executions/"+id+"/nodes/nope/approve", `{}`, nil).Status)
			require.Equal(t, http.StatusConflict, s.Do(t, "POST", "/api/v1/executions/"+id+"/nodes/after/approve", `{}`, nil).Status)

			r = s.Do(t, "POST", "/api/v1/executions/"+id+"/nodes/ask/approve", `{"comment":"fine"}`, nil)
			require.Equal(t, http.StatusOK, r.Status, r.Body)
			again := s.Do(t, "POST", "/api/v1/executions/"+id+"/nodes/ask/reject", `{}`, nil)
			require.Equal(t, http.StatusConflict, again.Status, again.Body)
			done := s.Wait(t, id)
			require.Equal(t, workflow.ExecutionSucceeded, done.Status)
			require.JSONEq(t, `{"ok":true}`, string(done.Output))
			runs, err := s.Store.ListNodeRuns(t.Context(), store.DefaultTenant, id)
			require.NoError(t, err)
			for _, run := range runs {
				if run.NodeID == "ask" && run.Status == workflow.NodeRunSucceeded {
					var out map[string]any
					require.NoError(t, json.Unmarshal(run.Output, &out))
					require.Equal(t, "approved", out["decision"])
					require.Equal(t, "fine", out["comment"])
					require.NotEmpty(t, out["by"].(map[string]any)["userId"])
					require.Equal(t, apitest.OwnerEmail, out["by"].(map[string]any)["email"])
				}
			}

			// Rejected, then a decision on a finished execution.
			id = startRun(t, s, wf, `{"amount":13}`)
			s.WaitStatus(t, id, workflow.ExecutionWaiting)
			require.Equal(t, http.StatusOK, s.Do(t, "POST", "/api/v1/executions/"+id+"/nodes/ask/reject", `{"comment":"no"}`, nil).Status)
			done = s.Wait(t, id)
			require.JSONEq(t, `{"ok":false}`, string(done.Output))
			require.Equal(t, http.StatusConflict, s.Do(t, "POST", "/api/v1/executions/"+id+"/nodes/ask/approve", `{}`, nil).Status)
		})
	}
}

func TestWaitTimeout(t *testing.T) {
	t.Parallel()
	opts := backends(t)[0].opts
	opts.SuspendThreshold = 10 * time.Millisecond
	s := apitest.Start(t, opts)
	wf := create(t, s, `{"name":"times out","nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"ask","type":"flow.wait","config":{"mode":"approval","timeout":"300ms","onTimeout":"port"}},
		{"id":"late","type":"data.set","config":{"fields":{"late":true}}}],
		"edges":[{"source":"start","target":"ask"},{"source":"ask","sourcePort":"timeout","target":"late"}]}`)["id"].(string)
	done := s.Wait(t, startRun(t, s, wf, `{"a":1}`))
	require.Equal(t, workflow.ExecutionSucceeded, done.Status)
	require.JSONEq(t, `{"a":1,"late":true}`, string(done.Output))

	failing := create(t, s, `{"name":"fails","nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"ask","type":"flow.wait","config":{"mode":"webhook","timeout":"200ms"}}],"edges":[{"source":"start","target":"ask"}]}`)["id"].(string)
	done = s.Wait(t, startRun(t, s, failing, `{}`))
	require.Equal(t, workflow.ExecutionFailed, done.Status)
	require.Equal(t, "timeout", done.Error.Code)
}

func TestResumeURL(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			opts := backend.opts
			opts.SuspendThreshold = 10 * time.Millisecond
			s := apitest.Start(t, opts)
			wf := create(t, s, `{"name":"callback","nodes":[{"id":"start","type":"trigger.manual"},
				{"id":"send","type":"data.set","config":{"fields":{"url":"{{ execution.resumeUrl }}"}}},
				{"id":"wait","type":"flow.wait","config":{"mode":"webhook"}}],
				"edges":[{"source":"start","target":"send"},{"source":"send","target":"wait"}]}`)["id"].(string)
			id := startRun(t, s, wf, `{}`)
			s.WaitStatus(t, id, workflow.ExecutionWaiting)
			runs, err := s.Store.ListNodeRuns(t.Context(), store.DefaultTenant, id)
			require.NoError(t, err)
			var sent struct{ URL string }
			for _, r := range runs {
				if r.NodeID == "send" {
					require.NoError(t, json.Unmarshal(r.Output, &sent))
				}
			}
			u, err := url.Parse(sent.URL)
			require.NoError(t, err)
			require.Equal(t, "cm.test", u.Host)
			require.True(t, strings.HasPrefix(u.Path, "/resume/default/"+id+"/"), u.Path)

			anon := map[string]string{"Authorization": "", "Content-Type": "application/json"}
			wrong := s.Do(t, "POST", u.Path[:len(u.Path)-3]+"abc", `{}`, anon)
			require.Equal(t, http.StatusNotFound, wrong.Status, wrong.Body)
			other := s.Do(t, "POST", strings.Replace(u.Path, "/default/", "/other/", 1), `{}`, anon)
			require.Equal(t, http.StatusNotFound, other.Status, other.Body)

			huge := s.Do(t, "POST", u.Path, `"`+strings.Repeat("a", api.MaxWebhookBytesDefault)+`"`, anon)
			require.Equal(t, http.StatusRequestEntityTooLarge, huge.Status, "bounded like webhooks")
			long := s.Do(t, "POST", u.Path+strings.Repeat("x", 200), `{}`, anon)
			require.Equal(t, http.StatusNotFound, long.Status, long.Body)
			badJSON := s.Do(t, "POST", u.Path, `{"ok":`, anon)
			require.Equal(t, http.StatusBadRequest, badJSON.Status, badJSON.Body)

			r := s.Do(t, "POST", u.Path+"?ref=mail", `{"ok":true}`, map[string]string{"Authorization": "", "Content-Type": "application/json", "X-Api-Key": "k"})
			require.Equal(t, http.StatusOK, r.Status, r.Body)
			require.JSONEq(t, fmt.Sprintf(`{"executionId":%q,"resumed":["wait"]}`, id), r.Body)
			require.Equal(t, http.StatusConflict, s.Do(t, "POST", u.Path, `{}`, anon).Status, "one request resumes one wait")
			done := s.Wait(t, id)
			require.Equal(t, workflow.ExecutionSucceeded, done.Status)
			var out map[string]any
			require.NoError(t, json.Unmarshal(done.Output, &out))
			require.Equal(t, map[string]any{"ok": true}, out["body"])
			require.Equal(t, map[string]any{"ref": "mail"}, out["query"])
			require.Equal(t, "[redacted]", out["headers"].(map[string]any)["x-api-key"])
			require.Equal(t, http.StatusConflict, s.Do(t, "GET", u.Path, "", anon).Status, "finished")
		})
	}
}
