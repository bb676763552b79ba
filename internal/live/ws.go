package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/concertmaster/concertmaster/internal/event"
)

// Close reasons, documented in docs/live.md.
const (
	reasonShutdown     = "server shutting down"
	reasonBinary       = "binary frames are not accepted"
	reasonTooMany      = "too many messages"
	reasonHeartbeat    = "heartbeat timeout"
	transportWebSocket = "ws"
	reasonAuthFirst    = `authentication required: send {"type":"auth","token":"<access token or API key>"} first`
	reasonAuthTimeout  = "authentication timeout"
	reasonExpired      = "token expired"
	reasonWorkspace    = "a connection stays in the workspace it authenticated in"
)

// Close codes of authentication (docs/live.md): 4001 when the credential expires (reconnect with a
// fresh one and resume), 4401 when the credential is refused.
const (
	StatusTokenExpired websocket.StatusCode = 4001
	StatusUnauthorized websocket.StatusCode = 4401
)

// AuthTimeout is how long a WebSocket client has to send its auth message.
const AuthTimeout = 10 * time.Second

// Access is what a live client acts as.
type Access struct {
	TenantID string
	// ExpiresAt, when set, is when the credential expires: a WebSocket is then closed with 4001
	// unless the client sent a fresh auth message.
	ExpiresAt time.Time
}

// Authenticator resolves the token of a WebSocket's auth message. Its error's text is sent to the
// client.
type Authenticator func(ctx context.Context, token string) (Access, error)

// ServeWS upgrades the request to a WebSocket and serves the protocol of docs/live.md. With pre (the
// upgrade request carried credentials) the client acts as pre at once; otherwise its first message
// must be an auth message, which authn resolves, and nothing is served before. A request that is
// not a WebSocket handshake answers 400, one from a page of another origin 403, and one over the
// client limit 503, as problems.
func (g *Gateway) ServeWS(w http.ResponseWriter, r *http.Request, pre *Access, authn Authenticator) {
	if detail := handshakeProblem(r); detail != "" {
		g.cfg.Problem(w, http.StatusBadRequest, detail)
		return
	}
	listed := g.listedOrigin(r)
	if !listed && !sameOrigin(r) {
		g.cfg.Problem(w, http.StatusForbidden, "the WebSocket was opened by a page of another origin ("+excerpt(r.Header.Get("Origin"))+
			"); open it from the ConcertMaster app or from a program")
		return
	}
	if !g.acquire() {
		w.Header().Set("Retry-After", "5")
		g.cfg.Problem(w, http.StatusServiceUnavailable, fmt.Sprintf("the server holds its maximum of %d live clients, or is shutting down; retry later", g.cfg.MaxClients))
		return
	}
	defer g.release()
	cw := &corkingWriter{ResponseWriter: w, timeout: g.cfg.WriteTimeout}
	var opts *websocket.AcceptOptions
	if listed {
		// The origin is one of AllowedOrigins, compared exactly above; the library's own check knows
		// only the same origin and host patterns.
		opts = &websocket.AcceptOptions{InsecureSkipVerify: true}
	}
	c, err := websocket.Accept(cw, r, opts)
	if err != nil {
		g.logger.Debug("WebSocket handshake failed", "error", err)
		return
	}
	c.SetReadLimit(MaxFrameBytes)
	g.cfg.Observer.LiveClients(transportWebSocket, 1)
	defer g.cfg.Observer.LiveClients(transportWebSocket, -1)

	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	wc := &wsConn{g: g, c: c, cork: cw.conn, ctx: ctx, cancel: cancel, subs: make(map[string]context.CancelFunc),
		bucket: newBucket(g.cfg.MessageRate, g.cfg.MessageBurst), authn: authn}
	if pre != nil {
		wc.tenant = pre.TenantID
		wc.setExpiry(pre.ExpiresAt)
	}
	if !g.track(wc) {
		_ = c.Close(websocket.StatusGoingAway, reasonShutdown)
		return
	}
	defer g.untrack(wc)
	wc.serve()
}

