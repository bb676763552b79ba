package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// TestSemantics runs one workflow per engine rule and checks the result, the node runs and, where it
// matters, the events.
func TestSemantics(t *testing.T) {
	t.Parallel()

	type check func(t *testing.T, env *enginetest.Env, exec *store.Execution)
	tests := []struct {
		name   string
		def    string
		input  string
		status workflow.ExecutionStatus
		check  check
	}{
		{
			name: "BranchTakesTrueSkipsFalse",
			def: `{"name":"if","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"check","type":"flow.if","config":{"condition":"{{ input.total > 100 }}"}},
				{"id":"big","type":"data.set","config":{"fields":{"size":"big"}}},
				{"id":"small","type":"data.set","config":{"fields":{"size":"small"}}},
				{"id":"after_small","type":"data.set","config":{"fields":{"x":1}}}],
				"edges":[{"source":"start","target":"check"},
				{"source":"check","sourcePort":"true","target":"big"},
				{"source":"check","sourcePort":"false","target":"small"},
				{"source":"small","target":"after_small"}]}`,
			input:  `{"total": 150}`,
			status: workflow.ExecutionSucceeded,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				runs := env.Runs(t, exec.ID)
				require.Equal(t, workflow.NodeRunSucceeded, runs["big"].Status)
				require.Equal(t, workflow.NodeRunSkipped, runs["small"].Status)
				require.Equal(t, workflow.NodeRunSkipped, runs["after_small"].Status, "skips propagate")
				require.Equal(t, "true", runs["check"].Port)
				require.Equal(t, map[string]any{"total": 150.0, "size": "big"}, enginetest.Output(t, exec), "the single sink that ran is the output")
			},
		},
		{
			name: "MergeAllWaitsForBranchesNotSkipped",
			def: `{"name":"merge","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"a","type":"test.work","config":{"key":"a","sleep":"30ms"}},
				{"id":"b","type":"test.work","config":{"key":"b"}},
				{"id":"gate","type":"flow.if","config":{"condition":false}},
				{"id":"c","type":"test.work","config":{"key":"c"}},
				{"id":"join","type":"flow.merge","config":{"mode":"all"}}],
				"edges":[{"source":"start","target":"a"},{"source":"start","target":"b"},{"source":"start","target":"gate"},
				{"source":"gate","sourcePort":"true","target":"c"},
				{"source":"a","target":"join"},{"source":"b","target":"join"},{"source":"c","target":"join"}]}`,
			input:  `{}`,
			status: workflow.ExecutionSucceeded,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				out := enginetest.Output(t, exec).(map[string]any)
				require.Contains(t, out, "a")
				require.Contains(t, out, "b")
				require.NotContains(t, out, "c")
				require.Equal(t, 0, env.Probe.Calls("c"))
			},
		},
		{
			name: "MergeAnyRunsOnFirstBranch",
			def: `{"name":"race","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"slow","type":"test.work","config":{"key":"slow","sleep":"200ms"}},
				{"id":"fast","type":"test.work","config":{"key":"fast"}},
				{"id":"first","type":"flow.merge","config":{"mode":"any"}},
				{"id":"done","type":"data.transform","config":{"expression":"{{ input.key }}"}}],
				"edges":[{"source":"start","target":"slow"},{"source":"start","target":"fast"},
				{"source":"slow","target":"first"},{"source":"fast","target":"first"},{"source":"first","target":"done"}]}`,
			input:  `{}`,
			status: workflow.ExecutionSucceeded,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				runs := env.Runs(t, exec.ID)
				require.JSONEq(t, `"fast"`, string(runs["done"].Output))
				require.Equal(t, workflow.NodeRunSucceeded, runs["slow"].Status, "the other branch still finishes")
			},
		},
		{
			name: "SwitchRoutesToFirstMatchingCase",
			def: `{"name":"switch","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"route","type":"flow.switch","config":{"cases":[
					{"port":"high","condition":"{{ input.p > 7 }}"},{"port":"mid","condition":"{{ input.p > 3 }}"}]}},
				{"id":"h","type":"data.set","config":{"fields":{"lane":"high"}}},
				{"id":"m","type":"data.set","config":{"fields":{"lane":"mid"}}},
				{"id":"d","type":"data.set","config":{"fields":{"lane":"default"}}}],
				"edges":[{"source":"start","target":"route"},
				{"source":"route","sourcePort":"high","target":"h"},{"source":"route","sourcePort":"mid","target":"m"},
				{"source":"route","sourcePort":"default","target":"d"}]}`,
			input:  `{"p": 5}`,
			status: workflow.ExecutionSucceeded,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				runs := env.Runs(t, exec.ID)
				require.Equal(t, workflow.NodeRunSucceeded, runs["m"].Status)
				require.Equal(t, workflow.NodeRunSkipped, runs["h"].Status)
				require.Equal(t, workflow.NodeRunSkipped, runs["d"].Status)
			},
		},
		{
			name: "ParallelismIsBounded",
			def: `{"name":"fan","settings":{"maxConcurrentNodes":2},"nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"w1","type":"test.work","config":{"key":"p1","sleep":"40ms"}},
				{"id":"w2","type":"test.work","config":{"key":"p2","sleep":"40ms"}},
				{"id":"w3","type":"test.work","config":{"key":"p3","sleep":"40ms"}},
				{"id":"w4","type":"test.work","config":{"key":"p4","sleep":"40ms"}}],
				"edges":[{"source":"start","target":"w1"},{"source":"start","target":"w2"},{"source":"start","target":"w3"},{"source":"start","target":"w4"}]}`,
			input:  `{}`,
			status: workflow.ExecutionSucceeded,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				require.Equal(t, int64(2), env.Probe.Peak(), "two at a time, and they did overlap")
				out := enginetest.Output(t, exec).(map[string]any)
				require.Len(t, out, 4, "several sinks: output keyed by node id")
			},
		},
		{
			name: "RetryWithBackoffThenSucceed",
			def: `{"name":"retry","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"flaky","type":"test.work","config":{"key":"flaky","failures":2},
				 "retry":{"maxAttempts":3,"initialInterval":"10ms","multiplier":2,"jitter":0.5}}],
				"edges":[{"source":"start","target":"flaky"}]}`,
			input:  `{}`,
			status: workflow.ExecutionSucceeded,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				runs, err := env.Store.ListNodeRuns(context.Background(), store.DefaultTenant, exec.ID)
				require.NoError(t, err)
				var attempts []string
				for _, r := range runs {
					if r.NodeID == "flaky" {
						attempts = append(attempts, fmt.Sprintf("%d:%s", r.Attempt, r.Status))
					}
				}
				require.Equal(t, []string{"1:failed", "2:failed", "3:succeeded"}, attempts)
				require.Equal(t, 2, countEvents(env.Events(t, exec.ID), "node.retrying"))
			},
		},
		{
			name: "PermanentErrorIsNotRetried",
			def: `{"name":"perm","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"bad","type":"test.work","config":{"key":"perm","failures":5,"permanent":true},"retry":{"maxAttempts":5,"initialInterval":"1ms"}}],
				"edges":[{"source":"start","target":"bad"}]}`,
			input:  `{}`,
			status: workflow.ExecutionFailed,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				require.Equal(t, 1, env.Probe.Calls("perm"))
				require.Equal(t, "bad", exec.Error.NodeID)
				require.Contains(t, exec.Error.Message, "perm failed on call 1")
				require.Equal(t, "test_failure", exec.Error.Code)
			},
		},
		{
			name: "NodeTimeoutFailsTheAttempt",
			def: `{"name":"timeout","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"slow","type":"test.work","config":{"key":"slowt","sleep":"5s"},"timeout":"30ms"}],
				"edges":[{"source":"start","target":"slow"}]}`,
			input:  `{}`,
			status: workflow.ExecutionFailed,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				runs := env.Runs(t, exec.ID)
				require.Equal(t, "timeout", runs["slow"].Error.Code)
				require.Contains(t, runs["slow"].Error.Message, "timeout of 30ms")
			},
		},
		{
			name: "OnErrorContinueMakesTheErrorTheOutput",
			def: `{"name":"continue","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"bad","type":"flow.fail","config":{"message":"nope","code":"E1"},"onError":"continue"},
				{"id":"after","type":"data.transform","config":{"expression":"{{ input.error.message + '/' + input.error.code }}"}}],
				"edges":[{"source":"start","target":"bad"},{"source":"bad","target":"after"}]}`,
			input:  `{}`,
			status: workflow.ExecutionSucceeded,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				require.Equal(t, "nope/E1", enginetest.Output(t, exec))
				require.Equal(t, workflow.NodeRunFailed, env.Runs(t, exec.ID)["bad"].Status)
			},
		},
		{
			name: "OnErrorPortRoutesToHandler",
			def: `{"name":"errport","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"bad","type":"flow.fail","config":{"message":"broken"},"onError":"errorPort"},
				{"id":"ok","type":"data.set","config":{"fields":{"x":1}}},
				{"id":"handler","type":"data.transform","config":{"expression":"{{ 'handled: ' + input.message + ' at ' + input.nodeId }}"}}],
				"edges":[{"source":"start","target":"bad"},{"source":"bad","target":"ok"},{"source":"bad","sourcePort":"error","target":"handler"}]}`,
			input:  `{}`,
			status: workflow.ExecutionSucceeded,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				runs := env.Runs(t, exec.ID)
				require.Equal(t, workflow.NodeRunSkipped, runs["ok"].Status)
				require.JSONEq(t, `"handled: broken at bad"`, string(runs["handler"].Output))
			},
		},
		{
			name: "OnErrorFailCancelsRunningSiblings",
			def: `{"name":"failfast","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"hang","type":"test.work","config":{"key":"hang","sleep":"10s"}},
				{"id":"boom","type":"flow.fail","config":{"message":"boom"}},
				{"id":"after","type":"data.set","config":{"fields":{"x":1}}}],
				"edges":[{"source":"start","target":"hang"},{"source":"start","target":"boom"},{"source":"hang","target":"after"}]}`,
			input:  `{}`,
			status: workflow.ExecutionFailed,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				runs := env.Runs(t, exec.ID)
				require.Equal(t, workflow.NodeRunCanceled, runs["hang"].Status)
				require.NotContains(t, runs, "after", "nodes never reached have no run")
				require.Equal(t, "node boom failed: boom", exec.Error.Message)
			},
		},
		{
			name: "ForEachFansOutInOrder",
			def: `{"name":"foreach","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"each","type":"data.transform","forEach":"{{ input.items }}","concurrency":3,
				 "config":{"expression":"{{ item * 10 + index }}"}}],
				"edges":[{"source":"start","target":"each"}]}`,
			input:  `{"items":[1,2,3,4,5]}`,
			status: workflow.ExecutionSucceeded,
			check: func(t *testing.T, _ *enginetest.Env, exec *store.Execution) {
				require.Equal(t, []any{10.0, 21.0, 32.0, 43.0, 54.0}, enginetest.Output(t, exec))
			},
		},
		{
			name: "ForEachRetriesEachElement",
			def: `{"name":"foreach-retry","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"each","type":"test.work","forEach":"{{ input.items }}","retry":{"maxAttempts":2,"initialInterval":"1ms"},
				 "config":{"key":"each-{{ item }}","failures":1}}],
				"edges":[{"source":"start","target":"each"}]}`,
			input:  `{"items":["a","b"]}`,
			status: workflow.ExecutionSucceeded,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				require.Equal(t, 2, env.Probe.Calls("each-a"))
				require.Equal(t, 2, env.Probe.Calls("each-b"))
				require.Len(t, enginetest.Output(t, exec), 2)
			},
		},
		{
			name: "ExpressionsSeeTriggerNodesVarsAndTypes",
			def: `{"name":"expr","settings":{"vars":{"rate":0.2}},"nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"fetch","type":"data.set","config":{"fields":{"amount":"{{ trigger.amount * 2 }}"}}},
				{"id":"tax","type":"data.set","config":{"fields":{"tax":"{{ nodes.fetch.output.amount * vars.rate }}","label":"total {{ input.amount }} for {{ workflow.name }}"}}}],
				"edges":[{"source":"start","target":"fetch"},{"source":"fetch","target":"tax"}]}`,
			input:  `{"amount": 50}`,
			status: workflow.ExecutionSucceeded,
			check: func(t *testing.T, _ *enginetest.Env, exec *store.Execution) {
				require.Equal(t, map[string]any{"amount": 100.0, "tax": 20.0, "label": "total 100 for expr"}, enginetest.Output(t, exec))
			},
		},
		{
			name: "OutputSizeCapFailsTheNode",
			def: `{"name":"big","nodes":[{"id":"start","type":"trigger.manual"},{"id":"big","type":"test.big","config":{"size":5000}}],
				"edges":[{"source":"start","target":"big"}]}`,
			input:  `{}`,
			status: workflow.ExecutionFailed,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				require.Equal(t, "output_too_large", exec.Error.Code)
				require.Contains(t, exec.Error.Message, "over the 4 KiB limit")
			},
		},
		{
			name: "ExecutionTimeout",
			def: `{"name":"exec-timeout","settings":{"timeout":"1s"},"nodes":[
				{"id":"start","type":"trigger.manual"},{"id":"slow","type":"test.work","config":{"key":"exec-timeout","sleep":"10s"}}],
				"edges":[{"source":"start","target":"slow"}]}`,
			input:  `{}`,
			status: workflow.ExecutionFailed,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				require.Equal(t, "timeout", exec.Error.Code)
				require.Equal(t, workflow.NodeRunCanceled, env.Runs(t, exec.ID)["slow"].Status)
			},
		},
		{
			name: "RuntimeExpressionErrorIsClear",
			def: `{"name":"expr-err","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"bad","type":"data.transform","config":{"expression":"{{ input.missing.field }}"}}],
				"edges":[{"source":"start","target":"bad"}]}`,
			input:  `{}`,
			status: workflow.ExecutionFailed,
			check: func(t *testing.T, env *enginetest.Env, exec *store.Execution) {
				require.Equal(t, "expression", exec.Error.Code)
				require.Equal(t, "node bad failed: config/expression: {{ input.missing.field }}: input.missing is null, so .field cannot be read from it",
					exec.Error.Message)
				require.JSONEq(t, `{"pointer":"/nodes/1/config/expression","expression":"input.missing.field"}`,
					string(env.Runs(t, exec.ID)["bad"].Error.Details))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := enginetest.Start(t, enginetest.Options{MaxOutputBytes: 4096})
			w := env.Save(t, tt.def)
			exec := env.Run(t, w.ID, tt.input)
			require.Equal(t, tt.status, exec.Status, "error: %+v", exec.Error)
			tt.check(t, env, exec)
			evs := env.Events(t, exec.ID)
			for i, ev := range evs {
				require.Equal(t, int64(i+1), ev.Seq, "event sequence has no gaps")
			}
			require.Equal(t, "execution.queued", evs[0].Type)
			require.Equal(t, "execution.finished", evs[len(evs)-1].Type)
		})
	}
}

