package service_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/nodes/core"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// activate saves and activates a workflow.
func activate(t *testing.T, env *enginetest.Env, defJSON string) *store.Workflow {
	t.Helper()
	w := env.Save(t, defJSON)
	w, err := env.Service.SetActive(context.Background(), tenant, w.ID, true)
	require.NoError(t, err)
	return w
}

func TestHandleWebhook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{})
	hook := activate(t, env, hookFlow)
	activate(t, env, `{"name":"immediate","nodes":[
		{"id":"hook","type":"trigger.webhook","config":{"path":"later","method":"PUT","respond":"immediately"}},
		{"id":"echo","type":"data.transform","config":{"expression":"{{ input.query }}"}}],
		"edges":[{"source":"hook","target":"echo"}]}`)
	activate(t, env, `{"name":"slow","nodes":[
		{"id":"hook","type":"trigger.webhook","config":{"path":"slow"}},
		{"id":"hold","type":"test.block","config":{"key":"hold"}}],
		"edges":[{"source":"hook","target":"hold"}]}`)
	env.Save(t, `{"name":"off","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"off"}}]}`)

	t.Run("OnCompletion", func(t *testing.T) {
		t.Parallel()
		exec, respond, finished, err := env.Service.HandleWebhook(ctx, service.WebhookRequest{
			Method: "post", Path: "/orders/new/",
			Headers: map[string]any{"content-type": "application/json", "authorization": "Bearer s3cret", "x-shop-key": "k", "x-request-id": "r1"},
			Query:   map[string]any{"src": "test"},
			Body:    map[string]any{"id": 7.0},
		}, 20*time.Second)
		require.NoError(t, err)
		require.Equal(t, core.RespondOnCompletion, respond)
		require.True(t, finished)
		require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
		require.Equal(t, hook.ID, exec.WorkflowID)
		require.Equal(t, store.TriggerWebhook, exec.TriggerKind)
		require.Equal(t, "hook", exec.TriggerNode)
		require.JSONEq(t, `{"id":7}`, string(exec.Output))
		// The stored request: method upper-cased, path normalized, credentials and the trigger's
		// extra header redacted, the rest as sent.
		require.JSONEq(t, `{"method":"POST","path":"orders/new",
			"headers":{"content-type":"application/json","authorization":"[redacted]","x-shop-key":"[redacted]","x-request-id":"r1"},
			"query":{"src":"test"},"body":{"id":7}}`, string(exec.Input))
	})
	t.Run("Immediately", func(t *testing.T) {
		t.Parallel()
		exec, respond, finished, err := env.Service.HandleWebhook(ctx, service.WebhookRequest{
			Method: "PUT", Path: "later", Query: map[string]any{"a": "1"},
		}, 20*time.Second)
		require.NoError(t, err)
		require.Equal(t, core.RespondImmediately, respond)
		require.False(t, finished, "answered before the run")
		done := env.Wait(t, exec.ID)
		require.JSONEq(t, `{"a":"1"}`, string(done.Output))
	})
	t.Run("OnCompletionTimesOut", func(t *testing.T) {
		t.Parallel()
		exec, respond, finished, err := env.Service.HandleWebhook(ctx, service.WebhookRequest{Method: "POST", Path: "slow"}, 50*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, core.RespondOnCompletion, respond)
		require.False(t, finished)
		require.False(t, exec.Status.Terminal())
		env.Probe.ReleaseAll()
		require.Equal(t, workflow.ExecutionSucceeded, env.Wait(t, exec.ID).Status)
	})
	t.Run("UnknownRoutes", func(t *testing.T) {
		t.Parallel()
		for _, req := range []service.WebhookRequest{
			{Method: "POST", Path: "nowhere"},
			{Method: "GET", Path: "orders/new"}, // the route is POST
			{Method: "POST", Path: "orders"},
			{Method: "POST", Path: "off"}, // the workflow is not active
		} {
			_, _, _, err := env.Service.HandleWebhook(ctx, req, time.Second)
			require.ErrorIs(t, err, store.ErrNotFound, "%s %s", req.Method, req.Path)
		}
	})
}

// TestHandleWebhookVersionThatNoLongerCompiles: a route whose version no longer compiles answers
// with the reason and stores nothing, credentials least of all.
func TestHandleWebhookVersionThatNoLongerCompiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := activate(t, env, `{"name":"needs-test-types","nodes":[
		{"id":"hook","type":"trigger.webhook","config":{"path":"gone"}},
		{"id":"work","type":"test.work","config":{"key":"w"}}],
		"edges":[{"source":"hook","target":"work"}]}`)

	_, _, _, err := bareService(t, env).HandleWebhook(ctx, service.WebhookRequest{
		Method: "POST", Path: "gone", Headers: map[string]any{"authorization": "Bearer s3cret"}, Body: json.RawMessage(`{}`),
	}, time.Second)
	var verrs workflow.ValidationErrors
	require.ErrorAs(t, err, &verrs)
	require.Contains(t, err.Error(), "compile workflow "+w.ID+" version 1")
	page, err := env.Store.ListExecutions(ctx, tenant, store.ListExecutionsParams{WorkflowID: w.ID})
	require.NoError(t, err)
	require.Empty(t, page.Items)
}

// TestHandleWebhookBodyThatCannotBeEncoded: a body the JSON encoder refuses is an error, not a panic.
func TestHandleWebhookBodyThatCannotBeEncoded(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	activate(t, env, hookFlow)
	_, _, _, err := env.Service.HandleWebhook(context.Background(), service.WebhookRequest{
		Method: "POST", Path: "orders/new", Body: map[string]any{"f": func() {}},
	}, time.Second)
	require.ErrorContains(t, err, "encode webhook request")
}
