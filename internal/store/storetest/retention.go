package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// retentionBase is a fixed past instant the retention tests place finish times around.
var retentionBase = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// RunExecution creates an execution of workflow wf with one node run and two events, and moves it to
// status. A terminal status gets finishedAt as its finish time; waiting and running ones stay open.
func RunExecution(t *testing.T, s store.Store, tenant, wf string, status workflow.ExecutionStatus, finishedAt time.Time) *store.Execution {
	t.Helper()
	ctx := context.Background()
	exec, _, err := s.CreateExecution(ctx, tenant, store.CreateExecutionParams{
		ID: NewID(), WorkflowID: wf, WorkflowVersion: 1, TriggerKind: store.TriggerManual, TriggerNode: "start",
		Input:  json.RawMessage(`{"n":1}`),
		Events: []store.Event{{Type: "execution.queued", Time: finishedAt}},
	})
	require.NoError(t, err)
	if status == workflow.ExecutionQueued {
		return exec
	}
	_, err = s.ClaimExecution(ctx, store.ExecutionRef{TenantID: tenant, ID: exec.ID}, "w", time.Hour, false)
	require.NoError(t, err)
	u := &store.ExecutionUpdate{
		ExecutionID: exec.ID, Owner: "w",
		NodeRuns: []store.NodeRun{{NodeID: "set", Attempt: 1, Status: workflow.NodeRunSucceeded, Output: json.RawMessage(`{"a":1}`),
			StartedAt: &finishedAt, FinishedAt: &finishedAt}},
		Events: []store.Event{{Seq: 2, Type: "node.succeeded", NodeID: "set", Attempt: 1, Time: finishedAt}},
	}
	switch {
	case status.Terminal():
		u.From, u.To, u.SetFinishedAt, u.ReleaseLease = []workflow.ExecutionStatus{workflow.ExecutionRunning}, status, &finishedAt, true
	case status == workflow.ExecutionWaiting:
		wake := finishedAt.Add(time.Hour)
		u.From, u.To, u.WakeAt, u.ReleaseLease = []workflow.ExecutionStatus{workflow.ExecutionRunning}, status, &wake, true
	}
	require.NoError(t, s.ApplyExecutionUpdate(ctx, tenant, u))
	got, err := s.GetExecution(ctx, tenant, exec.ID)
	require.NoError(t, err)
	require.Equal(t, status, got.Status)
	return got
}

// requirePruned checks that an execution is gone with its node runs and events.
func requirePruned(t *testing.T, s store.Store, tenant, id string) {
	t.Helper()
	ctx := context.Background()
	_, err := s.GetExecution(ctx, tenant, id)
	require.ErrorIs(t, err, store.ErrNotFound)
	runs, err := s.ListNodeRuns(ctx, tenant, id)
	require.NoError(t, err)
	require.Empty(t, runs)
	events, err := s.ListEvents(ctx, tenant, id, 0, 0)
	require.NoError(t, err)
	require.Empty(t, events)
}

// requireKept checks that an execution is still there with its node runs and events.
func requireKept(t *testing.T, s store.Store, tenant string, execs ...*store.Execution) {
	t.Helper()
	ctx := context.Background()
	for _, e := range execs {
		got, err := s.GetExecution(ctx, tenant, e.ID)
		require.NoError(t, err, "execution %s (%s) must be kept", e.ID, e.Status)
		require.Equal(t, e.Status, got.Status)
		events, err := s.ListEvents(ctx, tenant, e.ID, 0, 0)
		require.NoError(t, err)
		require.NotEmpty(t, events)
	}
}

func newWorkflow(t *testing.T, s store.Store, tenant string, retention *workflow.Retention) string {
	t.Helper()
	id := NewID()
	def := Definition("retention")
	def.Settings.Retention = retention
	_, err := s.CreateWorkflow(context.Background(), tenant, id, def)
	require.NoError(t, err)
	return id
}

