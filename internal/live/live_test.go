package live_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/live"
	"github.com/concertmaster/concertmaster/internal/store"
)

// chain is a workflow of a manual trigger and n data.set nodes in a row.
func chain(n int) string {
	nodes := []string{`{"id":"start","type":"trigger.manual"}`}
	var edges []string
	prev := "start"
	for i := range n {
		id := fmt.Sprintf("s%d", i)
		nodes = append(nodes, fmt.Sprintf(`{"id":%q,"type":"data.set","config":{"fields":{"i":%d}}}`, id, i))
		edges = append(edges, fmt.Sprintf(`{"source":%q,"target":%q}`, prev, id))
		prev = id
	}
	return `{"name":"chain","nodes":[` + strings.Join(nodes, ",") + `],"edges":[` + strings.Join(edges, ",") + `]}`
}

// delayFlow waits d between its trigger and a data.set node.
func delayFlow(d string) string {
	return `{"name":"delay","nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"wait","type":"flow.delay","config":{"duration":"` + d + `"}},
		{"id":"after","type":"data.set","config":{"fields":{"done":true}}}],
		"edges":[{"source":"start","target":"wait"},{"source":"wait","target":"after"}]}`
}

// msg is a message from the server.
type msg struct {
	Type         string          `json:"type"`
	Subscription string          `json:"subscription"`
	ExecutionID  string          `json:"executionId"`
	WorkflowID   string          `json:"workflowId"`
	Seq          int64           `json:"seq"`
	Time         time.Time       `json:"time"`
	NodeID       string          `json:"nodeId"`
	AfterSeq     *int64          `json:"afterSeq"`
	Since        *time.Time      `json:"since"`
	Code         string          `json:"code"`
	Message      string          `json:"message"`
	Payload      json.RawMessage `json:"payload"`
}

func (m msg) isEvent() bool { return strings.Contains(m.Type, ".") }

type client struct {
	t *testing.T
	c *websocket.Conn
}

func wsURL(s *apitest.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/api/v1/ws" }

func closeBody(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
}

// dial connects and reads the hello.
func dial(t *testing.T, s *apitest.Server) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, wsURL(s), nil)
	closeBody(resp)
	require.NoError(t, err)
	c.SetReadLimit(1 << 20)
	cl := &client{t: t, c: c}
	t.Cleanup(func() { _ = c.CloseNow() })
	// Authenticate as the web app does: the token in the first message.
	cl.send(map[string]string{"type": "auth", "token": s.Token})
	require.Equal(t, "hello", cl.next().Type)
	return cl
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	require.NoError(c.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(c.t, c.c.Write(ctx, websocket.MessageText, b))
}

func (c *client) next() msg {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, b, err := c.c.Read(ctx)
	require.NoError(c.t, err)
	var m msg
	require.NoError(c.t, json.Unmarshal(b, &m), string(b))
	return m
}

// until reads messages until one satisfies stop, returning all of them.
func (c *client) until(stop func(msg) bool) []msg {
	c.t.Helper()
	var out []msg
	for {
		m := c.next()
		out = append(out, m)
		if stop(m) {
			return out
		}
	}
}

// closeStatus reads until the connection ends and returns its close status.
func (c *client) closeStatus() (websocket.StatusCode, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		_, _, err := c.c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if ok := asClose(err, &ce); ok {
				return ce.Code, ce.Reason
			}
			return -1, err.Error()
		}
	}
}

func asClose(err error, ce *websocket.CloseError) bool { return errors.As(err, ce) }

// requireContiguous checks that the events run from first to the execution's stored last, each once.
func requireContiguous(t *testing.T, s *apitest.Server, execID string, first int64, got []msg) {
	t.Helper()
	stored := s.Events(t, execID)
	var seqs []int64
	for _, m := range got {
		if m.isEvent() {
			require.Equal(t, execID, m.ExecutionID)
			seqs = append(seqs, m.Seq)
		}
	}
	var want []int64
	for _, ev := range stored {
		if ev.Seq >= first {
			want = append(want, ev.Seq)
		}
	}
	require.Equal(t, want, seqs, "every event once, in order")
}

