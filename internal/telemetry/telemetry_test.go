package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertmaster/concertmaster/internal/telemetry"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEnabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{name: "Nothing"},
		{name: "Endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, want: true},
		{name: "TracesEndpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, want: true},
		{name: "Disabled", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}},
		{name: "DisabledFalse", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "false"}, want: true},
		{name: "ExporterNone", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"}},
		{name: "ExporterOTLP", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "otlp"}, want: true},
		{name: "Blank", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, telemetry.Enabled(env(tt.env)))
		})
	}
}

func TestProtocol(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "Default", want: "http/protobuf"},
		{name: "HTTP", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, want: "http/protobuf"},
		{name: "GRPC", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, want: "grpc"},
		{name: "TracesWins", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, want: "http/protobuf"},
		{name: "JSON", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, wantErr: "want http/protobuf or grpc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := telemetry.Protocol(env(tt.env))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestStartOff: without an endpoint Start makes nothing, and a nil provider is off too.
func TestStartOff(t *testing.T) {
	t.Parallel()
	p, err := telemetry.Start(t.Context(), telemetry.Config{Getenv: env(nil)})
	require.NoError(t, err)
	require.False(t, p.Enabled())
	require.Nil(t, p.TracerProvider())
	require.NoError(t, p.Shutdown(t.Context()))
	var none *telemetry.Provider
	require.False(t, none.Enabled())
	require.NoError(t, none.Shutdown(t.Context()))
	require.Nil(t, telemetry.Tracer(nil))
}

// TestStartBadProtocol: an unsupported protocol stops the start with a message naming the variable.
func TestStartBadProtocol(t *testing.T) {
	t.Parallel()
	_, err := telemetry.Start(t.Context(), telemetry.Config{Getenv: env(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})})
	require.ErrorContains(t, err, "OTEL_EXPORTER_OTLP_PROTOCOL")
}

// TestStartWithExporter: spans reach the exporter with the default service name, and Shutdown
// flushes them.
func TestStartWithExporter(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	p, err := telemetry.Start(t.Context(), telemetry.Config{Exporter: exp, Version: "1.2.3", Getenv: env(nil)})
	require.NoError(t, err)
	require.True(t, p.Enabled())
	_, span := telemetry.Tracer(p.TracerProvider()).Start(t.Context(), "work")
	span.End()
	require.NoError(t, p.ForceFlush(t.Context()))
	spans := exp.GetSpans()
	defer func() { require.NoError(t, p.Shutdown(t.Context())) }()
	require.Len(t, spans, 1)
	res := map[attribute.Key]string{}
	for _, kv := range spans[0].Resource.Attributes() {
		res[kv.Key] = kv.Value.String()
	}
	require.Equal(t, "1.2.3", res["service.version"])
	require.NotEmpty(t, res["service.name"])
}

func recorder(t *testing.T) (*tracetest.SpanRecorder, trace.Tracer) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, telemetry.Tracer(tp)
}

// TestCarrier: the carrier of a span's context restores it in another context (a River job's
// arguments, a stored traceparent); an empty or malformed one changes nothing.
func TestCarrier(t *testing.T) {
	t.Parallel()
	_, tracer := recorder(t)
	ctx, span := tracer.Start(t.Context(), "api")
	defer span.End()
	sc := span.SpanContext()

	c := telemetry.Carrier(ctx)
	require.Contains(t, c, "traceparent")
	restored := trace.SpanContextFromContext(telemetry.FromCarrier(context.Background(), c))
	require.Equal(t, sc.TraceID(), restored.TraceID())
	require.Equal(t, sc.SpanID(), restored.SpanID())
	require.True(t, restored.IsRemote())

	tp := telemetry.TraceParent(ctx)
	require.Len(t, tp, 55)
	require.Equal(t, c["traceparent"], tp)
	require.Equal(t, sc.TraceID(), trace.SpanContextFromContext(telemetry.WithTraceParent(context.Background(), tp)).TraceID())

	require.Nil(t, telemetry.Carrier(context.Background()))
	require.Empty(t, telemetry.TraceParent(context.Background()))
	for _, bad := range []map[string]string{nil, {}, {"traceparent": "garbage"}, {"traceparent": "00-" + strings.Repeat("0", 32) + "-" + strings.Repeat("1", 16) + "-01"}} {
		require.False(t, trace.SpanContextFromContext(telemetry.FromCarrier(context.Background(), bad)).IsValid(), "%v", bad)
	}
	require.False(t, trace.SpanContextFromContext(telemetry.WithTraceParent(context.Background(), "")).IsValid())
}