func testPruneExecutions(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	other := "tenant-" + NewID()
	require.NoError(t, s.CreateTenant(ctx, other, "Other"))
	wf := newWorkflow(t, s, tenant, nil)
	wf2 := newWorkflow(t, s, tenant, nil)
	old := retentionBase.Add(-48 * time.Hour)

	var gone []*store.Execution
	for i, st := range []workflow.ExecutionStatus{workflow.ExecutionSucceeded, workflow.ExecutionFailed, workflow.ExecutionCanceled} {
		gone = append(gone, RunExecution(t, s, tenant, wf, st, old.Add(time.Duration(i)*time.Minute)))
	}
	kept := []*store.Execution{
		RunExecution(t, s, tenant, wf, workflow.ExecutionSucceeded, retentionBase.Add(time.Hour)),
		RunExecution(t, s, tenant, wf, workflow.ExecutionSucceeded, retentionBase),
		RunExecution(t, s, tenant, wf, workflow.ExecutionQueued, old),
		RunExecution(t, s, tenant, wf, workflow.ExecutionRunning, old),
		RunExecution(t, s, tenant, wf, workflow.ExecutionWaiting, old),
		RunExecution(t, s, tenant, wf2, workflow.ExecutionFailed, old),
	}
	// The same workflow id in another tenant is another workflow.
	otherExec := RunExecution(t, s, other, wf, workflow.ExecutionFailed, old)

	// A limit bounds one call; the oldest go first.
	p := store.PruneParams{TenantID: tenant, WorkflowID: wf, FinishedBefore: retentionBase, Limit: 2}
	res, err := s.PruneExecutions(ctx, p)
	require.NoError(t, err)
	require.Equal(t, store.PruneResult{Executions: 2, NodeRuns: 2, Events: 4}, res)
	requirePruned(t, s, tenant, gone[0].ID)
	requirePruned(t, s, tenant, gone[1].ID)
	requireKept(t, s, tenant, gone[2])
	res, err = s.PruneExecutions(ctx, p)
	require.NoError(t, err)
	require.Equal(t, store.PruneResult{Executions: 1, NodeRuns: 1, Events: 2}, res)
	res, err = s.PruneExecutions(ctx, p)
	require.NoError(t, err)
	require.Zero(t, res)

	requirePruned(t, s, tenant, gone[2].ID)
	requireKept(t, s, tenant, kept...)
	requireKept(t, s, other, otherExec)
}

func testFinishedAtRank(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	wf := newWorkflow(t, s, tenant, nil)
	var finished []*store.Execution
	for i := range 5 {
		finished = append(finished, RunExecution(t, s, tenant, wf, workflow.ExecutionSucceeded, retentionBase.Add(time.Duration(i)*time.Minute)))
	}
	RunExecution(t, s, tenant, wf, workflow.ExecutionRunning, retentionBase.Add(time.Hour))
	RunExecution(t, s, tenant, newWorkflow(t, s, tenant, nil), workflow.ExecutionSucceeded, retentionBase.Add(time.Hour))

	tests := []struct {
		rank int
		want *time.Time
	}{
		{1, finished[4].FinishedAt},
		{2, finished[3].FinishedAt},
		{5, finished[0].FinishedAt},
		{6, nil},
	}
	for _, tt := range tests {
		got, err := s.FinishedAtRank(ctx, tenant, wf, tt.rank)
		require.NoError(t, err)
		if tt.want == nil {
			require.Nil(t, got, "rank %d", tt.rank)
			continue
		}
		require.NotNil(t, got, "rank %d", tt.rank)
		require.True(t, tt.want.Equal(*got), "rank %d: want %s, got %s", tt.rank, tt.want, got)
	}
	_, err := s.FinishedAtRank(ctx, tenant, wf, 0)
	require.ErrorIs(t, err, store.ErrInvalidInput)

	// Keeping the newest two: prune what finished before the second newest.
	cutoff, err := s.FinishedAtRank(ctx, tenant, wf, 2)
	require.NoError(t, err)
	res, err := s.PruneExecutions(ctx, store.PruneParams{TenantID: tenant, WorkflowID: wf, FinishedBefore: *cutoff})
	require.NoError(t, err)
	require.Equal(t, int64(3), res.Executions)
	requireKept(t, s, tenant, finished[3], finished[4])
	got, err := s.FinishedAtRank(ctx, tenant, wf, 3)
	require.NoError(t, err)
	require.Nil(t, got)
}

