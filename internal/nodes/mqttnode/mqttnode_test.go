package mqttnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

type testBundle struct {
	creds  *conntest.Credentials
	credID string
	data   map[string]any
	addr   string
	prefix string // a unique topic prefix
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	u := conntest.ServerURL(t, "CM_TEST_MQTT_URL", "127.0.0.1:1883")
	pu, err := url.Parse(u)
	require.NoError(t, err)
	port, err := strconv.Atoi(pu.Port())
	require.NoError(t, err)
	data := map[string]any{"host": pu.Hostname(), "port": port, "clientId": "cm-test"}
	creds := conntest.NewCredentials()
	id := creds.Add(t, CredentialType, data)
	return &testBundle{creds: creds, credID: id, data: data, addr: pu.Host, prefix: "cm-test/" + randomID()}
}

// rawClient connects a plain client to the broker; received messages go to the returned channel.
func (b *testBundle) rawClient(t *testing.T, subscribe string) (*paho.Client, <-chan *paho.Publish) {
	t.Helper()
	var dialer net.Dialer
	nc, err := dialer.DialContext(context.Background(), "tcp", b.addr)
	require.NoError(t, err)
	msgs := make(chan *paho.Publish, 1000)
	c := paho.NewClient(paho.ClientConfig{Conn: nc, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) { msgs <- pr.Packet; return true, nil }}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.Connect(ctx, &paho.Connect{ClientID: "cm-raw-" + randomID(), CleanStart: true, KeepAlive: 30})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	if subscribe != "" {
		_, err = c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: subscribe, QoS: 2}}})
		require.NoError(t, err)
	}
	return c, msgs
}

func receive(t *testing.T, msgs <-chan *paho.Publish) *paho.Publish {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message received")
		return nil
	}
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

func publishNode(cfg conn.Config) *Publish { return New(cfg)[0].(*Publish) }
func triggerNode(cfg conn.Config) *Trigger { return New(cfg)[1].(*Trigger) }

