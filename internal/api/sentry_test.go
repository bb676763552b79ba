package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/telemetry"
)

// sentryIngest stands in for Sentry's ingestion endpoint: it keeps the event of every envelope.
type sentryIngest struct {
	mu     sync.Mutex
	events []map[string]any
	raw    []string
}

func (s *sentryIngest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/1/envelope/" {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	// An envelope: a header line, then item header and payload lines.
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw = append(s.raw, string(body)+"\n"+r.Header.Get("Cookie")+r.URL.RawQuery)
	for i := 1; i+1 < len(lines); i += 2 {
		var item struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal([]byte(lines[i]), &item)
		if item.Type == "event" {
			var ev map[string]any
			if json.Unmarshal([]byte(lines[i+1]), &ev) == nil {
				s.events = append(s.events, ev)
			}
		}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, `{}`)
}

// newSentryIngest starts an ingest endpoint and a reporter sending to it that redacts
// "hunter22-secret"; both stop when the test ends.
func newSentryIngest(t *testing.T) (*sentryIngest, *telemetry.Sentry) {
	t.Helper()
	ingest := &sentryIngest{}
	srv := httptest.NewServer(ingest)
	t.Cleanup(srv.Close)
	var redactor credential.Redactor
	redactor.Add("hunter22-secret")
	rep, err := telemetry.NewSentry(telemetry.SentryOptions{DSN: "http://publickey@" + strings.TrimPrefix(srv.URL, "http://") + "/1",
		Release: "test", Redact: redactor.String})
	require.NoError(t, err)
	t.Cleanup(func() { rep.Close(time.Second) })
	return ingest, rep
}

func (s *sentryIngest) take() ([]map[string]any, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, raw := s.events, s.raw
	s.events, s.raw = nil, nil
	return ev, raw
}

// TestSentryReports: with a reporter, a forced 500 and a forced panic each send exactly one event,
// with the route, the status and the trace id, and no request data; a 4xx sends none. The panic's
// value passes through the redactor.
func TestSentryReports(t *testing.T) {
	ingest, rep := newSentryIngest(t)

	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	s := &Server{cfg: Config{Errors: rep, TracerProvider: tp}, logger: slog.New(slog.DiscardHandler), tracer: telemetry.Tracer(tp)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom/{id}", func(http.ResponseWriter, *http.Request) { panic("the vault said hunter22-secret") })
	mux.HandleFunc("GET /fail/{id}", func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, newError(http.StatusServiceUnavailable, "store down"))
	})
	mux.HandleFunc("GET /bad/{id}", func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, newError(http.StatusNotFound, "no such thing"))
	})
	srv := httptest.NewServer(s.middleware(mux))
	defer srv.Close()

	tests := []struct {
		name       string
		path       string
		status     int
		wantEvents int
		route      string
		level      string
	}{
		{name: "Panic", path: "/boom/42?token=qs-secret", status: http.StatusInternalServerError, wantEvents: 1, route: "GET /boom/{id}", level: "fatal"},
		{name: "ServerError", path: "/fail/42?token=qs-secret", status: http.StatusServiceUnavailable, wantEvents: 1, route: "GET /fail/{id}", level: "error"},
		{name: "ClientError", path: "/bad/42", status: http.StatusNotFound},
	}
	get := func(t *testing.T, path string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		if strings.HasSuffix(path, "/sentinel") {
			req.Header.Set("X-Request-ID", "sentinel")
		}
		req.Header.Set("Authorization", "Bearer header-secret")
		req.Header.Set("Cookie", "session=cookie-secret")
		req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.status, get(t, tt.path))
			// A sentinel 5xx follows: once its event is in, every event the request above caused has
			// been handed to the client before it (the middleware reports synchronously) and flushed.
			require.Equal(t, http.StatusServiceUnavailable, get(t, "/fail/sentinel"))
			var events []map[string]any
			var raw []string
			require.Eventually(t, func() bool {
				if !rep.Flush(t.Context()) {
					return false
				}
				ev, r := ingest.take()
				events, raw = append(events, ev...), append(raw, r...)
				return slices.ContainsFunc(events, isSentinel) && len(events) >= tt.wantEvents+1
			}, 10*time.Second, 10*time.Millisecond, "events: %v", events)
			i := slices.IndexFunc(events, isSentinel)
			events, raw = slices.Delete(events, i, i+1), slices.Delete(raw, i, i+1)
			require.Len(t, events, tt.wantEvents)
			require.Len(t, raw, tt.wantEvents, "one envelope each")
			for _, r := range raw {
				for _, secret := range []string{"hunter22-secret", "header-secret", "cookie-secret", "qs-secret", "/boom/42", "/fail/42"} {
					require.NotContains(t, r, secret)
				}
			}
			if tt.wantEvents == 0 {
				return
			}
			ev := events[0]
			tags, _ := ev["tags"].(map[string]any)
			require.Equal(t, tt.route, tags["http.route"])
			require.Equal(t, tt.route, ev["transaction"])
			require.Equal(t, http.MethodGet, tags["http.method"])
			require.Equal(t, strconv.Itoa(tt.status), tags["http.status_code"])
			require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", tags["trace_id"], "the event names the caller's trace")
			require.NotEmpty(t, tags["request_id"])
			require.Equal(t, tt.level, ev["level"])
			require.NotContains(t, ev, "request")
			require.NotContains(t, ev, "user")
			require.Equal(t, "test", ev["release"])
			if tt.name == "Panic" {
				exc, _ := ev["exception"].([]any)
				require.Len(t, exc, 1)
				e := exc[0].(map[string]any)
				require.Equal(t, "panic", e["type"])
				require.Equal(t, "the vault said [redacted]", e["value"])
				require.NotEmpty(t, e["stacktrace"])
			}
		})
	}
}

// isSentinel tells the sentinel request's event (its request id is fixed) from the others.
func isSentinel(ev map[string]any) bool {
	tags, _ := ev["tags"].(map[string]any)
	return tags["request_id"] == "sentinel"
}

// TestSentryBadDSN: a malformed DSN is refused without quoting it.
func TestSentryBadDSN(t *testing.T) {
	t.Parallel()
	_, err := telemetry.NewSentry(telemetry.SentryOptions{DSN: "http://127.0.0.1/secretkey-no-user"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "secretkey")
}

// TestSentryReportsNodePanics: a node's panic, which the engine recovers (the node fails), is one
// fatal event naming the node type, with the panic's value redacted.
func TestSentryReportsNodePanics(t *testing.T) {
	ingest, rep := newSentryIngest(t)

	rep.ReportNodePanic(t.Context(), "misbehave.node", "the vault said hunter22-secret")
	var events []map[string]any
	var raw []string
	require.Eventually(t, func() bool {
		if !rep.Flush(t.Context()) {
			return false
		}
		e, r := ingest.take()
		events, raw = append(events, e...), append(raw, r...)
		return len(events) > 0
	}, 10*time.Second, 10*time.Millisecond)
	require.Len(t, events, 1)
	ev := events[0]
	require.Equal(t, "fatal", ev["level"])
	require.Equal(t, "node misbehave.node", ev["transaction"])
	require.Equal(t, "misbehave.node", ev["tags"].(map[string]any)["node.type"])
	require.Contains(t, ev["message"], "panic in node misbehave.node: the vault said")
	for _, r := range raw {
		require.NotContains(t, r, "hunter22-secret", "the panic's value is redacted")
	}
}
