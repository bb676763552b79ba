package telemetry

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// StartDB starts a client span around a database statement when ctx holds a recording span; end
// finishes it with the statement's error. The span records the system (postgresql, mysql), the
// operation the caller names (query, execute, batch) and the statement's first keyword (SELECT,
// INSERT, …): never the statement's text, its parameters or the connection's credential.
func StartDB(ctx context.Context, system, operation, statement string) (context.Context, func(error)) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, func(error) {}
	}
	attrs := []attribute.KeyValue{attribute.String("db.system.name", system), attribute.String("db.operation.name", operation)}
	if kw := firstKeyword(statement); kw != "" {
		attrs = append(attrs, attribute.String("db.query.summary", kw))
	}
	ctx, span := parent.TracerProvider().Tracer(ScopeName).Start(ctx, system+" "+operation,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, "statement failed")
		}
		span.End()
	}
}

// firstKeyword returns the statement's first word upper-cased when it is a plain keyword of at most
// 16 letters, else "".
func firstKeyword(statement string) string {
	s := strings.TrimLeft(statement, " \t\r\n(")
	end := 0
	for end < len(s) && end <= 16 {
		c := s[end]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			break
		}
		end++
	}
	if end == 0 || end > 16 {
		return ""
	}
	return strings.ToUpper(s[:end])
}
