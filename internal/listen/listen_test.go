package listen_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/listen"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// broker is an in-memory queue per name with redelivery of what is not acknowledged.
type broker struct {
	mu      sync.Mutex
	queues  map[string]chan map[string]any
	starts  atomic.Int32
	panicks atomic.Int32
}

func (b *broker) queue(name string) chan map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.queues[name]
	if !ok {
		q = make(chan map[string]any, 1000)
		b.queues[name] = q
	}
	return q
}

// testTrigger is trigger.test: it consumes its queue, and puts a message back when Fire fails.
type testTrigger struct {
	Queue     string `json:"queue"`
	DedupeKey string `json:"dedupeKey,omitempty"`
	Panic     bool   `json:"panic,omitempty"`
	b         *broker
}

func (t *testTrigger) NodeInfo() node.Info {
	b := t.b
	return node.Info{Type: "trigger.test", Title: "Test trigger", Category: "Test", Outputs: []node.PortSpec{{Name: "out"}},
		Schema: json.RawMessage(`{"type":"object","properties":{"queue":{"type":"string"},"dedupeKey":{"type":"string"},"panic":{"type":"boolean"}},"required":["queue"],"additionalProperties":false}`),
		New:    func() node.Node { return &testTrigger{b: b} }}
}

func (t *testTrigger) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	return node.Out(in.Data), nil
}

func (t *testTrigger) Listen(ctx context.Context, env node.ListenEnv) error {
	t.b.starts.Add(1)
	if t.Panic {
		t.b.panicks.Add(1)
		panic("boom")
	}
	q := t.b.queue(t.Queue)
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg := <-q:
			if err := env.Fire(ctx, msg); err != nil {
				q <- msg // not acknowledged: redelivered
				return err
			}
		}
	}
}

type env struct {
	*enginetest.Env
	b *broker
	m *listen.Manager
}

func start(t *testing.T) *env {
	t.Helper()
	e := enginetest.Start(t, enginetest.Options{})
	b := &broker{queues: map[string]chan map[string]any{}}
	e.Registry.MustRegister(&testTrigger{b: b})
	m, err := listen.New(listen.Config{Store: e.Store, Registry: e.Registry, Firer: e.Service, Credentials: e.Credentials,
		PollInterval: time.Hour, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, m.Stop(ctx))
	})
	return &env{Env: e, b: b, m: m}
}

func definition(queue, dedupe string) *workflow.Definition {
	cfg := map[string]any{"queue": queue}
	if dedupe != "" {
		cfg["dedupeKey"] = dedupe
	}
	return &workflow.Definition{Name: "consume " + queue, Nodes: []workflow.Node{
		{ID: "msg", Type: "trigger.test", Config: cfg},
		{ID: "set", Type: "data.set", Config: map[string]any{"fields": map[string]any{"got": "{{ trigger.n }}"}}},
	}, Edges: []workflow.Edge{{Source: "msg", Target: "set"}}}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func executions(t *testing.T, e *env, workflowID string) []store.Execution {
	t.Helper()
	page, err := e.Store.ListExecutions(context.Background(), store.DefaultTenant, store.ListExecutionsParams{WorkflowID: workflowID, Limit: 500})
	require.NoError(t, err)
	return page.Items
}

func TestListenerFollowsWorkflow(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	w, err := e.Service.CreateWorkflow(ctx, store.DefaultTenant, definition("orders", ""))
	require.NoError(t, err)
	e.m.Reconcile()
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, 0, e.m.Running(), "an inactive workflow does not listen")

	_, err = e.Service.SetActive(ctx, store.DefaultTenant, w.ID, true)
	require.NoError(t, err)
	e.m.Reconcile()
	eventually(t, "the listener", func() bool { return e.m.Running() == 1 })
	for i := range 50 {
		e.b.queue("orders") <- map[string]any{"n": i}
	}
	eventually(t, "50 executions", func() bool { return len(executions(t, e, w.ID)) == 50 })
	for _, x := range executions(t, e, w.ID) {
		require.Equal(t, store.TriggerMessage, x.TriggerKind)
		require.Equal(t, "msg", x.TriggerNode)
	}

	// A change of configuration restarts it on the new queue.
	_, err = e.Service.UpdateWorkflow(ctx, store.DefaultTenant, w.ID, w.Version, definition("orders-v2", ""))
	require.NoError(t, err)
	e.m.Reconcile()
	e.b.queue("orders-v2") <- map[string]any{"n": 100}
	eventually(t, "the message on the new queue", func() bool { return len(executions(t, e, w.ID)) == 51 })

	_, err = e.Service.SetActive(ctx, store.DefaultTenant, w.ID, false)
	require.NoError(t, err)
	e.m.Reconcile()
	eventually(t, "the listener to stop", func() bool { return e.m.Running() == 0 })
	e.b.queue("orders-v2") <- map[string]any{"n": 101}
	time.Sleep(50 * time.Millisecond)
	require.Len(t, executions(t, e, w.ID), 51, "a deactivated workflow consumes nothing")
}

