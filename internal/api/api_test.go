package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/store"
)

const orderFlow = `{"name":"orders","nodes":[
	{"id":"start","type":"trigger.manual","position":{"x":0,"y":0}},
	{"id":"check","type":"flow.if","config":{"condition":"{{ input.total > 100 }}"},"position":{"x":200,"y":0}},
	{"id":"big","type":"data.set","config":{"fields":{"size":"big"}},"position":{"x":400,"y":-50}},
	{"id":"small","type":"data.set","config":{"fields":{"size":"small"}},"position":{"x":400,"y":50}}],
	"edges":[{"source":"start","target":"check"},{"source":"check","sourcePort":"true","target":"big"},{"source":"check","sourcePort":"false","target":"small"}]}`

func create(t *testing.T, s *apitest.Server, body string) map[string]any {
	t.Helper()
	resp := s.Do(t, "POST", "/api/v1/workflows", body, nil)
	require.Equal(t, 201, resp.Status, resp.Body)
	var w map[string]any
	resp.JSON(t, &w)
	return w
}

func TestWorkflowLifecycle(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := create(t, s, orderFlow)
	id := w["id"].(string)
	renamed := strings.Replace(orderFlow, `"name":"orders"`, `"name":"orders v2"`, 1)

	s.Run(t, []apitest.Scenario{
		{Name: "Get", Method: "GET", URL: "/api/v1/workflows/" + id, ExpectedStatus: 200,
			ExpectedContent: []string{`"name":"orders"`, `"version":1`, `"active":false`}, ExpectedHeaderPatterns: map[string]string{"ETag": `^"1-[0-9a-f]{16}"$`}},
		{Name: "UpdateWithoutIfMatch", Method: "PUT", URL: "/api/v1/workflows/" + id, Body: renamed, ExpectedStatus: 428,
			ExpectedContent: []string{"If-Match"}},
		{Name: "UpdateWithGarbageIfMatch", Method: "PUT", URL: "/api/v1/workflows/" + id, Body: renamed, Headers: map[string]string{"If-Match": "banana"},
			ExpectedStatus: 412},
		{Name: "Update", Method: "PUT", URL: "/api/v1/workflows/" + id, Body: renamed, Headers: map[string]string{"If-Match": `"1"`},
			ExpectedStatus: 200, ExpectedContent: []string{`"version":2`, `"name":"orders v2"`}, ExpectedHeaderPatterns: map[string]string{"ETag": `^"2-[0-9a-f]{16}"$`}},
		{Name: "UpdateStale", Method: "PUT", URL: "/api/v1/workflows/" + id, Body: orderFlow, Headers: map[string]string{"If-Match": `"1"`},
			ExpectedStatus: 412, ExpectedContent: []string{"version 2, not 1", "urn:concertmaster:problem:precondition-failed"}},
		{Name: "UpdateAnyVersion", Method: "PUT", URL: "/api/v1/workflows/" + id, Body: orderFlow, Headers: map[string]string{"If-Match": "*"},
			ExpectedStatus: 200, ExpectedContent: []string{`"version":3`}},
		{Name: "Versions", Method: "GET", URL: "/api/v1/workflows/" + id + "/versions?limit=2", ExpectedStatus: 200,
			ExpectedContent: []string{`"version":3`, `"version":2`, `"nextCursor"`}, NotExpectedContent: []string{`"version":1,`}},
		{Name: "OneVersion", Method: "GET", URL: "/api/v1/workflows/" + id + "/versions/1", ExpectedStatus: 200, ExpectedContent: []string{`"name":"orders"`}},
		{Name: "ListFilter", Method: "GET", URL: "/api/v1/workflows?name=ORD", ExpectedStatus: 200, ExpectedContent: []string{id, `"nodeCount":4`}},
		{Name: "ListFilterMiss", Method: "GET", URL: "/api/v1/workflows?name=zzz", ExpectedStatus: 200, ExpectedContent: []string{`"items":[]`}},
		{Name: "ListBadCursor", Method: "GET", URL: "/api/v1/workflows?cursor=%21%21", ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/query/cursor"`, "not one this server issued"}},
		{Name: "ListBadLimit", Method: "GET", URL: "/api/v1/workflows?limit=100000", ExpectedStatus: 422, ExpectedContent: []string{`"location":"/query/limit"`}},
		{Name: "Activate", Method: "POST", URL: "/api/v1/workflows/" + id + "/activate", ExpectedStatus: 200, ExpectedContent: []string{`"active":true`}},
		{Name: "Deactivate", Method: "POST", URL: "/api/v1/workflows/" + id + "/deactivate", ExpectedStatus: 200, ExpectedContent: []string{`"active":false`}},
		{Name: "Delete", Method: "DELETE", URL: "/api/v1/workflows/" + id, ExpectedStatus: 204},
		{Name: "GetDeleted", Method: "GET", URL: "/api/v1/workflows/" + id, ExpectedStatus: 404, ExpectedContent: []string{"urn:concertmaster:problem:not-found"}},
		{Name: "DeleteAgain", Method: "DELETE", URL: "/api/v1/workflows/" + id, ExpectedStatus: 404},
		{Name: "VersionsOfDeleted", Method: "GET", URL: "/api/v1/workflows/" + id + "/versions", ExpectedStatus: 200,
			ExpectedContent: []string{`"version":3`, `"version":1`}},
		{Name: "VersionsOfUnknown", Method: "GET", URL: "/api/v1/workflows/nope/versions", ExpectedStatus: 404},
		{Name: "UnknownRoute", Method: "GET", URL: "/api/v1/nothing", ExpectedStatus: 404},
		{Name: "NodeTypes", Method: "GET", URL: "/api/v1/node-types", ExpectedStatus: 200,
			ExpectedContent: []string{`"type":"http.request"`, `"type":"flow.switch"`, `"dynamicPorts":true`, `"configSchema"`}},
		{Name: "NodeType", Method: "GET", URL: "/api/v1/node-types/data.set", ExpectedStatus: 200, ExpectedContent: []string{`"title":"Set fields"`, `"docs":"## Configuration\n`, `"icon":"pencil"`, `"pure":true`}},
		{Name: "NodeTypeEffectful", Method: "GET", URL: "/api/v1/node-types/http.request", ExpectedStatus: 200, ExpectedContent: []string{`"pure":false`}},
		{Name: "NodeTypeUnknown", Method: "GET", URL: "/api/v1/node-types/nope.nope", ExpectedStatus: 404},
		{Name: "Health", Method: "GET", URL: "/healthz", ExpectedStatus: 200, ExpectedContent: []string{`"status":"ok"`}},
		{Name: "Ready", Method: "GET", URL: "/readyz", ExpectedStatus: 200},
		{Name: "Docs", Method: "GET", URL: "/docs", ExpectedStatus: 200, ExpectedContent: []string{"openapi.json"}},
	})
	// The deleted workflow's versions stay readable for the executions that pinned them.
	v := s.Do(t, "GET", "/api/v1/workflows/"+id+"/versions/3", "", nil)
	require.Equal(t, 200, v.Status, v.Body)
	require.Contains(t, v.Body, `"version":3`)
	got, err := s.Store.GetWorkflowVersion(context.Background(), store.DefaultTenant, id, 1)
	require.NoError(t, err)
	require.Equal(t, "orders", got.Definition.Name)
}

// TestBadInput sends every kind of bad workflow the issue lists; each must answer 4xx problem+json
// naming the problems with JSON pointers, and leave nothing behind.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	hugeNodes := make([]string, 10000)
	for i := range hugeNodes {
		hugeNodes[i] = fmt.Sprintf(`{"id":"n%d","type":"data.set","config":{"fields":{}}}`, i)
	}
	tenThousand := `{"name":"huge","nodes":[` + strings.Join(hugeNodes, ",") + `],"edges":[]}`
	tenMiB := `{"name":"` + strings.Repeat("x", 10<<20) + `","nodes":[],"edges":[]}`
	w := create(t, s, orderFlow)
	id := w["id"].(string)

	s.Run(t, []apitest.Scenario{
		{Name: "MalformedJSON", Method: "POST", URL: "/api/v1/workflows", Body: `{"name":`, ExpectedStatus: 400},
		{Name: "NotAnObject", Method: "POST", URL: "/api/v1/workflows", Body: `[1,2]`, ExpectedStatus: 422},
		{Name: "UnknownField", Method: "POST", URL: "/api/v1/workflows", Body: `{"name":"x","nodes":[],"colour":"red"}`, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/colour"`, "unexpected property"}},
		{Name: "UnknownNodeField", Method: "POST", URL: "/api/v1/workflows", Body: `{"name":"x","nodes":[{"id":"a","type":"trigger.manual","colour":1}]}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/nodes/0/colour"`}},
		{Name: "Cycle", Method: "POST", URL: "/api/v1/workflows", ExpectedStatus: 422,
			Body: `{"name":"x","nodes":[{"id":"a","type":"data.set","config":{"fields":{}}},{"id":"b","type":"data.set","config":{"fields":{}}}],
				"edges":[{"source":"a","target":"b"},{"source":"b","target":"a"}]}`,
			ExpectedContent: []string{"cycle", `"location":"/edges/`}},
		{Name: "DuplicateIDs", Method: "POST", URL: "/api/v1/workflows", ExpectedStatus: 422,
			Body:            `{"name":"x","nodes":[{"id":"a","type":"trigger.manual"},{"id":"a","type":"trigger.manual"}]}`,
			ExpectedContent: []string{`"location":"/nodes/1/id"`}},
		{Name: "EdgeToMissingNodeAndPort", Method: "POST", URL: "/api/v1/workflows", ExpectedStatus: 422,
			Body: `{"name":"x","nodes":[{"id":"a","type":"trigger.manual"},{"id":"b","type":"flow.if","config":{"condition":true}},{"id":"c","type":"data.set","config":{"fields":{}}}],
				"edges":[{"source":"a","target":"ghost"},{"source":"b","sourcePort":"maybe","target":"c"}]}`,
			ExpectedContent: []string{`"location":"/edges/0/target"`, `"location":"/edges/1/sourcePort"`}},
		{Name: "UnknownType", Method: "POST", URL: "/api/v1/workflows", ExpectedStatus: 422,
			Body: `{"name":"x","nodes":[{"id":"a","type":"magic.wand"}]}`, ExpectedContent: []string{`"location":"/nodes/0/type"`}},
		{Name: "ConfigBreaksSchema", Method: "POST", URL: "/api/v1/workflows", ExpectedStatus: 422,
			Body:            `{"name":"x","nodes":[{"id":"a","type":"http.request","config":{"url":"","method":"FETCH","timeout":5}}]}`,
			ExpectedContent: []string{`"location":"/nodes/0/config/method"`, `"location":"/nodes/0/config/url"`, `"location":"/nodes/0/config/timeout"`}},
		{Name: "ExpressionDoesNotCompile", Method: "POST", URL: "/api/v1/workflows", ExpectedStatus: 422,
			Body:            `{"name":"x","nodes":[{"id":"a","type":"data.transform","config":{"expression":"{{ 1 + }}"}}]}`,
			ExpectedContent: []string{`"location":"/nodes/0/config/expression"`}},
		{Name: "ExpressionOverBudget", Method: "POST", URL: "/api/v1/workflows", ExpectedStatus: 422,
			Body:            `{"name":"x","nodes":[{"id":"a","type":"data.transform","config":{"expression":"{{ ` + strings.Repeat("1+", 3000) + `1 }}"}}]}`,
			ExpectedContent: []string{`"location":"/nodes/0/config/expression"`, "limit"}},
		{Name: "TenMiBBody", Method: "POST", URL: "/api/v1/workflows", Body: tenMiB, ExpectedStatus: 413},
		{Name: "TenThousandNodes", Method: "POST", URL: "/api/v1/workflows", Body: tenThousand, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/nodes"`, "at most 2000"}},
		{Name: "ValidateEndpoint", Method: "POST", URL: "/api/v1/workflows/validate", Body: `{"name":"","nodes":[]}`, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/name"`}},
		{Name: "ValidateOK", Method: "POST", URL: "/api/v1/workflows/validate", Body: orderFlow, ExpectedStatus: 200, ExpectedContent: []string{`"valid":true`}},
		{Name: "UnknownWorkflow", Method: "GET", URL: "/api/v1/workflows/nope", ExpectedStatus: 404},
		{Name: "UpdateUnknown", Method: "PUT", URL: "/api/v1/workflows/nope", Body: orderFlow, Headers: map[string]string{"If-Match": `"1"`}, ExpectedStatus: 404},
		{Name: "UnknownExecution", Method: "GET", URL: "/api/v1/executions/nope", ExpectedStatus: 404},
		{Name: "CancelUnknown", Method: "POST", URL: "/api/v1/executions/nope/cancel", ExpectedStatus: 404},
		{Name: "RunUnknownWorkflow", Method: "POST", URL: "/api/v1/workflows/nope/executions", Body: `{}`, ExpectedStatus: 404},
		{Name: "RunBadWait", Method: "POST", URL: "/api/v1/workflows/" + id + "/executions?wait=soon", Body: `{}`, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/query/wait"`}},
		{Name: "RunBadTrigger", Method: "POST", URL: "/api/v1/workflows/" + id + "/executions", Body: `{"triggerNode":"check"}`, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/triggerNode"`}},
		{Name: "RunBadInputJSON", Method: "POST", URL: "/api/v1/workflows/" + id + "/executions", Body: `{"input": }`, ExpectedStatus: 400},
		{Name: "ListExecutionsBadStatus", Method: "GET", URL: "/api/v1/executions?status=exploded", ExpectedStatus: 422},
	})
	// Nothing half-written: only the one valid workflow exists.
	resp := s.Do(t, "GET", "/api/v1/workflows", "", nil)
	var list struct{ Items []map[string]any }
	resp.JSON(t, &list)
	require.Len(t, list.Items, 1)
}

func TestRunAndInspect(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	id := create(t, s, orderFlow)["id"].(string)

	resp := s.Do(t, "POST", "/api/v1/workflows/"+id+"/executions?wait=10s", `{"input":{"total":250}}`, nil)
	require.Equal(t, 200, resp.Status, resp.Body)
	var exec struct {
		ID       string
		Status   string
		Output   map[string]any
		NodeRuns []struct {
			NodeID string
			Status string
			Port   string
		}
	}
	resp.JSON(t, &exec)
	require.Equal(t, "succeeded", exec.Status)
	require.Equal(t, map[string]any{"total": 250.0, "size": "big"}, exec.Output)
	require.Len(t, exec.NodeRuns, 4)
	require.Equal(t, "/api/v1/executions/"+exec.ID, resp.Header.Get("Location"))

	s.Run(t, []apitest.Scenario{
		{Name: "Get", Method: "GET", URL: "/api/v1/executions/" + exec.ID, ExpectedStatus: 200,
			ExpectedContent: []string{`"status":"succeeded"`, `"nodeId":"small"`, `"status":"skipped"`, `"durationMs"`}},
		{Name: "Events", Method: "GET", URL: "/api/v1/executions/" + exec.ID + "/events", ExpectedStatus: 200,
			ExpectedContent: []string{`"seq":1,"type":"execution.queued"`, `"type":"execution.finished"`}},
		{Name: "EventsAfter", Method: "GET", URL: "/api/v1/executions/" + exec.ID + "/events?after=1&limit=1", ExpectedStatus: 200,
			ExpectedContent: []string{`"seq":2`}, NotExpectedContent: []string{`"seq":3`}},
		{Name: "List", Method: "GET", URL: "/api/v1/executions?workflowId=" + id + "&status=succeeded", ExpectedStatus: 200,
			ExpectedContent: []string{exec.ID}, NotExpectedContent: []string{`"input"`}},
		{Name: "CancelFinished", Method: "POST", URL: "/api/v1/executions/" + exec.ID + "/cancel", ExpectedStatus: 409},
		{Name: "RetrySucceeded", Method: "POST", URL: "/api/v1/executions/" + exec.ID + "/retry", ExpectedStatus: 409},
	})

	// Without wait: 202 and the execution queued or already running.
	resp = s.Do(t, "POST", "/api/v1/workflows/"+id+"/executions", `{"input":{"total":1}}`, nil)
	require.Equal(t, 202, resp.Status)
	require.Contains(t, resp.Body, `"status":"queued"`)
}

func TestIdempotentRuns(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	id := create(t, s, orderFlow)["id"].(string)
	key := map[string]string{"Idempotency-Key": "order-42"}
	first := s.Do(t, "POST", "/api/v1/workflows/"+id+"/executions", `{"input":{"total":5}}`, key)
	again := s.Do(t, "POST", "/api/v1/workflows/"+id+"/executions", `{"input":{"total":5}}`, key)
	require.Equal(t, 202, first.Status)
	require.Equal(t, 202, again.Status)
	var a, b map[string]any
	first.JSON(t, &a)
	again.JSON(t, &b)
	require.Equal(t, a["id"], b["id"])
	other := s.Do(t, "POST", "/api/v1/workflows/"+id+"/executions", `{"input":{"total":6}}`, key)
	require.Equal(t, 409, other.Status)
	require.Contains(t, other.Body, "different request")
}

func TestCancelAndRetryOverHTTP(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	id := create(t, s, `{"name":"block","nodes":[{"id":"start","type":"trigger.manual"},{"id":"b","type":"test.block","config":{"key":"http-cancel"}}],
		"edges":[{"source":"start","target":"b"}]}`)["id"].(string)
	resp := s.Do(t, "POST", "/api/v1/workflows/"+id+"/executions", `{}`, nil)
	var exec map[string]any
	resp.JSON(t, &exec)
	require.Equal(t, "http-cancel", <-s.Probe.Started)
	canceled := s.Do(t, "POST", "/api/v1/executions/"+exec["id"].(string)+"/cancel", "", nil)
	require.Equal(t, 200, canceled.Status, canceled.Body)
	require.Contains(t, canceled.Body, `"status":"canceled"`)

	retried := s.Do(t, "POST", "/api/v1/executions/"+exec["id"].(string)+"/retry", "", nil)
	require.Equal(t, 202, retried.Status, retried.Body)
	require.Contains(t, retried.Body, `"retryOf":"`+exec["id"].(string)+`"`)
	require.Equal(t, "http-cancel", <-s.Probe.Started)
	s.Probe.ReleaseAll()
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	sync := create(t, s, `{"name":"hook","nodes":[
		{"id":"hook","type":"trigger.webhook","config":{"path":"orders/new","method":"POST"}},
		{"id":"reply","type":"data.transform","config":{"expression":"{{ {received: input.body?.id, agent: input.headers['user-agent'] != nil, q: input.query.src} }}"}}],
		"edges":[{"source":"hook","target":"reply"}]}`)["id"].(string)
	async := create(t, s, `{"name":"hook-async","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"/async/","respond":"immediately"}}]}`)["id"].(string)
	failing := create(t, s, `{"name":"hook-fail","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"fails"}},
		{"id":"boom","type":"flow.fail","config":{"message":"no stock"}}],"edges":[{"source":"hook","target":"boom"}]}`)["id"].(string)
	clash := create(t, s, `{"name":"clash","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"orders/new"}}]}`)["id"].(string)

	s.Run(t, []apitest.Scenario{
		{Name: "InactiveIs404", Method: "POST", URL: "/hooks/orders/new", Body: `{"id":1}`, ExpectedStatus: 404},
		{Name: "Activate", Method: "POST", URL: "/api/v1/workflows/" + sync + "/activate", ExpectedStatus: 200},
		{Name: "ActivateAsync", Method: "POST", URL: "/api/v1/workflows/" + async + "/activate", ExpectedStatus: 200},
		{Name: "ActivateFailing", Method: "POST", URL: "/api/v1/workflows/" + failing + "/activate", ExpectedStatus: 200},
		{Name: "ActivateClash", Method: "POST", URL: "/api/v1/workflows/" + clash + "/activate", ExpectedStatus: 409,
			ExpectedContent: []string{"orders/new", sync}},
		{Name: "RespondOnCompletion", Method: "POST", URL: "/hooks/orders/new?src=shop", Body: `{"id":42}`, ExpectedStatus: 200,
			ExpectedContent: []string{`"received":42`, `"agent":true`, `"q":"shop"`}},
		{Name: "EncodedSlash", Method: "POST", URL: "/hooks/orders%2Fnew", Body: `{"id":7}`, ExpectedStatus: 200,
			ExpectedContent: []string{`"received":7`}},
		{Name: "WrongMethod", Method: "GET", URL: "/hooks/orders/new", ExpectedStatus: 404},
		{Name: "BadJSON", Method: "POST", URL: "/hooks/orders/new", Body: `{"id":`, ExpectedStatus: 400, ExpectedContent: []string{"not valid JSON"}},
		{Name: "Immediately", Method: "POST", URL: "/hooks/async", Body: `{}`, ExpectedStatus: 202, ExpectedContent: []string{`"executionId"`}},
		{Name: "FailedRun", Method: "POST", URL: "/hooks/fails", Body: `{}`, ExpectedStatus: 502,
			ExpectedContent: []string{"no stock", "urn:concertmaster:problem:execution-failed"}},
	})
	// A text body arrives as a string.
	resp := s.Do(t, "POST", "/hooks/orders/new", "", map[string]string{"Content-Type": "text/plain"})
	require.Equal(t, 200, resp.Status, resp.Body)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.NotEmpty(t, resp.Header.Get("X-Execution-ID"))
	require.True(t, json.Valid([]byte(resp.Body)))
}
