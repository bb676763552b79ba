package retention_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/retention"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/sqlstore"
	"github.com/concertmaster/concertmaster/internal/store/storesqlite"
	"github.com/concertmaster/concertmaster/internal/store/storetest"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

const tenant = store.DefaultTenant

// base is the injected clock's start.
var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// observer records what the pruner reports.
type observer struct {
	mu       sync.Mutex
	batches  []store.PruneResult
	passes   int
	failures int
	passed   chan bool
}

func (o *observer) RetentionDeleted(executions, nodeRuns, events int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.batches = append(o.batches, store.PruneResult{Executions: executions, NodeRuns: nodeRuns, Events: events})
}

func (o *observer) RetentionPassFinished(_ time.Duration, failed bool) {
	o.mu.Lock()
	o.passes++
	if failed {
		o.failures++
	}
	o.mu.Unlock()
	select {
	case o.passed <- failed:
	default:
	}
}

type testBundle struct {
	store    *sqlstore.Store
	observer *observer
	now      time.Time
	nowMu    sync.Mutex
}

func (b *testBundle) clock() time.Time {
	b.nowMu.Lock()
	defer b.nowMu.Unlock()
	return b.now
}

func (b *testBundle) advance(d time.Duration) {
	b.nowMu.Lock()
	defer b.nowMu.Unlock()
	b.now = b.now.Add(d)
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	s, err := storesqlite.Open(storesqlite.Config{Path: filepath.Join(t.TempDir(), "cm.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Migrate(context.Background())
	require.NoError(t, err)
	return &testBundle{store: s, observer: &observer{passed: make(chan bool, 16)}, now: base}
}

func (b *testBundle) pruner(t *testing.T, cfg retention.Config) *retention.Pruner {
	t.Helper()
	cfg.Store, cfg.Observer, cfg.Now = b.store, b.observer, b.clock
	p, err := retention.New(cfg)
	require.NoError(t, err)
	return p
}

func (b *testBundle) workflow(t *testing.T, r *workflow.Retention) string {
	t.Helper()
	id := storetest.NewID()
	def := storetest.Definition("retention")
	def.Settings.Retention = r
	_, err := b.store.CreateWorkflow(context.Background(), tenant, id, def)
	require.NoError(t, err)
	return id
}

// finished creates n executions of wf that finished at at, at+1m, at+2m…
func (b *testBundle) finished(t *testing.T, wf string, n int, at time.Time) []*store.Execution {
	t.Helper()
	out := make([]*store.Execution, n)
	for i := range n {
		out[i] = storetest.RunExecution(t, b.store, tenant, wf, workflow.ExecutionSucceeded, at.Add(time.Duration(i)*time.Minute))
	}
	return out
}

// remaining returns the ids of wf's executions, oldest first.
func (b *testBundle) remaining(t *testing.T, wf string) []string {
	t.Helper()
	page, err := b.store.ListExecutions(context.Background(), tenant, store.ListExecutionsParams{WorkflowID: wf, Limit: 500})
	require.NoError(t, err)
	ids := make([]string, 0, len(page.Items))
	for i := len(page.Items) - 1; i >= 0; i-- {
		ids = append(ids, page.Items[i].ID)
	}
	return ids
}

func ids(execs ...*store.Execution) []string {
	out := make([]string, len(execs))
	for i, e := range execs {
		out[i] = e.ID
	}
	return out
}

func TestPruner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("DeletedWorkflowFallsBackToServerRules", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		wf := b.workflow(t, &workflow.Retention{MaxAge: workflow.Duration(90 * 24 * time.Hour)})
		old := b.finished(t, wf, 2, base.Add(-10*24*time.Hour))
		p := b.pruner(t, retention.Config{MaxAge: 24 * time.Hour})

		pass, err := p.RunOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, pass.Deleted.Executions, "the workflow keeps its executions for 90 days")
		require.Equal(t, ids(old...), b.remaining(t, wf))

		require.NoError(t, b.store.DeleteWorkflow(ctx, tenant, wf))
		pass, err = p.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(2), pass.Deleted.Executions, "a deleted workflow's executions follow the server's rules")
		require.Empty(t, b.remaining(t, wf))
	})

	t.Run("KeepsAtMostMaxPerWorkflow", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		wf := b.workflow(t, nil)
		execs := b.finished(t, wf, 7, base.Add(-time.Hour))
		running := storetest.RunExecution(t, b.store, tenant, wf, workflow.ExecutionRunning, base)
		waiting := storetest.RunExecution(t, b.store, tenant, wf, workflow.ExecutionWaiting, base)
		p := b.pruner(t, retention.Config{MaxPerWorkflow: 3})

		pass, err := p.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, store.PruneResult{Executions: 4, NodeRuns: 4, Events: 8}, pass.Deleted)
		require.Equal(t, append(ids(execs[4:]...), running.ID, waiting.ID), b.remaining(t, wf),
			"the three most recently finished stay, and unfinished ones are never counted or deleted")

		pass, err = p.RunOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, pass.Deleted.Executions)

		more := b.finished(t, wf, 2, base)
		pass, err = p.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(2), pass.Deleted.Executions, "new finishes push the oldest out")
		require.Equal(t, append(ids(execs[6], running, waiting), ids(more...)...), b.remaining(t, wf))
	})

	t.Run("MaxAgeFollowsTheClock", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		wf := b.workflow(t, nil)
		older := b.finished(t, wf, 3, base.Add(-3*time.Hour))
		newer := b.finished(t, wf, 2, base.Add(-30*time.Minute))
		queued := storetest.RunExecution(t, b.store, tenant, wf, workflow.ExecutionQueued, base.Add(-10*time.Hour))
		p := b.pruner(t, retention.Config{MaxAge: time.Hour})

		pass, err := p.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, pass.Workflows)
		require.Equal(t, store.PruneResult{Executions: 3, NodeRuns: 3, Events: 6}, pass.Deleted)
		require.Equal(t, append(ids(newer...), queued.ID), b.remaining(t, wf))

		b.advance(time.Hour)
		pass, err = p.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(2), pass.Deleted.Executions)
		require.Equal(t, []string{queued.ID}, b.remaining(t, wf), "a queued execution is never deleted")
		for _, e := range older {
			_, err := b.store.GetExecution(ctx, tenant, e.ID)
			require.ErrorIs(t, err, store.ErrNotFound)
		}
		require.Equal(t, 2, b.observer.passes)
		require.Zero(t, b.observer.failures)
	})

	t.Run("NoRulesKeepsEverything", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		wf := b.workflow(t, nil)
		execs := b.finished(t, wf, 3, base.Add(-1000*24*time.Hour))
		p := b.pruner(t, retention.Config{})
		pass, err := p.RunOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, pass.Deleted)
		require.Equal(t, ids(execs...), b.remaining(t, wf))
	})

	t.Run("SmallBatches", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		wf := b.workflow(t, nil)
		b.finished(t, wf, 5, base.Add(-48*time.Hour))
		p := b.pruner(t, retention.Config{MaxAge: time.Hour, BatchSize: 2})
		pass, err := p.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(5), pass.Deleted.Executions)
		b.observer.mu.Lock()
		defer b.observer.mu.Unlock()
		var sum int64
		for _, batch := range b.observer.batches {
			require.LessOrEqual(t, batch.Executions, int64(2))
			sum += batch.Executions
		}
		require.Equal(t, int64(5), sum)
		require.GreaterOrEqual(t, len(b.observer.batches), 3)
	})

	t.Run("StartRunsPassesUntilStop", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		wf := b.workflow(t, nil)
		b.finished(t, wf, 2, base.Add(-48*time.Hour))
		p := b.pruner(t, retention.Config{MaxAge: time.Hour, Interval: time.Millisecond})
		require.NoError(t, p.Start(ctx))
		require.Error(t, p.Start(ctx), "a pruner starts once")
		for range 2 {
			select {
			case failed := <-b.observer.passed:
				require.False(t, failed)
			case <-time.After(10 * time.Second):
				require.FailNow(t, "no retention pass within 10s")
			}
		}
		require.NoError(t, p.Stop(ctx))
		require.Empty(t, b.remaining(t, wf))
	})

	t.Run("StoreFailureFailsThePass", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.workflow(t, nil)
		p := b.pruner(t, retention.Config{MaxAge: time.Hour})
		require.NoError(t, b.store.Close())
		_, err := p.RunOnce(ctx)
		require.Error(t, err)
		require.Equal(t, 1, b.observer.failures)
	})

	t.Run("WorkflowRulesOverrideServerRules", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		shortAge := b.workflow(t, &workflow.Retention{MaxAge: workflow.Duration(time.Hour)})
		smallCap := b.workflow(t, &workflow.Retention{MaxExecutions: 1})
		plain := b.workflow(t, nil)
		for _, wf := range []string{shortAge, smallCap, plain} {
			b.finished(t, wf, 3, base.Add(-2*time.Hour))
		}
		p := b.pruner(t, retention.Config{MaxAge: 720 * time.Hour, MaxPerWorkflow: 10})
		pass, err := p.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, pass.Workflows)
		require.Equal(t, int64(5), pass.Deleted.Executions)
		require.Empty(t, b.remaining(t, shortAge))
		require.Len(t, b.remaining(t, smallCap), 1)
		require.Len(t, b.remaining(t, plain), 3)
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  retention.Config
	}{
		{"NegativeMaxAge", retention.Config{MaxAge: -time.Second}},
		{"NegativeMaxPerWorkflow", retention.Config{MaxPerWorkflow: -1}},
		{"NoStore", retention.Config{}},
	}
	s, err := storesqlite.Open(storesqlite.Config{Path: filepath.Join(t.TempDir(), "cm.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.name != "NoStore" {
				tt.cfg.Store = s
			}
			_, err := retention.New(tt.cfg)
			require.Error(t, err)
		})
	}
}

