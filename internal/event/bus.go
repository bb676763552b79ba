// Package event fans committed execution events out to subscribers: API waiters, the CLI and the
// WebSocket and SSE gateways (internal/live). The event log itself lives in the store and is the only
// source of truth; a subscriber that falls behind is told so at once (Subscription.Lagged) and catches
// up from the store.
//
// Bus is the interface the rest of the program uses. Hub is its in-process implementation; the bus that
// spans processes (internal/cluster, over Redis pub/sub) carries Messages between processes and hands
// them to a local Hub for fan-out, so Message is self-contained: it names its tenant and workflow.
package event

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
)

// Defaults for subscriptions and the hub.
const (
	// BufferDefault is a subscription's buffer when none is given.
	BufferDefault = 256
	// QueueDefault is how many published messages the hub holds before fan-out. Publish never waits
	// for fan-out: when the queue is full, every subscription is lagged instead.
	QueueDefault = 8192
)

// Message is one committed event and the routing facts a subscriber filters on.
type Message struct {
	TenantID   string
	WorkflowID string
	Event      store.Event

	once sync.Once
	body []byte
}

// ExecutionLevel reports whether the message is an execution-level event (execution.*), the kind
// list views follow, rather than a node-level one.
func (m *Message) ExecutionLevel() bool { return IsExecutionLevel(m.Event.Type) }

// IsExecutionLevel reports whether an event type is execution-level.
func IsExecutionLevel(typ string) bool { return strings.HasPrefix(typ, "execution.") }

// Wire is the JSON form of an event message, documented in docs/live.md (without the subscription
// a WebSocket message adds).
type Wire struct {
	Type        string          `json:"type"`
	ExecutionID string          `json:"executionId"`
	WorkflowID  string          `json:"workflowId,omitempty"`
	Seq         int64           `json:"seq"`
	Time        time.Time       `json:"time"`
	NodeID      string          `json:"nodeId,omitempty"`
	Attempt     int             `json:"attempt,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"`
}

// JSON returns the message as the JSON object docs/live.md documents, encoded once however many
// subscribers send it. The caller must not modify the result.
func (m *Message) JSON() []byte {
	m.once.Do(func() {
		ev := m.Event
		w := Wire{Type: ev.Type, ExecutionID: ev.ExecutionID, WorkflowID: m.WorkflowID, Seq: ev.Seq, Time: ev.Time.UTC(),
			NodeID: ev.NodeID, Attempt: ev.Attempt}
		if len(ev.Data) > 0 && json.Valid(ev.Data) {
			w.Payload = ev.Data
		}
		b, err := json.Marshal(w)
		if err != nil { // cannot happen: every field is plain or valid JSON
			b = []byte(`{"type":"` + ev.Type + `"}`)
		}
		m.body = b
	})
	return m.body
}

// Filter selects the messages a subscription receives. TenantID is required; ExecutionID keeps one
// execution's events, WorkflowID one workflow's, neither every execution's of the tenant.
type Filter struct {
	TenantID    string
	WorkflowID  string
	ExecutionID string
	// ExecutionLevel keeps execution-level events only (execution.*), the ones list views need.
	ExecutionLevel bool
}

// Bus publishes committed events to the subscriptions whose filter they match.
type Bus interface {
	// Publish hands m to the bus after its transaction committed. It never blocks and never fails:
	// a subscriber that cannot keep up is lagged instead. m must not be modified afterwards.
	Publish(m *Message)
	// Subscribe opens a subscription with a buffer of the given size (BufferDefault when ≤ 0).
	Subscribe(f Filter, buffer int) *Subscription
}

// Subscription receives the messages of one filter, in the order they were published. Close it when
// done.
type Subscription struct {
	// C delivers messages; it is closed by Close.
	C <-chan *Message
	// Lagged is closed when the subscription missed a message because its buffer was full (or the
	// hub's queue was). It receives nothing after the missed message: the subscriber catches up from
	// the store. What C already holds was published before the gap.
	Lagged <-chan struct{}

	c      chan *Message
	lag    chan struct{}
	filter Filter
	key    string
	hub    *Hub

	mu     sync.Mutex
	lagged bool
	closed bool
}

// send delivers m without blocking.
func (s *Subscription) send(m *Message) {
	if s.filter.ExecutionLevel && !m.ExecutionLevel() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.lagged {
		return
	}
	select {
	case s.c <- m:
	default:
		s.markLagged()
	}
}

