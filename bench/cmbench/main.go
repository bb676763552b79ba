// Command cmbench measures ConcertMaster's server-level figures against the real binary: resident
// memory idle and under load, webhook throughput (wrk -c64, every execution persisted), GET latency
// at a constant 1,000 requests/s, 1,000 executions waiting in flow.delay at once, the accuracy of 100
// schedules firing every second (schedule.go), the read of a 7 MB × 40-node execution (bigread.go),
// the live events over WebSocket (live.go), and, when named with -only, the scale-out figures of issue
// 11: simulated editors (editors.go), an open-loop read stress (stress.go), and on a cluster of API
// and worker processes, throughput with 1–3 workers and recovery after SIGKILL of every process
// (cluster.go, scale.go). It prints one "figure:" line per measurement with the target it is held
// to. See bench/README.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/concertmaster/concertmaster/internal/latency"
)

func main() {
	bin := flag.String("bin", "bin/concertmaster", "the concertmaster binary")
	pgAdmin := flag.String("postgres", "", "measure on PostgreSQL: an admin URL; a fresh database is created and dropped")
	webhookDur := flag.Duration("webhook-duration", 20*time.Second, "wrk run length")
	getDur := flag.Duration("get-duration", 30*time.Second, "constant-rate GET run length")
	getRate := flag.Int("get-rate", 1000, "GET requests per second")
	delays := flag.Int("delays", 1000, "executions waiting in flow.delay at once")
	var so scheduleOptions
	flag.IntVar(&so.schedules, "schedules", 100, "schedule: workflows with an @every 1s schedule, active at once")
	flag.DurationVar(&so.duration, "schedule-duration", 20*time.Second, "schedule: how long the schedules stay active")
	only := flag.String("only", "", "comma-separated subset: idle,webhook,get,delay,schedule,bombs,bigread,live,editors,stress,workers,recovery,plugins "+
		"(live is live.latency,live.idle,live.reconnect,live.webhook; workers and recovery need -postgres)")
	var x extraOptions
	flag.IntVar(&x.pluginReloads, "plugin-reloads", 1000, "plugins: times the plugin is replaced under load")
	flag.IntVar(&x.editors.editors, "editors", 100, "editors: simulated editors at once, each with a workflow of its own")
	flag.DurationVar(&x.editors.duration, "editors-duration", 5*time.Minute, "editors: run length")
	flag.DurationVar(&x.editors.think, "editors-think", time.Second, "editors: mean pause between an editor's operations (uniform over 0.5–1.5 × this)")
	flag.IntVar(&x.stress.rate, "stress-rate", 1000, "stress: requests per second (constant arrival rate)")
	flag.DurationVar(&x.stress.duration, "stress-duration", 10*time.Minute, "stress: run length")
	flag.IntVar(&x.stress.workflows, "stress-workflows", 20, "stress: workflows read (each saved three times)")
	flag.IntVar(&x.stress.runsPer, "stress-runs", 10, "stress: executions of each workflow read")
	flag.StringVar(&x.pprof, "pprof", "", "serve the main server's profiling endpoints on this host:port (CM_PPROF_ADDR), e.g. to profile it under -only stress")
	flag.StringVar(&x.scale.redis, "redis", "", "workers, recovery: the clusters' Redis URL (CM_REDIS_URL; a prefix of their own); none without it")
	workerCounts := flag.String("worker-counts", "1,2,3", "workers: the numbers of worker processes measured, one after another")
	flag.IntVar(&x.scale.executions, "workers-executions", 3000, "workers: the backlog each count of workers drains")
	flag.IntVar(&x.scale.recoveryExecutions, "recovery-executions", 2000, "recovery: executions in flight at the kill (half parked in flow.delay)")
	flag.DurationVar(&x.scale.recoveryDelay, "recovery-delay", 10*time.Second, "recovery: how long the parked half waits in flow.delay")
	var lo liveOptions
	flag.IntVar(&lo.clients, "live-clients", 500, "live.latency: WebSocket clients subscribed to each measured execution")
	flag.IntVar(&lo.executions, "live-executions", 20, "live.latency: executions measured, one after another")
	flag.IntVar(&lo.idle, "live-idle", 10000, "live.idle: idle WebSocket subscribers")
	flag.IntVar(&lo.reconnectExecutions, "live-reconnect-executions", 1000, "live.reconnect: executions followed while connections are cut")
	flag.IntVar(&lo.reconnectClients, "live-reconnect-clients", 50, "live.reconnect: clients, each cut about every second")
	flag.IntVar(&lo.watchers, "live-watchers", 100, "live.webhook: clients watching every execution")
	flag.StringVar(&lo.pprof, "live-pprof", "", "serve the live server's profiling endpoints on this host:port (CM_PPROF_ADDR)")
	cpuProfile := flag.String("cpuprofile", "", "write this bench process's CPU profile to the file (the load generator's own cost)")
	hookAuth := flag.String("webhook-auth", "", "webhook: the trigger requires authentication, and wrk sends it: header (a shared secret) or hmac (sha256 of the body)")
	flag.Parse()
	lo.webhookDur = *webhookDur
	counts, err := parseCounts(*workerCounts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cmbench: -worker-counts:", err)
		os.Exit(2)
	}
	x.scale.workerCounts = counts
	if *hookAuth != "" && *hookAuth != "header" && *hookAuth != "hmac" {
		fmt.Fprintln(os.Stderr, "cmbench: -webhook-auth: want header or hmac")
		os.Exit(2)
	}
	if err := profiled(*cpuProfile, func() error {
		return run(*bin, *pgAdmin, *webhookDur, *getDur, *getRate, *delays, *only, *hookAuth, lo, so, x)
	}); err != nil {
		fmt.Fprintln(os.Stderr, "cmbench:", err)
		os.Exit(1)
	}
}

