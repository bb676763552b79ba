// Package dispatch decides which process runs which execution. The embedded dispatcher is an
// in-process worker pool whose durable queue is the executions table: an execution is enqueued by the
// transaction that inserts it (the wake-up is sent after commit), claimed with a lease, and run by the
// engine. Timers for waiting executions live in the store; the dispatcher keeps one timer for the
// earliest and polls as a safety net, so that nothing is lost when a notification is.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// Store is what the dispatcher needs from the store.
type Store interface {
	ClaimExecution(ctx context.Context, ref store.ExecutionRef, owner string, lease time.Duration, takeover bool) (*store.Execution, error)
	ListRunnable(ctx context.Context, params store.RunnableParams) ([]store.ExecutionRef, error)
	NextWakeAt(ctx context.Context) (*time.Time, error)
	RenewLeases(ctx context.Context, leases []store.Lease, lease time.Duration) (store.RenewResult, error)
}

// Dispatcher is what a runtime needs of a dispatcher: Embedded and River implement it.
type Dispatcher interface {
	// Enqueue is the store.TxHookFunc that queues a new execution in its creating transaction.
	Enqueue(ctx context.Context, tx store.Tx, exec *store.Execution) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	// Cancel signals the run of an execution in this process and reports whether it runs here.
	Cancel(ref store.ExecutionRef) bool
	// Running and Queued count executions running here and handed to this process, not yet claimed.
	Running() int
	Queued() int
}

var (
	_ Dispatcher = (*Embedded)(nil)
	_ Dispatcher = (*River)(nil)
)

// Runner runs one claimed execution; *engine.Engine implements it.
type Runner interface {
	Run(ctx context.Context, exec *store.Execution, owner string, cancel <-chan struct{}) (engine.Outcome, error)
}

// Defaults for EmbeddedConfig.
const (
	WorkersDefault      = 64
	LeaseDefault        = 30 * time.Second
	HeartbeatDefault    = 10 * time.Second
	PollIntervalDefault = time.Second
	QueueSizeDefault    = 8192
)

// EmbeddedConfig configures an Embedded dispatcher. Store, Runner and Owner are required.
type EmbeddedConfig struct {
	Store  Store
	Runner Runner
	// Owner identifies this process in leases; it must be unique among live processes. Each claim
	// adds a number of its own to it (see store.Lease.Owner).
	Owner string
	// Workers is the number of executions run at once (default 64).
	Workers int
	// Lease is how long a claim lasts without renewal (default 30s); Heartbeat renews it (default 10s).
	Lease, Heartbeat time.Duration
	// PollInterval is how often the store is polled for work notifications missed (default 1s).
	PollInterval time.Duration
	// QueueSize bounds the in-memory hand-off queue (default 8192); beyond it, work waits in the store.
	QueueSize int
	// Takeover makes the first poll claim executions left running by a previous process even when
	// their lease has not expired. Right for a single-process store such as SQLite.
	Takeover bool
	Logger   *slog.Logger
	Now      func() time.Time
}

type job struct {
	ref      store.ExecutionRef
	takeover bool
}

// Embedded is the in-process dispatcher.
type Embedded struct {
	cfg    EmbeddedConfig
	logger *slog.Logger
	queue  chan job

	runs *runs

	mu      sync.Mutex
	pending map[store.ExecutionRef]bool
	nextAt  time.Time

	kick     chan struct{}
	runCtx   context.Context
	stopRun  context.CancelFunc
	done     chan struct{}
	wg       sync.WaitGroup
	started  bool
	stopOnce sync.Once
}

// NewEmbedded returns a dispatcher; call Start to run it.
func NewEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.Store == nil || cfg.Runner == nil || cfg.Owner == "" {
		return nil, errors.New("dispatch: Store, Runner and Owner are required")
	}
	logger := runDefaults(&cfg.Workers, &cfg.Lease, &cfg.Heartbeat, &cfg.Now, cfg.Logger)
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = PollIntervalDefault
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = QueueSizeDefault
	}
	return &Embedded{
		cfg:     cfg,
		logger:  logger,
		runs:    newRuns(cfg.Store, cfg.Runner, cfg.Owner, cfg.Lease, cfg.Heartbeat, cfg.Now, logger),
		queue:   make(chan job, cfg.QueueSize),
		pending: map[store.ExecutionRef]bool{},
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}, nil
}

// Enqueue schedules exec to run once tx commits. It is the store.TxHookFunc the service passes to
// CreateExecution.
func (d *Embedded) Enqueue(_ context.Context, tx store.Tx, exec *store.Execution) error {
	ref := store.ExecutionRef{TenantID: exec.TenantID, ID: exec.ID}
	tx.OnCommit(func() { d.offer(job{ref: ref}) })
	return nil
}

// offer hands a job to the workers unless it is already pending; when the queue is full the job
// stays in the store and the next poll finds it.
func (d *Embedded) offer(j job) {
	d.mu.Lock()
	if d.pending[j.ref] {
		d.mu.Unlock()
		return
	}
	d.pending[j.ref] = true
	d.mu.Unlock()
	select {
	case d.queue <- j:
	default:
		d.mu.Lock()
		delete(d.pending, j.ref)
		d.mu.Unlock()
	}
}

