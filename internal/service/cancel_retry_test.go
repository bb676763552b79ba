package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// TestCancelExecution cancels an execution in each state it can be canceled in.
func TestCancelExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		// noDispatcher leaves the execution queued.
		noDispatcher bool
		def          string
		// reach brings the execution to the state to cancel it in.
		reach func(t *testing.T, env *enginetest.Env, id string)
		// immediate: the cancel answers with the execution canceled (queued, waiting); otherwise the
		// execution is running and its worker stops it.
		immediate bool
		// nodes are the node runs that end canceled.
		nodes []string
	}{
		{
			name: "Queued", noDispatcher: true, def: doubleFlow, immediate: true,
			reach: func(*testing.T, *enginetest.Env, string) {},
			nodes: []string{"start", "double"},
		},
		{
			name: "Waiting", def: delayFlow, immediate: true,
			reach: func(t *testing.T, env *enginetest.Env, id string) { env.WaitStatus(t, id, workflow.ExecutionWaiting) },
			nodes: []string{"wait", "after"},
		},
		{
			name: "Running", def: blockFlow,
			reach: func(t *testing.T, env *enginetest.Env, _ string) { <-env.Probe.Started },
			nodes: []string{"hold"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := enginetest.Start(t, enginetest.Options{NoDispatcher: tc.noDispatcher})
			w := env.Save(t, tc.def)
			exec := start(t, env, w.ID, `{"n":1}`)
			tc.reach(t, env, exec.ID)
			sub := env.Bus.Subscribe(event.Filter{TenantID: tenant, ExecutionID: exec.ID}, 64)
			defer sub.Close()

			got, err := env.Service.CancelExecution(ctx, tenant, exec.ID, "")
			require.NoError(t, err)
			if tc.immediate {
				require.Equal(t, workflow.ExecutionCanceled, got.Status)
			} else {
				require.True(t, got.CancelRequested)
			}
			// Every way ends with the finished event on the bus, and the execution canceled.
			deadline := time.After(20 * time.Second)
			for finished := false; !finished; {
				select {
				case m := <-sub.C:
					finished = m.Event.Type == engine.EventExecutionFinished
				case <-deadline:
					t.Fatal("no execution.finished event")
				}
			}
			done := env.WaitStatus(t, exec.ID, workflow.ExecutionCanceled)
			require.NotNil(t, done.FinishedAt)
			runs := env.Runs(t, exec.ID)
			for _, id := range tc.nodes {
				require.Equal(t, workflow.NodeRunCanceled, runs[id].Status, id)
			}
			canceled := 0
			for _, ev := range env.Events(t, exec.ID) {
				if ev.Type == engine.EventNodeCanceled {
					canceled++
				}
			}
			require.Equal(t, len(tc.nodes), canceled, "one node.canceled event per canceled node: %v", eventTypes(t, env, exec.ID))
		})
	}
}

