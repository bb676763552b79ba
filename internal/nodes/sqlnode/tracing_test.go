package sqlnode_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestPostgresSpans: inside a traced attempt each statement gets a client span naming the system,
// the operation and the first keyword, and never the statement's text, its parameters or the
// credential's URL; a failed statement marks its span. Outside a span no span is made.
func TestPostgresSpans(t *testing.T) {
	t.Parallel()
	b := setupPG(t)
	tbl := b.table(t, "id int primary key, secret text")
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, attempt := tp.Tracer("test").Start(context.Background(), "node postgres.execute")

	b.mustRun(ctx, t, "postgres.execute", map[string]any{"credential": b.cred,
		"query": "insert into " + tbl + " (id, secret) values ($1, $2)", "params": []any{1.0, "hunter22-param"}})
	b.mustRun(ctx, t, "postgres.execute", map[string]any{"credential": b.cred,
		"query": "insert into " + tbl + " (id, secret) values ($1, $2)", "batch": []any{[]any{2.0, "x"}, []any{3.0, "y"}}})
	b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred,
		"query": "select secret from " + tbl + " where secret = 'hunter22-literal'"})
	_, err := b.run(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select * from cm_no_such_table_here"})
	require.Error(t, err)
	attempt.End()

	var db []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindClient {
			db = append(db, s)
		}
	}
	want := []struct {
		name, summary string
		failed        bool
	}{{"postgresql execute", "INSERT", false}, {"postgresql batch", "INSERT", false}, {"postgresql query", "SELECT", false}, {"postgresql query", "SELECT", true}}
	require.Len(t, db, len(want))
	for i, w := range want {
		s := db[i]
		require.Equal(t, w.name, s.Name())
		require.Equal(t, attempt.SpanContext().SpanID(), s.Parent().SpanID())
		attrs := map[attribute.Key]string{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value.String()
			for _, leak := range []string{"hunter22", tbl, b.url, "cm_no_such_table"} {
				require.NotContains(t, kv.Value.String(), leak)
			}
		}
		require.Equal(t, "postgresql", attrs["db.system.name"])
		require.Equal(t, w.summary, attrs["db.query.summary"])
		require.Equal(t, w.failed, s.Status().Code == codes.Error, s.Name())
	}

	before := len(rec.Ended())
	b.mustRun(context.Background(), t, "postgres.query", map[string]any{"credential": b.cred, "query": "select 1"})
	require.Len(t, rec.Ended(), before, "no span without a traced attempt")
}