// Start launches the workers, the scheduler and the heartbeat. It returns at once.
func (d *Embedded) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return errors.New("dispatch: already started")
	}
	d.started = true
	d.runCtx, d.stopRun = context.WithCancel(context.WithoutCancel(ctx))
	for range d.cfg.Workers {
		d.wg.Add(1)
		go d.worker()
	}
	d.wg.Add(2)
	go d.scheduler()
	go d.heartbeat()
	return nil
}

// Stop stops claiming work, hands running executions back to the queue (their attempts are
// canceled) and waits for the workers, at most until ctx ends.
func (d *Embedded) Stop(ctx context.Context) error {
	d.mu.Lock()
	if !d.started {
		d.mu.Unlock()
		return nil
	}
	d.mu.Unlock()
	d.stopOnce.Do(func() {
		close(d.done)
		d.stopRun()
	})
	finished := make(chan struct{})
	go func() { d.wg.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("dispatch: stop: %w", ctx.Err())
	}
}

// Cancel signals the run of ref in this process; it reports whether the execution runs here.
func (d *Embedded) Cancel(ref store.ExecutionRef) bool { return d.runs.cancel(ref) }

// Running returns the number of executions running in this process.
func (d *Embedded) Running() int { return d.runs.running() }

// Queued returns the number of executions handed to the workers and not yet claimed.
func (d *Embedded) Queued() int { return len(d.queue) }

func (d *Embedded) worker() {
	defer d.wg.Done()
	for {
		select {
		case <-d.done:
			return
		case j := <-d.queue:
			d.runOne(j)
		}
	}
}

func (d *Embedded) runOne(j job) {
	defer func() {
		d.mu.Lock()
		delete(d.pending, j.ref)
		d.mu.Unlock()
	}()
	if d.runCtx.Err() != nil {
		return
	}
	outcome, err := d.runs.run(d.runCtx, j.ref, j.takeover)
	if err != nil {
		if !errors.Is(err, errNotClaimable) && d.runCtx.Err() == nil {
			d.logger.Error("Claim failed", "tenant_id", j.ref.TenantID, "execution_id", j.ref.ID, "error", err.Error())
		}
		return
	}
	if outcome.Status == workflow.ExecutionWaiting && outcome.WakeAt != nil {
		d.wakeAt(*outcome.WakeAt)
	}
}

// Wake makes the scheduler look for due executions at once: a signal made one due.
func (d *Embedded) Wake() { d.wakeAt(d.cfg.Now()) }

// wakeAt makes the scheduler look again no later than at.
func (d *Embedded) wakeAt(at time.Time) {
	d.mu.Lock()
	earlier := d.nextAt.IsZero() || at.Before(d.nextAt)
	if earlier {
		d.nextAt = at
	}
	d.mu.Unlock()
	if earlier {
		select {
		case d.kick <- struct{}{}:
		default:
		}
	}
}

// scheduler polls the store for runnable work: at start (taking over when configured), on the
// earliest wake-up time, and every PollInterval. A wake-up time that was already due at the last poll
// was offered by that poll; if it is still waiting (its execution is queued for a busy worker), the
// next regular poll offers it again, so that an overdue execution never makes the scheduler spin.
func (d *Embedded) scheduler() {
	defer d.wg.Done()
	polled := d.poll(d.cfg.Takeover)
	d.refreshNextWake(polled)
	poll := time.NewTicker(d.cfg.PollInterval)
	defer poll.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d.mu.Lock()
		next := d.nextAt
		d.mu.Unlock()
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(d.cfg.Now()), 0)
		}
		timer.Reset(wait)
		select {
		case <-d.done:
			return
		case <-d.kick:
		case <-timer.C:
			d.mu.Lock()
			d.nextAt = time.Time{}
			d.mu.Unlock()
			polled = d.poll(false)
			d.refreshNextWake(polled)
		case <-poll.C:
			polled = d.poll(false)
			d.refreshNextWake(polled)
		}
	}
}

// refreshNextWake arms the timer for the earliest wake-up time after the poll made at polled.
func (d *Embedded) refreshNextWake(polled time.Time) {
	at, err := d.cfg.Store.NextWakeAt(d.runCtx)
	if err != nil {
		if d.runCtx.Err() == nil {
			d.logger.Warn("Reading the next wake-up failed", "error", err.Error())
		}
		return
	}
	if at != nil && at.After(polled) {
		d.wakeAt(*at)
	}
}

// poll offers every runnable execution to the workers, page by page, and returns the time it polled
// for.
func (d *Embedded) poll(takeover bool) time.Time {
	const page = 500
	now := d.cfg.Now()
	after := ""
	for {
		refs, err := d.cfg.Store.ListRunnable(d.runCtx, store.RunnableParams{Now: now, Limit: page, AnyLease: takeover, AfterID: after})
		if err != nil {
			if d.runCtx.Err() == nil {
				d.logger.Warn("Polling for runnable executions failed", "error", err.Error())
			}
			return now
		}
		for _, ref := range refs {
			d.offer(job{ref: ref, takeover: takeover})
		}
		if len(refs) < page || len(d.queue) == cap(d.queue) {
			return now
		}
		after = refs[len(refs)-1].ID
	}
}

// heartbeat keeps the leases of the executions this process runs (see runs.keepLeases).
func (d *Embedded) heartbeat() {
	defer d.wg.Done()
	d.runs.keepLeases(d.runCtx, d.done)
}
