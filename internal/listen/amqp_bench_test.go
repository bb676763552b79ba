package listen_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/listen"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// BenchmarkAMQPTrigger measures messages per second through trigger.amqp → data.set → data.set on
// RabbitMQ, every message acknowledged only after its execution is durably queued and every execution
// persisted (SQLite, the embedded dispatcher's default workers).
func BenchmarkAMQPTrigger(b *testing.B) {
	amqpURL := os.Getenv("CM_TEST_AMQP_URL")
	if amqpURL == "" {
		b.Skip("CM_TEST_AMQP_URL is not set")
	}
	env := enginetest.Start(b, enginetest.Options{})
	m, err := listen.New(listen.Config{Store: env.Store, Registry: env.Registry, Firer: env.Service, Credentials: env.Credentials, PollInterval: time.Hour})
	require.NoError(b, err)
	require.NoError(b, m.Start(context.Background()))
	b.Cleanup(func() { _ = m.Stop(context.Background()) })
	ctx := context.Background()
	cred, err := env.Credentials.Create(ctx, store.DefaultTenant, "rabbit", "amqp", map[string]any{"host": "127.0.0.1", "username": "guest", "password": "guest"})
	require.NoError(b, err)
	queue := "cm-bench-" + service.NewID()
	w, err := env.Service.CreateWorkflow(ctx, store.DefaultTenant, &workflow.Definition{Name: "bench amqp", Nodes: []workflow.Node{
		{ID: "msg", Type: "trigger.amqp", Config: map[string]any{"credential": cred.ID, "queue": queue, "declare": "durable", "prefetch": 200.0, "concurrency": 32.0}},
		{ID: "a", Type: "data.set", Config: map[string]any{"fields": map[string]any{"n": "{{ trigger.body.n }}"}}},
		{ID: "b", Type: "data.set", Config: map[string]any{"fields": map[string]any{"double": "{{ input.n * 2 }}"}}},
	}, Edges: []workflow.Edge{{Source: "msg", Target: "a"}, {Source: "a", Target: "b"}}})
	require.NoError(b, err)

	conn, err := amqp.Dial(amqpURL)
	require.NoError(b, err)
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	require.NoError(b, err)
	_, err = ch.QueueDeclare(queue, true, false, false, false, nil)
	require.NoError(b, err)
	defer func() { _, _ = ch.QueueDelete(queue, false, false, false) }()
	n := b.N
	for i := range n {
		require.NoError(b, ch.PublishWithContext(ctx, "", queue, false, false, amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: []byte(`{"n":` + strconv.Itoa(i) + `}`)}))
	}
	b.ResetTimer()
	start := time.Now()
	_, err = env.Service.SetActive(ctx, store.DefaultTenant, w.ID, true)
	require.NoError(b, err)
	m.Reconcile()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		done := succeeded(b, env, w.ID)
		if done >= n {
			break
		}
		require.True(b, time.Now().Before(deadline), "only %d of %d executions succeeded", done, n)
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	fmt.Printf("figure: trigger.amqp throughput, 3-node workflow, every message acked after a durable queue and every execution persisted (SQLite): %.0f messages/s over %d messages\n",
		float64(n)/elapsed.Seconds(), n)
}

// succeeded counts the workflow's succeeded executions.
func succeeded(b *testing.B, env *enginetest.Env, workflowID string) int {
	b.Helper()
	n, cursor := 0, ""
	for {
		page, err := env.Store.ListExecutions(context.Background(), store.DefaultTenant, store.ListExecutionsParams{WorkflowID: workflowID, Status: workflow.ExecutionSucceeded, Limit: 500, Cursor: cursor})
		require.NoError(b, err)
		n += len(page.Items)
		if page.NextCursor == "" {
			return n
		}
		cursor = page.NextCursor
	}
}
