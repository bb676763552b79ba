package cluster

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/cache"
	"github.com/concertmaster/concertmaster/internal/cluster/clustertest"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/store"
)

// events is an EventReader over a fixed set of events, standing in for the store.
type events struct {
	mu  sync.Mutex
	evs map[string][]store.Event // by tenant and execution
}

func (e *events) add(tenantID string, ev store.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.evs == nil {
		e.evs = map[string][]store.Event{}
	}
	e.evs[tenantID+"/"+ev.ExecutionID] = append(e.evs[tenantID+"/"+ev.ExecutionID], ev)
}

func (e *events) ListEvents(_ context.Context, tenantID, executionID string, afterSeq int64, limit int) ([]store.Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []store.Event
	for _, ev := range e.evs[tenantID+"/"+executionID] {
		if ev.Seq > afterSeq && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

// node is one process's side of the link: its hub, its cluster, and the cancels and invalidations it
// received.
type node struct {
	hub     *event.Hub
	c       *Cluster
	cancels chan store.ExecutionRef
	invals  chan cache.Invalidation
}

type testBundle struct {
	url, prefix string
	store       *events
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	return &testBundle{url: clustertest.RedisURL(t), prefix: clustertest.Prefix(), store: &events{}}
}

// start starts a process linked through url (the bundle's when empty).
func (b *testBundle) start(t *testing.T, id, rawURL string, withEvents bool) *node {
	t.Helper()
	if rawURL == "" {
		rawURL = b.url
	}
	n := &node{hub: event.NewHub(), cancels: make(chan store.ExecutionRef, 16), invals: make(chan cache.Invalidation, 64)}
	c, err := New(Config{URL: rawURL, Prefix: b.prefix, ProcessID: id, Hub: n.hub, Store: b.store,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, PingInterval: 500 * time.Millisecond, Timeout: time.Second,
		CancelFunc:     func(ref store.ExecutionRef) bool { n.cancels <- ref; return true },
		InvalidateFunc: func(inv cache.Invalidation) { n.invals <- inv }})
	require.NoError(t, err)
	n.c = c
	c.Start(withEvents)
	t.Cleanup(func() {
		require.NoError(t, c.Close())
		n.hub.Close()
	})
	return n
}

func waitUp(t *testing.T, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		require.Eventually(t, n.c.Up, 10*time.Second, 5*time.Millisecond, "the cluster never connected")
	}
}

func message(exec string, seq int64, typ string, data string) *event.Message {
	m := &event.Message{TenantID: "t1", WorkflowID: "w1", Event: store.Event{ExecutionID: exec, Seq: seq, Type: typ, NodeID: "n1", Attempt: 1,
		Time: time.Now().UTC().Truncate(time.Microsecond)}}
	if data != "" {
		m.Event.Data = json.RawMessage(data)
	}
	return m
}

// next returns the next message of sub, failing after a generous deadline.
func next(t *testing.T, sub *event.Subscription) *event.Message {
	t.Helper()
	select {
	case m := <-sub.C:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
		return nil
	}
}

func TestEventsReachTheOtherProcessesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	api1, api2, worker := b.start(t, "api1", "", true), b.start(t, "api2", "", true), b.start(t, "worker", "", false)
	waitUp(t, api1, api2, worker)
	subs := map[string]*event.Subscription{}
	for name, n := range map[string]*node{"api1": api1, "api2": api2, "worker": worker} {
		subs[name] = n.hub.Subscribe(event.Filter{TenantID: "t1", ExecutionID: "x1"}, 16)
		defer subs[name].Close()
	}

	sent := message("x1", 1, "node.succeeded", `{"port":"out","durationMs":3}`)
	worker.c.Publish(sent)
	marker := message("x1", 2, "execution.finished", `{"status":"succeeded"}`)
	worker.c.Publish(marker)

	require.Same(t, sent, next(t, subs["worker"]), "the publisher's own hub gets the message itself")
	require.Same(t, marker, next(t, subs["worker"]))
	for _, name := range []string{"api1", "api2"} {
		got := next(t, subs[name])
		require.Equal(t, sent.Event, got.Event, name)
		require.Equal(t, "w1", got.WorkflowID)
		require.JSONEq(t, string(sent.JSON()), string(got.JSON()))
		require.Equal(t, int64(2), next(t, subs[name]).Event.Seq, "%s: no duplicate before the marker", name)
	}
	// api1's own publish reaches api1's hub once, not again through Redis.
	api1.c.Publish(message("x1", 3, "node.log", ""))
	api1.c.Publish(message("x1", 4, "node.log", ""))
	require.Equal(t, int64(3), next(t, subs["api1"]).Event.Seq)
	require.Equal(t, int64(4), next(t, subs["api1"]).Event.Seq)
	require.Equal(t, int64(3), next(t, subs["api2"]).Event.Seq)

	require.Eventually(t, func() bool { return api2.c.Stats().Received == 4 }, 5*time.Second, 5*time.Millisecond)
	require.Zero(t, worker.c.Stats().Received, "a worker does not subscribe to events")
	// The publisher counts a batch once Redis has replied, which can come after the subscribers got it.
	require.Eventually(t, func() bool { return worker.c.Stats().Published == 2 }, 5*time.Second, 5*time.Millisecond,
		"worker stats: %+v", worker.c.Stats())
	require.Zero(t, api2.c.Stats().Dropped)
}

