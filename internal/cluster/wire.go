package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/concertmaster/concertmaster/internal/cache"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/store"
)

// MaxMessageBytes bounds one message on a channel. An event whose encoding is larger travels without
// its data, marked so that receivers read it from the store; a received message above it is dropped.
const MaxMessageBytes = 64 << 10

// maxIDBytes bounds the identifiers and event types a received message may carry; the store's own
// are far shorter (UUIDs, node ids of at most a few hundred bytes).
const maxIDBytes = 1024

// wireVersion is the encoding's version: a receiver drops messages of another one, so that processes
// of two releases never misread each other during an upgrade.
const wireVersion = 1

// Message kinds.
const (
	kindEvent      = "e"
	kindCancel     = "c"
	kindInvalidate = "i"
)

// wire is the JSON form of a message on a channel: short keys, since every event of every process
// crosses Redis once per subscribed process.
type wire struct {
	// Version is wireVersion.
	Version int `json:"v"`
	// Kind is kindEvent, kindCancel or kindInvalidate.
	Kind string `json:"k"`
	// Origin is the id of the publishing process, which skips its own messages.
	Origin   string `json:"o"`
	TenantID string `json:"t"`
	// ExecutionID is the execution of the event or of the cancel signal.
	ExecutionID string `json:"x,omitempty"`
	WorkflowID  string `json:"w,omitempty"`
	Seq         int64  `json:"s,omitempty"`
	Type        string `json:"y,omitempty"`
	NodeID      string `json:"n,omitempty"`
	Attempt     int    `json:"a,omitempty"`
	// Time is the event's time in Unix microseconds.
	Time int64           `json:"ts,omitempty"`
	Data json.RawMessage `json:"d,omitempty"`
	// Refetch says the data was left out (too large): read the event from the store.
	Refetch bool `json:"r,omitempty"`
	// Scope and Key are an invalidation's cache scope and key within the tenant (cache.Invalidation).
	Scope string `json:"c,omitempty"`
	Key   string `json:"i,omitempty"`
}

// encodeEvent encodes m, leaving its data out when the whole would exceed MaxMessageBytes.
func encodeEvent(origin string, m *event.Message) ([]byte, error) {
	ev := m.Event
	w := wire{Version: wireVersion, Kind: kindEvent, Origin: origin, TenantID: m.TenantID, ExecutionID: ev.ExecutionID,
		WorkflowID: m.WorkflowID, Seq: ev.Seq, Type: ev.Type, NodeID: ev.NodeID, Attempt: ev.Attempt, Time: ev.Time.UnixMicro()}
	switch {
	case len(ev.Data) >= MaxMessageBytes:
		w.Refetch = true
	case len(ev.Data) > 0:
		w.Data = ev.Data
	}
	b, err := json.Marshal(w) // fails only on data that is not JSON, which the store never holds
	if (err != nil || len(b) > MaxMessageBytes) && w.Data != nil {
		w.Data, w.Refetch = nil, true
		b, err = json.Marshal(w)
	}
	if err != nil {
		return nil, fmt.Errorf("encode event message: %w", err)
	}
	if len(b) > MaxMessageBytes {
		return nil, fmt.Errorf("event message of %d bytes without its data: %w", len(b), errOversized)
	}
	return b, nil
}

// encodeCancel encodes a cancel signal for ref.
func encodeCancel(origin string, ref store.ExecutionRef) ([]byte, error) {
	b, err := json.Marshal(wire{Version: wireVersion, Kind: kindCancel, Origin: origin, TenantID: ref.TenantID, ExecutionID: ref.ID})
	if err != nil {
		return nil, fmt.Errorf("encode cancel message: %w", err)
	}
	return b, nil
}

// encodeInvalidate encodes an invalidation of cached reads.
func encodeInvalidate(origin string, inv cache.Invalidation) ([]byte, error) {
	b, err := json.Marshal(wire{Version: wireVersion, Kind: kindInvalidate, Origin: origin, TenantID: inv.TenantID, Scope: string(inv.Scope), Key: inv.Key})
	if err != nil {
		return nil, fmt.Errorf("encode invalidation message: %w", err)
	}
	return b, nil
}

var (
	errOversized = errors.New("message too large")
	errMalformed = errors.New("malformed message")
)

// decode parses and checks a received message. Errors wrap errOversized or errMalformed.
func decode(payload string) (*wire, error) {
	if len(payload) > MaxMessageBytes {
		return nil, fmt.Errorf("%d bytes: %w", len(payload), errOversized)
	}
	var w wire
	if err := json.Unmarshal([]byte(payload), &w); err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	switch {
	case w.Version != wireVersion:
		return nil, fmt.Errorf("%w: version %d", errMalformed, w.Version)
	case w.Kind != kindEvent && w.Kind != kindCancel && w.Kind != kindInvalidate:
		return nil, fmt.Errorf("%w: kind %q", errMalformed, w.Kind)
	case w.Origin == "" || w.TenantID == "":
		return nil, fmt.Errorf("%w: origin and tenant are required", errMalformed)
	case w.Kind != kindInvalidate && w.ExecutionID == "":
		return nil, fmt.Errorf("%w: an event or a cancel signal names its execution", errMalformed)
	case w.Kind == kindInvalidate && (w.Scope == "" || w.ExecutionID != "" || w.Type != "" || len(w.Data) > 0):
		return nil, fmt.Errorf("%w: an invalidation names a scope and nothing of an execution", errMalformed)
	case len(w.Origin) > maxIDBytes || len(w.TenantID) > maxIDBytes || len(w.ExecutionID) > maxIDBytes ||
		len(w.WorkflowID) > maxIDBytes || len(w.Type) > maxIDBytes || len(w.NodeID) > maxIDBytes ||
		len(w.Scope) > maxIDBytes || len(w.Key) > maxIDBytes:
		return nil, fmt.Errorf("%w: an identifier is longer than %d bytes", errMalformed, maxIDBytes)
	}
	if w.Kind == kindEvent {
		switch {
		case w.Type == "" || w.Seq < 1:
			return nil, fmt.Errorf("%w: an event needs a type and a sequence number", errMalformed)
		case w.Attempt < 0:
			return nil, fmt.Errorf("%w: attempt %d", errMalformed, w.Attempt)
		case len(w.Data) > 0 && !json.Valid(w.Data):
			return nil, fmt.Errorf("%w: data is not JSON", errMalformed)
		}
	}
	return &w, nil
}

// invalidation returns the invalidation w carries (w.Kind is kindInvalidate).
func (w *wire) invalidation() cache.Invalidation {
	return cache.Invalidation{Scope: cache.Scope(w.Scope), TenantID: w.TenantID, Key: w.Key}
}

// message returns the event message w carries (w.Kind is kindEvent).
func (w *wire) message() *event.Message {
	return &event.Message{TenantID: w.TenantID, WorkflowID: w.WorkflowID, Event: store.Event{
		ExecutionID: w.ExecutionID, Seq: w.Seq, Type: w.Type, NodeID: w.NodeID, Attempt: w.Attempt,
		Time: time.UnixMicro(w.Time).UTC(), Data: w.Data,
	}}
}