func TestCancelExecutionRepeated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := env.Save(t, doubleFlow)
	exec := start(t, env, w.ID, `{"n":1}`)
	first, err := env.Service.CancelExecution(ctx, tenant, exec.ID, "stop-1")
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionCanceled, first.Status)
	events := len(env.Events(t, exec.ID))

	tests := []struct {
		name    string
		key     string
		wantErr error
	}{
		{name: "SameKey", key: "stop-1"},
		{name: "OtherKey", key: "stop-2", wantErr: store.ErrConflict},
		{name: "NoKey", wantErr: store.ErrConflict},
	}
	for _, tc := range tests {
		got, err := env.Service.CancelExecution(ctx, tenant, exec.ID, tc.key)
		if tc.wantErr != nil {
			require.ErrorIs(t, err, tc.wantErr, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		require.Equal(t, first.ID, got.ID)
		require.Equal(t, workflow.ExecutionCanceled, got.Status)
	}
	require.Len(t, env.Events(t, exec.ID), events, "a repeated cancel writes nothing")
}

func TestCancelExecutionRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{})
	w := env.Save(t, doubleFlow)
	done := env.Run(t, w.ID, `{"n":1}`)

	_, err := env.Service.CancelExecution(ctx, tenant, done.ID, "")
	require.ErrorIs(t, err, store.ErrConflict, "a finished execution cannot be canceled")
	_, err = env.Service.CancelExecution(ctx, tenant, done.ID, "late")
	require.ErrorIs(t, err, store.ErrConflict, "nor with a key that no cancel used")
	_, err = env.Service.CancelExecution(ctx, tenant, "no-such-execution", "")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestRetryExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{})
	w := env.Save(t, failOnceFlow)
	failed := env.Run(t, w.ID, `{"order":7}`)
	require.Equal(t, workflow.ExecutionFailed, failed.Status)
	require.Equal(t, 1, env.Probe.Calls("a"))

	retry, err := env.Service.RetryExecution(ctx, tenant, failed.ID, "")
	require.NoError(t, err)
	require.Equal(t, store.TriggerRetry, retry.TriggerKind)
	require.Equal(t, failed.ID, retry.RetryOf)
	require.Equal(t, failed.WorkflowVersion, retry.WorkflowVersion)
	require.Equal(t, failed.TriggerNode, retry.TriggerNode)
	require.JSONEq(t, `{"order":7}`, string(retry.Input))
	evs := env.Events(t, retry.ID)
	require.Equal(t, engine.EventExecutionQueued, evs[0].Type)
	require.JSONEq(t, fmt.Sprintf(`{"trigger":"retry","triggerNode":%q,"workflowVersion":1,"retryOf":%q,"reusedNodes":2}`, failed.TriggerNode, failed.ID),
		string(evs[0].Data), "start and a succeeded")

	done := env.Wait(t, retry.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status)
	require.Equal(t, 1, env.Probe.Calls("a"), "a succeeded and is reused, not run again")
	require.Equal(t, 2, env.Probe.Calls("b"))
	out := enginetest.Output(t, done).(map[string]any)
	require.InDelta(t, 7.0, out["order"], 0)

	// An execution is retried once: a second retry names the first.
	_, err = env.Service.RetryExecution(ctx, tenant, failed.ID, "")
	var retried *store.RetriedError
	require.ErrorAs(t, err, &retried)
	require.Equal(t, retry.ID, retried.RetryID)
	require.ErrorIs(t, err, store.ErrConflict)

	// Only failed and canceled executions can be retried.
	_, err = env.Service.RetryExecution(ctx, tenant, done.ID, "")
	require.ErrorIs(t, err, service.ErrNotRetryable)
	require.ErrorIs(t, err, store.ErrConflict)
	require.Contains(t, err.Error(), "is succeeded")

	_, err = env.Service.RetryExecution(ctx, tenant, "no-such-execution", "")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestRetryCanceledExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{})
	w := env.Save(t, blockFlow)
	exec := start(t, env, w.ID, `{}`)
	<-env.Probe.Started
	_, err := env.Service.RetryExecution(ctx, tenant, exec.ID, "")
	require.ErrorIs(t, err, service.ErrNotRetryable, "a running execution cannot be retried")

	_, err = env.Service.CancelExecution(ctx, tenant, exec.ID, "")
	require.NoError(t, err)
	env.WaitStatus(t, exec.ID, workflow.ExecutionCanceled)
	env.Probe.ReleaseAll()
	retry, err := env.Service.RetryExecution(ctx, tenant, exec.ID, "")
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionSucceeded, env.Wait(t, retry.ID).Status)
	require.Equal(t, 2, env.Probe.Calls("hold"), "the canceled node runs again")
}