func countEvents(evs []store.Event, typ string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func TestCancelStopsRunningNodes(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{})
	w := env.Save(t, `{"name":"cancel","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"block","type":"test.block","config":{"key":"cancel"}},
		{"id":"after","type":"data.set","config":{"fields":{"x":1}}}],
		"edges":[{"source":"start","target":"block"},{"source":"block","target":"after"}]}`)
	exec := env.Start(t, w.ID, `{}`)
	require.Equal(t, "cancel", <-env.Probe.Started)
	_, err := env.Service.CancelExecution(context.Background(), store.DefaultTenant, exec.ID, "")
	require.NoError(t, err)
	done := env.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionCanceled, done.Status)
	runs := env.Runs(t, exec.ID)
	require.Equal(t, workflow.NodeRunCanceled, runs["block"].Status)
	require.Equal(t, workflow.NodeRunCanceled, runs["after"].Status, "the rest is marked canceled")

	_, err = env.Service.CancelExecution(context.Background(), store.DefaultTenant, exec.ID, "")
	require.ErrorIs(t, err, store.ErrConflict)
}

func TestDelaySuspendsAndResumes(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{SuspendThreshold: 10 * time.Millisecond})
	w := env.Save(t, `{"name":"delay","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"wait","type":"flow.delay","config":{"duration":"300ms"}},
		{"id":"after","type":"data.set","config":{"fields":{"woke":true}}}],
		"edges":[{"source":"start","target":"wait"},{"source":"wait","target":"after"}]}`)
	started := time.Now()
	exec := env.Start(t, w.ID, `{"n":1}`)
	waiting := env.WaitStatus(t, exec.ID, workflow.ExecutionWaiting)
	require.NotNil(t, waiting.WakeAt)
	// The worker returns right after the commit that parked the execution.
	require.Eventually(t, func() bool { return env.Dispatcher.Running() == 0 }, 5*time.Second, time.Millisecond,
		"a waiting execution holds no worker")
	require.Equal(t, workflow.NodeRunWaiting, env.Runs(t, exec.ID)["wait"].Status)

	done := env.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status)
	require.GreaterOrEqual(t, time.Since(started), 300*time.Millisecond)
	require.Equal(t, map[string]any{"n": 1.0, "woke": true}, enginetest.Output(t, done))
	types := eventTypes(env.Events(t, exec.ID))
	require.Contains(t, types, "execution.waiting")
	require.Contains(t, types, "execution.resumed")
}