func TestLargeEventTravelsWithoutItsData(t *testing.T) {
	t.Parallel()
	b := setup(t)
	worker, api := b.start(t, "worker", "", false), b.start(t, "api", "", true)
	waitUp(t, worker, api)
	sub := api.hub.Subscribe(event.Filter{TenantID: "t1", ExecutionID: "x2"}, 16)
	defer sub.Close()

	big := message("x2", 1, "execution.responded", `{"status":200,"body":"`+strings.Repeat("a", MaxMessageBytes)+`"}`)
	b.store.add("t1", big.Event)
	worker.c.Publish(big)
	// An event announced but not in the store is dropped, and the next one still arrives.
	missing := message("x2", 2, "node.log", `{"message":"`+strings.Repeat("b", MaxMessageBytes)+`"}`)
	worker.c.Publish(missing)
	worker.c.Publish(message("x2", 3, "execution.finished", `{}`))

	got := next(t, sub)
	require.Equal(t, big.Event.Data, got.Event.Data, "the receiver read the data from the store")
	require.Equal(t, int64(3), next(t, sub).Event.Seq)
	require.Equal(t, int64(1), api.c.Stats().Dropped)
}

func TestMalformedMessagesAreIgnored(t *testing.T) {
	t.Parallel()
	b := setup(t)
	api := b.start(t, "api", "", true)
	waitUp(t, api)
	sub := api.hub.Subscribe(event.Filter{TenantID: "t1", ExecutionID: "x3"}, 16)
	defer sub.Close()
	opts, err := Options(b.url, 0)
	require.NoError(t, err)
	raw := redis.NewClient(opts)
	defer func() { _ = raw.Close() }()

	ctx := context.Background()
	bad := []struct{ name, channel, payload string }{
		{"NotJSON", "events", `{"v":1,`},
		{"Binary", "events", "\x00\xff\xfe"},
		{"WrongVersion", "events", `{"v":2,"k":"e","o":"p","t":"t1","x":"x3","s":1,"y":"node.log"}`},
		{"UnknownKind", "events", `{"v":1,"k":"z","o":"p","t":"t1","x":"x3"}`},
		{"NoTenant", "events", `{"v":1,"k":"e","o":"p","x":"x3","s":1,"y":"node.log"}`},
		{"NoSeq", "events", `{"v":1,"k":"e","o":"p","t":"t1","x":"x3","y":"node.log"}`},
		{"NegativeAttempt", "events", `{"v":1,"k":"e","o":"p","t":"t1","x":"x3","s":1,"y":"node.log","a":-1}`},
		{"LongID", "events", `{"v":1,"k":"e","o":"p","t":"t1","x":"` + strings.Repeat("x", 2000) + `","s":1,"y":"node.log"}`},
		{"Oversized", "events", `{"v":1,"k":"e","o":"p","t":"t1","x":"x3","s":1,"y":"node.log","d":"` + strings.Repeat("x", MaxMessageBytes) + `"}`},
		{"CancelOnEvents", "events", `{"v":1,"k":"c","o":"p","t":"t1","x":"x3"}`},
		{"EventOnCancel", "cancel", `{"v":1,"k":"e","o":"p","t":"t1","x":"x3","s":1,"y":"node.log"}`},
		{"InvalidationOnEvents", "events", `{"v":1,"k":"i","o":"p","t":"t1","c":"webhooks"}`},
		{"EventOnInvalidate", "invalidate", `{"v":1,"k":"e","o":"p","t":"t1","x":"x3","s":1,"y":"node.log"}`},
		{"InvalidationWithoutScope", "invalidate", `{"v":1,"k":"i","o":"p","t":"t1","i":"w1"}`},
		{"InvalidationWithoutTenant", "invalidate", `{"v":1,"k":"i","o":"p","c":"webhooks"}`},
		{"InvalidationWithExecution", "invalidate", `{"v":1,"k":"i","o":"p","t":"t1","c":"webhooks","x":"x3"}`},
		{"InvalidationLongKey", "invalidate", `{"v":1,"k":"i","o":"p","t":"t1","c":"webhooks","i":"` + strings.Repeat("k", 2000) + `"}`},
		{"InvalidationKeyNotString", "invalidate", `{"v":1,"k":"i","o":"p","t":"t1","c":"webhooks","i":7}`},
	}
	for _, tc := range bad {
		require.NoError(t, raw.Publish(ctx, b.prefix+tc.channel, tc.payload).Err(), tc.name)
	}
	good := `{"v":1,"k":"e","o":"p","t":"t1","x":"x3","s":7,"y":"node.log","d":{"message":"hi"}}`
	require.NoError(t, raw.Publish(ctx, b.prefix+"events", good).Err())
	got := next(t, sub)
	require.Equal(t, int64(7), got.Event.Seq)
	require.JSONEq(t, `{"message":"hi"}`, string(got.Event.Data))
	require.Eventually(t, func() bool { return api.c.Stats().Dropped == int64(len(bad)) }, 5*time.Second, 5*time.Millisecond)
	require.Empty(t, api.cancels)
	// The only invalidation is the one the link hands over when it connects (everything).
	require.Equal(t, cache.Invalidation{}, <-api.invals)
	require.Empty(t, api.invals)
	require.True(t, api.c.Up(), "bad messages do not break the subscription")
}

