// Package retention deletes finished executions that the retention rules no longer keep. A Pruner
// runs a pass every interval: for each workflow (deleted ones included) it applies the workflow's own
// rule (settings.retention) or the server's (a maximum age and a maximum number of finished
// executions per workflow), deleting executions with their node runs and events in small batches
// that hold the store's writer briefly and yield between batches, so that running executions never
// wait long behind it. Queued, running and waiting executions are never deleted.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
)

// Store is what the pruner needs from the store.
type Store interface {
	ListRetentionWorkflows(ctx context.Context, params store.ListRetentionWorkflowsParams) ([]store.RetentionWorkflow, error)
	FinishedAtRank(ctx context.Context, tenantID, workflowID string, rank int) (*time.Time, error)
	PruneExecutions(ctx context.Context, params store.PruneParams) (store.PruneResult, error)
}

// Observer is told what the pruner does; *metrics.Metrics implements it.
type Observer interface {
	// RetentionDeleted counts what one batch deleted.
	RetentionDeleted(executions, nodeRuns, events int64)
	// RetentionPassFinished records one pass: how long it took and whether it failed.
	RetentionPassFinished(d time.Duration, failed bool)
}

// Defaults for Config.
const (
	IntervalDefault    = time.Minute
	BatchSizeDefault   = 500
	BatchTargetDefault = 25 * time.Millisecond
	// batchSizeMin is the smallest batch the pruner shrinks to, batchSizeStart its first.
	batchSizeMin   = 10
	batchSizeStart = 100
	// pageSize is the number of workflows read at once.
	pageSize = 200
	// seenMax bounds the memory of workflows already within their cap.
	seenMax = 100_000
)

// Config configures a Pruner. Store is required.
type Config struct {
	Store Store
	// MaxAge deletes finished executions that finished longer ago than this; zero keeps them
	// forever (unless a workflow sets its own maximum age).
	MaxAge time.Duration
	// MaxPerWorkflow keeps at most this many finished executions per workflow, the most recently
	// finished; zero means no cap (unless a workflow sets its own).
	MaxPerWorkflow int
	// Interval is the time between the end of one pass and the start of the next (default 1m).
	Interval time.Duration
	// BatchSize is the largest number of executions deleted in one transaction (default 500).
	BatchSize int
	// BatchTarget is how long one batch should hold the store's writer (default 25ms): the first batch
	// has 100 executions, a batch that takes longer than the target halves the next one, a quick one
	// doubles it up to BatchSize. After each full batch the pruner waits as long as the batch took, so
	// that it never takes more than half the writer's time.
	BatchTarget time.Duration
	// Leading, when set, says whether this process is the one that prunes (River's elected leader,
	// on PostgreSQL): the background loop skips its passes while it says no. Nil means always.
	Leading func() bool
	// Observer, when set, is told what each pass does.
	Observer Observer
	Logger   *slog.Logger
	// Now is the clock the cutoffs are computed from; nil means time.Now.
	Now func() time.Time
}

// Pass is what one pass did.
type Pass struct {
	// Workflows is the number of workflows the pass looked at.
	Workflows int
	// Deleted counts what the pass deleted.
	Deleted store.PruneResult
	// Duration is how long the pass took.
	Duration time.Duration
}

// seenKey names a workflow.
type seenKey struct{ tenantID, workflowID string }

// seenCap is the cap the pruner last enforced on a workflow and the workflow's latest finish time
// then.
type seenCap struct {
	keep   int
	latest time.Time
}

// Pruner applies the retention rules in the background.
type Pruner struct {
	cfg    Config
	logger *slog.Logger
	now    func() time.Time

	// batch is the current batch size, adapted to BatchTarget.
	batch int
	// seen remembers, per workflow, the cap last enforced and the latest finish time then: while
	// neither changes the workflow cannot have grown past its cap, and the pass skips the count.
	seen map[seenKey]seenCap
	// runMu serializes passes.
	runMu sync.Mutex

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	done    chan struct{}
}

// New returns a Pruner; call Start to run it in the background, or RunOnce to run one pass.
func New(cfg Config) (*Pruner, error) {
	if cfg.Store == nil {
		return nil, errors.New("retention: a store is required")
	}
	if cfg.MaxAge < 0 || cfg.MaxPerWorkflow < 0 || cfg.Interval < 0 || cfg.BatchSize < 0 || cfg.BatchTarget < 0 {
		return nil, errors.New("retention: negative setting")
	}
	if cfg.Interval == 0 {
		cfg.Interval = IntervalDefault
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = BatchSizeDefault
	}
	if cfg.BatchTarget == 0 {
		cfg.BatchTarget = BatchTargetDefault
	}
	p := &Pruner{cfg: cfg, logger: cfg.Logger, now: cfg.Now, batch: min(batchSizeStart, cfg.BatchSize), seen: map[seenKey]seenCap{}}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// Start runs a pass every Interval until Stop or until ctx ends. The first pass runs one Interval
// after Start, when the process has settled.
func (p *Pruner) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("retention: already started")
	}
	p.started = true
	ctx, p.stop = context.WithCancel(ctx)
	p.done = make(chan struct{})
	go p.loop(ctx)
	return nil
}