// handshakeProblem says why r is not a WebSocket handshake, or "".
func handshakeProblem(r *http.Request) string {
	switch {
	case !headerHasToken(r.Header, "Connection", "upgrade") || !headerHasToken(r.Header, "Upgrade", "websocket"):
		return "this endpoint speaks WebSocket (docs/live.md): send Connection: Upgrade and Upgrade: websocket, or use the SSE endpoints"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "unsupported Sec-WebSocket-Version: use 13"
	case r.Header.Get("Sec-WebSocket-Key") == "":
		return "the Sec-WebSocket-Key header is missing"
	}
	return ""
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// sameOrigin reports whether a browser's Origin, when there is one, is the host the request was sent
// to: a page of another site must not read what the server streams.
// listedOrigin reports whether the request's Origin is one of AllowedOrigins, exactly.
func (g *Gateway) listedOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o != "" && slices.Contains(g.cfg.AllowedOrigins, o)
}

func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func excerpt(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// track registers a connection for Shutdown; false when shutdown has begun.
func (g *Gateway) track(wc *wsConn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.conns[wc] = struct{}{}
	return true
}

func (g *Gateway) untrack(wc *wsConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.conns, wc)
}

// wsConn is one WebSocket client.
type wsConn struct {
	g      *Gateway
	c      *websocket.Conn
	cork   *corkConn
	tenant string
	authn  Authenticator
	expiry *time.Timer // guarded by mu
	ctx    context.Context
	cancel context.CancelFunc
	bucket *bucket

	mu   sync.Mutex
	subs map[string]context.CancelFunc
	wg   sync.WaitGroup

	closeOnce sync.Once
}

// closeWith closes the connection once, with a code and reason: the close handshake runs while the
// read loop still reads the client's answer; then everything of the connection stops.
func (wc *wsConn) closeWith(code websocket.StatusCode, reason string) {
	wc.closeOnce.Do(func() {
		go func() {
			_ = wc.c.Close(code, reason)
			wc.cancel()
		}()
	})
}

// drop ends the connection without a close handshake: for a client that does not read.
func (wc *wsConn) drop() {
	wc.closeOnce.Do(func() {
		_ = wc.c.CloseNow()
		wc.cancel()
	})
}

// serve reads client messages until the connection ends; subscriptions run on their own goroutines.
func (wc *wsConn) serve() {
	defer wc.wg.Wait()
	defer wc.cancel()
	defer wc.setExpiry(time.Time{})
	go wc.heartbeat()
	if wc.tenant == "" && !wc.authenticate() {
		return
	}
	hello, _ := json.Marshal(map[string]any{"type": "hello", "version": wc.g.cfg.Version, "maxSubscriptions": wc.g.cfg.MaxSubscriptions,
		"heartbeatSeconds": int(wc.g.cfg.Heartbeat / time.Second)})
	if err := wc.write(hello); err != nil {
		return
	}
	for {
		typ, data, err := wc.c.Read(wc.ctx)
		if err != nil {
			wc.closeWith(websocket.StatusNormalClosure, "")
			return
		}
		if typ != websocket.MessageText {
			wc.closeWith(websocket.StatusUnsupportedData, reasonBinary)
			return
		}
		if !wc.bucket.take(time.Now()) {
			wc.closeWith(websocket.StatusPolicyViolation, fmt.Sprintf("%s: at most %d in a burst, %d per second", reasonTooMany,
				wc.g.cfg.MessageBurst, wc.g.cfg.MessageRate))
			return
		}
		wc.handle(data)
	}
}

