// Package storetest is the conformance suite every store.Store implementation passes, and factories
// for test data.
package storetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// NewStoreFunc returns a fresh, migrated, empty store for one test; it registers its own cleanup.
type NewStoreFunc func(t *testing.T) store.Store

// Definition returns a small valid-looking definition named name.
func Definition(name string) *workflow.Definition {
	return &workflow.Definition{
		Name: name,
		Nodes: []workflow.Node{
			{ID: "start", Type: "trigger.manual"},
			{ID: "set", Type: "data.set", Config: map[string]any{"fields": map[string]any{"a": 1.0}}},
		},
		Edges: []workflow.Edge{{Source: "start", Target: "set"}},
	}
}

var idCounter atomic.Int64

// NewID returns a time-ordered unique id, as the service layer makes them.
func NewID() string {
	idCounter.Add(1)
	return uuid.Must(uuid.NewV7()).String()
}

// Run runs the conformance suite.
func Run(t *testing.T, newStore NewStoreFunc) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CancelQueuedAndRunning", testCancel},
		{"CancelWaiting", testCancelWaiting},
		{"CancelIdempotencyKey", testCancelIdempotencyKey},
		{"RetryOnce", testRetryOnce},
		{"ClaimAndLease", testClaimAndLease},
		{"RaceClaims", testRaceClaims},
		{"RaceTakeoverFencing", testRaceTakeoverFencing},
		{"RaceCancelClaim", testRaceCancelClaim},
		{"RaceRenewTakeover", testRaceRenewTakeover},
		{"NodeRunStartAndEndInOneStep", testNodeRunStartAndEndInOneStep},
		{"CreateExecutionIdempotency", testIdempotency},
		{"EnqueueHookRunsAfterCommit", testEnqueueHook},
		{"ExecutionPreview", testExecutionPreview},
		{"ExecutionLevelEvents", testExecutionLevelEvents},
		{"ExecutionUpdates", testExecutionUpdates},
		{"FinishedAtRank", testFinishedAtRank},
		{"GetValue", testGetValue},
		{"ListExecutionsFiltersAndPages", testListExecutions},
		{"ListRunnable", testListRunnable},
		{"NodeRunSummaries", testNodeRunSummaries},
		{"PruneExecutions", testPruneExecutions},
		{"PruneParams", testPruneParams},
		{"PruneRetryOf", testPruneRetryOf},
		{"RetentionWorkflows", testRetentionWorkflows},
		{"SchedulesFollowWorkflow", testSchedulesFollowWorkflow},
		{"SchedulesAcrossTenants", testSchedulesAcrossTenants},
		{"FireScheduleConditional", testFireScheduleConditional},
		{"FireScheduleRace", testFireScheduleRace},
		{"TenantScoping", testTenantScoping},
		{"TextNoStoreCanHold", testTextNoStoreCanHold},
		{"WebhookRoutes", testWebhookRoutes},
		{"WorkflowCRUD", testWorkflowCRUD},
		{"WorkflowListPaging", testWorkflowList},
		{"WorkflowTags", testWorkflowTags},
		{"Pins", testPins},
		{"Users", testUsers},
		{"FirstUserAndTenants", testFirstUserAndTenants},
		{"Memberships", testMemberships},
		{"LastOwnerConcurrent", testLastOwnerConcurrent},
		{"RefreshTokens", testRefreshTokens},
		{"RotateConcurrent", testRotateConcurrent},
		{"APIKeys", testAPIKeys},
		{"Audit", testAudit},
		{"AuditWithWrite", testAuditWithWrite},
		{"WebhookCrossTenant", testWebhookCrossTenant},
		{"IdentityText", testIdentityText},
		{"CredentialsCRUD", testCredentialsCRUD},
		{"CredentialsConcurrentUpdate", testCredentialsConcurrentUpdate},
		{"CredentialVault", testCredentialVault},
		{"CredentialsAfterAndKeyCleanup", testCredentialsAfterAndKeyCleanup},
		{"FindAndActiveWorkflows", testFindAndActiveWorkflows},
		{"Processes", testProcesses},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

