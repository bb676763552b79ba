// Package schedule fires the schedule triggers (trigger.schedule) of active workflows. The store keeps
// one row per schedule with its next fire time; a Scheduler sleeps until the earliest one (woken at
// once when a workflow is activated, deactivated, updated or deleted), then, for each schedule that is
// due, starts the run and moves the schedule to its next fire time in one transaction, with a
// conditional update on the fire time it read. A fire time therefore starts exactly one run, across
// restarts and however many schedulers race for it. On PostgreSQL with River every process with
// workers runs a scheduler: the elected leader fires on time, the others only what is more than
// Config.FollowerDelay late (the leader died or stalls).
//
// A fire time less than Config.Grace late fires, late. Older ones were missed (the server was down or
// paused): the schedule's missed policy either skips them or starts one run for the latest of them,
// then the schedule goes on from the next fire time.
package schedule

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/internal/nodes/core"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// Store is what the scheduler needs from the store.
type Store interface {
	ListDueSchedules(ctx context.Context, params store.ListDueSchedulesParams) ([]store.Schedule, error)
	NextScheduleAt(ctx context.Context) (*time.Time, error)
	FireSchedule(ctx context.Context, tx store.Tx, params store.FireScheduleParams) error
}

// Firer starts the run of a fire time and moves the schedule, in one transaction; *service.Service
// implements it.
type Firer interface {
	FireSchedule(ctx context.Context, f service.ScheduleFire) (*store.Execution, bool, error)
}

// Observer is told what the scheduler does; *metrics.Metrics implements it.
type Observer interface {
	// ScheduleFired records a run started for a fire time, lateness being the start minus the fire time.
	ScheduleFired(lateness time.Duration)
	// ScheduleSkipped counts a schedule moved past fire times without a run: missed ones under the
	// skip policy, or one that could not start (its workflow version no longer compiles).
	ScheduleSkipped()
}

// Defaults for Config.
const (
	GraceDefault         = time.Minute
	PollIntervalDefault  = time.Minute
	RetryDelayDefault    = time.Second
	ConcurrencyDefault   = 32
	BatchSizeDefault     = 200
	FollowerDelayDefault = time.Second
	// farAhead is how far a schedule that no longer fires (nothing matches in five years) is moved.
	farAhead = 5 * 365 * 24 * time.Hour
	// specCacheMax bounds the parsed specs kept.
	specCacheMax = 4096
)

// Config configures a Scheduler. Store and Service are required.
type Config struct {
	Store   Store
	Service Firer
	// Wake, when set, makes the scheduler look at the schedules again at once: the service signals
	// it when a workflow is activated, deactivated, updated or deleted
	// (service.Config.SchedulesChangedFunc).
	Wake <-chan struct{}
	// Grace is how late a fire time may be and still fire (default 1m); an older one was missed and
	// the schedule's missed policy applies.
	Grace time.Duration
	// PollInterval bounds the sleep between two looks at the schedules (default 1m), a safety net for
	// a wake-up that was lost.
	PollInterval time.Duration
	// RetryDelay is the wait before trying again a fire that failed on a store error (default 1s).
	RetryDelay time.Duration
	// Concurrency is the number of fires in flight at once (default 8), so that many schedules due
	// at the same instant share the store's transactions.
	Concurrency int
	// BatchSize is the number of due schedules read at once (default 200).
	BatchSize int
	// Leading, when set, says whether this process is the one that fires schedules on time (River's
	// elected leader, on PostgreSQL). While it says no, the background loop fires only fire times
	// more than FollowerDelay late: the leader's work, unless it died or stalls (a new leader is
	// elected only after River's leader term expires, some 15 s). Either way a fire time starts one
	// run. Nil means the process always leads.
	Leading func() bool
	// FollowerDelay is how late a fire time must be for a process that does not lead to fire it
	// (default 1s).
	FollowerDelay time.Duration
	// Observer, when set, is told what the scheduler does.
	Observer Observer
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Pass is what one look at the due schedules did.
type Pass struct {
	// Fired counts the runs started.
	Fired int
	// Skipped counts schedules moved past fire times without a run.
	Skipped int
	// Lost counts fires another scheduler (or a change to the workflow) got to first.
	Lost int
	// Failed counts fires that failed on a store error and are tried again after RetryDelay.
	Failed int
	// Next is the earliest next fire time after the pass, nil when there is no schedule.
	Next *time.Time
	// Follower says the pass looked only at fire times more than Config.FollowerDelay late: this
	// process does not lead (Config.Leading).
	Follower bool
}

// Scheduler fires due schedules.
type Scheduler struct {
	cfg    Config
	logger *slog.Logger
	now    func() time.Time

	// runMu serializes passes.
	runMu sync.Mutex

	specMu sync.Mutex
	specs  map[string]*compiled

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	done    chan struct{}

	// passed, when set (tests), receives every pass the background loop makes.
	passed chan Pass
}

// compiled is a parsed schedule spec.
type compiled struct {
	spec *service.ScheduleSpec
	cron *core.Cron
	err  error
}

// New returns a Scheduler; call Start to run it in the background, or RunDue to make one pass.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Store == nil || cfg.Service == nil {
		return nil, errors.New("schedule: Store and Service are required")
	}
	if cfg.Grace < 0 || cfg.FollowerDelay < 0 || cfg.PollInterval < 0 || cfg.RetryDelay < 0 || cfg.Concurrency < 0 || cfg.BatchSize < 0 {
		return nil, errors.New("schedule: negative setting")
	}
	cfg.Grace = cmp.Or(cfg.Grace, GraceDefault)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, PollIntervalDefault)
	cfg.RetryDelay = cmp.Or(cfg.RetryDelay, RetryDelayDefault)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, ConcurrencyDefault)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, BatchSizeDefault)
	cfg.FollowerDelay = cmp.Or(cfg.FollowerDelay, FollowerDelayDefault)
	s := &Scheduler{cfg: cfg, logger: cfg.Logger, now: cfg.Now, specs: map[string]*compiled{}}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.logger = s.logger.With("component", "scheduler")
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Start runs passes in the background until Stop or until ctx ends: one at once (the missed policy
// applies to what came due while the server was down), then one whenever the earliest schedule comes
// due, the service signals a change, or PollInterval passes.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("schedule: already started")
	}
	s.started = true
	ctx, s.stop = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx)
	return nil
}

