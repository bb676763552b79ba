package natsnode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

// testBundle is what a test against the real NATS server needs.
type testBundle struct {
	creds  *conntest.Credentials
	credID string
	host   string
	port   int
	cfg    conn.Config
	// raw is a plain connection to prepare and check things; js its JetStream.
	raw *nats.Conn
	js  jetstream.JetStream
	// suffix makes the test's subjects and streams unique.
	suffix string
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	u, err := url.Parse(conntest.ServerURL(t, "CM_TEST_NATS_URL", "127.0.0.1:4222"))
	require.NoError(t, err)
	port := 4222
	if u.Port() != "" {
		port, err = strconv.Atoi(u.Port())
		require.NoError(t, err)
	}
	b := &testBundle{creds: conntest.NewCredentials(), host: u.Hostname(), port: port, cfg: conntest.Config(), suffix: randomSuffix(t)}
	b.credID = b.creds.Add(t, "nats", map[string]any{"host": b.host, "port": float64(port)})
	b.raw, err = nats.Connect(u.String())
	require.NoError(t, err)
	t.Cleanup(b.raw.Close)
	b.js, err = jetstream.New(b.raw)
	require.NoError(t, err)
	return b
}

func randomSuffix(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return hex.EncodeToString(b[:])
}

// stream creates a stream of its own for the test, capturing cmtest.<suffix>.>, deleted after.
func (b *testBundle) stream(t testing.TB) (name, subjects string) {
	t.Helper()
	name = "CMTEST_" + strings.ToUpper(b.suffix)
	subjects = "cmtest." + b.suffix
	_, err := b.js.CreateStream(context.Background(), jetstream.StreamConfig{Name: name, Subjects: []string{subjects + ".>"}, Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.js.DeleteStream(context.Background(), name) })
	return name, subjects
}

// instantiate checks config against n's schema and returns a node holding it.
func instantiate(t testing.TB, n node.Node, config map[string]any) node.Node {
	t.Helper()
	r := node.NewRegistry()
	require.NoError(t, r.Register(n))
	typ, ok := r.Lookup(n.NodeInfo().Type)
	require.True(t, ok)
	out, err := typ.Instantiate(config, false)
	require.NoError(t, err)
	return out
}

func (b *testBundle) exec(t *testing.T, n node.Node, config map[string]any) (map[string]any, error) {
	t.Helper()
	if _, ok := config["credential"]; !ok {
		config["credential"] = b.credID
	}
	out, err := instantiate(t, n, config).Execute(context.Background(), conntest.Input(b.creds, nil))
	if err != nil {
		return nil, err
	}
	return out.Value.(map[string]any), nil
}

func errCode(t *testing.T, err error) string {
	t.Helper()
	require.Error(t, err)
	var ne *node.Error
	require.ErrorAs(t, err, &ne, "%v", err)
	return ne.Code
}

