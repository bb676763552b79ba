package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// propagator is the W3C trace context format (traceparent, tracestate).
var propagator = propagation.TraceContext{}

// Carrier returns the trace context of ctx as a map (keys traceparent and, when set, tracestate),
// for a message that crosses a process boundary, such as a River job's arguments; nil when ctx has
// no span context.
func Carrier(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	c := propagation.MapCarrier{}
	propagator.Inject(ctx, c)
	return c
}

// FromCarrier returns ctx carrying the remote span context of a map made by Carrier, so that spans
// started from it continue that trace. A nil or malformed carrier leaves ctx as it is.
func FromCarrier(ctx context.Context, carrier map[string]string) context.Context {
	if len(carrier) == 0 {
		return ctx
	}
	return propagator.Extract(ctx, propagation.MapCarrier(carrier))
}

// TraceParent returns the W3C traceparent of the span context in ctx, or "" when there is none.
func TraceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagator.Inject(ctx, c)
	return c["traceparent"]
}

// WithTraceParent returns ctx carrying the remote span context of a traceparent made by TraceParent;
// an empty or malformed one leaves ctx as it is.
func WithTraceParent(ctx context.Context, traceParent string) context.Context {
	if traceParent == "" {
		return ctx
	}
	return propagator.Extract(ctx, propagation.MapCarrier{"traceparent": traceParent})
}

// MaxTraceParentLen bounds a stored traceparent: version 00 is 55 characters; later versions may
// append fields.
const MaxTraceParentLen = 128