func TestCancelSignalReachesTheOtherProcesses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	api, worker := b.start(t, "api", "", true), b.start(t, "worker", "", false)
	waitUp(t, api, worker)
	ref := store.ExecutionRef{TenantID: "t1", ID: "x4"}
	api.c.SignalCancel(ref)
	select {
	case got := <-worker.cancels:
		require.Equal(t, ref, got)
	case <-time.After(10 * time.Second):
		t.Fatal("the worker never heard the cancel")
	}
	require.Empty(t, api.cancels, "the sender does not cancel its own runs through Redis")
}

func TestInvalidationsReachTheOtherProcesses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	api1, api2, worker := b.start(t, "api1", "", true), b.start(t, "api2", "", true), b.start(t, "worker", "", false)
	waitUp(t, api1, api2, worker)
	for _, n := range []*node{api1, api2, worker} {
		require.Equal(t, cache.Invalidation{}, <-n.invals, "connecting clears the caches")
	}
	sent := []cache.Invalidation{
		{Scope: cache.ScopeWebhooks, TenantID: "t1", Key: "w1"},
		{Scope: cache.ScopeRoles, TenantID: "t2"},
		{Scope: "future-scope", TenantID: "t3", Key: "k"},
	}
	for _, inv := range sent {
		api1.c.SignalInvalidate(inv)
	}
	api1.c.SignalInvalidate(cache.Invalidation{}) // everything is the link's own word, never sent
	for _, n := range []*node{api2, worker} {
		for _, want := range sent {
			select {
			case got := <-n.invals:
				require.Equal(t, want, got)
			case <-time.After(10 * time.Second):
				t.Fatalf("no invalidation %v", want)
			}
		}
	}
	// api1 published a marker after its invalidations; once api2 has it, api1's own would be there too.
	api1.c.SignalInvalidate(cache.Invalidation{Scope: cache.ScopeAPIKeys, TenantID: "t1", Key: "marker"})
	require.Equal(t, "marker", (<-api2.invals).Key)
	require.Empty(t, api1.invals, "a process does not hear its own invalidations")
	require.Eventually(t, func() bool { return api2.c.Stats().Received == int64(len(sent)+1) }, 5*time.Second, 5*time.Millisecond)
}

