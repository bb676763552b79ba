package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

// TestIdempotencyKeyCoversTheRequest checks that a key names one request: the same key with another
// version, trigger node or input is a conflict; the same input written differently is the same request.
func TestIdempotencyKeyCoversTheRequest(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	id := create(t, s, orderFlow)["id"].(string)
	require.Equal(t, 200, s.Do(t, "PUT", "/api/v1/workflows/"+id, orderFlow, map[string]string{"If-Match": `"1"`}).Status)
	runs := "/api/v1/workflows/" + id + "/executions"
	key := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }

	first := s.Do(t, "POST", runs, `{"version":1,"input":{"total":5,"who":"ada"}}`, key("v"))
	require.Equal(t, 202, first.Status, first.Body)
	var firstExec map[string]any
	first.JSON(t, &firstExec)

	s.Run(t, []apitest.Scenario{
		{Name: "SameRequestOtherSpelling", Method: "POST", URL: runs, Body: `{"input":{"who":"ada","total":5},"version":1}`, Headers: key("v"),
			ExpectedStatus: 202, ExpectedContent: []string{firstExec["id"].(string)}},
		{Name: "OtherVersion", Method: "POST", URL: runs, Body: `{"version":2,"input":{"total":5,"who":"ada"}}`, Headers: key("v"),
			ExpectedStatus: 409, ExpectedContent: []string{"different request"}},
		{Name: "CurrentVersion", Method: "POST", URL: runs, Body: `{"input":{"total":5,"who":"ada"}}`, Headers: key("v"), ExpectedStatus: 409},
		{Name: "OtherTrigger", Method: "POST", URL: runs, Body: `{"version":1,"triggerNode":"start","input":{"total":5,"who":"ada"}}`, Headers: key("v"),
			ExpectedStatus: 409},
		{Name: "OtherInput", Method: "POST", URL: runs, Body: `{"version":1,"input":{"total":6,"who":"ada"}}`, Headers: key("v"), ExpectedStatus: 409},
		{Name: "NumbersKeepTheirPrecision", Method: "POST", URL: runs, Body: `{"input":{"n":12345678901234567890}}`, Headers: key("n"), ExpectedStatus: 202},
		{Name: "OtherBigNumber", Method: "POST", URL: runs, Body: `{"input":{"n":12345678901234567891}}`, Headers: key("n"), ExpectedStatus: 409},
	})
}

// TestRetryOnce sends ten concurrent retries of one failed run: one retry is created and the others
// answer 409 naming it; with one Idempotency-Key, all ten answer with the same retry.
func TestRetryOnce(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	id := create(t, s, `{"name":"fails","nodes":[{"id":"start","type":"trigger.manual"},{"id":"boom","type":"flow.fail","config":{"message":"no"}}],
		"edges":[{"source":"start","target":"boom"}]}`)["id"].(string)
	failedRun := func() string {
		resp := s.Do(t, "POST", "/api/v1/workflows/"+id+"/executions?wait=10s", `{}`, nil)
		require.Equal(t, 200, resp.Status, resp.Body)
		var e map[string]any
		resp.JSON(t, &e)
		require.Equal(t, "failed", e["status"])
		return e["id"].(string)
	}
	for _, tc := range []struct {
		name      string
		key       string
		conflicts int
	}{
		{"WithoutKey", "", 9},
		{"WithOneKey", "retry-1", 0},
	} {
		orig := failedRun()
		var headers map[string]string
		if tc.key != "" {
			headers = map[string]string{"Idempotency-Key": tc.key}
		}
		answers := make([]*apitest.Response, 10)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() { answers[i] = s.Do(t, "POST", "/api/v1/executions/"+orig+"/retry", "", headers) })
		}
		wg.Wait()
		retries := map[string]bool{}
		conflicts := 0
		for _, a := range answers {
			switch a.Status {
			case http.StatusAccepted:
				var e map[string]any
				a.JSON(t, &e)
				require.Equal(t, orig, e["retryOf"])
				retries[e["id"].(string)] = true
			case http.StatusConflict:
				conflicts++
				require.Contains(t, a.Body, "already retried as execution")
			default:
				t.Fatalf("%s: retry answered %d: %s", tc.name, a.Status, a.Body)
			}
		}
		require.Len(t, retries, 1, tc.name)
		require.Equal(t, tc.conflicts, conflicts, tc.name)
		for retry := range retries {
			// The retry of the retry is the way on.
			again := s.Do(t, "POST", "/api/v1/executions/"+orig+"/retry", "", nil)
			require.Equal(t, 409, again.Status)
			require.Contains(t, again.Body, retry)
			resp := s.Do(t, "GET", "/api/v1/executions/"+retry, "", nil)
			require.Equal(t, 200, resp.Status)
		}
	}
}