func testPruneRetryOf(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	wf := newWorkflow(t, s, tenant, nil)
	orig := RunExecution(t, s, tenant, wf, workflow.ExecutionFailed, retentionBase.Add(-time.Hour))
	runs, err := s.ListNodeRuns(ctx, tenant, orig.ID)
	require.NoError(t, err)
	retry, _, err := s.CreateExecution(ctx, tenant, store.CreateExecutionParams{
		ID: NewID(), WorkflowID: wf, WorkflowVersion: 1, TriggerKind: store.TriggerRetry, TriggerNode: "start",
		Input: orig.Input, RetryOf: orig.ID, Seed: runs,
		Events: []store.Event{{Type: "execution.queued", Time: retentionBase}},
	})
	require.NoError(t, err)

	res, err := s.PruneExecutions(ctx, store.PruneParams{TenantID: tenant, WorkflowID: wf, FinishedBefore: retentionBase})
	require.NoError(t, err)
	require.Equal(t, int64(1), res.Executions)
	requirePruned(t, s, tenant, orig.ID)

	got, err := s.GetExecution(ctx, tenant, retry.ID)
	require.NoError(t, err)
	require.Equal(t, orig.ID, got.RetryOf, "the retry still names the execution it retried")
	seeded, err := s.ListNodeRuns(ctx, tenant, retry.ID)
	require.NoError(t, err)
	require.Len(t, seeded, 1, "the retry keeps its seeded node runs")
	require.JSONEq(t, `{"a":1}`, string(seeded[0].Output))
}

func testPruneParams(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, p := range []store.PruneParams{
		{},
		{TenantID: store.DefaultTenant, WorkflowID: NewID()},
		{WorkflowID: NewID(), FinishedBefore: retentionBase},
		{TenantID: store.DefaultTenant, FinishedBefore: retentionBase},
		{TenantID: store.DefaultTenant, WorkflowID: NewID(), FinishedBefore: retentionBase, Limit: -1},
	} {
		_, err := s.PruneExecutions(ctx, p)
		require.ErrorIs(t, err, store.ErrInvalidInput, "%+v", p)
	}
}

func testRetentionWorkflows(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	other := "tenant-" + NewID()
	require.NoError(t, s.CreateTenant(ctx, other, "Other"))
	ownAge := newWorkflow(t, s, tenant, &workflow.Retention{MaxAge: workflow.Duration(24 * time.Hour)})
	ownCap := newWorkflow(t, s, other, &workflow.Retention{MaxExecutions: 100})
	plain := newWorkflow(t, s, tenant, nil)
	gone := newWorkflow(t, s, tenant, &workflow.Retention{MaxExecutions: 7})
	require.NoError(t, s.DeleteWorkflow(ctx, tenant, gone))

	key := func(tenantID, id string) string { return tenantID + "/" + id }
	list := func() map[string]store.RetentionWorkflow {
		t.Helper()
		out := map[string]store.RetentionWorkflow{}
		var p store.ListRetentionWorkflowsParams
		p.Limit = 1
		for {
			page, err := s.ListRetentionWorkflows(ctx, p)
			require.NoError(t, err)
			require.LessOrEqual(t, len(page), 1)
			if len(page) == 0 {
				return out
			}
			w := page[0]
			require.NotContains(t, out, key(w.TenantID, w.WorkflowID), "pages do not repeat")
			out[key(w.TenantID, w.WorkflowID)] = w
			p.AfterTenantID, p.AfterWorkflowID = w.TenantID, w.WorkflowID
		}
	}

	require.Equal(t, map[string]store.RetentionWorkflow{
		key(tenant, ownAge): {TenantID: tenant, WorkflowID: ownAge, MaxAge: 24 * time.Hour},
		key(other, ownCap):  {TenantID: other, WorkflowID: ownCap, MaxExecutions: 100},
		key(tenant, plain):  {TenantID: tenant, WorkflowID: plain},
		key(tenant, gone):   {TenantID: tenant, WorkflowID: gone, Deleted: true},
	}, list(), "every workflow, deleted ones without their rule")

	// Saving a version without the rule removes it; saving one with a rule sets it.
	_, err := s.UpdateWorkflow(ctx, tenant, ownAge, 1, Definition("no rule"), nil, nil)
	require.NoError(t, err)
	def := Definition("rule")
	def.Settings.Retention = &workflow.Retention{MaxAge: workflow.Duration(time.Hour), MaxExecutions: 3}
	_, err = s.UpdateWorkflow(ctx, tenant, plain, 1, def, nil, nil)
	require.NoError(t, err)
	all := list()
	require.Equal(t, store.RetentionWorkflow{TenantID: tenant, WorkflowID: ownAge}, all[key(tenant, ownAge)])
	require.Equal(t, store.RetentionWorkflow{TenantID: tenant, WorkflowID: plain, MaxAge: time.Hour, MaxExecutions: 3}, all[key(tenant, plain)])
}
