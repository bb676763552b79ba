package dispatch_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/dispatch"
	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// fakeStore is an in-memory dispatch.Store: runnable holds what ListRunnable returns, claims
// succeed unless claimErr is set, and every call is counted and signalled.
type fakeStore struct {
	mu        sync.Mutex
	runnable  []store.ExecutionRef
	wake      *time.Time
	claimErr  error
	cancel    []store.ExecutionRef
	lost      []store.ExecutionRef
	renewErr  error
	owners    []string
	claimed   []store.ExecutionRef
	renewed   [][]store.ExecutionRef
	polls     chan time.Time
	renewals  chan struct{}
	takeovers int
}

func newFakeStore() *fakeStore {
	return &fakeStore{polls: make(chan time.Time, 1024), renewals: make(chan struct{}, 1024)}
}

func (s *fakeStore) ClaimExecution(_ context.Context, ref store.ExecutionRef, owner string, _ time.Duration, takeover bool) (*store.Execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claimErr != nil {
		return nil, s.claimErr
	}
	s.owners = append(s.owners, owner)
	if takeover {
		s.takeovers++
	}
	s.claimed = append(s.claimed, ref)
	for i, r := range s.runnable {
		if r == ref {
			s.runnable = append(s.runnable[:i], s.runnable[i+1:]...)
			break
		}
	}
	return &store.Execution{TenantID: ref.TenantID, ID: ref.ID, Status: workflow.ExecutionRunning, LeaseOwner: owner}, nil
}

func (s *fakeStore) ListRunnable(_ context.Context, p store.RunnableParams) ([]store.ExecutionRef, error) {
	s.mu.Lock()
	out := append([]store.ExecutionRef(nil), s.runnable...)
	s.mu.Unlock()
	select {
	case s.polls <- time.Now():
	default:
	}
	if p.AfterID != "" {
		return nil, nil
	}
	return out, nil
}

func (s *fakeStore) NextWakeAt(context.Context) (*time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake, nil
}

func (s *fakeStore) RenewLeases(_ context.Context, leases []store.Lease, _ time.Duration) (store.RenewResult, error) {
	s.mu.Lock()
	refs := make([]store.ExecutionRef, len(leases))
	for i, l := range leases {
		refs[i] = l.Ref
	}
	s.renewed = append(s.renewed, refs)
	res := store.RenewResult{Cancel: s.cancel, Lost: s.lost}
	err := s.renewErr
	s.cancel, s.lost = nil, nil
	s.mu.Unlock()
	select {
	case s.renewals <- struct{}{}:
	default:
	}
	return res, err
}

func (s *fakeStore) claims() []store.ExecutionRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.ExecutionRef(nil), s.claimed...)
}

// fakeRunner runs executions by blocking until told, canceled, or stopped.
type fakeRunner struct {
	started chan string
	release chan struct{}
	// hold, when set, keeps a canceled run running until it is closed.
	hold     chan struct{}
	outcome  engine.Outcome
	mu       sync.Mutex
	canceled []string
}

func newFakeRunner() *fakeRunner {
	return &fakeRunner{started: make(chan string, 64), release: make(chan struct{}), outcome: engine.Outcome{Status: workflow.ExecutionSucceeded}}
}

func (r *fakeRunner) Run(ctx context.Context, exec *store.Execution, _ string, cancel <-chan struct{}) (engine.Outcome, error) {
	r.started <- exec.ID
	select {
	case <-r.release:
		return r.outcome, nil
	case <-cancel:
		r.mu.Lock()
		r.canceled = append(r.canceled, exec.ID)
		r.mu.Unlock()
		if r.hold != nil {
			<-r.hold
		}
		return engine.Outcome{Status: workflow.ExecutionCanceled}, nil
	case <-ctx.Done():
		return engine.Outcome{Status: workflow.ExecutionQueued}, ctx.Err()
	}
}

type testBundle struct {
	store  *fakeStore
	runner *fakeRunner
	d      *dispatch.Embedded
}