func testWorkflowCRUD(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	id := NewID()
	w, err := s.CreateWorkflow(ctx, tenant, id, Definition("orders"))
	require.NoError(t, err)
	require.Equal(t, 1, w.Version)
	require.Equal(t, 2, w.NodeCount)

	_, err = s.CreateWorkflow(ctx, tenant, id, Definition("orders"))
	require.ErrorIs(t, err, store.ErrConflict)

	got, err := s.GetWorkflow(ctx, tenant, id)
	require.NoError(t, err)
	require.Equal(t, "orders", got.Name)
	require.Equal(t, "set", got.Definition.Nodes[1].ID)
	require.Equal(t, 1.0, got.Definition.Nodes[1].Config["fields"].(map[string]any)["a"])
	require.False(t, got.Active)

	def2 := Definition("orders v2")
	def2.Description = "second"
	w2, err := s.UpdateWorkflow(ctx, tenant, id, 1, def2, nil, nil)
	require.NoError(t, err)
	require.Equal(t, 2, w2.Version)
	require.Equal(t, "orders v2", w2.Name)

	_, err = s.UpdateWorkflow(ctx, tenant, id, 1, def2, nil, nil)
	require.ErrorIs(t, err, store.ErrVersionMismatch)
	_, err = s.UpdateWorkflow(ctx, tenant, NewID(), 1, def2, nil, nil)
	require.ErrorIs(t, err, store.ErrNotFound)

	versions, err := s.ListWorkflowVersions(ctx, tenant, id, store.ListVersionsParams{Limit: 1})
	require.NoError(t, err)
	require.Len(t, versions.Items, 1)
	require.Equal(t, 2, versions.Items[0].Version)
	require.NotEmpty(t, versions.NextCursor)
	versions, err = s.ListWorkflowVersions(ctx, tenant, id, store.ListVersionsParams{Cursor: versions.NextCursor})
	require.NoError(t, err)
	require.Len(t, versions.Items, 1)
	require.Equal(t, 1, versions.Items[0].Version)
	require.Empty(t, versions.Items[0].Definition.Nodes, "lists leave definitions out")
	require.False(t, versions.Items[0].CreatedAt.IsZero())
	require.Empty(t, versions.NextCursor)

	v1, err := s.GetWorkflowVersion(ctx, tenant, id, 1)
	require.NoError(t, err)
	require.Equal(t, "orders", v1.Definition.Name)
	_, err = s.GetWorkflowVersion(ctx, tenant, id, 9)
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.DeleteWorkflow(ctx, tenant, id))
	_, err = s.GetWorkflow(ctx, tenant, id)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeleteWorkflow(ctx, tenant, id), store.ErrNotFound)
	// Versions stay readable for the executions that pinned them: one by one, and listed.
	_, err = s.GetWorkflowVersion(ctx, tenant, id, 2)
	require.NoError(t, err)
	versions, err = s.ListWorkflowVersions(ctx, tenant, id, store.ListVersionsParams{})
	require.NoError(t, err)
	require.Len(t, versions.Items, 2)
	_, err = s.ListWorkflowVersions(ctx, tenant, NewID(), store.ListVersionsParams{})
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testWorkflowList(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	for i := range 7 {
		name := fmt.Sprintf("billing %d", i)
		if i%2 == 1 {
			name = fmt.Sprintf("Shipping_%d", i)
		}
		_, err := s.CreateWorkflow(ctx, tenant, NewID(), Definition(name))
		require.NoError(t, err)
	}
	var names []string
	cursor := ""
	for {
		page, err := s.ListWorkflows(ctx, tenant, store.ListWorkflowsParams{Limit: 3, Cursor: cursor})
		require.NoError(t, err)
		for _, w := range page.Items {
			require.Empty(t, w.Definition.Nodes, "list results leave the definition out")
			names = append(names, w.Name)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	require.Len(t, names, 7)
	require.Equal(t, "billing 6", names[0], "most recently updated first")

	page, err := s.ListWorkflows(ctx, tenant, store.ListWorkflowsParams{Name: "SHIPPING"})
	require.NoError(t, err)
	require.Len(t, page.Items, 3)
	page, err = s.ListWorkflows(ctx, tenant, store.ListWorkflowsParams{Name: "_"})
	require.NoError(t, err)
	require.Len(t, page.Items, 3, "LIKE wildcards in the filter are literal")

	_, err = s.ListWorkflows(ctx, tenant, store.ListWorkflowsParams{Cursor: "!!not-a-cursor"})
	require.ErrorIs(t, err, store.ErrInvalidInput)
}

func testWorkflowTags(t *testing.T, s store.Store) {
	ctx := store.WithActor(context.Background(), "user-1")
	const tenant = store.DefaultTenant
	tagged := func(name string, tags ...string) *workflow.Definition {
		def := Definition(name)
		def.Tags = tags
		return def
	}
	billing, err := s.CreateWorkflow(ctx, tenant, NewID(), tagged("billing", "Finance", "nightly"))
	require.NoError(t, err)
	require.Equal(t, []string{"Finance", "nightly"}, billing.Tags)
	_, err = s.CreateWorkflow(ctx, tenant, NewID(), tagged("payroll", "finance"))
	require.NoError(t, err)
	_, err = s.CreateWorkflow(ctx, tenant, NewID(), tagged("untagged"))
	require.NoError(t, err)
	_, err = s.CreateWorkflow(ctx, tenant, NewID(), tagged("like", "fin_nce"))
	require.NoError(t, err)
	other := "other-" + NewID()
	require.NoError(t, s.CreateTenant(ctx, other, "Other"))
	_, err = s.CreateWorkflow(ctx, other, NewID(), tagged("elsewhere", "finance", "secret"))
	require.NoError(t, err)

	names := func(tag string) []string {
		t.Helper()
		page, err := s.ListWorkflows(ctx, tenant, store.ListWorkflowsParams{Tag: tag})
		require.NoError(t, err)
		var out []string
		for _, w := range page.Items {
			out = append(out, w.Name)
		}
		return out
	}
	require.Equal(t, []string{"payroll", "billing"}, names("FINANCE"), "tags compare ignoring case, within the tenant")
	require.Equal(t, []string{"billing"}, names("nightly"))
	require.Empty(t, names("night"), "a tag matches whole, not as a substring")
	require.Equal(t, []string{"like"}, names("fin_nce"), "an underscore is literal")
	require.Empty(t, names(`a"b`), "a tag no workflow can carry matches nothing")

	counts, err := s.ListWorkflowTags(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, []store.TagCount{{Tag: "Finance", Count: 2}, {Tag: "fin_nce", Count: 1}, {Tag: "nightly", Count: 1}}, counts)

	// Tags follow the current version; versions record who saved them.
	def := tagged("billing", "ops")
	updated, err := s.UpdateWorkflow(store.WithActor(ctx, "apikey:k1"), tenant, billing.ID, 1, def, nil, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"ops"}, updated.Tags)
	require.Empty(t, names("nightly"))
	got, err := s.GetWorkflow(ctx, tenant, billing.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"ops"}, got.Tags)
	versions, err := s.ListWorkflowVersions(ctx, tenant, billing.ID, store.ListVersionsParams{})
	require.NoError(t, err)
	require.Len(t, versions.Items, 2)
	require.Equal(t, "apikey:k1", versions.Items[0].CreatedBy)
	require.Equal(t, "user-1", versions.Items[1].CreatedBy)
	v1, err := s.GetWorkflowVersion(context.Background(), tenant, billing.ID, 1)
	require.NoError(t, err)
	require.Equal(t, "user-1", v1.CreatedBy)
	require.Equal(t, []string{"Finance", "nightly"}, v1.Definition.Tags)
}