// Stop ends the background passes and waits, at most until ctx ends, for the pass under way to
// stop; a pass stops between two batches, so nothing is left half-deleted.
func (p *Pruner) Stop(ctx context.Context) error {
	p.mu.Lock()
	started, stop, done := p.started, p.stop, p.done
	p.mu.Unlock()
	if !started {
		return nil
	}
	stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("retention: stop: %w", ctx.Err())
	}
}

func (p *Pruner) loop(ctx context.Context) {
	defer close(p.done)
	t := time.NewTimer(p.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if p.cfg.Leading != nil && !p.cfg.Leading() {
			t.Reset(p.cfg.Interval)
			continue
		}
		pass, err := p.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			p.logger.ErrorContext(ctx, "Retention pass failed", "error", err.Error(), "duration", pass.Duration.String())
		case pass.Deleted.Executions > 0:
			p.logger.InfoContext(ctx, "Retention pass deleted finished executions", "executions", pass.Deleted.Executions,
				"node_runs", pass.Deleted.NodeRuns, "events", pass.Deleted.Events, "workflows", pass.Workflows, "duration", pass.Duration.String())
		default:
			p.logger.DebugContext(ctx, "Retention pass", "workflows", pass.Workflows, "duration", pass.Duration.String())
		}
		t.Reset(p.cfg.Interval)
	}
}

// RunOnce runs one pass over every workflow and returns what it deleted. It stops at the first
// error (the next pass starts over) or when ctx ends.
func (p *Pruner) RunOnce(ctx context.Context) (Pass, error) {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	started := time.Now()
	now := p.now()
	var pass Pass
	err := p.pass(ctx, now, &pass)
	pass.Duration = time.Since(started)
	if p.cfg.Observer != nil {
		p.cfg.Observer.RetentionPassFinished(pass.Duration, err != nil)
	}
	return pass, err
}

func (p *Pruner) pass(ctx context.Context, now time.Time, pass *Pass) error {
	var params store.ListRetentionWorkflowsParams
	params.Limit = pageSize
	for {
		page, err := p.cfg.Store.ListRetentionWorkflows(ctx, params)
		if err != nil {
			return err
		}
		for _, w := range page {
			pass.Workflows++
			if err := p.workflow(ctx, now, w, &pass.Deleted); err != nil {
				return fmt.Errorf("prune workflow %s/%s: %w", w.TenantID, w.WorkflowID, err)
			}
		}
		if len(page) < params.Limit {
			return nil
		}
		last := page[len(page)-1]
		params.AfterTenantID, params.AfterWorkflowID = last.TenantID, last.WorkflowID
	}
}

// workflow applies one workflow's rules: its maximum age, then its cap.
func (p *Pruner) workflow(ctx context.Context, now time.Time, w store.RetentionWorkflow, total *store.PruneResult) error {
	maxAge, keep := w.MaxAge, w.MaxExecutions
	if maxAge <= 0 {
		maxAge = p.cfg.MaxAge
	}
	if keep <= 0 {
		keep = p.cfg.MaxPerWorkflow
	}
	if maxAge > 0 {
		if err := p.prune(ctx, w, now.Add(-maxAge), total); err != nil {
			return err
		}
	}
	key := seenKey{w.TenantID, w.WorkflowID}
	if keep <= 0 {
		delete(p.seen, key)
		return nil
	}
	latest, err := p.cfg.Store.FinishedAtRank(ctx, w.TenantID, w.WorkflowID, 1)
	if err != nil || latest == nil {
		return err
	}
	if s, ok := p.seen[key]; ok && s.keep == keep && s.latest.Equal(*latest) {
		return nil
	}
	cutoff, err := p.cfg.Store.FinishedAtRank(ctx, w.TenantID, w.WorkflowID, keep)
	if err != nil {
		return err
	}
	if cutoff != nil {
		// Everything that finished before the keep-th most recent goes.
		if err := p.prune(ctx, w, *cutoff, total); err != nil {
			return err
		}
	}
	if len(p.seen) >= seenMax {
		clear(p.seen)
	}
	p.seen[key] = seenCap{keep: keep, latest: *latest}
	return nil
}

// prune deletes the workflow's executions finished before cutoff, one batch at a time.
func (p *Pruner) prune(ctx context.Context, w store.RetentionWorkflow, cutoff time.Time, total *store.PruneResult) error {
	for {
		limit := p.batch
		started := time.Now()
		res, err := p.cfg.Store.PruneExecutions(ctx, store.PruneParams{TenantID: w.TenantID, WorkflowID: w.WorkflowID, FinishedBefore: cutoff, Limit: limit})
		if err != nil {
			return err
		}
		if res.Executions == 0 {
			return nil
		}
		took := time.Since(started)
		total.Add(res)
		if p.cfg.Observer != nil {
			p.cfg.Observer.RetentionDeleted(res.Executions, res.NodeRuns, res.Events)
		}
		p.adapt(took)
		if res.Executions < int64(limit) {
			return nil
		}
		// Yield the writer for as long as the batch held it.
		if err := wait(ctx, took); err != nil {
			return err
		}
	}
}

// adapt sizes the next batch from how long the last one took.
func (p *Pruner) adapt(took time.Duration) {
	switch {
	case took > p.cfg.BatchTarget:
		p.batch = max(p.batch/2, min(batchSizeMin, p.cfg.BatchSize))
	case took < p.cfg.BatchTarget/2:
		p.batch = min(p.batch*2, p.cfg.BatchSize)
	}
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
