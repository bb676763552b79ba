package natsnode_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/listen"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// TestWorkflows runs the NATS node types the way the server does: a credential in the vault, a
// request whose reply feeds a JetStream publish, and a JetStream trigger run by the listening-trigger
// manager, every message becoming a durable execution.
func TestWorkflows(t *testing.T) {
	t.Parallel()
	u := conntest.ServerURL(t, "CM_TEST_NATS_URL", "127.0.0.1:4222")
	ctx := context.Background()
	nc, err := nats.Connect(u)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	var b [6]byte
	_, err = rand.Read(b[:])
	require.NoError(t, err)
	sfx := hex.EncodeToString(b[:])
	subjects := "cmtest." + sfx
	stream := "CMTEST_WF_" + strings.ToUpper(sfx)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{subjects + ".>"}, Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), stream) })
	sub, err := nc.Subscribe("cmtestsvc."+sfx+".price", func(m *nats.Msg) { _ = m.Respond([]byte(`{"price": 9.5}`)) })
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	require.NoError(t, nc.Flush())

	env := enginetest.Start(t, enginetest.Options{})
	cred, err := env.Credentials.Create(ctx, store.DefaultTenant, "bus", "nats", map[string]any{"host": "127.0.0.1", "port": 4222})
	require.NoError(t, err)
	m, err := listen.New(listen.Config{Store: env.Store, Registry: env.Registry, Firer: env.Service, Credentials: env.Credentials,
		PollInterval: time.Hour, BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, m.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, m.Stop(sctx))
	})

	// Orders arrive on the stream; each asks for a price and publishes the priced order back to the
	// stream, on a subject the trigger does not read.
	def := map[string]any{"name": "nats orders", "nodes": []any{
		map[string]any{"id": "order", "type": "trigger.nats", "config": map[string]any{"credential": cred.ID, "stream": stream,
			"durable": "cm", "subject": subjects + ".orders", "dedupeKey": "{{ trigger.stream }}-{{ trigger.sequence }}"}},
		map[string]any{"id": "price", "type": "nats.request", "config": map[string]any{"credential": cred.ID, "subject": "cmtestsvc." + sfx + ".price",
			"payload": "{{ trigger.data }}", "timeout": "5s"}},
		map[string]any{"id": "publish", "type": "nats.publish", "config": map[string]any{"credential": cred.ID, "subject": subjects + ".priced",
			"payload": map[string]any{"n": "{{ trigger.data.n }}", "price": "{{ nodes.price.output.data.price }}"}, "jetstream": true,
			"messageId": "priced-{{ trigger.sequence }}"}},
	}, "edges": []any{map[string]any{"source": "order", "target": "price"}, map[string]any{"source": "price", "target": "publish"}}}
	raw, err := json.Marshal(def)
	require.NoError(t, err)
	w := env.Save(t, string(raw))
	_, err = env.Service.SetActive(ctx, store.DefaultTenant, w.ID, true)
	require.NoError(t, err)
	m.Reconcile()
	const n = 30
	for i := range n {
		_, err := js.Publish(ctx, subjects+".orders", []byte(`{"n": `+strconv.Itoa(i)+`}`))
		require.NoError(t, err)
	}
	var page *store.Page[store.Execution]
	require.Eventually(t, func() bool {
		page, err = env.Store.ListExecutions(ctx, store.DefaultTenant, store.ListExecutionsParams{WorkflowID: w.ID, Limit: 500})
		if err != nil || len(page.Items) < n {
			return false
		}
		for _, x := range page.Items {
			if x.Status != workflow.ExecutionSucceeded {
				return false
			}
		}
		return true
	}, 30*time.Second, 20*time.Millisecond)
	require.Len(t, page.Items, n)
	info, err := js.Stream(ctx, stream)
	require.NoError(t, err)
	require.EqualValues(t, 2*n, info.CachedInfo().State.Msgs, "every order was priced once")
	runs := env.Runs(t, page.Items[0].ID)
	var published map[string]any
	require.NoError(t, json.Unmarshal(runs["publish"].Output, &published))
	require.Equal(t, stream, published["stream"])
	c, err := js.Consumer(ctx, stream, "cm")
	require.NoError(t, err)
	require.Zero(t, c.CachedInfo().NumAckPending)
}
