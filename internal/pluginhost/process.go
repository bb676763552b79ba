package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// Defaults of a Process's timings.
const (
	// ProcessCancelGraceDefault is how long a canceled call may stay unanswered before its process is
	// taken for hung, killed and restarted.
	ProcessCancelGraceDefault = 5 * time.Second
	// ProcessStopGraceDefault is how long Close waits for the process to exit after closing its stdin,
	// and again after SIGTERM, before SIGKILL.
	ProcessStopGraceDefault = 2 * time.Second
	// ProcessBackoffMinDefault is the wait before the second restart in a row; the first restart after
	// a crash is immediate, and each further one waits twice as long as the last.
	ProcessBackoffMinDefault = 100 * time.Millisecond
	// ProcessBackoffMaxDefault caps the wait between restarts.
	ProcessBackoffMaxDefault = 10 * time.Second
	// ProcessHealthyAfterDefault is how long a process must have served for its end to count as the
	// first of a new series of failures (the backoff starts over).
	ProcessHealthyAfterDefault = 30 * time.Second
	// ProcessStderrLinesPerSecondDefault caps the stderr lines logged per second; the rest are counted.
	ProcessStderrLinesPerSecondDefault = 20
)

// Bounds on what a process sends besides its answers, and on waiting for its end.
const (
	// processIdleLineBytes bounds a stdout line that starts while no call is in flight: it answers
	// nothing, so it is a protocol error whatever it holds.
	processIdleLineBytes = 64 << 10
	// processStderrLineBytes bounds a logged stderr line; the rest of a longer line is dropped.
	processStderrLineBytes = 4 << 10
	// processTailLines and processTailLineBytes bound the stderr lines kept for error messages.
	processTailLines     = 20
	processTailLineBytes = 256
	processTailBytes     = 2 << 10
	// processReadersGrace is how long the end of a process waits for its pipes to reach end of file
	// (a descendant that left the process group may hold them open) before closing them.
	processReadersGrace = time.Second
)

// ErrRestarting is returned, without starting anything, by calls made while a process plugin that ended
// waits out its restart backoff. The error names the wait left and the last failure.
var ErrRestarting = errors.New("plugin process is waiting to restart")

// Process runs a process plugin: a trusted executable kept running and spoken to over its stdin and
// stdout, one JSON object per line (plugin.Request, plugin.Response). It implements Runtime.
//
// The process starts on the first Call, in the plugin folder, in its own process group, with an
// environment of its own: PATH, HOME, LANG, LC_ALL, TZ and TMPDIR from the server's (never its secrets)
// plus CM_PLUGIN_NAME, CM_PLUGIN_VERSION and CM_PLUGIN_CONCURRENCY. Calls are multiplexed on the one
// process by request id, at most the manifest's concurrency at a time; the others wait for a slot.
//
// Failures, and what calls see:
//   - A call whose ctx ends returns at once with ctx's error; a cancel request is sent and the call keeps
//     its slot until its answer comes (and is dropped). Unanswered after the cancel grace (5 s), the
//     process is taken for hung: it is killed and the calls in flight fail with ErrCrashed.
//   - The process ends: the calls in flight fail with ErrCrashed, with its exit status and its last
//     stderr lines. The next call restarts it at once; if it ends again, restarts wait 100 ms, doubling
//     up to 10 s, and calls made meanwhile fail at once with ErrRestarting. A process that served 30 s
//     starts a new series.
//   - A stdout line that is not a JSON response, or answers an id that is not in flight: the process
//     is killed and every call in flight fails with ErrProtocol.
//   - A stdout line longer than the largest Limits.MaxResponseBytes of the calls in flight (64 MiB,
//     plugin.MaxLineBytes, when a call sets none) is not read to its end: the process is killed and
//     every call in flight fails with ErrResponseTooLarge, since which call the line answered is not
//     known before its end. A whole answer over its own call's (smaller) limit fails that call only.
//
// Blank stdout lines are ignored. Stderr is logged line by line (4 KiB a line, 20 lines a second, the
// rest counted) with the plugin's name; its last 20 lines go into crash errors.
type Process struct {
	command     []string
	concurrency int
	dir         string
	env         []string
	logger      *slog.Logger
	name        string
	timeout     time.Duration
	version     string

	// Timings, set by NewProcess to their defaults; tests shorten them before the first Call.
	backoffMax      time.Duration
	backoffMin      time.Duration
	cancelGrace     time.Duration
	healthyAfter    time.Duration
	stderrPerSecond int
	stopGrace       time.Duration

	nextID atomic.Uint64
	// slots holds a token per call in flight: a send takes a slot, a receive frees it.
	slots chan struct{}
	// closing is closed by Close so that calls waiting for a slot give up.
	closing chan struct{}
	// closeDone is closed when Close has stopped everything.
	closeDone chan struct{}

	mu sync.Mutex
	// closed is set by Close; drained is closed once closed is set and no caller waits for an answer.
	closed      bool
	drained     chan struct{}
	drainClosed bool
	// inst is the process new calls go to; nil when none runs (not started yet, or it ended).
	inst *processInstance
	// live holds every process not yet fully ended, inst included.
	live map[*processInstance]struct{}
	// inFlight counts the calls holding a slot, canceled ones waiting for their answer included;
	// waiting counts those whose caller still waits.
	inFlight int
	waiting  int
	starts   int
	// failures counts the process's ends in a row; retryAt is when the next start may happen.
	failures int
	retryAt  time.Time
	lastErr  error
}

