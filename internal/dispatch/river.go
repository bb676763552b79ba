package dispatch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/concertmaster/concertmaster/internal/store"
)

// SweepIntervalDefault is how often the River leader looks for executions that no job will run.
const SweepIntervalDefault = 5 * time.Second

// RiverConfig configures a River dispatcher. DB, Store and Owner are required; Pool and Runner too
// unless the dispatcher only inserts jobs (an API process).
type RiverConfig struct {
	// DB is the store's PostgreSQL pool: jobs are inserted in the store's own transactions through it.
	DB *sql.DB
	// Pool serves River's workers (fetching jobs, LISTEN/NOTIFY, leader election). Nil makes an
	// insert-only dispatcher, which runs nothing.
	Pool   *pgxpool.Pool
	Store  Store
	Runner Runner
	// Owner identifies this process in leases (see EmbeddedConfig.Owner).
	Owner string
	// Workers is the number of executions run at once (default 64).
	Workers int
	// Lease and Heartbeat are as in EmbeddedConfig.
	Lease, Heartbeat time.Duration
	// SweepInterval is how often the leader re-enqueues executions no job will run: leases that
	// expired with their worker, executions queued before River was in use (default 5s).
	SweepInterval time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
	// OnStop runs when the dispatcher stops, started or not (to close Pool).
	OnStop func()
	// OnLead, when set, runs each time this process becomes River's leader (see Leading).
	OnLead func()
}

// executionArgs is the job that runs (or resumes) one execution. A job that finds its execution not
// claimable (another worker runs it, it finished, it is not due) does nothing: jobs are hints, the
// executions table is the truth, and fencing (ADR 0020) keeps two runs from writing.
type executionArgs struct {
	TenantID    string `json:"tenantId"`
	ExecutionID string `json:"executionId"`
	// Sweep marks a job the sweep inserted; there is at most one unfinished such job per execution
	// and period (see sweepUnique).
	Sweep bool `json:"sweep,omitempty"`
}

func (executionArgs) Kind() string { return "concertmaster_execution" }

// sweepArgs is the leader's periodic sweep.
type sweepArgs struct{}

func (sweepArgs) Kind() string { return "concertmaster_sweep" }

// River dispatches executions through River jobs in PostgreSQL (ADR 0022): an execution is enqueued
// by a job inserted in the transaction that creates it, requeues it, parks it until a wake-up time or
// wakes it; River's workers claim and run it with the same fencing as the embedded dispatcher; the
// leader sweeps for executions whose job was lost with a worker.
type River struct {
	cfg      RiverConfig
	logger   *slog.Logger
	runs     *runs
	inserter *river.Client[*sql.Tx]
	worker   *river.Client[pgx.Tx]

	// slots bounds the executions this process runs at once (CM_WORKERS), whether a River job or the
	// process itself (runNow, wakeLater) started them.
	slots chan struct{}

	// term is the number of the current term as River's elected leader, 0 when this process does
	// not lead (see Leading); terms counts them, so that the end of a term cannot end the next one.
	term, terms atomic.Int64
	// working says the workers run (between Start and Stop).
	working atomic.Bool

	mu      sync.Mutex
	started bool
	stopped bool
	timers  map[*time.Timer]struct{}
	runCtx  context.Context
	done    chan struct{}
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

// Bounds of the wake-up timers a River dispatcher keeps in memory: beyond them, River's own scheduler
// (which looks every few seconds) makes the job available.
const (
	timerHorizon = 10 * time.Minute
	timersMax    = 100_000
	// enqueueTimeout bounds the insert of a job after commit (runNowOrEnqueue).
	enqueueTimeout = 10 * time.Second
)

// NewRiver returns a River dispatcher; call Start to run its workers.
func NewRiver(cfg RiverConfig) (*River, error) {
	if cfg.DB == nil || cfg.Store == nil || cfg.Owner == "" {
		return nil, errors.New("dispatch: DB, Store and Owner are required")
	}
	if cfg.Pool != nil && cfg.Runner == nil {
		return nil, errors.New("dispatch: a River dispatcher that runs executions needs a Runner")
	}
	logger := runDefaults(&cfg.Workers, &cfg.Lease, &cfg.Heartbeat, &cfg.Now, cfg.Logger)
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = SweepIntervalDefault
	}
	d := &River{cfg: cfg, logger: logger, done: make(chan struct{}), slots: make(chan struct{}, cfg.Workers),
		timers: map[*time.Timer]struct{}{},
		runs:   newRuns(cfg.Store, cfg.Runner, cfg.Owner, cfg.Lease, cfg.Heartbeat, cfg.Now, logger)}
	riverLogger := logger.With("component", "river")
	// The inserter notifies workers of new jobs at most once per FetchCooldown: the smallest there is,
	// or runs started in quick succession would wait for the workers' next poll.
	inserter, err := river.NewClient(riverdatabasesql.New(cfg.DB), &river.Config{Logger: riverLogger, FetchCooldown: river.FetchCooldownMin})
	if err != nil {
		return nil, fmt.Errorf("dispatch: river inserter: %w", err)
	}
	d.inserter = inserter
	if cfg.Pool != nil {
		workers := river.NewWorkers()
		river.AddWorker(workers, &executionWorker{d: d})
		river.AddWorker(workers, &sweepWorker{d: d})
		worker, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
			ID:      cfg.Owner,
			Logger:  riverLogger,
			Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
			Workers: workers,
			// An execution runs as long as it runs: its lease, not a job timeout, says whether it is alive.
			JobTimeout:    -1,
			FetchCooldown: 5 * time.Millisecond,
			// A notification lost (a listener reconnecting) costs at most this.
			FetchPollInterval: 250 * time.Millisecond,
			// A completed job says nothing the execution's own log does not: keep them briefly (River's
			// default, a day, would hold millions of rows at a few hundred executions a second).
			CompletedJobRetentionPeriod: 5 * time.Minute,
			// River tells the new leader when its periodic jobs start, with a context that ends when it
			// stops leading: Leading follows it.
			Hooks: []rivertype.Hook{&leaderHook{d: d}},
			PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.SweepInterval),
				func() (river.JobArgs, *river.InsertOpts) { return sweepArgs{}, nil },
				&river.PeriodicJobOpts{ID: "concertmaster_sweep", RunOnStart: true})},
		})
		if err != nil {
			return nil, fmt.Errorf("dispatch: river worker: %w", err)
		}
		d.worker = worker
	}
	return d, nil
}