// authBroker starts a Mosquitto of the test's own that requires user "cm" with password "right-pw",
// and returns its port. Skipped where Mosquitto is not installed, unless CI said it is.
func authBroker(t *testing.T) int {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if os.Getenv("CM_TEST_MQTT_URL") != "" {
			t.Fatalf("CM_TEST_MQTT_URL is set but the mosquitto binary is not on PATH: %v", err)
		}
		t.Skip("mosquitto is not installed")
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	require.NoError(t, exec.CommandContext(context.Background(), "mosquitto_passwd", "-b", "-c", pw, "cm", "right-pw").Run())
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	conf := filepath.Join(dir, "mosquitto.conf")
	require.NoError(t, os.WriteFile(conf, fmt.Appendf(nil,
		"user root\nlistener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\npersistence false\nlog_dest none\n", port, pw), 0o600))
	cmd := exec.CommandContext(context.Background(), bin, "-c", conf)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(t, func() bool {
		var dialer net.Dialer
		c, err := dialer.DialContext(context.Background(), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "mosquitto did not start")
	return port
}

func intp(i int) *int { return &i }

func TestPublish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ConnectionLostRedials", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		topic := b.prefix + "/redial"
		_, msgs := b.rawClient(t, topic)
		p := publishNode(conntest.Config())
		p.Credential, p.Topic, p.Payload = b.credID, topic, "one"
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
		cl, release, err := p.shared.cache.Acquire(ctx, b.credID+"/1", func(context.Context) (*client, error) { panic("not cached") })
		require.NoError(t, err)
		cl.mu.Lock()
		_ = cl.pc.Disconnect(&paho.Disconnect{}) // as a network failure would
		pc := cl.pc
		cl.mu.Unlock()
		<-pc.Done()
		release()
		p.Payload = "two"
		_, err = p.Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
		require.Equal(t, "one", string(receive(t, msgs).Payload))
		require.Equal(t, "two", string(receive(t, msgs).Payload))
	})

	t.Run("InvalidConfig", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, tt := range []struct {
			name string
			edit func(p *Publish)
		}{
			{"QoS", func(p *Publish) { p.QoS = intp(3) }},
			{"Wildcard", func(p *Publish) { p.Topic = "a/+/b" }},
		} {
			p := publishNode(conntest.Config())
			p.Credential, p.Topic = b.credID, b.prefix
			tt.edit(p)
			require.Error(t, p.Validate(), tt.name)
			_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
			requireCode(t, err, CodeInvalidConfig, true)
		}
	})

	t.Run("Oversized", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := publishNode(conntest.Config())
		p.Credential, p.Topic, p.Payload, p.MaxMessageBytes = b.credID, b.prefix, strings.Repeat("x", 101), 100
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		requireCode(t, err, CodeMessageTooLarge, true)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		topic := b.prefix + "/rt"
		_, msgs := b.rawClient(t, topic)
		for qos := range 3 {
			p := publishNode(conntest.Config())
			p.Credential, p.Topic, p.QoS = b.credID, topic, intp(qos)
			p.Payload = map[string]any{"qos": float64(qos)}
			p.UserProperties = map[string]string{"source": "test"}
			out, err := p.Execute(ctx, conntest.Input(b.creds, nil))
			require.NoError(t, err)
			require.Equal(t, map[string]any{"topic": topic, "qos": qos, "retain": false, "bytes": 9, "reasonCode": 0}, out.Value)
			m := receive(t, msgs)
			require.JSONEq(t, fmt.Sprintf(`{"qos":%d}`, qos), string(m.Payload))
			require.Equal(t, byte(qos), m.QoS)
			require.Equal(t, "application/json", m.Properties.ContentType)
			require.Equal(t, "test", m.Properties.User.Get("source"))
			msg := Message(m)
			require.Equal(t, map[string]any{"qos": float64(qos)}, msg["payload"])
		}
	})

	t.Run("Retained", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		topic := b.prefix + "/retained"
		p := publishNode(conntest.Config())
		p.Credential, p.Topic, p.Payload, p.Retain = b.credID, topic, "last", true
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
		t.Cleanup(func() { // clear the retained message
			p.Payload, p.Retain = nil, true
			_, _ = p.Execute(ctx, conntest.Input(b.creds, nil))
		})
		_, msgs := b.rawClient(t, topic) // subscribes after the publish
		m := receive(t, msgs)
		require.Equal(t, "last", string(m.Payload))
		require.True(t, m.Retain)
	})

	t.Run("SSRFBlocked", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := publishNode(conntest.StrictConfig())
		p.Credential, p.Topic, p.Payload = b.credID, b.prefix, "x"
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		requireCode(t, err, conn.CodeSSRFBlocked, true)
	})

	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		port := authBroker(t)
		good := b.creds.Add(t, CredentialType, map[string]any{"host": "127.0.0.1", "port": port, "username": "cm", "password": "right-pw"})
		bad := b.creds.Add(t, CredentialType, map[string]any{"host": "127.0.0.1", "port": port, "username": "cm", "password": "wrong-pw-K2"})
		p := publishNode(conntest.Config())
		p.Credential, p.Topic, p.Payload = good, "t", "x"
		_, err := p.Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
		p.Credential = bad
		_, err = p.Execute(ctx, conntest.Input(b.creds, nil))
		msg := requireCode(t, err, CodeAuthFailed, true)
		require.NotContains(t, msg, "wrong-pw-K2")

		test := Testers(conntest.Config())[CredentialType]
		for id, ok := range map[string]bool{good: true, bad: false} {
			cred, err := b.creds.Get(ctx, id)
			require.NoError(t, err)
			msg, err := test(ctx, cred)
			if ok {
				require.NoError(t, err)
				require.Contains(t, msg, "Connected to the MQTT broker at 127.0.0.1:"+strconv.Itoa(port)+" (MQTT 5) as cm")
			} else {
				requireCode(t, err, CodeAuthFailed, true)
			}
		}
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Topic = bad, "t/#"
		requireCode(t, tr.Listen(ctx, b.env(newRecorder())), CodeAuthFailed, true)
	})
}

