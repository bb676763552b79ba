// Package live streams execution events to watching clients over WebSocket (ws.go) and
// Server-Sent Events (sse.go), as docs/live.md documents. Every subscription replays the event log
// from the store and then follows the event bus, with no gap and no duplicate at the seam; a client
// that falls behind is told where to resume (resync) instead of being queued for without bound.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/store"
)

// Defaults for Config.
const (
	MaxClientsDefault       = 10000
	BufferDefault           = 256
	MaxSubscriptionsDefault = 64
	HeartbeatDefault        = 20 * time.Second
	PongTimeoutDefault      = 10 * time.Second
	WriteTimeoutDefault     = 10 * time.Second
	SSEHeartbeatDefault     = 15 * time.Second
	BroadLingerDefault      = 5 * time.Millisecond
	// MessageRateDefault and MessageBurstDefault bound what one WebSocket client may send.
	MessageRateDefault  = 50
	MessageBurstDefault = 100
	// MaxFrameBytes bounds one client frame.
	MaxFrameBytes = 4096
	// replayPage is how many events one store read of a replay returns.
	replayPage = 500
	// maxSeen bounds the per-execution positions a workflow or tenant subscription remembers from
	// its replay to drop the duplicates at the seam.
	maxSeen = 50000
)

// Reader is what the gateway reads from the store.
type Reader interface {
	GetExecution(ctx context.Context, tenantID, id string) (*store.Execution, error)
	GetWorkflow(ctx context.Context, tenantID, id string) (*store.Workflow, error)
	ListEvents(ctx context.Context, tenantID, executionID string, afterSeq int64, limit int) ([]store.Event, error)
	ListExecutionLevelEvents(ctx context.Context, tenantID string, params store.ExecutionLevelEventsParams) ([]store.WorkflowEvent, error)
}

// Observer records the gateway's metrics.
type Observer interface {
	// LiveClients adds delta to the connected clients of a transport ("ws" or "sse").
	LiveClients(transport string, delta int)
	// LiveMessageSent records one event written to a client; latency is from the event's time to
	// the write, for live events (zero for replayed ones).
	LiveMessageSent(transport string, latency time.Duration)
	// LiveResync records a subscription closed with resync.
	LiveResync(transport string)
}

// Config configures a Gateway. Store and Bus are required; zero values elsewhere mean defaults.
type Config struct {
	Store    Reader
	Bus      event.Bus
	Observer Observer
	Logger   *slog.Logger
	// Problem writes an HTTP error before a stream starts (the API's problem documents).
	Problem func(w http.ResponseWriter, status int, detail string)
	// MaxClients caps the WebSocket connections and SSE streams open at once (default 10,000).
	MaxClients int
	// Buffer is each subscription's buffer of live events (default 256).
	Buffer int
	// MaxSubscriptions caps the subscriptions of one WebSocket connection (default 64).
	MaxSubscriptions int
	// Heartbeat is the WebSocket ping interval (20 s) and PongTimeout how long a pong may take (10 s).
	Heartbeat, PongTimeout time.Duration
	// WriteTimeout bounds one write to a client (10 s).
	WriteTimeout time.Duration
	// SSEHeartbeat is the interval of SSE comment heartbeats (15 s).
	SSEHeartbeat time.Duration
	// BroadLinger is how long a workflow or all-executions subscription waits, after an event, for
	// more to send in the same write (5 ms; negative: not at all). Execution subscriptions never wait.
	BroadLinger time.Duration
	// MessageRate and MessageBurst bound the messages a WebSocket client sends (50/s, burst 100).
	MessageRate, MessageBurst int
	// Version is reported in the WebSocket hello.
	Version string
	// AllowedOrigins are the origins, besides the server's own, whose pages may open the WebSocket
	// (CM_CORS_ORIGINS, exactly as browsers send the Origin header).
	AllowedOrigins []string
}

// Gateway serves live subscriptions.
type Gateway struct {
	cfg     Config
	logger  *slog.Logger
	clients atomic.Int64

	mu       sync.Mutex
	closing  bool
	shutdown chan struct{}
	conns    map[*wsConn]struct{}
	wg       sync.WaitGroup
}