// profiled runs f, writing this process's CPU profile to file when it is named.
func profiled(file string, f func() error) error {
	if file == "" {
		return f()
	}
	out, err := os.Create(file) //nolint:gosec // the profile file the developer named with -cpuprofile
	if err != nil {
		return err
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return f()
}

type bench struct {
	base   string
	client *http.Client
	// token is an API key of the bench's owner, sent with every API call (webhooks and /metrics are
	// public).
	token string
	cmd   *exec.Cmd
	store string
	// hookReady: the webhook workflow exists and is active.
	hookReady bool
	// hookAuth is the webhook trigger's authentication: "", header or hmac.
	hookAuth string
}

// extraOptions size the figures of issue 11: editors and stress on one server (editors.go,
// stress.go), workers and recovery on a cluster of processes (scale.go).
type extraOptions struct {
	// pluginReloads is how many times -only plugins replaces the plugin under load.
	pluginReloads int
	editors       editorOptions
	stress        stressOptions
	scale         scaleOptions
	pprof         string
}

// scheduleOptions size the schedule group (schedule.go).
type scheduleOptions struct {
	schedules int
	duration  time.Duration
}

func run(bin, pgAdmin string, webhookDur, getDur time.Duration, getRate, delays int, only, hookAuth string, lo liveOptions, so scheduleOptions, x extraOptions) error {
	named := func(name string) bool { return strings.Contains(","+only+",", ","+name+",") }
	want := func(name string) bool { return only == "" || named(name) }
	// A group's sub-figure is wanted with its group (live) or by its own name (live.latency).
	wantLive := func(sub string) bool { return want("live") || want("live."+sub) }
	anyLive := wantLive("latency") || wantLive("idle") || wantLive("reconnect") || wantLive("webhook")
	dir, err := os.MkdirTemp("", "cmbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The figures of issue 11 run only when named (together about 20 minutes at their defaults). The
	// cluster figures start processes of their own, on databases of their own.
	if named("workers") {
		if err := workerThroughput(bin, pgAdmin, dir, x.scale); err != nil {
			return fmt.Errorf("workers: %w", err)
		}
	}
	if named("recovery") {
		if err := recovery(bin, pgAdmin, dir, x.scale); err != nil {
			return fmt.Errorf("recovery: %w", err)
		}
	}
	if named("plugins") {
		if err := pluginFigures(bin, dir, x.pluginReloads); err != nil {
			return fmt.Errorf("plugins: %w", err)
		}
	}
	if only != "" && !slices.ContainsFunc(splitComma(only), func(name string) bool { return name != "workers" && name != "recovery" && name != "plugins" }) {
		return nil
	}
	dbURL := "sqlite://" + filepath.Join(dir, "cm.db")
	storeName := "SQLite"
	if pgAdmin != "" {
		name := fmt.Sprintf("cmbench_%d", rand.IntN(1_000_000)) //nolint:gosec // a scratch database's name, not a secret
		drop, u, err := createDatabase(pgAdmin, name)
		if err != nil {
			return err
		}
		defer drop()
		dbURL, storeName = u, "PostgreSQL"
	}
	var env []string
	if x.pprof != "" {
		env = append(env, "CM_PPROF_ADDR="+x.pprof)
	}
	b, err := start(bin, dbURL, dir, env...)
	if err != nil {
		return err
	}
	b.store = storeName
	b.hookAuth = hookAuth
	defer b.stop()

	if want("idle") {
		time.Sleep(3 * time.Second)
		rss := b.rss()
		figure("resident memory, idle", "%.1f MiB", "≤ 50 MiB", rss <= 50, rss, b.store)
	}
	if want("webhook") {
		if err := b.webhook(webhookDur); err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
	}
	if want("get") {
		if err := b.constantGET(getDur, getRate); err != nil {
			return fmt.Errorf("get: %w", err)
		}
	}
	if want("delay") {
		if err := b.delays(delays); err != nil {
			return fmt.Errorf("delays: %w", err)
		}
	}
	if want("schedule") {
		if err := b.schedules(so.schedules, so.duration); err != nil {
			return fmt.Errorf("schedules: %w", err)
		}
	}
	if named("editors") {
		if err := b.editors(x.editors); err != nil {
			return fmt.Errorf("editors: %w", err)
		}
	}
	if named("stress") {
		if err := b.stress(x.stress); err != nil {
			return fmt.Errorf("stress: %w", err)
		}
	}
	if want("bombs") && pgAdmin == "" {
		// The bombs try the engine's budgets, which do not depend on the store: SQLite only, each
		// on a fresh server so that its peak memory is its own.
		if err := b.validateBomb(5); err != nil {
			return fmt.Errorf("validate bomb: %w", err)
		}
		if err := runBombs(bin, dir); err != nil {
			return fmt.Errorf("bombs: %w", err)
		}
	}
	if want("bigread") { // it restarts the server
		if err := b.bigRead(bin, dbURL, dir); err != nil {
			return fmt.Errorf("big read: %w", err)
		}
	}
	if anyLive { // last: on a server and a database of their own
		b.stop()
		liveURL := "sqlite://" + filepath.Join(dir, "live.db")
		if pgAdmin != "" {
			drop, u, err := createDatabase(pgAdmin, fmt.Sprintf("cmbench_live_%d", rand.IntN(1_000_000))) //nolint:gosec // a scratch database's name, not a secret
			if err != nil {
				return err
			}
			defer drop()
			liveURL = u
		}
		if err := runLive(bin, liveURL, dir, storeName, wantLive, lo); err != nil {
			return fmt.Errorf("live: %w", err)
		}
	}
	return nil
}

// figure prints one measured figure and whether it meets its target.
func figure(name, format, target string, ok bool, value float64, store string) {
	verdict := "MEETS"
	if !ok {
		verdict = "MISSES"
	}
	fmt.Printf("figure: %s (%s): "+format+" — target %s — %s\n", name, store, value, target, verdict)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// The owner every bench server is started with (CM_BOOTSTRAP_EMAIL, CM_BOOTSTRAP_PASSWORD); start
// signs in as them and creates an API key for the calls.
const (
	benchEmail    = "bench@example.com"
	benchPassword = "Quartz-meadow-lantern-58"
)

// start starts the server on dbURL, with env added to its environment, and signs in. The server runs
// without the per-token rate limit (CM_API_RATE_LIMIT=0): the bench's one key makes thousands of calls
// a second, and the figures measure the server, not the limit.
func start(bin, dbURL, dir string, env ...string) (*bench, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// A secret of its own (PostgreSQL has no data directory to keep secret.key in).
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	env = append([]string{"CM_BOOTSTRAP_EMAIL=" + benchEmail, "CM_BOOTSTRAP_PASSWORD=" + benchPassword,
		"CM_API_RATE_LIMIT=0", "CM_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key)}, env...)
	logf, err := os.Create(filepath.Join(dir, "server.log")) //nolint:gosec // in the bench's own temporary directory
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), "CM_ADDR=127.0.0.1:"+strconv.Itoa(port), "CM_DATABASE_URL="+dbURL, "CM_LOG_LEVEL=warn"), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	b := &bench{
		base:   "http://127.0.0.1:" + strconv.Itoa(port),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}},
		cmd:    cmd,
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := b.client.Get(b.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if err := b.signIn(); err != nil {
					b.stop()
					return nil, err
				}
				return b, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.stop()
	body, _ := os.ReadFile(filepath.Join(dir, "server.log")) //nolint:gosec // in the bench's own temporary directory
	return nil, fmt.Errorf("server did not become ready:\n%s", body)
}

// signIn signs the bench's owner in and creates the API key the calls send.
func (b *bench) signIn() error {
	var pair struct{ AccessToken string }
	if _, err := b.call("POST", "/api/v1/auth/login", map[string]string{"email": benchEmail, "password": benchPassword}, &pair); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	b.token = pair.AccessToken
	var k struct{ Key string }
	if _, err := b.call("POST", "/api/v1/api-keys", map[string]string{"name": "cmbench", "role": "admin"}, &k); err != nil {
		return fmt.Errorf("create an API key: %w", err)
	}
	b.token = k.Key
	return nil
}

// request is an API request with the bench's credential.
func (b *bench) request(method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		return nil, err
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	return req, nil
}

func (b *bench) stop() {
	_ = b.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = b.cmd.Process.Kill()
	}
}

// rss returns the server's resident memory in MiB.
func (b *bench) rss() float64 { return b.statusMiB("VmRSS:") }

// hwm returns the server's peak resident memory so far (VmHWM), in MiB.
func (b *bench) hwm() float64 { return b.statusMiB("VmHWM:") }

// statusMiB reads one memory field of /proc/<pid>/status, in MiB (-1 when unreadable).
func (b *bench) statusMiB(field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", b.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), field) {
			kb, _ := strconv.ParseFloat(strings.Fields(sc.Text())[1], 64)
			return kb / 1024
		}
	}
	return -1
}