// MigrateRiver creates or upgrades River's tables in db, one process at a time (a session advisory
// lock of its own, so that processes starting together do not race).
func MigrateRiver(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	defer func() { _ = conn.Close() }()
	// "cmriver" in ASCII, next to the store's migration lock.
	const lockKey = 7164502881690870133
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(lockKey)); err != nil {
		return fmt.Errorf("migrate river: lock: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(lockKey))
	}()
	m, err := rivermigrate.New(riverdatabasesql.New(db), nil)
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	return nil
}

// Enqueue inserts the job that runs exec, in tx; it is the store.TxHookFunc the service passes to
// CreateExecution.
func (d *River) Enqueue(ctx context.Context, tx store.Tx, exec *store.Execution) error {
	return d.EnqueueAt(ctx, tx, store.ExecutionRef{TenantID: exec.TenantID, ID: exec.ID}, time.Time{})
}

// EnqueueAt inserts, in tx, the job that runs ref once at has come (at once for the zero time); it
// is the store.RunnableHook of a store served by River.
func (d *River) EnqueueAt(ctx context.Context, tx store.Tx, ref store.ExecutionRef, at time.Time) error {
	stx, ok := tx.(interface{ SQLTx() *sql.Tx })
	if !ok || stx.SQLTx() == nil {
		return errors.New("dispatch: River enqueues in the store's PostgreSQL transaction, and this write has none")
	}
	due := at.IsZero() || !at.After(d.cfg.Now())
	if due && d.working.Load() && len(d.slots) < cap(d.slots) {
		// This process has a slot free: it runs the execution once the write commits, and needs no
		// job, whose insert, fetch and completion would cost more than the run of a short workflow.
		// If the slot is gone by then, it inserts the job after all; if the process dies first, the
		// leader's sweep finds the execution queued (or its lease expired) and enqueues it.
		tx.OnCommit(func() { d.runNowOrEnqueue(ref) })
		return nil
	}
	opts := &river.InsertOpts{}
	if !at.IsZero() {
		opts.ScheduledAt = at
	}
	if _, err := d.inserter.InsertTx(ctx, stx.SQLTx(), executionArgs{TenantID: ref.TenantID, ExecutionID: ref.ID}, opts); err != nil {
		return fmt.Errorf("insert job: %w", err)
	}
	if d.worker != nil {
		switch wait := at.Sub(d.cfg.Now()); {
		case at.IsZero() || wait <= 0:
			tx.OnCommit(func() { d.runNow(ref) })
		case wait <= timerHorizon:
			tx.OnCommit(func() { d.wakeLater(ref, wait) })
		}
	}
	return nil
}

// runNow runs a runnable execution in this process at once if it has a slot free, rather than
// waiting for a worker to fetch its job, and reports whether it did: a job, if there is one, then
// finds it taken and does nothing, and stays the guarantee if this process dies.
func (d *River) runNow(ref store.ExecutionRef) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.started || d.stopped {
		return false
	}
	select {
	case d.slots <- struct{}{}:
	default:
		return false
	}
	d.wg.Go(func() {
		defer func() { <-d.slots }()
		if _, err := d.runs.run(d.runCtx, ref, false); err != nil && !errors.Is(err, errNotClaimable) && d.runCtx.Err() == nil {
			d.logger.Warn("Running a new execution failed; its job or the leader's sweep will", "tenant_id", ref.TenantID, "execution_id", ref.ID, "error", err.Error())
		}
	})
	return true
}