func eventTypes(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

func TestCancelWaitingExecution(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{SuspendThreshold: 10 * time.Millisecond})
	w := env.Save(t, `{"name":"delay-cancel","nodes":[
		{"id":"start","type":"trigger.manual"},{"id":"wait","type":"flow.delay","config":{"duration":"1h"}}],
		"edges":[{"source":"start","target":"wait"}]}`)
	exec := env.Start(t, w.ID, `{}`)
	env.WaitStatus(t, exec.ID, workflow.ExecutionWaiting)
	got, err := env.Service.CancelExecution(context.Background(), store.DefaultTenant, exec.ID, "")
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionCanceled, got.Status)
	require.Equal(t, workflow.NodeRunCanceled, env.Runs(t, exec.ID)["wait"].Status)
}

func TestRetryReusesSucceededNodes(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{})
	w := env.Save(t, `{"name":"retry-exec","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"once","type":"test.work","config":{"key":"retry-once"}},
		{"id":"flaky","type":"test.work","config":{"key":"retry-flaky","failures":1}}],
		"edges":[{"source":"start","target":"once"},{"source":"once","target":"flaky"}]}`)
	failed := env.Run(t, w.ID, `{"v":7}`)
	require.Equal(t, workflow.ExecutionFailed, failed.Status)

	retry, err := env.Service.RetryExecution(context.Background(), store.DefaultTenant, failed.ID, "")
	require.NoError(t, err)
	require.Equal(t, failed.ID, retry.RetryOf)
	done := env.Wait(t, retry.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status)
	require.Equal(t, 1, env.Probe.Calls("retry-once"), "the succeeded node is reused, not re-run")
	require.Equal(t, 2, env.Probe.Calls("retry-flaky"))
	out := enginetest.Output(t, done).(map[string]any)
	require.Equal(t, 7.0, out["v"])

	_, err = env.Service.RetryExecution(context.Background(), store.DefaultTenant, done.ID, "")
	require.ErrorIs(t, err, store.ErrConflict)
}