// authenticate waits for the client's first message, which must be an auth message with a token
// authn accepts, and reports whether it was.
func (wc *wsConn) authenticate() bool {
	ctx, cancel := context.WithTimeout(wc.ctx, AuthTimeout)
	typ, data, err := wc.c.Read(ctx)
	cancel()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && wc.ctx.Err() == nil {
			wc.closeWith(websocket.StatusPolicyViolation, reasonAuthTimeout)
		} else {
			wc.closeWith(websocket.StatusNormalClosure, "")
		}
		return false
	}
	r, perr := parseRequest(data)
	if typ != websocket.MessageText || perr != nil || r.kind != "auth" || wc.authn == nil {
		wc.closeWith(websocket.StatusPolicyViolation, reasonAuthFirst)
		return false
	}
	return wc.reauthenticate(r.token)
}

// reauthenticate resolves an auth message's token: the first one sets the connection's tenant, a
// later one (a fresh token before the old one expires) must name the same tenant and moves the
// expiry. A refused token closes the connection with 4401.
func (wc *wsConn) reauthenticate(token string) bool {
	if wc.authn == nil {
		wc.fail("", "bad_message", "this connection authenticated with its request: there is nothing to renew")
		return true
	}
	a, err := wc.authn(wc.ctx, token)
	if err != nil {
		_ = wc.send(serverMessage{Type: "error", Code: "unauthorized", Message: excerpt(err.Error())})
		wc.closeWith(StatusUnauthorized, "unauthorized")
		return false
	}
	wc.mu.Lock()
	first := wc.tenant == ""
	same := first || wc.tenant == a.TenantID
	if first {
		wc.tenant = a.TenantID
	}
	wc.mu.Unlock()
	if !same {
		wc.closeWith(websocket.StatusPolicyViolation, reasonWorkspace)
		return false
	}
	wc.setExpiry(a.ExpiresAt)
	return true
}

// setExpiry arms the close at the credential's expiry (none for a zero time), replacing any earlier.
func (wc *wsConn) setExpiry(at time.Time) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.expiry != nil {
		wc.expiry.Stop()
		wc.expiry = nil
	}
	if at.IsZero() {
		return
	}
	wc.expiry = time.AfterFunc(time.Until(at), func() { wc.closeWith(StatusTokenExpired, reasonExpired) })
}

// heartbeat pings the client and closes the connection when a pong does not come in time, or when
// the server shuts down.
func (wc *wsConn) heartbeat() {
	t := time.NewTicker(wc.g.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-wc.g.shutdown:
			wc.closeWith(websocket.StatusGoingAway, reasonShutdown)
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(wc.ctx, wc.g.cfg.PongTimeout)
			err := wc.c.Ping(ctx)
			cancel()
			if err != nil {
				if wc.ctx.Err() == nil {
					// A peer that does not answer pings would not answer a close handshake either.
					wc.g.logger.Debug("Dropping a WebSocket client", "reason", reasonHeartbeat)
					wc.drop()
				}
				return
			}
		case <-wc.ctx.Done():
			return
		}
	}
}

// write sends one message, closing the connection when the client does not take it in time.
func (wc *wsConn) write(b []byte) error {
	ctx, cancel := context.WithTimeout(wc.ctx, wc.g.cfg.WriteTimeout)
	defer cancel()
	err := wc.c.Write(ctx, websocket.MessageText, b)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && wc.ctx.Err() == nil {
			wc.g.logger.Debug("Dropping a WebSocket client that does not read", "timeout", wc.g.cfg.WriteTimeout)
		}
		wc.drop()
		return fmt.Errorf("write to WebSocket client: %w", err)
	}
	return nil
}

// writeHeld sends one message while the connection is held (corkConn): it only gathers bytes, so it
// needs no timeout of its own; the release writes them within WriteTimeout.
func (wc *wsConn) writeHeld(b []byte) error {
	// context.Background: a context that can end makes the library register (and then drop) a
	// callback on it for every message, which costs more than gathering the frame.
	if err := wc.c.Write(context.Background(), websocket.MessageText, b); err != nil {
		wc.drop()
		return fmt.Errorf("write to WebSocket client: %w", err)
	}
	return nil
}