// TestOutageDegradesAndRecovers cuts the link of one process (a proxy in front of Redis): it notices,
// lags its subscriptions so that their owners poll, drops what it publishes without blocking, and
// reconnects once Redis is back.
func TestOutageDegradesAndRecovers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u, err := url.Parse(b.url)
	require.NoError(t, err)
	proxy := clustertest.NewProxy(t, u.Host)
	api, worker := b.start(t, "api", proxy.URL(t, b.url), true), b.start(t, "worker", "", false)
	waitUp(t, api, worker)
	sub := api.hub.Subscribe(event.Filter{TenantID: "t1", ExecutionID: "x5"}, 16)
	defer sub.Close()

	require.Equal(t, cache.Invalidation{}, <-api.invals, "connecting clears the caches")

	proxy.Cut()
	require.Eventually(t, func() bool { return !api.c.Up() }, 10*time.Second, 5*time.Millisecond, "the outage is noticed")
	select {
	case <-sub.Lagged:
	case <-time.After(5 * time.Second):
		t.Fatal("subscriptions are lagged when the link drops")
	}
	require.Equal(t, cache.Invalidation{}, <-api.invals, "the outage clears the caches")
	dropped := api.c.Stats().Dropped
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			api.c.Publish(message("x5", int64(i+1), "node.log", ""))
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked while Redis is down")
	}
	require.Equal(t, dropped+1000, api.c.Stats().Dropped)

	proxy.Restore(t)
	require.Eventually(t, api.c.Up, 15*time.Second, 5*time.Millisecond, "the link comes back")
	select {
	case inv := <-api.invals:
		require.Equal(t, cache.Invalidation{}, inv, "reconnecting clears the caches, before Up")
	default:
		t.Fatal("the caches were not cleared when the link came back")
	}
	sub2 := api.hub.Subscribe(event.Filter{TenantID: "t1", ExecutionID: "x6"}, 16)
	defer sub2.Close()
	worker.c.Publish(message("x6", 1, "execution.finished", `{}`))
	require.Equal(t, "x6", next(t, sub2).Event.ExecutionID)
}

func TestRedisDownAtStart(t *testing.T) {
	t.Parallel()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // a closed port: connections are refused
	b := &testBundle{prefix: clustertest.Prefix(), store: &events{}}
	api := b.start(t, "api", "redis://"+addr+"/0", true)
	api.c.Publish(message("x7", 1, "node.log", ""))
	api.c.SignalCancel(store.ExecutionRef{TenantID: "t1", ID: "x7"})
	api.c.SignalInvalidate(cache.Invalidation{Scope: cache.ScopeWebhooks, TenantID: "t1"})
	require.False(t, api.c.Up())
	require.Equal(t, Stats{Dropped: 3}, api.c.Stats())
}

// TestNoGoroutineLeak runs alone (not in parallel), so that the goroutine count is this test's.
func TestNoGoroutineLeak(t *testing.T) { //nolint:paralleltest // counts the process's goroutines
	b := setup(t)
	u, err := url.Parse(b.url)
	require.NoError(t, err)
	before := runtime.NumGoroutine()
	func() {
		proxy := clustertest.NewProxy(t, u.Host)
		hub := event.NewHub()
		defer hub.Close()
		c, err := New(Config{URL: proxy.URL(t, b.url), Prefix: b.prefix, ProcessID: "p", Hub: hub, Store: b.store,
			BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
		require.NoError(t, err)
		c.Start(true)
		require.Eventually(t, c.Up, 10*time.Second, 5*time.Millisecond)
		for range 3 {
			proxy.Cut()
			require.Eventually(t, func() bool { return !c.Up() }, 10*time.Second, 5*time.Millisecond)
			proxy.Restore(t)
			require.Eventually(t, c.Up, 10*time.Second, 5*time.Millisecond)
		}
		proxy.Cut()
		require.NoError(t, c.Close())
	}()
	// Polled here, not with require.Eventually, which runs its condition in a goroutine of its own.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left running")
}

func TestOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url string
		ok, tls   bool
	}{
		{"Plain", "redis://127.0.0.1:6379/0", true, false},
		{"Password", "redis://:s3cret@127.0.0.1:6379", true, false},
		{"TLS", "rediss://cache.example.com:6380/1", true, true},
		{"WrongScheme", "http://127.0.0.1:6379", false, false},
		{"NoHost", "redis:///0", false, false},
		{"BadDB", "redis://127.0.0.1:6379/abc", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts, err := Options(tc.url, time.Second)
			if !tc.ok {
				require.Error(t, err)
				require.NotContains(t, err.Error(), "s3cret")
				return
			}
			require.NoError(t, err)
			require.Equal(t, -1, opts.MaxRetries)
			require.Equal(t, tc.tls, opts.TLSConfig != nil)
		})
	}
}