// Stop ends the background passes and waits, at most until ctx ends, for the pass under way: a fire
// in flight either commits or rolls back whole.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	started, stop, done := s.started, s.stop, s.done
	s.mu.Unlock()
	if !started {
		return nil
	}
	stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("schedule: stop: %w", ctx.Err())
	}
}

func (s *Scheduler) loop(ctx context.Context) {
	defer close(s.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.cfg.Wake:
		}
		var lag time.Duration
		if s.cfg.Leading != nil && !s.cfg.Leading() {
			lag = s.cfg.FollowerDelay
		}
		pass, err := s.runDue(ctx, lag)
		pass.Follower = lag > 0
		if err != nil && ctx.Err() != nil {
			return
		}
		wait := s.cfg.PollInterval
		switch {
		case err != nil:
			s.logger.WarnContext(ctx, "Schedule pass failed", "error", err.Error(), "retry_in", s.cfg.RetryDelay.String())
			wait = s.cfg.RetryDelay
		case pass.Failed > 0:
			wait = s.cfg.RetryDelay
		}
		if pass.Next != nil {
			wait = min(wait, max(pass.Next.Add(lag).Sub(s.now()), 0))
		}
		timer.Reset(wait)
		if s.passed != nil {
			s.passed <- pass
		}
	}
}

// RunDue fires every schedule that is due now, then returns what it did and the next fire time.
func (s *Scheduler) RunDue(ctx context.Context) (Pass, error) {
	return s.runDue(ctx, 0)
}

// runDue fires every schedule that was due lag ago.
func (s *Scheduler) runDue(ctx context.Context, lag time.Duration) (Pass, error) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	var pass Pass
	// Catching up (fire times less than Grace late, several per schedule) takes several rounds;
	// each round moves every schedule it fires or skips, and the pass stops when a round moves none.
	for {
		now := s.now().Add(-lag)
		due, err := s.cfg.Store.ListDueSchedules(ctx, store.ListDueSchedulesParams{Now: now, Limit: s.cfg.BatchSize})
		if err != nil {
			return pass, err
		}
		if len(due) == 0 {
			break
		}
		round := s.fireAll(ctx, due, now)
		pass.Fired += round.Fired
		pass.Skipped += round.Skipped
		pass.Lost += round.Lost
		pass.Failed += round.Failed
		if round.Fired+round.Skipped+round.Lost == 0 || ctx.Err() != nil {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return pass, err
	}
	next, err := s.cfg.Store.NextScheduleAt(ctx)
	if err != nil {
		return pass, err
	}
	pass.Next = next
	return pass, nil
}

// outcome is what happened to one due schedule.
type outcome int

const (
	fired outcome = iota
	skipped
	lost
	failed
)

// fireAll handles the due schedules, Concurrency at a time.
func (s *Scheduler) fireAll(ctx context.Context, due []store.Schedule, now time.Time) Pass {
	var mu sync.Mutex
	var round Pass
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, sc := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o := s.handle(ctx, sc, now)
			mu.Lock()
			defer mu.Unlock()
			switch o {
			case fired:
				round.Fired++
			case skipped:
				round.Skipped++
			case lost:
				round.Lost++
			case failed:
				round.Failed++
			}
		})
	}
	wg.Wait()
	return round
}