// Leading reports whether this process is River's elected leader, the one process of a cluster
// that runs the periodic sweep and, through the app, fires schedules and prunes (ADR 0022). An
// insert-only dispatcher never leads.
func (d *River) Leading() bool { return d.term.Load() != 0 }

// leaderHook follows River's leadership: River starts its periodic job enqueuer on the elected
// leader with a context that ends when the process stops leading (or stops).
type leaderHook struct {
	river.HookDefaults
	d *River
}

// Start implements rivertype.HookPeriodicJobsStart.
func (h *leaderHook) Start(ctx context.Context, _ *rivertype.HookPeriodicJobsStartParams) error {
	d := h.d
	term := d.terms.Add(1)
	d.term.Store(term)
	d.logger.Info("This process leads: it sweeps, fires schedules and prunes", "term", term)
	if d.cfg.OnLead != nil {
		d.cfg.OnLead()
	}
	go func() {
		<-ctx.Done()
		if d.term.CompareAndSwap(term, 0) {
			d.logger.Info("This process no longer leads", "term", term)
		}
	}()
	return nil
}

// wakeUpLister lists the waiting executions due before a time (store.Store.ListWakeUps).
type wakeUpLister interface {
	ListWakeUps(ctx context.Context, before time.Time, limit int) ([]store.WakeUp, error)
}

// rearm sets a timer for every execution waiting to be due within timerHorizon (at most timersMax),
// as the process that parked it did: when every process was restarted, those timers died with it,
// and River's scheduled jobs alone would resume them seconds late (its scheduler runs on the leader,
// elected again only when the dead leader's term ends). Every starting worker does it; the claim
// lets one of them run each execution.
func (d *River) rearm(ctx context.Context, w wakeUpLister) {
	now := d.cfg.Now()
	due, err := w.ListWakeUps(ctx, now.Add(timerHorizon), timersMax)
	if err != nil {
		if ctx.Err() == nil {
			d.logger.Warn("Reading the executions due soon failed; River's jobs will resume them", "error", err.Error())
		}
		return
	}
	for _, wu := range due {
		d.wakeLater(wu.Ref, max(wu.At.Sub(now), 0))
	}
	if len(due) > 0 {
		d.logger.Info("Timers set for the executions due soon", "executions", len(due))
	}
}

// runNowOrEnqueue runs ref at once in this process, or when that cannot be (no slot free after all,
// the dispatcher stopping), inserts its job.
func (d *River) runNowOrEnqueue(ref store.ExecutionRef) {
	if d.runNow(ref) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), enqueueTimeout)
		defer cancel()
		if _, err := d.worker.Insert(ctx, executionArgs{TenantID: ref.TenantID, ExecutionID: ref.ID}, nil); err != nil {
			d.logger.Warn("Enqueueing an execution failed; the leader's sweep will", "tenant_id", ref.TenantID, "execution_id", ref.ID, "error", err.Error())
		}
	}()
}

// wakeLater runs ref in this process once wait has passed: River's
// scheduler promotes scheduled jobs only every few seconds, and a wait should end on time. The job
// stays the guarantee: it runs later, finds the execution taken, and does nothing.
func (d *River) wakeLater(ref store.ExecutionRef, wait time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.started || d.stopped || len(d.timers) >= timersMax {
		return
	}
	d.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(wait, func() {
		defer d.wg.Done()
		d.mu.Lock()
		delete(d.timers, t)
		d.mu.Unlock()
		d.runDue(ref)
	})
	d.timers[t] = struct{}{}
}

// runDue claims and runs a due execution once one of this process's slots is free, trying once more
// shortly after when the database's clock is behind this host's.
func (d *River) runDue(ref store.ExecutionRef) {
	select {
	case d.slots <- struct{}{}:
	case <-d.done:
		return
	}
	defer func() { <-d.slots }()
	for try := 0; try < 2; try++ {
		if d.runCtx.Err() != nil {
			return
		}
		_, err := d.runs.run(d.runCtx, ref, false)
		if !errors.Is(err, errNotClaimable) {
			if err != nil && d.runCtx.Err() == nil {
				d.logger.Warn("Running a due execution failed; its job will", "tenant_id", ref.TenantID, "execution_id", ref.ID, "error", err.Error())
			}
			return
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-d.done:
			return
		}
	}
}

