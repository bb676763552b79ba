package main

import (
	"bytes"
	crand "crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// A cluster is the scale-out topology of issue 11 run as processes of the real binary: one
// `serve --role=api` process and N `concertmaster worker` processes on one PostgreSQL database (and
// one Redis, when a URL is given), as scripts/cluster.sh starts them. The bench starts the processes
// itself (rather than through the script) because the recovery figure SIGKILLs them all at once and
// starts them again with the same settings.
type cluster struct {
	bin, dir, dbURL string
	// env is what every process gets: the database, the secret, Redis and the bench's settings.
	env []string
	api *proc
	// workers are the worker processes, in start order.
	workers []*proc
	// b calls the API process, signed in as the bench's owner.
	b  *bench
	db *sql.DB
	// starts counts process starts, to name each one's log.
	starts atomic.Int64
}

// proc is one process of a cluster.
type proc struct {
	name string
	args []string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startCluster starts an API process and workers worker processes on dbURL (a fresh PostgreSQL
// database) and redisURL (optional), with env added to every process's environment, and signs in.
func startCluster(bin, dbURL, redisURL, dir string, workers int, env ...string) (*cluster, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	c := &cluster{bin: bin, dir: dir, dbURL: dbURL}
	c.env = append([]string{"CM_DATABASE_URL=" + dbURL, "CM_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key),
		"CM_BOOTSTRAP_EMAIL=" + benchEmail, "CM_BOOTSTRAP_PASSWORD=" + benchPassword, "CM_API_RATE_LIMIT=0",
		"CM_ADDR=127.0.0.1:" + strconv.Itoa(port), "CM_LOG_LEVEL=info"}, env...)
	if redisURL != "" {
		// A prefix of its own: other runs may share the Redis server.
		c.env = append(c.env, "CM_REDIS_URL="+redisURL, "CM_REDIS_PREFIX="+filepath.Base(dir)+":")
	}
	c.db, err = sql.Open("pgx", dbURL)
	if err != nil {
		return nil, err
	}
	c.b = &bench{base: "http://127.0.0.1:" + strconv.Itoa(port), store: "PostgreSQL",
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}}
	c.api = &proc{name: "api", args: []string{"serve", "--role=api"}}
	if err := c.spawn(c.api); err != nil {
		c.db.Close()
		return nil, err
	}
	if _, err := c.waitReady(60 * time.Second); err != nil {
		c.stop()
		return nil, err
	}
	if err := c.b.signIn(); err != nil {
		c.stop()
		return nil, err
	}
	if err := c.addWorkers(workers); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// addWorkers starts n more worker processes and waits until each runs.
func (c *cluster) addWorkers(n int) error {
	for range n {
		w := &proc{name: "worker-" + strconv.Itoa(len(c.workers)+1), args: []string{"worker"}}
		if err := c.spawn(w); err != nil {
			return err
		}
		c.workers = append(c.workers, w)
	}
	for _, w := range c.workers[len(c.workers)-n:] {
		if err := c.waitLog(w, "Worker is running", 60*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// spawn starts p's process (again), logging to a file of its own.
func (c *cluster) spawn(p *proc) error {
	p.log = filepath.Join(c.dir, fmt.Sprintf("%s.%d.log", p.name, c.starts.Add(1)))
	f, err := os.Create(p.log)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin, p.args...) //nolint:gosec // the bench's own binary
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	if p == c.api {
		c.b.cmd = cmd
	}
	return nil
}

// waitReady polls the API process's /readyz every 5 ms until it answers 200, and returns how long
// that took.
func (c *cluster) waitReady(limit time.Duration) (time.Duration, error) {
	began := time.Now()
	client := &http.Client{Timeout: time.Second}
	for time.Since(began) < limit {
		if resp, err := client.Get(c.b.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(began), nil
			}
		}
		select {
		case <-c.api.done:
			return 0, fmt.Errorf("the API process exited before it was ready:\n%s", tail(c.api.log))
		case <-time.After(5 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("the API process was not ready within %s:\n%s", limit, tail(c.api.log))
}

// waitLog waits until p has logged want.
func (c *cluster) waitLog(p *proc, want string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(p.log); err == nil && bytes.Contains(data, []byte(want)) {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it logged %q:\n%s", p.name, want, tail(p.log))
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not log %q within %s:\n%s", p.name, want, limit, tail(p.log))
}

// all returns the API process and the workers.
func (c *cluster) all() []*proc { return append([]*proc{c.api}, c.workers...) }

// kill sends SIGKILL to every process, one right after the other, and waits until they are gone.
func (c *cluster) kill() {
	for _, p := range c.all() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	for _, p := range c.all() {
		<-p.done
	}
}

// stop sends SIGTERM to every process and waits for the drain (SIGKILL after 30 s), then closes the
// database handle.
func (c *cluster) stop() {
	for _, p := range c.all() {
		if p.cmd != nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range c.all() {
		if p.cmd == nil {
			continue
		}
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	c.db.Close()
}

// pids returns the processes' IDs.
func (c *cluster) pids() []int {
	var out []int
	for _, p := range c.all() {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

// statusCounts returns how many executions are in each status, read from the database.
func (c *cluster) statusCounts() (map[string]int, error) {
	rows, err := c.db.Query("SELECT status, count(*) FROM executions GROUP BY status")
	if err != nil {
		return nil, fmt.Errorf("count executions: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// describe writes status counts in a stable order.
func describe(counts map[string]int) string {
	var parts []string
	for _, s := range []string{"queued", "running", "waiting", "succeeded", "failed", "canceled"} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// tail returns the end of a log file, for errors.
func tail(file string) string {
	data, err := os.ReadFile(file) //nolint:gosec // a log in the bench's own temporary directory
	if err != nil {
		return err.Error()
	}
	if len(data) > 3000 {
		data = data[len(data)-3000:]
	}
	return string(data)
}

// cpuTicks reads /proc/stat's first line: busy and total jiffies of the whole machine.
func cpuTicks() (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		total += v
		if i != 3 && i != 4 { // idle and iowait
			busy += v
		}
	}
	return busy, total
}

// procCPU returns a process's CPU time so far (user plus system), 0 when it is gone.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(data[i+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// postgresCPU returns the CPU time so far of every process named postgres on the machine (the
// server and its backends, including those of other users of the same server).
func postgresCPU() time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		total += procCPU(pid)
	}
	return total
}

// cpuMeter measures, over a window, how busy the machine was and the CPU time of given processes
// and of PostgreSQL.
type cpuMeter struct {
	began       time.Time
	busy, total int64
	procs       map[int]time.Duration
	pg          time.Duration
}

func startCPUMeter(pids []int) *cpuMeter {
	m := &cpuMeter{began: time.Now(), procs: map[int]time.Duration{}, pg: postgresCPU()}
	m.busy, m.total = cpuTicks()
	for _, pid := range pids {
		m.procs[pid] = procCPU(pid)
	}
	return m
}

// cpuUse is what a cpuMeter measured: the machine's busy share, and cores used by the processes and
// by PostgreSQL.
type cpuUse struct {
	machine     float64 // 0…1 of all cores
	procs, pg   float64 // cores
	procsByName []string
}

func (m *cpuMeter) stop(names map[int]string) cpuUse {
	elapsed := time.Since(m.began).Seconds()
	busy, total := cpuTicks()
	u := cpuUse{pg: (postgresCPU() - m.pg).Seconds() / elapsed}
	if total > m.total {
		u.machine = float64(busy-m.busy) / float64(total-m.total)
	}
	for pid, before := range m.procs {
		cores := (procCPU(pid) - before).Seconds() / elapsed
		u.procs += cores
		if n, ok := names[pid]; ok {
			u.procsByName = append(u.procsByName, fmt.Sprintf("%s %.2f", n, cores))
		}
	}
	slices.Sort(u.procsByName)
	return u
}

func (u cpuUse) String() string {
	return fmt.Sprintf("machine %.0f %% busy (of 2 cores); ConcertMaster processes %.2f cores (%s); PostgreSQL %.2f cores",
		100*u.machine, u.procs, strings.Join(u.procsByName, ", "), u.pg)
}

// loadAverage returns /proc/loadavg's three averages, to quote with figures on a shared machine.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// errNoPostgres says a cluster figure needs PostgreSQL.
var errNoPostgres = errors.New("needs PostgreSQL: pass -postgres")