// TestResumeAfterCrash leaves an execution as a crashed process would — claimed by a dead owner,
// its first node finished, the second mid-attempt — and checks that a new process finishes it
// without re-running the finished node and retries the interrupted one as a new attempt.
func TestResumeAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := first.Save(t, `{"name":"crash","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"done_before","type":"test.work","config":{"key":"crash-before"}},
		{"id":"interrupted","type":"test.work","config":{"key":"crash-mid"}}],
		"edges":[{"source":"start","target":"done_before"},{"source":"done_before","target":"interrupted"}]}`)
	exec := first.Start(t, w.ID, `{"x":1}`)
	now := time.Now().UTC()
	out := json.RawMessage(`{"x":1,"calls":1,"key":"crash-before"}`)
	leftByDeadProcess(t, first, exec.ID, now,
		store.NodeRun{NodeID: "start", Attempt: 1, Status: workflow.NodeRunSucceeded, Port: "out", Output: json.RawMessage(`{"x":1}`), StartedAt: &now, FinishedAt: &now},
		store.NodeRun{NodeID: "done_before", Attempt: 1, Status: workflow.NodeRunSucceeded, Port: "out", Output: out, StartedAt: &now, FinishedAt: &now},
		store.NodeRun{NodeID: "interrupted", Attempt: 1, Status: workflow.NodeRunRunning, Input: out, StartedAt: &now},
	)

	// The "restarted" process shares the database file and takes over at start.
	second := enginetest.Start(t, enginetest.Options{Path: first.Path, Takeover: true})
	done := second.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status, "error: %+v", done.Error)
	require.Equal(t, 0, second.Probe.Calls("crash-before"), "finished nodes are not run again")
	require.Equal(t, 1, second.Probe.Calls("crash-mid"))
	runs, err := second.Store.ListNodeRuns(ctx, store.DefaultTenant, exec.ID)
	require.NoError(t, err)
	var attempts []string
	for _, r := range runs {
		if r.NodeID == "interrupted" {
			attempts = append(attempts, fmt.Sprintf("%d:%s", r.Attempt, r.Status))
			if r.Attempt == 1 {
				require.Equal(t, engine.CodeInterrupted, r.Error.Code)
				require.NotNil(t, r.WakeAt, "the closed attempt records that the node runs again")
			}
		}
	}
	require.Equal(t, []string{"1:failed", "2:succeeded"}, attempts)
}

