package pluginhost

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// processInstance is one run of a plugin's process, from its start to its end. A Process starts a new
// one after each end.
type processInstance struct {
	p         *Process
	cmd       *exec.Cmd
	pid       int
	startedAt time.Time
	logger    *slog.Logger

	// The server's ends of the process's pipes.
	stdin, stdout, stderr *os.File

	// Guarded by p.mu.
	pending map[uint64]*processCall
	// reason is why the server killed the process; nil while it runs, or when it ended by itself.
	reason error
	// reaped is set once the process was waited for: its id may be reused, no more signals.
	reaped bool

	// queue holds the lines to write to stdin, in order; wake tells the writer there are some.
	qmu   sync.Mutex
	queue [][]byte
	wake  chan struct{}
	// writeErr is why a write to stdin failed.
	writeErr error

	tail stderrTail

	// exited is closed when the process has ended; done when every goroutine of the instance has
	// ended and its calls in flight have failed.
	exited chan struct{}
	done   chan struct{}
}

// startInstance starts p's process from the program at path. p.mu is held.
func startInstance(p *Process, path string) (*processInstance, error) {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create stdin pipe: %w", err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		closeAll(stdinR, stdinW)
		return nil, fmt.Errorf("create stdout pipe: %w", err)
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		closeAll(stdinR, stdinW, stdoutR, stdoutW)
		return nil, fmt.Errorf("create stderr pipe: %w", err)
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        p.command,
		Dir:         p.dir,
		Env:         p.env,
		Stdin:       stdinR,
		Stdout:      stdoutW,
		Stderr:      stderrW,
		SysProcAttr: processSysProcAttr(),
	}
	err = cmd.Start()
	// The child has its own copies of its ends now (or never will).
	closeAll(stdinR, stdoutW, stderrW)
	if err != nil {
		closeAll(stdinW, stdoutR, stderrR)
		return nil, err
	}
	in := &processInstance{
		p:         p,
		cmd:       cmd,
		pid:       cmd.Process.Pid,
		startedAt: time.Now(),
		logger:    p.logger.With("pid", cmd.Process.Pid),
		stdin:     stdinW,
		stdout:    stdoutR,
		stderr:    stderrR,
		pending:   map[uint64]*processCall{},
		wake:      make(chan struct{}, 1),
		exited:    make(chan struct{}),
		done:      make(chan struct{}),
	}
	in.tail.lines = make([]string, 0, processTailLines)
	var readers, writer sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); in.readStdout() }()
	go func() { defer readers.Done(); in.readStderr() }()
	writer.Add(1)
	go func() { defer writer.Done(); in.writeStdin() }()
	go in.wait(&readers, &writer)
	return in, nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