// New returns a gateway.
func New(cfg Config) *Gateway {
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = MaxClientsDefault
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = BufferDefault
	}
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = MaxSubscriptionsDefault
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = HeartbeatDefault
	}
	if cfg.PongTimeout <= 0 {
		cfg.PongTimeout = PongTimeoutDefault
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = WriteTimeoutDefault
	}
	if cfg.SSEHeartbeat <= 0 {
		cfg.SSEHeartbeat = SSEHeartbeatDefault
	}
	if cfg.BroadLinger == 0 {
		cfg.BroadLinger = BroadLingerDefault
	}
	if cfg.MessageRate <= 0 {
		cfg.MessageRate = MessageRateDefault
	}
	if cfg.MessageBurst <= 0 {
		cfg.MessageBurst = MessageBurstDefault
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.Problem == nil {
		cfg.Problem = func(w http.ResponseWriter, status int, detail string) { http.Error(w, detail, status) }
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Gateway{cfg: cfg, logger: logger.With("component", "live"), shutdown: make(chan struct{}), conns: make(map[*wsConn]struct{})}
}

// Clients returns the WebSocket connections and SSE streams open now.
func (g *Gateway) Clients() int { return int(g.clients.Load()) }

// acquire takes a client slot; false when the gateway is full or shutting down.
func (g *Gateway) acquire() bool {
	// Under the lock, so that no Add races the Wait of a Shutdown that has begun.
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing || g.clients.Load() >= int64(g.cfg.MaxClients) {
		return false
	}
	g.clients.Add(1)
	g.wg.Add(1)
	return true
}

func (g *Gateway) release() {
	g.clients.Add(-1)
	g.wg.Done()
}

// Shutdown closes every WebSocket connection with 1001 (server shutting down) and ends every SSE
// stream, then waits for their handlers to return or ctx to end. New clients are refused (503).
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	if !g.closing {
		g.closing = true
		close(g.shutdown)
	}
	g.mu.Unlock()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("live clients still open at shutdown: %w", ctx.Err())
	}
}

// Spec says what a subscription follows and where it starts.
type Spec struct {
	// ExecutionID follows one execution (every event); else WorkflowID one workflow's executions,
	// else every execution of the tenant (execution-level events only).
	ExecutionID, WorkflowID string
	// AfterSeq resumes an execution after this sequence number.
	AfterSeq int64
	// Since replays from this time (events at or after it); nil starts a workflow or tenant
	// subscription live, and an execution one after AfterSeq.
	Since *time.Time
	// After resumes a workflow or tenant subscription strictly after this event.
	After *store.EventCursor
}

func (s Spec) broad() bool { return s.ExecutionID == "" }

// ErrNotFound is returned by open for an execution or workflow that does not exist.
var ErrNotFound = errors.New("not found")

// sink receives what a subscription delivers. Each method's error ends the subscription.
type sink interface {
	// event delivers one event; live is false during the replay.
	event(m *event.Message, live bool) error
	// live marks the end of the replay.
	live() error
	// idle says that no more events are waiting: what event gathered goes out now.
	idle() error
}

// outcome is how a subscription ended without an error.
type outcome struct {
	// complete: the execution's final event was delivered.
	complete bool
	// resync: the client fell behind; it resumes after afterSeq (execution) or from since/after.
	resync   bool
	afterSeq int64
	since    time.Time
	after    *store.EventCursor
}

// subscription is an open subscription: its bus subscription is taken before the replay reads the
// log, so that nothing committed in between is lost.
type subscription struct {
	g      *Gateway
	tenant string
	spec   Spec
	bus    *event.Subscription
	exec   *store.Execution
	opened time.Time
}

