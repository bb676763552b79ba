package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/sqlstore"
	"github.com/concertmaster/concertmaster/internal/store/storesqlite"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// TestDamagedDatabase damages a SQLite database behind the store's back — a value that is not JSON,
// a time that is not a number, a table that is gone — and checks that each call that meets the damage
// fails with an error that says what it was doing, and that a write that fails halfway leaves nothing
// behind.
func TestDamagedDatabase(t *testing.T) {
	t.Parallel()
	def := &workflow.Definition{Name: "w", Nodes: []workflow.Node{{ID: "start", Type: "trigger.manual"}}}
	newExec := func(id string) store.CreateExecutionParams {
		return store.CreateExecutionParams{ID: id, WorkflowID: "wf", WorkflowVersion: 1, TriggerKind: store.TriggerManual,
			Events: []store.Event{{Type: "execution.queued"}}}
	}
	tests := []struct {
		name   string
		damage string
		// call meets the damage and fails with an error containing want.
		call func(ctx context.Context, st *sqlstore.Store) error
		want string
		// check, when set, verifies that the failed call changed nothing.
		check func(t *testing.T, ctx context.Context, st *sqlstore.Store, raw *sql.DB)
	}{
		{
			name: "DefinitionNotJSON", damage: `UPDATE workflows SET definition = '{'`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.GetWorkflow(ctx, tenant, "wf")
				return err
			},
			want: "decode workflow wf",
		},
		{
			name: "VersionNotJSON", damage: `UPDATE workflow_versions SET definition = '{'`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.GetWorkflowVersion(ctx, tenant, "wf", 1)
				return err
			},
			want: "get workflow version: decode version 1",
		},
		{
			name: "ExecutionErrorNotJSON", damage: `UPDATE executions SET error = '{'`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.GetExecution(ctx, tenant, "x")
				return err
			},
			want: "get execution: decode execution error",
		},
		{
			name: "NodeErrorNotJSON", damage: `UPDATE node_runs SET error = '{'`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.ListNodeRuns(ctx, tenant, "x")
				return err
			},
			want: "decode node error",
		},
		{
			name: "NodeLogsNotJSON", damage: `UPDATE node_runs SET logs = '{'`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.ListNodeRuns(ctx, tenant, "x")
				return err
			},
			want: "decode node logs",
		},
		{
			name: "TimeNotANumber", damage: `UPDATE executions SET created_at = 'yesterday'`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.GetExecution(ctx, tenant, "x")
				return err
			},
			want: `scan time "yesterday"`,
		},
		{
			name: "NoEventsTableOnCreate", damage: `DROP TABLE events`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, _, err := st.CreateExecution(ctx, tenant, newExec("y"))
				return err
			},
			want: "insert events from 1",
			check: func(t *testing.T, ctx context.Context, _ *sqlstore.Store, raw *sql.DB) {
				var n int
				require.NoError(t, raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM executions WHERE id = 'y'`).Scan(&n))
				require.Zero(t, n)
			},
		},
		{
			name: "NoEventsTableOnUpdate", damage: `DROP TABLE events`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				return st.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: "x", To: workflow.ExecutionRunning,
					Events: []store.Event{{Seq: 2, Type: "execution.started", Time: time.Now()}}})
			},
			want: "insert events from 2",
			check: func(t *testing.T, ctx context.Context, _ *sqlstore.Store, raw *sql.DB) {
				var status string
				require.NoError(t, raw.QueryRowContext(ctx, `SELECT status FROM executions WHERE id = 'x'`).Scan(&status))
				require.Equal(t, string(workflow.ExecutionQueued), status)
			},
		},
		{
			name: "NoEventsTableOnRead", damage: `DROP TABLE events`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.ListEvents(ctx, tenant, "x", 0, 10)
				return err
			},
			want: "list events",
		},
		{
			name: "NoVersionsTableOnCreate", damage: `DROP TABLE workflow_versions`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.CreateWorkflow(ctx, tenant, "wf2", def)
				return err
			},
			want: "insert workflow version",
			check: func(t *testing.T, ctx context.Context, st *sqlstore.Store, _ *sql.DB) {
				_, err := st.GetWorkflow(ctx, tenant, "wf2")
				require.ErrorIs(t, err, store.ErrNotFound)
			},
		},
		{
			name: "NoVersionsTableOnUpdate", damage: `DROP TABLE workflow_versions`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.UpdateWorkflow(ctx, tenant, "wf", 1, def, nil, nil)
				return err
			},
			want: "insert workflow version",
			check: func(t *testing.T, ctx context.Context, st *sqlstore.Store, _ *sql.DB) {
				w, err := st.GetWorkflow(ctx, tenant, "wf")
				require.NoError(t, err)
				require.Equal(t, 1, w.Version)
			},
		},
		{
			name: "NoVersionsTableOnList", damage: `DROP TABLE workflow_versions`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.ListWorkflowVersions(ctx, tenant, "wf", store.ListVersionsParams{})
				return err
			},
			want: "list workflow versions",
		},
		{
			name: "NoRoutesTable", damage: `DROP TABLE webhook_routes`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.SetWorkflowActive(ctx, tenant, "wf", true, []store.WebhookRoute{{Method: "POST", Path: "p", NodeID: "start", Respond: "onCompletion"}}, nil)
				return err
			},
			want: "delete webhook routes",
			check: func(t *testing.T, ctx context.Context, st *sqlstore.Store, _ *sql.DB) {
				w, err := st.GetWorkflow(ctx, tenant, "wf")
				require.NoError(t, err)
				require.False(t, w.Active)
			},
		},
		{
			name: "NoNodeRunsTableOnCancel", damage: `DROP TABLE node_runs`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.RequestCancel(ctx, tenant, "x", store.CancelParams{NodeIDs: []string{"start"}})
				return err
			},
			want: "read node runs",
			check: func(t *testing.T, ctx context.Context, st *sqlstore.Store, _ *sql.DB) {
				x, err := st.GetExecution(ctx, tenant, "x")
				require.NoError(t, err)
				require.Equal(t, workflow.ExecutionQueued, x.Status)
			},
		},
		{
			name: "NoNodeRunsTableOnUpdate", damage: `DROP TABLE node_runs`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				return st.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: "x", To: workflow.ExecutionRunning,
					NodeRuns: []store.NodeRun{{NodeID: "start", Attempt: 2, Status: workflow.NodeRunRunning}}})
			},
			want: "upsert node runs",
			check: func(t *testing.T, ctx context.Context, st *sqlstore.Store, _ *sql.DB) {
				x, err := st.GetExecution(ctx, tenant, "x")
				require.NoError(t, err)
				require.Equal(t, workflow.ExecutionQueued, x.Status)
			},
		},
		{
			name: "NoNodeRunsTableOnRead", damage: `DROP TABLE node_runs`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.ListNodeRuns(ctx, tenant, "x")
				return err
			},
			want: "list node runs",
		},
		{
			name: "NoExecutionsTableOnList", damage: `DROP TABLE executions`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.ListExecutions(ctx, tenant, store.ListExecutionsParams{})
				return err
			},
			want: "list executions",
		},
		{
			name: "NoExecutionsTableOnGet", damage: `DROP TABLE executions`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.GetExecution(ctx, tenant, "x")
				return err
			},
			want: "get execution",
		},
		{
			name: "NoExecutionsTableOnRenew", damage: `DROP TABLE executions`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.RenewLeases(ctx, []store.Lease{{Ref: store.ExecutionRef{TenantID: tenant, ID: "x"}, Owner: "me"}}, time.Second)
				return err
			},
			want: "renew lease",
		},
		{
			name: "NoExecutionsTableOnClaim", damage: `DROP TABLE executions`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.ClaimExecution(ctx, store.ExecutionRef{TenantID: tenant, ID: "x"}, "me", time.Minute, false)
				return err
			},
			want: "claim execution",
		},
		{
			name: "NoTenantsTable", damage: `DROP TABLE tenants`,
			call: func(ctx context.Context, st *sqlstore.Store) error { return st.CreateTenant(ctx, "t", "T") },
			want: "create tenant",
		},
		{
			name: "NoWorkflowsTable", damage: `DROP TABLE workflows`,
			call: func(ctx context.Context, st *sqlstore.Store) error {
				_, err := st.ListWorkflows(ctx, tenant, store.ListWorkflowsParams{})
				return err
			},
			want: "list workflows",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "cm.db")
			st, err := storesqlite.Open(storesqlite.Config{Path: path})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			_, err = st.Migrate(ctx)
			require.NoError(t, err)
			_, err = st.CreateWorkflow(ctx, tenant, "wf", def)
			require.NoError(t, err)
			now := time.Now()
			p := newExec("x")
			p.Seed = []store.NodeRun{{NodeID: "start", Attempt: 1, Status: workflow.NodeRunFailed, Output: json.RawMessage(`{}`),
				Error: &store.NodeError{Message: "boom"}, Logs: []store.LogEntry{{Time: now, Level: "info", Message: "hi"}}, StartedAt: &now}}
			_, _, err = st.CreateExecution(ctx, tenant, p)
			require.NoError(t, err)
			require.NoError(t, st.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: "x", Error: &store.ExecutionError{Message: "x"}}))

			raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			require.NoError(t, err)
			defer raw.Close()
			_, err = raw.ExecContext(ctx, tc.damage)
			require.NoError(t, err)

			err = tc.call(ctx, st)
			require.ErrorContains(t, err, tc.want)
			require.NotErrorIs(t, err, store.ErrNotFound)
			if tc.check != nil {
				tc.check(t, ctx, st, raw)
			}
		})
	}
}