func TestWebSocketReplayLiveSeam(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{Workers: 8})
	w := s.Save(t, chain(30))
	const runs = 20
	// Subscriptions open while the runs write: some replay part of the log, some see it all live,
	// some start after the end. Each must see every event exactly once.
	cl := dial(t, s)
	ids := make([]string, runs)
	for i := range runs {
		ids[i] = s.Start(t, w.ID, `{}`).ID
		cl.send(map[string]any{"type": "subscribe", "id": ids[i], "executionId": ids[i]})
	}
	got := make(map[string][]msg)
	for done := 0; done < runs; {
		m := cl.next()
		require.NotEqual(t, "error", m.Type, m.Message)
		got[m.Subscription] = append(got[m.Subscription], m)
		if m.Type == "complete" {
			done++
		}
	}
	for _, id := range ids {
		ms := got[id]
		require.Equal(t, "subscribed", ms[0].Type)
		require.Equal(t, "complete", ms[len(ms)-1].Type)
		require.Equal(t, id, ms[len(ms)-1].ExecutionID)
		require.Equal(t, "execution.finished", ms[len(ms)-2].Type)
		requireContiguous(t, s, id, 1, ms)
		lives := 0
		for _, m := range ms {
			if m.Type == "live" {
				lives++
			}
		}
		require.LessOrEqual(t, lives, 1)
	}
}

func TestWebSocketResumesAfterDisconnect(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, delayFlow("700ms"))
	exec := s.Start(t, w.ID, `{}`)

	first := dial(t, s)
	first.send(map[string]any{"type": "subscribe", "id": "x", "executionId": exec.ID})
	seen := first.until(func(m msg) bool { return m.Type == "node.waiting" })
	last := seen[len(seen)-1].Seq
	require.NoError(t, first.c.CloseNow()) // the connection drops mid-run

	second := dial(t, s)
	second.send(map[string]any{"type": "subscribe", "id": "x", "executionId": exec.ID, "afterSeq": last})
	rest := second.until(func(m msg) bool { return m.Type == "complete" })
	requireContiguous(t, s, exec.ID, last+1, rest)
	for _, m := range rest {
		if m.isEvent() {
			require.Equal(t, last+1, m.Seq, "resumes right after the last seen")
			break
		}
	}
}

func TestWebSocketWorkflowAndAllSubscriptions(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	before := time.Now().UTC()
	a, b := s.Save(t, chain(2)), s.Save(t, chain(1))
	old := s.Env.Run(t, a.ID, `{}`) // finished before anyone subscribes

	cl := dial(t, s)
	cl.send(map[string]any{"type": "subscribe", "id": "wf", "workflowId": a.ID})
	cl.send(map[string]any{"type": "subscribe", "id": "all"})
	cl.send(map[string]any{"type": "subscribe", "id": "replay", "workflowId": a.ID, "since": before})
	got := map[string][]string{}
	finished := map[string]int{}
	live := map[string]bool{}
	var ra, rb *store.Execution
	for finished["all"] < 2 || finished["wf"] < 1 || finished["replay"] < 2 {
		m := cl.next()
		if m.Type == "live" {
			live[m.Subscription] = true
			if len(live) == 3 {
				ra, rb = s.Env.Run(t, a.ID, `{}`), s.Env.Run(t, b.ID, `{}`)
			}
		}
		if !m.isEvent() {
			continue
		}
		require.True(t, strings.HasPrefix(m.Type, "execution."), "broad subscriptions carry execution-level events only: %s", m.Type)
		got[m.Subscription] = append(got[m.Subscription], m.ExecutionID[len(m.ExecutionID)-4:]+" "+m.Type)
		if m.Type == "execution.finished" {
			finished[m.Subscription]++
		}
	}
	short := func(id string) string { return id[len(id)-4:] }
	want := func(ids ...string) []string {
		var out []string
		for _, id := range ids {
			out = append(out, short(id)+" execution.queued", short(id)+" execution.started", short(id)+" execution.finished")
		}
		return out
	}
	require.Equal(t, want(ra.ID), got["wf"])
	require.ElementsMatch(t, want(ra.ID, rb.ID), got["all"])
	require.Equal(t, want(old.ID, ra.ID), got["replay"], "since replays the earlier run, then follows live")
}