// send queues line for the process's stdin; it never blocks.
func (in *processInstance) send(line []byte) {
	in.qmu.Lock()
	in.queue = append(in.queue, line)
	in.qmu.Unlock()
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// writeStdin writes the queued lines to stdin until the process ends or stdin is closed. A failed
// write kills the process: requests can no longer reach it.
func (in *processInstance) writeStdin() {
	for {
		select {
		case <-in.wake:
		case <-in.exited:
			return
		}
		in.qmu.Lock()
		lines := in.queue
		in.queue = nil
		in.qmu.Unlock()
		for _, line := range lines {
			if _, err := in.stdin.Write(line); err != nil {
				p := in.p
				// Requests can no longer reach the process: end it, unless it is being stopped.
				p.mu.Lock()
				if in.reason == nil {
					in.writeErr = err
					p.detachLocked(in)
					if !in.reaped {
						_ = signalGroup(in.cmd, true)
					}
				}
				p.mu.Unlock()
				return
			}
		}
	}
}

// readStdout reads the process's answers, one line each, and hands each to its call. A line is read
// only as far as the largest limit of the calls in flight.
func (in *processInstance) readStdout() {
	br := bufio.NewReaderSize(in.stdout, 64<<10)
	var line []byte
	for {
		line = line[:0]
		limit := int64(-1)
		for {
			chunk, err := br.ReadSlice('\n')
			n := int64(len(line) + len(chunk))
			if err == nil {
				n-- // the newline
			}
			if n > limit {
				limit = in.lineLimit()
				if n > limit {
					in.p.mu.Lock()
					in.p.killLocked(in, fmt.Errorf("%w: a stdout line ran past %d bytes, more than any call in flight takes; the process was stopped",
						ErrResponseTooLarge, limit))
					in.p.mu.Unlock()
					return
				}
			}
			line = append(line, chunk...)
			if err == nil {
				break
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				return // end of file, or the pipe was closed: the process has ended
			}
		}
		if !in.answer(bytes.TrimRight(line, "\r\n")) {
			return
		}
		if cap(line) > 1<<20 {
			line = nil // don't keep a large buffer for the process's life
		}
	}
}

// lineLimit is the longest stdout line the calls in flight may need.
func (in *processInstance) lineLimit() int64 {
	in.p.mu.Lock()
	defer in.p.mu.Unlock()
	limit := int64(processIdleLineBytes)
	for _, c := range in.pending {
		limit = max(limit, c.limit)
	}
	return limit
}

// answer hands one stdout line to its call. It returns false when the line broke the protocol, and
// the process was killed.
func (in *processInstance) answer(line []byte) bool {
	if len(bytes.TrimSpace(line)) == 0 {
		return true
	}
	p := in.p
	var resp plugin.Response
	if err := json.Unmarshal(line, &resp); err != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.killLocked(in, fmt.Errorf("%w: a line of the plugin's stdout is not a JSON response (%w): %s", ErrProtocol, err, snippet(line)))
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := in.pending[resp.ID]
	if c == nil {
		p.killLocked(in, fmt.Errorf("%w: the plugin answered id %d, which is no call in flight", ErrProtocol, resp.ID))
		return false
	}
	r := processResult{resp: &resp}
	if size := int64(len(line)); size > c.limit {
		r = processResult{err: fmt.Errorf("%w: %d bytes, over the call's %d-byte limit", ErrResponseTooLarge, size, c.limit)}
	}
	p.resolveLocked(in, c, r)
	return true
}

// snippet quotes the start of a line for an error message.
func snippet(line []byte) string {
	const n = 80
	if len(line) > n {
		return strconv.Quote(string(line[:n])) + "…"
	}
	return strconv.Quote(string(line))
}

// readStderr logs the process's stderr line by line, at most stderrPerSecond lines a second, and keeps
// the last lines for error messages.
func (in *processInstance) readStderr() {
	br := bufio.NewReaderSize(in.stderr, processStderrLineBytes)
	var (
		line    []byte
		window  time.Time
		logged  int
		dropped int
	)
	flushDropped := func() {
		if dropped > 0 {
			in.logger.Warn("Plugin stderr lines dropped", "lines", dropped, "per_second", in.p.stderrPerSecond)
			dropped = 0
		}
	}
	emit := func() {
		s := string(bytes.TrimRight(line, "\r\n"))
		in.tail.add(s)
		if now := time.Now(); now.Sub(window) >= time.Second {
			flushDropped()
			window, logged = now, 0
		}
		if logged < in.p.stderrPerSecond {
			logged++
			in.logger.Info("Plugin stderr", "line", s)
		} else {
			dropped++
		}
	}
	for {
		chunk, err := br.ReadSlice('\n')
		if room := processStderrLineBytes - len(line); room > 0 {
			line = append(line, chunk[:min(room, len(chunk))]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == nil || len(line) > 0 {
			emit()
		}
		line = line[:0]
		if err != nil {
			flushDropped()
			return
		}
	}
}

// wait waits for the process to end, kills what is left of its group, lets the readers reach the end
// of their pipes, and fails the calls still in flight.
func (in *processInstance) wait(readers, writer *sync.WaitGroup) {
	p := in.p
	var waitErr error
	if waitExited(in.pid) {
		// The process is a zombie: its group id cannot be reused yet, so killing the group hits only
		// what is left of the process's own descendants.
		p.mu.Lock()
		_ = signalGroup(in.cmd, true)
		in.reaped = true
		p.mu.Unlock()
		waitErr = in.cmd.Wait()
	} else {
		waitErr = in.cmd.Wait()
		p.mu.Lock()
		_ = signalGroup(in.cmd, true)
		in.reaped = true
		p.mu.Unlock()
	}
	close(in.exited)

	// No new call goes to a process that ended, and the next start waits for the backoff.
	status := "exit status 0"
	var exitErr *exec.ExitError
	switch {
	case errors.As(waitErr, &exitErr):
		status = exitErr.String()
	case waitErr != nil:
		status = waitErr.Error()
	}
	p.mu.Lock()
	p.detachLocked(in)
	var ended error
	if in.reason == nil {
		detail := ""
		if in.writeErr != nil {
			detail = "; its stdin broke: " + in.writeErr.Error()
		}
		ended = fmt.Errorf("%w: the process ended (%s) after %v%s", ErrCrashed, status,
			time.Since(in.startedAt).Round(time.Millisecond), detail)
		p.failedLocked(in.startedAt, ended)
	}
	p.mu.Unlock()

	// Answers written before the end are still in the pipe: read them. A descendant that left the
	// group may hold the pipes open; don't wait for it.
	readersDone := make(chan struct{})
	go func() { readers.Wait(); close(readersDone) }()
	grace := time.NewTimer(processReadersGrace)
	select {
	case <-readersDone:
	case <-grace.C:
		closeAll(in.stdout, in.stderr)
		<-readersDone
	}
	grace.Stop()
	closeAll(in.stdin, in.stdout, in.stderr)
	writer.Wait()

	p.mu.Lock()
	defer p.mu.Unlock()
	err := in.reason
	if err == nil {
		// The same error with the last words of the process.
		err = fmt.Errorf("%w%s", ended, in.tail.suffix())
		if errors.Is(p.lastErr, ended) {
			p.lastErr = err
		}
	}
	if errors.Is(err, ErrClosed) {
		in.logger.Info("Plugin process stopped")
	} else {
		in.logger.Warn("Plugin process ended", "error", err.Error(), "calls_in_flight", len(in.pending))
	}
	for _, c := range in.pending {
		p.resolveLocked(in, c, processResult{err: err})
	}
	delete(p.live, in)
	close(in.done)
}

// stop ends the process gently: stdin closed, grace to exit, SIGTERM, grace again, SIGKILL. It returns
// once the instance is done.
func (in *processInstance) stop(grace time.Duration) {
	_ = in.stdin.Close()
	steps := []bool{false, true} // SIGTERM, then SIGKILL
	for _, force := range steps {
		t := time.NewTimer(grace)
		select {
		case <-in.exited:
			t.Stop()
			<-in.done
			return
		case <-t.C:
		}
		in.p.mu.Lock()
		if !in.reaped {
			in.logger.Warn("Plugin process did not stop in time; signaling its group", "force", force)
			_ = signalGroup(in.cmd, force)
		}
		in.p.mu.Unlock()
	}
	<-in.done
}

// stderrTail keeps the last stderr lines of a process, each cut to processTailLineBytes.
type stderrTail struct {
	mu    sync.Mutex
	lines []string
	next  int
}

func (t *stderrTail) add(s string) {
	if len(s) > processTailLineBytes {
		s = s[:processTailLineBytes] + "…"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) < processTailLines {
		t.lines = append(t.lines, s)
		return
	}
	t.lines[t.next] = s
	t.next = (t.next + 1) % processTailLines
}

// suffix is "; last stderr lines: …" with the latest lines that fit processTailBytes, or "".
func (t *stderrTail) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.lines)
	var picked []string
	size := 0
	for i := range n {
		s := t.lines[(t.next+n-1-i)%n]
		if size+len(s) > processTailBytes {
			break
		}
		size += len(s) + 3
		picked = append(picked, s)
	}
	if len(picked) == 0 {
		return ""
	}
	for i, j := 0, len(picked)-1; i < j; i, j = i+1, j-1 {
		picked[i], picked[j] = picked[j], picked[i]
	}
	return "; last stderr lines: " + strings.Join(picked, " | ")
}
