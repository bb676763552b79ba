package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

type evalResult struct {
	Value     any
	Type      string
	Truncated bool
	Error     *struct {
		Message  string
		Position *struct{ Start, End int }
	}
}

func evaluate(t *testing.T, s *apitest.Server, body any, headers map[string]string) (*apitest.Response, evalResult) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	r := s.Do(t, http.MethodPost, "/api/v1/expressions/evaluate", string(b), headers)
	var out evalResult
	if r.Status == http.StatusOK {
		r.JSON(t, &out)
	}
	return r, out
}

// TestEvaluateExpression previews expressions against a finished run, as the engine gave its data to
// each node, and against explicit context.
func TestEvaluateExpression(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, `{"name":"orders","settings":{"vars":{"region":"eu"}},
		"nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"enrich","type":"data.set","config":{"fields":{"vip":"{{ input.total > 100 }}"},"keepInput":true}},
		{"id":"tail","type":"data.set","config":{"fields":{"n":1}}}],
		"edges":[{"source":"start","target":"enrich"},{"source":"enrich","target":"tail"}]}`)
	exec := s.Env.Run(t, w.ID, `{"total":150,"customer":"ada","tags":["a","b"]}`)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	run := map[string]any{"workflowId": w.ID, "executionId": exec.ID}
	with := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range run {
			out[k] = v
		}
		for k, v := range m {
			out[k] = v
		}
		return out
	}

	tests := []struct {
		name      string
		body      map[string]any
		wantValue any
		wantType  string
		wantError string
		// wantOneOf: the error says one of these (which budget stops a loop first depends on the build).
		wantOneOf []string
	}{
		{name: "Builtin", body: with(map[string]any{"expression": "{{ upper(input.customer) }}", "nodeId": "enrich"}), wantValue: "ADA", wantType: "string"},
		{name: "ContextOverrides", body: map[string]any{"expression": "{{ item * 2 + index }}", "context": map[string]any{"item": 20, "index": 2}}, wantValue: float64(42), wantType: "number"},
		{name: "EvalError", body: with(map[string]any{"expression": "{{ input.nope.deeper }}", "nodeId": "enrich"}), wantError: "input.nope is null, so .deeper cannot be read from it"},
		{name: "Execution", body: with(map[string]any{"expression": "{{ execution.trigger }}/{{ workflow.name }}", "nodeId": "tail"}), wantValue: "manual/orders", wantType: "string"},
		{name: "Incomplete", body: with(map[string]any{"expression": "{{ input.", "nodeId": "enrich"}), wantError: "the expression after {{ is incomplete: input. needs a field name"},
		{name: "InputFromUpstream", body: with(map[string]any{"expression": "{{ input.vip }}", "nodeId": "tail"}), wantValue: true, wantType: "boolean"},
		{name: "NodeOutput", body: with(map[string]any{"expression": "{{ nodes.enrich.output.total }}", "nodeId": "tail"}), wantValue: float64(150), wantType: "number"},
		{name: "NodeNotYetRun", body: with(map[string]any{"expression": "{{ input.total }}", "nodeId": "fresh"}), wantValue: float64(150), wantType: "number"},
		{name: "Object", body: with(map[string]any{"expression": "{{ input }}", "nodeId": "enrich"}), wantType: "object"},
		{name: "PlainText", body: map[string]any{"expression": "no braces"}, wantValue: "no braces", wantType: "string"},
		{name: "SizeBudget", body: map[string]any{"expression": `{{ repeat("x", 100000000) }}`}, wantError: "repeat would build"},
		{name: "TimeBudget", body: map[string]any{"expression": "{{ reduce(1..5000, reduce(1..5000, #acc + 1, 0), 0) }}"}, wantOneOf: []string{"ran past its time budget", "too many elements"}},
		{name: "TooManyElements", body: map[string]any{"expression": "{{ reduce(1..100000000, #acc + 1, 0) }}"}, wantError: "too many elements"},
		{name: "Trigger", body: with(map[string]any{"expression": "{{ len(trigger.tags) }}"}), wantValue: float64(2), wantType: "number"},
		{name: "UnknownName", body: map[string]any{"expression": "a {{ secrets.key }}"}, wantError: "unknown name secrets"},
		{name: "Vars", body: with(map[string]any{"expression": "{{ vars.region }}"}), wantValue: "eu", wantType: "string"},
		{name: "VarsFromWorkflowOnly", body: map[string]any{"workflowId": w.ID, "expression": "{{ vars.region + workflow.name }}"}, wantValue: "euorders", wantType: "string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A budget stops the slow and huge cases (their errors say which): the assertions are on
			// the answer, not the wall clock, which a loaded -race run stretches several-fold.
			r, got := evaluate(t, s, tt.body, nil)
			require.Equal(t, http.StatusOK, r.Status, r.Body)
			if len(tt.wantOneOf) > 0 {
				require.NotNil(t, got.Error, r.Body)
				require.True(t, strings.Contains(got.Error.Message, tt.wantOneOf[0]) || strings.Contains(got.Error.Message, tt.wantOneOf[1]), got.Error.Message)
				return
			}
			if tt.wantError != "" {
				require.NotNil(t, got.Error, r.Body)
				require.Contains(t, got.Error.Message, tt.wantError)
				require.Nil(t, got.Value)
				return
			}
			require.Nil(t, got.Error, r.Body)
			require.Equal(t, tt.wantType, got.Type)
			if tt.wantValue != nil {
				require.Equal(t, tt.wantValue, got.Value)
			}
		})
	}

	t.Run("ErrorPosition", func(t *testing.T) {
		t.Parallel()
		// Positions count UTF-16 code units, as the editor does.
		_, got := evaluate(t, s, map[string]any{"expression": "é😀 {{ 1 }} {{ input. }} tail"}, nil)
		require.NotNil(t, got.Error)
		require.NotNil(t, got.Error.Position)
		require.Equal(t, 12, got.Error.Position.Start)
		require.Equal(t, 24, got.Error.Position.End)
	})
	t.Run("Truncated", func(t *testing.T) {
		t.Parallel()
		_, got := evaluate(t, s, map[string]any{"expression": `{{ repeat("ab", 100000) }}`}, nil)
		require.True(t, got.Truncated)
		require.Less(t, len(got.Value.(string)), 70_000)
	})
}