func TestListenerDedupeAndFailures(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	w, err := e.Service.CreateWorkflow(ctx, store.DefaultTenant, definition("dedupe", "{{ trigger.id }}"))
	require.NoError(t, err)
	_, err = e.Service.SetActive(ctx, store.DefaultTenant, w.ID, true)
	require.NoError(t, err)
	e.m.Reconcile()
	for i := range 20 {
		// Every message twice (a redelivery after a crash), and a different message with the same id.
		e.b.queue("dedupe") <- map[string]any{"id": i % 10, "n": i}
	}
	eventually(t, "10 executions", func() bool { return len(executions(t, e, w.ID)) == 10 })
	time.Sleep(50 * time.Millisecond)
	require.Len(t, executions(t, e, w.ID), 10, "duplicates start nothing")

	// A message whose dedupe key is empty is refused (not acknowledged) and the listener restarts.
	e.b.queue("dedupe") <- map[string]any{"n": "no id"}
	eventually(t, "a restart", func() bool { return e.b.starts.Load() >= 2 })
}

func TestListenerPanicsRestart(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	def := definition("p", "")
	def.Nodes[0].Config["panic"] = true
	w, err := e.Service.CreateWorkflow(ctx, store.DefaultTenant, def)
	require.NoError(t, err)
	_, err = e.Service.SetActive(ctx, store.DefaultTenant, w.ID, true)
	require.NoError(t, err)
	e.m.Reconcile()
	eventually(t, "several restarts", func() bool { return e.b.panicks.Load() >= 3 })
}

// failingFirer fails every second message, as a store that is briefly unavailable would.
type failingFirer struct {
	next  listen.Firer
	calls atomic.Int32
}

func (f *failingFirer) FireMessage(ctx context.Context, m service.MessageFire) (*store.Execution, bool, error) {
	if f.calls.Add(1)%2 == 0 {
		return nil, false, errors.New("store unavailable")
	}
	return f.next.FireMessage(ctx, m)
}

func TestListenerRedeliversWhatFailed(t *testing.T) {
	t.Parallel()
	e := enginetest.Start(t, enginetest.Options{})
	b := &broker{queues: map[string]chan map[string]any{}}
	e.Registry.MustRegister(&testTrigger{b: b})
	m, err := listen.New(listen.Config{Store: e.Store, Registry: e.Registry, Firer: &failingFirer{next: e.Service},
		PollInterval: time.Hour, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	defer func() { require.NoError(t, m.Stop(context.Background())) }()
	ctx := context.Background()
	w, err := e.Service.CreateWorkflow(ctx, store.DefaultTenant, definition("flaky", "{{ trigger.n }}"))
	require.NoError(t, err)
	_, err = e.Service.SetActive(ctx, store.DefaultTenant, w.ID, true)
	require.NoError(t, err)
	m.Reconcile()
	for i := range 40 {
		b.queue("flaky") <- map[string]any{"n": i}
	}
	eventually(t, "every message fired once", func() bool {
		page, err := e.Store.ListExecutions(ctx, store.DefaultTenant, store.ListExecutionsParams{WorkflowID: w.ID, Limit: 500})
		require.NoError(t, err)
		return len(page.Items) == 40
	})
}
