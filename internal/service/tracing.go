package service

import (
	"context"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/telemetry"
)

// traceParentWriter is implemented by stores that keep an execution's traceparent (ADR 0021).
type traceParentWriter interface {
	SetExecutionTraceParent(ctx context.Context, tx store.Tx, tenantID, executionID, traceParent string) error
}

// withTraceParent returns hook preceded, in the creating transaction, by recording the traceparent
// of the span in ctx (an API request's, a parent execution node's), so that the worker that runs the
// execution continues that trace. Without a span (tracing off) it returns hook as it is.
func (s *Service) withTraceParent(ctx context.Context, tenantID string, hook store.TxHookFunc) store.TxHookFunc {
	tp := telemetry.TraceParent(ctx)
	if tp == "" {
		return hook
	}
	w, ok := s.cfg.Store.(traceParentWriter)
	if !ok {
		return hook
	}
	return func(ctx context.Context, tx store.Tx, exec *store.Execution) error {
		if err := w.SetExecutionTraceParent(ctx, tx, tenantID, exec.ID, tp); err != nil {
			return err
		}
		return hook(ctx, tx, exec)
	}
}