// leftByDeadProcess leaves an execution as a process that died mid-run would: claimed by an owner
// that never comes back, started, with the node runs given.
func leftByDeadProcess(t *testing.T, env *enginetest.Env, execID string, now time.Time, runs ...store.NodeRun) {
	t.Helper()
	ctx := context.Background()
	_, err := env.Store.ClaimExecution(ctx, store.ExecutionRef{TenantID: store.DefaultTenant, ID: execID}, "dead-process", time.Hour, false)
	require.NoError(t, err)
	require.NoError(t, env.Store.ApplyExecutionUpdate(ctx, store.DefaultTenant, &store.ExecutionUpdate{
		ExecutionID: execID, SetStartedAt: &now, NodeRuns: runs,
		Events: []store.Event{{Seq: 2, Type: "execution.started", Time: now}},
	}))
}

// TestResumeAfterCrashDuringRecovery leaves an execution as a process would that died while it
// recovered from another's crash: the cut-short attempt closed (interrupted, to run again) and no new
// attempt recorded yet. The next process runs the node again instead of failing the execution.
func TestResumeAfterCrashDuringRecovery(t *testing.T) {
	t.Parallel()
	first := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := first.Save(t, `{"name":"crash twice","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"work","type":"test.work","config":{"key":"twice"}}],
		"edges":[{"source":"start","target":"work"}]}`)
	exec := first.Start(t, w.ID, `{"x":1}`)
	now := time.Now().UTC()
	leftByDeadProcess(t, first, exec.ID, now,
		store.NodeRun{NodeID: "start", Attempt: 1, Status: workflow.NodeRunSucceeded, Port: "out", Output: json.RawMessage(`{"x":1}`), StartedAt: &now, FinishedAt: &now},
		store.NodeRun{NodeID: "work", Attempt: 1, Status: workflow.NodeRunFailed, Input: json.RawMessage(`{"x":1}`), StartedAt: &now, FinishedAt: &now, WakeAt: &now,
			Error: &store.NodeError{Code: engine.CodeInterrupted, Message: "the process running this attempt stopped before it finished"}},
	)

	second := enginetest.Start(t, enginetest.Options{Path: first.Path, Takeover: true})
	done := second.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status, "error: %+v", done.Error)
	require.Equal(t, 1, second.Probe.Calls("twice"))
	require.Equal(t, 2, second.Runs(t, exec.ID)["work"].Attempt)
}

