package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/spf13/cobra"

	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/live"
)

// serverEnv names the server a client command talks to. It is a client-side variable, not a setting
// of the server process (internal/config), shared with the web app's development server.
const serverEnv = "CM_API_URL"

const defaultServer = "http://127.0.0.1:8080"

// Exit codes of watch besides 0 (succeeded) and 1 (failed or canceled).
const (
	exitUnreachable = 3   // the server did not answer for --retry-for
	exitInterrupted = 130 // Ctrl-C before the execution finished
)

func newWatchCmd(lookupEnv func(string) (string, bool)) *cobra.Command {
	var o watchOptions
	var since string
	server := defaultServer
	if v, ok := lookupEnv(serverEnv); ok && v != "" {
		server = v
	}
	cmd := &cobra.Command{
		Use:   "watch EXECUTION_ID | --workflow ID | --all",
		Short: "Print an execution's events live, or the runs of a workflow or of every workflow as they start and end",
		Long: "With an execution id, print its events from the start, then live, one line each, and exit when it finishes:\n" +
			"0 when it succeeded, 1 when it failed or was canceled, 2 when there is no such execution, 130 on Ctrl-C.\n" +
			"With --workflow ID or --all, print the execution-level events (queued, started, waiting, finished …) of\n" +
			"that workflow's or of every execution, live (or from --since), until Ctrl-C (exit 0).\n\n" +
			"The connection is the server's WebSocket (docs/live.md). When it drops or the server restarts, watch\n" +
			"reconnects with exponential backoff and resumes where it stopped, missing nothing and printing nothing\n" +
			"twice; after --retry-for without reaching the server it gives up with exit code 3.\n\n" +
			"It signs in with $CM_API_KEY when set (an API key, for scripts), else with the session concertmaster\n" +
			"login stored for the server, renewed as it expires.",
		Example: "  concertmaster watch 019ad3c4-0c8e-7c41-9f1e-8f5b3c2a1d00\n" +
			"  concertmaster watch --workflow 019ad3c1-… --since 1h --json\n" +
			"  CM_API_URL=http://ci.example.com:8080 concertmaster watch --all",
		Args: func(cmd *cobra.Command, args []string) error {
			broad := o.workflowID != "" || o.all
			switch {
			case o.workflowID != "" && o.all:
				return errors.New("give --workflow or --all, not both")
			case broad && len(args) > 0:
				return errors.New("give an execution id or --workflow/--all, not both")
			case !broad && len(args) != 1:
				return errors.New("give one execution id, or --workflow ID, or --all")
			case !broad && since != "":
				return errors.New("--since goes with --workflow or --all: an execution is always shown from its start")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			base, err := serverURL(server)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			u, err := webSocketURL(base)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			o.wsURL = u
			if len(args) == 1 {
				o.executionID = args[0]
			}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				o.since = &t
			}
			if o.auth, err = credentialsFor(lookupEnv, base); err != nil {
				return err
			}
			o.out, o.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return newWatcher(o).run(cmd.Context())
		},
	}
	// Wrong arguments are usage errors, like bad flags.
	args := cmd.Args
	cmd.Args = func(cmd *cobra.Command, a []string) error {
		if err := args(cmd, a); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("%w (see concertmaster watch --help)", err)}
		}
		return nil
	}
	f := cmd.Flags()
	f.StringVar(&o.workflowID, "workflow", "", "follow the executions of this workflow")
	f.BoolVar(&o.all, "all", false, "follow every execution")
	f.StringVar(&since, "since", "", "with --workflow or --all: first replay the events from this time (RFC 3339, or a duration ago such as 1h)")
	f.BoolVar(&o.asJSON, "json", false, "print each event message as one line of JSON (docs/live.md)")
	f.StringVar(&server, "server", server, "the server's URL (env "+serverEnv+")")
	f.DurationVar(&o.retryFor, "retry-for", 5*time.Minute, "give up (exit 3) when the server has not answered for this long; 0 retries forever")
	return cmd
}

// serverURL is the server's URL (http, https, or host:port) in one form: scheme, host and path
// without a final slash, query or fragment. Stored sessions are keyed by it.
func serverURL(server string) (string, error) {
	raw := server
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("--server %q is not a URL such as http://127.0.0.1:8080", raw)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("--server %q: use an http:// or https:// URL", raw)
	}
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment, u.User = "", "", "", nil
	return u.String(), nil
}

