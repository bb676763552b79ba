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
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
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
			if s.cfg.Metrics != nil {
				s.cfg.Metrics.ObserveRequest(route, r.Method, rec.status, d)
			}
			s.logger.DebugContext(ctx, "Request served", "request_id", id, "method", r.Method, "route", route,
				"status", rec.status, "duration_ms", float64(d.Microseconds())/1000)
		}()
		next.ServeHTTP(rec, r)
	})
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