func TestPublish(t *testing.T) {
	t.Parallel()

	t.Run("Core", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		subject := "cmtest." + b.suffix + ".core"
		sub, err := b.raw.SubscribeSync(subject)
		require.NoError(t, err)
		require.NoError(t, b.raw.Flush())
		s := newShared(b.cfg)
		out, err := b.exec(t, &Publish{shared: s}, map[string]any{"subject": subject, "payload": map[string]any{"id": 7.0}, "headers": map[string]any{"X-Trace": "abc"}})
		require.NoError(t, err)
		require.Equal(t, map[string]any{"subject": subject, "bytes": 8}, out)
		msg, err := sub.NextMsg(5 * time.Second)
		require.NoError(t, err)
		require.JSONEq(t, `{"id":7}`, string(msg.Data))
		require.Equal(t, "abc", msg.Header.Get("X-Trace"))
		out, err = b.exec(t, &Publish{shared: s}, map[string]any{"subject": subject, "payload": "plain text"})
		require.NoError(t, err)
		require.Equal(t, 10, out["bytes"])
		msg, err = sub.NextMsg(5 * time.Second)
		require.NoError(t, err)
		require.Equal(t, "plain text", string(msg.Data))
		require.Equal(t, 1, s.conns.Len(), "one connection per credential")

		// A shared connection closed for good is replaced.
		nc, _, release, err := s.conn(context.Background(), &node.Credential{ID: b.credID, Fingerprint: "1"})
		require.NoError(t, err)
		release()
		nc.Close()
		out, err = b.exec(t, &Publish{shared: s}, map[string]any{"subject": subject, "payload": "after close"})
		require.NoError(t, err)
		require.Equal(t, 11, out["bytes"])
		msg, err = sub.NextMsg(5 * time.Second)
		require.NoError(t, err)
		require.Equal(t, "after close", string(msg.Data))
	})

	t.Run("JetStream", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		stream, subjects := b.stream(t)
		s := newShared(b.cfg)
		config := func() map[string]any {
			return map[string]any{"subject": subjects + ".a", "payload": "x", "jetstream": true, "messageId": "m-1"}
		}
		out, err := b.exec(t, &Publish{shared: s}, config())
		require.NoError(t, err)
		require.Equal(t, map[string]any{"subject": subjects + ".a", "bytes": 1, "stream": stream, "sequence": uint64(1), "duplicate": false}, out)
		out, err = b.exec(t, &Publish{shared: s}, config())
		require.NoError(t, err)
		require.Equal(t, true, out["duplicate"], "the same message id is stored once")

		_, err = b.exec(t, &Publish{shared: s}, map[string]any{"subject": "cmtest.nostream." + b.suffix, "payload": "x", "jetstream": true, "timeout": "2s"})
		require.Equal(t, CodeJetStream, errCode(t, err))
		require.Contains(t, err.Error(), "no stream captures")
	})

	t.Run("LoopbackRefusedByStrictPolicy", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, n := range []node.Node{&Publish{shared: newShared(conntest.StrictConfig())}, &Request{shared: newShared(conntest.StrictConfig())}} {
			_, err := b.exec(t, n, map[string]any{"subject": "cmtest.x"})
			require.Equal(t, conn.CodeSSRFBlocked, errCode(t, err))
			require.True(t, node.IsPermanent(err))
		}
		_, err := Testers(conntest.StrictConfig())["nats"](context.Background(), &node.Credential{ID: "x", Type: "nats", Data: map[string]any{"host": b.host, "port": b.port}})
		require.Equal(t, conn.CodeSSRFBlocked, errCode(t, err))
		trig := instantiate(t, &Trigger{shared: newShared(conntest.StrictConfig())}, map[string]any{"credential": b.credID, "stream": "S", "durable": "d"}).(*Trigger)
		err = trig.Listen(context.Background(), node.ListenEnv{Credentials: b.creds, Fire: newRecorder().fire})
		require.Equal(t, conn.CodeSSRFBlocked, errCode(t, err))
	})

	t.Run("PayloadTooLarge", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.exec(t, &Publish{shared: newShared(b.cfg)}, map[string]any{"subject": "cmtest.big", "payload": strings.Repeat("x", int(b.raw.MaxPayload())+1)})
		require.Equal(t, CodePayloadTooLarge, errCode(t, err))
		require.True(t, node.IsPermanent(err))
	})

	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name   string
			config map[string]any
			want   string
		}{
			{"EmptyToken", map[string]any{"subject": "a..b"}, "empty token"},
			{"MessageIDWithoutJetStream", map[string]any{"subject": "a", "messageId": "x"}, "messageId"},
			{"BadHeader", map[string]any{"subject": "a", "headers": map[string]any{"X-A": "1\r\nX-B: 2"}}, "line break"},
			{"Whitespace", map[string]any{"subject": "a b"}, "whitespace"},
			{"Wildcard", map[string]any{"subject": "orders.*"}, "wildcard"},
		}
		r := node.NewRegistry()
		require.NoError(t, r.Register(&Publish{shared: newShared(conntest.Config())}))
		typ, _ := r.Lookup(PublishType)
		for _, tt := range tests {
			tt.config["credential"] = "c"
			_, err := typ.Instantiate(tt.config, false)
			require.ErrorContains(t, err, tt.want, tt.name)
		}
	})

	t.Run("Tester", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		msg, err := Testers(b.cfg)["nats"](context.Background(), &node.Credential{ID: "x", Type: "nats", Data: map[string]any{"host": b.host, "port": b.port}})
		require.NoError(t, err)
		require.Regexp(t, `^Connected to NATS 2\.\d+\.\d+ at 127\.0\.0\.1:\d+, JetStream available$`, msg)
	})

	t.Run("WrongPasswordIsPermanent", func(t *testing.T) {
		t.Parallel()
		bin, err := exec.LookPath("nats-server")
		if err != nil {
			t.Skip("nats-server is not installed: this test starts one with a password")
		}
		ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		require.NoError(t, ln.Close())
		cmd := exec.CommandContext(t.Context(), bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "--user", "app", "--pass", "right-password")
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		require.Eventually(t, func() bool {
			c, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err == nil {
				_ = c.Close()
			}
			return err == nil
		}, 10*time.Second, 20*time.Millisecond)

		creds := conntest.NewCredentials()
		s := newShared(conntest.Config())
		good := creds.Add(t, "nats", map[string]any{"host": "127.0.0.1", "port": float64(port), "username": "app", "password": "right-password"})
		_, err = instantiate(t, &Publish{shared: s}, map[string]any{"credential": good, "subject": "a.b", "payload": "x"}).Execute(context.Background(), conntest.Input(creds, nil))
		require.NoError(t, err)
		bad := creds.Add(t, "nats", map[string]any{"host": "127.0.0.1", "port": float64(port), "username": "app", "password": "wrong-password"})
		_, err = instantiate(t, &Publish{shared: s}, map[string]any{"credential": bad, "subject": "a.b", "payload": "x"}).Execute(context.Background(), conntest.Input(creds, nil))
		require.Equal(t, CodeAuthFailed, errCode(t, err))
		require.True(t, node.IsPermanent(err))
		require.NotContains(t, err.Error(), "wrong-password")
	})
}