// TestCancelWaitingLikeRunning cancels an execution parked on a delay and one blocked in a running
// node: both end with a node.canceled event for every node that had not finished, and a repeated
// cancel with the same Idempotency-Key answers 200 instead of 409.
func TestCancelWaitingLikeRunning(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			opts := backend.opts
			opts.SuspendThreshold = 10 * time.Millisecond
			s := apitest.Start(t, opts)
			waiting := create(t, s, `{"name":"waits","nodes":[{"id":"start","type":"trigger.manual"},
				{"id":"pause","type":"flow.delay","config":{"duration":"1h"}},{"id":"after","type":"data.set","config":{"fields":{}}}],
				"edges":[{"source":"start","target":"pause"},{"source":"pause","target":"after"}]}`)["id"].(string)
			running := create(t, s, `{"name":"blocks","nodes":[{"id":"start","type":"trigger.manual"},
				{"id":"pause","type":"test.block","config":{"key":"cancel-`+backend.name+`"}},{"id":"after","type":"data.set","config":{"fields":{}}}],
				"edges":[{"source":"start","target":"pause"},{"source":"pause","target":"after"}]}`)["id"].(string)

			exec := func(wf string) string {
				resp := s.Do(t, "POST", "/api/v1/workflows/"+wf+"/executions", `{}`, nil)
				require.Equal(t, 202, resp.Status, resp.Body)
				var e map[string]any
				resp.JSON(t, &e)
				return e["id"].(string)
			}
			w := exec(waiting)
			require.Eventually(t, func() bool {
				return strings.Contains(s.Do(t, "GET", "/api/v1/executions/"+w, "", nil).Body, `"status":"waiting"`)
			}, 10*time.Second, 20*time.Millisecond)
			r := exec(running)
			require.Equal(t, "cancel-"+backend.name, <-s.Probe.Started)

			key := map[string]string{"Idempotency-Key": "stop-it"}
			for _, id := range []string{w, r} {
				resp := s.Do(t, "POST", "/api/v1/executions/"+id+"/cancel", "", key)
				require.Equal(t, 200, resp.Status, resp.Body)
				require.Contains(t, resp.Body, `"status":"canceled"`)
				events := s.Do(t, "GET", "/api/v1/executions/"+id+"/events", "", nil)
				var log struct {
					Items []struct {
						Seq    int64
						Type   string
						NodeID string
					}
				}
				events.JSON(t, &log)
				var canceled []string
				for i, ev := range log.Items {
					require.Equal(t, int64(i+1), ev.Seq, "gapless")
					if ev.Type == "node.canceled" {
						canceled = append(canceled, ev.NodeID)
					}
				}
				require.Equal(t, []string{"pause", "after"}, canceled, "execution %s: %s", id, events.Body)
				require.Equal(t, "execution.finished", log.Items[len(log.Items)-1].Type)

				again := s.Do(t, "POST", "/api/v1/executions/"+id+"/cancel", "", key)
				require.Equal(t, 200, again.Status, again.Body)
				var before, after map[string]any
				resp.JSON(t, &before)
				again.JSON(t, &after)
				require.Equal(t, before["finishedAt"], after["finishedAt"])
				require.Equal(t, 409, s.Do(t, "POST", "/api/v1/executions/"+id+"/cancel", "", nil).Status)
				require.Equal(t, 409, s.Do(t, "POST", "/api/v1/executions/"+id+"/cancel", "", map[string]string{"Idempotency-Key": "other"}).Status)
			}
			s.Probe.ReleaseAll()
		})
	}
}