// serverMessage is a control message to the client.
type serverMessage struct {
	Type         string     `json:"type"`
	Subscription string     `json:"subscription,omitempty"`
	ExecutionID  string     `json:"executionId,omitempty"`
	AfterSeq     *int64     `json:"afterSeq,omitempty"`
	Since        *time.Time `json:"since,omitempty"`
	Code         string     `json:"code,omitempty"`
	Message      string     `json:"message,omitempty"`
	Reason       string     `json:"reason,omitempty"`
}

func (wc *wsConn) send(m serverMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Type, err)
	}
	return wc.write(b)
}

func (wc *wsConn) fail(sub, code, msg string) {
	_ = wc.send(serverMessage{Type: "error", Subscription: sub, Code: code, Message: msg})
}

// handle acts on one client message.
func (wc *wsConn) handle(data []byte) {
	r, perr := parseRequest(data)
	if perr != nil {
		wc.fail(perr.subscription, perr.code, perr.message)
		return
	}
	switch r.kind {
	case "auth":
		wc.reauthenticate(r.token)
	case "ping":
		_ = wc.send(serverMessage{Type: "pong"})
	case "subscribe":
		wc.subscribe(r.id, r.spec, r.batch)
	case "unsubscribe":
		wc.mu.Lock()
		cancel, ok := wc.subs[r.id]
		wc.mu.Unlock()
		if !ok {
			wc.fail(r.id, "unknown_subscription", "no open subscription has this id")
			return
		}
		cancel()
	}
}

// errUnsubscribed is the cause of a subscription's end by unsubscribe.
var errUnsubscribed = errors.New("unsubscribed")

func (wc *wsConn) subscribe(id string, spec Spec, batch bool) {
	ctx, cancel := context.WithCancelCause(wc.ctx)
	wc.mu.Lock()
	_, dup := wc.subs[id]
	full := len(wc.subs) >= wc.g.cfg.MaxSubscriptions
	if !dup && !full {
		wc.subs[id] = func() { cancel(errUnsubscribed) }
		wc.wg.Add(1)
	}
	wc.mu.Unlock()
	switch {
	case dup:
		cancel(nil)
		wc.fail(id, "duplicate_subscription", "a subscription with this id is open: unsubscribe it first, or choose another id")
		return
	case full:
		cancel(nil)
		wc.fail(id, "too_many_subscriptions", fmt.Sprintf("a connection holds at most %d subscriptions", wc.g.cfg.MaxSubscriptions))
		return
	}
	go wc.follow(ctx, cancel, id, spec, batch)
}

// follow runs one subscription and sends its closing message.
func (wc *wsConn) follow(ctx context.Context, cancel context.CancelCauseFunc, id string, spec Spec, batch bool) {
	defer wc.wg.Done()
	defer cancel(nil)
	end := func() {
		wc.mu.Lock()
		delete(wc.subs, id)
		wc.mu.Unlock()
	}
	s, err := wc.g.open(ctx, wc.tenant, spec)
	if err != nil {
		end()
		if errors.Is(err, ErrNotFound) {
			wc.fail(id, "not_found", err.Error())
		} else if ctx.Err() == nil {
			wc.g.logger.Warn("Live subscription failed", "error", err)
			wc.fail(id, "internal", "the subscription failed; the server log has the details")
		}
		return
	}
	defer s.close()
	if wc.send(serverMessage{Type: "subscribed", Subscription: id}) != nil {
		end()
		return
	}
	out := &wsSink{wc: wc, prefix: subscriptionPrefix(id), id: id, batch: batch}
	o, err := s.run(ctx, out)
	// The id is free again before the closing message goes out, so that a client may reuse it at once.
	end()
	switch {
	case err != nil && errors.Is(context.Cause(ctx), errUnsubscribed):
		_ = wc.send(serverMessage{Type: "unsubscribed", Subscription: id})
	case err != nil:
		if ctx.Err() == nil && !isWriteError(err) {
			wc.g.logger.Warn("Live subscription failed", "error", err)
			wc.fail(id, "internal", "the subscription failed; resubscribe to resume")
		}
	case o.complete:
		_ = wc.send(serverMessage{Type: "complete", Subscription: id, ExecutionID: spec.ExecutionID})
	case o.resync:
		wc.g.cfg.Observer.LiveResync(transportWebSocket)
		msg := serverMessage{Type: "resync", Subscription: id, Reason: "the client fell more than the buffer behind the events"}
		if spec.ExecutionID != "" {
			msg.ExecutionID, msg.AfterSeq = spec.ExecutionID, &o.afterSeq
		} else {
			msg.Since = &o.since
		}
		_ = wc.send(msg)
	}
}