// markLagged flags the subscription; s.mu is held.
func (s *Subscription) markLagged() {
	if !s.lagged && !s.closed {
		s.lagged = true
		close(s.lag)
	}
}

// Close ends the subscription and closes C. It is safe to call more than once.
func (s *Subscription) Close() {
	s.hub.remove(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.c)
	}
}

// Hub is the in-process Bus. Publish queues a message; one goroutine fans it out to the matching
// subscriptions, so a publisher — the store's writer, running after-commit hooks — pays for a channel
// send, never for the number of subscribers.
type Hub struct {
	in       chan *Message
	overflow atomic.Bool
	dropped  atomic.Int64
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	mu   sync.RWMutex
	subs map[string]map[*Subscription]struct{}
	n    int
}

// NewHub starts a hub with a queue of QueueDefault messages. Close stops it.
func NewHub() *Hub { return NewHubSize(QueueDefault) }

// NewHubSize starts a hub whose queue holds queue messages.
func NewHubSize(queue int) *Hub {
	if queue <= 0 {
		queue = QueueDefault
	}
	h := &Hub{in: make(chan *Message, queue), stop: make(chan struct{}), done: make(chan struct{}),
		subs: make(map[string]map[*Subscription]struct{})}
	go h.loop()
	return h
}

func executionKey(tenantID, executionID string) string {
	return "e\x00" + tenantID + "\x00" + executionID
}
func workflowKey(tenantID, workflowID string) string { return "w\x00" + tenantID + "\x00" + workflowID }
func tenantKey(tenantID string) string               { return "t\x00" + tenantID }

func (f Filter) key() string {
	switch {
	case f.ExecutionID != "":
		return executionKey(f.TenantID, f.ExecutionID)
	case f.WorkflowID != "":
		return workflowKey(f.TenantID, f.WorkflowID)
	default:
		return tenantKey(f.TenantID)
	}
}

// Subscribe implements Bus.
func (h *Hub) Subscribe(f Filter, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = BufferDefault
	}
	c, lag := make(chan *Message, buffer), make(chan struct{})
	s := &Subscription{C: c, c: c, Lagged: lag, lag: lag, filter: f, key: f.key(), hub: h}
	h.mu.Lock()
	set := h.subs[s.key]
	if set == nil {
		set = make(map[*Subscription]struct{})
		h.subs[s.key] = set
	}
	set[s] = struct{}{}
	h.n++
	h.mu.Unlock()
	return s
}

func (h *Hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.subs[s.key]
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	h.n--
	if len(set) == 0 {
		delete(h.subs, s.key)
	}
}

// Publish implements Bus.
func (h *Hub) Publish(m *Message) {
	select {
	case h.in <- m:
	default:
		h.overflow.Store(true)
		h.dropped.Add(1)
	}
}

// Dropped returns how many messages the hub's full queue refused since it started.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Subscribers returns the number of open subscriptions, for metrics.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n
}

// Close stops the fan-out goroutine; messages published afterwards reach nobody. Subscriptions stay
// open until their owners close them.
func (h *Hub) Close() {
	h.stopOnce.Do(func() { close(h.stop) })
	<-h.done
}

func (h *Hub) loop() {
	defer close(h.done)
	for {
		select {
		case m := <-h.in:
			if h.overflow.Swap(false) {
				h.lagAll()
			}
			h.fanOut(m)
		case <-h.stop:
			return
		}
	}
}

// fanOut delivers m to the subscriptions of its execution, its workflow and its tenant.
func (h *Hub) fanOut(m *Message) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, k := range [...]string{executionKey(m.TenantID, m.Event.ExecutionID), workflowKey(m.TenantID, m.WorkflowID), tenantKey(m.TenantID)} {
		for s := range h.subs[k] {
			s.send(m)
		}
	}
}

// LagAll lags every open subscription: they may have missed messages, as when the link that brings
// other processes' messages dropped. Their owners catch up from the store.
func (h *Hub) LagAll() { h.lagAll() }

// lagAll lags every subscription: the queue overflowed, so any of them may have missed a message.
func (h *Hub) lagAll() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, set := range h.subs {
		for s := range set {
			s.mu.Lock()
			s.markLagged()
			s.mu.Unlock()
		}
	}
}
