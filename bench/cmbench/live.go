package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/concertmaster/concertmaster/internal/latency"
)

// The live events figures of issue 7 (docs/live.md), measured on a server of their own started with
// CM_LIVE_MAX_CLIENTS above the idle figure's clients. Each is a sub-figure of the group "live"
// (-only live, or -only live.latency,live.idle,live.reconnect,live.webhook):
//
//   - latency: node finished → event received by each of 500 WebSocket clients subscribed to the
//     execution (receive time − the event's time, both on this machine's clock);
//   - idle: 10,000 idle WebSocket subscribers on one process, and the server memory per client;
//   - reconnect: 1,000 executions while every client's TCP connection is cut about every second and
//     resumed with afterSeq: every event delivered, in order, none twice, checked against the log;
//   - webhook: the webhook figure's wrk run with 100 clients watching every execution, against the
//     same run without them, back to back.

// liveOptions sizes the live figures.
type liveOptions struct {
	clients, executions, idle, reconnectExecutions, reconnectClients, watchers int
	webhookDur                                                                 time.Duration
	pprof                                                                      string
}

// runLive starts the live figures' server on dbURL and measures those want selects.
func runLive(bin, dbURL, dir, store string, want func(string) bool, o liveOptions) error {
	ldir := filepath.Join(dir, "live")
	if err := os.MkdirAll(ldir, 0o750); err != nil {
		return err
	}
	// The latency workflow calls an API of this process on loopback.
	env := []string{"CM_LIVE_MAX_CLIENTS=" + strconv.Itoa(max(o.idle, o.clients)+1000), "CM_HTTP_ALLOW_PRIVATE=true"}
	if o.pprof != "" {
		env = append(env, "CM_PPROF_ADDR="+o.pprof)
	}
	b, err := start(bin, dbURL, ldir, env...)
	if err != nil {
		return err
	}
	b.store = store
	defer b.stop()
	if want("latency") {
		if err := b.liveLatency(o.clients, o.executions); err != nil {
			return fmt.Errorf("latency: %w", err)
		}
	}
	if want("idle") {
		if err := b.liveIdle(o.idle); err != nil {
			return fmt.Errorf("idle: %w", err)
		}
	}
	if want("reconnect") {
		if err := b.liveReconnect(o.reconnectExecutions, o.reconnectClients); err != nil {
			return fmt.Errorf("reconnect: %w", err)
		}
	}
	if want("webhook") {
		if err := b.liveWebhook(o.webhookDur, o.watchers); err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
	}
	return nil
}

// report prints a figure that has no target, only a value to quote.
func report(name, format string, value float64, store string) {
	fmt.Printf("figure: %s (%s): "+format+" — quoted, no target\n", name, store, value)
}

// liveMsg is what the bench reads of a server message.
type liveMsg struct {
	Type         string     `json:"type"`
	Subscription string     `json:"subscription"`
	ExecutionID  string     `json:"executionId"`
	Seq          int64      `json:"seq"`
	Time         time.Time  `json:"time"`
	AfterSeq     *int64     `json:"afterSeq"`
	Since        *time.Time `json:"since"`
	Code         string     `json:"code"`
	Message      string     `json:"message"`
}

func (m *liveMsg) event() bool { return strings.Contains(m.Type, ".") }

// liveClient is one WebSocket connection to the server.
type liveClient struct {
	c   *websocket.Conn
	raw net.Conn // the TCP connection, when the client was dialled to be cut
}

// sharedTransport dials the idle and watching clients: upgraded connections leave its pool.
var sharedTransport = &http.Transport{}

// dialLive opens a WebSocket and reads the hello. With cut, the client keeps its TCP connection to
// close it abruptly.
func (b *bench) dialLive(cut bool) (*liveClient, error) {
	lc := &liveClient{}
	tr := sharedTransport
	if cut {
		d := &net.Dialer{}
		tr = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			lc.raw = c
			return c, err
		}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b.base, "http")+"/api/v1/ws", &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr},
		HTTPHeader: http.Header{"Authorization": {"Bearer " + b.token}}})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	lc.c = c
	// Reading with a context that ends closes the connection: reads use none.
	_, data, err := c.Read(context.Background())
	if err != nil {
		return nil, fmt.Errorf("read hello: %w", err)
	}
	if !strings.Contains(string(data), `"hello"`) {
		return nil, fmt.Errorf("want hello, got %s", data)
	}
	return lc, nil
}

