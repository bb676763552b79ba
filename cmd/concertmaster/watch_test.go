package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/event"
)

// These tests run `concertmaster watch` in process against the real server binary.

// delayWorkflow is a manual trigger, a flow.delay of delay, then a data.set.
func delayWorkflow(name, delay string) string {
	return `{"name":"` + name + `","nodes":[{"id":"start","type":"trigger.manual"},` +
		`{"id":"wait","type":"flow.delay","config":{"duration":"` + delay + `"}},` +
		`{"id":"done","type":"data.set","config":{"fields":{"ok":true}}}],` +
		`"edges":[{"source":"start","target":"wait"},{"source":"wait","target":"done"}]}`
}

// waitOut waits until standard output matches re.
func (c *command) waitOut(t *testing.T, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	require.Eventually(t, func() bool { return rx.MatchString(c.out.String()) }, 30*time.Second, 5*time.Millisecond,
		"%s never printed:\nstdout: %s\nstderr: %s", re, c.out, c.errOut)
}

// waitCount waits until standard error holds want at least n times.
func (c *command) waitCount(t *testing.T, want string, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Count(c.errOut.String(), want) >= n }, 30*time.Second, 5*time.Millisecond,
		"%q never logged %d times:\n%s", want, n, c.errOut)
}

// apiEvents returns an execution's event log from the API.
func (s *server) apiEvents(t *testing.T, id string) []map[string]any {
	t.Helper()
	page := s.do(t, http.MethodGet, "/api/v1/executions/"+id+"/events?limit=1000", "")
	var out []map[string]any
	for _, it := range page["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// jsonLines decodes watch --json's output.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var ms []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		ms = append(ms, m)
	}
	return ms
}

// eventKeys are "seq type" of events, to compare what watch printed with the log.
func eventKeys(ms []map[string]any, executionID string) []string {
	var keys []string
	for _, m := range ms {
		if id, ok := m["executionId"]; ok && id != executionID {
			continue
		}
		keys = append(keys, fmt.Sprintf("%v %v", m["seq"], m["type"]))
	}
	return keys
}

func executionLevel(keys []string) []string {
	var out []string
	for _, k := range keys {
		if strings.Contains(k, " execution.") {
			out = append(out, k)
		}
	}
	return out
}

