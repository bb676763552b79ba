package api_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

// TestEveryAnswerIsAProblem covers the answers no operation's handler writes: unknown paths,
// methods a path does not serve, paths that are not canonical, bodies that are not JSON. With a web
// app mounted, every one under /api/ and /hooks/ is still a problem document with a stable type.
func TestEveryAnswerIsAProblem(t *testing.T) {
	t.Parallel()
	ui := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html>app</html>"))
	})
	s := apitest.StartWith(t, enginetest.Options{}, func(c *api.Config) { c.UI = ui })
	fourMiB := `{"name":"` + strings.Repeat("x", 4<<20-100) // just under the 4 MiB body limit

	s.Run(t, []apitest.Scenario{
		{Name: "UnknownAPIPath", Method: "GET", URL: "/api/v1/nothing", ExpectedStatus: 404,
			ExpectedContent: []string{"urn:concertmaster:problem:not-found"}, NotExpectedContent: []string{"<html>"}},
		{Name: "UnknownAPIRoot", Method: "GET", URL: "/api/", ExpectedStatus: 404, ExpectedContent: []string{"urn:concertmaster:problem:not-found"}},
		{Name: "TrailingSlash", Method: "GET", URL: "/api/v1/workflows/", ExpectedStatus: 404},
		{Name: "NoOtherFormats", Method: "GET", URL: "/healthz", Headers: map[string]string{"Accept": "application/xml"}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"Content-Type": "application/json"}},
		{Name: "Head", Method: "HEAD", URL: "/api/v1/workflows", ExpectedStatus: 200},
		{Name: "UnknownHookRoot", Method: "POST", URL: "/hooks", ExpectedStatus: 404},
		{Name: "WebApp", Method: "GET", URL: "/workflows/0193/edit", ExpectedStatus: 200, ExpectedContent: []string{"<html>app</html>"}},
		{Name: "MethodNotAllowed", Method: "PATCH", URL: "/api/v1/workflows", ExpectedStatus: 405,
			ExpectedContent: []string{"urn:concertmaster:problem:method-not-allowed"}, ExpectedHeaders: map[string]string{"Allow": "GET, HEAD, POST"}},
		{Name: "MethodNotAllowedOnItem", Method: "POST", URL: "/api/v1/workflows/abc", ExpectedStatus: 405,
			ExpectedHeaders: map[string]string{"Allow": "GET, HEAD, PUT, DELETE"}},
		{Name: "MethodNotAllowedOnHealth", Method: "DELETE", URL: "/healthz", ExpectedStatus: 405, ExpectedHeaders: map[string]string{"Allow": "GET, HEAD"}},
		{Name: "MethodNotAllowedOnHook", Method: "OPTIONS", URL: "/hooks/orders/new", ExpectedStatus: 405,
			ExpectedHeaders: map[string]string{"Allow": "GET, HEAD, POST, PUT, PATCH, DELETE"}},
		{Name: "DoubleSlash", Method: "GET", URL: "/api/v1//workflows", ExpectedStatus: 404, ExpectedContent: []string{"empty or dot segments"}},
		{Name: "DotSegments", Method: "POST", URL: "/hooks/a/../b", Body: `{}`, ExpectedStatus: 404},
		{Name: "EncodedDotSegments", Method: "POST", URL: "/hooks/a%2F..%2Fb", Body: `{}`, ExpectedStatus: 404},
		{Name: "NotJSON", Method: "POST", URL: "/api/v1/workflows", Body: `name: x`, Headers: map[string]string{"Content-Type": "text/plain"},
			ExpectedStatus: 415, ExpectedContent: []string{"urn:concertmaster:problem:unsupported-media-type", "application/json"}},
		{Name: "MalformedJSON", Method: "POST", URL: "/api/v1/workflows", Body: `{"name":`, ExpectedStatus: 400,
			ExpectedContent: []string{"urn:concertmaster:problem:bad-request", "not valid JSON", `"location":""`}},
		{Name: "FourMiBMalformed", Method: "POST", URL: "/api/v1/workflows", Body: fourMiB, ExpectedStatus: 400},
		{Name: "OverTheLimit", Method: "POST", URL: "/api/v1/workflows", Body: fourMiB + strings.Repeat("x", 200), ExpectedStatus: 413,
			ExpectedContent: []string{"over the 4194304-byte limit"}},
		{Name: "FourMiBNotJSON", Method: "POST", URL: "/api/v1/workflows", Body: fourMiB, Headers: map[string]string{"Content-Type": "text/plain"},
			ExpectedStatus: 415},
	})

	// Error answers quote at most a short excerpt of what the client sent.
	for _, tc := range []struct {
		name, body, contentType string
		status                  int
	}{
		{"Malformed", fourMiB, "application/json", 400},
		{"NotJSON", fourMiB, "text/plain", 415},
		{"WrongTypes", `{"name":5,"description":"` + strings.Repeat("d", 1<<20) + `","nodes":"` + strings.Repeat("n", 2<<20) + `"}`, "application/json", 422},
	} {
		resp := s.Do(t, "POST", "/api/v1/workflows", tc.body, map[string]string{"Content-Type": tc.contentType})
		require.Equal(t, tc.status, resp.Status, tc.name)
		require.Less(t, len(resp.Body), 2048, "%s: the answer echoes the request: %s", tc.name, resp.Body[:min(len(resp.Body), 300)])
	}
}