func testWebhookRoutes(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	a, b := NewID(), NewID()
	for _, id := range []string{a, b} {
		_, err := s.CreateWorkflow(ctx, tenant, id, Definition("hook"))
		require.NoError(t, err)
	}
	route := store.WebhookRoute{Method: "POST", Path: "orders/new", NodeID: "hook", Respond: "immediately"}
	w, err := s.SetWorkflowActive(ctx, tenant, a, true, []store.WebhookRoute{route}, nil)
	require.NoError(t, err)
	require.True(t, w.Active)
	require.Equal(t, "hook", w.Definition.Name)

	got, err := s.LookupWebhook(ctx, "POST", "orders/new")
	require.NoError(t, err)
	require.Equal(t, a, got.WorkflowID)
	require.Equal(t, tenant, got.TenantID)
	require.Equal(t, "hook", got.NodeID)
	require.Equal(t, "immediately", got.Respond)
	require.Equal(t, 1, got.Version)
	_, err = s.LookupWebhook(ctx, "GET", "orders/new")
	require.ErrorIs(t, err, store.ErrNotFound)

	_, err = s.SetWorkflowActive(ctx, tenant, b, true, []store.WebhookRoute{route}, nil)
	var conflict *store.RouteConflictError
	require.ErrorAs(t, err, &conflict)
	require.Equal(t, a, conflict.WorkflowID)
	wb, err := s.GetWorkflow(ctx, tenant, b)
	require.NoError(t, err)
	require.False(t, wb.Active, "a refused activation changes nothing")

	// An update of an active workflow moves its routes.
	moved := store.WebhookRoute{Method: "POST", Path: "orders/moved", NodeID: "hook", Respond: "onCompletion"}
	_, err = s.UpdateWorkflow(ctx, tenant, a, 1, Definition("hook"), []store.WebhookRoute{moved}, nil)
	require.NoError(t, err)
	_, err = s.LookupWebhook(ctx, "POST", "orders/new")
	require.ErrorIs(t, err, store.ErrNotFound)
	got, err = s.LookupWebhook(ctx, "POST", "orders/moved")
	require.NoError(t, err)
	require.Equal(t, 2, got.Version, "routes follow the current version")

	_, err = s.SetWorkflowActive(ctx, tenant, a, false, nil, nil)
	require.NoError(t, err)
	_, err = s.LookupWebhook(ctx, "POST", "orders/moved")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.SetWorkflowActive(ctx, tenant, b, true, []store.WebhookRoute{route}, nil)
	require.NoError(t, err)
	require.NoError(t, s.DeleteWorkflow(ctx, tenant, b))
	_, err = s.LookupWebhook(ctx, "POST", "orders/new")
	require.ErrorIs(t, err, store.ErrNotFound, "deleting a workflow drops its routes")
}

// NewExecution creates a queued execution of a new workflow and returns it.
func NewExecution(t *testing.T, s store.Store, tenant string) *store.Execution {
	t.Helper()
	ctx := context.Background()
	wf := NewID()
	_, err := s.CreateWorkflow(ctx, tenant, wf, Definition("x"))
	require.NoError(t, err)
	exec, created, err := s.CreateExecution(ctx, tenant, store.CreateExecutionParams{
		ID: NewID(), WorkflowID: wf, WorkflowVersion: 1, TriggerKind: store.TriggerManual, TriggerNode: "start",
		Input:  json.RawMessage(`{"n":1}`),
		Events: []store.Event{{Type: "execution.queued", Time: time.Now()}},
	})
	require.NoError(t, err)
	require.True(t, created)
	return exec
}

func testIdempotency(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	wf := NewID()
	_, err := s.CreateWorkflow(ctx, tenant, wf, Definition("x"))
	require.NoError(t, err)
	params := store.CreateExecutionParams{
		ID: NewID(), WorkflowID: wf, WorkflowVersion: 1, TriggerKind: store.TriggerManual,
		Input: json.RawMessage(`{}`), IdempotencyKey: "key-1", RequestHash: "h1",
	}
	first, created, err := s.CreateExecution(ctx, tenant, params)
	require.NoError(t, err)
	require.True(t, created)

	params.ID = NewID()
	again, created, err := s.CreateExecution(ctx, tenant, params)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID, again.ID)

	params.ID, params.RequestHash = NewID(), "h2"
	_, _, err = s.CreateExecution(ctx, tenant, params)
	require.ErrorIs(t, err, store.ErrConflict)
}