// TestOnlyTheLeaderPrunes: the background loop of a process that does not lead asks at every
// interval and prunes nothing; once the process leads, its passes run.
func TestOnlyTheLeaderPrunes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	asked := make(chan struct{}, 64)
	var leading atomic.Bool
	p := b.pruner(t, retention.Config{MaxAge: time.Hour, Interval: 5 * time.Millisecond, Leading: func() bool {
		select {
		case asked <- struct{}{}:
		default:
		}
		return leading.Load()
	}})
	wf := b.workflow(t, nil)
	b.finished(t, wf, 2, base.Add(-2*time.Hour))
	require.NoError(t, p.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, p.Stop(context.Background())) })
	for range 3 {
		select {
		case <-asked:
		case <-time.After(10 * time.Second):
			t.Fatal("the loop did not ask whether it leads")
		}
	}
	b.observer.mu.Lock()
	passes := b.observer.passes
	b.observer.mu.Unlock()
	require.Zero(t, passes, "no pass while the process does not lead")
	require.Len(t, b.remaining(t, wf), 2)

	leading.Store(true)
	select {
	case failed := <-b.observer.passed:
		require.False(t, failed)
	case <-time.After(10 * time.Second):
		t.Fatal("no pass once the process leads")
	}
	require.Empty(t, b.remaining(t, wf))
}
