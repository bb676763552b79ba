// Package plugintest runs a process plugin in a test and speaks pkg/plugin's line protocol to it:
// requests on its stdin, responses read from its stdout, its stderr kept for messages.
package plugintest

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// Timeout bounds every wait for the plugin: a response, its exit.
const Timeout = 20 * time.Second

// Process is a process plugin running for one test.
type Process struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *buffer
	exited chan struct{}
	err    error // the exit status, set before exited closes
}

// Start runs command in dir with a small environment (PATH, HOME, LANG and env, as KEY=value) and
// stops it at the end of the test.
func Start(t testing.TB, dir string, env []string, command ...string) *Process {
	t.Helper()
	cmd := exec.Command(command[0], command[1:]...) //nolint:noctx // the cleanup stops it, after t.Context ends
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LANG=C.UTF-8"}, env...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &Process{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 1024), stderr: &buffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), plugin.MaxLineBytes)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(Timeout):
			_ = cmd.Process.Kill()
			<-p.exited
			t.Errorf("the plugin did not exit when its stdin closed\nstderr:\n%s", p.stderr)
		}
	})
	return p
}

// Send writes line and a newline to the plugin's stdin.
func (p *Process) Send(line string) {
	p.t.Helper()
	_, err := io.WriteString(p.stdin, line+"\n")
	require.NoError(p.t, err, "stderr:\n%s", p.stderr)
}

// Write writes b to the plugin's stdin as it is, for lines sent in pieces.
func (p *Process) Write(b []byte) (int, error) { return p.stdin.Write(b) }

// Request sends req as one line.
func (p *Process) Request(req plugin.Request) {
	p.t.Helper()
	b, err := json.Marshal(req)
	require.NoError(p.t, err)
	p.Send(string(b))
}

// RecvLine returns the next line of the plugin's stdout.
func (p *Process) RecvLine() string {
	p.t.Helper()
	select {
	case line, ok := <-p.lines:
		require.True(p.t, ok, "the plugin closed its stdout\nstderr:\n%s", p.stderr)
		return line
	case <-time.After(Timeout):
		p.t.Fatalf("no answer from the plugin in %s\nstderr:\n%s", Timeout, p.stderr)
		return ""
	}
}

// Recv returns the next response, failing the test when the line is not one.
func (p *Process) Recv() plugin.Response {
	p.t.Helper()
	line := p.RecvLine()
	var resp plugin.Response
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	require.NoError(p.t, dec.Decode(&resp), "a response line: %s", line)
	return resp
}

// Call sends req and returns its response, which must be the next one and carry req's id.
func (p *Process) Call(req plugin.Request) plugin.Response {
	p.t.Helper()
	p.Request(req)
	resp := p.Recv()
	require.Equal(p.t, req.ID, resp.ID, "the response answers the request")
	return resp
}

// CloseStdin ends the plugin's input, as the server does to stop it.
func (p *Process) CloseStdin() {
	p.t.Helper()
	require.NoError(p.t, p.stdin.Close())
}

// Wait returns the plugin's exit status once it exited and its stdout was read to the end; any
// response not yet received is dropped.
func (p *Process) Wait() error {
	p.t.Helper()
	for {
		select {
		case _, ok := <-p.lines:
			if !ok {
				<-p.exited
				return p.err
			}
		case <-time.After(Timeout):
			p.t.Fatalf("the plugin did not exit\nstderr:\n%s", p.stderr)
			return errors.New("timeout")
		}
	}
}

// Stderr returns what the plugin wrote to stderr so far.
func (p *Process) Stderr() string { return p.stderr.String() }

// buffer is a strings.Builder safe for the writer goroutine and the test.
type buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