// Start starts River's workers and the lease heartbeat; an insert-only dispatcher has nothing to
// start.
func (d *River) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return errors.New("dispatch: already started")
	}
	d.started = true
	if d.worker == nil {
		return nil
	}
	if err := d.worker.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("dispatch: start river: %w", err)
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.runCtx, d.cancel = hctx, cancel
	d.wg.Go(func() { d.runs.keepLeases(hctx, d.done) })
	d.working.Store(true)
	if w, ok := d.cfg.Store.(wakeUpLister); ok {
		d.wg.Go(func() { d.rearm(hctx, w) })
	}
	return nil
}

// Stop stops fetching jobs and cancels the running ones (the engine hands their executions back, which
// enqueues them again), waiting for them at most until ctx ends.
func (d *River) Stop(ctx context.Context) error {
	d.mu.Lock()
	started := d.started && d.worker != nil
	stopped := d.stopped
	d.stopped = true
	d.working.Store(false)
	// A stopping process leaves schedules and pruning to the next leader at once.
	d.term.Store(0)
	d.mu.Unlock()
	if stopped {
		return nil
	}
	if d.cfg.OnStop != nil {
		defer d.cfg.OnStop()
	}
	if !started {
		return nil
	}
	d.mu.Lock()
	for t := range d.timers {
		if t.Stop() {
			d.wg.Done()
		}
		delete(d.timers, t)
	}
	d.mu.Unlock()
	err := d.worker.StopAndCancel(ctx)
	close(d.done)
	d.cancel()
	d.wg.Wait()
	if err != nil {
		return fmt.Errorf("dispatch: stop river: %w", err)
	}
	return nil
}

// Cancel signals the run of ref in this process; it reports whether the execution runs here.
func (d *River) Cancel(ref store.ExecutionRef) bool { return d.runs.cancel(ref) }

// Running returns the number of executions running in this process.
func (d *River) Running() int { return d.runs.running() }

// Queued returns 0: River's queue lives in the database (see the queue depth metric).
func (d *River) Queued() int { return 0 }

type executionWorker struct {
	river.WorkerDefaults[executionArgs]
	d *River
}

// Timeout disables River's job timeout: see RiverConfig.
func (*executionWorker) Timeout(*river.Job[executionArgs]) time.Duration { return -1 }

func (w *executionWorker) Work(ctx context.Context, job *river.Job[executionArgs]) error {
	ref := store.ExecutionRef{TenantID: job.Args.TenantID, ID: job.Args.ExecutionID}
	select {
	case w.d.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.d.slots }()
	_, err := w.d.runs.run(ctx, ref, false)
	if errors.Is(err, errNotClaimable) {
		return nil
	}
	return err
}

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	d *River
}

// sweepUnique keeps at most one unfinished sweep job per execution in each period of the given
// length (see sweepPeriod). The period is what lets the sweep enqueue an execution again whose sweep
// job outlived its worker: a worker killed with SIGKILL leaves its job "running" in River until
// River's rescuer looks at it, an hour later, and a uniqueness over every unfinished job would keep
// the execution from being enqueued for that hour, although its lease expired long before.
func sweepUnique(period time.Duration) river.UniqueOpts {
	return river.UniqueOpts{ByArgs: true, ByPeriod: period, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}}
}

// sweepPeriod is half the lease, and at least River's minimum of a second. A job that claimed an
// execution was inserted before its claim, and the claim's lease lasts at least a lease after it,
// so the sweep that finds the lease expired is in a later period than that job whatever the clocks
// of the two processes say within half a lease: a job left running by a dead worker never holds up
// the takeover. In between, a backlog gets at most one sweep job per execution and period.
func sweepPeriod(lease time.Duration) time.Duration {
	return max(lease/2, time.Second)
}

// Work enqueues every execution a worker may claim now: a due one whose job was lost, one whose lease
// expired with its worker, one queued before River served the database. Jobs whose execution turns
// out to be taken do nothing.
func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	const page = 500
	now := w.d.cfg.Now()
	unique := sweepUnique(sweepPeriod(w.d.cfg.Lease))
	after := ""
	for {
		refs, err := w.d.cfg.Store.ListRunnable(ctx, store.RunnableParams{Now: now, Limit: page, AfterID: after})
		if err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
		if len(refs) == 0 {
			return nil
		}
		params := make([]river.InsertManyParams, len(refs))
		for i, ref := range refs {
			params[i] = river.InsertManyParams{Args: executionArgs{TenantID: ref.TenantID, ExecutionID: ref.ID, Sweep: true},
				InsertOpts: &river.InsertOpts{UniqueOpts: unique}}
		}
		if _, err := w.d.worker.InsertMany(ctx, params); err != nil {
			return fmt.Errorf("sweep: insert jobs: %w", err)
		}
		if len(refs) < page {
			return nil
		}
		after = refs[len(refs)-1].ID
	}
}