// cpu returns the server's CPU time so far (user plus system).
func (b *bench) cpu() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", b.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// sampleRSS records the peak resident memory until stop is closed.
func (b *bench) sampleRSS(stop <-chan struct{}) *float64 {
	peak := new(float64)
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				*peak = max(*peak, b.rss())
			}
		}
	}()
	return peak
}

func (b *bench) call(method, path string, body any, out any) (int, error) {
	var r io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(buf)
	}
	req, err := b.request(method, path, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 400 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(data, out)
	}
	return resp.StatusCode, nil
}

func (b *bench) createWorkflow(def map[string]any) (string, error) {
	var w struct{ ID string }
	if _, err := b.call("POST", "/api/v1/workflows", def, &w); err != nil {
		return "", err
	}
	return w.ID, nil
}

// webhook measures executions per second through a webhook that runs ten data.set nodes and answers
// with the final output, under wrk with 64 connections.
func (b *bench) webhook(d time.Duration) error {
	stop := make(chan struct{})
	peak := b.sampleRSS(stop)
	r, err := b.webhookLoad(d)
	close(stop)
	if err != nil {
		return err
	}
	figure("webhook → 10 data.set → respond, wrk -c64 "+d.String()+", every execution persisted", "%.0f executions/s", "≥ 600/s", r.rps >= 600 && r.non2xx == 0, r.rps, b.store)
	r.print()
	figure("resident memory under the webhook load (peak)", "%.1f MiB", "≤ 150 MiB", *peak <= 150, *peak, b.store)
	return nil
}

