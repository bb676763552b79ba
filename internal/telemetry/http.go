package telemetry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Transport wraps next so that a request whose context holds a recording span gets a client span of
// its own and carries its traceparent (unless the request sets one itself). Other requests pass
// through untouched. The span records the method, the server's host and port, the scheme and the
// status code: never the path, the query or a header, which may hold secrets.
func Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{next: next}
}

type transport struct{ next http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	parent := trace.SpanFromContext(r.Context())
	if !parent.IsRecording() {
		return t.next.RoundTrip(r)
	}
	attrs := []attribute.KeyValue{attribute.String("http.request.method", r.Method), attribute.String("url.scheme", r.URL.Scheme)}
	host, port := r.URL.Hostname(), r.URL.Port()
	attrs = append(attrs, attribute.String("server.address", host))
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, attribute.Int("server.port", p))
	}
	ctx, span := parent.TracerProvider().Tracer(ScopeName).Start(r.Context(), r.Method,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	// RoundTrip must not change the caller's request: the headers are copied.
	r = r.Clone(ctx)
	if r.Header.Get("traceparent") == "" {
		propagator.Inject(ctx, propagation.HeaderCarrier(r.Header))
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		span.SetStatus(codes.Error, "request failed")
		span.SetAttributes(attribute.String("error.type", errorType(err)))
		return resp, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 400 {
		span.SetStatus(codes.Error, strconv.Itoa(resp.StatusCode))
	}
	return resp, nil
}

// errorType names an error's kind without its text, which may quote the URL.
func errorType(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	default:
		return "transport"
	}
}

// StartServer starts the server span of an HTTP request with tracer, continuing the caller's trace
// when the request carries a traceparent. Its name is the method until EndServer names the route.
// The span records the method and the scheme: never the path, the query or a header.
func StartServer(tracer trace.Tracer, r *http.Request) (context.Context, trace.Span) {
	ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", r.Method), attribute.String("url.scheme", scheme)))
}

// EndServer names the span after the route pattern (such as "POST /api/v1/workflows/{id}/run",
// prefixed with the method when the pattern does not name one),
// records the route, the status code and the request id, marks 5xx answers as errors, and ends it.
func EndServer(span trace.Span, method, route string, status int, requestID string) {
	if route != "" {
		// Patterns that name their method ("POST /hooks/{path...}") are the span's name as they are.
		name := route
		if !strings.HasPrefix(route, method+" ") {
			name = method + " " + route
		}
		span.SetName(name)
		span.SetAttributes(attribute.String("http.route", route))
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status), attribute.String("http.request.id", requestID))
	if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	span.End()
}
