package amqpnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

// recorder is a fake ListenEnv.Fire that records the messages it accepts, counts by body, and fails
// when failFunc says so.
type recorder struct {
	mu       sync.Mutex
	fired    []map[string]any
	counts   map[string]int
	calls    map[string]int
	failFunc func(body string, call int) bool
	changed  chan struct{}
}

func newRecorder() *recorder {
	return &recorder{counts: map[string]int{}, calls: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (r *recorder) fire(_ context.Context, data any) error {
	m := data.(map[string]any)
	body := fmt.Sprint(m["body"])
	r.mu.Lock()
	r.calls[body]++
	call := r.calls[body]
	fail := r.failFunc != nil && r.failFunc(body, call)
	if !fail {
		r.fired = append(r.fired, m)
		r.counts[body]++
	}
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
	if fail {
		return errors.New("store unavailable")
	}
	return nil
}

// distinct returns how many distinct bodies were fired.
func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.counts)
}

// waitDistinct waits until n distinct bodies were fired.
func (r *recorder) waitDistinct(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for r.distinct() < n {
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("%d distinct messages fired, want %d", r.distinct(), n)
		}
	}
}

func (b *testBundle) env(r *recorder) node.ListenEnv {
	return node.ListenEnv{TenantID: "t1", WorkflowID: "w1", NodeID: "n1", Credentials: b.creds,
		Logger: slog.New(slog.DiscardHandler), Fire: r.fire}
}

func (b *testBundle) publishN(t *testing.T, queue string, n int) {
	t.Helper()
	require.NoError(t, b.raw.Confirm(false))
	for i := range n {
		dc, err := b.raw.PublishWithDeferredConfirm("", queue, false, false,
			amqp.Publishing{ContentType: "application/json", Body: []byte(strconv.Itoa(i)), MessageId: "m" + strconv.Itoa(i)})
		require.NoError(t, err)
		if i == n-1 {
			require.True(t, dc.Wait())
		}
	}
}

func triggerNode(cfg conn.Config) *Trigger { return New(cfg)[1].(*Trigger) }

// listen runs t.Listen until the returned stop is called; stop returns Listen's error.
func listen(ctx context.Context, tr *Trigger, env node.ListenEnv) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tr.Listen(ctx, env) }()
	return func() error {
		cancel()
		return <-done
	}
}