func setup(t *testing.T, cfg dispatch.EmbeddedConfig) *testBundle {
	t.Helper()
	b := &testBundle{store: newFakeStore(), runner: newFakeRunner()}
	cfg.Store, cfg.Runner = b.store, b.runner
	if cfg.Owner == "" {
		cfg.Owner = "test-owner"
	}
	d, err := dispatch.NewEmbedded(cfg)
	require.NoError(t, err)
	b.d = d
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, d.Stop(ctx))
	})
	return b
}

var ref1 = store.ExecutionRef{TenantID: "t", ID: "e1"}

// recv receives from ch, failing the test instead of hanging when nothing comes.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived within 10s")
		var zero T
		return zero
	}
}

// fakeTx collects the commit hooks of a write.
type fakeTx struct{ hooks []func() }

func (tx *fakeTx) OnCommit(f func()) { tx.hooks = append(tx.hooks, f) }
func (tx *fakeTx) commit() {
	for _, f := range tx.hooks {
		f()
	}
}

func TestCancelReachesTheRunningExecution(t *testing.T) {
	t.Parallel()
	b := setup(t, dispatch.EmbeddedConfig{PollInterval: time.Hour, Heartbeat: time.Hour})
	// The canceled run keeps running until hold closes, so that the second cancel reaches it too.
	b.runner.hold = make(chan struct{})
	require.False(t, b.d.Cancel(ref1), "nothing runs yet")
	tx := &fakeTx{}
	require.NoError(t, b.d.Enqueue(context.Background(), tx, &store.Execution{TenantID: "t", ID: "e1"}))
	require.NoError(t, b.d.Start(context.Background()))
	tx.commit()
	require.Equal(t, "e1", recv(t, b.runner.started))
	require.Equal(t, 1, b.d.Running())
	require.True(t, b.d.Cancel(ref1))
	require.True(t, b.d.Cancel(ref1), "a second cancel is harmless")
	close(b.runner.hold)
	require.Eventually(t, func() bool { return b.d.Running() == 0 }, 5*time.Second, time.Millisecond)
	require.Equal(t, []string{"e1"}, b.runner.canceled)
}

func TestEnqueueWaitsForTheCommit(t *testing.T) {
	t.Parallel()
	b := setup(t, dispatch.EmbeddedConfig{PollInterval: time.Hour, Heartbeat: time.Hour})
	require.NoError(t, b.d.Start(context.Background()))
	recv(t, b.store.polls) // the first poll found nothing
	tx := &fakeTx{}
	require.NoError(t, b.d.Enqueue(context.Background(), tx, &store.Execution{TenantID: "t", ID: "e1"}))
	select {
	case id := <-b.runner.started:
		t.Fatalf("execution %s ran before its transaction committed", id)
	default:
	}
	tx.commit()
	require.Equal(t, "e1", recv(t, b.runner.started))
	close(b.runner.release)
}

func TestHeartbeatRenewsLeasesAndDeliversCancelRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, dispatch.EmbeddedConfig{PollInterval: time.Hour, Heartbeat: 5 * time.Millisecond})
	b.store.runnable = []store.ExecutionRef{ref1}
	require.NoError(t, b.d.Start(context.Background()))
	require.Equal(t, "e1", recv(t, b.runner.started))
	recv(t, b.store.renewals)
	b.store.mu.Lock()
	require.Contains(t, b.store.renewed, []store.ExecutionRef{ref1})
	// Another process asked to cancel: the next heartbeat delivers it.
	b.store.cancel = []store.ExecutionRef{ref1}
	b.store.mu.Unlock()
	require.Eventually(t, func() bool { return b.d.Running() == 0 }, 5*time.Second, time.Millisecond)
	require.Equal(t, []string{"e1"}, b.runner.canceled)
}

func TestEachClaimHasAnOwnerOfItsOwn(t *testing.T) {
	t.Parallel()
	b := setup(t, dispatch.EmbeddedConfig{PollInterval: time.Hour, Heartbeat: time.Hour, Owner: "proc"})
	b.store.runnable = []store.ExecutionRef{ref1, {TenantID: "t", ID: "e2"}}
	require.NoError(t, b.d.Start(context.Background()))
	recv(t, b.runner.started)
	recv(t, b.runner.started)
	b.store.mu.Lock()
	owners := append([]string(nil), b.store.owners...)
	b.store.mu.Unlock()
	require.ElementsMatch(t, []string{"proc/1", "proc/2"}, owners)
	close(b.runner.release)
}