// TestShutdownHandsBackAndResumes stops a dispatcher mid-run: the attempt that outlasts the drain
// timeout is canceled and recorded as cut short by the shutdown, the execution goes back to the queue,
// and a new process completes it with a new attempt.
func TestShutdownHandsBackAndResumes(t *testing.T) {
	t.Parallel()
	first := enginetest.Start(t, enginetest.Options{DrainTimeout: 50 * time.Millisecond})
	w := first.Save(t, `{"name":"shutdown","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"block","type":"test.block","config":{"key":"shutdown"}}],
		"edges":[{"source":"start","target":"block"}]}`)
	exec := first.Start(t, w.ID, `{}`)
	require.Equal(t, "shutdown", <-first.Probe.Started)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, first.Dispatcher.Stop(ctx))
	got, err := first.Store.GetExecution(ctx, store.DefaultTenant, exec.ID)
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionQueued, got.Status)
	cut := first.Runs(t, exec.ID)["block"]
	require.Equal(t, workflow.NodeRunFailed, cut.Status)
	require.Equal(t, engine.CodeShutdown, cut.Error.Code)

	second := enginetest.Start(t, enginetest.Options{Path: first.Path, CrashLimit: 1})
	require.Equal(t, "shutdown", <-second.Probe.Started)
	second.Probe.ReleaseAll()
	done := second.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status, "a shutdown is not a crash, even with a crash limit of 1")
	require.Equal(t, 2, second.Runs(t, exec.ID)["block"].Attempt)
}

