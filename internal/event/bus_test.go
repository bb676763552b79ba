package event

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
)

func msg(tenant, workflow, execution, typ string, seq int64) *Message {
	return &Message{TenantID: tenant, WorkflowID: workflow, Event: store.Event{ExecutionID: execution, Seq: seq, Type: typ,
		Time: time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC)}}
}

// recv returns the next message of s, failing after a deadline.
func recv(t *testing.T, s *Subscription) *Message {
	t.Helper()
	select {
	case m := <-s.C:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
		return nil
	}
}

func TestHubRoutes(t *testing.T) {
	t.Parallel()
	h := NewHub()
	defer h.Close()
	one := h.Subscribe(Filter{TenantID: "t1", ExecutionID: "e1"}, 8)
	wf := h.Subscribe(Filter{TenantID: "t1", WorkflowID: "w1", ExecutionLevel: true}, 8)
	all := h.Subscribe(Filter{TenantID: "t1"}, 8)
	other := h.Subscribe(Filter{TenantID: "t2"}, 8)
	for _, s := range []*Subscription{one, wf, all, other} {
		defer s.Close()
	}
	require.Equal(t, 4, h.Subscribers())

	h.Publish(msg("t1", "w1", "e1", "execution.started", 1))
	h.Publish(msg("t1", "w1", "e1", "node.started", 2))
	h.Publish(msg("t1", "w2", "e2", "execution.started", 1))
	h.Publish(msg("t1", "w1", "e3", "execution.finished", 9))

	require.Equal(t, "execution.started", recv(t, one).Event.Type)
	require.Equal(t, "node.started", recv(t, one).Event.Type)

	require.Equal(t, "e1", recv(t, wf).Event.ExecutionID, "workflow subscriptions get their workflow's executions")
	require.Equal(t, "e3", recv(t, wf).Event.ExecutionID, "and execution-level events only")

	var got []string
	for range 4 {
		m := recv(t, all)
		got = append(got, m.Event.ExecutionID+" "+m.Event.Type)
	}
	require.Equal(t, []string{"e1 execution.started", "e1 node.started", "e2 execution.started", "e3 execution.finished"}, got)
	require.Empty(t, one.C)
	require.Empty(t, wf.C)
	require.Empty(t, other.C, "tenants are isolated")
}

func TestHubLagsAFullSubscriberWithoutBlocking(t *testing.T) {
	t.Parallel()
	h := NewHub()
	defer h.Close()
	slow := h.Subscribe(Filter{TenantID: "t", ExecutionID: "e"}, 2)
	defer slow.Close()
	fast := h.Subscribe(Filter{TenantID: "t", ExecutionID: "e"}, 1024)
	defer fast.Close()

	for seq := range int64(100) {
		h.Publish(msg("t", "w", "e", "node.log", seq+1))
	}
	// The fast subscriber gets everything although the slow one never reads.
	for seq := range int64(100) {
		require.Equal(t, seq+1, recv(t, fast).Event.Seq)
	}
	select {
	case <-slow.Lagged:
	case <-time.After(5 * time.Second):
		t.Fatal("a full subscription is not lagged")
	}
	require.Equal(t, int64(1), recv(t, slow).Event.Seq, "what it held before the gap is still delivered")
	require.Equal(t, int64(2), recv(t, slow).Event.Seq)
	h.Publish(msg("t", "w", "e", "node.log", 101))
	require.Equal(t, int64(101), recv(t, fast).Event.Seq)
	require.Empty(t, slow.C, "a lagged subscription receives nothing after the gap")
	select {
	case <-fast.Lagged:
		t.Fatal("the fast subscriber was lagged")
	default:
	}
}

func TestHubOverflowLagsEveryone(t *testing.T) {
	t.Parallel()
	h := NewHubSize(1)
	defer h.Close()
	s := h.Subscribe(Filter{TenantID: "t"}, 1<<16)
	defer s.Close()
	// Stall the fan-out goroutine behind the hub's lock while the queue (one message) overflows.
	h.mu.Lock()
	for seq := range int64(10) {
		h.Publish(msg("t", "w", "e", "node.log", seq+1))
	}
	h.mu.Unlock()
	require.Positive(t, h.Dropped())
	select {
	case <-s.Lagged:
	case <-time.After(5 * time.Second):
		t.Fatal("an overflow of the hub's queue does not lag its subscribers")
	}
}

func TestHubLagAll(t *testing.T) {
	t.Parallel()
	h := NewHub()
	defer h.Close()
	a, b := h.Subscribe(Filter{TenantID: "t", ExecutionID: "e"}, 4), h.Subscribe(Filter{TenantID: "u"}, 4)
	defer a.Close()
	defer b.Close()
	h.LagAll()
	for _, s := range []*Subscription{a, b} {
		select {
		case <-s.Lagged:
		default:
			t.Fatal("LagAll leaves a subscription unlagged")
		}
	}
	h.LagAll() // again: no panic on an already lagged subscription
	later := h.Subscribe(Filter{TenantID: "t"}, 4)
	defer later.Close()
	select {
	case <-later.Lagged:
		t.Fatal("a subscription opened afterwards is lagged")
	default:
	}
}

func TestSubscriptionClose(t *testing.T) {
	t.Parallel()
	h := NewHub()
	s := h.Subscribe(Filter{TenantID: "t", ExecutionID: "e"}, 1)
	s.Close()
	s.Close()
	_, open := <-s.C
	require.False(t, open)
	require.Zero(t, h.Subscribers())
	h.Publish(msg("t", "w", "e", "node.log", 1)) // no panic after close
	h.Close()
	h.Close()
	h.Publish(msg("t", "w", "e", "node.log", 2)) // nor after the hub stopped
}

func TestMessageJSON(t *testing.T) {
	t.Parallel()
	m := msg("t", "w1", "e1", "node.succeeded", 7)
	m.Event.NodeID, m.Event.Attempt, m.Event.Data = "fetch", 2, json.RawMessage(`{"port":"main"}`)
	require.JSONEq(t, `{"type":"node.succeeded","executionId":"e1","workflowId":"w1","seq":7,"time":"2026-11-30T21:00:00Z",
		"nodeId":"fetch","attempt":2,"payload":{"port":"main"}}`, string(m.JSON()))
	require.Same(t, &m.JSON()[0], &m.JSON()[0], "encoded once")
	bare := msg("t", "", "e1", "execution.started", 2)
	require.JSONEq(t, `{"type":"execution.started","executionId":"e1","seq":2,"time":"2026-11-30T21:00:00Z"}`, string(bare.JSON()))
}