func testEnqueueHook(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	wf := NewID()
	_, err := s.CreateWorkflow(ctx, tenant, wf, Definition("x"))
	require.NoError(t, err)
	committed := make(chan string, 1)
	exec, _, err := s.CreateExecution(ctx, tenant, store.CreateExecutionParams{
		ID: NewID(), WorkflowID: wf, WorkflowVersion: 1, TriggerKind: store.TriggerManual,
		Enqueue: func(_ context.Context, tx store.Tx, e *store.Execution) error {
			tx.OnCommit(func() { committed <- e.ID })
			return nil
		},
	})
	require.NoError(t, err)
	select {
	case id := <-committed:
		require.Equal(t, exec.ID, id)
	default:
		t.Fatal("OnCommit did not run after commit")
	}

	// A failing hook rolls the insert back.
	failID := NewID()
	_, _, err = s.CreateExecution(ctx, tenant, store.CreateExecutionParams{
		ID: failID, WorkflowID: wf, WorkflowVersion: 1, TriggerKind: store.TriggerManual,
		Enqueue: func(context.Context, store.Tx, *store.Execution) error { return errors.New("queue down") },
	})
	require.ErrorContains(t, err, "queue down")
	_, err = s.GetExecution(ctx, tenant, failID)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testClaimAndLease(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	exec := NewExecution(t, s, tenant)
	ref := store.ExecutionRef{TenantID: tenant, ID: exec.ID}
	const lease = time.Minute

	claimed, err := s.ClaimExecution(ctx, ref, "worker-a", lease, false)
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionRunning, claimed.Status)
	require.Equal(t, "worker-a", claimed.LeaseOwner)
	require.JSONEq(t, `{"n":1}`, string(claimed.Input))

	_, err = s.ClaimExecution(ctx, ref, "worker-b", lease, false)
	require.ErrorIs(t, err, store.ErrConflict, "a live lease is not claimable")
	again, err := s.ClaimExecution(ctx, ref, "worker-b", lease, true)
	require.NoError(t, err, "takeover claims a running execution")
	require.Equal(t, "worker-b", again.LeaseOwner)

	// Only the owner may write.
	err = s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: exec.ID, Owner: "worker-a", To: workflow.ExecutionSucceeded})
	require.ErrorIs(t, err, store.ErrConflict)

	renewed, err := s.RenewLeases(ctx, []store.Lease{{Ref: ref, Owner: "worker-b"}}, time.Hour)
	require.NoError(t, err)
	require.Empty(t, renewed.Cancel)
	require.Empty(t, renewed.Lost)
	got, err := s.GetExecution(ctx, tenant, exec.ID)
	require.NoError(t, err)
	require.True(t, got.LeaseExpiresAt.After(time.Now().Add(50*time.Minute)))
}

func testExecutionUpdates(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	exec := NewExecution(t, s, tenant)
	_, err := s.ClaimExecution(ctx, store.ExecutionRef{TenantID: tenant, ID: exec.ID}, "w", time.Minute, false)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Millisecond)

	committed := false
	err = s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{
		ExecutionID:  exec.ID,
		Owner:        "w",
		SetStartedAt: &now,
		NodeRuns: []store.NodeRun{{NodeID: "set", Attempt: 1, Status: workflow.NodeRunRunning,
			Input: json.RawMessage(`{"big":"input"}`), StartedAt: &now}},
		Events:   []store.Event{{Seq: 2, Type: "execution.started", Time: now}, {Seq: 3, Type: "node.started", NodeID: "set", Attempt: 1, Time: now}},
		OnCommit: func() { committed = true },
	})
	require.NoError(t, err)
	require.True(t, committed)

	later := now.Add(time.Second)
	err = s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{
		ExecutionID: exec.ID, Owner: "w",
		From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, To: workflow.ExecutionFailed,
		SetFinishedAt: &later, Error: &store.ExecutionError{Message: "boom", NodeID: "set"}, ReleaseLease: true,
		NodeRuns: []store.NodeRun{{NodeID: "set", Attempt: 1, Status: workflow.NodeRunFailed, FinishedAt: &later,
			Error: &store.NodeError{Message: "boom", Code: "x", Details: json.RawMessage(`{"status":500}`)},
			Logs:  []store.LogEntry{{Time: later, Level: "INFO", Message: "trying"}}}},
		Events: []store.Event{{Seq: 4, Type: "node.failed", NodeID: "set", Attempt: 1, Time: later, Data: json.RawMessage(`{"error":"boom"}`)}},
	})
	require.NoError(t, err)

	got, err := s.GetExecution(ctx, tenant, exec.ID)
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionFailed, got.Status)
	require.Equal(t, "boom", got.Error.Message)
	require.Equal(t, int64(4), got.LastSeq)
	require.Empty(t, got.LeaseOwner)
	require.WithinDuration(t, now, *got.StartedAt, time.Millisecond)
	require.WithinDuration(t, later, *got.FinishedAt, time.Millisecond)

	runs, err := s.ListNodeRuns(ctx, tenant, exec.ID)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, workflow.NodeRunFailed, runs[0].Status)
	require.JSONEq(t, `{"big":"input"}`, string(runs[0].Input), "input is kept when a later transition omits it")
	require.Equal(t, "x", runs[0].Error.Code)
	require.JSONEq(t, `{"status":500}`, string(runs[0].Error.Details))
	require.Equal(t, "trying", runs[0].Logs[0].Message)
	require.NotNil(t, runs[0].StartedAt)

	events, err := s.ListEvents(ctx, tenant, exec.ID, 1, 0)
	require.NoError(t, err)
	require.Len(t, events, 3)
	require.Equal(t, int64(2), events[0].Seq)
	require.Equal(t, "node.failed", events[2].Type)
	require.JSONEq(t, `{"error":"boom"}`, string(events[2].Data))

	// A terminal execution refuses a transition that expects it running.
	err = s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: exec.ID,
		From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, To: workflow.ExecutionSucceeded})
	require.ErrorIs(t, err, store.ErrConflict)
}