// TestShutdownDrainSavesResults stops a dispatcher while a node runs and lets the node finish within
// the drain timeout: its result is saved, so the node never runs again, and the rest of the workflow
// runs in the next process.
func TestShutdownDrainSavesResults(t *testing.T) {
	t.Parallel()
	first := enginetest.Start(t, enginetest.Options{DrainTimeout: time.Minute})
	w := first.Save(t, `{"name":"drain","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"block","type":"test.block","config":{"key":"drain"}},
		{"id":"after","type":"test.work","config":{"key":"drain-after"}}],
		"edges":[{"source":"start","target":"block"},{"source":"block","target":"after"}]}`)
	exec := first.Start(t, w.ID, `{}`)
	sub := first.Bus.Subscribe(event.Filter{TenantID: store.DefaultTenant, ExecutionID: exec.ID}, 64)
	defer sub.Close()
	require.Equal(t, "drain", <-first.Probe.Started)
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		stopped <- first.Dispatcher.Stop(ctx)
	}()
	for m := range sub.C {
		if m.Event.Type == engine.EventExecutionDraining {
			break
		}
	}
	// The run is draining: the running node finishes and its result is saved; the next node is not
	// started.
	first.Probe.ReleaseAll()
	require.NoError(t, <-stopped)
	require.Zero(t, first.Probe.Calls("drain-after"))
	got, err := first.Store.GetExecution(context.Background(), store.DefaultTenant, exec.ID)
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionQueued, got.Status)
	require.Equal(t, workflow.NodeRunSucceeded, first.Runs(t, exec.ID)["block"].Status)

	second := enginetest.Start(t, enginetest.Options{Path: first.Path})
	done := second.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status)
	require.Zero(t, second.Probe.Calls("drain"), "the node that finished while draining does not run again")
	require.Equal(t, 1, second.Probe.Calls("drain-after"))
}

// TestCrashLimitFailsANodeThatKeepsKillingItsProcess simulates a node whose attempts are found
// running after crashes, again and again: it is retried up to the crash limit and then failed with a
// clear reason instead of crash-looping.
func TestCrashLimitFailsANodeThatKeepsKillingItsProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := first.Save(t, `{"name":"crashy","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"bomb","type":"test.work","config":{"key":"crashy"},"retry":{"maxAttempts":10}}],
		"edges":[{"source":"start","target":"bomb"}]}`)
	exec := first.Start(t, w.ID, `{}`)
	now := time.Now().UTC()
	// Two earlier attempts were cut short by crashes, and the third is found running again.
	require.NoError(t, first.Store.ApplyExecutionUpdate(ctx, store.DefaultTenant, &store.ExecutionUpdate{
		ExecutionID: exec.ID,
		NodeRuns: []store.NodeRun{
			{NodeID: "start", Attempt: 1, Status: workflow.NodeRunSucceeded, Output: json.RawMessage(`{}`), StartedAt: &now, FinishedAt: &now},
			{NodeID: "bomb", Attempt: 1, Status: workflow.NodeRunFailed, StartedAt: &now, FinishedAt: &now,
				Error: &store.NodeError{Code: engine.CodeInterrupted, Message: "cut short"}},
			{NodeID: "bomb", Attempt: 2, Status: workflow.NodeRunFailed, StartedAt: &now, FinishedAt: &now,
				Error: &store.NodeError{Code: engine.CodeShutdown, Message: "deploy"}},
			{NodeID: "bomb", Attempt: 3, Status: workflow.NodeRunFailed, StartedAt: &now, FinishedAt: &now,
				Error: &store.NodeError{Code: engine.CodeInterrupted, Message: "cut short"}},
			{NodeID: "bomb", Attempt: 4, Status: workflow.NodeRunRunning, StartedAt: &now},
		},
	}))
	_, err := first.Store.ClaimExecution(ctx, store.ExecutionRef{TenantID: store.DefaultTenant, ID: exec.ID}, "crashed-worker", -time.Second, false)
	require.NoError(t, err)

	second := enginetest.Start(t, enginetest.Options{Path: first.Path, Takeover: true})
	done := second.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionFailed, done.Status)
	require.Equal(t, engine.CodeCrashed, done.Error.Code)
	require.Contains(t, done.Error.Message, "stopped during 3 of its attempts")
	require.Zero(t, second.Probe.Calls("crashy"), "the node is not run a fourth time")
}