// webhookResult is one wrk run against the webhook.
type webhookResult struct {
	rps, total, non2xx, errs, persisted float64
	cpu                                 time.Duration
	p50, p99                            string
}

func (r webhookResult) print() {
	fmt.Printf("  wrk: %.0f requests, %.0f non-2xx, %.0f socket errors; succeeded executions persisted: %.0f; p50 %s p99 %s\n",
		r.total, r.non2xx, r.errs, r.persisted, r.p50, r.p99)
	if r.persisted > 0 {
		fmt.Printf("  server CPU: %s in all, %.2f ms per execution (%.0f executions/s per fully used core)\n",
			r.cpu.Round(time.Millisecond), float64(r.cpu.Microseconds())/1000/r.persisted, r.persisted/r.cpu.Seconds())
	}
}

// webhookWorkflow creates and activates the webhook workflow once per server.
func (b *bench) webhookWorkflow() error {
	if b.hookReady {
		return nil
	}
	hook := map[string]any{"path": "bench/orders"}
	switch b.hookAuth {
	case "header":
		hook["auth"] = map[string]any{"type": "header", "name": "X-Webhook-Token", "value": benchHookSecret}
	case "hmac":
		hook["auth"] = map[string]any{"type": "hmac", "header": "X-Signature-256", "secret": benchHookSecret, "prefix": "sha256="}
	}
	nodes := []map[string]any{{"id": "hook", "type": "trigger.webhook", "config": hook}}
	var edges []map[string]any
	prev := "hook"
	for i := range 10 {
		id := fmt.Sprintf("set_%d", i)
		nodes = append(nodes, map[string]any{"id": id, "type": "data.set",
			"config": map[string]any{"fields": map[string]any{fmt.Sprintf("step%d", i): fmt.Sprintf("{{ input.body.total * %d }}", i+1)}}})
		edges = append(edges, map[string]any{"source": prev, "target": id})
		prev = id
	}
	id, err := b.createWorkflow(map[string]any{"name": "webhook bench", "nodes": nodes, "edges": edges})
	if err != nil {
		return err
	}
	if _, err := b.call("POST", "/api/v1/workflows/"+id+"/activate", nil, nil); err != nil {
		return err
	}
	b.hookReady = true
	return nil
}