func TestEvaluateExpressionRequests(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, `{"name":"w","nodes":[{"id":"start","type":"trigger.manual"}]}`)
	other := s.Save(t, `{"name":"other","nodes":[{"id":"start","type":"trigger.manual"}]}`)
	exec := s.Env.Run(t, w.ID, `{"a":1}`)
	viewerToken := s.AddMember(t, "viewer@example.com", "viewer")
	editorToken := s.AddMember(t, "editor@example.com", "editor")
	foreign, _ := s.OtherTenant(t, "foreign@example.com")
	url := "/api/v1/expressions/evaluate"
	s.Run(t, []apitest.Scenario{
		{Name: "Editor", Method: "POST", URL: url, Body: `{"expression":"{{ 1 + 1 }}"}`, Headers: map[string]string{"Authorization": "Bearer " + editorToken},
			ExpectedStatus: 200, ExpectedContent: []string{`"value":2`, `"type":"number"`}},
		{Name: "ExecutionOfOtherWorkflow", Method: "POST", URL: url, Body: `{"expression":"{{ 1 }}","workflowId":"` + other.ID + `","executionId":"` + exec.ID + `"}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/executionId"`}},
		{Name: "ForeignTenantExecution", Method: "POST", URL: url, Body: `{"expression":"{{ input }}","executionId":"` + exec.ID + `"}`,
			Headers: map[string]string{"Authorization": "Bearer " + foreign}, ExpectedStatus: 404, ExpectedContent: []string{`"location":"/executionId"`}, NotExpectedContent: []string{`"a":1`}},
		{Name: "ForeignTenantWorkflow", Method: "POST", URL: url, Body: `{"expression":"{{ vars }}","workflowId":"` + w.ID + `"}`,
			Headers: map[string]string{"Authorization": "Bearer " + foreign}, ExpectedStatus: 404, ExpectedContent: []string{`"location":"/workflowId"`}},
		{Name: "Functions", Method: "GET", URL: "/api/v1/expressions/functions", Headers: map[string]string{"Authorization": "Bearer " + viewerToken},
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"filter"`, `"signature":"upper(s string) string"`, `"name":"sha256"`, `"own":true`}},
		{Name: "MissingExpression", Method: "POST", URL: url, Body: `{}`, ExpectedStatus: 422, ExpectedContent: []string{`"location":"/expression"`}},
		{Name: "NotJSON", Method: "POST", URL: url, Body: `{"expression":`, ExpectedStatus: 400},
		{Name: "TooBig", Method: "POST", URL: url, Body: `{"expression":"x","context":{"input":"` + strings.Repeat("x", 2<<20) + `"}}`, ExpectedStatus: 413},
		{Name: "TooLongExpression", Method: "POST", URL: url, Body: `{"expression":"` + strings.Repeat("x", 70_000) + `"}`, ExpectedStatus: 422, ExpectedContent: []string{`"location":"/expression"`}},
		{Name: "UnknownExecution", Method: "POST", URL: url, Body: `{"expression":"{{ input }}","executionId":"nope"}`, ExpectedStatus: 404, ExpectedContent: []string{`"location":"/executionId"`}},
		{Name: "Viewer", Method: "POST", URL: url, Body: `{"expression":"{{ 1 }}"}`, Headers: map[string]string{"Authorization": "Bearer " + viewerToken}, ExpectedStatus: 403},
	})
}
