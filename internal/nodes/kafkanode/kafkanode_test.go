package kafkanode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

type testBundle struct {
	cluster *kfake.Cluster
	creds   *conntest.Credentials
	credID  string
	topic   string
}

// setup starts an in-process Kafka cluster (kfake) with a three-partition topic, and a credential
// for it. With sasl, the cluster requires SCRAM-SHA-256 user "cm" with password "right-pw".
func setup(t *testing.T, sasl bool) *testBundle {
	t.Helper()
	topic := "cm-test-" + randomSuffix()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, topic)}
	if sasl {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "cm", "right-pw"))
	}
	c, err := kfake.NewCluster(opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	creds := conntest.NewCredentials()
	data := map[string]any{"brokers": anySlice(c.ListenAddrs())}
	if sasl {
		data["mechanism"], data["username"], data["password"] = "scram-sha-256", "cm", "right-pw"
	}
	id := creds.Add(t, CredentialType, data)
	return &testBundle{cluster: c, creds: creds, credID: id, topic: topic}
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// raw returns a plain client of the cluster.
func (b *testBundle) raw(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	c, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.cluster.ListenAddrs()...)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// produceN produces the values 0…n-1, keyed by value so that they spread over the partitions.
func (b *testBundle) produceN(t *testing.T, from, n int) {
	t.Helper()
	c := b.raw(t)
	recs := make([]*kgo.Record, 0, n)
	for i := from; i < from+n; i++ {
		recs = append(recs, &kgo.Record{Topic: b.topic, Key: []byte("k" + strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
	}
	require.NoError(t, c.ProduceSync(context.Background(), recs...).FirstErr())
}

func requireCode(t *testing.T, err error, code string, permanent bool) (message string) {
	t.Helper()
	require.Error(t, err)
	var ne *node.Error
	require.ErrorAs(t, err, &ne, "error %v is not a *node.Error", err)
	require.Equal(t, code, ne.Code, "error: %v", err)
	require.Equal(t, permanent, node.IsPermanent(err), "permanent for %v", err)
	return ne.Message
}

func produceNode(cfg conn.Config) *Produce { return New(cfg)[0].(*Produce) }
func triggerNode(cfg conn.Config) *Trigger { return New(cfg)[1].(*Trigger) }

func quickConfig() conn.Config {
	cfg := conntest.Config()
	cfg.Timeout = 5 * time.Second
	return cfg
}

func TestProduce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ExplicitPartition", func(t *testing.T) {
		t.Parallel()
		b := setup(t, false)
		p := produceNode(quickConfig())
		part := int32(2)
		p.Credential, p.Topic, p.Value, p.Partition = b.credID, b.topic, "x", &part
		for range 3 {
			out, err := p.Execute(ctx, conntest.Input(b.creds, nil))
			require.NoError(t, err)
			require.Equal(t, int32(2), out.Value.(map[string]any)["partition"])
		}
		part = 9
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		require.Error(t, err)
	})

	t.Run("InvalidConfig", func(t *testing.T) {
		t.Parallel()
		b := setup(t, false)
		p := produceNode(quickConfig())
		p.Credential, p.Topic, p.ValueType = b.credID, b.topic, "xml"
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		requireCode(t, err, CodeInvalidConfig, true)
	})

	t.Run("Oversized", func(t *testing.T) {
		t.Parallel()
		b := setup(t, false)
		p := produceNode(quickConfig())
		p.Credential, p.Topic, p.Value, p.MaxMessageBytes = b.credID, b.topic, strings.Repeat("x", 100), 100
		p.Key = "k"
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		requireCode(t, err, CodeMessageTooLarge, true)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t, false)
		p := produceNode(quickConfig())
		p.Credential, p.Topic, p.Key = b.credID, b.topic, "customer-7"
		p.Value = map[string]any{"orderId": 42.0}
		p.Headers = map[string]string{"content-type": "application/json", "source": "test"}
		var partition int32 = -1
		for i := range 3 { // one key, one partition, increasing offsets
			out, err := p.Execute(ctx, conntest.Input(b.creds, nil))
			require.NoError(t, err)
			v := out.Value.(map[string]any)
			require.Equal(t, b.topic, v["topic"])
			require.Equal(t, int64(i), v["offset"])
			require.Equal(t, 14, v["bytes"])
			if partition >= 0 {
				require.Equal(t, partition, v["partition"])
			}
			partition = v["partition"].(int32)
		}
		c := b.raw(t, kgo.ConsumeTopics(b.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		fs := c.PollRecords(pctx, 1)
		require.NoError(t, fs.Err())
		r := fs.Records()[0]
		require.Equal(t, "customer-7", string(r.Key))
		require.JSONEq(t, `{"orderId":42}`, string(r.Value))
		require.Equal(t, partition, r.Partition)
		m := Message(r)
		require.Equal(t, map[string]any{"orderId": 42.0}, m["value"])
		require.Equal(t, map[string]any{"content-type": "application/json", "source": "test"}, m["headers"])
	})

	t.Run("SSRFBlocked", func(t *testing.T) {
		t.Parallel()
		b := setup(t, false)
		p := produceNode(conntest.StrictConfig())
		p.Credential, p.Topic, p.Value = b.credID, b.topic, "x"
		start := time.Now()
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		requireCode(t, err, conn.CodeSSRFBlocked, true)
		require.Less(t, time.Since(start), time.Second)
	})

	t.Run("UnknownTopic", func(t *testing.T) {
		t.Parallel()
		b := setup(t, false)
		p := produceNode(quickConfig())
		p.Credential, p.Topic, p.Value = b.credID, "cm-no-such-topic", "x"
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		msg := requireCode(t, err, CodeBroker, true)
		require.Contains(t, msg, "UNKNOWN_TOPIC_OR_PARTITION")
	})

	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		b := setup(t, true)
		p := produceNode(quickConfig())
		p.Credential, p.Topic, p.Value = b.credID, b.topic, "x"
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
		bad := b.creds.Add(t, CredentialType, map[string]any{"brokers": anySlice(b.cluster.ListenAddrs()),
			"mechanism": "scram-sha-256", "username": "cm", "password": "wrong-pw-X4"})
		p.Credential = bad
		_, err = p.Execute(ctx, conntest.Input(b.creds, nil))
		msg := requireCode(t, err, CodeAuthFailed, true)
		require.NotContains(t, msg, "wrong-pw-X4")

		test := Testers(quickConfig())[CredentialType]
		for id, ok := range map[string]bool{b.credID: true, bad: false} {
			cred, err := b.creds.Get(ctx, id)
			require.NoError(t, err)
			msg, err := test(ctx, cred)
			if ok {
				require.NoError(t, err)
				require.Contains(t, msg, "Connected to Kafka at 127.0.0.1:")
				require.Contains(t, msg, "as cm (SCRAM-SHA-256)")
			} else {
				requireCode(t, err, CodeAuthFailed, true)
			}
		}
		tr := triggerNode(quickConfig())
		tr.Credential, tr.Topics = bad, []string{b.topic}
		requireCode(t, tr.Listen(ctx, b.env(newRecorder())), CodeAuthFailed, true)
	})
}