// open checks that what spec names exists and subscribes to the bus.
func (g *Gateway) open(ctx context.Context, tenant string, spec Spec) (*subscription, error) {
	s := &subscription{g: g, tenant: tenant, spec: spec, opened: time.Now().UTC()}
	f := event.Filter{TenantID: tenant, ExecutionID: spec.ExecutionID, WorkflowID: spec.WorkflowID, ExecutionLevel: spec.broad()}
	switch {
	case spec.ExecutionID != "":
		// Subscribe first: an event committed after the read below is then on the bus.
		s.bus = g.cfg.Bus.Subscribe(f, g.cfg.Buffer)
		e, err := g.cfg.Store.GetExecution(ctx, tenant, spec.ExecutionID)
		if err != nil {
			s.bus.Close()
			return nil, notFound(err, "execution "+spec.ExecutionID)
		}
		s.exec = e
	case spec.WorkflowID != "":
		if _, err := g.cfg.Store.GetWorkflow(ctx, tenant, spec.WorkflowID); err != nil {
			return nil, notFound(err, "workflow "+spec.WorkflowID)
		}
		s.bus = g.cfg.Bus.Subscribe(f, g.cfg.Buffer)
	default:
		s.bus = g.cfg.Bus.Subscribe(f, g.cfg.Buffer)
	}
	return s, nil
}

func notFound(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidInput) {
		return fmt.Errorf("%w: no %s", ErrNotFound, what)
	}
	return fmt.Errorf("read %s: %w", what, err)
}

func (s *subscription) close() { s.bus.Close() }

// run delivers the replay, then live events, until the subscription completes, falls behind, its
// sink fails or ctx ends.
func (s *subscription) run(ctx context.Context, out sink) (outcome, error) {
	run := s.runExecution
	if s.spec.broad() {
		run = s.runBroad
	}
	o, err := run(ctx, out)
	if ierr := out.idle(); err == nil && ierr != nil {
		return outcome{}, ierr
	}
	return o, err
}

// idleWhenDrained tells out that no more events wait when the bus has none buffered, so that a
// burst of events goes out together and a lone event at once.
func (s *subscription) idleWhenDrained(out sink) error {
	if len(s.bus.C) > 0 {
		return nil
	}
	return out.idle()
}

// runExecution follows one execution: the log after the cursor, then the bus, filling any gap the
// bus shows (an event published out of order) from the log.
func (s *subscription) runExecution(ctx context.Context, out sink) (outcome, error) {
	cursor := s.spec.AfterSeq
	done, err := s.replayExecution(ctx, out, &cursor, s.spec.Since, false)
	if err != nil || done {
		return outcome{complete: done}, err
	}
	if s.exec.Status.Terminal() {
		// Finished before the subscription opened, and the client has its last event (afterSeq or
		// since were past it): nothing more will come.
		return outcome{complete: true}, nil
	}
	if err := out.live(); err != nil {
		return outcome{}, err
	}
	for {
		if err := s.idleWhenDrained(out); err != nil {
			return outcome{}, err
		}
		select {
		case m, ok := <-s.bus.C:
			if !ok {
				return outcome{resync: true, afterSeq: cursor}, nil
			}
			seq := m.Event.Seq
			if seq <= cursor {
				continue // replayed already
			}
			if seq > cursor+1 {
				// An event between was published later or not to this process: read it.
				if done, err := s.replayExecution(ctx, out, &cursor, nil, true); err != nil || done {
					return outcome{complete: done}, err
				}
				if seq <= cursor {
					continue
				}
			}
			if err := out.event(m, true); err != nil {
				return outcome{}, err
			}
			cursor = seq
			if m.Event.Type == finishedType {
				return outcome{complete: true}, nil
			}
		case <-s.bus.Lagged:
			return outcome{resync: true, afterSeq: cursor}, nil
		case <-ctx.Done():
			return outcome{}, ctx.Err()
		}
	}
}

// finishedType is an execution's last event.
const finishedType = "execution.finished"

