package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

// attemptJob is everything one attempt needs; the runner builds it, so that the attempt goroutine
// reads no runner state.
type attemptJob struct {
	ctx     context.Context
	n       *validate.Node
	attempt int
	data    any
	sources []node.Source
	trigger any
	env     *expression.Env
	info    node.ExecutionInfo
	resume  *node.Resume
}

type attemptResult struct {
	job          *attemptJob
	port         string
	value        any
	outJSON      json.RawMessage
	err          error
	suspendUntil time.Time
	logs         []store.LogEntry
}

// execute runs one attempt: evaluate the configuration, instantiate the node, execute it (once, or
// once per element of a fan-out), and check the output's size.
func (e *Engine) execute(job *attemptJob) *attemptResult {
	res := &attemptResult{job: job}
	capture := newLogCapture(MaxLogEntriesDefault)
	logger := slog.New(capture)
	ctx := job.ctx
	if t := job.n.Spec.Timeout.Std(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, t, fmt.Errorf("node %s ran past its timeout of %s: %w", job.n.Spec.ID, t, context.DeadlineExceeded))
		defer cancel()
	}
	if job.n.ForEach != nil {
		res.value, res.err = e.fanOut(ctx, job, logger)
		res.port = "out"
	} else {
		var out node.Output
		out, res.err = e.runOnce(ctx, job, job.env, job.data, logger)
		res.port, res.value = out.Port, out.Value
	}
	res.logs = capture.entries()
	if res.err != nil {
		var suspend *node.SuspendError
		if errors.As(res.err, &suspend) && job.n.ForEach == nil {
			res.err, res.suspendUntil = nil, suspend.Until
		} else if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && job.ctx.Err() == nil {
			// The node's own timeout, not a cancellation from the runner.
			res.err = &node.Error{Message: cause.Error(), Code: "timeout"}
		}
		return res
	}
	if res.port == "" {
		res.port = "out"
	}
	if !job.n.Ports[res.port] {
		res.err = node.Permanent(fmt.Errorf("node emitted on port %q, which %s does not have", res.port, job.n.Spec.Type))
		return res
	}
	b, err := json.Marshal(res.value)
	if err != nil {
		res.err = node.Permanent(fmt.Errorf("output is not JSON: %w", err))
		return res
	}
	if int64(len(b)) > e.cfg.MaxOutputBytes {
		res.err = node.Permanent(&node.Error{Code: "output_too_large",
			Message: fmt.Sprintf("output is %s, over the %s limit (CM_MAX_OUTPUT_BYTES)", humanBytes(int64(len(b))), humanBytes(e.cfg.MaxOutputBytes))})
		return res
	}
	res.outJSON = b
	return res
}

