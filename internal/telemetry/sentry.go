package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/trace"
)

// SentryOptions configures NewSentry.
type SentryOptions struct {
	// DSN is the project's Sentry DSN (CM_SENTRY_DSN). It holds a key: it is never logged.
	DSN string
	// Release is the ConcertMaster version; Environment and ServerName are reported as they are.
	Release, Environment, ServerName string
	// Redact removes secret values from every text an event carries (the panic value, the message);
	// nil removes nothing.
	Redact func(string) string
	// Transport replaces the HTTP transport to Sentry (tests).
	Transport http.RoundTripper
}

// ErrorReport is one failed request: a recovered panic or a 5xx answer.
type ErrorReport struct {
	Method string
	// Route is the route pattern (never the raw path).
	Route     string
	Status    int
	RequestID string
	// Panic is the recovered value, nil for a 5xx answer. Report it from the function that
	// recovered it, so that the stack Report takes still holds the panicking frames.
	Panic any
}

// Sentry reports errors to Sentry. Its events carry the route, the method, the status, the request
// id and the trace id, and for a panic its value (redacted, cut to 1 KiB) and stack: never a request
// body, a header, a cookie, the client's address or a query string.
type Sentry struct {
	client *sentry.Client
	redact func(string) string
}

// NewSentry returns a reporter sending to dsn.
func NewSentry(o SentryOptions) (*Sentry, error) {
	redact := o.Redact
	if redact == nil {
		redact = func(s string) string { return s }
	}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn: o.DSN, Release: o.Release, Environment: o.Environment, ServerName: o.ServerName,
		SendDefaultPII: false, DisableClientReports: true, DisableMetrics: true, EnableLogs: false,
		HTTPTransport: o.Transport,
		// Keep only integrations that read nothing of the request or the disk.
		Integrations: func(all []sentry.Integration) []sentry.Integration {
			var keep []sentry.Integration
			for _, i := range all {
				if i.Name() == "Environment" || i.Name() == "IgnoreErrors" {
					keep = append(keep, i)
				}
			}
			return keep
		},
		BeforeSend: func(ev *sentry.Event, _ *sentry.EventHint) *sentry.Event {
			// Whatever a scope added: no request data, no user, no breadcrumbs.
			ev.Request, ev.User, ev.Breadcrumbs = nil, sentry.User{}, nil
			return ev
		},
	})
	if err != nil {
		// The error of a malformed DSN quotes it; the key in it stays out of messages.
		return nil, fmt.Errorf("sentry: CM_SENTRY_DSN is not a valid DSN")
	}
	return &Sentry{client: client, redact: redact}, nil
}

// maxPanicText bounds the panic value an event carries.
const maxPanicText = 1 << 10

// Report sends one event for r, with the trace id of the span in ctx. It does not block on the
// network.
func (s *Sentry) Report(ctx context.Context, r ErrorReport) {
	if s == nil {
		return
	}
	ev := sentry.NewEvent()
	ev.Level = sentry.LevelError
	ev.Tags = map[string]string{"http.method": r.Method, "http.route": r.Route, "http.status_code": strconv.Itoa(r.Status)}
	if r.RequestID != "" {
		ev.Tags["request_id"] = r.RequestID
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		ev.Tags["trace_id"] = sc.TraceID().String()
		ev.Contexts["trace"] = sentry.Context{"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String()}
	}
	ev.Transaction = r.Route
	if !strings.HasPrefix(r.Route, r.Method+" ") {
		ev.Transaction = r.Method + " " + r.Route
	}
	if r.Panic != nil {
		ev.Level = sentry.LevelFatal
		value := s.redact(cut(fmt.Sprint(r.Panic), maxPanicText))
		ev.Message = "panic in " + ev.Transaction + ": " + value
		ev.Exception = []sentry.Exception{{Type: "panic", Value: value, Stacktrace: sentry.NewStacktrace()}}
	} else {
		ev.Message = s.redact(fmt.Sprintf("%s answered %d", ev.Transaction, r.Status))
	}
	ev.Fingerprint = []string{"{{ default }}", r.Route, strconv.Itoa(r.Status)}
	s.client.CaptureEvent(ev, nil, nil)
}

// ReportNodePanic sends one event for a node of type nodeType that panicked while it ran (the engine
// recovers it and fails the node), with the trace id of the span in ctx, the panic's value (redacted,
// cut to 1 KiB) and the stack: call it from the function that recovered the panic. Nothing of the
// node's input, configuration or output goes with it.
func (s *Sentry) ReportNodePanic(ctx context.Context, nodeType string, value any) {
	if s == nil {
		return
	}
	ev := sentry.NewEvent()
	ev.Level = sentry.LevelFatal
	ev.Tags = map[string]string{"node.type": nodeType}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		ev.Tags["trace_id"] = sc.TraceID().String()
		ev.Contexts["trace"] = sentry.Context{"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String()}
	}
	ev.Transaction = "node " + nodeType
	text := s.redact(cut(fmt.Sprint(value), maxPanicText))
	ev.Message = "panic in " + ev.Transaction + ": " + text
	ev.Exception = []sentry.Exception{{Type: "panic", Value: text, Stacktrace: sentry.NewStacktrace()}}
	ev.Fingerprint = []string{"{{ default }}", ev.Transaction}
	s.client.CaptureEvent(ev, nil, nil)
}

// Flush waits until the events reported so far are sent, or ctx ends; it reports whether they were.
func (s *Sentry) Flush(ctx context.Context) bool {
	if s == nil {
		return true
	}
	return s.client.FlushWithContext(ctx)
}

// Close flushes what is left (bounded by timeout) and stops the client.
func (s *Sentry) Close(timeout time.Duration) {
	if s == nil {
		return
	}
	s.client.Flush(timeout)
	s.client.Close()
}

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