// webSocketURL turns the server's URL (http, https, or host:port) into its live WebSocket's.
func webSocketURL(server string) (string, error) {
	base, err := serverURL(server)
	if err != nil {
		return "", err
	}
	u, _ := url.Parse(base)
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path += "/api/v1/ws"
	return u.String(), nil
}

// parseSince reads --since: a time in RFC 3339, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a time such as 2026-11-30T21:00:00Z or a duration ago such as 15m", s)
}

// watchOptions is what the command line asks watch to do.
type watchOptions struct {
	wsURL       string
	executionID string
	workflowID  string
	all         bool
	since       *time.Time
	asJSON      bool
	retryFor    time.Duration
	// auth gives the bearer token of the handshake.
	auth        tokenSource
	out, errOut io.Writer
	// backoff is the first reconnection delay and maxBackoff the longest (defaults 250 ms and 10 s).
	backoff, maxBackoff time.Duration
}

// watcher follows one subscription across connections: per execution it keeps the last seq printed
// (and, for a workflow or every execution, the time of the last event), resumes from there after a
// reconnect or a resync, and drops what it has already printed.
type watcher struct {
	watchOptions
	broad bool
	// lastSeq is the execution's last printed seq (execution mode).
	lastSeq int64
	// seen holds, per execution, the last printed seq and its time (broad mode); resume is the time
	// a broad subscription resumes from (the last event's, or when it first went live).
	seen   map[string]seenAt
	resume *time.Time
	// final is the execution's finished status once printed.
	final string
	subs  int
	// renewed counts the tokens renewed since the last accepted subscription: a server that refuses
	// fresh ones too ends watch.
	renewed int
}

type seenAt struct {
	seq  int64
	time time.Time
}

func newWatcher(o watchOptions) *watcher {
	if o.backoff <= 0 {
		o.backoff = 250 * time.Millisecond
	}
	if o.maxBackoff <= 0 {
		o.maxBackoff = 10 * time.Second
	}
	return &watcher{watchOptions: o, broad: o.executionID == "", seen: make(map[string]seenAt), resume: o.since}
}

// message is any message the server sends: an event (its type has a dot) or a control message.
type message struct {
	event.Wire
	Subscription string `json:"subscription"`
	// Events are the events of a batch message.
	Events []message `json:"events"`
	// Control messages.
	Code             string     `json:"code"`
	Message          string     `json:"message"`
	Reason           string     `json:"reason"`
	AfterSeq         *int64     `json:"afterSeq"`
	Since            *time.Time `json:"since"`
	HeartbeatSeconds int        `json:"heartbeatSeconds"`
}

// retryError ends a connection that should be opened again.
type retryError struct {
	err   error
	after time.Duration // at least this long before the next attempt (Retry-After)
}

func (e *retryError) Error() string { return e.err.Error() }

// errDone ends watch: the execution finished.
var errDone = errors.New("done")