func (lc *liveClient) send(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return lc.c.Write(ctx, websocket.MessageText, data)
}

func (lc *liveClient) close() { _ = lc.c.CloseNow() }

// dialMany opens n clients, 64 handshakes at a time.
func (b *bench) dialMany(n int) ([]*liveClient, error) {
	clients := make([]*liveClient, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			lc, err := b.dialLive(false)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("client %d: %w", i, err)
			}
			clients[i] = lc
		}()
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(clients)
		return nil, firstErr
	}
	return clients, nil
}

func closeAll(clients []*liveClient) {
	for _, lc := range clients {
		if lc != nil {
			lc.close()
		}
	}
}

// metric reads one sample of /metrics by its full name with labels.
func (b *bench) metric(name string) float64 {
	resp, err := b.client.Get(b.base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return -1
}

// chain is a workflow: a manual trigger, then nodes in a row.
func chain(name string, nodes ...map[string]any) map[string]any {
	all := append([]map[string]any{{"id": "start", "type": "trigger.manual"}}, nodes...)
	var edges []map[string]any
	for i := 1; i < len(all); i++ {
		edges = append(edges, map[string]any{"source": all[i-1]["id"], "target": all[i]["id"]})
	}
	return map[string]any{"name": name, "nodes": all, "edges": edges}
}

func setNode(id string) map[string]any {
	return map[string]any{"id": id, "type": "data.set", "config": map[string]any{"fields": map[string]any{id: "{{ input.n }}"}}}
}

func delayNode(id, d string) map[string]any {
	return map[string]any{"id": id, "type": "flow.delay", "config": map[string]any{"duration": d}}
}

func (b *bench) startExecution(workflow string) (string, error) {
	var e struct{ ID string }
	if _, err := b.call("POST", "/api/v1/workflows/"+workflow+"/executions", map[string]any{"input": map[string]any{"n": 1}}, &e); err != nil {
		return "", err
	}
	return e.ID, nil
}

// latencyClient is one measuring client: its reader goroutine alone touches these fields until the
// bench has waited for the last execution's completion.
type latencyClient struct {
	lc         *liveClient
	live       bool
	node, all  []time.Duration
	resyncs    int
	subscribed func()
	completed  func()
}

func (c *latencyClient) read() {
	for {
		_, data, err := c.lc.c.Read(context.Background())
		if err != nil {
			return
		}
		now := time.Now()
		typ, at, ok := peekEvent(data)
		switch {
		case typ == "batch":
			if c.live {
				for _, ev := range peekBatch(data) {
					d := now.Sub(ev.at)
					c.all = append(c.all, d)
					if ev.typ == "node.succeeded" {
						c.node = append(c.node, d)
					}
				}
			}
		case ok:
			if c.live {
				d := now.Sub(at)
				c.all = append(c.all, d)
				if typ == "node.succeeded" {
					c.node = append(c.node, d)
				}
			}
		case typ == "live":
			c.live = true
			c.subscribed()
		case typ == "complete", typ == "resync", typ == "error":
			if typ == "resync" {
				c.resyncs++
			}
			if !c.live {
				c.subscribed() // the replay ended the subscription before it went live
			}
			c.live = false
			c.completed()
		}
	}
}

// peekEvent reads a message's type and, for an event, its time, without decoding the rest: the
// measuring clients share the server's two cores, so they parse as little as they can.
func peekEvent(data []byte) (typ string, at time.Time, event bool) {
	typ = field(data, `"type":"`)
	if !strings.Contains(typ, ".") {
		return typ, at, false
	}
	at, err := time.Parse(time.RFC3339Nano, field(data, `"time":"`))
	return typ, at, err == nil
}

type peeked struct {
	typ string
	at  time.Time
}

// peekBatch reads the type and time of each event of a batch message, as peekEvent does.
func peekBatch(data []byte) []peeked {
	var out []peeked
	rest := data
	if i := bytes.Index(rest, []byte(`"events":[`)); i >= 0 {
		rest = rest[i:]
	}
	for {
		i := bytes.Index(rest, []byte(`{"type":"`))
		if i < 0 {
			return out
		}
		rest = rest[i+1:]
		typ, at, ok := peekEvent(rest)
		if ok {
			out = append(out, peeked{typ, at})
		}
	}
}

// field returns the string value that follows key in data ("" when absent).
func field(data []byte, key string) string {
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return ""
	}
	rest := data[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// liveLatency runs executions one after another, each followed by every client: a one-second hold
// (time for all to subscribe), then ten http.request nodes in a row, each answered by a local API
// after 25 ms (so a step is the end of one node and the start of the next). Only events that arrive
// live count.
func (b *bench) liveLatency(clients, executions int) error {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(25 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer api.Close()
	nodes := []map[string]any{delayNode("hold", "1s")}
	for i := 1; i <= 10; i++ {
		nodes = append(nodes, map[string]any{"id": fmt.Sprintf("call_%d", i), "type": "http.request",
			"config": map[string]any{"method": "GET", "url": api.URL + "/step"}})
	}
	wf, err := b.createWorkflow(chain("live latency", nodes...))
	if err != nil {
		return err
	}
	conns, err := b.dialMany(clients)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	var liveWG, doneWG sync.WaitGroup
	readers := make([]*latencyClient, clients)
	for i, lc := range conns {
		readers[i] = &latencyClient{lc: lc, subscribed: liveWG.Done, completed: doneWG.Done}
		go readers[i].read()
	}
	var subscribeTimes latency.Recorder
	histBefore := b.deliveryHistogram()
	cpuBefore, writesBefore, ownBefore := b.cpu(), b.writeSyscalls(), selfCPU()
	began := time.Now()
	for e := range executions {
		id, err := b.startExecution(wf)
		if err != nil {
			return err
		}
		requested := time.Now()
		liveWG.Add(clients)
		doneWG.Add(clients)
		for _, lc := range conns {
			if err := lc.send(map[string]any{"type": "subscribe", "id": "e" + strconv.Itoa(e), "executionId": id, "batch": true}); err != nil {
				return err
			}
		}
		if !waitGroup(&liveWG, time.Minute) {
			return errors.New("the clients did not all subscribe within a minute")
		}
		subscribeTimes.Add(time.Since(requested))
		if !waitGroup(&doneWG, time.Minute) {
			return errors.New("the execution did not complete for every client within a minute")
		}
	}
	elapsed := time.Since(began)
	cpu, writes, own := b.cpu()-cpuBefore, b.writeSyscalls()-writesBefore, selfCPU()-ownBefore
	hist := b.deliveryHistogram()
	var node, all latency.Recorder
	resyncs := 0
	for _, r := range readers {
		for _, d := range r.node {
			node.Add(d)
		}
		for _, d := range r.all {
			all.Add(d)
		}
		resyncs += r.resyncs
	}
	p99 := node.Percentile(99)
	figure(fmt.Sprintf("node finished → event received, %d WebSocket clients on each execution, p99", clients), "%.2f ms", "p99 ≤ 10 ms",
		p99 <= 10*time.Millisecond && resyncs == 0, float64(p99.Microseconds())/1000, b.store)
	fmt.Printf("  node.succeeded: %s\n  every live event: %s\n", node.Summary(), all.Summary())
	fmt.Printf("  %d executions of 10 nodes in %s; %d resyncs; all %d clients subscribed %s after each run request (the hold is 1 s); CPU: server %s, the clients (this process) %s\n",
		executions, elapsed.Round(time.Millisecond), resyncs, clients, latency.Ms(subscribeTimes.Percentile(100)), cpu.Round(time.Millisecond), own.Round(time.Millisecond))
	fmt.Printf("  the server's writes (concertmaster_live_delivery_seconds, event time → written):%s\n", hist.since(histBefore))
	fmt.Printf("  server write system calls: %d, %.2f per event message\n", writes, float64(writes)/float64(max(all.Count(), 1)))
	return nil
}

// histogram is the server's delivery histogram: cumulative counts by upper bound.
type histogram map[string]float64

var deliveryBounds = []string{"0.001", "0.005", "0.01", "0.05", "0.1", "0.5"}

func (b *bench) deliveryHistogram() histogram {
	h := histogram{"count": b.metric(`concertmaster_live_delivery_seconds_count{transport="ws"}`)}
	for _, le := range deliveryBounds {
		h[le] = b.metric(`concertmaster_live_delivery_seconds_bucket{transport="ws",le="` + le + `"}`)
	}
	return h
}

// since describes the writes between two readings: the share within each bound.
func (h histogram) since(before histogram) string {
	n := h["count"] - max(before["count"], 0)
	if n <= 0 {
		return " none"
	}
	var out strings.Builder
	for _, le := range deliveryBounds {
		fmt.Fprintf(&out, " %.1f %% ≤ %s s;", 100*(h[le]-max(before[le], 0))/n, le)
	}
	fmt.Fprintf(&out, " %.0f writes", n)
	return out.String()
}

// writeSyscalls returns how many write system calls the server has made (/proc/PID/io syscw).
func (b *bench) writeSyscalls() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", b.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// waitGroup waits for wg, or gives up after d.
func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// liveIdle connects n clients, each subscribed to a workflow, and measures the server's memory per
// client; then one run of that workflow must reach them all.
func (b *bench) liveIdle(n int) error {
	wf, err := b.createWorkflow(chain("live idle", setNode("set")))
	if err != nil {
		return err
	}
	// A settled baseline: one client connected and gone, so that the handshake's code is paged in.
	if lc, err := b.dialLive(false); err == nil {
		lc.close()
	}
	time.Sleep(time.Second)
	rssBefore, heapBefore, goroutinesBefore := b.rss(), b.metric("go_memstats_heap_inuse_bytes"), b.metric("go_goroutines")
	began := time.Now()
	conns, err := b.dialMany(n)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	var liveWG sync.WaitGroup
	var finished atomic.Int64
	allGot := make(chan struct{})
	liveWG.Add(n)
	for i, lc := range conns {
		go func() {
			subscribed := false
			for {
				_, data, err := lc.c.Read(context.Background())
				if err != nil {
					return
				}
				var m liveMsg
				_ = json.Unmarshal(data, &m)
				switch {
				case m.Type == "live" && !subscribed:
					subscribed = true
					liveWG.Done()
				case m.Type == "execution.finished":
					if finished.Add(1) == int64(n) {
						close(allGot)
					}
				}
			}
		}()
		if err := lc.send(map[string]any{"type": "subscribe", "id": "w" + strconv.Itoa(i), "workflowId": wf}); err != nil {
			return err
		}
	}
	if !waitGroup(&liveWG, 2*time.Minute) {
		return errors.New("not every client subscribed within two minutes")
	}
	connected := time.Since(began)
	time.Sleep(2 * time.Second) // let the server's allocations settle
	rss, heap, goroutines := b.rss(), b.metric("go_memstats_heap_inuse_bytes"), b.metric("go_goroutines")
	clientsGauge := b.metric(`concertmaster_live_clients{transport="ws"}`)
	subs := b.metric("concertmaster_live_subscriptions")

	run := time.Now()
	if _, err := b.startExecution(wf); err != nil {
		return err
	}
	fanOut := time.Duration(-1)
	select {
	case <-allGot:
		fanOut = time.Since(run)
	case <-time.After(time.Minute):
	}
	figure("idle WebSocket subscribers on one server", "%.0f connected and subscribed", fmt.Sprintf("≥ %d", n),
		clientsGauge >= float64(n) && fanOut > 0, clientsGauge, b.store)
	perClient := (rss - rssBefore) * 1024 / float64(n)
	report("server memory per idle WebSocket subscriber (RSS delta / clients)", "%.1f KiB", perClient, b.store)
	fmt.Printf("  RSS %.1f → %.1f MiB; Go heap in use %.1f → %.1f MiB (%.1f KiB per client); goroutines %.0f → %.0f (%.1f per client); %.0f bus subscriptions\n",
		rssBefore, rss, heapBefore/(1<<20), heap/(1<<20), (heap-heapBefore)/1024/float64(n), goroutinesBefore, goroutines, (goroutines-goroutinesBefore)/float64(n), subs)
	fmt.Printf("  %d clients connected and subscribed in %s; one run's execution.finished reached all of them %s after its run request (%d of %d)\n",
		n, connected.Round(time.Millisecond), fanOut.Round(time.Millisecond), finished.Load(), n)
	return nil
}

// tracked is one execution a reconnecting client follows.
type tracked struct {
	id   string
	last int64
	got  []string // "seq type"
	done bool
}

// cuttingClient follows its executions across connections that it cuts about every second.
type cuttingClient struct {
	b *bench

	mu    sync.Mutex
	execs map[string]*tracked
	cur   *liveClient
	stop  bool

	reconnects, duplicates, gaps, resyncs, errs int
	firstErr                                    error
}

// add follows one more execution, subscribing at once when connected.
func (c *cuttingClient) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &tracked{id: id}
	c.execs[id] = t
	if c.cur != nil {
		_ = c.cur.send(subscribeAfter(t))
	}
}

func subscribeAfter(t *tracked) map[string]any {
	return map[string]any{"type": "subscribe", "id": t.id, "executionId": t.id, "afterSeq": t.last}
}

// pending reports whether an execution is unfinished.
func (c *cuttingClient) pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.execs {
		if !t.done {
			return true
		}
	}
	return false
}

func (c *cuttingClient) run(wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		c.mu.Lock()
		stop := c.stop
		c.mu.Unlock()
		if stop && !c.pending() {
			return
		}
		lc, err := c.b.dialLive(true)
		if err != nil {
			c.mu.Lock()
			c.errs++
			c.firstErr = cmpErr(c.firstErr, err)
			c.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			continue
		}
		c.mu.Lock()
		c.cur = lc
		for _, t := range c.execs {
			if !t.done {
				_ = lc.send(subscribeAfter(t))
			}
		}
		c.mu.Unlock()
		// Cut the TCP connection, without a close handshake, in 0.8 to 1.2 s.
		cut := time.AfterFunc(800*time.Millisecond+rand.N(400*time.Millisecond), func() { _ = lc.raw.Close() }) //nolint:gosec // spreads the cuts; nothing to guess
		c.read(lc)
		cut.Stop()
		lc.close()
		c.mu.Lock()
		c.cur = nil
		c.reconnects++
		c.mu.Unlock()
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (c *cuttingClient) read(lc *liveClient) {
	for {
		_, data, err := lc.c.Read(context.Background())
		if err != nil {
			return
		}
		var m liveMsg
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		c.mu.Lock()
		t := c.execs[m.ExecutionID]
		if t == nil && m.Subscription != "" {
			t = c.execs[m.Subscription]
		}
		switch {
		case t == nil:
		case m.event():
			switch {
			case m.Seq <= t.last:
				c.duplicates++
			default:
				if m.Seq != t.last+1 {
					c.gaps++
				}
				t.got = append(t.got, strconv.FormatInt(m.Seq, 10)+" "+m.Type)
				t.last = m.Seq
				if m.Type == "execution.finished" {
					t.done = true
				}
			}
		case m.Type == "resync":
			c.resyncs++
			_ = lc.send(subscribeAfter(t))
		case m.Type == "error":
			c.errs++
			c.firstErr = cmpErr(c.firstErr, fmt.Errorf("%s: %s", m.Code, m.Message))
		}
		stop := c.stop && c.allDoneLocked()
		c.mu.Unlock()
		if stop {
			return
		}
	}
}

func (c *cuttingClient) allDoneLocked() bool {
	for _, t := range c.execs {
		if !t.done {
			return false
		}
	}
	return true
}

// liveReconnect starts executions at 100 a second, each followed by one of the clients, whose
// connections are cut about every second; at the end what each client received of each execution
// must be its event log exactly.
func (b *bench) liveReconnect(executions, clients int) error {
	wf, err := b.createWorkflow(chain("live reconnect", setNode("a"), delayNode("wait", "1500ms"), setNode("b"), setNode("c")))
	if err != nil {
		return err
	}
	cs := make([]*cuttingClient, clients)
	var wg sync.WaitGroup
	for i := range cs {
		cs[i] = &cuttingClient{b: b, execs: make(map[string]*tracked)}
		wg.Add(1)
		go cs[i].run(&wg)
	}
	began := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	for i := range executions {
		<-tick.C
		id, err := b.startExecution(wf)
		if err != nil {
			tick.Stop()
			return err
		}
		cs[i%clients].add(id)
	}
	tick.Stop()
	for _, c := range cs {
		c.mu.Lock()
		c.stop = true
		c.mu.Unlock()
	}
	if !waitGroup(&wg, 3*time.Minute) {
		return errors.New("the clients did not receive every execution's end within three minutes")
	}
	elapsed := time.Since(began)

	var reconnects, duplicates, gaps, resyncs, errs, delivered, expected, mismatched int
	var firstErr error
	for _, c := range cs {
		reconnects += c.reconnects
		duplicates += c.duplicates
		gaps += c.gaps
		resyncs += c.resyncs
		errs += c.errs
		firstErr = cmpErr(firstErr, c.firstErr)
		for _, t := range c.execs {
			want, err := b.eventLog(t.id)
			if err != nil {
				return err
			}
			expected += len(want)
			delivered += len(t.got)
			if !slices.Equal(want, t.got) {
				mismatched++
			}
		}
	}
	share := 100 * float64(delivered) / float64(max(expected, 1))
	figure(fmt.Sprintf("%d executions, %d clients cut and resumed (afterSeq) about every second: events delivered", executions, clients), "%.2f %%",
		"100 %, in order, 0 duplicates", delivered == expected && mismatched == 0 && duplicates == 0 && gaps == 0, share, b.store)
	fmt.Printf("  %d of %d events, %d executions differing from their log, %d duplicates, %d out of order; %d connections cut and reopened, %d resyncs, %d errors%s; %s\n",
		delivered, expected, mismatched, duplicates, gaps, reconnects, resyncs, errs, errSuffix(firstErr), elapsed.Round(time.Millisecond))
	return nil
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " (first: " + err.Error() + ")"
}

// eventLog reads an execution's whole event log as "seq type".
func (b *bench) eventLog(id string) ([]string, error) {
	var out []string
	after := int64(0)
	for {
		var page struct {
			Items []struct {
				Seq  int64
				Type string
			}
		}
		if _, err := b.call("GET", fmt.Sprintf("/api/v1/executions/%s/events?limit=1000&after=%d", id, after), nil, &page); err != nil {
			return nil, err
		}
		for _, ev := range page.Items {
			out = append(out, strconv.FormatInt(ev.Seq, 10)+" "+ev.Type)
			after = ev.Seq
		}
		if len(page.Items) < 1000 {
			return out, nil
		}
	}
}

// liveWebhook runs the webhook load without watchers and then with them, back to back, after a
// short warm-up.
func (b *bench) liveWebhook(d time.Duration, watchers int) error {
	if _, err := b.webhookLoad(5 * time.Second); err != nil { // warm-up
		return err
	}
	without, err := b.webhookLoad(d)
	if err != nil {
		return err
	}
	conns, err := b.dialMany(watchers)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	var liveWG sync.WaitGroup
	var events, resyncs atomic.Int64
	liveWG.Add(watchers)
	for _, lc := range conns {
		go func() {
			for {
				_, data, err := lc.c.Read(context.Background())
				if err != nil {
					return
				}
				// As little work as a watcher can do: the watchers share the server's two cores.
				typ := field(data, `"type":"`)
				switch {
				case typ == "batch":
					events.Add(int64(bytes.Count(data, []byte(`"seq":`))))
				case strings.Contains(typ, "."):
					events.Add(1)
				case typ == "live":
					liveWG.Done()
				case typ == "resync":
					var m liveMsg
					_ = json.Unmarshal(data, &m)
					resyncs.Add(1)
					_ = lc.send(map[string]any{"type": "subscribe", "id": "all" + strconv.FormatInt(resyncs.Load(), 10), "since": m.Since, "batch": true})
				}
			}
		}()
		if err := lc.send(map[string]any{"type": "subscribe", "id": "all", "batch": true}); err != nil {
			return err
		}
	}
	if !waitGroup(&liveWG, time.Minute) {
		return errors.New("the watchers did not all subscribe")
	}
	ownBefore := selfCPU()
	with, err := b.webhookLoad(d)
	if err != nil {
		return err
	}
	own := selfCPU() - ownBefore
	ratio := with.rps / without.rps
	figure(fmt.Sprintf("webhook throughput with %d WebSocket clients watching every execution, against none", watchers), "%.1f %%", "≥ 90 %",
		ratio >= 0.9 && with.non2xx == 0, 100*ratio, b.store)
	fmt.Printf("  without watchers: %.0f executions/s, %.2f ms server CPU each; with: %.0f executions/s, %.2f ms server CPU each\n",
		without.rps, cpuPer(without), with.rps, cpuPer(with))
	fmt.Printf("  the watchers received %d events (%.0f each; 3 per execution makes %.0f), %d resyncs; the watchers' own CPU (this process): %.2f ms per execution\n",
		events.Load(), float64(events.Load())/float64(watchers), 3*with.persisted, resyncs.Load(), float64(own.Microseconds())/1000/max(with.persisted, 1))
	return nil
}

// selfCPU returns this process's CPU time so far (user plus system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func cpuPer(r webhookResult) float64 {
	if r.persisted == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / 1000 / r.persisted
}