// ProcessStats is a process plugin's state, as the API shows it.
type ProcessStats struct {
	// Running says a process is up to take calls.
	Running bool `json:"running"`
	// PID is the running process's id.
	PID int `json:"pid,omitempty"`
	// Restarts counts the starts after the first one.
	Restarts int `json:"restarts"`
	// InFlight counts the calls holding a concurrency slot, canceled ones awaiting their answer included.
	InFlight int `json:"inFlight"`
	// LastError is why the process last ended or failed to start, if it did.
	LastError string `json:"lastError,omitempty"`
}

// processEnvPassed lists the server's environment variables a plugin process inherits; every other
// variable, CM_DATABASE_URL and CM_ENCRYPTION_KEY among them, stays with the server.
var processEnvPassed = []string{"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"}

// NewProcess returns the runtime of the process plugin in dir, whose manifest m was parsed and
// validated (plugin.ParseManifest), defaults filled in. Nothing starts until the first Call.
//
// It reads the few variables a plugin inherits from the server's environment here, once.
func NewProcess(dir string, m *plugin.Manifest, logger *slog.Logger) *Process {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	concurrency := m.Process.Concurrency
	if concurrency <= 0 {
		concurrency = 1
	}
	env := make([]string, 0, len(processEnvPassed)+3)
	for _, k := range processEnvPassed {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env,
		"CM_PLUGIN_NAME="+m.Name,
		"CM_PLUGIN_VERSION="+m.Version,
		"CM_PLUGIN_CONCURRENCY="+strconv.Itoa(concurrency),
	)
	return &Process{
		command:     append([]string(nil), m.Process.Command...),
		concurrency: concurrency,
		dir:         dir,
		env:         env,
		logger:      logger.With("plugin", m.Name, "plugin_version", m.Version),
		name:        m.Name,
		timeout:     time.Duration(m.TimeoutMs) * time.Millisecond,
		version:     m.Version,

		backoffMax:      ProcessBackoffMaxDefault,
		backoffMin:      ProcessBackoffMinDefault,
		cancelGrace:     ProcessCancelGraceDefault,
		healthyAfter:    ProcessHealthyAfterDefault,
		stderrPerSecond: ProcessStderrLinesPerSecondDefault,
		stopGrace:       ProcessStopGraceDefault,

		slots:     make(chan struct{}, concurrency),
		closing:   make(chan struct{}),
		closeDone: make(chan struct{}),
		drained:   make(chan struct{}),
		live:      map[*processInstance]struct{}{},
	}
}

// processCall is one call in flight on a process.
type processCall struct {
	id uint64
	// limit is the largest answer the call takes, in bytes.
	limit int64
	// res receives the call's one result; it has room for it, so sending never blocks.
	res chan processResult

	// Guarded by Process.mu.
	// abandoned: the caller left (its ctx ended, or Close cut it); the answer will be dropped.
	abandoned bool
	// delivered: a result was sent on res.
	delivered bool
	// resolved: the call left its process's pending calls and freed its slot.
	resolved bool
	// grace kills the process if the abandoned call stays unanswered.
	grace *time.Timer
}

type processResult struct {
	resp *plugin.Response
	err  error
}

