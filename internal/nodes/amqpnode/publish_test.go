package amqpnode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

type testBundle struct {
	creds  *conntest.Credentials
	credID string
	data   map[string]any
	raw    *amqp.Channel
	url    string
}

// setup returns a bundle with an amqp credential for the test broker and a raw channel to it.
func setup(t *testing.T) *testBundle {
	t.Helper()
	u := conntest.ServerURL(t, "CM_TEST_AMQP_URL", "127.0.0.1:5672")
	pu, err := url.Parse(u)
	require.NoError(t, err)
	port, err := strconv.Atoi(pu.Port())
	require.NoError(t, err)
	pw, _ := pu.User.Password()
	data := map[string]any{"host": pu.Hostname(), "port": port, "username": pu.User.Username(), "password": pw, "vhost": "/"}
	creds := conntest.NewCredentials()
	id := creds.Add(t, CredentialType, data)
	rc, err := amqp.Dial(u)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rc.Close() })
	ch, err := rc.Channel()
	require.NoError(t, err)
	return &testBundle{creds: creds, credID: id, data: data, raw: ch, url: u}
}

// queue declares a queue with a unique name, deleted when the test ends.
func (b *testBundle) queue(t *testing.T) string {
	t.Helper()
	name := "cm-test-" + t.Name() + "-" + randomSuffix()
	name = strings.ReplaceAll(name, "/", "-")
	_, err := b.raw.QueueDeclare(name, true, false, false, false, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		rc, err := amqp.Dial(b.url)
		if err != nil {
			return
		}
		defer func() { _ = rc.Close() }()
		if ch, err := rc.Channel(); err == nil {
			_, _ = ch.QueueDelete(name, false, false, false)
		}
	})
	return name
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// get reads one message of queue, waiting up to five seconds.
func (b *testBundle) get(t *testing.T, queue string) amqp.Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		d, ok, err := b.raw.Get(queue, true)
		require.NoError(t, err)
		if ok {
			return d
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no message in %s", queue)
	return amqp.Delivery{}
}

func publishNode(cfg conn.Config) *Publish { return New(cfg)[0].(*Publish) }

func requireCode(t *testing.T, err error, code string, permanent bool) (message string) {
	t.Helper()
	require.Error(t, err)
	var ne *node.Error
	require.ErrorAs(t, err, &ne, "error %v is not a *node.Error", err)
	require.Equal(t, code, ne.Code, "error: %v", err)
	require.Equal(t, permanent, node.IsPermanent(err), "permanent for %v", err)
	return ne.Message
}

