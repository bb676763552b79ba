package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The scale-out figures of issue 11 on a cluster of processes (cluster.go), PostgreSQL only:
//
//   - workers: throughput with 1, 2 and 3 worker processes. For each count, on a fresh database, the
//     API process (which runs nothing itself) is given a backlog of executions of a 10-node chain
//     (nine data.set and one http.request to a loopback server of this process), through the API,
//     before any worker runs; then the workers start and drain it. The figure is completed executions
//     per second between the first and the last completion (finished_at, from the database), with
//     the CPU use of the machine, the processes and PostgreSQL over the drain.
//   - recovery: an API and two workers with a backlog in flight (executions queued, running and
//     parked in flow.delay); every process is SIGKILLed at once and started again; the figures are
//     the time until /readyz answers, until the first execution completes, and until the backlog
//     has drained, all from the restart.

// scaleOptions size the cluster figures.
type scaleOptions struct {
	redis string
	// workerCounts are the numbers of worker processes measured; executions the backlog of each.
	workerCounts []int
	executions   int
	// recoveryExecutions are started before the kill, half of them parked in flow.delay for
	// recoveryDelay.
	recoveryExecutions int
	recoveryDelay      time.Duration
}

// callCounter is a loopback HTTP server that counts the calls it answers.
type callCounter struct {
	srv   *httptest.Server
	calls atomic.Int64
}

func newCallCounter() *callCounter {
	c := &callCounter{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c.calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	return c
}

// chain10 is the workers figure's workflow: a manual trigger, then four data.set, an http.request to
// url, and five data.set.
func chain10(name, url string) map[string]any {
	var nodes []map[string]any
	for i := 1; i <= 4; i++ {
		nodes = append(nodes, setNode(fmt.Sprintf("set_%d", i)))
	}
	nodes = append(nodes, map[string]any{"id": "call", "type": "http.request", "config": map[string]any{"method": "GET", "url": url + "/effect"}})
	for i := 5; i <= 9; i++ {
		nodes = append(nodes, setNode(fmt.Sprintf("set_%d", i)))
	}
	return chain(name, nodes...)
}

// startMany starts n executions of workflow through the API, 32 requests at a time, and returns how
// long that took.
func (b *bench) startMany(workflow string, n int) (time.Duration, error) {
	began := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 32)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := b.startExecution(workflow); err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return time.Since(began), firstErr
}

