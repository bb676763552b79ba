package storesqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/sqlstore"
	"github.com/concertmaster/concertmaster/internal/store/storesqlite"
	"github.com/concertmaster/concertmaster/internal/store/storetest"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

const tenant = store.DefaultTenant

func openStore(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	s, err := storesqlite.Open(storesqlite.Config{Path: path})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Migrate(context.Background())
	require.NoError(t, err)
	return s
}

// snapshot is everything a store holds about some executions.
type snapshot struct {
	exec   *store.Execution
	runs   []store.NodeRun
	events []store.Event
}

func read(t *testing.T, s store.Store, id string) snapshot {
	t.Helper()
	ctx := context.Background()
	e, err := s.GetExecution(ctx, tenant, id)
	require.NoError(t, err)
	runs, err := s.ListNodeRuns(ctx, tenant, id)
	require.NoError(t, err)
	events, err := s.ListEvents(ctx, tenant, id, 0, 0)
	require.NoError(t, err)
	return snapshot{exec: e, runs: runs, events: events}
}

func allExecutions(t *testing.T, s store.Store) []store.Execution {
	t.Helper()
	var out []store.Execution
	p := store.ListExecutionsParams{Limit: 500}
	for {
		page, err := s.ListExecutions(context.Background(), tenant, p)
		require.NoError(t, err)
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		p.Cursor = page.NextCursor
	}
}