func TestWebSocketSlowClientGetsResync(t *testing.T) {
	t.Parallel()
	s := apitest.StartLive(t, enginetest.Options{NoDispatcher: true}, func(c *live.Config) { c.Buffer = 1 }, nil)
	w := s.Save(t, chain(1))
	exec := s.Start(t, w.ID, `{}`) // stays queued: its log holds seq 1

	cl := dial(t, s)
	cl.send(map[string]any{"type": "subscribe", "id": "x", "executionId": exec.ID})
	cl.until(func(m msg) bool { return m.Type == "live" })
	// A burst far faster than a socket: the subscription's buffer of one overflows.
	for seq := int64(2); seq <= 5000; seq++ {
		s.Bus.Publish(&event.Message{TenantID: store.DefaultTenant, WorkflowID: w.ID,
			Event: store.Event{ExecutionID: exec.ID, Seq: seq, Type: "node.log", Time: time.Now()}})
	}
	ms := cl.until(func(m msg) bool { return m.Type == "resync" })
	rs := ms[len(ms)-1]
	require.Equal(t, "x", rs.Subscription)
	require.Equal(t, exec.ID, rs.ExecutionID)
	require.NotNil(t, rs.AfterSeq)
	last := int64(1)
	for _, m := range ms[:len(ms)-1] {
		require.Equal(t, last+1, m.Seq, "in order up to the gap")
		last = m.Seq
	}
	require.Equal(t, last, *rs.AfterSeq, "resume right after the last event delivered")
	require.Less(t, last, int64(5000))

	// The id is free again: the client subscribes from where it was told.
	cl.send(map[string]any{"type": "subscribe", "id": "x", "executionId": exec.ID, "afterSeq": *rs.AfterSeq})
	require.Equal(t, "subscribed", cl.next().Type)
	require.Equal(t, "live", cl.next().Type)

	// A broad subscription resyncs with a time.
	cl.send(map[string]any{"type": "subscribe", "id": "all"})
	cl.until(func(m msg) bool { return m.Type == "live" && m.Subscription == "all" })
	for seq := int64(1); seq <= 5000; seq++ {
		s.Bus.Publish(&event.Message{TenantID: store.DefaultTenant, WorkflowID: w.ID,
			Event: store.Event{ExecutionID: "e" + fmt.Sprint(seq), Seq: 1, Type: "execution.queued", Time: time.Now()}})
	}
	ms = cl.until(func(m msg) bool { return m.Type == "resync" && m.Subscription == "all" })
	require.NotNil(t, ms[len(ms)-1].Since)
	require.Nil(t, ms[len(ms)-1].AfterSeq)
}

func TestWebSocketHeartbeat(t *testing.T) {
	t.Parallel()
	s := apitest.StartLive(t, enginetest.Options{}, func(c *live.Config) {
		c.Heartbeat, c.PongTimeout = 100*time.Millisecond, time.Second
	}, nil)
	reader := dial(t, s)
	// A client answers pings while it reads: this one reads all along.
	pongs := make(chan string, 16)
	go func() {
		for {
			_, b, err := reader.c.Read(context.Background())
			if err != nil {
				close(pongs)
				return
			}
			pongs <- string(b)
		}
	}()
	dial(t, s) // never reads after the hello, so it never answers a ping
	require.Eventually(t, func() bool { return s.Live.Clients() == 1 }, 10*time.Second, 10*time.Millisecond,
		"the client that does not answer pings is closed")
	// The one that reads stays, across many heartbeats.
	for range 10 {
		time.Sleep(50 * time.Millisecond) // spread over several heartbeats, within the message rate
		reader.send(map[string]any{"type": "ping"})
		select {
		case p, ok := <-pongs:
			require.True(t, ok, "the reading client was closed")
			require.JSONEq(t, `{"type":"pong"}`, p)
		case <-time.After(10 * time.Second):
			t.Fatal("no pong")
		}
	}
	require.Equal(t, 1, s.Live.Clients())
}