// webhookLoad runs wrk -t2 -c64 against the webhook for d.
func (b *bench) webhookLoad(d time.Duration) (webhookResult, error) {
	var r webhookResult
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return r, errors.New("wrk is not installed: apt-get install -y wrk")
	}
	if err := b.webhookWorkflow(); err != nil {
		return r, err
	}
	before, err := b.succeeded()
	if err != nil {
		return r, err
	}
	script, err := filepath.Abs("bench/webhook.lua")
	if err != nil {
		return r, err
	}
	cpuBefore := b.cpu()
	cmd := exec.Command(wrk, "-t2", "-c64", "-d"+d.String(), "--latency", "-s", script, b.base+"/hooks/bench/orders") //nolint:gosec // wrk from PATH against the bench's own server
	cmd.Env = append(os.Environ(), b.hookEnv()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return r, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	text := string(out)
	r.rps = parseFloat(`Requests/sec:\s+([\d.]+)`, text)
	r.total = parseFloat(`(\d+) requests in`, text)
	r.non2xx = parseFloat(`Non-2xx or 3xx responses: (\d+)`, text)
	r.errs = parseFloat(`Socket errors: connect (\d+)`, text) + parseFloat(`read (\d+)`, text) + parseFloat(`timeout (\d+)`, text)
	r.p50, r.p99 = parseString(`50%\s+(\S+)`, text), parseString(`99%\s+(\S+)`, text)
	r.cpu = b.cpu() - cpuBefore
	after, err := b.succeeded()
	if err != nil {
		return r, err
	}
	r.persisted = after - before
	return r, nil
}