// TestWatchExecution watches executions to their end: the lines, the JSON lines against the event
// log, and the exit codes of a success, a failure, a cancel and an unknown id.
func TestWatchExecution(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "cm.db"))
	t.Cleanup(func() { _ = s.stop(t, syscall.SIGTERM) })
	key := map[string]string{apiKeyEnv: s.apiKey(t, "viewer")}
	run := func(t *testing.T, def string) string {
		t.Helper()
		w := s.do(t, http.MethodPost, "/api/v1/workflows", def)
		return s.do(t, http.MethodPost, "/api/v1/workflows/"+w["id"].(string)+"/executions", `{}`)["id"].(string)
	}

	t.Run("Succeeds", func(t *testing.T) {
		t.Parallel()
		id := run(t, delayWorkflow("delay", "500ms"))
		c := startCommand(t.Context(), key, nil, "watch", id, "--server", s.url)
		require.Equal(t, 0, c.wait(t), c.errOut.String())
		out := c.out.String()
		for _, want := range []string{
			`(?m)^\d\d:\d\d:\d\d\.\d{3}  execution\.queued    trigger manual from start version 1$`,
			`(?m)  execution\.started$`,
			`(?m)  node\.succeeded      start #1  → out in \S+$`,
			`(?m)  node\.waiting        wait #1  until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$`,
			`(?m)  node\.succeeded      wait #1  → out in `,
			`(?m)  node\.succeeded      done #1  → out in `,
			`(?m)  execution\.finished  succeeded in [0-9.]+m?s\n\z`,
		} {
			require.Regexp(t, want, out)
		}
		require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), len(s.apiEvents(t, id)), "one line per event:\n%s", out)
	})

	t.Run("JSONFromTheEnvironment", func(t *testing.T) {
		t.Parallel()
		id := run(t, delayWorkflow("delay json", "200ms"))
		c := startCommand(t.Context(), map[string]string{serverEnv: s.url, apiKeyEnv: key[apiKeyEnv]}, nil, "watch", id, "--json")
		require.Equal(t, 0, c.wait(t), c.errOut.String())
		printed := jsonLines(t, c.out.String())
		require.Equal(t, eventKeys(s.apiEvents(t, id), id), eventKeys(printed, id), "every event once, in order")
		require.NotContains(t, printed[0], "subscription")
		require.Equal(t, id, printed[0]["executionId"])
		require.NotEmpty(t, printed[0]["workflowId"])
		last := printed[len(printed)-1]
		require.Equal(t, "execution.finished", last["type"])
		require.Equal(t, "succeeded", last["payload"].(map[string]any)["status"])
	})

	t.Run("Fails", func(t *testing.T) {
		t.Parallel()
		id := run(t, `{"name":"fail","nodes":[{"id":"s","type":"trigger.manual"},{"id":"f","type":"flow.fail","config":{"message":"nope","code":"E42"}}],"edges":[{"source":"s","target":"f"}]}`)
		c := startCommand(t.Context(), key, nil, "watch", id, "--server", s.url)
		require.Equal(t, 1, c.wait(t), c.errOut.String())
		require.Regexp(t, `  node\.failed         f #1  error: nope \(E42\)`, c.out.String())
		require.Regexp(t, `  execution\.finished  failed in \S+ error: node f failed: nope`, c.out.String())
		require.Contains(t, c.errOut.String(), "execution failed")
	})

	t.Run("Canceled", func(t *testing.T) {
		t.Parallel()
		id := run(t, delayWorkflow("long", "1h"))
		c := startCommand(t.Context(), key, nil, "watch", id, "--server", s.url)
		c.waitOut(t, `node\.waiting        wait #1`)
		s.do(t, http.MethodPost, "/api/v1/executions/"+id+"/cancel", "")
		require.Equal(t, 1, c.wait(t), c.errOut.String())
		require.Regexp(t, `  node\.canceled       wait #1\n`, c.out.String())
		require.Regexp(t, `  execution\.finished  canceled in `, c.out.String())
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		c := startCommand(t.Context(), key, nil, "watch", "01a22e6a-0000-7000-8000-000000000000", "--server", s.url)
		require.Equal(t, 2, c.wait(t))
		require.Contains(t, c.errOut.String(), "the server has no execution 01a22e6a-0000-7000-8000-000000000000")
		c = startCommand(t.Context(), key, nil, "watch", "--workflow", "ghost", "--server", s.url)
		require.Equal(t, 2, c.wait(t))
		require.Contains(t, c.errOut.String(), "the server has no workflow ghost")
	})

	t.Run("Interrupted", func(t *testing.T) {
		t.Parallel()
		id := run(t, delayWorkflow("long", "1h"))
		ctx, cancel := context.WithCancel(t.Context())
		c := startCommand(ctx, key, nil, "watch", id, "--server", s.url)
		c.waitOut(t, `node\.waiting`)
		cancel()
		require.Equal(t, exitInterrupted, c.wait(t))
		require.Contains(t, c.errOut.String(), "watch stopped; the execution goes on")
	})
}

// TestWatchUsage: wrong arguments and flags are usage errors (2); a server that is not there is
// retried, then given up with 3.
func TestWatchUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{args: []string{"watch"}, code: 2, want: "give one execution id, or --workflow ID, or --all"},
		{args: []string{"watch", "a", "b"}, code: 2, want: "give one execution id"},
		{args: []string{"watch", "a", "--all"}, code: 2, want: "not both"},
		{args: []string{"watch", "--all", "--workflow", "w"}, code: 2, want: "give --workflow or --all, not both"},
		{args: []string{"watch", "a", "--since", "1h"}, code: 2, want: "--since goes with --workflow or --all"},
		{args: []string{"watch", "--all", "--since", "yesterday"}, code: 2, want: `--since "yesterday": want a time`},
		{args: []string{"watch", "--all", "--retry-for", "soon"}, code: 2, want: "invalid argument"},
		{args: []string{"watch", "--all", "--server", "ftp://x"}, code: 2, want: "use an http:// or https:// URL"},
		{args: []string{"watch", "x", "--server", "127.0.0.1:1", "--retry-for", "300ms"}, code: exitUnreachable,
			want: "gave up after 300ms without the server: cannot reach ws://127.0.0.1:1/api/v1/ws"},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			t.Parallel()
			c := startCommand(t.Context(), map[string]string{apiKeyEnv: "cm_ak_scripted"}, nil, tc.args...)
			require.Equal(t, tc.code, c.wait(t), c.errOut.String())
			require.Contains(t, c.errOut.String(), tc.want)
		})
	}
}