// TestExecutionMemoryBudget runs the workflows that once drove the process to gigabytes: each fails
// with budget_exceeded, naming the node and the budget, and the process is fine.
func TestExecutionMemoryBudget(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{MaxExecutionBytes: 16 << 20})
	fields := make([]string, 0, 200)
	for i := range 200 {
		fields = append(fields, fmt.Sprintf(`"f%d":"{{ map(1..3, repeat('a', 1048576)) }}"`, i))
	}
	tests := []struct{ name, node, def string }{
		{name: "DataSetFields", node: "fat", def: `{"name":"fields","nodes":[{"id":"start","type":"trigger.manual"},
			{"id":"fat","type":"data.set","config":{"fields":{` + strings.Join(fields, ",") + `}}}],
			"edges":[{"source":"start","target":"fat"}]}`},
		{name: "ForEach", node: "fat", def: `{"name":"fanout","nodes":[{"id":"start","type":"trigger.manual"},
			{"id":"fat","type":"data.transform","forEach":"{{ 1..1000 }}","config":{"expression":"{{ repeat('a', 1048576) }}"}}],
			"edges":[{"source":"start","target":"fat"}]}`},
		{name: "ChainOfOutputs", node: "c", def: `{"name":"chain","nodes":[{"id":"start","type":"trigger.manual"},
			{"id":"a","type":"data.transform","config":{"expression":"{{ repeat('a', 4000000) }}"}},
			{"id":"b","type":"data.transform","config":{"expression":"{{ repeat('b', 4000000) }}"}},
			{"id":"c","type":"data.transform","config":{"expression":"{{ repeat('c', 4000000) }}"}}],
			"edges":[{"source":"start","target":"a"},{"source":"a","target":"b"},{"source":"b","target":"c"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := env.Save(t, tt.def)
			exec := env.Start(t, w.ID, `{}`)
			done := env.Wait(t, exec.ID)
			require.Equal(t, workflow.ExecutionFailed, done.Status)
			require.Equal(t, engine.CodeBudgetExceeded, done.Error.Code, done.Error.Message)
			require.Contains(t, done.Error.Message, "went over the execution's memory budget of 16 MiB (CM_MAX_EXECUTION_BYTES)")
			require.Equal(t, tt.node, done.Error.NodeID)
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{})
	w := env.Save(t, `{"name":"idem","nodes":[{"id":"start","type":"trigger.manual"}],"edges":[]}`)
	ctx := context.Background()
	params := serviceStart(w.ID, `{"a":1}`, "key-1")
	a, created, err := env.Service.StartExecution(ctx, store.DefaultTenant, params)
	require.NoError(t, err)
	require.True(t, created)
	b, created, err := env.Service.StartExecution(ctx, store.DefaultTenant, params)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, a.ID, b.ID)
	_, _, err = env.Service.StartExecution(ctx, store.DefaultTenant, serviceStart(w.ID, `{"a":2}`, "key-1"))
	require.ErrorIs(t, err, store.ErrConflict)
	require.True(t, strings.Contains(err.Error(), "different request"))
}

// TestExpiredLeaseIsReclaimed covers the multi-process path: without takeover, a running execution
// whose worker's lease has expired is found by the poll and finished by another worker.
func TestExpiredLeaseIsReclaimed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := first.Save(t, `{"name":"lease","nodes":[
		{"id":"start","type":"trigger.manual"},{"id":"work","type":"test.work","config":{"key":"lease"}}],
		"edges":[{"source":"start","target":"work"}]}`)
	exec := first.Start(t, w.ID, `{}`)
	_, err := first.Store.ClaimExecution(ctx, store.ExecutionRef{TenantID: store.DefaultTenant, ID: exec.ID}, "vanished-worker", -time.Second, false)
	require.NoError(t, err)

	second := enginetest.Start(t, enginetest.Options{Path: first.Path, Takeover: false})
	done := second.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status)
	require.Equal(t, 1, second.Probe.Calls("lease"))
}
