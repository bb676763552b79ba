package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertmaster/concertmaster/internal/telemetry"
)

type requestIDKey struct{}

// RequestID returns the id of the request ctx belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// middleware assigns a request id, recovers panics into a 500 problem, logs and observes requests.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if id == "" || len(id) > 64 {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		r = r.WithContext(withOrigin(r))
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		var span trace.Span
		if s.tracer != nil && traced(r.URL.Path) {
			ctx, span = telemetry.StartServer(s.tracer, r.WithContext(ctx))
		}
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			p := recover()
			if p != nil {
				s.logger.ErrorContext(ctx, "Handler panicked", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeProblem(rec, newError(http.StatusInternalServerError, "internal error; the server log has the details under request id "+id))
				}
			}
			d := time.Since(start)
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			if s.cfg.Errors != nil && (p != nil || rec.status >= http.StatusInternalServerError) {
				// In this deferred call, so that a panic's report has the panicking frames.
				s.cfg.Errors.Report(ctx, telemetry.ErrorReport{Method: r.Method, Route: route, Status: rec.status, RequestID: id, Panic: p})
			}
			if span != nil {
				telemetry.EndServer(span, r.Method, route, rec.status, id)
			}
			if s.cfg.Metrics != nil {
				s.cfg.Metrics.ObserveRequest(route, r.Method, rec.status, d)
			}
			s.logger.DebugContext(ctx, "Request served", "request_id", id, "method", r.Method, "route", route,
				"status", rec.status, "duration_ms", float64(d.Microseconds())/1000)
		}()
		next.ServeHTTP(rec, r)
	})
}

// traced reports whether requests to path get a span: health checks and metric scrapes do not.
func traced(path string) bool {
	return path != "/metrics" && path != "/healthz" && path != "/readyz"
}

// WriteProblem writes a problem document with a status and a detail, for handlers outside this
// package (the live gateway's).
func WriteProblem(w http.ResponseWriter, status int, detail string) {
	writeProblem(w, newError(status, detail))
}

// writeProblem writes an error made by newError outside huma.
func writeProblem(w http.ResponseWriter, err huma.StatusError) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(err.GetStatus())
	_ = json.NewEncoder(w).Encode(err)
}