// waitTerminal polls the database until n executions have finished (succeeded, failed or canceled)
// or limit passes, and returns the counts.
func (c *cluster) waitTerminal(n int, limit time.Duration) (map[string]int, error) {
	deadline := time.Now().Add(limit)
	for {
		counts, err := c.statusCounts()
		if err != nil {
			return nil, err
		}
		if counts["succeeded"]+counts["failed"]+counts["canceled"] >= n {
			return counts, nil
		}
		if time.Now().After(deadline) {
			return counts, fmt.Errorf("after %s: %s of %d", limit, describe(counts), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// workerThroughput measures the workers figure for each count of worker processes.
func workerThroughput(bin, pgAdmin, dir string, o scaleOptions) error {
	if pgAdmin == "" {
		return errNoPostgres
	}
	effect := newCallCounter()
	defer effect.srv.Close()
	type row struct {
		workers int
		rate    float64
		use     cpuUse
	}
	var rows []row
	for _, n := range o.workerCounts {
		name := fmt.Sprintf("cmbench_workers_%d_%d", n, rand.IntN(1_000_000)) //nolint:gosec // a scratch database's name
		drop, dbURL, err := createDatabase(pgAdmin, name)
		if err != nil {
			return err
		}
		r, use, err := workerRun(bin, dbURL, filepath.Join(dir, name), n, o, effect)
		drop()
		if err != nil {
			return fmt.Errorf("%d workers: %w", n, err)
		}
		rows = append(rows, row{n, r, use})
	}
	for _, r := range rows {
		report(fmt.Sprintf("throughput, 10-node chain (9 data.set, 1 http.request), API process + %d worker process(es)", r.workers),
			"%.0f executions/s", r.rate, "PostgreSQL")
		fmt.Printf("  over the drain: %s; %.2f ms of CPU (ConcertMaster and PostgreSQL) per execution\n",
			r.use, 1000*(r.use.procs+r.use.pg)/r.rate)
	}
	return nil
}

// workerRun is one count of the workers figure on its own database.
func workerRun(bin, dbURL, dir string, workers int, o scaleOptions, effect *callCounter) (float64, cpuUse, error) {
	if err := mkdir(dir); err != nil {
		return 0, cpuUse{}, err
	}
	c, err := startCluster(bin, dbURL, o.redis, dir, 0, "CM_HTTP_ALLOW_PRIVATE=true")
	if err != nil {
		return 0, cpuUse{}, err
	}
	defer c.stop()
	wf, err := c.b.createWorkflow(chain10("workers bench", effect.srv.URL))
	if err != nil {
		return 0, cpuUse{}, err
	}
	took, err := c.b.startMany(wf, o.executions)
	if err != nil {
		return 0, cpuUse{}, err
	}
	counts, err := c.statusCounts()
	if err != nil {
		return 0, cpuUse{}, err
	}
	fmt.Printf("  %d workers: %d executions started through the API in %s (%.0f/s), before any worker: %s\n",
		workers, o.executions, took.Round(time.Millisecond), float64(o.executions)/took.Seconds(), describe(counts))
	calls := effect.calls.Load()
	if err := c.addWorkers(workers); err != nil {
		return 0, cpuUse{}, err
	}
	names := map[int]string{}
	for _, p := range c.all() {
		names[p.cmd.Process.Pid] = p.name
	}
	meter := startCPUMeter(c.pids())
	counts, err = c.waitTerminal(o.executions, 10*time.Minute)
	use := meter.stop(names)
	if err != nil {
		return 0, use, err
	}
	var first, last time.Time
	if err := c.db.QueryRow("SELECT min(finished_at), max(finished_at) FROM executions WHERE status = 'succeeded'").Scan(&first, &last); err != nil {
		return 0, use, fmt.Errorf("read finish times: %w", err)
	}
	if counts["succeeded"] != o.executions {
		return 0, use, fmt.Errorf("not every execution succeeded: %s", describe(counts))
	}
	span := last.Sub(first)
	if span <= 0 {
		return 0, use, errors.New("every execution finished at the same instant: start more (-workers-executions)")
	}
	rate := float64(o.executions-1) / span.Seconds()
	fmt.Printf("  %d workers: %d succeeded in %s (first to last completion), %d calls to the loopback server (1 per execution: %d); load average %s\n",
		workers, counts["succeeded"], span.Round(time.Millisecond), effect.calls.Load()-calls, o.executions, loadAverage())
	return rate, use, nil
}

// recovery measures the recovery figure: a cluster with a backlog in flight, every process killed
// at once, then started again.
func recovery(bin, pgAdmin, dir string, o scaleOptions) error {
	if pgAdmin == "" {
		return errNoPostgres
	}
	name := fmt.Sprintf("cmbench_recovery_%d", rand.IntN(1_000_000)) //nolint:gosec // a scratch database's name
	drop, dbURL, err := createDatabase(pgAdmin, name)
	if err != nil {
		return err
	}
	defer drop()
	rdir := filepath.Join(dir, name)
	if err := mkdir(rdir); err != nil {
		return err
	}
	effect := newCallCounter()
	defer effect.srv.Close()
	c, err := startCluster(bin, dbURL, o.redis, rdir, 2, "CM_HTTP_ALLOW_PRIVATE=true")
	if err != nil {
		return err
	}
	defer c.stop()
	pure, err := c.b.createWorkflow(chain10("recovery chain", effect.srv.URL))
	if err != nil {
		return err
	}
	delayed, err := c.b.createWorkflow(chain("recovery delay", setNode("before"), delayNode("wait", o.recoveryDelay.String()), setNode("after")))
	if err != nil {
		return err
	}
	// Both kinds at once: the delayed ones park, the chains queue behind the workers.
	half := o.recoveryExecutions / 2
	var wg sync.WaitGroup
	var errA, errB error
	wg.Add(2)
	go func() { defer wg.Done(); _, errA = c.b.startMany(delayed, half) }()
	go func() { defer wg.Done(); _, errB = c.b.startMany(pure, o.recoveryExecutions-half) }()
	wg.Wait()
	if err := errors.Join(errA, errB); err != nil {
		return err
	}
	c.kill()
	killed := time.Now()
	atKill, err := c.statusCounts()
	if err != nil {
		return err
	}
	callsAtKill := effect.calls.Load()
	// The executions a killed process held: they resume when their lease (30 s) has expired.
	held, err := c.runningIDs()
	if err != nil {
		return err
	}
	fmt.Printf("  at the kill (SIGKILL to the API and both workers at once): %s; load average %s\n", describe(atKill), loadAverage())

	restarted := time.Now()
	for _, p := range c.all() {
		if err := c.spawn(p); err != nil {
			return err
		}
	}
	ready, err := c.waitReady(2 * time.Minute)
	if err != nil {
		return err
	}
	// The first completion after the restart: a finished_at later than the restart.
	var firstDone time.Duration
	for deadline := time.Now().Add(5 * time.Minute); ; {
		var n int
		var first *time.Time
		if err := c.db.QueryRow("SELECT count(*), min(finished_at) FROM executions WHERE finished_at > $1", restarted).Scan(&n, &first); err != nil {
			return fmt.Errorf("read completions: %w", err)
		}
		if n > 0 && first != nil {
			firstDone = first.Sub(restarted)
			break
		}
		if time.Now().After(deadline) {
			return errors.New("no execution completed within 5 minutes of the restart")
		}
		time.Sleep(10 * time.Millisecond)
	}
	final, err := c.waitTerminal(o.recoveryExecutions, 10*time.Minute)
	if err != nil {
		return err
	}
	var last time.Time
	if err := c.db.QueryRow("SELECT max(finished_at) FROM executions").Scan(&last); err != nil {
		return fmt.Errorf("read the last completion: %w", err)
	}
	drained := last.Sub(restarted)
	// When the other executions (queued or parked at the kill) and the held ones were done.
	var othersDone, heldDone *time.Time
	if err := c.db.QueryRow("SELECT max(finished_at) FILTER (WHERE NOT (id = ANY($1))), max(finished_at) FILTER (WHERE id = ANY($1)) FROM executions",
		held).Scan(&othersDone, &heldDone); err != nil {
		return fmt.Errorf("read completions: %w", err)
	}
	// The parked half: how late after its delay each finished (created_at + delay → finished_at).
	var lateP50, lateP99, lateMax float64
	if err := c.db.QueryRow(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l), percentile_cont(0.99) WITHIN GROUP (ORDER BY l), max(l)
		FROM (SELECT extract(epoch FROM finished_at - created_at) - $2 AS l FROM executions WHERE workflow_id = $1) d`,
		delayed, o.recoveryDelay.Seconds()).Scan(&lateP50, &lateP99, &lateMax); err != nil {
		return fmt.Errorf("read lateness: %w", err)
	}
	since := func(t *time.Time) string {
		if t == nil {
			return "none"
		}
		return t.Sub(restarted).Round(time.Millisecond).String()
	}
	figure("recovery: every process SIGKILLed at once, then started — /readyz answers after", "%.0f ms", "≤ 2 s",
		ready <= 2*time.Second, float64(ready.Milliseconds()), "PostgreSQL")
	figure("recovery: backlog resumed — first execution completed after the restart", "%.0f ms", "resumed",
		firstDone > 0, float64(firstDone.Milliseconds()), "PostgreSQL")
	figure(fmt.Sprintf("recovery: backlog of %d drained after the restart", o.recoveryExecutions-atKill["succeeded"]), "%.1f s", "quoted (issue: < 5 min)",
		final["succeeded"] == o.recoveryExecutions && drained < 5*time.Minute, drained.Seconds(), "PostgreSQL")
	effectCalls := effect.calls.Load()
	fmt.Printf("  after the restart: the %d executions running at the kill (leases held by killed processes) were all done at %s; the queued and parked ones at %s\n",
		len(held), since(heldDone), since(othersDone))
	fmt.Printf("  the parked half finished after its %s delay ended (run request → finished, minus the delay): p50 %.2f s, p99 %.2f s, max %.2f s\n",
		o.recoveryDelay, lateP50, lateP99, lateMax)
	fmt.Printf("  processes restarted %s after the kill; at the end: %s; loopback calls %d for %d chain executions (%d before the kill, %d after)\n",
		restarted.Sub(killed).Round(time.Millisecond), describe(final), effectCalls, o.recoveryExecutions-half, callsAtKill, effectCalls-callsAtKill)
	return nil
}

// runningIDs returns the IDs of the executions whose status is running.
func (c *cluster) runningIDs() ([]string, error) {
	rows, err := c.db.Query("SELECT id FROM executions WHERE status = 'running'")
	if err != nil {
		return nil, fmt.Errorf("read running executions: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// parseCounts reads a comma-separated list of positive counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range splitComma(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 16 {
			return nil, fmt.Errorf("want worker counts from 1 to 16, got %q", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("want at least one worker count")
	}
	return out, nil
}
