package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/sqlstore"
	"github.com/concertmaster/concertmaster/internal/store/storepg"
	"github.com/concertmaster/concertmaster/internal/store/storesqlite"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

const tenant = store.DefaultTenant

// openSQLite opens and migrates a SQLite store in a temporary directory; it closes with the test.
func openSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, _ := freshSQLite(t)
	migrate(t, st)
	return st
}

// freshSQLite opens a store on a new SQLite database, not migrated, and returns a function that
// opens another store on the same database.
func freshSQLite(t *testing.T) (*sqlstore.Store, func() *sqlstore.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cm.db")
	open := func() *sqlstore.Store {
		st, err := storesqlite.Open(storesqlite.Config{Path: path})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	return open(), open
}

// freshPostgres opens a store on a new schema of the PostgreSQL database at base, not migrated, and
// returns a function that opens another store on the same schema. The schema is dropped at the end.
func freshPostgres(t *testing.T, base string) (*sqlstore.Store, func() *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	schema := "cmtest_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err, "PostgreSQL at CM_TEST_DATABASE_URL must be reachable")
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	open := func() *sqlstore.Store {
		st, err := storepg.Open(ctx, storepg.Config{URL: u.String()})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	return open(), open
}

func migrate(t *testing.T, st *sqlstore.Store) {
	t.Helper()
	_, err := st.Migrate(context.Background())
	require.NoError(t, err)
}

// backend is a store the tests run against.
type backend struct {
	name    string
	dialect sqlstore.Dialect
	// fresh opens a store on a new database, not migrated, and a function that opens another store
	// on the same database.
	fresh func(t *testing.T) (*sqlstore.Store, func() *sqlstore.Store)
}

// open opens a store on a new, migrated database.
func (b backend) open(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, _ := b.fresh(t)
	migrate(t, st)
	return st
}

// backends returns SQLite and, when CM_TEST_DATABASE_URL is set (make test and CI always set it),
// PostgreSQL in a schema of its own.
func backends() []backend {
	out := []backend{{name: "SQLite", dialect: storesqlite.Dialect(), fresh: freshSQLite}}
	if u := os.Getenv("CM_TEST_DATABASE_URL"); u != "" {
		out = append(out, backend{name: "PostgreSQL", dialect: storepg.Dialect(), fresh: func(t *testing.T) (*sqlstore.Store, func() *sqlstore.Store) {
			t.Helper()
			return freshPostgres(t, u)
		}})
	}
	return out
}

// newWorkflow saves a one-node workflow and returns its id.
func newWorkflow(t *testing.T, st store.Store) string {
	t.Helper()
	id := "wf-" + t.Name()
	_, err := st.CreateWorkflow(context.Background(), tenant, id, &workflow.Definition{Name: "w", Nodes: []workflow.Node{{ID: "start", Type: "trigger.manual"}}})
	require.NoError(t, err)
	return id
}

// newExecution creates a queued execution of workflowID with one queued event (seq 1).
func newExecution(t *testing.T, st store.Store, workflowID, id string) {
	t.Helper()
	_, _, err := st.CreateExecution(context.Background(), tenant, store.CreateExecutionParams{
		ID: id, WorkflowID: workflowID, WorkflowVersion: 1, TriggerKind: store.TriggerManual,
		Events: []store.Event{{Type: "execution.queued"}},
	})
	require.NoError(t, err)
}

// holdWriter starts a write that blocks inside its transaction until release is closed, so that the
// writes sent meanwhile queue up and then run as one batch. It returns the blocked write's result.
func holdWriter(t *testing.T, st *sqlstore.Store, workflowID string, release <-chan struct{}) <-chan error {
	t.Helper()
	entered := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, _, err := st.CreateExecution(context.Background(), tenant, store.CreateExecutionParams{
			ID: "holder", WorkflowID: workflowID, WorkflowVersion: 1, TriggerKind: store.TriggerManual,
			Enqueue: func(context.Context, store.Tx, *store.Execution) error {
				close(entered)
				<-release
				return nil
			},
		})
		done <- err
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the holding write never ran")
	}
	return done
}

// waitQueued waits until n writes wait for the writer.
func waitQueued(t *testing.T, st *sqlstore.Store, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return st.QueuedWrites() == n }, 10*time.Second, time.Millisecond)
}

// counter counts the calls of a hook.
type counter struct{ n atomic.Int64 }

func (c *counter) enqueue(context.Context, store.Tx, *store.Execution) error {
	c.n.Add(1)
	return nil
}

var errRefused = errors.New("enqueue refused")