func TestLostLeaseStopsTheRun(t *testing.T) {
	t.Parallel()
	b := setup(t, dispatch.EmbeddedConfig{PollInterval: time.Hour, Heartbeat: 5 * time.Millisecond})
	b.store.runnable = []store.ExecutionRef{ref1}
	require.NoError(t, b.d.Start(context.Background()))
	require.Equal(t, "e1", recv(t, b.runner.started))
	// Another worker claimed the execution: the next renewal says so, and the run stops without
	// being canceled (the execution is not canceled: someone else runs it).
	b.store.mu.Lock()
	b.store.lost = []store.ExecutionRef{ref1}
	b.store.mu.Unlock()
	require.Eventually(t, func() bool { return b.d.Running() == 0 }, 5*time.Second, time.Millisecond)
	require.Empty(t, b.runner.canceled)
}

func TestFailingRenewalsStopRunsBeforeTheirLeaseExpires(t *testing.T) {
	t.Parallel()
	const lease, heartbeat = 200 * time.Millisecond, 20 * time.Millisecond
	b := setup(t, dispatch.EmbeddedConfig{PollInterval: time.Hour, Heartbeat: heartbeat, Lease: lease})
	b.store.runnable = []store.ExecutionRef{ref1}
	b.store.renewErr = errors.New("database unreachable")
	before := time.Now()
	require.NoError(t, b.d.Start(context.Background()))
	require.Equal(t, "e1", recv(t, b.runner.started))
	require.Eventually(t, func() bool { return b.d.Running() == 0 }, 5*time.Second, time.Millisecond)
	require.GreaterOrEqual(t, time.Since(before), lease-heartbeat, "runs keep going while their lease may still hold")
	require.Empty(t, b.runner.canceled)
}

// TestSchedulerDoesNotSpinOnOverdueWork keeps an overdue waiting execution that no worker can take
// (the only worker is busy): the scheduler must keep to its poll interval instead of polling in a
// tight loop.
func TestSchedulerDoesNotSpinOnOverdueWork(t *testing.T) {
	t.Parallel()
	const interval = 20 * time.Millisecond
	b := setup(t, dispatch.EmbeddedConfig{Workers: 1, PollInterval: interval, Heartbeat: time.Hour})
	past := time.Now().Add(-time.Minute)
	busy := store.ExecutionRef{TenantID: "t", ID: "busy"}
	b.store.runnable = []store.ExecutionRef{busy, {TenantID: "t", ID: "overdue"}}
	b.store.wake = &past
	require.NoError(t, b.d.Start(context.Background()))
	require.Equal(t, "busy", recv(t, b.runner.started))
	first := recv(t, b.store.polls)
	var fifth time.Time
	for range 4 {
		fifth = recv(t, b.store.polls)
	}
	require.GreaterOrEqual(t, fifth.Sub(first), 3*interval, "five polls in %s", fifth.Sub(first))
	close(b.runner.release)
	require.Equal(t, "overdue", recv(t, b.runner.started))
}

func TestWaitingOutcomeArmsTheWakeUp(t *testing.T) {
	t.Parallel()
	b := setup(t, dispatch.EmbeddedConfig{PollInterval: time.Hour, Heartbeat: time.Hour})
	wake := time.Now().Add(30 * time.Millisecond)
	b.runner.outcome = engine.Outcome{Status: workflow.ExecutionWaiting, WakeAt: &wake}
	close(b.runner.release)
	b.store.runnable = []store.ExecutionRef{ref1}
	require.NoError(t, b.d.Start(context.Background()))
	require.Equal(t, "e1", recv(t, b.runner.started))
	recv(t, b.store.polls) // the start-up poll
	// The execution parked itself until wake; at wake the scheduler polls again, long before the
	// hourly poll.
	b.store.mu.Lock()
	b.store.runnable = []store.ExecutionRef{ref1}
	b.store.mu.Unlock()
	polled := recv(t, b.store.polls)
	require.False(t, polled.Before(wake), "polled at %s, before the wake-up at %s", polled, wake)
	require.Equal(t, "e1", recv(t, b.runner.started))
}