func TestPublish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ConnectionLostRedials", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		q := b.queue(t)
		p := publishNode(conntest.Config())
		p.Credential, p.RoutingKey, p.Body = b.credID, q, "one"
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
		// Close the cached connection under the node, as a broker restart or a network failure would.
		cl, release, err := p.shared.cache.Acquire(ctx, b.credID+"/1", func(context.Context) (*client, error) { panic("not cached") })
		require.NoError(t, err)
		cl.mu.Lock()
		require.NotNil(t, cl.conn)
		require.NoError(t, cl.conn.Close())
		cl.mu.Unlock()
		release()
		p.Body = "two"
		_, err = p.Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
		require.Equal(t, "one", string(b.get(t, q).Body))
		require.Equal(t, "two", string(b.get(t, q).Body))
	})

	t.Run("ConfirmedAndQueued", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		q := b.queue(t)
		p := publishNode(conntest.Config())
		p.Credential, p.RoutingKey = b.credID, q
		p.Body = map[string]any{"orderId": 42.0, "items": []any{"a", "b"}}
		p.Headers = map[string]any{"source": "test", "attempt": 3.0, "ok": true}
		p.MessageID, p.CorrelationID = "m-1", "c-1"
		out, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
		// Confirmed means queued: the message is in the queue as soon as the node returns.
		info, err := b.raw.QueueDeclarePassive(q, true, false, false, false, nil)
		require.NoError(t, err)
		require.Equal(t, 1, info.Messages)
		require.Equal(t, map[string]any{"exchange": "", "routingKey": q, "contentType": "application/json", "bytes": 32, "messageId": "m-1"}, out.Value)
		d := b.get(t, q)
		require.JSONEq(t, `{"orderId":42,"items":["a","b"]}`, string(d.Body))
		require.Equal(t, "application/json", d.ContentType)
		require.Equal(t, amqp.Persistent, d.DeliveryMode)
		require.Equal(t, "m-1", d.MessageId)
		require.Equal(t, "c-1", d.CorrelationId)
		require.Equal(t, amqp.Table{"source": "test", "attempt": int64(3), "ok": true}, d.Headers)
		require.False(t, d.Timestamp.IsZero())
	})

	t.Run("MissingExchange", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := publishNode(conntest.Config())
		p.Credential, p.Exchange, p.RoutingKey, p.Body = b.credID, "cm-no-such-exchange-"+randomSuffix(), "x", "hello"
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		msg := requireCode(t, err, CodeBroker, true)
		require.Contains(t, msg, "NOT_FOUND")
		// The channel closed; the next publish on the shared connection works.
		q := b.queue(t)
		p.Exchange, p.RoutingKey = "", q
		_, err = p.Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
	})

	t.Run("Oversized", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := publishNode(conntest.Config())
		p.Credential, p.RoutingKey, p.Body, p.MaxMessageBytes = b.credID, "q", strings.Repeat("x", 1025), 1024
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		requireCode(t, err, CodeMessageTooLarge, true)
	})

	t.Run("SSRFBlocked", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := publishNode(conntest.StrictConfig())
		p.Credential, p.RoutingKey, p.Body = b.credID, "q", "hello"
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		requireCode(t, err, conn.CodeSSRFBlocked, true)
	})

	t.Run("TextTransientAndUnroutable", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		q := b.queue(t)
		p := publishNode(conntest.Config())
		f := false
		p.Credential, p.RoutingKey, p.Body, p.Persistent, p.Mandatory = b.credID, q, "plain", &f, true
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
		d := b.get(t, q)
		require.Equal(t, "plain", string(d.Body))
		require.Equal(t, "text/plain; charset=utf-8", d.ContentType)
		require.Equal(t, amqp.Transient, d.DeliveryMode)

		p.RoutingKey = "cm-nobody-" + randomSuffix()
		_, err = p.Execute(ctx, conntest.Input(b.creds, nil))
		msg := requireCode(t, err, CodeUnroutable, true)
		require.Contains(t, msg, "NO_ROUTE")
		// The return was consumed with its publish: the next mandatory publish to a queue succeeds.
		p.RoutingKey = q
		_, err = p.Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
	})

	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		data := map[string]any{}
		for k, v := range b.data {
			data[k] = v
		}
		data["password"] = "not-the-password-Zx81"
		id := b.creds.Add(t, CredentialType, data)
		p := publishNode(conntest.Config())
		p.Credential, p.RoutingKey, p.Body = id, "q", "hello"
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		msg := requireCode(t, err, CodeAuthFailed, true)
		require.NotContains(t, msg, "not-the-password-Zx81")
		require.Contains(t, msg, "authentication failed")
	})
}

func TestTester(t *testing.T) {
	t.Parallel()
	b := setup(t)
	test := Testers(conntest.Config())[CredentialType]
	cred, err := b.creds.Get(context.Background(), b.credID)
	require.NoError(t, err)
	msg, err := test(context.Background(), cred)
	require.NoError(t, err)
	require.Contains(t, msg, "Connected to RabbitMQ")
	require.Contains(t, msg, "as guest")

	bad := *cred
	bad.Data = map[string]any{"host": b.data["host"], "port": b.data["port"], "username": "guest", "password": "wrong-Q7"}
	_, err = test(context.Background(), &bad)
	requireCode(t, err, CodeAuthFailed, true)

	_, err = Testers(conntest.StrictConfig())[CredentialType](context.Background(), cred)
	requireCode(t, err, conn.CodeSSRFBlocked, true)
}