func testListExecutions(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	wfA, wfB := NewID(), NewID()
	for _, id := range []string{wfA, wfB} {
		_, err := s.CreateWorkflow(ctx, tenant, id, Definition("x"))
		require.NoError(t, err)
	}
	var ids []string
	var created []*store.Execution
	for i := range 6 {
		wf := wfA
		if i%3 == 2 {
			wf = wfB
		}
		trigger := store.TriggerManual
		if i%2 == 1 {
			trigger = store.TriggerWebhook
		}
		e, _, err := s.CreateExecution(ctx, tenant, store.CreateExecutionParams{ID: NewID(), WorkflowID: wf, WorkflowVersion: 1, TriggerKind: trigger,
			Input: json.RawMessage(`{"large":"payload"}`)})
		require.NoError(t, err)
		ids = append(ids, e.ID)
		created = append(created, e)
	}
	_, err := s.RequestCancel(ctx, tenant, ids[0], store.CancelParams{})
	require.NoError(t, err)

	page, err := s.ListExecutions(ctx, tenant, store.ListExecutionsParams{Limit: 4})
	require.NoError(t, err)
	require.Len(t, page.Items, 4)
	require.Equal(t, ids[5], page.Items[0].ID, "newest first")
	require.Nil(t, page.Items[0].Input, "lists leave payloads out")
	page, err = s.ListExecutions(ctx, tenant, store.ListExecutionsParams{Limit: 4, Cursor: page.NextCursor})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	require.Empty(t, page.NextCursor)

	page, err = s.ListExecutions(ctx, tenant, store.ListExecutionsParams{WorkflowID: wfB})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	page, err = s.ListExecutions(ctx, tenant, store.ListExecutionsParams{WorkflowID: wfA, Status: workflow.ExecutionCanceled})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, ids[0], page.Items[0].ID)

	page, err = s.ListExecutions(ctx, tenant, store.ListExecutionsParams{TriggerKind: store.TriggerWebhook})
	require.NoError(t, err)
	require.Equal(t, []string{ids[5], ids[3], ids[1]}, executionIDs(page.Items), "the trigger filter keeps webhook runs")
	page, err = s.ListExecutions(ctx, tenant, store.ListExecutionsParams{WorkflowID: wfA, TriggerKind: store.TriggerManual})
	require.NoError(t, err)
	require.Equal(t, []string{ids[4], ids[0]}, executionIDs(page.Items))

	// The time window is [CreatedAfter, CreatedBefore): compare with the times the store gave.
	after, before := created[2].CreatedAt, created[4].CreatedAt
	var want []string
	for i := len(created) - 1; i >= 0; i-- {
		if at := created[i].CreatedAt; !at.Before(after) && at.Before(before) {
			want = append(want, created[i].ID)
		}
	}
	page, err = s.ListExecutions(ctx, tenant, store.ListExecutionsParams{CreatedAfter: after, CreatedBefore: before})
	require.NoError(t, err)
	require.Equal(t, want, executionIDs(page.Items))
	require.Contains(t, executionIDs(page.Items), ids[2], "the lower bound is inclusive")
	page, err = s.ListExecutions(ctx, tenant, store.ListExecutionsParams{CreatedAfter: created[5].CreatedAt.Add(time.Hour)})
	require.NoError(t, err)
	require.Empty(t, page.Items)
}

func executionIDs(items []store.Execution) []string {
	ids := make([]string, 0, len(items))
	for _, e := range items {
		ids = append(ids, e.ID)
	}
	return ids
}

func testCancel(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	nodes := store.CancelParams{NodeIDs: []string{"start", "set"}}
	queued := NewExecution(t, s, tenant)
	got, err := s.RequestCancel(ctx, tenant, queued.ID, nodes)
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionCanceled, got.Status)
	require.NotNil(t, got.FinishedAt)
	// Every node of a queued execution is canceled, in definition order, with gapless events.
	requireEvents(t, s, queued.ID, []string{"execution.queued", "node.canceled start 1", "node.canceled set 1", "execution.finished"})
	require.Equal(t, int64(4), got.LastSeq)
	runs, err := s.ListNodeRuns(ctx, tenant, queued.ID)
	require.NoError(t, err)
	require.Len(t, runs, 2)
	for _, r := range runs {
		require.Equal(t, workflow.NodeRunCanceled, r.Status)
		require.Equal(t, "canceled", r.Error.Code)
		require.NotNil(t, r.FinishedAt)
	}
	_, err = s.RequestCancel(ctx, tenant, queued.ID, nodes)
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.RequestCancel(ctx, tenant, NewID(), nodes)
	require.ErrorIs(t, err, store.ErrNotFound)

	running := NewExecution(t, s, tenant)
	ref := store.ExecutionRef{TenantID: tenant, ID: running.ID}
	_, err = s.ClaimExecution(ctx, ref, "w", time.Minute, false)
	require.NoError(t, err)
	got, err = s.RequestCancel(ctx, tenant, running.ID, nodes)
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionRunning, got.Status)
	require.True(t, got.CancelRequested)
	renewed, err := s.RenewLeases(ctx, []store.Lease{{Ref: ref, Owner: "w"}}, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []store.ExecutionRef{ref}, renewed.Cancel)
	require.Empty(t, renewed.Lost)
}

// requireEvents checks an execution's whole event log: each entry is "type" or "type node attempt",
// and the sequence numbers run from 1 without gaps.
func requireEvents(t *testing.T, s store.Store, executionID string, want []string) {
	t.Helper()
	events, err := s.ListEvents(context.Background(), store.DefaultTenant, executionID, 0, 0)
	require.NoError(t, err)
	got := make([]string, len(events))
	for i, ev := range events {
		require.Equal(t, int64(i+1), ev.Seq, "gapless")
		got[i] = ev.Type
		if ev.NodeID != "" {
			got[i] = fmt.Sprintf("%s %s %d", ev.Type, ev.NodeID, ev.Attempt)
		}
	}
	require.Equal(t, want, got)
}