func TestRequest(t *testing.T) {
	t.Parallel()

	t.Run("NoResponders", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		start := time.Now()
		_, err := b.exec(t, &Request{shared: newShared(b.cfg)}, map[string]any{"subject": "cmtest." + b.suffix + ".nobody", "timeout": "2s"})
		require.Equal(t, CodeNoResponders, errCode(t, err))
		require.False(t, node.IsPermanent(err))
		require.Less(t, time.Since(start), 2*time.Second)
	})

	t.Run("Replies", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		subject := "cmtest." + b.suffix + ".echo"
		sub, err := b.raw.Subscribe(subject, func(m *nats.Msg) {
			reply := nats.NewMsg(m.Reply)
			reply.Header.Set("X-Seen", m.Header.Get("X-Id"))
			if string(m.Data) == "text" {
				reply.Data = []byte("plain answer")
			} else {
				reply.Data = append([]byte(`{"echo":`), append(m.Data, '}')...)
			}
			_ = m.RespondMsg(reply)
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = sub.Unsubscribe() })
		require.NoError(t, b.raw.Flush())
		s := newShared(b.cfg)
		out, err := b.exec(t, &Request{shared: s}, map[string]any{"subject": subject, "payload": map[string]any{"n": 1.0}, "headers": map[string]any{"X-Id": "42"}})
		require.NoError(t, err)
		require.Equal(t, map[string]any{"subject": subject, "data": map[string]any{"echo": map[string]any{"n": 1.0}}, "encoding": "json", "headers": map[string]any{"X-Seen": "42"}, "bytes": 16}, out)
		out, err = b.exec(t, &Request{shared: s}, map[string]any{"subject": subject, "payload": "text"})
		require.NoError(t, err)
		require.Equal(t, "plain answer", out["data"])
		_, err = b.exec(t, &Request{shared: s}, map[string]any{"subject": subject, "payload": strings.Repeat("x", 100), "maxResponseBytes": 50.0})
		require.Equal(t, CodeResponseTooLarge, errCode(t, err))
	})

	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		subject := "cmtest." + b.suffix + ".silent"
		sub, err := b.raw.SubscribeSync(subject) // subscribes, never answers
		require.NoError(t, err)
		t.Cleanup(func() { _ = sub.Unsubscribe() })
		require.NoError(t, b.raw.Flush())
		start := time.Now()
		_, err = b.exec(t, &Request{shared: newShared(b.cfg)}, map[string]any{"subject": subject, "timeout": "300ms"})
		require.Equal(t, CodeTimeout, errCode(t, err))
		require.False(t, node.IsPermanent(err))
		require.Less(t, time.Since(start), 3*time.Second)
	})
}

// recorder is a fake ListenEnv.Fire: it records every call and every execution it "queued", by
// stream sequence (or data, in core mode).
type recorder struct {
	mu        sync.Mutex
	calls     map[string]int
	fired     map[string]int
	last      map[string]any
	failFunc  func(key string, call int) bool
	afterFunc func(n int)
	n         int
}

func newRecorder() *recorder {
	return &recorder{calls: map[string]int{}, fired: map[string]int{}}
}

func (r *recorder) fire(ctx context.Context, data any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m := data.(map[string]any)
	key, ok := m["sequence"]
	if !ok {
		key = m["data"]
	}
	k := strings.TrimSpace(strings.Trim(strconv.Quote(toString(key)), `"`))
	r.mu.Lock()
	r.calls[k]++
	if r.failFunc != nil && r.failFunc(k, r.calls[k]) {
		r.mu.Unlock()
		return errors.New("store unavailable")
	}
	r.fired[k]++
	r.last = m
	r.n++
	n, after := r.n, r.afterFunc
	r.mu.Unlock()
	if after != nil {
		after(n)
	}
	return nil
}

func toString(v any) string {
	switch t := v.(type) {
	case uint64:
		return strconv.FormatUint(t, 10)
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return ""
}

func (r *recorder) unique() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.fired)
}

func (r *recorder) snapshot() (calls, fired map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls, fired = map[string]int{}, map[string]int{}
	for k, v := range r.calls {
		calls[k] = v
	}
	for k, v := range r.fired {
		fired[k] = v
	}
	return calls, fired
}