// queueIdle reports whether queue holds no message ready for delivery.
func (b *testBundle) queueIdle(t *testing.T, queue string) bool {
	t.Helper()
	info, err := b.raw.QueueDeclarePassive(queue, true, false, false, false, nil)
	require.NoError(t, err)
	return info.Messages == 0
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CancelMidStreamAndRestart", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		q := b.queue(t)
		r := newRecorder()
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Queue, tr.Prefetch, tr.Concurrency = b.credID, q, 50, 4
		const n = 500
		stop := listen(ctx, tr, b.env(r))
		b.publishN(t, q, n)
		r.waitDistinct(t, 100, 20*time.Second)
		require.NoError(t, stop()) // mid-stream: deliveries in flight go back to the queue
		require.Less(t, r.distinct(), n, "stopped too late to be mid-stream")
		stop = listen(ctx, tr, b.env(r))
		r.waitDistinct(t, n, 30*time.Second)
		require.NoError(t, stop())
		for i := range n {
			require.GreaterOrEqual(t, r.counts[strconv.Itoa(i)], 1, "message %d was never fired", i)
		}
		require.Eventually(t, func() bool { return b.queueIdle(t, q) }, 5*time.Second, 20*time.Millisecond)
	})

	t.Run("ConsumerCanceledEndsListen", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		q := b.queue(t)
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Queue = b.credID, q
		r := newRecorder()
		done := make(chan error, 1)
		go func() { done <- tr.Listen(ctx, b.env(r)) }()
		b.publishN(t, q, 1)
		r.waitDistinct(t, 1, 10*time.Second)
		_, err := b.raw.QueueDelete(q, false, false, false)
		require.NoError(t, err)
		select {
		case err := <-done:
			require.Error(t, err)
			var ne *node.Error
			require.ErrorAs(t, err, &ne)
		case <-time.After(10 * time.Second):
			t.Fatal("Listen did not return after its queue was deleted")
		}
	})

	t.Run("FireFailsRequeues", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		q := b.queue(t)
		r := newRecorder()
		// Every seventh message fails the first time it is fired.
		r.failFunc = func(body string, call int) bool {
			i, _ := strconv.Atoi(body)
			return i%7 == 0 && call == 1
		}
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Queue, tr.Prefetch, tr.Concurrency = b.credID, q, 20, 4
		const n = 100
		stop := listen(ctx, tr, b.env(r))
		b.publishN(t, q, n)
		r.waitDistinct(t, n, 30*time.Second)
		require.Eventually(t, func() bool { return b.queueIdle(t, q) }, 5*time.Second, 20*time.Millisecond)
		require.NoError(t, stop())
		r.mu.Lock()
		defer r.mu.Unlock()
		for i := range n {
			body := strconv.Itoa(i)
			require.Equal(t, 1, r.counts[body], "message %d fired %d times", i, r.counts[body])
			if i%7 == 0 {
				require.Equal(t, 2, r.calls[body], "message %d should have been fired again", i)
			}
		}
		for _, m := range r.fired {
			i, _ := strconv.Atoi(fmt.Sprint(m["body"]))
			require.Equal(t, i%7 == 0, m["redelivered"], "message %d", i)
		}
	})

	t.Run("FiveHundredMessages", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		q := b.queue(t)
		r := newRecorder()
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Queue = b.credID, q
		const n = 500
		b.publishN(t, q, n)
		start := time.Now()
		stop := listen(ctx, tr, b.env(r))
		r.waitDistinct(t, n, 30*time.Second)
		elapsed := time.Since(start)
		require.NoError(t, stop())
		t.Logf("%d messages consumed, fired and acknowledged one at a time in %s: %.0f/s", n, elapsed, n/elapsed.Seconds())
		r.mu.Lock()
		defer r.mu.Unlock()
		require.Len(t, r.fired, n)
		// Concurrency 1 keeps the queue's order.
		for i, m := range r.fired {
			require.Equal(t, float64(i), m["body"])
			require.Equal(t, "m"+strconv.Itoa(i), m["messageId"])
			require.Equal(t, q, m["routingKey"])
			require.Equal(t, "", m["exchange"])
			require.Equal(t, "application/json", m["contentType"])
			require.Equal(t, false, m["redelivered"])
		}
	})

	t.Run("MessageShape", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		q := b.queue(t)
		r := newRecorder()
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Queue, tr.MaxMessageBytes = b.credID, q, 64
		stop := listen(ctx, tr, b.env(r))
		ts := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		for _, p := range []amqp.Publishing{
			{Body: []byte(strings.Repeat("x", 65))}, // over maxMessageBytes: rejected, never fired
			{ContentType: "text/plain", Body: []byte(`{"not": "parsed"}`), Headers: amqp.Table{"n": int32(7), "b": []byte("bytes"), "nested": amqp.Table{"k": "v"}}},
			{Body: []byte(`{"parsed": true}`), Timestamp: ts, CorrelationId: "c"},
			{Body: []byte{0xff, 0xfe}},
		} {
			require.NoError(t, b.raw.PublishWithContext(ctx, "", q, false, false, p))
		}
		r.waitDistinct(t, 3, 10*time.Second)
		require.Eventually(t, func() bool { return b.queueIdle(t, q) }, 5*time.Second, 20*time.Millisecond)
		require.NoError(t, stop())
		r.mu.Lock()
		defer r.mu.Unlock()
		require.Len(t, r.fired, 3)
		require.Equal(t, `{"not": "parsed"}`, r.fired[0]["body"])
		require.Equal(t, "text", r.fired[0]["bodyEncoding"])
		require.Equal(t, map[string]any{"n": int32(7), "b": "bytes", "nested": map[string]any{"k": "v"}}, r.fired[0]["headers"])
		require.Nil(t, r.fired[0]["timestamp"])
		require.Equal(t, map[string]any{"parsed": true}, r.fired[1]["body"])
		require.Equal(t, "json", r.fired[1]["bodyEncoding"])
		require.Equal(t, "2026-12-01T09:00:00Z", r.fired[1]["timestamp"])
		require.Equal(t, "c", r.fired[1]["correlationId"])
		require.Equal(t, "//4=", r.fired[2]["body"])
		require.Equal(t, "base64", r.fired[2]["bodyEncoding"])
	})

	t.Run("MissingQueue", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Queue = b.credID, "cm-no-such-queue-"+randomSuffix()
		err := tr.Listen(ctx, b.env(newRecorder()))
		msg := requireCode(t, err, CodeBroker, true)
		require.Contains(t, msg, "does not exist")
	})

	t.Run("SSRFBlocked", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tr := triggerNode(conntest.StrictConfig())
		tr.Credential, tr.Queue = b.credID, "q"
		requireCode(t, tr.Listen(ctx, b.env(newRecorder())), conn.CodeSSRFBlocked, true)
	})

	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.creds.Add(t, CredentialType, map[string]any{"host": b.data["host"], "port": b.data["port"], "username": "guest", "password": "wrong-Q7"})
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Queue = id, "q"
		msg := requireCode(t, tr.Listen(ctx, b.env(newRecorder())), CodeAuthFailed, true)
		require.NotContains(t, msg, "wrong-Q7")
	})
}