// TestWatchWorkflowSeesNewRuns: watch --workflow prints the execution-level events of a run started
// after it connected, and nothing of another workflow's; it ends on Ctrl-C with 0.
func TestWatchWorkflowSeesNewRuns(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "cm.db"))
	t.Cleanup(func() { _ = s.stop(t, syscall.SIGTERM) })
	key := map[string]string{apiKeyEnv: s.apiKey(t, "viewer")}
	wf := s.do(t, http.MethodPost, "/api/v1/workflows", delayWorkflow("watched", "10ms"))["id"].(string)
	other := s.do(t, http.MethodPost, "/api/v1/workflows", delayWorkflow("other", "10ms"))["id"].(string)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := startCommand(ctx, key, nil, "watch", "--workflow", wf, "--server", s.url)
	all := startCommand(ctx, key, nil, "watch", "--all", "--server", s.url, "--json")
	c.waitLog(t, "watch: workflow "+wf+" (live)")
	all.waitLog(t, "watch: every execution (live)")

	skipped := s.do(t, http.MethodPost, "/api/v1/workflows/"+other+"/executions?wait=30s", `{}`)["id"].(string)
	id := s.do(t, http.MethodPost, "/api/v1/workflows/"+wf+"/executions", `{}`)["id"].(string)
	c.waitOut(t, id+`  execution\.finished  succeeded in `)
	all.waitOut(t, `"type":"execution.finished","executionId":"`+id)
	cancel()
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Equal(t, 0, all.wait(t), all.errOut.String())

	out := c.out.String()
	require.NotContains(t, out, skipped, "another workflow's run")
	require.NotContains(t, out, "node.", "execution-level events only")
	for _, typ := range []string{"queued", "started", "finished"} {
		require.Equal(t, 1, strings.Count(out, id+"  execution."+typ), "execution.%s once:\n%s", typ, out)
	}
	printed := jsonLines(t, all.out.String())
	require.Equal(t, executionLevel(eventKeys(s.apiEvents(t, skipped), skipped)), eventKeys(printed, skipped))
	require.Equal(t, executionLevel(eventKeys(s.apiEvents(t, id), id)), eventKeys(printed, id))
}

// TestWatchResumesAfterServerRestart stops the server while an execution waits in flow.delay and
// starts it again on the same port and data: the execution watcher and the workflow watcher
// reconnect and resume, the run that finished meanwhile is reported exactly once, and a run started
// after the restart is seen too.
func TestWatchResumesAfterServerRestart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "cm.db")
	first := startServer(t, db, "CM_SHUTDOWN_GRACE=5s")
	addr := strings.TrimPrefix(first.url, "http://")
	// Over the engine's suspend threshold (2 s): the execution is parked in the store while it waits.
	wf := first.do(t, http.MethodPost, "/api/v1/workflows", delayWorkflow("restart", "2500ms"))["id"].(string)
	key := map[string]string{apiKeyEnv: first.apiKey(t, "viewer")}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	broad := startCommand(ctx, key, nil, "watch", "--workflow", wf, "--server", first.url, "--json")
	broad.waitLog(t, "(live)")
	id := first.do(t, http.MethodPost, "/api/v1/workflows/"+wf+"/executions", `{}`)["id"].(string)
	one := startCommand(ctx, key, nil, "watch", id, "--server", first.url, "--json")
	broad.waitOut(t, `"type":"execution.waiting","executionId":"`+id)
	one.waitOut(t, `"type":"node.waiting"`)

	var waiting map[string]any
	for _, m := range jsonLines(t, broad.out.String()) {
		if m["type"] == "execution.waiting" {
			waiting = m
		}
	}
	wakeAt, err := time.Parse(time.RFC3339Nano, waiting["payload"].(map[string]any)["wakeAt"].(string))
	require.NoError(t, err)

	require.NoError(t, first.stop(t, syscall.SIGTERM), first.log())
	// Both see the server go and retry while it is down, until the delay is over: the second
	// server finishes the run at once, most likely before the watchers are back.
	broad.waitCount(t, "reconnecting in", 2)
	one.waitCount(t, "reconnecting in", 2)
	require.Eventually(t, func() bool { return time.Now().After(wakeAt) }, 10*time.Second, 10*time.Millisecond)
	require.Contains(t, one.errOut.String(), "server shutting down (1001)")
	second := startServerAt(t, addr, db)
	t.Cleanup(func() { _ = second.stop(t, syscall.SIGTERM) })

	require.Equal(t, 0, one.wait(t), one.errOut.String())
	broad.waitOut(t, `"type":"execution.finished","executionId":"`+id)
	next := second.do(t, http.MethodPost, "/api/v1/workflows/"+wf+"/executions", `{}`)["id"].(string)
	broad.waitOut(t, `"type":"execution.finished","executionId":"`+next)
	cancel()
	require.Equal(t, 0, broad.wait(t), broad.errOut.String())

	require.Equal(t, eventKeys(second.apiEvents(t, id), id), eventKeys(jsonLines(t, one.out.String()), id),
		"the execution watcher printed every event once, in order, across the restart")
	printed := jsonLines(t, broad.out.String())
	require.Equal(t, executionLevel(eventKeys(second.apiEvents(t, id), id)), eventKeys(printed, id),
		"the workflow watcher printed each execution-level event of the run once")
	require.Equal(t, executionLevel(eventKeys(second.apiEvents(t, next), next)), eventKeys(printed, next))
	finished := 0
	for _, m := range printed {
		if m["executionId"] == id && m["type"] == "execution.finished" {
			finished++
		}
	}
	require.Equal(t, 1, finished)
	t.Logf("workflow watcher:\n%s\nexecution watcher:\n%s", broad.errOut, one.errOut)
}