// Call sends req to the plugin process, starting it if needed, and waits for its answer. ctx bounds
// the call, and so does the manifest's timeout.
func (p *Process) Call(ctx context.Context, req *plugin.Request, limits Limits) (*plugin.Response, error) {
	select {
	case <-p.closing:
		return nil, ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("plugin call: %w", err)
	}
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	id := p.nextID.Add(1)
	line, err := encodeRequest(ctx, req, id)
	if err != nil {
		return nil, err
	}
	limit := limits.MaxResponseBytes
	if limit <= 0 || limit > plugin.MaxLineBytes {
		limit = plugin.MaxLineBytes
	}
	c := &processCall{id: id, limit: limit, res: make(chan processResult, 1)}

	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for one of the plugin's %d call slots: %w", p.concurrency, ctx.Err())
	case <-p.closing:
		return nil, ErrClosed
	}
	in, err := p.register(c)
	if err != nil {
		<-p.slots
		return nil, err
	}
	in.send(line)

	select {
	case r := <-c.res:
		return r.resp, r.err
	case <-ctx.Done():
		return p.abandon(ctx, in, c)
	}
}

// encodeRequest encodes req as a protocol line numbered id, telling the plugin how long it has.
func encodeRequest(ctx context.Context, req *plugin.Request, id uint64) ([]byte, error) {
	r := *req
	r.ID, r.Cancel = id, false
	if dl, ok := ctx.Deadline(); ok && r.TimeoutMs == 0 {
		r.TimeoutMs = max(1, time.Until(dl).Milliseconds())
	}
	line, err := json.Marshal(&r)
	if err != nil {
		return nil, fmt.Errorf("encode plugin request: %w", err)
	}
	if len(line) >= plugin.MaxLineBytes {
		return nil, fmt.Errorf("plugin request is %d bytes, over the protocol's %d-byte line limit", len(line), plugin.MaxLineBytes)
	}
	return append(line, '\n'), nil
}

// register puts c in flight on the running process, starting one if none runs and the backoff allows.
func (p *Process) register(c *processCall) (*processInstance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	in := p.inst
	if in == nil {
		if wait := time.Until(p.retryAt); wait > 0 {
			return nil, fmt.Errorf("%w: next start in %v, after %d failures in a row; last: %s",
				ErrRestarting, wait.Round(time.Millisecond), p.failures, p.lastErr.Error())
		}
		var err error
		if in, err = p.startLocked(); err != nil {
			err = fmt.Errorf("start plugin process %s: %w", p.command[0], err)
			p.failedLocked(time.Time{}, err)
			return nil, err
		}
	}
	in.pending[c.id] = c
	p.inFlight++
	p.waiting++
	return in, nil
}

// abandon leaves call c, whose ctx ended: the plugin is asked to cancel it and has the cancel grace
// to answer before its process is taken for hung.
func (p *Process) abandon(ctx context.Context, in *processInstance, c *processCall) (*plugin.Response, error) {
	p.mu.Lock()
	if c.delivered {
		// The answer came as ctx ended: take it.
		p.mu.Unlock()
		r := <-c.res
		return r.resp, r.err
	}
	c.abandoned = true
	p.waiting--
	p.drainedLocked()
	resolved := c.resolved
	if !resolved {
		grace := p.cancelGrace
		c.grace = time.AfterFunc(grace, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if !c.resolved {
				p.killLocked(in, fmt.Errorf("%w: call %d was still unanswered %v after its cancel; the process was stopped as hung",
					ErrCrashed, c.id, grace))
			}
		})
	}
	p.mu.Unlock()
	if !resolved {
		in.send([]byte(`{"id":` + strconv.FormatUint(c.id, 10) + `,"cancel":true}` + "\n"))
	}
	return nil, fmt.Errorf("plugin call %d: %w", c.id, ctx.Err())
}

// resolveLocked takes c out of in's calls in flight, frees its slot and hands r to its caller unless
// the caller left. p.mu is held.
func (p *Process) resolveLocked(in *processInstance, c *processCall, r processResult) {
	if c.resolved {
		return
	}
	c.resolved = true
	delete(in.pending, c.id)
	if c.grace != nil {
		c.grace.Stop()
	}
	p.inFlight--
	<-p.slots
	p.deliverLocked(c, r)
}

// deliverLocked hands r to c's caller if it still waits. p.mu is held.
func (p *Process) deliverLocked(c *processCall, r processResult) {
	if c.abandoned || c.delivered {
		return
	}
	c.delivered = true
	c.res <- r
	p.waiting--
	p.drainedLocked()
}

// drainedLocked closes drained once Close was called and no caller waits. p.mu is held.
func (p *Process) drainedLocked() {
	if p.closed && p.waiting == 0 && !p.drainClosed {
		p.drainClosed = true
		close(p.drained)
	}
}