// recorder is a fake ListenEnv.Fire that records the records it accepts and fails when failFunc
// says so.
type recorder struct {
	mu       sync.Mutex
	fired    []map[string]any
	counts   map[string]int
	calls    map[string]int
	failFunc func(value string, call int) bool
	changed  chan struct{}
	// holdAfter, when set, makes fire block (until its context ends) once that many distinct
	// records were fired, so that a stop lands mid-stream however fast the consumer runs.
	holdAfter int
}

func newRecorder() *recorder {
	return &recorder{counts: map[string]int{}, calls: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (r *recorder) fire(ctx context.Context, data any) error {
	m := data.(map[string]any)
	key := fmt.Sprint(m["value"])
	r.mu.Lock()
	r.calls[key]++
	fail := r.failFunc != nil && r.failFunc(key, r.calls[key])
	if !fail {
		r.fired = append(r.fired, m)
		r.counts[key]++
	}
	hold := r.holdAfter > 0 && len(r.counts) >= r.holdAfter
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
	if fail {
		return errors.New("store unavailable")
	}
	if hold {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.counts)
}

func (r *recorder) waitDistinct(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for r.distinct() < n {
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("%d distinct records fired, want %d", r.distinct(), n)
		}
	}
}

func (b *testBundle) env(r *recorder) node.ListenEnv {
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("CM_TEST_KAFKA_DEBUG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return node.ListenEnv{TenantID: "t1", WorkflowID: "w1", NodeID: "n1", Credentials: b.creds, Logger: logger, Fire: r.fire}
}

// host runs Listen like the server does: again after every error, until stop is called; stop
// returns the errors Listen returned.
func host(tr *Trigger, env node.ListenEnv) (stop func() []error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []error, 1)
	go func() {
		var errs []error
		for ctx.Err() == nil {
			if err := tr.Listen(ctx, env); err != nil {
				env.Logger.Info("Listen returned", "error", err)
				errs = append(errs, err)
			}
		}
		done <- errs
	}()
	return func() []error {
		cancel()
		return <-done
	}
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CancelMidStreamAndRestart", func(t *testing.T) {
		t.Parallel()
		b := setup(t, false)
		r := newRecorder()
		tr := triggerNode(quickConfig())
		tr.Credential, tr.Topics, tr.StartOffset = b.credID, []string{b.topic}, startEarliest
		const n = 500
		b.produceN(t, 0, n)
		r.holdAfter = 50
		stop := host(tr, b.env(r))
		r.waitDistinct(t, 50, 20*time.Second)
		require.Empty(t, stop())
		require.Less(t, r.distinct(), n, "stopped too late to be mid-stream")
		r.mu.Lock()
		r.holdAfter = 0
		r.mu.Unlock()
		stop = host(tr, b.env(r))
		r.waitDistinct(t, n, 30*time.Second)
		require.Empty(t, stop())
		for i := range n {
			require.GreaterOrEqual(t, r.counts[strconv.Itoa(i)], 1, "record %d was never fired", i)
		}
	})

	t.Run("FireFailsResumes", func(t *testing.T) {
		t.Parallel()
		b := setup(t, false)
		r := newRecorder()
		// Every seventh record fails three times in a row: the trigger gives up, the host restarts
		// it, and the group resumes from that record.
		r.failFunc = func(value string, call int) bool {
			i, err := strconv.Atoi(value)
			return err == nil && i%7 == 0 && call <= fireAttempts
		}
		tr := triggerNode(quickConfig())
		tr.Credential, tr.Topics, tr.StartOffset = b.credID, []string{b.topic}, startEarliest
		const n = 50
		b.produceN(t, 0, n)
		stop := host(tr, b.env(r))
		r.waitDistinct(t, n, 60*time.Second)
		errs := stop()
		require.NotEmpty(t, errs)
		for _, err := range errs {
			requireCode(t, err, "fire_failed", false)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for i := range n {
			key := strconv.Itoa(i)
			require.GreaterOrEqual(t, r.counts[key], 1, "record %d was never fired", i)
			if i%7 == 0 {
				require.Greater(t, r.calls[key], fireAttempts, "record %d should have been fired again", i)
			}
		}
	})

	t.Run("FiveHundredRecords", func(t *testing.T) {
		t.Parallel()
		b := setup(t, false)
		r := newRecorder()
		tr := triggerNode(quickConfig())
		tr.Credential, tr.Topics, tr.StartOffset = b.credID, []string{b.topic}, startEarliest
		const n = 500
		b.produceN(t, 0, n)
		start := time.Now()
		stop := host(tr, b.env(r))
		r.waitDistinct(t, n, 30*time.Second)
		elapsed := time.Since(start)
		require.Empty(t, stop())
		t.Logf("%d records consumed, fired one at a time and committed in %s: %.0f/s", n, elapsed, n/elapsed.Seconds())
		r.mu.Lock()
		require.Len(t, r.fired, n)
		r.mu.Unlock()
		// Everything was committed: a restart in the same group fires nothing again.
		r2 := newRecorder()
		stop = host(tr, b.env(r2))
		b.produceN(t, n, 1)
		r2.waitDistinct(t, 1, 20*time.Second)
		require.Empty(t, stop())
		require.Equal(t, map[string]int{strconv.Itoa(n): 1}, r2.counts)
	})

	t.Run("MessageShapeAndSizeLimit", func(t *testing.T) {
		t.Parallel()
		b := setup(t, false)
		r := newRecorder()
		tr := triggerNode(quickConfig())
		tr.Credential, tr.Topics, tr.StartOffset, tr.MaxMessageBytes = b.credID, []string{b.topic}, startEarliest, 1024
		ts := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		c := b.raw(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
		require.NoError(t, c.ProduceSync(ctx,
			&kgo.Record{Topic: b.topic, Partition: 0, Value: []byte(strings.Repeat("x", 2000))}, // over the limit: skipped
			&kgo.Record{Topic: b.topic, Partition: 0, Key: []byte{0xff}, Value: []byte(`{"a": 1}`), Timestamp: ts,
				Headers: []kgo.RecordHeader{{Key: "content-type", Value: []byte("text/plain")}}},
			&kgo.Record{Topic: b.topic, Partition: 0, Key: []byte("gone")}, // a tombstone
		).FirstErr())
		stop := host(tr, b.env(r))
		r.waitDistinct(t, 2, 20*time.Second)
		require.Empty(t, stop())
		r.mu.Lock()
		defer r.mu.Unlock()
		require.Len(t, r.fired, 2)
		partition := r.fired[0]["partition"]
		require.Equal(t, map[string]any{"topic": b.topic, "partition": partition, "offset": int64(1), "key": "/w==", "keyEncoding": "base64",
			"value": `{"a": 1}`, "valueEncoding": "text", "headers": map[string]any{"content-type": "text/plain"},
			"timestamp": "2026-12-01T09:00:00Z"}, r.fired[0])
		require.Nil(t, r.fired[1]["value"])
		require.Equal(t, "gone", r.fired[1]["key"])
	})

	t.Run("SSRFBlocked", func(t *testing.T) {
		t.Parallel()
		b := setup(t, false)
		tr := triggerNode(conntest.StrictConfig())
		tr.Credential, tr.Topics = b.credID, []string{b.topic}
		requireCode(t, tr.Listen(ctx, b.env(newRecorder())), conn.CodeSSRFBlocked, true)
	})
}