// TestLogHandler: records logged with a context carry trace_id and span_id of its span and the
// execution_id it names; others carry neither.
func TestLogHandler(t *testing.T) {
	t.Parallel()
	_, tracer := recorder(t)
	var buf bytes.Buffer
	logger := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	require.Same(t, logger, telemetry.WrapLogger(logger), "wrapping twice changes nothing")

	ctx, span := tracer.Start(t.Context(), "op")
	defer span.End()
	tests := []struct {
		name string
		ctx  context.Context
		want map[string]any
		none []string
	}{
		{name: "Span", ctx: ctx, want: map[string]any{"trace_id": span.SpanContext().TraceID().String(), "span_id": span.SpanContext().SpanID().String()}, none: []string{"execution_id"}},
		{name: "Execution", ctx: telemetry.WithExecutionID(t.Context(), "exec-1"), want: map[string]any{"execution_id": "exec-1"}, none: []string{"trace_id"}},
		{name: "Both", ctx: telemetry.WithExecutionID(ctx, "exec-2"), want: map[string]any{"execution_id": "exec-2", "trace_id": span.SpanContext().TraceID().String()}},
		{name: "Neither", ctx: t.Context(), none: []string{"trace_id", "span_id", "execution_id"}},
	}
	for _, tt := range tests {
		buf.Reset()
		logger.InfoContext(tt.ctx, "hello", "k", "v")
		var got map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &got), tt.name)
		require.Equal(t, "test", got["component"], tt.name)
		for k, v := range tt.want {
			require.Equal(t, v, got[k], "%s: %s", tt.name, k)
		}
		for _, k := range tt.none {
			require.NotContains(t, got, k, tt.name)
		}
	}
	require.Nil(t, telemetry.WrapLogger(nil))
}

// TestTransport: inside a recording span an outbound request gets a client span and carries its
// traceparent; the span records no path, query or header. Outside one the request passes untouched,
// and a traceparent the caller set is kept.
func TestTransport(t *testing.T) {
	t.Parallel()
	rec, tracer := recorder(t)
	got := make(chan http.Header, 1)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.WriteHeader(http.StatusTeapot)
	}))
	defer target.Close()
	client := &http.Client{Transport: telemetry.Transport(target.Client().Transport)}
	do := func(ctx context.Context, header http.Header) http.Header {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.URL+"/secret/path?api_key=hunter22", strings.NewReader("x"))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer hunter22")
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusTeapot, resp.StatusCode)
		if header == nil {
			require.Empty(t, req.Header.Get("traceparent"), "the caller's request is not changed")
		}
		return <-got
	}

	h := do(t.Context(), nil)
	require.Empty(t, h.Get("traceparent"), "no span, no traceparent")
	require.Empty(t, rec.Ended())

	ctx, parent := tracer.Start(t.Context(), "node http.request")
	h = do(ctx, nil)
	parent.End()
	spans := rec.Ended()
	require.Len(t, spans, 2)
	client0 := spans[0]
	require.Equal(t, "POST", client0.Name())
	require.Equal(t, trace.SpanKindClient, client0.SpanKind())
	require.Equal(t, parent.SpanContext().SpanID(), client0.Parent().SpanID())
	require.Equal(t, "00-"+client0.SpanContext().TraceID().String()+"-"+client0.SpanContext().SpanID().String()+"-01", h.Get("traceparent"))
	for _, kv := range client0.Attributes() {
		v := kv.Value.String()
		require.NotContains(t, v, "hunter22")
		require.NotContains(t, v, "/secret")
	}
	require.Equal(t, "Error", client0.Status().Code.String(), "a 4xx answer marks the span")

	ctx, parent = tracer.Start(t.Context(), "again")
	h = do(ctx, http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}})
	parent.End()
	require.Equal(t, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", h.Get("traceparent"), "the caller's own traceparent wins")
}

// TestStartDB: a statement's span names the system, the operation and the first keyword, never the
// statement's text; without a recording span nothing is made.
func TestStartDB(t *testing.T) {
	t.Parallel()
	rec, tracer := recorder(t)
	_, end := telemetry.StartDB(t.Context(), "postgresql", "query", "SELECT 1")
	end(nil)
	require.Empty(t, rec.Ended())

	tests := []struct{ stmt, summary string }{
		{"select * from users where password = 'hunter22'", "SELECT"},
		{"  (SELECT 1)", "SELECT"},
		{"\n\tinsert into t values ($1)", "INSERT"},
		{"WITH x AS (SELECT 1) SELECT * FROM x", "WITH"},
		{"-- comment\nSELECT 1", ""},
		{"averyveryverylongkeyword x", ""},
		{"", ""},
	}
	for _, tt := range tests {
		ctx, parent := tracer.Start(t.Context(), "node")
		_, end := telemetry.StartDB(ctx, "mysql", "execute", tt.stmt)
		end(nil)
		parent.End()
		spans := rec.Ended()
		db := spans[len(spans)-2]
		require.Equal(t, "mysql execute", db.Name())
		attrs := map[attribute.Key]string{}
		for _, kv := range db.Attributes() {
			attrs[kv.Key] = kv.Value.String()
			require.NotContains(t, kv.Value.String(), "hunter22")
		}
		require.Equal(t, "mysql", attrs["db.system.name"])
		require.Equal(t, "execute", attrs["db.operation.name"])
		require.Equal(t, tt.summary, attrs["db.query.summary"], tt.stmt)
	}
}
