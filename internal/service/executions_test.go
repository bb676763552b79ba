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

// triggersFlow has two triggers of each kind the picking rule distinguishes.
const triggersFlow = `{"name":"triggers","nodes":[
	{"id":"hook","type":"trigger.webhook","config":{"path":"t"}},
	{"id":"sched","type":"trigger.schedule","config":{"cron":"@daily"}},
	{"id":"manual","type":"trigger.manual"},
	{"id":"work","type":"data.set","config":{"fields":{"ok":true}}}],
	"edges":[{"source":"hook","target":"work"},{"source":"sched","target":"work"},{"source":"manual","target":"work"}]}`

func TestStartExecutionPicksTheTrigger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	all := env.Save(t, triggersFlow)
	noManual := env.Save(t, `{"name":"no-manual","nodes":[
		{"id":"sched","type":"trigger.schedule","config":{"cron":"@daily"}},
		{"id":"hook","type":"trigger.webhook","config":{"path":"u"}},
		{"id":"work","type":"data.set","config":{"fields":{}}}],
		"edges":[{"source":"sched","target":"work"},{"source":"hook","target":"work"}]}`)
	none := env.Save(t, `{"name":"none","nodes":[{"id":"work","type":"data.set","config":{"fields":{}}}]}`)

	tests := []struct {
		name       string
		workflowID string
		trigger    string
		want       string
		// wantErr, when set, is the InputError's message.
		wantErr string
	}{
		{name: "ManualFirst", workflowID: all.ID, want: "manual"},
		{name: "Named", workflowID: all.ID, trigger: "hook", want: "hook"},
		{name: "FirstTriggerWithoutManual", workflowID: noManual.ID, want: "sched"},
		{name: "NoTrigger", workflowID: none.ID, want: ""},
		{name: "NamedNotATrigger", workflowID: all.ID, trigger: "work", wantErr: `triggerNode "work" is not a trigger of this workflow`},
		{name: "NamedUnknown", workflowID: all.ID, trigger: "ghost", wantErr: `triggerNode "ghost" is not a trigger of this workflow`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			exec, created, err := env.Service.StartExecution(ctx, tenant, service.StartParams{WorkflowID: tc.workflowID, TriggerNode: tc.trigger})
			if tc.wantErr != "" {
				var ie *service.InputError
				require.ErrorAs(t, err, &ie)
				require.Equal(t, "/triggerNode", ie.Pointer)
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.True(t, created)
			require.Equal(t, tc.want, exec.TriggerNode)
			require.Equal(t, store.TriggerManual, exec.TriggerKind, "the kind defaults to manual")
			require.JSONEq(t, `{}`, string(exec.Input), "the input defaults to an empty object")
			require.Equal(t, workflow.ExecutionQueued, exec.Status)
			evs := env.Events(t, exec.ID)
			require.Len(t, evs, 1)
			require.Equal(t, engine.EventExecutionQueued, evs[0].Type)
			require.JSONEq(t, fmt.Sprintf(`{"trigger":"manual","triggerNode":%q,"workflowVersion":1}`, tc.want), string(evs[0].Data))
		})
	}
}

func TestStartExecutionVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{})
	w := env.Save(t, `{"name":"v","nodes":[{"id":"start","type":"trigger.manual"},{"id":"out","type":"data.set","config":{"fields":{"v":1}}}],
		"edges":[{"source":"start","target":"out"}]}`)
	v2 := decode(t, `{"name":"v","nodes":[{"id":"start","type":"trigger.manual"},{"id":"out","type":"data.set","config":{"fields":{"v":2}}}],
		"edges":[{"source":"start","target":"out"}]}`)
	_, err := env.Service.UpdateWorkflow(ctx, tenant, w.ID, 1, v2)
	require.NoError(t, err)

	tests := []struct {
		name        string
		version     int
		wantVersion int
		wantV       float64
		wantErr     error
	}{
		{name: "Current", version: 0, wantVersion: 2, wantV: 2},
		{name: "Pinned", version: 1, wantVersion: 1, wantV: 1},
		{name: "Missing", version: 9, wantErr: store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			exec, _, err := env.Service.StartExecution(ctx, tenant, service.StartParams{WorkflowID: w.ID, Version: tc.version, Input: json.RawMessage(`{"x":1}`)})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantVersion, exec.WorkflowVersion)
			done := env.Wait(t, exec.ID)
			require.Equal(t, workflow.ExecutionSucceeded, done.Status)
			require.Equal(t, map[string]any{"x": 1.0, "v": tc.wantV}, enginetest.Output(t, done))
		})
	}

	for _, version := range []int{0, 1} {
		_, _, err := env.Service.StartExecution(ctx, tenant, service.StartParams{WorkflowID: "no-such-workflow", Version: version})
		require.ErrorIs(t, err, store.ErrNotFound, "version %d", version)
	}
}

func TestStartExecutionTakesTheGivenIDAndKind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := env.Save(t, triggersFlow)
	id := service.NewID()
	exec, created, err := env.Service.StartExecution(ctx, tenant, service.StartParams{
		WorkflowID: w.ID, ID: id, Kind: store.TriggerWebhook, TriggerNode: "hook", Input: json.RawMessage(`{"body":1}`),
	})
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, id, exec.ID)
	got, err := env.Store.GetExecution(ctx, tenant, id)
	require.NoError(t, err)
	require.Equal(t, store.TriggerWebhook, got.TriggerKind)
	require.Equal(t, "hook", got.TriggerNode)
	require.JSONEq(t, `{"body":1}`, string(got.Input))
}

// TestStartExecutionPublishesQueued: the queued event reaches the bus once the execution is committed.
func TestStartExecutionPublishesQueued(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := env.Save(t, doubleFlow)
	sub := env.Bus.Subscribe(event.Filter{TenantID: tenant}, 16)
	defer sub.Close()
	exec := start(t, env, w.ID, `{"n":1}`)
	select {
	case m := <-sub.C:
		require.Equal(t, exec.ID, m.Event.ExecutionID)
		require.Equal(t, w.ID, m.WorkflowID)
		require.Equal(t, engine.EventExecutionQueued, m.Event.Type)
		require.Equal(t, int64(1), m.Event.Seq)
		stored, err := env.Store.ListEvents(context.Background(), tenant, exec.ID, 0, 1)
		require.NoError(t, err)
		require.JSONEq(t, string(stored[0].Data), string(m.Event.Data), "the published event is the stored one")
		require.Equal(t, stored[0].Time.UnixMicro(), m.Event.Time.UnixMicro())
	case <-time.After(10 * time.Second):
		t.Fatal("no queued event")
	}
}

// refusingDispatcher is the real embedded dispatcher with an enqueue that fails, as a queue that is
// down would.
type refusingDispatcher struct {
	service.Dispatcher
}

var errQueueDown = errors.New("queue is down")

func (refusingDispatcher) Enqueue(context.Context, store.Tx, *store.Execution) error {
	return errQueueDown
}

// TestStartExecutionEnqueueFailureCreatesNothing: the execution and its enqueue commit together or
// not at all.
func TestStartExecutionEnqueueFailureCreatesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{})
	w := env.Save(t, failOnceFlow)
	svc := service.New(service.Config{Store: env.Store, Registry: env.Registry, Engine: env.Engine,
		Dispatcher: refusingDispatcher{env.Dispatcher}, Bus: env.Bus})
	id := service.NewID()
	_, _, err := svc.StartExecution(ctx, tenant, service.StartParams{WorkflowID: w.ID, ID: id})
	require.ErrorIs(t, err, errQueueDown)
	_, err = env.Store.GetExecution(ctx, tenant, id)
	require.ErrorIs(t, err, store.ErrNotFound)

	// A retry refused by the queue is not a retry: the execution can still be retried.
	failed := env.Run(t, w.ID, `{}`)
	require.Equal(t, workflow.ExecutionFailed, failed.Status)
	_, err = svc.RetryExecution(ctx, tenant, failed.ID, "")
	require.ErrorIs(t, err, errQueueDown)
	retry, err := env.Service.RetryExecution(ctx, tenant, failed.ID, "")
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionSucceeded, env.Wait(t, retry.ID).Status)
}

