package engine

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/telemetry"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// ClaimObserver is an optional part of Observer: it is told, when a run starts, how long the
// execution waited for a worker: between its creation and its first claim (from "created"), or
// between the earliest of its timers that came due and the claim that resumes it (from "due").
type ClaimObserver interface {
	ExecutionClaimed(from string, latency time.Duration)
}

// traceParentReader is implemented by stores that keep an execution's traceparent (ADR 0021).
type traceParentReader interface {
	ExecutionTraceParent(ctx context.Context, tenantID, executionID string) (string, error)
}

// observeClaim reports the queue wait of an execution's first claim.
func (e *Engine) observeClaim(exec *store.Execution) {
	o, ok := e.cfg.Observer.(ClaimObserver)
	if !ok || exec.StartedAt != nil || exec.CreatedAt.IsZero() {
		return
	}
	o.ExecutionClaimed("created", max(e.now().Sub(exec.CreatedAt), 0))
}

// observeDue reports, for a run that resumes an execution whose timers had come due (a delay, a
// retry backoff), how long after the earliest of them it was claimed (from "due"). Nodes woken early
// by a signal do not count.
func (r *runner) observeDue() {
	o, ok := r.e.cfg.Observer.(ClaimObserver)
	if !ok || r.exec.StartedAt == nil {
		return
	}
	now := r.e.now()
	var earliest time.Time
	for _, ns := range r.nodes {
		if ns.wakeAt.IsZero() || !ns.dueAt.IsZero() || ns.wakeAt.After(now) {
			continue
		}
		if earliest.IsZero() || ns.wakeAt.Before(earliest) {
			earliest = ns.wakeAt
		}
	}
	if !earliest.IsZero() {
		o.ExecutionClaimed("due", now.Sub(earliest))
	}
}

// startRunSpan starts the span of one run of an execution. Its parent is the span context already in
// ctx (a dispatcher that carried it, such as a River job's arguments) or else the traceparent the
// store recorded when the execution was created, so that a run in any process continues the trace
// of the request that started it. end records the outcome and ends the span.
func (e *Engine) startRunSpan(ctx context.Context, exec *store.Execution) (context.Context, func(Outcome, error)) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		if r, ok := e.cfg.Store.(traceParentReader); ok {
			if tp, err := r.ExecutionTraceParent(ctx, exec.TenantID, exec.ID); err == nil {
				ctx = telemetry.WithTraceParent(ctx, tp)
			} else {
				e.logger.DebugContext(ctx, "Could not read the execution's traceparent", "error", err.Error())
			}
		}
	}
	attrs := []attribute.KeyValue{
		attribute.String("concertmaster.execution.id", exec.ID),
		attribute.String("concertmaster.workflow.id", exec.WorkflowID),
		attribute.Int("concertmaster.workflow.version", exec.WorkflowVersion),
		attribute.String("concertmaster.tenant.id", exec.TenantID),
		attribute.String("concertmaster.trigger.kind", string(exec.TriggerKind)),
	}
	if exec.ParentExecutionID != "" {
		attrs = append(attrs, attribute.String("concertmaster.execution.parent_id", exec.ParentExecutionID))
	}
	ctx, span := e.tracer.Start(ctx, "execution.run", trace.WithAttributes(attrs...))
	return ctx, func(out Outcome, err error) {
		span.SetAttributes(attribute.String("concertmaster.execution.status", string(out.Status)))
		if err != nil && !errors.Is(err, context.Canceled) {
			span.SetStatus(codes.Error, "run failed")
		} else if out.Status == workflow.ExecutionFailed {
			span.SetStatus(codes.Error, "execution failed")
		}
		span.End()
	}
}

// startAttemptSpan starts the span of one node attempt; end records its status (succeeded, failed,
// waiting) and, for a failure, the error code, and ends it.
func (e *Engine) startAttemptSpan(ctx context.Context, job *attemptJob) (context.Context, func(*attemptResult)) {
	ctx, span := e.tracer.Start(ctx, "node "+job.n.Spec.Type, trace.WithAttributes(
		attribute.String("concertmaster.node.type", job.n.Spec.Type),
		attribute.String("concertmaster.node.id", job.n.Spec.ID),
		attribute.Int("concertmaster.node.attempt", job.attempt),
	))
	return ctx, func(res *attemptResult) {
		status := "succeeded"
		switch {
		case res.err != nil:
			status = "failed"
			code := "error"
			var ne *node.Error
			if errors.As(res.err, &ne) && ne.Code != "" {
				code = ne.Code
			}
			span.SetAttributes(attribute.String("error.type", code))
			span.SetStatus(codes.Error, code)
		case !res.suspendUntil.IsZero():
			status = "waiting"
		}
		span.SetAttributes(attribute.String("concertmaster.node.status", status))
		span.End()
	}
}