// scriptedServer is a WebSocket endpoint that plays script on its n-th connection (from 1), to
// drive the watcher through what a real server does rarely: resync, internal errors, refusals.
func scriptedServer(t *testing.T, script func(w http.ResponseWriter, r *http.Request, n int)) string {
	t.Helper()
	var mu sync.Mutex
	n := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		script(w, r, i)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

// scriptedKey is the environment of a watch against a scripted server: an API key it does not check.
var scriptedKey = map[string]string{apiKeyEnv: "cm_ak_scripted"}

// peer is the scripted server's side of one connection.
type peer struct {
	t *testing.T
	c *websocket.Conn
}

func accept(t *testing.T, w http.ResponseWriter, r *http.Request) *peer {
	return acceptAs(t, w, r, scriptedKey[apiKeyEnv])
}

// acceptAs accepts a connection whose handshake carries token.
func acceptAs(t *testing.T, w http.ResponseWriter, r *http.Request, token string) *peer {
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("the handshake's Authorization is %q, want Bearer %s", got, token)
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		t.Error(err)
		return nil
	}
	p := &peer{t: t, c: c}
	p.send(`{"type":"hello","version":"test","maxSubscriptions":64,"heartbeatSeconds":20}`)
	return p
}

func (p *peer) send(msgs ...string) {
	for _, m := range msgs {
		if err := p.c.Write(context.Background(), websocket.MessageText, []byte(m)); err != nil {
			p.t.Error(err)
		}
	}
}

// subscribe reads the client's subscribe message.
func (p *peer) subscribe() map[string]any {
	_, b, err := p.c.Read(context.Background())
	if err != nil {
		p.t.Error(err)
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		p.t.Error(err)
	}
	if m["type"] != "subscribe" {
		p.t.Errorf("want a subscribe message, got %s", b)
	}
	return m
}

func (p *peer) close() { _ = p.c.CloseNow() }

// wait holds the connection open until the client closes it.
func (p *peer) wait() {
	for {
		if _, _, err := p.c.Read(context.Background()); err != nil {
			return
		}
	}
}

func ev(typ, exec string, seq int64, at time.Time, payload string) string {
	s := fmt.Sprintf(`{"subscription":"x","type":%q,"executionId":%q,"workflowId":"wf","seq":%d,"time":%q`, typ, exec, seq, at.Format(time.RFC3339Nano))
	if payload != "" {
		s += `,"payload":` + payload
	}
	return s + "}"
}