// TestGroupCommitRollsBackOnlyTheFailingWrites lines up one batch of writes of which two fail (one
// breaks an expectation, one a primary key) and one has its own hook fail: each failing caller gets
// its own error and leaves nothing behind, every other write commits exactly once, and the
// after-commit callbacks run once per committed write.
func TestGroupCommitRollsBackOnlyTheFailingWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openSQLite(t)
	wf := newWorkflow(t, st)
	newExecution(t, st, wf, "x")

	release := make(chan struct{})
	held := holdWriter(t, st, wf, release)

	var okHook counter
	var okCommits, eventCommits, conflictCommits atomic.Int64
	type write struct {
		name string
		run  func() error
	}
	writes := []write{
		{name: "create", run: func() error {
			_, _, err := st.CreateExecution(ctx, tenant, store.CreateExecutionParams{
				ID: "ok", WorkflowID: wf, WorkflowVersion: 1, TriggerKind: store.TriggerManual,
				Events: []store.Event{{Type: "execution.queued"}}, Enqueue: func(ctx context.Context, tx store.Tx, e *store.Execution) error {
					tx.OnCommit(func() { okCommits.Add(1) })
					return okHook.enqueue(ctx, tx, e)
				},
			})
			return err
		}},
		{name: "expectation", run: func() error {
			return st.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: "x",
				From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, To: workflow.ExecutionSucceeded,
				OnCommit: func() { conflictCommits.Add(1) }})
		}},
		{name: "event", run: func() error {
			return st.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: "x",
				Events: []store.Event{{Seq: 2, Type: "node.log", Time: time.Now()}}, OnCommit: func() { eventCommits.Add(1) }})
		}},
		{name: "hook", run: func() error {
			_, _, err := st.CreateExecution(ctx, tenant, store.CreateExecutionParams{
				ID: "refused", WorkflowID: wf, WorkflowVersion: 1, TriggerKind: store.TriggerManual,
				Enqueue: func(context.Context, store.Tx, *store.Execution) error { return errRefused },
			})
			return err
		}},
		{name: "constraint", run: func() error {
			// Seq 1 exists: the primary key refuses it.
			return st.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: "x",
				Events: []store.Event{{Seq: 1, Type: "node.log", Time: time.Now()}}})
		}},
		{name: "tenant", run: func() error { return st.CreateTenant(ctx, "acme", "Acme") }},
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { errs[i] = w.run() })
		waitQueued(t, st, i+1) // one at a time, so that the batch runs them in this order
	}
	close(release)
	wg.Wait()
	require.NoError(t, <-held)

	byName := map[string]error{}
	for i, w := range writes {
		byName[w.name] = errs[i]
	}
	require.NoError(t, byName["create"])
	require.NoError(t, byName["event"])
	require.NoError(t, byName["tenant"])
	require.ErrorIs(t, byName["expectation"], store.ErrConflict)
	require.ErrorIs(t, byName["hook"], errRefused)
	require.ErrorContains(t, byName["constraint"], "insert events from 1")

	// The failing batch ran once together, then each write alone: the committed create's hook ran
	// twice, its after-commit callback once.
	require.Equal(t, int64(2), okHook.n.Load())
	require.Equal(t, int64(1), okCommits.Load())
	require.Equal(t, int64(1), eventCommits.Load())
	require.Zero(t, conflictCommits.Load())

	_, err := st.GetExecution(ctx, tenant, "ok")
	require.NoError(t, err)
	_, err = st.GetExecution(ctx, tenant, "refused")
	require.ErrorIs(t, err, store.ErrNotFound, "a write whose hook failed leaves nothing behind")
	x, err := st.GetExecution(ctx, tenant, "x")
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionQueued, x.Status, "the failed expectation changed nothing")
	evs, err := st.ListEvents(ctx, tenant, "x", 0, 10)
	require.NoError(t, err)
	require.Len(t, evs, 2)
	require.Equal(t, "execution.queued", evs[0].Type, "the refused duplicate did not replace seq 1")
	require.Equal(t, "node.log", evs[1].Type)
	require.ErrorIs(t, st.CreateTenant(ctx, "acme", "Acme"), store.ErrConflict, "the tenant was created once")
}

// TestGroupCommitWriteWhoseContextEndsWhileQueued: a write whose caller gives up while it waits in
// the queue is skipped and reported with the context's error; the rest of its batch commits, whether
// the batch succeeds or fails.
func TestGroupCommitWriteWhoseContextEndsWhileQueued(t *testing.T) {
	t.Parallel()
	for _, failing := range []bool{false, true} {
		name := "BatchCommits"
		if failing {
			name = "BatchFails"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := openSQLite(t)
			wf := newWorkflow(t, st)
			release := make(chan struct{})
			held := holdWriter(t, st, wf, release)

			gone, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			var goneErr, keptErr, failErr error
			wg.Go(func() { goneErr = st.CreateTenant(gone, "gone", "Gone") })
			waitQueued(t, st, 1)
			wg.Go(func() { keptErr = st.CreateTenant(ctx, "kept", "Kept") })
			waitQueued(t, st, 2)
			if failing {
				wg.Go(func() { failErr = st.CreateTenant(ctx, "kept", "Kept again") })
				waitQueued(t, st, 3)
			}
			cancel()
			close(release)
			wg.Wait()
			require.NoError(t, <-held)

			require.ErrorIs(t, goneErr, context.Canceled)
			require.NoError(t, keptErr)
			if failing {
				require.ErrorIs(t, failErr, store.ErrConflict)
			}
			require.NoError(t, st.CreateTenant(ctx, "gone", "Gone"), "the abandoned write did not happen")
			require.ErrorIs(t, st.CreateTenant(ctx, "kept", "Kept"), store.ErrConflict)
		})
	}
}