// handle fires, skips or catches up one due schedule.
func (s *Scheduler) handle(ctx context.Context, sc store.Schedule, now time.Time) outcome {
	log := s.logger.With("tenant_id", sc.TenantID, "workflow_id", sc.WorkflowID, "node_id", sc.NodeID)
	c := s.compile(sc.Spec)
	if c.err != nil {
		// Not a spec this build can read: move it a day on rather than look at it again and again.
		log.ErrorContext(ctx, "Schedule cannot be read; it will be tried again in a day", "error", c.err.Error())
		return s.skip(ctx, log, sc, now.Add(24*time.Hour))
	}
	due := sc.NextFireAt
	cutoff := now.Add(-s.cfg.Grace)
	if !due.Before(cutoff) {
		return s.fire(ctx, log, sc, c, due, s.following(c, due, now))
	}
	// Missed: every fire time before cutoff. The schedule goes on from the first one after them,
	// which fires in a later round if it is due already.
	latest := c.cron.Latest(due, cutoff)
	next := s.following(c, latest, now)
	if c.spec.Missed == core.MissedRunOnce {
		log.InfoContext(ctx, "Schedule missed fire times; running once for the latest", "missed_from", due, "missed_to", latest, "next", next)
		return s.fire(ctx, log, sc, c, latest, next)
	}
	log.InfoContext(ctx, "Schedule skipped fire times missed while the server was down", "missed_from", due, "missed_to", latest, "next", next)
	return s.skip(ctx, log, sc, next)
}

// following returns the fire time after t, or a time far ahead when the schedule has no more.
func (s *Scheduler) following(c *compiled, t, now time.Time) time.Time {
	if next := c.cron.Next(t); !next.IsZero() {
		return next
	}
	return now.Add(farAhead)
}

// fire starts the run of scheduledAt and moves the schedule to next.
func (s *Scheduler) fire(ctx context.Context, log *slog.Logger, sc store.Schedule, c *compiled, scheduledAt, next time.Time) outcome {
	firedAt := s.now().UTC()
	exec, created, err := s.cfg.Service.FireSchedule(ctx, service.ScheduleFire{
		Schedule: sc, ScheduledAt: scheduledAt, FiredAt: firedAt, Next: next, Timezone: c.spec.Timezone,
	})
	var verrs workflow.ValidationErrors
	switch {
	case err == nil && created:
		if s.cfg.Observer != nil {
			s.cfg.Observer.ScheduleFired(firedAt.Sub(scheduledAt))
		}
		log.DebugContext(ctx, "Schedule fired", "execution_id", exec.ID, "scheduled_at", scheduledAt, "late_ms", firedAt.Sub(scheduledAt).Milliseconds())
		return fired
	case err == nil:
		// A run for this fire time exists already: move the schedule past it.
		return s.skipQuietly(ctx, log, sc, next)
	case errors.Is(err, store.ErrConflict):
		// Another scheduler fired it, or the workflow changed meanwhile; or the run's idempotency
		// key is taken. Moving the schedule past it settles the last case and fails for the others.
		return s.skipQuietly(ctx, log, sc, next)
	case ctx.Err() != nil:
		return failed
	case errors.Is(err, store.ErrNotFound), errors.As(err, &verrs), isInputError(err):
		// The version cannot start (it no longer compiles, or is gone): skip this fire time.
		log.WarnContext(ctx, "Schedule could not start its workflow; fire time skipped", "scheduled_at", scheduledAt, "error", err.Error())
		return s.skip(ctx, log, sc, next)
	default:
		log.WarnContext(ctx, "Schedule fire failed; trying again", "scheduled_at", scheduledAt, "error", err.Error())
		return failed
	}
}

func isInputError(err error) bool {
	var ie *service.InputError
	return errors.As(err, &ie)
}

// skip moves the schedule to next without a run.
func (s *Scheduler) skip(ctx context.Context, log *slog.Logger, sc store.Schedule, next time.Time) outcome {
	o := s.skipQuietly(ctx, log, sc, next)
	if o == skipped && s.cfg.Observer != nil {
		s.cfg.Observer.ScheduleSkipped()
	}
	return o
}

// skipQuietly moves the schedule to next without a run, if nobody moved it first.
func (s *Scheduler) skipQuietly(ctx context.Context, log *slog.Logger, sc store.Schedule, next time.Time) outcome {
	err := s.cfg.Store.FireSchedule(ctx, nil, store.FireScheduleParams{TenantID: sc.TenantID, WorkflowID: sc.WorkflowID, NodeID: sc.NodeID, Due: sc.NextFireAt, Next: next})
	switch {
	case err == nil:
		return skipped
	case errors.Is(err, store.ErrConflict):
		return lost
	case ctx.Err() != nil:
		return failed
	default:
		log.WarnContext(ctx, "Schedule could not be moved; trying again", "error", err.Error())
		return failed
	}
}

// compile parses a spec, caching the result.
func (s *Scheduler) compile(spec string) *compiled {
	s.specMu.Lock()
	defer s.specMu.Unlock()
	if c, ok := s.specs[spec]; ok {
		return c
	}
	c := &compiled{}
	c.spec, c.err = service.ParseScheduleSpec(spec)
	if c.err == nil {
		c.cron, c.err = c.spec.Compile()
	}
	if len(s.specs) >= specCacheMax {
		clear(s.specs)
	}
	s.specs[spec] = c
	return c
}
