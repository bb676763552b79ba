package jscode_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// TestWorkflow runs code.javascript inside workflows: the engine leaves its code alone ({{ is
// JavaScript text), hands it every upstream node and the workflow's vars, keeps its console output in
// the node's logs, and reports a syntax error when the workflow is saved.
func TestWorkflow(t *testing.T) {
	t.Parallel()

	t.Run("ReadsUpstreamNodesAndVars", func(t *testing.T) {
		t.Parallel()
		env := enginetest.Start(t, enginetest.Options{})
		w := env.Save(t, `{"name":"code","settings":{"vars":{"rate":0.5}},"nodes":[
			{"id":"start","type":"trigger.manual"},
			{"id":"prices","type":"data.set","config":{"fields":{"prices":[10, 20]}}},
			{"id":"other","type":"data.set","config":{"fields":{"x":1}}},
			{"id":"sum","type":"code.javascript","config":{"code":"console.log('summing', input.prices.length);\nconst total = nodes.prices.output.prices.reduce((a, b) => a + b, 0);\nreturn {total, discounted: total * vars.rate, template: '{{ input.x }}', seen: Object.keys(nodes).sort(), user: trigger.user, node: execution.nodeId}"}}],
			"edges":[{"source":"start","target":"prices"},{"source":"start","target":"other"},{"source":"prices","target":"sum"}]}`)
		exec := env.Run(t, w.ID, `{"user":"ada"}`)
		require.Equal(t, workflow.ExecutionSucceeded, exec.Status, "%+v", exec.Error)
		runs := env.Runs(t, exec.ID)
		require.JSONEq(t, `{"total":30,"discounted":15,"template":"{{ input.x }}","seen":["prices","start"],"user":"ada","node":"sum"}`, string(runs["sum"].Output))
		require.NotEmpty(t, runs["sum"].Logs)
		require.Equal(t, "summing 2", runs["sum"].Logs[0].Message)
	})

	t.Run("ScriptErrorFailsTheRun", func(t *testing.T) {
		t.Parallel()
		env := enginetest.Start(t, enginetest.Options{})
		w := env.Save(t, `{"name":"code","nodes":[
			{"id":"start","type":"trigger.manual"},
			{"id":"code","type":"code.javascript","config":{"code":"const a = input.missing;\nreturn a.b"}}],
			"edges":[{"source":"start","target":"code"}]}`)
		exec := env.Run(t, w.ID, `{}`)
		require.Equal(t, workflow.ExecutionFailed, exec.Status)
		run := env.Runs(t, exec.ID)["code"]
		require.Equal(t, "script_error", run.Error.Code)
		require.Contains(t, run.Error.Message, "TypeError: Cannot read property 'b' of undefined (line 2, column")
		require.Equal(t, 1, run.Attempt, "not retried")
	})

	t.Run("SyntaxErrorAtSave", func(t *testing.T) {
		t.Parallel()
		env := enginetest.Start(t, enginetest.Options{})
		def, err := workflow.DecodeBytes([]byte(`{"name":"code","nodes":[
			{"id":"start","type":"trigger.manual"},
			{"id":"code","type":"code.javascript","config":{"code":"const s = '{{ x }}';\nreturn s +"}}],
			"edges":[{"source":"start","target":"code"}]}`))
		require.NoError(t, err)
		_, err = env.Service.CreateWorkflow(context.Background(), store.DefaultTenant, def)
		var verrs workflow.ValidationErrors
		require.True(t, errors.As(err, &verrs), "%v", err)
		require.Len(t, verrs, 1)
		require.Equal(t, "/nodes/1/config/code", verrs[0].Pointer)
		require.Contains(t, verrs[0].Message, "syntax error at line 2, column 11: unexpected end of code")
	})
}

// TestExample runs examples/code-javascript.json as the README shows it.
func TestExample(t *testing.T) {
	t.Parallel()
	def, err := os.ReadFile("../../../examples/code-javascript.json")
	require.NoError(t, err)
	env := enginetest.Start(t, enginetest.Options{})
	w := env.Save(t, string(def))
	exec := env.Run(t, w.ID, `{"orders": [{"customer": "ada", "qty": 2, "price": 5}, {"customer": "bob", "qty": 1, "price": 3}, {"customer": "ada", "qty": 1, "price": 1}]}`)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status, "%+v", exec.Error)
	require.Equal(t, []any{
		map[string]any{"rank": 1.0, "customer": "ada", "net": 11.0, "gross": 13.2, "label": "ada: 13.20"},
		map[string]any{"rank": 2.0, "customer": "bob", "net": 3.0, "gross": 3.6, "label": "bob: 3.60"},
	}, enginetest.Output(t, exec))
	require.Equal(t, "customers: 2", env.Runs(t, exec.ID)["totals"].Logs[0].Message)
}