// benchHookBody is the body wrk sends to the webhook; benchHookSecret the trigger's secret when
// -webhook-auth asks for one.
const (
	benchHookBody   = `{"orderId": 42, "total": 150.5, "customer": {"name": "Ada", "tier": "gold"}}`
	benchHookSecret = "bench-webhook-secret-0123456789" //nolint:gosec // a fixture of the bench's throwaway server
)

// hookEnv tells bench/webhook.lua the body to send and the header that authenticates it.
func (b *bench) hookEnv() []string {
	env := []string{"BENCH_WEBHOOK_BODY=" + benchHookBody}
	switch b.hookAuth {
	case "header":
		env = append(env, "BENCH_WEBHOOK_HEADER=X-Webhook-Token", "BENCH_WEBHOOK_VALUE="+benchHookSecret)
	case "hmac":
		mac := hmac.New(sha256.New, []byte(benchHookSecret))
		mac.Write([]byte(benchHookBody))
		env = append(env, "BENCH_WEBHOOK_HEADER=X-Signature-256", "BENCH_WEBHOOK_VALUE=sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	return env
}

func parseFloat(pattern, text string) float64 {
	m := regexp.MustCompile(pattern).FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func parseString(pattern, text string) string {
	m := regexp.MustCompile(pattern).FindStringSubmatch(text)
	if m == nil {
		return "?"
	}
	return m[1]
}

// succeeded reads the succeeded-executions counter from /metrics.
func (b *bench) succeeded() (float64, error) {
	resp, err := b.client.Get(b.base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, `concertmaster_executions_finished_total{status="succeeded"}`) {
			return strconv.ParseFloat(strings.Fields(line)[1], 64)
		}
	}
	return 0, sc.Err()
}

// constantGET sends GET /api/v1/workflows/{id} at a fixed rate (an open model: latency counts from
// each request's scheduled time, so a stall shows up instead of slowing the load down).
func (b *bench) constantGET(d time.Duration, rate int) error {
	def := map[string]any{"name": "get bench", "nodes": []map[string]any{
		{"id": "start", "type": "trigger.manual"},
		{"id": "set", "type": "data.set", "config": map[string]any{"fields": map[string]any{"a": "{{ input.x }}"}}},
	}, "edges": []map[string]any{{"source": "start", "target": "set"}}}
	id, err := b.createWorkflow(def)
	if err != nil {
		return err
	}
	path := "/api/v1/workflows/" + id
	var rec latency.Recorder
	var failures atomic.Int64
	interval := time.Second / time.Duration(rate)
	total := int(d / interval)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range total {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := b.request("GET", path, nil)
			if err != nil {
				failures.Add(1)
				return
			}
			resp, err := b.client.Do(req)
			if err != nil {
				failures.Add(1)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				failures.Add(1)
			}
			rec.Add(time.Since(at))
		}()
	}
	wg.Wait()
	achieved := float64(total) / time.Since(start).Seconds()
	p99 := rec.Percentile(99)
	figure(fmt.Sprintf("GET /api/v1/workflows/{id} at %d requests/s for %s, p99", rate, d), "%.2f ms", "p99 ≤ 10 ms, no errors",
		p99 <= 10*time.Millisecond && failures.Load() == 0, float64(p99.Microseconds())/1000, b.store)
	fmt.Printf("  %s; %d errors; %.0f requests/s achieved\n", rec.Summary(), failures.Load(), achieved)
	return nil
}

// delays starts n executions that wait in flow.delay until the same instant and measures how late
// each resumes.
func (b *bench) delays(n int) error {
	def := map[string]any{"name": "delay bench", "nodes": []map[string]any{
		{"id": "start", "type": "trigger.manual"},
		{"id": "wait", "type": "flow.delay", "config": map[string]any{"until": "{{ input.at }}"}},
		{"id": "after", "type": "data.set", "config": map[string]any{"fields": map[string]any{"woke": true}}},
	}, "edges": []map[string]any{{"source": "start", "target": "wait"}, {"source": "wait", "target": "after"}}}
	id, err := b.createWorkflow(def)
	if err != nil {
		return err
	}
	before := b.rss()
	wakeAt := time.Now().Add(15 * time.Second).Truncate(time.Second)
	ids := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	var firstErr error
	var mu sync.Mutex
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var e struct{ ID string }
			_, err := b.call("POST", "/api/v1/workflows/"+id+"/executions", map[string]any{"input": map[string]any{"at": wakeAt.Format(time.RFC3339)}}, &e)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			ids[i] = e.ID
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	queued := time.Now()
	// Wait until every execution is parked in the store.
	for time.Now().Before(wakeAt) {
		if c, err := b.count(id, "waiting"); err == nil && c == n {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitingRSS := b.rss()
	parkedIn := time.Since(queued)
	for deadline := wakeAt.Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if c, err := b.count(id, "succeeded"); err == nil && c == n {
			break
		}
	}
	var late latency.Recorder
	succeeded := 0
	for _, eid := range ids {
		var e struct {
			Status   string
			NodeRuns []struct {
				NodeID    string
				StartedAt *time.Time
			}
		}
		if _, err := b.call("GET", "/api/v1/executions/"+eid, nil, &e); err != nil {
			return err
		}
		if e.Status == "succeeded" {
			succeeded++
		}
		for _, r := range e.NodeRuns {
			if r.NodeID == "after" && r.StartedAt != nil {
				late.Add(r.StartedAt.Sub(wakeAt))
			}
		}
	}
	p99 := late.Percentile(99)
	figure(fmt.Sprintf("%d executions waiting in flow.delay, resumed late by (p99)", n), "%.0f ms", "all resume on time",
		succeeded == n && p99 < time.Second, float64(p99.Milliseconds()), b.store)
	fmt.Printf("  %d/%d succeeded; lateness %s; all parked %s after the last run request\n", succeeded, n, late.Summary(), parkedIn.Round(time.Millisecond))
	fmt.Printf("  resident memory: %.1f MiB before, %.1f MiB with %d executions waiting, %.1f MiB after they resumed\n", before, waitingRSS, n, b.rss())
	return nil
}

// count returns how many executions of workflow have status, paging through the list.
func (b *bench) count(workflow, status string) (int, error) {
	total, cursor := 0, ""
	for {
		var page struct {
			Items      []json.RawMessage
			NextCursor string
		}
		if _, err := b.call("GET", "/api/v1/executions?limit=500&workflowId="+workflow+"&status="+status+"&cursor="+url.QueryEscape(cursor), nil, &page); err != nil {
			return 0, err
		}
		total += len(page.Items)
		if page.NextCursor == "" {
			return total, nil
		}
		cursor = page.NextCursor
	}
}

// createDatabase creates a database for one run and returns a function that drops it.
func createDatabase(admin, name string) (func(), string, error) {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return nil, "", fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		db.Close()
		return nil, "", err
	}
	u.Path = "/" + name
	drop := func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		db.Close()
	}
	return drop, u.String(), nil
}