// testCancelWaiting cancels a waiting execution: its waiting node, the node whose retry is pending
// and the nodes that never ran are canceled as the engine cancels a running one; finished nodes keep
// their runs.
func testCancelWaiting(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	exec := NewExecution(t, s, tenant)
	ref := store.ExecutionRef{TenantID: tenant, ID: exec.ID}
	_, err := s.ClaimExecution(ctx, ref, "w", time.Minute, false)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Millisecond)
	wake := now.Add(time.Hour)
	require.NoError(t, s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{
		ExecutionID: exec.ID, Owner: "w", From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, To: workflow.ExecutionWaiting,
		WakeAt: &wake, ReleaseLease: true,
		NodeRuns: []store.NodeRun{
			{NodeID: "start", Attempt: 1, Status: workflow.NodeRunSucceeded, Output: json.RawMessage(`{}`), StartedAt: &now, FinishedAt: &now},
			{NodeID: "delay", Attempt: 1, Status: workflow.NodeRunWaiting, StartedAt: &now, WakeAt: &wake},
			{NodeID: "flaky", Attempt: 1, Status: workflow.NodeRunFailed, StartedAt: &now, FinishedAt: &now, WakeAt: &wake,
				Error: &store.NodeError{Message: "boom"}},
			{NodeID: "gaveup", Attempt: 1, Status: workflow.NodeRunFailed, Port: "error", StartedAt: &now, FinishedAt: &now,
				Error: &store.NodeError{Message: "boom"}},
		},
		Events: []store.Event{
			{Seq: 2, Type: "node.succeeded", NodeID: "start", Attempt: 1, Time: now},
			{Seq: 3, Type: "node.waiting", NodeID: "delay", Attempt: 1, Time: now},
			{Seq: 4, Type: "node.retrying", NodeID: "flaky", Attempt: 1, Time: now},
			{Seq: 5, Type: "node.failed", NodeID: "gaveup", Attempt: 1, Time: now},
			{Seq: 6, Type: "execution.waiting", Time: now},
		},
	}))

	got, err := s.RequestCancel(ctx, tenant, exec.ID, store.CancelParams{NodeIDs: []string{"start", "delay", "flaky", "gaveup", "later"}})
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionCanceled, got.Status)
	require.Nil(t, got.WakeAt)
	requireEvents(t, s, exec.ID, []string{"execution.queued", "node.succeeded start 1", "node.waiting delay 1", "node.retrying flaky 1",
		"node.failed gaveup 1", "execution.waiting", "node.canceled delay 1", "node.canceled flaky 2", "node.canceled later 1", "execution.finished"})
	require.Equal(t, int64(10), got.LastSeq)

	runs, err := s.ListNodeRuns(ctx, tenant, exec.ID)
	require.NoError(t, err)
	status := map[string]workflow.NodeRunStatus{}
	for _, r := range runs {
		status[fmt.Sprintf("%s/%d", r.NodeID, r.Attempt)] = r.Status
	}
	require.Equal(t, map[string]workflow.NodeRunStatus{
		"start/1": workflow.NodeRunSucceeded, "delay/1": workflow.NodeRunCanceled, "flaky/1": workflow.NodeRunFailed,
		"flaky/2": workflow.NodeRunCanceled, "gaveup/1": workflow.NodeRunFailed, "later/1": workflow.NodeRunCanceled,
	}, status)
}

// testCancelIdempotencyKey repeats cancel requests: the one whose key was kept with the execution
// answers with it once it has finished; any other answers ErrConflict.
func testCancelIdempotencyKey(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	queued := NewExecution(t, s, tenant)
	first, err := s.RequestCancel(ctx, tenant, queued.ID, store.CancelParams{IdempotencyKey: "k1"})
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionCanceled, first.Status)
	again, err := s.RequestCancel(ctx, tenant, queued.ID, store.CancelParams{IdempotencyKey: "k1"})
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, first.LastSeq, again.LastSeq, "a repeated cancel writes nothing")
	_, err = s.RequestCancel(ctx, tenant, queued.ID, store.CancelParams{IdempotencyKey: "k2"})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.RequestCancel(ctx, tenant, queued.ID, store.CancelParams{})
	require.ErrorIs(t, err, store.ErrConflict)

	// A running execution keeps the first key through to the end of its run.
	running := NewExecution(t, s, tenant)
	ref := store.ExecutionRef{TenantID: tenant, ID: running.ID}
	_, err = s.ClaimExecution(ctx, ref, "w", time.Minute, false)
	require.NoError(t, err)
	for _, key := range []string{"r1", "r2", "r1"} {
		got, err := s.RequestCancel(ctx, tenant, running.ID, store.CancelParams{IdempotencyKey: key})
		require.NoError(t, err)
		require.Equal(t, workflow.ExecutionRunning, got.Status)
	}
	now := time.Now().UTC()
	require.NoError(t, s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: running.ID, Owner: "w",
		To: workflow.ExecutionCanceled, SetFinishedAt: &now, ReleaseLease: true}))
	got, err := s.RequestCancel(ctx, tenant, running.ID, store.CancelParams{IdempotencyKey: "r1"})
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionCanceled, got.Status)
	_, err = s.RequestCancel(ctx, tenant, running.ID, store.CancelParams{IdempotencyKey: "r2"})
	require.ErrorIs(t, err, store.ErrConflict)
}