func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("BackupWhileWritingRestoresEverything", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		live := openStore(t, filepath.Join(dir, "live.db"))
		var workflows []string
		for range 3 {
			wf := storetest.NewID()
			def := storetest.Definition("backed up")
			def.Settings.Retention = &workflow.Retention{MaxExecutions: 50}
			_, err := live.CreateWorkflow(ctx, tenant, wf, def)
			require.NoError(t, err)
			workflows = append(workflows, wf)
		}
		var before []string
		for i := range 30 {
			before = append(before, storetest.RunExecution(t, live, tenant, workflows[i%3], workflow.ExecutionSucceeded, time.Now()).ID)
		}

		// Executions keep being written, by several writers, while the backup runs.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var written atomic.Int64
		warm := make(chan struct{})
		var warmOnce sync.Once
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					status := []workflow.ExecutionStatus{workflow.ExecutionSucceeded, workflow.ExecutionRunning, workflow.ExecutionFailed}[i%3]
					storetest.RunExecution(t, live, tenant, workflows[w%3], status, time.Now())
					if written.Add(1) >= 20 {
						warmOnce.Do(func() { close(warm) })
					}
				}
			}()
		}
		select {
		case <-warm:
		case <-time.After(30 * time.Second):
			require.FailNow(t, "the writers wrote fewer than 20 executions in 30s")
		}
		backup := filepath.Join(dir, "backup.db")
		startedWith := 30 + written.Load()
		info, err := storesqlite.Backup(ctx, filepath.Join(dir, "live.db"), backup, false)
		endedWith := 30 + written.Load()
		close(stop)
		wg.Wait()
		require.NoError(t, err)
		require.Equal(t, storesqlite.SchemaVersion(), info.SchemaVersion)
		require.Equal(t, int64(3), info.Workflows)
		require.GreaterOrEqual(t, info.Executions, startedWith)
		require.LessOrEqual(t, info.Executions, endedWith+4, "at most one execution per writer was being created")
		t.Logf("backup holds %d executions; %d existed when it started, %d when it ended", info.Executions, startedWith, endedWith)

		restoredPath := filepath.Join(dir, "fresh", "restored.db")
		rinfo, err := storesqlite.Restore(ctx, backup, restoredPath, false)
		require.NoError(t, err)
		require.Equal(t, info.Executions, rinfo.Executions)
		restored := openStore(t, restoredPath)

		for _, wf := range workflows {
			want, err := live.GetWorkflow(ctx, tenant, wf)
			require.NoError(t, err)
			got, err := restored.GetWorkflow(ctx, tenant, wf)
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
		// What was there before the backup began is there, identical.
		for _, id := range before {
			require.Equal(t, read(t, live, id), read(t, restored, id))
		}
		// Every execution in the backup is whole: its node runs and events came with it, in the state
		// they had together at one instant.
		// An execution is written in two steps (created; then its node run, its second event and its
		// final status at once), so the snapshot holds each one either before or after its second step.
		execs := allExecutions(t, restored)
		require.Len(t, execs, int(info.Executions))
		for _, e := range execs {
			got, want := read(t, restored, e.ID), read(t, live, e.ID)
			require.Equal(t, want.events[:len(got.events)], got.events, "execution %s", e.ID)
			require.Equal(t, got.exec.LastSeq, int64(len(got.events)))
			switch len(got.events) {
			case 1:
				require.Empty(t, got.runs, "execution %s", e.ID)
				require.Contains(t, []workflow.ExecutionStatus{workflow.ExecutionQueued, workflow.ExecutionRunning}, got.exec.Status)
			case 2:
				require.Equal(t, want.runs, got.runs, "execution %s", e.ID)
				require.Equal(t, want.exec.Status, got.exec.Status, "execution %s", e.ID)
			default:
				require.FailNow(t, "unexpected events", "execution %s has %d events", e.ID, len(got.events))
			}
		}
		// The restored database keeps the retention rules.
		page, err := restored.ListRetentionWorkflows(ctx, store.ListRetentionWorkflowsParams{})
		require.NoError(t, err)
		require.Len(t, page, 3)
		require.Equal(t, 50, page[0].MaxExecutions)
	})

	t.Run("BackupRefusesAnExistingFileUnlessForced", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		openStore(t, filepath.Join(dir, "cm.db"))
		dest := filepath.Join(dir, "backup.db")
		require.NoError(t, os.WriteFile(dest, []byte("keep me"), 0o600))
		_, err := storesqlite.Backup(ctx, filepath.Join(dir, "cm.db"), dest, false)
		require.ErrorIs(t, err, storesqlite.ErrExists)
		body, err := os.ReadFile(dest)
		require.NoError(t, err)
		require.Equal(t, "keep me", string(body))

		_, err = storesqlite.Backup(ctx, filepath.Join(dir, "cm.db"), dest, true)
		require.NoError(t, err)
		_, err = storesqlite.Inspect(ctx, dest)
		require.NoError(t, err)
		leftovers, err := filepath.Glob(filepath.Join(dir, ".backup.db.tmp-*"))
		require.NoError(t, err)
		require.Empty(t, leftovers)
	})

	t.Run("BackupRefusesWhatIsNotADatabase", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, err := storesqlite.Backup(ctx, filepath.Join(dir, "missing.db"), filepath.Join(dir, "b.db"), false)
		require.ErrorIs(t, err, os.ErrNotExist)
		_, err = os.Stat(filepath.Join(dir, "missing.db"))
		require.ErrorIs(t, err, os.ErrNotExist, "backup never creates the database")

		other := filepath.Join(dir, "other.db")
		db, err := sql.Open("sqlite", other)
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, `CREATE TABLE t (x INTEGER)`)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		_, err = storesqlite.Backup(ctx, other, filepath.Join(dir, "b.db"), false)
		require.ErrorIs(t, err, storesqlite.ErrNotConcertMaster)
	})

	t.Run("BackupAndRestoreRefuseBadPaths", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		db := filepath.Join(dir, "cm.db")
		openStore(t, db)
		backup := filepath.Join(dir, "backup.db")
		_, err := storesqlite.Backup(ctx, db, backup, false)
		require.NoError(t, err)

		_, err = storesqlite.Backup(ctx, db, dir, true)
		require.ErrorContains(t, err, "is not a regular file", "a directory is never replaced")
		_, err = storesqlite.Backup(ctx, db, filepath.Join(dir, "missing", "b.db"), false)
		require.Error(t, err)
		_, err = storesqlite.Inspect(ctx, dir)
		require.ErrorIs(t, err, storesqlite.ErrNotConcertMaster)
		_, err = storesqlite.Restore(ctx, db, db, true)
		require.ErrorContains(t, err, "is the database itself")
		_, err = storesqlite.Restore(ctx, backup, filepath.Join(backup, "under-a-file", "cm.db"), false)
		require.ErrorContains(t, err, "create database directory")
		leftovers, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
		require.NoError(t, err)
		require.Empty(t, leftovers)
	})

	t.Run("RestoreRefusesALiveDatabaseUnlessForced", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		src := openStore(t, filepath.Join(dir, "src.db"))
		wf := storetest.NewID()
		_, err := src.CreateWorkflow(ctx, tenant, wf, storetest.Definition("from the backup"))
		require.NoError(t, err)
		backup := filepath.Join(dir, "backup.db")
		_, err = storesqlite.Backup(ctx, filepath.Join(dir, "src.db"), backup, false)
		require.NoError(t, err)

		livePath := filepath.Join(dir, "live.db")
		live := openStore(t, livePath)
		mine := storetest.NewID()
		_, err = live.CreateWorkflow(ctx, tenant, mine, storetest.Definition("live"))
		require.NoError(t, err)

		_, err = storesqlite.Restore(ctx, backup, livePath, false)
		require.ErrorIs(t, err, storesqlite.ErrLive)
		_, err = live.GetWorkflow(ctx, tenant, mine)
		require.NoError(t, err, "a refused restore changes nothing")

		_, err = storesqlite.Restore(ctx, backup, livePath, true)
		require.NoError(t, err)
		got, err := live.GetWorkflow(ctx, tenant, wf)
		require.NoError(t, err, "the live store reads the restored contents")
		require.Equal(t, "from the backup", got.Name)
		_, err = live.GetWorkflow(ctx, tenant, mine)
		require.ErrorIs(t, err, store.ErrNotFound)
		storetest.RunExecution(t, live, tenant, wf, workflow.ExecutionSucceeded, time.Now())

		require.NoError(t, live.Close())
		_, err = storesqlite.Restore(ctx, backup, livePath, false)
		require.NoError(t, err, "once closed, the database is not live")
	})

	t.Run("RestoreRefusesBadBackups", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		target := filepath.Join(dir, "cm.db")
		notDB := filepath.Join(dir, "notes.txt")
		require.NoError(t, os.WriteFile(notDB, []byte("hello, this is not SQLite"), 0o600))

		newer := filepath.Join(dir, "newer.db")
		s := openStore(t, newer)
		require.NoError(t, s.Close())
		db, err := sql.Open("sqlite", newer)
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, `INSERT INTO cm_migrations (version, name, applied_at) VALUES (9999, '9999_future.up.sql', 'later')`)
		require.NoError(t, err)
		require.NoError(t, db.Close())

		tests := []struct {
			name string
			src  string
			want error
		}{
			{"Missing", filepath.Join(dir, "missing.db"), os.ErrNotExist},
			{"NewerSchema", newer, storesqlite.ErrTooNew},
			{"NotADatabase", notDB, storesqlite.ErrNotConcertMaster},
		}
		for _, tt := range tests {
			_, err := storesqlite.Restore(ctx, tt.src, target, false)
			require.ErrorIs(t, err, tt.want, tt.name)
		}
		_, err = os.Stat(target)
		require.ErrorIs(t, err, os.ErrNotExist, "a refused restore creates nothing")
	})
}