func TestStartExecutionIdempotency(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			opts := b.opts
			opts.NoDispatcher = true
			env := enginetest.Start(t, opts)
			w := env.Save(t, triggersFlow)
			other := env.Save(t, triggersFlow)
			first, created, err := env.Service.StartExecution(ctx, tenant, service.StartParams{WorkflowID: w.ID, IdempotencyKey: "k", Input: json.RawMessage(`{"a":1,"b":[1,2]}`)})
			require.NoError(t, err)
			require.True(t, created)

			tests := []struct {
				name string
				p    service.StartParams
				// same: the answer is the first execution; new: a new one; else wantErr.
				same, fresh bool
				wantErr     error
			}{
				{name: "SameRequest", p: service.StartParams{WorkflowID: w.ID, IdempotencyKey: "k", Input: json.RawMessage(`{"a":1,"b":[1,2]}`)}, same: true},
				{name: "SameInputOtherSpacingAndOrder", p: service.StartParams{WorkflowID: w.ID, IdempotencyKey: "k", Input: json.RawMessage(" {\n \"b\": [1, 2], \"a\": 1 }")}, same: true},
				{name: "OtherInput", p: service.StartParams{WorkflowID: w.ID, IdempotencyKey: "k", Input: json.RawMessage(`{"a":2,"b":[1,2]}`)}, wantErr: store.ErrConflict},
				{name: "OtherVersion", p: service.StartParams{WorkflowID: w.ID, IdempotencyKey: "k", Version: 1, Input: json.RawMessage(`{"a":1,"b":[1,2]}`)}, wantErr: store.ErrConflict},
				{name: "OtherTrigger", p: service.StartParams{WorkflowID: w.ID, IdempotencyKey: "k", TriggerNode: "hook", Input: json.RawMessage(`{"a":1,"b":[1,2]}`)}, wantErr: store.ErrConflict},
				{name: "OtherWorkflow", p: service.StartParams{WorkflowID: other.ID, IdempotencyKey: "k", Input: json.RawMessage(`{"a":1,"b":[1,2]}`)}, fresh: true},
				{name: "InvalidInput", p: service.StartParams{WorkflowID: w.ID, IdempotencyKey: "k2", Input: json.RawMessage(`{"a":`)}, wantErr: &service.InputError{}},
			}
			for _, tc := range tests {
				exec, created, err := env.Service.StartExecution(ctx, tenant, tc.p)
				switch want := tc.wantErr.(type) { //nolint:errorlint // the table's expected error, not a returned one
				case nil:
					require.NoError(t, err, tc.name)
					require.Equal(t, tc.fresh, created, tc.name)
					require.Equal(t, tc.same, exec.ID == first.ID, tc.name)
				case *service.InputError:
					require.ErrorAs(t, err, &want, tc.name)
					require.Equal(t, "/input", want.Pointer)
					require.Contains(t, want.Message, "input is not valid JSON")
				default:
					require.ErrorIs(t, err, want, tc.name)
					require.Contains(t, err.Error(), `idempotency key "k" was used for a different request`, tc.name)
				}
			}
		})
	}
}