// testRetryOnce retries executions: each is retried at most once, also under concurrent requests;
// repeating a retry with the idempotency key of the retry answers with that retry.
func testRetryOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	failed := func() *store.Execution {
		e := NewExecution(t, s, tenant)
		now := time.Now().UTC()
		require.NoError(t, s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: e.ID, To: workflow.ExecutionFailed, SetFinishedAt: &now,
			Error: &store.ExecutionError{Message: "boom"}}))
		return e
	}
	retry := func(orig *store.Execution, key string) (*store.Execution, bool, error) {
		p := store.CreateExecutionParams{ID: NewID(), WorkflowID: orig.WorkflowID, WorkflowVersion: 1, TriggerKind: store.TriggerRetry,
			TriggerNode: "start", Input: orig.Input, RetryOf: orig.ID}
		if key != "" {
			p.IdempotencyKey, p.RequestHash = key, "retry:"+orig.ID
		}
		return s.CreateExecution(ctx, tenant, p)
	}

	a := failed()
	first, created, err := retry(a, "")
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, a.ID, first.RetryOf)
	_, _, err = retry(a, "")
	require.ErrorIs(t, err, store.ErrConflict)
	var retried *store.RetriedError
	require.ErrorAs(t, err, &retried)
	require.Equal(t, first.ID, retried.RetryID)
	_, _, err = retry(a, "k")
	require.ErrorIs(t, err, store.ErrConflict, "a key does not make a second retry")
	_, _, err = retry(&store.Execution{ID: NewID(), WorkflowID: a.WorkflowID}, "")
	require.ErrorIs(t, err, store.ErrNotFound)

	b := failed()
	keyed, created, err := retry(b, "k")
	require.NoError(t, err)
	require.True(t, created)
	again, created, err := retry(b, "k")
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, keyed.ID, again.ID)

	// Ten concurrent retries of one execution create one; with one key, all answer with it.
	for _, key := range []string{"", "same"} {
		c := failed()
		ids := make(chan string, 10)
		errs := make(chan error, 10)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				e, _, err := retry(c, key)
				if err != nil {
					errs <- err
					return
				}
				ids <- e.ID
			})
		}
		wg.Wait()
		close(ids)
		close(errs)
		distinct := map[string]bool{}
		for id := range ids {
			distinct[id] = true
		}
		require.Len(t, distinct, 1, "key %q", key)
		conflicts := 0
		for err := range errs {
			require.ErrorIs(t, err, store.ErrConflict)
			conflicts++
		}
		if key == "" {
			require.Equal(t, 9, conflicts)
		} else {
			require.Zero(t, conflicts)
		}
		page, err := s.ListExecutions(ctx, tenant, store.ListExecutionsParams{WorkflowID: c.WorkflowID})
		require.NoError(t, err)
		require.Len(t, page.Items, 2, "the execution and its one retry")
	}
}

func testListRunnable(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	queued := NewExecution(t, s, tenant)
	dueWaiting := NewExecution(t, s, tenant)
	laterWaiting := NewExecution(t, s, tenant)
	expired := NewExecution(t, s, tenant)
	live := NewExecution(t, s, tenant)
	now := time.Now()

	claim := func(e *store.Execution, lease time.Duration) {
		_, err := s.ClaimExecution(ctx, store.ExecutionRef{TenantID: tenant, ID: e.ID}, "w", lease, false)
		require.NoError(t, err)
	}
	wait := func(e *store.Execution, at time.Time) {
		claim(e, time.Minute)
		require.NoError(t, s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: e.ID,
			From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, To: workflow.ExecutionWaiting, WakeAt: &at, ReleaseLease: true}))
	}
	wait(dueWaiting, now.Add(-time.Second))
	wait(laterWaiting, now.Add(time.Hour))
	claim(expired, -time.Second)
	claim(live, time.Hour)

	refs, err := s.ListRunnable(ctx, store.RunnableParams{Now: now, Limit: 100})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{queued.ID, dueWaiting.ID, expired.ID}, refIDs(refs))

	refs, err = s.ListRunnable(ctx, store.RunnableParams{Now: now, Limit: 100, AnyLease: true})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{queued.ID, dueWaiting.ID, expired.ID, live.ID}, refIDs(refs))

	next, err := s.NextWakeAt(ctx)
	require.NoError(t, err)
	require.WithinDuration(t, now.Add(-time.Second), *next, time.Millisecond)

	// A waiting execution is claimable only once due.
	_, err = s.ClaimExecution(ctx, store.ExecutionRef{TenantID: tenant, ID: laterWaiting.ID}, "w2", time.Minute, false)
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.ClaimExecution(ctx, store.ExecutionRef{TenantID: tenant, ID: dueWaiting.ID}, "w2", time.Minute, false)
	require.NoError(t, err)
}

func refIDs(refs []store.ExecutionRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.ID
	}
	return out
}

func testTenantScoping(t *testing.T, s store.Store) {
	ctx := context.Background()
	other := "tenant-" + NewID()
	require.NoError(t, s.CreateTenant(ctx, other, "Other"))
	require.ErrorIs(t, s.CreateTenant(ctx, other, "Other"), store.ErrConflict)

	wf := NewID()
	_, err := s.CreateWorkflow(ctx, store.DefaultTenant, wf, Definition("mine"))
	require.NoError(t, err)
	exec := NewExecution(t, s, store.DefaultTenant)

	_, err = s.GetWorkflow(ctx, other, wf)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.UpdateWorkflow(ctx, other, wf, 1, Definition("stolen"), nil, nil)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeleteWorkflow(ctx, other, wf), store.ErrNotFound)
	_, err = s.SetWorkflowActive(ctx, other, wf, true, nil, nil)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.ListWorkflowVersions(ctx, other, wf, store.ListVersionsParams{})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetWorkflowVersion(ctx, other, wf, 1)
	require.ErrorIs(t, err, store.ErrNotFound)
	page, err := s.ListWorkflows(ctx, other, store.ListWorkflowsParams{})
	require.NoError(t, err)
	require.Empty(t, page.Items)

	_, err = s.GetExecution(ctx, other, exec.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.RequestCancel(ctx, other, exec.ID, store.CancelParams{})
	require.ErrorIs(t, err, store.ErrNotFound)
	runs, err := s.ListNodeRuns(ctx, other, exec.ID)
	require.NoError(t, err)
	require.Empty(t, runs)
	events, err := s.ListEvents(ctx, other, exec.ID, 0, 0)
	require.NoError(t, err)
	require.Empty(t, events)
	execs, err := s.ListExecutions(ctx, other, store.ListExecutionsParams{})
	require.NoError(t, err)
	require.Empty(t, execs.Items)
	err = s.ApplyExecutionUpdate(ctx, other, &store.ExecutionUpdate{ExecutionID: exec.ID, To: workflow.ExecutionCanceled})
	require.ErrorIs(t, err, store.ErrConflict)
}