func TestWebSocketBadInput(t *testing.T) {
	t.Parallel()
	s := apitest.StartLive(t, enginetest.Options{}, func(c *live.Config) { c.MaxSubscriptions = 2 }, nil)
	w := s.Save(t, chain(1))
	exec := s.Env.Run(t, w.ID, `{}`)
	cl := dial(t, s)
	for _, tc := range []struct {
		name, send, code, contains string
	}{
		{"NotJSON", `{"type":`, "bad_message", "not a JSON object"},
		{"Array", `[1,2]`, "bad_message", "not a JSON object"},
		{"UnknownType", `{"type":"subscribe-all"}`, "bad_message", "unknown message type"},
		{"UnknownField", `{"type":"subscribe","id":"a","follow":"x"}`, "bad_message", "follow"},
		{"NoID", `{"type":"subscribe","executionId":"x"}`, "bad_message", "needs an id"},
		{"LongID", `{"type":"subscribe","id":"` + strings.Repeat("i", 65) + `"}`, "bad_message", "1 to 64"},
		{"Both", `{"type":"subscribe","id":"a","executionId":"x","workflowId":"y"}`, "bad_message", "not both"},
		{"AfterSeqAndSince", `{"type":"subscribe","id":"a","executionId":"x","afterSeq":1,"since":"2026-01-01T00:00:00Z"}`, "bad_message", "not both"},
		{"AfterSeqOnWorkflow", `{"type":"subscribe","id":"a","workflowId":"y","afterSeq":1}`, "bad_message", "resumes one execution"},
		{"NegativeAfterSeq", `{"type":"subscribe","id":"a","executionId":"x","afterSeq":-1}`, "bad_message", "0 or more"},
		{"BadSince", `{"type":"subscribe","id":"a","since":"yesterday"}`, "bad_message", "yesterday"},
		{"UnknownExecution", `{"type":"subscribe","id":"a","executionId":"nope"}`, "not_found", "execution nope"},
		{"UnknownWorkflow", `{"type":"subscribe","id":"a","workflowId":"nope"}`, "not_found", "workflow nope"},
		{"NulInID", `{"type":"subscribe","id":"a","executionId":"a\u0000b"}`, "not_found", ""},
		{"UnsubscribeUnknown", `{"type":"unsubscribe","id":"zz"}`, "unknown_subscription", ""},
		{"TwoObjects", `{"type":"ping"} {"type":"ping"}`, "bad_message", "one JSON object"},
	} {
		require.NoError(t, cl.c.Write(context.Background(), websocket.MessageText, []byte(tc.send)), tc.name)
		m := cl.next()
		require.Equal(t, "error", m.Type, tc.name)
		require.Equal(t, tc.code, m.Code, "%s: %s", tc.name, m.Message)
		require.Contains(t, m.Message, tc.contains, tc.name)
	}

	// Duplicate ids and the subscription limit.
	cl.send(map[string]any{"type": "subscribe", "id": "one"})
	require.Equal(t, "subscribed", cl.next().Type)
	cl.send(map[string]any{"type": "subscribe", "id": "one"})
	ms := cl.until(func(m msg) bool { return m.Type == "error" })
	require.Equal(t, "duplicate_subscription", ms[len(ms)-1].Code)
	cl.send(map[string]any{"type": "subscribe", "id": "two"})
	cl.send(map[string]any{"type": "subscribe", "id": "three"})
	ms = cl.until(func(m msg) bool { return m.Type == "error" })
	require.Equal(t, "too_many_subscriptions", ms[len(ms)-1].Code)
	require.Equal(t, "three", ms[len(ms)-1].Subscription)
	cl.send(map[string]any{"type": "unsubscribe", "id": "one"})
	ms = cl.until(func(m msg) bool { return m.Type == "unsubscribed" })
	require.Equal(t, "one", ms[len(ms)-1].Subscription)

	// Closing offences: a binary frame, an oversized frame, a flood.
	for _, tc := range []struct {
		name   string
		act    func(c *client)
		code   websocket.StatusCode
		reason string
	}{
		{"Binary", func(c *client) { _ = c.c.Write(context.Background(), websocket.MessageBinary, []byte("{}")) }, websocket.StatusUnsupportedData, "binary"},
		{"Oversized", func(c *client) {
			_ = c.c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"ping","x":"`+strings.Repeat("x", 5000)+`"}`))
		}, websocket.StatusMessageTooBig, ""},
		{"Flood", func(c *client) {
			// Ten times the burst: far over the limit, yet short enough that the client's reader is not
			// starved of the write lock it needs to answer the server's close frame (with 10,000, a
			// loaded machine sometimes saw the server's close handshake time out and the socket reset).
			ping := []byte(`{"type":"subscribe","id":"f"}`)
			for range 10 * live.MessageBurstDefault {
				if c.c.Write(context.Background(), websocket.MessageText, ping) != nil {
					return
				}
			}
		}, websocket.StatusPolicyViolation, "too many messages"},
	} {
		c := dial(t, s)
		go tc.act(c)
		code, reason := c.closeStatus()
		require.Equal(t, tc.code, code, "%s: %s", tc.name, reason)
		require.Contains(t, reason, tc.reason, tc.name)
	}

	// The server and the engine carry on.
	after := dial(t, s)
	after.send(map[string]any{"type": "subscribe", "id": "e", "executionId": exec.ID})
	requireContiguous(t, s, exec.ID, 1, after.until(func(m msg) bool { return m.Type == "complete" }))
	require.Equal(t, "succeeded", string(s.Env.Run(t, w.ID, `{}`).Status))
}

func TestWebSocketHandshake(t *testing.T) {
	t.Parallel()
	s := apitest.StartLive(t, enginetest.Options{}, func(c *live.Config) { c.MaxClients = 1 }, nil)
	plain := s.Do(t, http.MethodGet, "/api/v1/ws", "", nil)
	require.Equal(t, http.StatusBadRequest, plain.Status)
	require.Contains(t, plain.Body, "speaks WebSocket")

	ctx := context.Background()
	_, resp, err := websocket.Dial(ctx, wsURL(s), &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	closeBody(resp)
	require.Error(t, err)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))

	dial(t, s)
	_, resp, err = websocket.Dial(ctx, wsURL(s), nil)
	closeBody(resp)
	require.Error(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "over CM_LIVE_MAX_CLIENTS")
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
}

func TestShutdownClosesClients(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, delayFlow("1h"))
	exec := s.Start(t, w.ID, `{}`)
	cl := dial(t, s)
	sse := openSSE(t, s, "/api/v1/executions/"+exec.ID+"/events", "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Live.Shutdown(ctx))
	code, reason := cl.closeStatus()
	require.Equal(t, websocket.StatusGoingAway, code)
	require.Equal(t, "server shutting down", reason)
	for range sse.events { // the SSE stream ends
	}
	require.Zero(t, s.Live.Clients())
	_, resp, err := websocket.Dial(ctx, wsURL(s), nil)
	closeBody(resp)
	require.Error(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestClientLeavingMidReplay(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, chain(300))
	exec := s.Env.Run(t, w.ID, `{}`)
	base := s.Bus.Subscribers()
	for range 20 {
		cl := dial(t, s)
		cl.send(map[string]any{"type": "subscribe", "id": "x", "executionId": exec.ID})
		require.NoError(t, cl.c.CloseNow())
	}
	require.Eventually(t, func() bool { return s.Live.Clients() == 0 && s.Bus.Subscribers() == base }, 10*time.Second, 10*time.Millisecond,
		"every connection and bus subscription is released")
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ id, event, data string }

type sseStream struct {
	resp   *http.Response
	events chan sseEvent
}

// openSSE opens a stream and parses its events into a channel, closed when the stream ends.
func openSSE(t *testing.T, s *apitest.Server, path, lastEventID string) *sseStream {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	st := &sseStream{resp: resp, events: make(chan sseEvent, 1024)}
	go func() {
		defer close(st.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					st.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return st
}

func (st *sseStream) all(t *testing.T) []sseEvent {
	t.Helper()
	var out []sseEvent
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-st.events:
			if !ok {
				return out
			}
			out = append(out, ev)
		case <-timeout:
			t.Fatal("the stream did not end")
		}
	}
}

func TestSSEExecutionStream(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, delayFlow("300ms"))
	exec := s.Start(t, w.ID, `{}`)
	path := "/api/v1/executions/" + exec.ID + "/events"

	st := openSSE(t, s, path, "")
	require.Equal(t, http.StatusOK, st.resp.StatusCode)
	require.Equal(t, "text/event-stream", st.resp.Header.Get("Content-Type"))
	evs := st.all(t) // replays, follows live, ends after execution.finished
	stored := s.Events(t, exec.ID)
	require.Len(t, evs, len(stored))
	for i, ev := range evs {
		require.Equal(t, fmt.Sprint(stored[i].Seq), ev.id)
		require.Equal(t, stored[i].Type, ev.event)
		var m msg
		require.NoError(t, json.Unmarshal([]byte(ev.data), &m))
		require.Equal(t, stored[i].Seq, m.Seq)
		require.Equal(t, w.ID, m.WorkflowID)
	}

	// Last-Event-ID resumes right after it.
	rest := openSSE(t, s, path, "3").all(t)
	require.Equal(t, "4", rest[0].id)
	require.Len(t, rest, len(stored)-3)
	// Once the client has everything, 204 stops EventSource.
	done := openSSE(t, s, path, fmt.Sprint(len(stored)))
	require.Equal(t, http.StatusNoContent, done.resp.StatusCode)
	// Without Accept: text/event-stream, the JSON page as before.
	page := s.Do(t, http.MethodGet, path+"?after=2", "", nil)
	require.Equal(t, http.StatusOK, page.Status)
	require.Contains(t, page.Body, `"items"`)

	for _, tc := range []struct{ name, path, lastEventID string }{
		{"BadLastEventID", path, "x"},
		{"NegativeAfter", path + "?after=-1", ""},
	} {
		st := openSSE(t, s, tc.path, tc.lastEventID)
		require.Equal(t, http.StatusBadRequest, st.resp.StatusCode, tc.name)
	}
	require.Equal(t, http.StatusNotFound, openSSE(t, s, "/api/v1/executions/nope/events", "").resp.StatusCode)
}

func TestSSEWorkflowStream(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	before := time.Now().UTC()
	w := s.Save(t, chain(1))
	first := s.Env.Run(t, w.ID, `{}`)

	// A replay from since, then live.
	st := openSSE(t, s, "/api/v1/workflows/"+w.ID+"/events?since="+before.Format(time.RFC3339Nano), "")
	require.Equal(t, http.StatusOK, st.resp.StatusCode)
	var got []sseEvent
	for range 3 {
		got = append(got, <-st.events)
	}
	require.Equal(t, "execution.finished", got[2].event)
	require.Contains(t, got[0].id, first.ID)
	second := s.Env.Run(t, w.ID, `{}`)
	for range 3 {
		got = append(got, <-st.events)
	}
	require.Contains(t, got[5].id, second.ID)
	require.Equal(t, "execution.finished", got[5].event)

	// Last-Event-ID resumes right after that event, across executions.
	cur, err := live.ParseCursor(got[2].id)
	require.NoError(t, err)
	require.Equal(t, first.ID, cur.ExecutionID)
	resumed := openSSE(t, s, "/api/v1/workflows/"+w.ID+"/events", got[2].id)
	var again []string
	for range 3 {
		again = append(again, (<-resumed.events).id)
	}
	require.Equal(t, []string{got[3].id, got[4].id, got[5].id}, again)

	for _, tc := range []struct {
		name, path, lastEventID string
		status                  int
	}{
		{"BadSince", "/api/v1/workflows/" + w.ID + "/events?since=yesterday", "", http.StatusBadRequest},
		{"BadLastEventID", "/api/v1/events", "12_x", http.StatusBadRequest},
		{"UnknownWorkflow", "/api/v1/workflows/nope/events", "", http.StatusNotFound},
		{"LongID", "/api/v1/workflows/" + strings.Repeat("w", 65) + "/events", "", http.StatusUnprocessableEntity},
	} {
		resp := s.Do(t, http.MethodGet, tc.path, "", map[string]string{"Last-Event-ID": tc.lastEventID})
		require.Equal(t, tc.status, resp.Status, "%s: %s", tc.name, resp.Body)
		require.Contains(t, resp.Header.Get("Content-Type"), "problem+json", tc.name)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := store.EventCursor{Time: time.Date(2026, 11, 30, 21, 0, 0, 123456000, time.UTC), ExecutionID: "01a2-b", Seq: 7}
	got, err := live.ParseCursor(live.FormatCursor(c))
	require.NoError(t, err)
	require.Equal(t, c, *got)
	for _, bad := range []string{"", "1_2", "x_e_1", "1__1", "1_e_0", "1_e_x", "1_e_1_2"} {
		_, err := live.ParseCursor(bad)
		require.Error(t, err, bad)
	}
}

// TestStalledClientsNeverSlowTheEngine: subscribers that never read — a bus subscription and
// WebSocket clients watching everything — lag and are resynced; every execution still finishes.
func TestStalledClientsNeverSlowTheEngine(t *testing.T) {
	t.Parallel()
	s := apitest.StartLive(t, enginetest.Options{Workers: 8}, func(c *live.Config) { c.Buffer = 4 }, nil)
	w := s.Save(t, chain(5))
	stalled := s.Bus.Subscribe(event.Filter{TenantID: store.DefaultTenant}, 1)
	defer stalled.Close()
	for range 5 {
		cl := dial(t, s)
		cl.send(map[string]any{"type": "subscribe", "id": "all"}) // and never read again
	}
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = s.Start(t, w.ID, `{}`).ID
	}
	for _, id := range ids {
		require.Equal(t, "succeeded", string(s.Wait(t, id).Status))
	}
	select {
	case <-stalled.Lagged:
	default:
		t.Fatal("the stalled bus subscription was not lagged")
	}
}

func TestWebSocketExecutionSince(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, chain(3))
	exec := s.Env.Run(t, w.ID, `{}`)
	stored := s.Events(t, exec.ID)
	from := stored[4]
	cl := dial(t, s)
	cl.send(map[string]any{"type": "subscribe", "id": "x", "executionId": exec.ID, "since": from.Time})
	var got []msg
	for _, m := range cl.until(func(m msg) bool { return m.Type == "complete" }) {
		if m.isEvent() {
			got = append(got, m)
		}
	}
	require.NotEmpty(t, got)
	require.False(t, got[0].Time.Before(from.Time), "nothing before since")
	require.LessOrEqual(t, got[0].Seq, from.Seq, "since is inclusive")
	require.Equal(t, stored[len(stored)-1].Seq, got[len(got)-1].Seq)
}

// TestWebSocketBatches: a subscription made with batch:true receives its events in batch messages,
// each event once and in order, ended by the usual control messages.
func TestWebSocketBatches(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{Workers: 4})
	w := s.Save(t, chain(20))
	cl := dial(t, s)
	cl.send(map[string]any{"type": "subscribe", "id": "all", "batch": true})
	cl.until(func(m msg) bool { return m.Type == "live" })
	var ids []string
	for range 10 {
		ids = append(ids, s.Start(t, w.ID, `{}`).ID)
	}
	for _, id := range ids {
		s.Wait(t, id)
	}
	exec := s.Env.Run(t, w.ID, `{}`)
	cl.send(map[string]any{"type": "subscribe", "id": "one", "executionId": exec.ID, "batch": true})

	byExec := map[string][]string{}
	var one []msg
	batches := 0
	all := slices.Concat(ids, []string{exec.ID})
	oneDone := false
	done := func() bool {
		if !oneDone {
			return false
		}
		for _, id := range all {
			if len(byExec[id]) < 3 {
				return false
			}
		}
		return true
	}
	for !done() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, b, err := cl.c.Read(ctx)
		cancel()
		require.NoError(t, err)
		var frame struct {
			msg
			Events []msg `json:"events"`
		}
		require.NoError(t, json.Unmarshal(b, &frame))
		switch frame.Type {
		case "batch":
			batches++
			require.NotEmpty(t, frame.Events)
			require.LessOrEqual(t, len(frame.Events), 100)
			for _, e := range frame.Events {
				require.True(t, e.isEvent())
				if frame.Subscription == "one" {
					one = append(one, e)
				} else {
					byExec[e.ExecutionID] = append(byExec[e.ExecutionID], e.Type)
				}
			}
		case "complete":
			oneDone = oneDone || frame.Subscription == "one"
		default:
			require.False(t, frame.isEvent(), "a batching subscription sends no lone events: %s", b)
		}
	}
	for _, id := range all {
		require.Equal(t, []string{"execution.queued", "execution.started", "execution.finished"}, byExec[id], id)
	}
	requireContiguous(t, s, exec.ID, 1, one)
	require.Less(t, batches, 3*len(ids)+1+len(one), "events share batch messages")
}
