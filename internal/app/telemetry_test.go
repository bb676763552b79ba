package app_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/concertmaster/concertmaster/internal/app"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// otlpReceiver is a loopback OTLP/HTTP endpoint: it decodes POST /v1/traces (protobuf) and keeps
// the spans.
type otlpReceiver struct {
	mu          sync.Mutex
	spans       []*tracepb.Span
	serviceName string
	contentType string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.contentType = r.Header.Get("Content-Type")
	for _, rs := range req.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				o.serviceName = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			o.spans = append(o.spans, ss.GetSpans()...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (o *otlpReceiver) snapshot() []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.spans)
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(b.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// attr returns a span attribute's value as text (strings and integers).
func attr(s *tracepb.Span, key string) string {
	for _, a := range s.GetAttributes() {
		if a.GetKey() == key {
			if v := a.GetValue().GetStringValue(); v != "" {
				return v
			}
			return strconv.FormatInt(a.GetValue().GetIntValue(), 10)
		}
	}
	return ""
}

// TestTracingEndToEnd runs a real server with the standard OTEL_* variables pointing at a loopback
// OTLP/HTTP receiver: a webhook whose workflow calls a loopback HTTP target yields one trace, API span
// → execution span → node attempt spans → outbound HTTP span, and the target sees a traceparent of
// that trace. The log lines of the request carry its trace_id, the engine's carry execution_id, and
// /metrics shows the queue depth, claim latency and per-node-type durations.
func TestTracingEndToEnd(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "cm-e2e")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	t.Setenv("OTEL_SDK_DISABLED", "")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")

	var mu sync.Mutex
	var seen []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("traceparent"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer target.Close()

	cfg := testConfig(t)
	cfg.HTTPAllowPrivate = true
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := app.NewServer(ctx, cfg, "test", logger)
	require.NoError(t, err)
	require.True(t, srv.Runtime().Telemetry.Enabled())
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			require.NoError(t, <-done)
		}
	}
	defer stop()
	base := "http://" + ln.Addr().String()

	svc := srv.Runtime().Service
	wf, err := svc.CreateWorkflow(ctx, store.DefaultTenant, &workflow.Definition{Name: "traced", Nodes: []workflow.Node{
		{ID: "hook", Type: "trigger.webhook", Config: map[string]any{"path": "traced"}},
		{ID: "call", Type: "http.request", Config: map[string]any{"url": target.URL + "/thing?token=s3cret"}},
		{ID: "shape", Type: "data.set", Config: map[string]any{"fields": map[string]any{"ok": "{{ input.body.ok }}"}}},
	}, Edges: []workflow.Edge{{Source: "hook", Target: "call"}, {Source: "call", Target: "shape"}}})
	require.NoError(t, err)
	_, err = svc.SetActive(ctx, store.DefaultTenant, wf.ID, true)
	require.NoError(t, err)

	client := &http.Client{Timeout: 30 * time.Second}
	const runs = 3
	for range runs {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/hooks/traced", strings.NewReader(`{"a":1}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		require.Contains(t, string(body), `"ok":true`)
	}

	// The spans arrive in batches; wait for the whole trace of each run.
	byName := func(spans []*tracepb.Span, prefix string) []*tracepb.Span {
		var out []*tracepb.Span
		for _, s := range spans {
			if strings.HasPrefix(s.GetName(), prefix) {
				out = append(out, s)
			}
		}
		return out
	}
	require.Eventually(t, func() bool {
		spans := recv.snapshot()
		return len(byName(spans, "POST /hooks/")) >= runs && len(byName(spans, "execution.run")) >= runs &&
			len(byName(spans, "node data.set")) >= runs && len(byName(spans, "GET")) >= runs
	}, 30*time.Second, 20*time.Millisecond, "spans: %v", recv.snapshot())
	spans := recv.snapshot()
	require.Equal(t, "cm-e2e", recv.serviceName, "OTEL_SERVICE_NAME names the service")
	require.Equal(t, "application/x-protobuf", recv.contentType, "OTLP over HTTP with protobuf by default")

	byID := map[string]*tracepb.Span{}
	for _, s := range spans {
		byID[hex.EncodeToString(s.GetSpanId())] = s
	}
	parentOf := func(s *tracepb.Span) *tracepb.Span { return byID[hex.EncodeToString(s.GetParentSpanId())] }
	mu.Lock()
	traceparents := slices.Clone(seen)
	mu.Unlock()
	require.Len(t, traceparents, runs)
	for _, client := range byName(spans, "GET") {
		require.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, client.GetKind())
		require.Equal(t, "GET", attr(client, "http.request.method"))
		require.Equal(t, "200", attr(client, "http.response.status_code"))
		for _, a := range client.GetAttributes() {
			v := a.GetValue()
			require.NotContains(t, v.String(), "s3cret", "no query string in span attributes")
			require.NotContains(t, v.String(), "/thing", "no path either")
		}
		attempt := parentOf(client)
		require.NotNil(t, attempt, "the outbound request's span has the node attempt as parent")
		require.Equal(t, "node http.request", attempt.GetName())
		require.Equal(t, "call", attr(attempt, "concertmaster.node.id"))
		require.Equal(t, "succeeded", attr(attempt, "concertmaster.node.status"))
		run := parentOf(attempt)
		require.NotNil(t, run)
		require.Equal(t, "execution.run", run.GetName())
		require.NotEmpty(t, attr(run, "concertmaster.execution.id"))
		api := parentOf(run)
		require.NotNil(t, api, "the run continues the trace of the request that started it")
		require.Equal(t, "POST /hooks/{path...}", api.GetName())
		require.Equal(t, tracepb.Span_SPAN_KIND_SERVER, api.GetKind())
		for _, s := range []*tracepb.Span{attempt, run, api} {
			require.Equal(t, client.GetTraceId(), s.GetTraceId(), "one trace")
		}
		// The target saw a traceparent of this trace, naming the client span as parent.
		want := "00-" + hex.EncodeToString(client.GetTraceId()) + "-" + hex.EncodeToString(client.GetSpanId()) + "-01"
		require.Contains(t, traceparents, want)
	}
	for _, s := range byName(spans, "node data.set") {
		require.Equal(t, "execution.run", parentOf(s).GetName())
	}

	// Logs: the request's lines carry its trace id, the engine's the execution id.
	require.Eventually(t, func() bool {
		var requestLine, engineLine bool
		for _, l := range logs.lines() {
			if l["msg"] == "Request served" && l["route"] == "POST /hooks/{path...}" {
				tid, _ := l["trace_id"].(string)
				requestLine = len(tid) == 32 && l["span_id"] != nil
			}
			if l["msg"] == "Run ended" && l["component"] == "engine" {
				id, _ := l["execution_id"].(string)
				engineLine = id != "" && l["trace_id"] != nil
			}
		}
		return requestLine && engineLine
	}, 10*time.Second, 20*time.Millisecond)

	// Metrics: the new series, with values from these runs.
	text := getBody(t, client, base+"/metrics")
	require.Regexp(t, `concertmaster_queue_depth\{state="queued"\} \d+`, text)
	require.Regexp(t, `concertmaster_queue_depth\{state="due"\} 0`, text)
	require.Regexp(t, regexp.MustCompile(`concertmaster_claim_latency_seconds_count\{from="created"\} [1-9]`), text)
	require.Regexp(t, `concertmaster_node_run_duration_seconds_count\{type="http.request"\} 3`, text)
	require.NotContains(t, text, "traced", "no workflow or node ids in labels")

	checkDashboard(t, text)

	stop()
}

func getBody(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestTracingOff: without OTEL_* the server makes no spans at all.
func TestTracingOff(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	srv, err := app.NewServer(t.Context(), testConfig(t), "test", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer func() { require.NoError(t, srv.Runtime().Close(context.Background())) }()
	require.False(t, srv.Runtime().Telemetry.Enabled())
	require.Nil(t, srv.Runtime().Telemetry.TracerProvider())
}