// TestWatchResync: after a resync the watcher subscribes again after the last seq it printed, and
// prints nothing twice.
func TestWatchResync(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC)
	url := scriptedServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		p := accept(t, w, r)
		if p == nil {
			return
		}
		defer p.close()
		first := p.subscribe()
		require.Equal(t, "e1", first["executionId"])
		require.NotContains(t, first, "afterSeq")
		p.send(`{"type":"subscribed","subscription":"`+first["id"].(string)+`"}`,
			ev("execution.queued", "e1", 1, t0, `{"trigger":"manual"}`), ev("execution.started", "e1", 2, t0, ""),
			`{"type":"resync","subscription":"`+first["id"].(string)+`","executionId":"e1","afterSeq":2,"reason":"behind"}`)
		again := p.subscribe()
		require.InDelta(t, 2, again["afterSeq"], 0)
		require.NotEqual(t, first["id"], again["id"], "a new subscription id")
		p.send(`{"type":"subscribed","subscription":"`+again["id"].(string)+`"}`, ev("execution.started", "e1", 2, t0, ""),
			ev("execution.finished", "e1", 3, t0, `{"status":"failed","durationMs":5,"error":"boom"}`))
		p.wait()
	})
	c := startCommand(t.Context(), scriptedKey, nil, "watch", "e1", "--server", url, "--json")
	require.Equal(t, 1, c.wait(t), c.errOut.String())
	require.Equal(t, []string{"1 execution.queued", "2 execution.started", "3 execution.finished"}, eventKeys(jsonLines(t, c.out.String()), "e1"))
	require.Contains(t, c.errOut.String(), "fell behind the events; resuming after event 2")
}

// TestWatchBroadReconnect: a workflow watcher that loses its connection resumes from the time of the
// last event it printed and drops what it printed already, keeping new events of that same instant.
func TestWatchBroadReconnect(t *testing.T) {
	t.Parallel()
	t1 := time.Date(2026, 11, 30, 21, 0, 0, 1000, time.UTC)
	t2 := t1.Add(time.Millisecond)
	url := scriptedServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		p := accept(t, w, r)
		if p == nil {
			return
		}
		defer p.close()
		sub := p.subscribe()
		require.Equal(t, "wf", sub["workflowId"])
		switch n {
		case 1:
			require.NotContains(t, sub, "since")
			p.send(`{"type":"subscribed","subscription":"`+sub["id"].(string)+`"}`, `{"type":"live","subscription":"`+sub["id"].(string)+`"}`,
				ev("execution.queued", "a", 1, t1, ""), ev("execution.started", "a", 2, t2, ""))
			_ = p.c.Close(websocket.StatusGoingAway, "server shutting down")
		default:
			require.Equal(t, t2.Format(time.RFC3339Nano), sub["since"])
			p.send(`{"type":"subscribed","subscription":"`+sub["id"].(string)+`"}`,
				ev("execution.started", "a", 2, t2, ""), ev("execution.queued", "b", 1, t2, ""),
				`{"type":"live","subscription":"`+sub["id"].(string)+`"}`,
				ev("execution.finished", "a", 3, t2.Add(time.Second), `{"status":"succeeded","durationMs":1000}`))
			p.wait()
		}
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := startCommand(ctx, scriptedKey, nil, "watch", "--workflow", "wf", "--server", url)
	c.waitOut(t, `a  execution\.finished  succeeded in 1s`)
	cancel()
	require.Equal(t, 0, c.wait(t))
	lines := strings.Split(strings.TrimSpace(c.out.String()), "\n")
	require.Len(t, lines, 4, c.out.String())
	for i, want := range []string{"a  execution.queued", "a  execution.started", "b  execution.queued", "a  execution.finished"} {
		require.Contains(t, lines[i], want)
	}
	require.Contains(t, c.errOut.String(), "the server closed the connection: server shutting down (1001); reconnecting in")
}