// failedLocked records a failure: the process ended (it had started at startedAt) or could not start
// (startedAt is zero). The next start waits for the backoff. p.mu is held.
func (p *Process) failedLocked(startedAt time.Time, err error) {
	if !startedAt.IsZero() && time.Since(startedAt) >= p.healthyAfter {
		p.failures = 0
	}
	p.failures++
	p.retryAt = time.Now().Add(p.backoff(p.failures))
	p.lastErr = err
}

// backoff is the wait before the start that follows the n-th failure in a row: none after the first,
// then backoffMin doubling up to backoffMax.
func (p *Process) backoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := p.backoffMin
	for i := 2; i < n && d < p.backoffMax; i++ {
		d *= 2
	}
	return min(d, p.backoffMax)
}

// startLocked starts a process and makes it the one new calls go to. p.mu is held.
func (p *Process) startLocked() (*processInstance, error) {
	path, err := p.resolveCommand()
	if err != nil {
		return nil, err
	}
	in, err := startInstance(p, path)
	if err != nil {
		return nil, err
	}
	p.starts++
	p.inst = in
	p.live[in] = struct{}{}
	p.logger.Info("Plugin process started", "pid", in.pid, "starts", p.starts)
	return in, nil
}

// resolveCommand finds the program of the manifest's command: a relative path with a slash inside the
// plugin folder, a bare name in PATH.
func (p *Process) resolveCommand() (string, error) {
	name := p.command[0]
	switch {
	case filepath.IsAbs(name):
		return name, nil
	case strings.ContainsRune(name, '/') || strings.ContainsRune(name, filepath.Separator):
		if !filepath.IsLocal(name) {
			return "", fmt.Errorf("command %s leaves the plugin folder", name)
		}
		return filepath.Join(p.dir, name), nil
	default:
		path, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("find the plugin's command: %w", err)
		}
		return path, nil
	}
}

// killLocked kills in's process group, once it is decided that the process is of no further use; the
// calls in flight on it fail with reason (the first reason given wins). p.mu is held.
func (p *Process) killLocked(in *processInstance, reason error) {
	if in.reason == nil {
		in.reason = reason
		if !errors.Is(reason, ErrClosed) {
			p.failedLocked(in.startedAt, reason)
		}
	}
	p.detachLocked(in)
	if !in.reaped {
		_ = signalGroup(in.cmd, true)
	}
}

// detachLocked stops sending new calls to in. p.mu is held.
func (p *Process) detachLocked(in *processInstance) {
	if p.inst == in {
		p.inst = nil
	}
}

// Stats reports the process's state.
func (p *Process) Stats() ProcessStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := ProcessStats{Running: p.inst != nil, Restarts: max(0, p.starts-1), InFlight: p.inFlight}
	if p.inst != nil {
		s.PID = p.inst.pid
	}
	if p.lastErr != nil {
		s.LastError = p.lastErr.Error()
	}
	return s
}

// Close stops the plugin: new calls fail with ErrClosed at once; calls in flight may finish until ctx
// ends, and then fail with ErrClosed (canceled calls whose answer is still due are not waited for).
// The process then gets its stdin closed, ProcessStopGraceDefault
// to exit, SIGTERM to its process group, as long again, and SIGKILL. Close returns once every
// goroutine of the runtime has ended; its error says whether calls were cut short. It is idempotent.
func (p *Process) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		select {
		case <-p.closeDone:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("wait for the plugin process to stop: %w", ctx.Err())
		}
	}
	defer close(p.closeDone)
	p.closed = true
	close(p.closing)
	p.drainedLocked()
	p.mu.Unlock()

	var cut error
	select {
	case <-p.drained:
	case <-ctx.Done():
		cut = fmt.Errorf("calls in flight were cut short: %w", ctx.Err())
	}

	p.mu.Lock()
	in := p.inst
	p.detachLocked(in)
	live := make([]*processInstance, 0, len(p.live))
	for li := range p.live {
		live = append(live, li)
		if li.reason == nil {
			li.reason = ErrClosed
		}
		for _, c := range li.pending {
			p.deliverLocked(c, processResult{err: ErrClosed})
			c.abandoned = true
		}
	}
	p.mu.Unlock()

	if in != nil {
		in.stop(p.stopGrace)
	}
	for _, li := range live {
		if li != in {
			p.mu.Lock()
			p.killLocked(li, ErrClosed)
			p.mu.Unlock()
		}
		<-li.done
	}
	return cut
}

// Interface guard.
var _ Runtime = (*Process)(nil)