// testTextNoStoreCanHold checks that every method refuses a NUL character or invalid UTF-8 in a text
// argument with ErrInvalidInput (PostgreSQL cannot store them in text), and that JSON values holding
// the escape \u0000 round-trip.
func testTextNoStoreCanHold(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	for _, bad := range []string{"a\x00b", "a\xffb"} {
		def := Definition(bad)
		_, err := s.CreateWorkflow(ctx, tenant, NewID(), def)
		require.ErrorIs(t, err, store.ErrInvalidInput, "name %q", bad)
		_, err = s.CreateWorkflow(ctx, tenant, bad, Definition("ok"))
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, err = s.GetWorkflow(ctx, tenant, bad)
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, err = s.ListWorkflows(ctx, tenant, store.ListWorkflowsParams{Name: bad})
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, err = s.UpdateWorkflow(ctx, tenant, bad, 1, Definition("ok"), nil, nil)
		require.ErrorIs(t, err, store.ErrInvalidInput)
		require.ErrorIs(t, s.DeleteWorkflow(ctx, tenant, bad), store.ErrInvalidInput)
		_, err = s.ListWorkflowVersions(ctx, tenant, bad, store.ListVersionsParams{})
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, err = s.GetWorkflowVersion(ctx, tenant, bad, 1)
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, err = s.SetWorkflowActive(ctx, tenant, bad, true, nil, nil)
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, err = s.LookupWebhook(ctx, "POST", bad)
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, _, err = s.CreateExecution(ctx, tenant, store.CreateExecutionParams{ID: NewID(), WorkflowID: bad, WorkflowVersion: 1, TriggerKind: store.TriggerManual})
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, _, err = s.CreateExecution(ctx, tenant, store.CreateExecutionParams{ID: NewID(), WorkflowID: NewID(), WorkflowVersion: 1,
			TriggerKind: store.TriggerManual, IdempotencyKey: bad})
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, err = s.GetExecution(ctx, tenant, bad)
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, err = s.ListExecutions(ctx, tenant, store.ListExecutionsParams{WorkflowID: bad})
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, err = s.ListNodeRuns(ctx, tenant, bad)
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, err = s.ListEvents(ctx, tenant, bad, 0, 10)
		require.ErrorIs(t, err, store.ErrInvalidInput)
		_, err = s.RequestCancel(ctx, tenant, bad, store.CancelParams{})
		require.ErrorIs(t, err, store.ErrInvalidInput)
	}
	w, err := s.CreateWorkflow(ctx, tenant, NewID(), Definition("routes"))
	require.NoError(t, err)
	_, err = s.SetWorkflowActive(ctx, tenant, w.ID, true, []store.WebhookRoute{{Method: "POST", Path: "in\x00", NodeID: "start", Respond: "onCompletion"}}, nil)
	require.ErrorIs(t, err, store.ErrInvalidInput)

	// Cursors that decode to a NUL character or invalid UTF-8 are bad cursors.
	for _, cursor := range []string{base64.RawURLEncoding.EncodeToString([]byte("e|x\x00y")), base64.RawURLEncoding.EncodeToString([]byte("1|\xff"))} {
		_, err = s.ListExecutions(ctx, tenant, store.ListExecutionsParams{Cursor: cursor})
		require.ErrorIs(t, err, store.ErrBadCursor)
		_, err = s.ListWorkflows(ctx, tenant, store.ListWorkflowsParams{Cursor: cursor})
		require.ErrorIs(t, err, store.ErrBadCursor)
		_, err = s.ListWorkflowVersions(ctx, tenant, w.ID, store.ListVersionsParams{Cursor: cursor})
		require.ErrorIs(t, err, store.ErrBadCursor)
	}

	// JSON keeps a NUL as the escape \u0000, which both stores hold: inputs and outputs round-trip.
	input := json.RawMessage(`{"note":"a\u0000b"}`)
	exec, _, err := s.CreateExecution(ctx, tenant, store.CreateExecutionParams{ID: NewID(), WorkflowID: w.ID, WorkflowVersion: 1,
		TriggerKind: store.TriggerManual, Input: input})
	require.NoError(t, err)
	output := json.RawMessage(`{"out":"\u0000"}`)
	require.NoError(t, s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: exec.ID,
		NodeRuns: []store.NodeRun{{NodeID: "set", Attempt: 1, Status: workflow.NodeRunSucceeded, Output: output,
			Error: &store.NodeError{Message: "x\u0000"}}},
		Events: []store.Event{{Seq: 2, Type: "node.succeeded", NodeID: "set", Attempt: 1, Time: time.Now().UTC(), Data: output}}}))
	got, err := s.GetExecution(ctx, tenant, exec.ID)
	require.NoError(t, err)
	require.JSONEq(t, string(input), string(got.Input))
	runs, err := s.ListNodeRuns(ctx, tenant, exec.ID)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.JSONEq(t, string(output), string(runs[0].Output))
	require.Equal(t, "x\x00", runs[0].Error.Message)
	evs, err := s.ListEvents(ctx, tenant, exec.ID, 1, 10)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.JSONEq(t, string(output), string(evs[0].Data))
}
