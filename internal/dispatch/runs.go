package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/store"
)

// runs claims executions and runs them, and keeps their leases: what every dispatcher of this
// package shares, whatever hands it the work (the embedded queue, River jobs).
type runs struct {
	st        Store
	runner    Runner
	owner     string
	lease     time.Duration
	heartbeat time.Duration
	now       func() time.Time
	logger    *slog.Logger

	claims atomic.Uint64

	mu     sync.Mutex
	active map[store.ExecutionRef]*activeRun
}

type activeRun struct {
	owner      string
	cancel     chan struct{}
	cancelOnce sync.Once
	// abort stops the run without writing anything more: its lease is lost.
	abort context.CancelFunc
	// renewed is when the lease was last known to hold (claimed or renewed).
	renewed time.Time
}

// runDefaults fills the zero settings every dispatcher shares (see EmbeddedConfig) with their defaults
// and returns the dispatcher's logger.
func runDefaults(workers *int, lease, heartbeat *time.Duration, now *func() time.Time, logger *slog.Logger) *slog.Logger {
	if *workers <= 0 {
		*workers = WorkersDefault
	}
	if *lease <= 0 {
		*lease = LeaseDefault
	}
	if *heartbeat <= 0 {
		*heartbeat = HeartbeatDefault
	}
	if *now == nil {
		*now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return logger.With("component", "dispatch")
}

func newRuns(st Store, runner Runner, owner string, lease, heartbeat time.Duration, now func() time.Time, logger *slog.Logger) *runs {
	return &runs{st: st, runner: runner, owner: owner, lease: lease, heartbeat: heartbeat, now: now, logger: logger,
		active: map[store.ExecutionRef]*activeRun{}}
}

// errNotClaimable is run's answer when the execution is not claimable: another worker holds it, it
// finished, or it is not due yet. Nothing is to be done.
var errNotClaimable = errors.New("execution is not claimable")

// run claims ref under an owner string of its own (see store.Lease.Owner) and runs it until it
// finishes, parks, or ctx ends. It returns errNotClaimable when the claim finds nothing to do.
func (r *runs) run(ctx context.Context, ref store.ExecutionRef, takeover bool) (engine.Outcome, error) {
	owner := r.owner + "/" + strconv.FormatUint(r.claims.Add(1), 10)
	claimedAt := r.now()
	exec, err := r.st.ClaimExecution(ctx, ref, owner, r.lease, takeover)
	if errors.Is(err, store.ErrConflict) {
		return engine.Outcome{}, errNotClaimable
	}
	if err != nil {
		return engine.Outcome{}, fmt.Errorf("claim execution %s: %w", ref.ID, err)
	}
	ctx, abort := context.WithCancel(ctx)
	defer abort()
	run := &activeRun{owner: owner, cancel: make(chan struct{}), abort: abort, renewed: claimedAt}
	r.mu.Lock()
	r.active[ref] = run
	r.mu.Unlock()
	if exec.CancelRequested {
		run.cancelOnce.Do(func() { close(run.cancel) })
	}
	outcome, err := r.runner.Run(ctx, exec, owner, run.cancel)
	r.mu.Lock()
	if r.active[ref] == run {
		delete(r.active, ref)
	}
	r.mu.Unlock()
	if err != nil && !errors.Is(err, context.Canceled) {
		r.logger.Error("Execution run failed", "tenant_id", ref.TenantID, "execution_id", ref.ID, "error", err.Error())
	}
	return outcome, nil
}

// cancel signals the run of ref in this process; it reports whether the execution runs here.
func (r *runs) cancel(ref store.ExecutionRef) bool {
	r.mu.Lock()
	run := r.active[ref]
	r.mu.Unlock()
	if run == nil {
		return false
	}
	run.cancelOnce.Do(func() { close(run.cancel) })
	return true
}

// running returns the number of executions running in this process.
func (r *runs) running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.active)
}

// keepLeases renews the leases of running executions every heartbeat until done closes or ctx
// ends. It stops the runs whose lease was lost (another worker claimed the execution after this
// process stalled), and delivers cancel requests made through the store (by another process, or
// while the execution was being claimed). When renewals fail for so long that a lease may have
// expired, the runs concerned are stopped too: another worker may already run them, and their
// writes would be refused anyway.
func (r *runs) keepLeases(ctx context.Context, done <-chan struct{}) {
	t := time.NewTicker(r.heartbeat)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		leases := make([]store.Lease, 0, len(r.active))
		for ref, run := range r.active {
			leases = append(leases, store.Lease{Ref: ref, Owner: run.owner})
		}
		r.mu.Unlock()
		if len(leases) == 0 {
			continue
		}
		asked := r.now()
		res, err := r.st.RenewLeases(ctx, leases, r.lease)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				r.logger.Warn("Renewing leases failed", "error", err.Error())
				failing = true
			}
			r.abortExpired(asked)
			continue
		}
		if failing {
			r.logger.Info("Renewing leases works again")
			failing = false
		}
		r.renewed(leases, res, asked)
		for _, ref := range res.Cancel {
			r.cancel(ref)
		}
	}
}

// renewed records a renewal: runs whose lease was lost stop, the others' leases hold from asked.
func (r *runs) renewed(leases []store.Lease, res store.RenewResult, asked time.Time) {
	lost := make(map[store.ExecutionRef]bool, len(res.Lost))
	for _, ref := range res.Lost {
		lost[ref] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range leases {
		run := r.active[l.Ref]
		if run == nil || run.owner != l.Owner {
			continue
		}
		if lost[l.Ref] {
			r.logger.Warn("Lease lost: stopping the run", "tenant_id", l.Ref.TenantID, "execution_id", l.Ref.ID)
			run.abort()
			continue
		}
		run.renewed = asked
	}
}

// abortExpired stops the runs whose lease may have expired by now: the last renewal that held was
// asked for a lease ago, less a heartbeat of margin for clock drift between here and the database.
func (r *runs) abortExpired(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ref, run := range r.active {
		if now.Sub(run.renewed) >= r.lease-r.heartbeat {
			r.logger.Warn("Lease may have expired while renewals failed: stopping the run", "tenant_id", ref.TenantID, "execution_id", ref.ID)
			run.abort()
		}
	}
}