// recorder is a fake ListenEnv.Fire that records the messages it accepts and fails when failFunc
// says so.
type recorder struct {
	mu       sync.Mutex
	fired    []map[string]any
	counts   map[string]int
	calls    map[string]int
	failFunc func(payload string, call int) bool
	changed  chan struct{}
}

func newRecorder() *recorder {
	return &recorder{counts: map[string]int{}, calls: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (r *recorder) fire(_ context.Context, data any) error {
	m := data.(map[string]any)
	key := fmt.Sprint(m["payload"])
	r.mu.Lock()
	r.calls[key]++
	fail := r.failFunc != nil && r.failFunc(key, r.calls[key])
	if !fail {
		r.fired = append(r.fired, m)
		r.counts[key]++
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
			t.Fatalf("%d distinct messages fired, want %d", r.distinct(), n)
		}
	}
}

func (b *testBundle) env(r *recorder) node.ListenEnv {
	return node.ListenEnv{TenantID: "t1", WorkflowID: "w-" + b.prefix, NodeID: "n1", Credentials: b.creds,
		Logger: testLogger(), Fire: r.fire}
}

// host runs Listen like the server does: again after every error, until stop is called; stop
// returns the errors Listen returned.
func host(ctx context.Context, tr *Trigger, env node.ListenEnv) (stop func() []error) {
	ctx, cancel := context.WithCancel(ctx)
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

// publishN publishes the payloads 0…n-1 at QoS 1 to topic.
func (b *testBundle) publishN(t *testing.T, topic string, from, n int) {
	t.Helper()
	c, _ := b.rawClient(t, "")
	for i := from; i < from+n; i++ {
		_, err := c.Publish(context.Background(), &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(strconv.Itoa(i))})
		require.NoError(t, err)
	}
}

// subscribed starts the trigger once and waits until it receives a probe, so that its session
// exists on the broker.
func (b *testBundle) subscribed(t *testing.T, tr *Trigger, r *recorder, topic string) (stop func() []error) {
	t.Helper()
	stop = host(context.Background(), tr, b.env(r))
	c, _ := b.rawClient(t, "")
	deadline := time.Now().Add(10 * time.Second)
	for r.distinct() == 0 {
		require.True(t, time.Now().Before(deadline), "the trigger never received the probe")
		_, err := c.Publish(context.Background(), &paho.Publish{Topic: topic, QoS: 1, Payload: []byte("probe")})
		require.NoError(t, err)
		select {
		case <-r.changed:
		case <-time.After(200 * time.Millisecond):
		}
	}
	return stop
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CancelMidStreamAndRestart", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		topic := b.prefix + "/cancel"
		r := newRecorder()
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Topic, tr.SessionExpiry = b.credID, topic, "5m"
		stop := b.subscribed(t, tr, r, topic)
		const n = 500
		c, _ := b.rawClient(t, "")
		published := make(chan error, 1)
		go func() { // publishing goes on while the trigger is stopped and restarted
			for i := range n {
				if _, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(strconv.Itoa(i))}); err != nil {
					published <- err
					return
				}
			}
			published <- nil
		}()
		r.waitDistinct(t, 100, 20*time.Second)
		require.Empty(t, stop())
		require.Less(t, r.distinct(), n+1, "stopped too late to be mid-stream")
		stop = host(ctx, tr, b.env(r))
		require.NoError(t, <-published)
		r.waitDistinct(t, n+1, 30*time.Second) // with the probe
		require.Empty(t, stop())
		for i := range n {
			require.GreaterOrEqual(t, r.counts[strconv.Itoa(i)], 1, "message %d was never fired", i)
		}
	})

	t.Run("FireFailsRedelivered", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		topic := b.prefix + "/fail"
		r := newRecorder()
		// Every seventh message fails three times in a row: the trigger gives up, the host restarts
		// it, and the broker redelivers the message.
		r.failFunc = func(payload string, call int) bool {
			i, err := strconv.Atoi(payload)
			return err == nil && i%7 == 0 && call <= fireAttempts
		}
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Topic, tr.SessionExpiry = b.credID, topic, "5m"
		stop := b.subscribed(t, tr, r, topic)
		const n = 50
		b.publishN(t, topic, 0, n)
		r.waitDistinct(t, n+1, 30*time.Second)
		errs := stop()
		require.NotEmpty(t, errs)
		for _, err := range errs {
			requireCode(t, err, "fire_failed", false)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for i := range n {
			key := strconv.Itoa(i)
			require.GreaterOrEqual(t, r.counts[key], 1, "message %d was never fired", i)
			if i%7 == 0 {
				require.Greater(t, r.calls[key], fireAttempts, "message %d should have been redelivered", i)
			}
		}
	})

	t.Run("FiveHundredMessages", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		topic := b.prefix + "/500"
		r := newRecorder()
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Topic, tr.SessionExpiry = b.credID, topic, "5m"
		stop := b.subscribed(t, tr, r, topic)
		const n = 500
		start := time.Now()
		b.publishN(t, topic, 0, n)
		r.waitDistinct(t, n+1, 30*time.Second)
		t.Logf("%d QoS 1 messages published one by one, fired and acknowledged in %s: %.0f/s", n, time.Since(start), n/time.Since(start).Seconds())
		require.Empty(t, stop())
		r.mu.Lock()
		defer r.mu.Unlock()
		require.Len(t, r.fired, n+1)
		for i, m := range r.fired[1:] {
			require.Equal(t, float64(i), m["payload"], "in order")
			require.Equal(t, topic, m["topic"])
			require.Equal(t, 1, m["qos"])
		}
	})

	t.Run("MessageShapeAndSizeLimit", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		topic := b.prefix + "/shape"
		r := newRecorder()
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Topic, tr.MaxMessageBytes, tr.SessionExpiry = b.credID, b.prefix+"/+", 1024, "5m"
		stop := b.subscribed(t, tr, r, topic)
		c, _ := b.rawClient(t, "")
		// Over the maximum packet size the trigger announced: the broker drops it for this subscriber.
		_, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(strings.Repeat("x", 200<<10))})
		require.NoError(t, err)
		props := &paho.PublishProperties{ContentType: "text/plain", ResponseTopic: "replies", CorrelationData: []byte("corr")}
		props.User.Add("k", "v")
		_, err = c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(`{"a": 1}`), Properties: props})
		require.NoError(t, err)
		r.waitDistinct(t, 2, 10*time.Second)
		require.Empty(t, stop())
		r.mu.Lock()
		defer r.mu.Unlock()
		require.Len(t, r.fired, 2)
		require.Equal(t, map[string]any{"topic": topic, "payload": `{"a": 1}`, "payloadEncoding": "text", "qos": 1, "retain": false,
			"contentType": "text/plain", "responseTopic": "replies", "correlationData": "corr", "userProperties": map[string]any{"k": "v"}}, r.fired[1])
	})

	t.Run("PersistentSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		topic := b.prefix + "/away"
		r := newRecorder()
		tr := triggerNode(conntest.Config())
		tr.Credential, tr.Topic, tr.SessionExpiry = b.credID, topic, "5m"
		stop := b.subscribed(t, tr, r, topic)
		require.Empty(t, stop())
		const n = 50
		b.publishN(t, topic, 0, n) // while the trigger is away
		stop = host(ctx, tr, b.env(r))
		r.waitDistinct(t, n+1, 20*time.Second)
		require.Empty(t, stop())
	})

	t.Run("SSRFBlocked", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tr := triggerNode(conntest.StrictConfig())
		tr.Credential, tr.Topic = b.credID, "x"
		requireCode(t, tr.Listen(ctx, b.env(newRecorder())), conn.CodeSSRFBlocked, true)
	})
}

func testLogger() *slog.Logger {
	if os.Getenv("CM_TEST_MQTT_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}
