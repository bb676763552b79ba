// Package event fans committed execution events out to in-process subscribers: API waiters, and
// later the WebSocket and SSE gateways. The event log itself lives in the store; a subscriber that
// falls behind loses events from its bounded buffer, is told so, and catches up from the store.
package event

import (
	"sync"

	"github.com/concertmaster/concertmaster/internal/store"
)

// BufferDefault is a subscription's buffer when none is given.
const BufferDefault = 256

// Bus is an in-memory publish/subscribe hub keyed by tenant and execution. The zero value is not
// usable; call NewBus.
type Bus struct {
	mu   sync.RWMutex
	subs map[string]map[*Subscription]struct{}
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: make(map[string]map[*Subscription]struct{})} }

// Subscription receives the events of one execution, or of every execution of a tenant.
type Subscription struct {
	// C delivers events in publication order.
	C      <-chan store.Event
	c      chan store.Event
	key    string
	bus    *Bus
	mu     sync.Mutex
	lagged bool
	closed bool
}

func key(tenantID, executionID string) string { return tenantID + "\x00" + executionID }

// Subscribe returns a subscription to one execution's events, or to all of a tenant's when
// executionID is empty. Close it when done.
func (b *Bus) Subscribe(tenantID, executionID string, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = BufferDefault
	}
	c := make(chan store.Event, buffer)
	s := &Subscription{C: c, c: c, key: key(tenantID, executionID), bus: b}
	b.mu.Lock()
	set := b.subs[s.key]
	if set == nil {
		set = make(map[*Subscription]struct{})
		b.subs[s.key] = set
	}
	set[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Publish delivers ev to the execution's subscribers and the tenant's. It never blocks: a full
// subscriber is marked lagged and misses the event.
func (b *Bus) Publish(tenantID string, ev store.Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, k := range []string{key(tenantID, ev.ExecutionID), key(tenantID, "")} {
		for s := range b.subs[k] {
			s.send(ev)
		}
	}
}

func (s *Subscription) send(ev store.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.c <- ev:
	default:
		s.lagged = true
	}
}

// Lagged reports whether the subscription missed events because its buffer was full.
func (s *Subscription) Lagged() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lagged
}

// Close ends the subscription and closes C.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	if set := s.bus.subs[s.key]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(s.bus.subs, s.key)
		}
	}
	s.bus.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.c)
	}
}

// Subscribers returns the number of open subscriptions, for metrics.
func (b *Bus) Subscribers() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for _, set := range b.subs {
		n += len(set)
	}
	return n
}