// TestErrorLocations checks that every error detail carries a JSON pointer: into the body for body
// fields (required ones too), /path/…, /query/… and /header/… for parameters.
func TestErrorLocations(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := create(t, s, orderFlow)
	id := w["id"].(string)
	manyBadNodes := make([]string, 1500)
	for i := range manyBadNodes {
		manyBadNodes[i] = fmt.Sprintf(`{"id":"n%d","type":"magic.wand"}`, i)
	}

	s.Run(t, []apitest.Scenario{
		{Name: "MissingName", Method: "POST", URL: "/api/v1/workflows", Body: `{"nodes":[]}`, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/name","message":"name is required"`}},
		{Name: "MissingNodeID", Method: "POST", URL: "/api/v1/workflows", Body: `{"name":"x","nodes":[{"type":"data.set"}]}`, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/nodes/0/id"`}},
		{Name: "MissingEdgeTarget", Method: "POST", URL: "/api/v1/workflows/validate", Body: `{"name":"x","nodes":[],"edges":[{"source":"a"}]}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/edges/0/target"`}},
		{Name: "NotAnObject", Method: "POST", URL: "/api/v1/workflows", Body: `[1,2]`, ExpectedStatus: 422, ExpectedContent: []string{`"location":""`}},
		{Name: "QueryEnum", Method: "GET", URL: "/api/v1/executions?status=exploded", ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/query/status"`, `"value":"exploded"`}},
		{Name: "QueryType", Method: "GET", URL: "/api/v1/executions/x/events?after=soon", ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/query/after"`}},
		{Name: "PathTooLong", Method: "GET", URL: "/api/v1/workflows/" + strings.Repeat("a", 65), ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/path/id"`}},
		{Name: "HeaderTooLong", Method: "POST", URL: "/api/v1/workflows/" + id + "/executions", Body: `{}`,
			Headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/header/Idempotency-Key"`}},
		{Name: "ManyProblemsAreCapped", Method: "POST", URL: "/api/v1/workflows/validate", ExpectedStatus: 422,
			Body:            `{"name":"x","nodes":[` + strings.Join(manyBadNodes, ",") + `]}`,
			ExpectedContent: []string{`"location":"/nodes/99/type"`, "more problems are not listed"}, NotExpectedContent: []string{`"/nodes/100/type"`}},
	})
}

// TestTextNoStoreCanHold sends NUL characters and invalid UTF-8 in every kind of parameter, on both
// stores: each is refused with a 422 naming the parameter, never a 500.
func TestTextNoStoreCanHold(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			s := apitest.Start(t, backend.opts)
			id := create(t, s, orderFlow)["id"].(string)
			hook := create(t, s, `{"name":"hook","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"in"}}]}`)["id"].(string)
			require.Equal(t, 200, s.Do(t, "POST", "/api/v1/workflows/"+hook+"/activate", "", nil).Status)

			s.Run(t, []apitest.Scenario{
				{Name: "PathID", Method: "GET", URL: "/api/v1/workflows/a%00b", ExpectedStatus: 422, ExpectedContent: []string{`"location":"/path/id"`, "NUL"}},
				{Name: "PathIDUTF8", Method: "GET", URL: "/api/v1/executions/%FF", ExpectedStatus: 422, ExpectedContent: []string{`"location":"/path/id"`, "UTF-8"}},
				{Name: "PathVersionsID", Method: "GET", URL: "/api/v1/workflows/%00/versions", ExpectedStatus: 422},
				{Name: "QueryName", Method: "GET", URL: "/api/v1/workflows?name=%00", ExpectedStatus: 422, ExpectedContent: []string{`"location":"/query/name"`}},
				{Name: "QueryWorkflowID", Method: "GET", URL: "/api/v1/executions?workflowId=%00", ExpectedStatus: 422,
					ExpectedContent: []string{`"location":"/query/workflowId"`}},
				{Name: "QueryCursor", Method: "GET", URL: "/api/v1/executions?cursor=%00", ExpectedStatus: 422, ExpectedContent: []string{`"location":"/query/cursor"`}},
				{Name: "CursorHoldingNUL", Method: "GET", URL: "/api/v1/executions?cursor=ZXx4AHk", ExpectedStatus: 422},
				{Name: "WorkflowCursorHoldingNUL", Method: "GET", URL: "/api/v1/workflows?cursor=MXx4AHk", ExpectedStatus: 422},
				{Name: "HeaderIdempotencyKey", Method: "POST", URL: "/api/v1/workflows/" + id + "/executions", Body: `{}`,
					Headers: map[string]string{"Idempotency-Key": "k\xff"}, ExpectedStatus: 422, ExpectedContent: []string{`"location":"/header/Idempotency-Key"`}},
				{Name: "HookPath", Method: "POST", URL: "/hooks/in%00", Body: `{}`, ExpectedStatus: 422, ExpectedContent: []string{`"location":"/path/path"`}},
				{Name: "HookQuery", Method: "POST", URL: "/hooks/in?x=%00", Body: `{}`, ExpectedStatus: 422, ExpectedContent: []string{`"location":"/query/x"`}},
				{Name: "WorkflowName", Method: "POST", URL: "/api/v1/workflows", Body: `{"name":"a\u0000b","nodes":[]}`, ExpectedStatus: 422,
					ExpectedContent: []string{`"location":"/name"`, "NUL"}},
				{Name: "WorkflowDescription", Method: "POST", URL: "/api/v1/workflows", Body: `{"name":"x","description":"\u0000","nodes":[]}`,
					ExpectedStatus: 422, ExpectedContent: []string{`"location":"/description"`}},
				{Name: "TriggerNode", Method: "POST", URL: "/api/v1/workflows/" + id + "/executions", Body: `{"triggerNode":"\u0000"}`,
					ExpectedStatus: 422, ExpectedContent: []string{`"location":"/triggerNode"`}},
				// JSON values are stored as JSON, where a NUL is the escape \u0000: they round-trip.
				{Name: "InputHoldingNUL", Method: "POST", URL: "/api/v1/workflows/" + id + "/executions?wait=10s", Body: `{"input":{"total":500,"note":"a\u0000b"}}`,
					ExpectedStatus: 200, ExpectedContent: []string{`"note":"a\u0000b"`, `"status":"succeeded"`}},
				{Name: "HookBodyHoldingNUL", Method: "POST", URL: "/hooks/in", Body: `{"x":"\u0000"}`, ExpectedStatus: 200,
					ExpectedContent: []string{`"x":"\u0000"`}},
			})
		})
	}
}

// TestIfMatchIsStrong checks RFC 9110's If-Match: a weak tag never matches, a list matches when it
// names the current version.
func TestIfMatchIsStrong(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	id := create(t, s, orderFlow)["id"].(string)
	url := "/api/v1/workflows/" + id
	s.Run(t, []apitest.Scenario{
		{Name: "Weak", Method: "PUT", URL: url, Body: orderFlow, Headers: map[string]string{"If-Match": `W/"1"`}, ExpectedStatus: 412,
			ExpectedContent: []string{"weak"}},
		{Name: "Unquoted", Method: "PUT", URL: url, Body: orderFlow, Headers: map[string]string{"If-Match": `1`}, ExpectedStatus: 412},
		{Name: "ListWithoutCurrent", Method: "PUT", URL: url, Body: orderFlow, Headers: map[string]string{"If-Match": `"7", W/"1"`}, ExpectedStatus: 412,
			ExpectedContent: []string{"not 7", "reload the workflow"}},
		{Name: "ListOfWeakOnes", Method: "PUT", URL: url, Body: orderFlow, Headers: map[string]string{"If-Match": `W/"1", W/"2"`}, ExpectedStatus: 412,
			ExpectedContent: []string{"only weak"}},
		{Name: "ListNotNamingCurrent", Method: "PUT", URL: url, Body: orderFlow, Headers: map[string]string{"If-Match": `"7", "8"`}, ExpectedStatus: 412,
			ExpectedContent: []string{"does not list"}},
		{Name: "ListWithCurrent", Method: "PUT", URL: url, Body: orderFlow, Headers: map[string]string{"If-Match": `"7", "1"`}, ExpectedStatus: 200,
			ExpectedHeaderPatterns: map[string]string{"ETag": `^"2-[0-9a-f]{16}"$`}},
		{Name: "Strong", Method: "PUT", URL: url, Body: orderFlow, Headers: map[string]string{"If-Match": `"2"`}, ExpectedStatus: 200},
	})
}

type backend struct {
	name string
	opts enginetest.Options
}

// backends returns the stores API tests that touch storage limits run on: SQLite, and PostgreSQL
// when CM_TEST_DATABASE_URL is set (make test and CI always set it).
func backends(t *testing.T) []backend {
	t.Helper()
	out := []backend{{name: "SQLite"}}
	if u := os.Getenv("CM_TEST_DATABASE_URL"); u != "" {
		out = append(out, backend{name: "PostgreSQL", opts: enginetest.Options{PostgresURL: u}})
	}
	return out
}