// runOnce evaluates the configuration against env and executes one node instance.
func (e *Engine) runOnce(ctx context.Context, job *attemptJob, env *expression.Env, data any, logger *slog.Logger) (out node.Output, err error) {
	defer func() {
		if p := recover(); p != nil {
			e.logger.Error("Node panicked", "execution_id", job.info.ExecutionID, "node_id", job.n.Spec.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = &node.Error{Message: fmt.Sprintf("node panicked: %v", p), Code: "panic"}
		}
	}()
	cfgValue, err := job.n.Config.Eval(ctx, env, e.cfg.ExpressionBudget)
	if err != nil {
		return node.Output{}, node.Permanent(&node.Error{Message: "config: " + err.Error(), Code: "expression"})
	}
	cfg, _ := cfgValue.(map[string]any)
	inst, err := job.n.Type.Instantiate(cfg, !job.n.Config.Dynamic())
	if err != nil {
		return node.Output{}, node.Permanent(&node.Error{Message: err.Error(), Code: "invalid_config"})
	}
	if c, ok := inst.(node.Cleaner); ok {
		defer func() {
			if cerr := c.Cleanup(); cerr != nil {
				logger.WarnContext(ctx, "Cleanup failed", "error", cerr.Error())
			}
		}()
	}
	if p, ok := inst.(node.Provisioner); ok {
		if err := p.Provision(ctx, node.Env{Logger: logger}); err != nil {
			return node.Output{}, fmt.Errorf("provision: %w", err)
		}
	}
	in := &node.Input{
		Data: data, Sources: job.sources, Trigger: job.trigger, Execution: job.info, Resume: job.resume, Logger: logger,
		Eval: func(ctx context.Context, src string, item any, index int) (any, error) {
			t := job.n.Lazy[src]
			if t == nil {
				var err error
				if t, err = expression.Compile(src, e.cfg.ExpressionLimits); err != nil {
					return nil, err
				}
			}
			itemEnv := *env
			itemEnv.Item, itemEnv.Index = item, index
			return t.Eval(ctx, &itemEnv, e.cfg.ExpressionBudget)
		},
	}
	return inst.Execute(ctx, in)
}

// fanOut runs the node once per element of its forEach array, up to its concurrency at a time, each
// element with the node's retry policy, and outputs the results in order.
func (e *Engine) fanOut(ctx context.Context, job *attemptJob, logger *slog.Logger) (any, error) {
	v, err := job.n.ForEach.Eval(ctx, job.env, e.cfg.ExpressionBudget)
	if err != nil {
		return nil, node.Permanent(&node.Error{Message: "forEach: " + err.Error(), Code: "expression"})
	}
	items, ok := v.([]any)
	if !ok {
		if v == nil {
			items = []any{}
		} else {
			return nil, node.Permanent(&node.Error{Message: fmt.Sprintf("forEach must yield an array, got %T", v), Code: "expression"})
		}
	}
	concurrency := max(job.n.Spec.Concurrency, 1)
	results := make([]any, len(items))
	errs := make([]error, len(items))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, item := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func(i int, item any) {
			defer wg.Done()
			defer func() { <-sem }()
			env := *job.env
			env.Item, env.Index = item, i
			results[i], errs[i] = e.runItem(ctx, job, &env, item, logger.With("index", i))
			if errs[i] != nil {
				cancel()
			}
		}(i, item)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, wrapItemError(i, err)
		}
	}
	for i, err := range errs {
		if err != nil {
			return nil, wrapItemError(i, err)
		}
	}
	return results, nil
}

func wrapItemError(i int, err error) error {
	var ne *node.Error
	if errors.As(err, &ne) {
		wrapped := &node.Error{Message: fmt.Sprintf("element %d: %s", i, ne.Message), Code: ne.Code, Details: ne.Details}
		if node.IsPermanent(err) {
			return node.Permanent(wrapped)
		}
		return wrapped
	}
	return fmt.Errorf("element %d: %w", i, err)
}

// runItem runs one fan-out element with the node's retry policy.
func (e *Engine) runItem(ctx context.Context, job *attemptJob, env *expression.Env, item any, logger *slog.Logger) (any, error) {
	policy := job.n.Spec.Retry
	for attempt := 1; ; attempt++ {
		out, err := e.runOnce(ctx, job, env, item, logger)
		if err == nil {
			return out.Value, nil
		}
		var suspend *node.SuspendError
		if errors.As(err, &suspend) {
			return nil, node.Permanent(errors.New("a node cannot wait inside forEach"))
		}
		if attempt >= policy.Attempts() || node.IsPermanent(err) || ctx.Err() != nil {
			return nil, err
		}
		delay := jitter(policy.Backoff(attempt+1), policy)
		logger.WarnContext(ctx, "Element failed, retrying", "attempt", attempt, "error", err.Error(), "delay", delay.String())
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// toNodeError turns an attempt's error into its stored form.
func toNodeError(err error) *store.NodeError {
	var ne *node.Error
	if errors.As(err, &ne) {
		out := &store.NodeError{Message: ne.Message, Code: ne.Code}
		if ne.Details != nil {
			out.Details = mustJSON(ne.Details)
		}
		return out
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &store.NodeError{Message: err.Error(), Code: "timeout"}
	}
	return &store.NodeError{Message: err.Error()}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