func TestRetryExecutionIdempotency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{})
	w := env.Save(t, `{"name":"always-fails","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"f","type":"test.work","config":{"key":"f","failures":1000,"permanent":true}}],
		"edges":[{"source":"start","target":"f"}]}`)
	one := env.Run(t, w.ID, `{"i":1}`)
	two := env.Run(t, w.ID, `{"i":2}`)

	first, err := env.Service.RetryExecution(ctx, tenant, one.ID, "again")
	require.NoError(t, err)
	env.Wait(t, first.ID)
	// The same request answers with the same retry, also once it has finished.
	same, err := env.Service.RetryExecution(ctx, tenant, one.ID, "again")
	require.NoError(t, err)
	require.Equal(t, first.ID, same.ID)
	// The key names one request: retrying another execution with it is a conflict.
	_, err = env.Service.RetryExecution(ctx, tenant, two.ID, "again")
	require.ErrorIs(t, err, store.ErrConflict)
	var retried *store.RetriedError
	require.False(t, errors.As(err, &retried))
	// Without the key, the retried execution names its retry.
	_, err = env.Service.RetryExecution(ctx, tenant, one.ID, "")
	require.ErrorAs(t, err, &retried)
	require.Equal(t, first.ID, retried.RetryID)
	// With another key too.
	_, err = env.Service.RetryExecution(ctx, tenant, one.ID, "other")
	require.ErrorAs(t, err, &retried)
}

// TestRetryExecutionConcurrent: retries racing on one failed execution create one retry: with one
// key every request gets it, without keys the others are told which one it is. PostgreSQL runs them
// truly at once.
func TestRetryExecutionConcurrent(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		for _, key := range []string{"", "same-key"} {
			t.Run(b.name+"/key="+key, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				env := enginetest.Start(t, b.opts)
				w := env.Save(t, `{"name":"fails","nodes":[
					{"id":"start","type":"trigger.manual"},
					{"id":"f","type":"test.work","config":{"key":"f","failures":1000,"permanent":true}}],
					"edges":[{"source":"start","target":"f"}]}`)
				failed := env.Run(t, w.ID, `{}`)
				const n = 10
				ids := make([]string, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						exec, err := env.Service.RetryExecution(ctx, tenant, failed.ID, key)
						errs[i] = err
						if err == nil {
							ids[i] = exec.ID
						}
					})
				}
				wg.Wait()
				retries := map[string]bool{}
				for i := range n {
					if key != "" {
						require.NoError(t, errs[i])
						retries[ids[i]] = true
						continue
					}
					if errs[i] == nil {
						retries[ids[i]] = true
						continue
					}
					var retried *store.RetriedError
					require.ErrorAs(t, errs[i], &retried)
					retries[retried.RetryID] = true
				}
				require.Len(t, retries, 1, "one retry, named by every answer")
				page, err := env.Store.ListExecutions(ctx, tenant, store.ListExecutionsParams{WorkflowID: w.ID})
				require.NoError(t, err)
				require.Len(t, page.Items, 2)
			})
		}
	}
}

// TestRetryKeepsTheInputAndTrigger: a webhook run retried keeps its trigger node and its request.
func TestRetryKeepsTheInputAndTrigger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := env.Save(t, triggersFlow)
	exec, _, err := env.Service.StartExecution(ctx, tenant, service.StartParams{WorkflowID: w.ID, TriggerNode: "hook", Kind: store.TriggerWebhook, Input: json.RawMessage(`{"body":{"x":1}}`)})
	require.NoError(t, err)
	_, err = env.Service.CancelExecution(ctx, tenant, exec.ID, "")
	require.NoError(t, err)
	retry, err := env.Service.RetryExecution(ctx, tenant, exec.ID, "")
	require.NoError(t, err)
	require.Equal(t, "hook", retry.TriggerNode)
	require.JSONEq(t, `{"body":{"x":1}}`, string(retry.Input))
	require.Equal(t, store.TriggerRetry, retry.TriggerKind)
	evs := env.Events(t, retry.ID)
	require.JSONEq(t, `{"trigger":"retry","triggerNode":"hook","workflowVersion":1,"retryOf":"`+exec.ID+`","reusedNodes":0}`, string(evs[0].Data))
}