// run connects, and reconnects, until the execution finishes, ctx ends, the server is unreachable
// for retryFor, or the server refuses the subscription.
func (w *watcher) run(ctx context.Context) error {
	attempt := 0
	var lostAt time.Time
	for {
		connected, err := w.connect(ctx)
		switch {
		case errors.Is(err, errDone):
			return w.result()
		case ctx.Err() != nil:
			if w.broad {
				return nil
			}
			return &exitError{code: exitInterrupted, err: errors.New("watch stopped; the execution goes on")}
		}
		var re *retryError
		if !errors.As(err, &re) {
			return err
		}
		if connected || lostAt.IsZero() {
			attempt, lostAt = 0, time.Now()
		}
		attempt++
		if w.retryFor > 0 && time.Since(lostAt) >= w.retryFor {
			return &exitError{code: exitUnreachable, err: fmt.Errorf("gave up after %s without the server: %w", w.retryFor, re.err)}
		}
		d := max(w.delay(attempt), re.after)
		fmt.Fprintf(w.errOut, "watch: %v; reconnecting in %s\n", re.err, d.Round(time.Millisecond))
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// delay is the wait before reconnection attempt n: exponential, capped, with jitter (half fixed,
// half random), so that many clients of a restarted server do not come back at once.
func (w *watcher) delay(n int) time.Duration {
	d := w.maxBackoff
	if n < 30 {
		d = min(w.maxBackoff, w.backoff<<(n-1))
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // reconnect jitter spreads load; it protects nothing
}

func (w *watcher) result() error {
	switch w.final {
	case "", "succeeded":
		return nil
	default:
		return &exitError{code: 1, err: fmt.Errorf("execution %s", w.final)}
	}
}

// connect runs one connection. connected reports whether the subscription was accepted (the
// backoff then starts over).
func (w *watcher) connect(ctx context.Context) (connected bool, err error) {
	// The server pings every heartbeat; a connection that carries nothing, not even a ping, for two
	// of them is dead (a server that vanished without closing it). The ping callback runs inside
	// Read, on this goroutine.
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	heartbeat := 20 * time.Second
	watchdog := time.AfterFunc(time.Hour, rcancel)
	defer watchdog.Stop()
	heard := func() { watchdog.Reset(2*heartbeat + 5*time.Second) }

	token, err := w.auth.Token(ctx)
	if err != nil {
		return false, err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, resp, err := websocket.Dial(dctx, w.wsURL, &websocket.DialOptions{
		// The token goes in the upgrade request's header, never in its URL (docs/live.md).
		HTTPHeader:     http.Header{"Authorization": {"Bearer " + token}},
		OnPingReceived: func(context.Context, []byte) bool { heard(); return true },
	})
	cancel()
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		return false, w.dialError(ctx, resp, token, err)
	}
	defer func() { _ = c.CloseNow() }()
	c.SetReadLimit(16 << 20)
	heard()

	for {
		_, data, err := c.Read(rctx)
		if err != nil {
			if ctx.Err() != nil {
				return connected, ctx.Err()
			}
			reason := closeReason(rctx.Err() != nil, err)
			switch websocket.CloseStatus(err) {
			case live.StatusTokenExpired, live.StatusUnauthorized:
				return connected, w.renew(ctx, token, reason)
			}
			return connected, &retryError{err: reason}
		}
		heard()
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			return connected, &retryError{err: fmt.Errorf("the server sent a message that is not JSON: %w", err)}
		}
		if strings.Contains(m.Type, ".") {
			m.Events = []message{m}
		}
		if len(m.Events) > 0 { // one event, or a batch of them
			for i := range m.Events {
				if err := w.event(&m.Events[i]); err != nil {
					_ = c.Close(websocket.StatusNormalClosure, "")
					return connected, err
				}
			}
			continue
		}
		switch m.Type {
		case "hello":
			if m.HeartbeatSeconds > 0 {
				heartbeat = time.Duration(m.HeartbeatSeconds) * time.Second
			}
			if err := w.subscribe(ctx, c); err != nil {
				return connected, &retryError{err: err}
			}
		case "subscribed":
			connected = true
			w.renewed = 0
		case "live":
			if w.broad && w.resume == nil {
				// Started live: a reconnect replays from the moment the subscription went live.
				// (The client's clock, a little early so that nothing between is lost.)
				t := time.Now().Add(-time.Second)
				w.resume = &t
			}
			fmt.Fprintf(w.errOut, "watch: %s (live)\n", w.what())
		case "complete":
			return connected, errDone
		case "resync":
			fmt.Fprintf(w.errOut, "watch: fell behind the events; resuming %s\n", w.from())
			if w.broad && w.resume == nil && m.Since != nil {
				w.resume = m.Since
			}
			if err := w.subscribe(ctx, c); err != nil {
				return connected, &retryError{err: err}
			}
		case "error":
			return connected, w.refused(&m)
		}
	}
}

// what names what is watched, for messages.
func (w *watcher) what() string {
	switch {
	case !w.broad:
		return "execution " + w.executionID
	case w.workflowID != "":
		return "workflow " + w.workflowID
	}
	return "every execution"
}

// from says where the next subscription starts, for messages.
func (w *watcher) from() string {
	switch {
	case !w.broad:
		return "after event " + strconv.FormatInt(w.lastSeq, 10)
	case w.resume != nil:
		return "from " + w.resume.Format(time.RFC3339Nano)
	}
	return "live"
}

// subscribe sends the subscription, resuming where the watcher stopped.
func (w *watcher) subscribe(ctx context.Context, c *websocket.Conn) error {
	w.subs++
	// Batches: the events that come together arrive in one message (docs/live.md).
	sub := map[string]any{"type": "subscribe", "id": "w" + strconv.Itoa(w.subs), "batch": true}
	switch {
	case !w.broad:
		sub["executionId"] = w.executionID
		if w.lastSeq > 0 {
			sub["afterSeq"] = w.lastSeq
		}
	case w.workflowID != "":
		sub["workflowId"] = w.workflowID
	}
	if w.broad && w.resume != nil {
		sub["since"] = w.resume.UTC().Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(sub)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Write(wctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return nil
}

// refused handles an error message: not_found ends watch with exit code 2, internal is retried,
// anything else is this program's mistake.
func (w *watcher) refused(m *message) error {
	switch m.Code {
	case "not_found":
		return &exitError{code: 2, err: fmt.Errorf("the server has no %s", strings.TrimPrefix(m.Message, "not found: no "))}
	case "internal":
		return &retryError{err: fmt.Errorf("the server failed the subscription: %s", m.Message)}
	}
	return fmt.Errorf("the server refused the subscription (%s): %s", m.Code, m.Message)
}

// renew gets a fresh token after the server refused or expired token (why says how), for the
// next connection. A credential that cannot be renewed, or a server that refuses fresh tokens
// too, ends watch.
func (w *watcher) renew(ctx context.Context, token string, why error) error {
	if w.renewed >= 2 {
		return &exitError{code: 2, err: fmt.Errorf("the server refuses fresh tokens too: %w", why)}
	}
	w.renewed++
	if _, err := w.auth.Renew(ctx, token, why.Error()); err != nil {
		return err
	}
	return &retryError{err: why}
}

// dialError classifies a failed handshake: a busy server (429, 503) or a network error is retried, a
// refused token (401) renewed, any other answer (no live endpoint, a proxy refusing) ends watch.
func (w *watcher) dialError(ctx context.Context, resp *http.Response, token string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if resp == nil {
		return &retryError{err: fmt.Errorf("cannot reach %s: %w", w.wsURL, unwrapDial(err))}
	}
	detail := problemDetail(resp)
	if resp.StatusCode == http.StatusUnauthorized {
		return w.renew(ctx, token, fmt.Errorf("the server refused the token (401): %s", detail))
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		re := &retryError{err: fmt.Errorf("the server is busy (%d): %s", resp.StatusCode, detail)}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			re.after = time.Duration(s) * time.Second
		}
		return re
	}
	return fmt.Errorf("%s answered %d to the WebSocket handshake: %s", w.wsURL, resp.StatusCode, detail)
}

// unwrapDial drops the library's "failed to WebSocket dial:" prefixes, keeping the cause.
func unwrapDial(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func problemDetail(resp *http.Response) string {
	var p struct {
		Detail string `json:"detail"`
	}
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		if json.Unmarshal(b, &p) == nil && p.Detail != "" {
			return p.Detail
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			return s
		}
	}
	return http.StatusText(resp.StatusCode)
}

// closeReason says why a connection ended; silent when the watchdog ended it.
func closeReason(silent bool, err error) error {
	if silent {
		return errors.New("the server went silent (no heartbeat)")
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		if ce.Reason != "" {
			return fmt.Errorf("the server closed the connection: %s (%d)", ce.Reason, ce.Code)
		}
		return fmt.Errorf("the server closed the connection (%d)", ce.Code)
	}
	return errors.New("the connection was lost")
}

// event prints an event unless it was printed already; errDone after an execution's last.
func (w *watcher) event(m *message) error {
	if w.broad {
		if at, ok := w.seen[m.ExecutionID]; ok && m.Seq <= at.seq {
			return nil
		}
		w.seen[m.ExecutionID] = seenAt{seq: m.Seq, time: m.Time}
		// docs/live.md: resume from the time of the last event (what is at or after it again is
		// dropped above).
		t := m.Time
		w.resume = &t
		w.forget()
	} else {
		if m.ExecutionID != w.executionID || m.Seq <= w.lastSeq {
			return nil
		}
		w.lastSeq = m.Seq
	}
	if err := w.print(m); err != nil {
		return err
	}
	if !w.broad && m.Type == "execution.finished" {
		var p payload
		_ = json.Unmarshal(m.Payload, &p)
		w.final = cmp.Or(p.Status, "finished")
		return errDone
	}
	return nil
}

// forget drops the positions of executions whose last event is older than the resume time: a
// replay from there cannot bring them back, so the map stays as small as the events of one instant.
func (w *watcher) forget() {
	if len(w.seen) < 1024 || w.resume == nil {
		return
	}
	for id, at := range w.seen {
		if at.time.Before(*w.resume) {
			delete(w.seen, id)
		}
	}
}

func (w *watcher) print(m *message) error {
	if w.asJSON {
		b, err := json.Marshal(m.Wire)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w.out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(w.out, formatEvent(m, w.broad, time.Now()))
	return err
}

// payload is the union of the event payloads of docs/live.md.
type payload struct {
	Trigger         string   `json:"trigger"`
	TriggerNode     string   `json:"triggerNode"`
	WorkflowVersion int      `json:"workflowVersion"`
	RetryOf         string   `json:"retryOf"`
	ReusedNodes     []string `json:"reusedNodes"`
	WakeAt          string   `json:"wakeAt"`
	Reason          string   `json:"reason"`
	Running         *int     `json:"running"`
	Status          string   `json:"status"`
	DurationMs      *int64   `json:"durationMs"`
	Error           string   `json:"error"`
	Code            string   `json:"code"`
	Handled         string   `json:"handled"`
	NextAttempt     int      `json:"nextAttempt"`
	DelayMs         *int64   `json:"delayMs"`
	Port            string   `json:"port"`
	Level           string   `json:"level"`
	Message         string   `json:"message"`
}

// formatEvent is one event as a line: local time (with the date when it is not today), the
// execution when several are watched, the type, the node and attempt, and what the payload says.
func formatEvent(m *message, withExecution bool, now time.Time) string {
	t := m.Time.Local()
	stamp := t.Format("15:04:05.000")
	if y, mo, d := t.Date(); y != now.Year() || mo != now.Month() || d != now.Day() {
		stamp = t.Format("2006-01-02 15:04:05.000")
	}
	parts := []string{stamp}
	if withExecution {
		parts = append(parts, m.ExecutionID)
	}
	parts = append(parts, fmt.Sprintf("%-18s", m.Type))
	if m.NodeID != "" {
		parts = append(parts, fmt.Sprintf("%s #%d", m.NodeID, m.Attempt))
	}
	if d := details(m); d != "" {
		parts = append(parts, d)
	}
	return strings.TrimRight(strings.Join(parts, "  "), " ")
}

func details(m *message) string {
	var p payload
	if len(m.Payload) > 0 {
		_ = json.Unmarshal(m.Payload, &p)
	}
	ms := func(v *int64) string {
		if v == nil {
			return "?"
		}
		return (time.Duration(*v) * time.Millisecond).String()
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	switch m.Type {
	case "execution.queued":
		if p.Trigger != "" {
			add("trigger %s", p.Trigger)
		}
		if p.TriggerNode != "" {
			add("from %s", p.TriggerNode)
		}
		if p.WorkflowVersion > 0 {
			add("version %d", p.WorkflowVersion)
		}
		if p.RetryOf != "" {
			add("retry of %s", p.RetryOf)
		}
		if len(p.ReusedNodes) > 0 {
			add("reusing %s", strings.Join(p.ReusedNodes, ", "))
		}
	case "execution.waiting", "node.waiting":
		add("until %s", wakeAt(p.WakeAt))
	case "execution.draining":
		add("reason %s", p.Reason)
		if p.Running != nil {
			add("%d running", *p.Running)
		}
	case "execution.requeued":
		add("reason %s", p.Reason)
	case "execution.finished":
		add("%s in %s", p.Status, ms(p.DurationMs))
		if p.Error != "" {
			add("error: %s", p.Error)
		}
	case "node.succeeded":
		add("→ %s in %s", p.Port, ms(p.DurationMs))
	case "node.failed":
		add("error: %s", p.Error)
		if p.Code != "" {
			add("(%s)", p.Code)
		}
		if p.Handled != "" {
			add("handled: %s", p.Handled)
		}
	case "node.retrying":
		add("error: %s", p.Error)
		if p.Code != "" {
			add("(%s)", p.Code)
		}
		add("attempt %d in %s", p.NextAttempt, ms(p.DelayMs))
	case "node.log":
		add("[%s] %s", p.Level, p.Message)
	}
	return strings.Join(out, " ")
}

func wakeAt(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.Local().Format("2006-01-02 15:04:05.000")
}