func isWriteError(err error) bool { return strings.Contains(err.Error(), "write to WebSocket client") }

// subscriptionPrefix is the start of an event message naming the subscription.
func subscriptionPrefix(id string) []byte {
	b, _ := json.Marshal(id)
	return append(append([]byte(`{"subscription":`), b...), ',')
}

// wsSink writes a subscription's events to the connection.
type wsSink struct {
	wc     *wsConn
	prefix []byte
	id     string
	buf    []byte
	// held: the connection gathers this subscription's events until idle.
	held bool
	// batch: the client asked for events in batch messages; pending are those not sent yet.
	batch   bool
	pending []pendingEvent
}

type pendingEvent struct {
	m    *event.Message
	live bool
}

// maxBatch bounds the events of one batch message (and what a batching subscription holds).
const maxBatch = 100

func (s *wsSink) event(m *event.Message, live bool) error {
	if s.batch {
		s.pending = append(s.pending, pendingEvent{m, live})
		if len(s.pending) >= maxBatch {
			return s.flushBatch()
		}
		return nil
	}
	if !s.held {
		s.wc.cork.hold()
		s.held = true
	}
	body := m.JSON()
	s.buf = append(append(s.buf[:0], s.prefix...), body[1:]...)
	if err := s.wc.writeHeld(s.buf); err != nil {
		return err
	}
	s.sent(m, live)
	return nil
}

func (s *wsSink) sent(m *event.Message, live bool) {
	var latency time.Duration
	if live {
		latency = time.Since(m.Event.Time)
	}
	s.wc.g.cfg.Observer.LiveMessageSent(transportWebSocket, latency)
}

// flushBatch sends the pending events as one batch message.
func (s *wsSink) flushBatch() error {
	if len(s.pending) == 0 {
		return nil
	}
	s.buf = append(append(s.buf[:0], `{"type":"batch",`...), s.prefix[1:]...)
	s.buf = append(s.buf, `"events":[`...)
	for i, p := range s.pending {
		if i > 0 {
			s.buf = append(s.buf, ',')
		}
		s.buf = append(s.buf, p.m.JSON()...)
	}
	s.buf = append(s.buf, "]}"...)
	if err := s.wc.write(s.buf); err != nil {
		return err
	}
	for _, p := range s.pending {
		s.sent(p.m, p.live)
	}
	clear(s.pending)
	s.pending = s.pending[:0]
	return nil
}

func (s *wsSink) live() error {
	if err := s.flushBatch(); err != nil {
		return err
	}
	return s.wc.send(serverMessage{Type: "live", Subscription: s.id})
}

func (s *wsSink) idle() error {
	if s.batch {
		return s.flushBatch()
	}
	if !s.held {
		return nil
	}
	s.held = false
	if err := s.wc.cork.release(); err != nil {
		s.wc.drop()
		return err
	}
	return nil
}

// bucket is a token bucket: rate tokens a second, at most burst.
type bucket struct {
	rate, burst float64
	tokens      float64
	at          time.Time
}

func newBucket(rate, burst int) *bucket {
	return &bucket{rate: float64(rate), burst: float64(burst), tokens: float64(burst)}
}

func (b *bucket) take(now time.Time) bool {
	if !b.at.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
