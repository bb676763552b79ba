package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

// TestWebhookBodies sends a webhook every kind of body and checks what the workflow receives (it
// answers with the body and the query it was given), and that a body too large, a JSON body with
// trailing data and a malformed form are refused with a problem. Every answer is checked against the
// OpenAPI document.
func TestWebhookBodies(t *testing.T) {
	t.Parallel()
	s := apitest.StartWith(t, enginetest.Options{}, func(c *api.Config) { c.MaxWebhookBytes = 1024 })
	id := create(t, s, `{"name":"echo","nodes":[
		{"id":"hook","type":"trigger.webhook","config":{"path":"echo"}},
		{"id":"echo","type":"data.set","config":{"fields":{"body":"{{ input.body }}","query":"{{ input.query }}"}}}],
		"edges":[{"source":"hook","target":"echo"}]}`)["id"].(string)
	resp := s.Do(t, http.MethodPost, "/api/v1/workflows/"+id+"/activate", "", nil)
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)

	ct := func(v string) map[string]string { return map[string]string{"Content-Type": v} }
	s.Run(t, []apitest.Scenario{
		{Name: "JSON", Method: http.MethodPost, URL: "/hooks/echo", Body: `{"id":7}`, ExpectedStatus: http.StatusOK,
			ExpectedContent: []string{`"body":{"id":7}`, `"query":{}`}},
		{Name: "JSONSuffix", Method: http.MethodPost, URL: "/hooks/echo", Body: `[1,2]`, Headers: ct("application/vnd.api+json"),
			ExpectedStatus: http.StatusOK, ExpectedContent: []string{`"body":[1,2]`}},
		{Name: "Form", Method: http.MethodPost, URL: "/hooks/echo?t=1&t=2&u=x", Body: "a=1&a=2&b=x+y", Headers: ct("application/x-www-form-urlencoded"),
			ExpectedStatus: http.StatusOK, ExpectedContent: []string{`"body":{"a":["1","2"],"b":"x y"}`, `"query":{"t":["1","2"],"u":"x"}`}},
		{Name: "Text", Method: http.MethodPost, URL: "/hooks/echo", Body: "hello, world", Headers: ct("text/plain; charset=utf-8"),
			ExpectedStatus: http.StatusOK, ExpectedContent: []string{`"body":"hello, world"`}},
		{Name: "Empty", Method: http.MethodPost, URL: "/hooks/echo", ExpectedStatus: http.StatusOK, ExpectedContent: []string{`"body":null`}},
		{Name: "JSONWithTrailingData", Method: http.MethodPost, URL: "/hooks/echo", Body: `{"a":1} {"b":2}`, ExpectedStatus: http.StatusBadRequest,
			ExpectedContent: []string{"webhook body is not valid JSON: unexpected data after the value"}},
		{Name: "BrokenJSON", Method: http.MethodPost, URL: "/hooks/echo", Body: `{"a":`, ExpectedStatus: http.StatusBadRequest,
			ExpectedContent: []string{"webhook body is not valid JSON"}},
		{Name: "MalformedForm", Method: http.MethodPost, URL: "/hooks/echo", Body: "a=%zz", Headers: ct("application/x-www-form-urlencoded"),
			ExpectedStatus: http.StatusBadRequest, ExpectedContent: []string{"webhook form body is malformed"}},
		{Name: "TooLarge", Method: http.MethodPost, URL: "/hooks/echo", Body: `{"pad":"` + strings.Repeat("x", 2000) + `"}`,
			ExpectedStatus: http.StatusRequestEntityTooLarge, ExpectedContent: []string{"webhook body is over the 1024-byte limit"}},
		{Name: "WrongMethod", Method: http.MethodPut, URL: "/hooks/echo", Body: `{}`, ExpectedStatus: http.StatusNotFound,
			ExpectedContent: []string{"no active workflow listens on PUT /hooks/echo"}},
	})
}
