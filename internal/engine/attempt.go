package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/concertmaster/concertmaster/internal/budget"
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
	host    node.Host
	// acct is the attempt's share of the execution's memory budget: everything its evaluations and
	// its node build is charged to it, and released when the attempt's result is handled.
	acct *budget.Account
	// creds is the attempt's credential scope; nil when the engine has no vault.
	creds *credentialScope
}

type attemptResult struct {
	job          *attemptJob
	port         string
	value        any
	outJSON      json.RawMessage
	err          error
	suspendUntil time.Time
	logs         []store.LogEntry
	stop         bool
	response     *node.Response
}

// execute runs one attempt: evaluate the configuration, instantiate the node, execute it (once, or
// once per element of a fan-out), and check the output's size.
func (e *Engine) execute(job *attemptJob) *attemptResult {
	res := &attemptResult{job: job}
	capture := newLogCapture(MaxLogEntriesDefault)
	logger := slog.New(capture)
	ctx := job.ctx
	if e.tracer != nil {
		var end func(*attemptResult)
		ctx, end = e.startAttemptSpan(ctx, job)
		defer func() { end(res) }()
	}
	if e.cfg.Credentials != nil {
		job.creds = &credentialScope{loader: e.cfg.Credentials, tenantID: job.info.TenantID}
	}
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
		out, res.err = e.runOnce(ctx, job, job.env, job.data, nil, logger)
		res.port, res.value, res.stop, res.response = out.Port, out.Value, out.Stop, out.Response
	}
	res.logs = capture.entries()
	// Before anything is sized, encoded or saved.
	job.creds.redact(res)
	if res.err != nil {
		if err := budgetExceeded(job.n.Spec.ID, res.err); err != nil {
			res.err = err
			return res
		}
		var suspend *node.SuspendError
		if errors.As(res.err, &suspend) && (job.n.ForEach == nil || job.n.Type.Info.Signals) {
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
	// Size the output before encoding it: a node may hold references to one value many times over.
	if _, ok := expression.SizeAtMost(res.value, e.cfg.MaxOutputBytes); !ok {
		res.err = outputTooLarge(-1, e.cfg.MaxOutputBytes)
		return res
	}
	b, err := json.Marshal(res.value)
	if err != nil {
		res.err = node.Permanent(fmt.Errorf("output is not JSON: %w", err))
		return res
	}
	if int64(len(b)) > e.cfg.MaxOutputBytes {
		res.err = outputTooLarge(int64(len(b)), e.cfg.MaxOutputBytes)
		return res
	}
	if err := job.acct.Reserve(int64(len(b))); err != nil {
		res.err = budgetExceeded(job.n.Spec.ID, err)
		return res
	}
	res.outJSON = b
	return res
}

func outputTooLarge(size, limit int64) error {
	msg := fmt.Sprintf("output is over the %s limit (CM_MAX_OUTPUT_BYTES)", budget.Bytes(limit))
	if size >= 0 {
		msg = fmt.Sprintf("output is %s, over the %s limit (CM_MAX_OUTPUT_BYTES)", budget.Bytes(size), budget.Bytes(limit))
	}
	return node.Permanent(&node.Error{Code: "output_too_large", Message: msg})
}

// budgetExceeded turns an error that reports the execution's memory budget spent into the node's
// permanent budget_exceeded failure; it returns nil for any other error.
func budgetExceeded(nodeID string, err error) error {
	var exceeded *budget.ExceededError
	if !errors.As(err, &exceeded) {
		return nil
	}
	return node.Permanent(&node.Error{Code: CodeBudgetExceeded, Message: fmt.Sprintf(
		"node %s went over the execution's memory budget of %s (CM_MAX_EXECUTION_BYTES): it needed %s more while the execution held %s",
		nodeID, budget.Bytes(exceeded.Limit), budget.Bytes(exceeded.Requested), budget.Bytes(exceeded.Used)),
		Details: map[string]any{"limitBytes": exceeded.Limit, "heldBytes": exceeded.Used, "requestedBytes": exceeded.Requested}})
}

// runOnce evaluates the configuration against env and executes one node instance.
func (e *Engine) runOnce(ctx context.Context, job *attemptJob, env *expression.Env, data any, elem *node.Element, logger *slog.Logger) (out node.Output, err error) {
	defer func() {
		if p := recover(); p != nil {
			// ctx names the execution (and the trace, when tracing is on).
			e.logger.ErrorContext(ctx, "Node panicked", "node_id", job.n.Spec.ID, "node_type", job.n.Spec.Type, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = &node.Error{Message: fmt.Sprintf("node panicked: %v", p), Code: "panic"}
			if e.cfg.OnPanic != nil {
				e.cfg.OnPanic(ctx, job.n.Spec.Type, p)
			}
		}
	}()
	bud := e.cfg.ExpressionBudget
	bud.Memory = job.acct
	cfgValue, err := job.n.Config.Eval(ctx, env, bud)
	if err != nil {
		return node.Output{}, expressionError(job.n, "config", err)
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
		Limits: node.Limits{MaxOutputBytes: e.cfg.MaxOutputBytes, Memory: job.acct}, Element: elem, Host: job.host,
		Nodes: env.Nodes, Vars: env.Vars, Credentials: job.credentials(),
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
			return t.Eval(ctx, &itemEnv, bud)
		},
	}
	return inst.Execute(ctx, in)
}

// expressionError is the node failure for an expression that failed in part of the node ("config",
// "forEach"): it names the expression, the JSON pointer of the field that holds it within the
// workflow, and what went wrong. A spent memory budget keeps its own code; a canceled evaluation stays
// a cancellation.
func expressionError(n *validate.Node, part string, err error) error {
	if be := budgetExceeded(n.Spec.ID, err); be != nil {
		return be
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var e *expression.Error
	if !errors.As(err, &e) {
		return node.Permanent(&node.Error{Message: part + ": " + err.Error(), Code: "expression"})
	}
	ptr := "/nodes/" + strconv.Itoa(n.Index) + "/" + part + e.Pointer
	return node.Permanent(&node.Error{Code: "expression",
		Message: fmt.Sprintf("%s%s: {{ %s }}: %s", part, e.Pointer, e.Expr, e.Message),
		Details: map[string]any{"pointer": ptr, "expression": e.Expr}})
}

// fanOut runs the node once per element of its forEach array, up to its concurrency at a time, each
// element with the node's retry policy, and outputs the results in order.
//
// Elements of a type that waits for signals (flow.call) may suspend: a suspended element keeps its
// concurrency slot, so that at most concurrency of them wait at once; when every slot is held by a
// waiting element, no new element starts and the whole attempt suspends until the earliest element's
// wake-up. On resume every element runs again (such types are idempotent: a flow.call element finds
// the child it started), finished ones answer at once and the next elements take the freed slots.
func (e *Engine) fanOut(ctx context.Context, job *attemptJob, logger *slog.Logger) (any, error) {
	bud := e.cfg.ExpressionBudget
	bud.Memory = job.acct
	v, err := job.n.ForEach.Eval(ctx, job.env, bud)
	if err != nil {
		return nil, expressionError(job.n, "forEach", err)
	}
	items, ok := toItems(v)
	if !ok {
		return nil, node.Permanent(&node.Error{Message: fmt.Sprintf("forEach must yield an array, not %s", jsonType(v)), Code: "expression"})
	}
	concurrency := max(job.n.Spec.Concurrency, 1)
	results := make([]any, len(items))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type itemDone struct {
		i   int
		err error
	}
	errs := make([]error, len(items))
	done := make(chan itemDone, concurrency)
	var next, running, parked int
	var failed bool
	var wakeAt time.Time
	for {
		for next < len(items) && running+parked < concurrency && !failed && ctx.Err() == nil {
			i, item := next, items[next]
			next++
			running++
			go func() {
				env := *job.env
				env.Item, env.Index = item, i
				var err error
				results[i], err = e.runItem(ctx, job, &env, item, i, logger.With("index", i))
				done <- itemDone{i, err}
			}()
		}
		if running == 0 {
			break
		}
		d := <-done
		running--
		var suspend *node.SuspendError
		switch {
		case d.err == nil:
		case errors.As(d.err, &suspend):
			parked++
			if wakeAt.IsZero() || suspend.Until.Before(wakeAt) {
				wakeAt = suspend.Until
			}
		default:
			errs[d.i] = d.err
			failed = true
			cancel()
		}
	}
	for i := next; i < len(items); i++ {
		if err := ctx.Err(); err != nil {
			errs[i] = err
		}
	}
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
	if parked > 0 {
		return nil, node.Suspend(wakeAt)
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
func (e *Engine) runItem(ctx context.Context, job *attemptJob, env *expression.Env, item any, index int, logger *slog.Logger) (any, error) {
	policy := job.n.Spec.Retry
	for attempt := 1; ; attempt++ {
		out, err := e.runOnce(ctx, job, env, item, &node.Element{Index: index, Attempt: attempt}, logger)
		if err == nil {
			// The fan-out keeps every element's result until it outputs them all.
			size, ok := expression.SizeAtMost(out.Value, e.cfg.MaxOutputBytes)
			if !ok {
				return nil, outputTooLarge(-1, e.cfg.MaxOutputBytes)
			}
			if err := job.acct.Reserve(size); err != nil {
				return nil, budgetExceeded(job.n.Spec.ID, err)
			}
			return out.Value, nil
		}
		if be := budgetExceeded(job.n.Spec.ID, err); be != nil {
			return nil, be
		}
		var suspend *node.SuspendError
		if errors.As(err, &suspend) {
			if job.n.Type.Info.Signals {
				return nil, err
			}
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

// toItems returns the elements of an array of any element type (a range yields []int); null is no
// elements.
func toItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case nil:
		return []any{}, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	items := make([]any, rv.Len())
	for i := range items {
		items[i] = rv.Index(i).Interface()
	}
	return items, true
}

// jsonType names a value's type in the words of JSON.
func jsonType(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case map[string]any:
		return "an object"
	case int, int64, float64:
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

// credentials returns the attempt's node.Credentials, or nil (not a typed nil) without a vault.
func (job *attemptJob) credentials() node.Credentials {
	if job.creds == nil {
		return nil
	}
	return job.creds
}