// TestWatchRetriesBusyAndFailedSubscriptions: 503 at the handshake and an internal error of the
// subscription are retried; any other refusal of the handshake ends watch.
func TestWatchRetriesBusyAndFailedSubscriptions(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	url := scriptedServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":503,"detail":"the server holds its maximum of 2 live clients"}`))
			return
		}
		p := accept(t, w, r)
		if p == nil {
			return
		}
		defer p.close()
		sub := p.subscribe()
		if n == 2 {
			p.send(`{"type":"error","subscription":"` + sub["id"].(string) + `","code":"internal","message":"the subscription failed"}`)
			p.wait()
			return
		}
		p.send(`{"type":"subscribed","subscription":"`+sub["id"].(string)+`"}`,
			ev("execution.finished", "e1", 1, t0, `{"status":"succeeded","durationMs":5}`))
		p.wait()
	})
	c := startCommand(t.Context(), scriptedKey, nil, "watch", "e1", "--server", url)
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Contains(t, c.errOut.String(), "the server is busy (503): the server holds its maximum of 2 live clients; reconnecting in")
	require.Contains(t, c.errOut.String(), "the server failed the subscription: the subscription failed; reconnecting in")

	refused := scriptedServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) { http.NotFound(w, nil) })
	c = startCommand(t.Context(), scriptedKey, nil, "watch", "e1", "--server", refused)
	require.Equal(t, 1, c.wait(t))
	require.Contains(t, c.errOut.String(), "/api/v1/ws answered 404 to the WebSocket handshake: 404 page not found")
}

func TestFormatEvent(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 21, 0, 0, 123e6, time.Local)
	for _, tc := range []struct {
		typ, node, payload, want string
	}{
		{"execution.queued", "", `{"trigger":"retry","triggerNode":"start","workflowVersion":3,"retryOf":"e0","reusedNodes":["a","b"]}`,
			"execution.queued    trigger retry from start version 3 retry of e0 reusing a, b"},
		{"execution.started", "", "", "execution.started"},
		{"execution.waiting", "", `{"wakeAt":"2026-11-30T22:00:00Z"}`, "execution.waiting   until " + time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC).Local().Format("2006-01-02 15:04:05.000")},
		{"execution.draining", "", `{"reason":"shutdown","running":2}`, "execution.draining  reason shutdown 2 running"},
		{"execution.requeued", "", `{"reason":"lease lost"}`, "execution.requeued  reason lease lost"},
		{"execution.finished", "", `{"status":"failed","durationMs":1500,"error":"x broke"}`, "execution.finished  failed in 1.5s error: x broke"},
		{"node.started", "fetch", "", "node.started        fetch #2"},
		{"node.succeeded", "fetch", `{"port":"main","durationMs":12}`, "node.succeeded      fetch #2  → main in 12ms"},
		{"node.failed", "fetch", `{"error":"503","code":"http_status","handled":"continue"}`, "node.failed         fetch #2  error: 503 (http_status) handled: continue"},
		{"node.retrying", "fetch", `{"error":"timeout","code":"timeout","nextAttempt":3,"delayMs":250}`, "node.retrying       fetch #2  error: timeout (timeout) attempt 3 in 250ms"},
		{"node.log", "fetch", `{"level":"warn","message":"slow answer"}`, "node.log            fetch #2  [warn] slow answer"},
		{"node.skipped", "fetch", "", "node.skipped        fetch #2"},
		{"something.new", "", `{"x":1}`, "something.new"},
	} {
		m := &message{Wire: event.Wire{Type: tc.typ, ExecutionID: "e1", Seq: 4, Time: at, NodeID: tc.node, Payload: json.RawMessage(tc.payload)}}
		if tc.node != "" {
			m.Attempt = 2
		}
		require.Equal(t, "21:00:00.123  "+tc.want, formatEvent(m, false, at), tc.typ)
	}
	m := &message{Wire: event.Wire{Type: "execution.started", ExecutionID: "e1", Time: at}}
	require.Equal(t, "2026-11-30 21:00:00.123  e1  execution.started", formatEvent(m, true, at.AddDate(0, 0, 1)), "the date when it is not today")
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC)
	got, err := parseSince("90m", now)
	require.NoError(t, err)
	require.Equal(t, now.Add(-90*time.Minute), got)
	got, err = parseSince("2026-11-30T20:00:00.5Z", now)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 30, 20, 0, 0, 5e8, time.UTC), got)
	_, err = parseSince("-5m", now)
	require.Error(t, err)
}

func TestWebSocketURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":          "ws://127.0.0.1:8080/api/v1/ws",
		"localhost:8080":                 "ws://localhost:8080/api/v1/ws",
		"https://ci.example.com/cm/?x=1": "wss://ci.example.com/cm/api/v1/ws",
	} {
		got, err := webSocketURL(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := webSocketURL("http://")
	require.Error(t, err)
}