// replayExecution sends the logged events after *cursor (skipping those before since), advancing
// it; done when the final event was among them.
func (s *subscription) replayExecution(ctx context.Context, out sink, cursor *int64, since *time.Time, live bool) (bool, error) {
	for {
		evs, err := s.g.cfg.Store.ListEvents(ctx, s.tenant, s.spec.ExecutionID, *cursor, replayPage)
		if err != nil {
			return false, fmt.Errorf("replay execution %s: %w", s.spec.ExecutionID, err)
		}
		for _, ev := range evs {
			*cursor = ev.Seq
			if since != nil && ev.Time.Before(*since) {
				continue
			}
			m := &event.Message{TenantID: s.tenant, WorkflowID: s.exec.WorkflowID, Event: ev}
			if err := out.event(m, live); err != nil {
				return false, err
			}
			if ev.Type == finishedType {
				return true, nil
			}
		}
		if len(evs) < replayPage {
			return false, nil
		}
	}
}

// runBroad follows a workflow's or a tenant's executions: execution-level events from since (when
// given) in time order, then the bus, dropping at the seam what the replay already sent.
func (s *subscription) runBroad(ctx context.Context, out sink) (outcome, error) {
	var last *store.EventCursor
	resume := func() outcome {
		o := outcome{resync: true, since: s.opened, after: last}
		if last != nil {
			o.since = last.Time
		}
		return o
	}
	seen := make(map[string]int64)
	if s.spec.Since != nil || s.spec.After != nil {
		p := store.ExecutionLevelEventsParams{WorkflowID: s.spec.WorkflowID, After: s.spec.After, Limit: replayPage}
		if s.spec.Since != nil {
			p.Since = *s.spec.Since
		}
		for {
			evs, err := s.g.cfg.Store.ListExecutionLevelEvents(ctx, s.tenant, p)
			if err != nil {
				return outcome{}, fmt.Errorf("replay execution-level events: %w", err)
			}
			for _, ev := range evs {
				if err := out.event(&event.Message{TenantID: s.tenant, WorkflowID: ev.WorkflowID, Event: ev.Event}, false); err != nil {
					return outcome{}, err
				}
				c := ev.Cursor()
				last, p.After = &c, &c
				if len(seen) < maxSeen || seen[ev.ExecutionID] > 0 {
					seen[ev.ExecutionID] = ev.Seq
				}
			}
			if len(evs) < replayPage {
				break
			}
		}
	}
	if err := out.live(); err != nil {
		return outcome{}, err
	}
	// What a broad subscription writes feeds list views, which can wait a few milliseconds: once it
	// has written an event it lingers, so that the events of other executions that come meanwhile go
	// out in the same write and the goroutine wakes once for them all.
	linger := s.g.cfg.BroadLinger
	var timer *time.Timer
	pending, lingered := false, false
	for {
		if pending && !lingered && linger > 0 {
			lingered = true
			if timer == nil {
				timer = time.NewTimer(linger)
				defer timer.Stop()
			} else {
				timer.Reset(linger)
			}
			select {
			case <-timer.C:
			case <-s.bus.Lagged:
				return resume(), nil
			case <-ctx.Done():
				return outcome{}, ctx.Err()
			}
		}
		if len(s.bus.C) == 0 {
			if err := out.idle(); err != nil {
				return outcome{}, err
			}
			pending, lingered = false, false
		}
		select {
		case m, ok := <-s.bus.C:
			if !ok {
				return resume(), nil
			}
			id := m.Event.ExecutionID
			if at, ok := seen[id]; ok {
				if m.Event.Seq <= at {
					continue
				}
				// The bus is past the replay for this execution: nothing older can follow.
				delete(seen, id)
			}
			if err := out.event(m, true); err != nil {
				return outcome{}, err
			}
			pending = true
			c := store.EventCursor{Time: m.Event.Time, ExecutionID: id, Seq: m.Event.Seq}
			last = &c
		case <-s.bus.Lagged:
			return resume(), nil
		case <-ctx.Done():
			return outcome{}, ctx.Err()
		}
	}
}

type nopObserver struct{}

func (nopObserver) LiveClients(string, int)               {}
func (nopObserver) LiveMessageSent(string, time.Duration) {}
func (nopObserver) LiveResync(string)                     {}