func TestFirstPollTakesOver(t *testing.T) {
	t.Parallel()
	b := setup(t, dispatch.EmbeddedConfig{PollInterval: time.Hour, Heartbeat: time.Hour, Takeover: true})
	b.store.runnable = []store.ExecutionRef{ref1}
	close(b.runner.release)
	require.NoError(t, b.d.Start(context.Background()))
	require.Equal(t, "e1", recv(t, b.runner.started))
	require.Eventually(t, func() bool {
		b.store.mu.Lock()
		defer b.store.mu.Unlock()
		return b.store.takeovers == 1
	}, 5*time.Second, time.Millisecond)
}

func TestClaimConflictIsSkipped(t *testing.T) {
	t.Parallel()
	b := setup(t, dispatch.EmbeddedConfig{PollInterval: 5 * time.Millisecond, Heartbeat: time.Hour})
	b.store.claimErr = store.ErrConflict
	b.store.runnable = []store.ExecutionRef{ref1}
	require.NoError(t, b.d.Start(context.Background()))
	for range 3 {
		recv(t, b.store.polls)
	}
	require.Empty(t, b.store.claims())
	require.Zero(t, b.d.Running())
	b.store.mu.Lock()
	b.store.claimErr = nil
	b.store.mu.Unlock()
	require.Equal(t, "e1", recv(t, b.runner.started), "the next poll offers it again")
	close(b.runner.release)
}

func TestFullQueueLeavesWorkInTheStore(t *testing.T) {
	t.Parallel()
	b := setup(t, dispatch.EmbeddedConfig{Workers: 1, QueueSize: 1, PollInterval: time.Hour, Heartbeat: time.Hour})
	require.NoError(t, b.d.Start(context.Background()))
	recv(t, b.store.polls)
	enqueue := func(id string) {
		tx := &fakeTx{}
		require.NoError(t, b.d.Enqueue(context.Background(), tx, &store.Execution{TenantID: "t", ID: id}))
		tx.commit()
	}
	enqueue("a")
	require.Equal(t, "a", recv(t, b.runner.started))
	// The only worker is busy: b takes the one place in the queue, c finds it full and stays in the
	// store for a later poll.
	enqueue("b")
	enqueue("c")
	require.Equal(t, 1, b.d.Queued())
	close(b.runner.release)
	require.Equal(t, "b", recv(t, b.runner.started), "the one that found room in the queue")
}

func TestStartStopLifecycle(t *testing.T) {
	t.Parallel()
	d, err := dispatch.NewEmbedded(dispatch.EmbeddedConfig{Store: newFakeStore(), Runner: newFakeRunner(), Owner: "o"})
	require.NoError(t, err)
	require.NoError(t, d.Stop(context.Background()), "stopping a dispatcher that never started")
	require.NoError(t, d.Start(context.Background()))
	require.Error(t, d.Start(context.Background()))
	require.NoError(t, d.Stop(context.Background()))
	require.NoError(t, d.Stop(context.Background()), "stopping twice")

	_, err = dispatch.NewEmbedded(dispatch.EmbeddedConfig{})
	require.Error(t, err)
}

func TestStopWaitsForRunsAtMostUntilItsDeadline(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	s.runnable = []store.ExecutionRef{ref1}
	stuck := &stuckRunner{started: make(chan struct{}), done: make(chan struct{})}
	d, err := dispatch.NewEmbedded(dispatch.EmbeddedConfig{Store: s, Runner: stuck, Owner: "o", PollInterval: time.Hour, Heartbeat: time.Hour})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	recv(t, stuck.started)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err = d.Stop(ctx)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "error %v", err)
	close(stuck.done)
}

// stuckRunner ignores cancellation until done is closed.
type stuckRunner struct {
	started chan struct{}
	done    chan struct{}
	once    sync.Once
}

func (r *stuckRunner) Run(context.Context, *store.Execution, string, <-chan struct{}) (engine.Outcome, error) {
	r.once.Do(func() { close(r.started) })
	<-r.done
	return engine.Outcome{Status: workflow.ExecutionQueued}, nil
}