// TestStartExecutionIdempotencyConcurrent: requests racing with one key create one execution, on
// PostgreSQL too, where they really run at once.
func TestStartExecutionIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			opts := b.opts
			opts.NoDispatcher = true
			env := enginetest.Start(t, opts)
			w := env.Save(t, doubleFlow)
			const n = 8
			var wg sync.WaitGroup
			ids := make([]string, n)
			createdN := make([]bool, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					exec, created, err := env.Service.StartExecution(context.Background(), tenant, service.StartParams{WorkflowID: w.ID, IdempotencyKey: "race", Input: json.RawMessage(`{"n":1}`)})
					errs[i] = err
					if err == nil {
						ids[i], createdN[i] = exec.ID, created
					}
				})
			}
			wg.Wait()
			created := 0
			for i := range n {
				require.NoError(t, errs[i])
				require.Equal(t, ids[0], ids[i])
				if createdN[i] {
					created++
				}
			}
			require.Equal(t, 1, created)
			page, err := env.Store.ListExecutions(context.Background(), tenant, store.ListExecutionsParams{WorkflowID: w.ID})
			require.NoError(t, err)
			require.Len(t, page.Items, 1)
		})
	}
}

func TestStartAndWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{})
	double := env.Save(t, doubleFlow)
	block := env.Save(t, blockFlow)

	t.Run("Finished", func(t *testing.T) {
		t.Parallel()
		exec, finished, err := env.Service.StartAndWait(ctx, tenant, service.StartParams{WorkflowID: double.ID, Input: json.RawMessage(`{"n":21}`)}, 20*time.Second)
		require.NoError(t, err)
		require.True(t, finished)
		require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
		require.InDelta(t, 42.0, enginetest.Output(t, exec), 0)
	})
	t.Run("ReplayOfAFinishedRun", func(t *testing.T) {
		t.Parallel()
		p := service.StartParams{WorkflowID: double.ID, IdempotencyKey: "replay", Input: json.RawMessage(`{"n":1}`)}
		first, finished, err := env.Service.StartAndWait(ctx, tenant, p, 20*time.Second)
		require.NoError(t, err)
		require.True(t, finished)
		again, finished, err := env.Service.StartAndWait(ctx, tenant, p, 20*time.Second)
		require.NoError(t, err)
		require.True(t, finished)
		require.Equal(t, first.ID, again.ID)
		require.Equal(t, first.Output, again.Output)
	})
	t.Run("UnknownWorkflow", func(t *testing.T) {
		t.Parallel()
		for _, timeout := range []time.Duration{0, time.Second} {
			_, _, err := env.Service.StartAndWait(ctx, tenant, service.StartParams{WorkflowID: "no-such-workflow"}, timeout)
			require.ErrorIs(t, err, store.ErrNotFound)
		}
	})

	// The runs of block share one probe: these run one after the other.
	t.Run("Block", func(t *testing.T) {
		// TimedOut: the answer is the run as it is when the timeout passes; the run goes on.
		exec, finished, err := env.Service.StartAndWait(ctx, tenant, service.StartParams{WorkflowID: block.ID, IdempotencyKey: "slow"}, 50*time.Millisecond)
		require.NoError(t, err)
		require.False(t, finished)
		require.False(t, exec.Status.Terminal(), "status %s", exec.Status)

		// NoTimeout: a zero timeout answers at once.
		now, finished, err := env.Service.StartAndWait(ctx, tenant, service.StartParams{WorkflowID: block.ID}, 0)
		require.NoError(t, err)
		require.False(t, finished)
		require.False(t, now.Status.Terminal())

		// ReplayWaitsForTheFirstRun: repeating the request waits for the run it started.
		type result struct {
			exec     *store.Execution
			finished bool
			err      error
		}
		replay := make(chan result, 1)
		subs := env.Bus.Subscribers()
		go func() {
			e, f, err := env.Service.StartAndWait(ctx, tenant, service.StartParams{WorkflowID: block.ID, IdempotencyKey: "slow"}, 20*time.Second)
			replay <- result{e, f, err}
		}()
		waitSubscribed(t, env, subs+2) // its own subscription, then the wait's on the first run
		env.Probe.ReleaseAll()
		r := <-replay
		require.NoError(t, r.err)
		require.True(t, r.finished)
		require.Equal(t, exec.ID, r.exec.ID)
		require.Equal(t, workflow.ExecutionSucceeded, r.exec.Status)
		env.Wait(t, now.ID)
	})
}

