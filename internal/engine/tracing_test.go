package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/telemetry"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func attrsOf(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

// TestRunSpans checks the span shape of runs with an in-memory recorder: one execution.run per run,
// one span per node attempt with its type, id, attempt and status, failures marked with their code;
// a run started under a span continues its trace through the stored traceparent; the engine's log
// lines carry execution_id.
func TestRunSpans(t *testing.T) {
	t.Parallel()
	backends := map[string]string{"SQLite": ""}
	// make test and CI set it; the stored traceparent then goes through PostgreSQL's migration too.
	if u := os.Getenv("CM_TEST_DATABASE_URL"); u != "" {
		backends["PostgreSQL"] = u
	}
	for name, pgURL := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testRunSpans(t, pgURL)
		})
	}
}

func testRunSpans(t *testing.T, pgURL string) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	logs := &lockedBuffer{}
	logger := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	env := enginetest.Start(t, enginetest.Options{TracerProvider: tp, Logger: logger, PostgresURL: pgURL})

	ok := env.Save(t, `{"name":"ok","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"set","type":"data.set","config":{"fields":{"x":1}}}],
		"edges":[{"source":"start","target":"set"}]}`)
	bad := env.Save(t, `{"name":"bad","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"boom","type":"flow.fail","config":{"message":"no","code":"E42"}}],
		"edges":[{"source":"start","target":"boom"}]}`)

	// Started under a span (as the API does): the run continues that trace from the store.
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	exec, _, err := env.Service.StartExecution(ctx, store.DefaultTenant, serviceStart(ok.ID, `{}`, ""))
	require.NoError(t, err)
	parent.End()
	exec = env.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	failed := env.Run(t, bad.ID, `{}`)
	require.Equal(t, workflow.ExecutionFailed, failed.Status)

	// A run's span ends when Run returns, just after the final state is committed.
	var runs map[string]sdktrace.ReadOnlySpan
	var attempts []sdktrace.ReadOnlySpan
	require.Eventually(t, func() bool {
		runs, attempts = map[string]sdktrace.ReadOnlySpan{}, nil
		for _, s := range rec.Ended() {
			switch {
			case s.Name() == "execution.run":
				runs[attrsOf(s)["concertmaster.execution.id"]] = s
			case strings.HasPrefix(s.Name(), "node "):
				attempts = append(attempts, s)
			}
		}
		return len(runs) == 2 && len(attempts) == 4
	}, 20*time.Second, 5*time.Millisecond)
	require.Len(t, runs, 2)
	okRun, badRun := runs[exec.ID], runs[failed.ID]
	require.NotNil(t, okRun)
	require.NotNil(t, badRun)
	require.Equal(t, parent.SpanContext().TraceID(), okRun.SpanContext().TraceID(), "the run continues the starter's trace")
	require.Equal(t, parent.SpanContext().SpanID(), okRun.Parent().SpanID())
	require.False(t, badRun.Parent().IsValid(), "a run started without a span starts a trace")
	require.Equal(t, "succeeded", attrsOf(okRun)["concertmaster.execution.status"])
	require.Equal(t, ok.ID, attrsOf(okRun)["concertmaster.workflow.id"])
	require.Equal(t, codes.Error, badRun.Status().Code)

	want := map[string]struct{ typ, status, errType string }{
		exec.ID + "/start": {"trigger.manual", "succeeded", ""}, exec.ID + "/set": {"data.set", "succeeded", ""},
		failed.ID + "/start": {"trigger.manual", "succeeded", ""}, failed.ID + "/boom": {"flow.fail", "failed", "E42"},
	}
	require.Len(t, attempts, len(want))
	for _, a := range attempts {
		runID := ""
		for id, r := range runs {
			if r.SpanContext().SpanID() == a.Parent().SpanID() {
				runID = id
			}
		}
		at := attrsOf(a)
		w, found := want[runID+"/"+at["concertmaster.node.id"]]
		require.True(t, found, "attempt %s under run %q", a.Name(), runID)
		require.Equal(t, "node "+w.typ, a.Name())
		require.Equal(t, w.typ, at["concertmaster.node.type"])
		require.Equal(t, "1", at["concertmaster.node.attempt"])
		require.Equal(t, w.status, at["concertmaster.node.status"])
		require.Equal(t, w.errType, at["error.type"])
	}

	// The engine's lines name the execution and its trace ("Run ended" is logged as Run returns).
	require.Eventually(t, func() bool {
		for line := range bytes.SplitSeq([]byte(logs.String()), []byte("\n")) {
			var m map[string]any
			if json.Unmarshal(line, &m) == nil && m["msg"] == "Run ended" && m["execution_id"] == exec.ID {
				return m["trace_id"] == parent.SpanContext().TraceID().String()
			}
		}
		return false
	}, 20*time.Second, 5*time.Millisecond, "logs: %s", logs.String())

	// Everything ran: nothing waits for a worker.
	queued, due, err := env.Store.QueueDepth(context.Background(), time.Now())
	require.NoError(t, err)
	require.Zero(t, queued)
	require.Zero(t, due)
	tp2, err := env.Store.ExecutionTraceParent(context.Background(), store.DefaultTenant, exec.ID)
	require.NoError(t, err)
	require.Contains(t, tp2, parent.SpanContext().TraceID().String())
	tp2, err = env.Store.ExecutionTraceParent(context.Background(), store.DefaultTenant, failed.ID)
	require.NoError(t, err)
	require.Empty(t, tp2, "nothing is recorded without a span")
	_, err = env.Store.ExecutionTraceParent(context.Background(), store.DefaultTenant, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// claims records ExecutionClaimed calls.
type claims struct {
	mu   sync.Mutex
	from []string
}

func (c *claims) NodeRunFinished(string, workflow.NodeRunStatus, time.Duration) {}
func (c *claims) ExecutionFinished(workflow.ExecutionStatus, time.Duration)     {}
func (c *claims) ExecutionClaimed(from string, latency time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if latency >= 0 && latency < time.Minute {
		c.from = append(c.from, from)
	}
}

func (c *claims) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.from...)
}

// TestClaimLatency: a new execution's first claim is observed from its creation; a suspended one's
// claim after its delay came due is observed from the due time.
func TestClaimLatency(t *testing.T) {
	t.Parallel()
	obs := &claims{}
	env := enginetest.Start(t, enginetest.Options{Observer: obs, SuspendThreshold: time.Millisecond})
	w := env.Save(t, `{"name":"delayed","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"wait","type":"flow.delay","config":{"duration":"300ms"}}],
		"edges":[{"source":"start","target":"wait"}]}`)
	exec := env.Run(t, w.ID, `{}`)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	require.Eventually(t, func() bool { return len(obs.got()) >= 2 }, 20*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"created", "due"}, obs.got())
}

// TestQueueDepth: executions nobody claimed count as queued, on SQLite and PostgreSQL.
func TestQueueDepth(t *testing.T) {
	t.Parallel()
	backends := map[string]string{"SQLite": ""}
	if u := os.Getenv("CM_TEST_DATABASE_URL"); u != "" {
		backends["PostgreSQL"] = u
	}
	for name, pgURL := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := enginetest.Start(t, enginetest.Options{NoDispatcher: true, PostgresURL: pgURL})
			w := env.Save(t, `{"name":"q","nodes":[{"id":"start","type":"trigger.manual"}]}`)
			for range 3 {
				env.Start(t, w.ID, `{}`)
			}
			queued, due, err := env.Store.QueueDepth(context.Background(), time.Now())
			require.NoError(t, err)
			require.Equal(t, int64(3), queued)
			require.Zero(t, due)
		})
	}
}