// TestStartAndWaitStopsWithItsContext: a waiter whose request goes away stops waiting; the run goes on.
func TestStartAndWaitStopsWithItsContext(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{})
	block := env.Save(t, blockFlow)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := env.Service.StartAndWait(ctx, tenant, service.StartParams{WorkflowID: block.ID}, time.Minute)
		errc <- err
	}()
	<-env.Probe.Started // the run is under way and its waiter waits
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	page, err := env.Store.ListExecutions(context.Background(), tenant, store.ListExecutionsParams{WorkflowID: block.ID})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, workflow.ExecutionRunning, page.Items[0].Status)
}

// TestWithoutBus: without an event bus there is nothing to wait on; StartAndWait and WaitExecution
// answer with the execution as it is.
func TestWithoutBus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{})
	svc := service.New(service.Config{Store: env.Store, Registry: env.Registry, Engine: env.Engine, Dispatcher: env.Dispatcher})
	block := env.Save(t, blockFlow)
	exec, finished, err := svc.StartAndWait(ctx, tenant, service.StartParams{WorkflowID: block.ID}, time.Minute)
	require.NoError(t, err)
	require.False(t, finished)
	require.False(t, exec.Status.Terminal())
	env.Probe.ReleaseAll()
	done := env.Wait(t, exec.ID)
	got, finished, err := svc.WaitExecution(ctx, tenant, exec.ID, time.Minute)
	require.NoError(t, err)
	require.True(t, finished)
	require.Equal(t, done.Status, got.Status)
	_, finished, err = svc.WaitExecution(ctx, tenant, "no-such-execution", time.Minute)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.False(t, finished)
}

func TestWaitExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{})
	double := env.Save(t, doubleFlow)
	done := env.Run(t, double.ID, `{"n":2}`)

	got, finished, err := env.Service.WaitExecution(ctx, tenant, done.ID, time.Minute)
	require.NoError(t, err)
	require.True(t, finished, "a finished execution is answered at once")
	require.Equal(t, done.Output, got.Output)

	_, finished, err = env.Service.WaitExecution(ctx, tenant, "no-such-execution", time.Minute)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.False(t, finished)

	got, finished, err = env.Service.WaitExecution(ctx, tenant, done.ID, 0)
	require.NoError(t, err)
	require.True(t, finished, "a zero timeout reads the execution as it is")
	require.Equal(t, workflow.ExecutionSucceeded, got.Status)
}

// TestWaitExecutionRereadsWhenEventsAreMissed: a waiter that never sees the finished event (here the
// execution is canceled in the store directly, which publishes nothing) still learns of the end by
// reading the execution again.
func TestWaitExecutionRereadsWhenEventsAreMissed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := env.Save(t, doubleFlow)
	exec := start(t, env, w.ID, `{"n":1}`)

	type result struct {
		exec     *store.Execution
		finished bool
		err      error
	}
	res := make(chan result, 1)
	go func() {
		e, f, err := env.Service.WaitExecution(ctx, tenant, exec.ID, time.Minute)
		res <- result{e, f, err}
	}()
	waitSubscribed(t, env, 1)
	began := time.Now()
	_, err := env.Store.RequestCancel(ctx, tenant, exec.ID, store.CancelParams{})
	require.NoError(t, err)
	r := <-res
	require.NoError(t, r.err)
	require.True(t, r.finished)
	require.Equal(t, workflow.ExecutionCanceled, r.exec.Status)
	require.Less(t, time.Since(began), 30*time.Second, "found by a re-read, well before the timeout")
}

// TestWaitExecutionTimesOut: when the timeout passes first, the answer is the execution as it is then.
func TestWaitExecutionTimesOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := env.Save(t, doubleFlow)
	exec := start(t, env, w.ID, `{"n":1}`)
	got, finished, err := env.Service.WaitExecution(ctx, tenant, exec.ID, 30*time.Millisecond)
	require.NoError(t, err)
	require.False(t, finished)
	require.Equal(t, workflow.ExecutionQueued, got.Status)
}
