package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// process is a concertmaster child process of the test: any command, any environment.
type process struct {
	name string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	err  error
}

// startProcess starts the test's concertmaster binary with args, the test's environment plus env.
func startProcess(t *testing.T, name string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &process{name: name, cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			_, _ = p.logs.Write([]byte(sc.Text() + "\n"))
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitLog waits until the process has logged want.
func (p *process) waitLog(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.logs.String(), want) {
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before logging %q:\n%s", p.name, p.err, want, p.logs)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q:\n%s", p.name, want, p.logs)
		}
	}
}

// serving waits for a serve process to listen and signs the test's owner in.
func (p *process) serving(t *testing.T) *server {
	t.Helper()
	p.waitLog(t, "ConcertMaster is serving")
	m := serveLine.FindStringSubmatch(p.logs.String())
	require.NotNil(t, m, p.logs.String())
	s := &server{url: "http://" + m[1], logs: &strings.Builder{}, mu: &sync.Mutex{}}
	s.login(t)
	return s
}

// terminate sends SIGTERM and returns the exit code and how long the process took to exit.
func (p *process) terminate(t *testing.T, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("%s did not exit within %s of SIGTERM:\n%s", p.name, within, p.logs)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		code = ee.ExitCode()
	} else if p.err != nil {
		t.Fatalf("%s: %v", p.name, p.err)
	}
	return code, time.Since(start)
}

// stepServer answers GET /api?step=N after delay, counting arrivals and completions by step; the
// first arrival of step hangOnce (if set) hangs until its request is canceled.
type stepServer struct {
	delay    time.Duration
	hangOnce string
	arrived  chan string
	// release holds the first request of step 2 until it is closed, so that the test decides when
	// the step may finish (during the drain), however slowly a loaded machine starts the processes.
	release chan struct{}

	mu        sync.Mutex
	arrivals  map[string]int
	completed map[string]int
}

func newStepServer(delay time.Duration, hangOnce string) *stepServer {
	return &stepServer{delay: delay, hangOnce: hangOnce, arrived: make(chan string, 1024), release: make(chan struct{}),
		arrivals: map[string]int{}, completed: map[string]int{}}
}

func (s *stepServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	step := r.URL.Query().Get("step")
	s.mu.Lock()
	s.arrivals[step]++
	first := s.arrivals[step] == 1
	s.mu.Unlock()
	s.arrived <- step
	if first && step == "2" {
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
	}
	wait := s.delay
	if first && step == s.hangOnce {
		wait = time.Hour
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	s.completed[step]++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"step":%q}`, step)
}

func (s *stepServer) counts() (arrivals, completed map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arrivals, completed = map[string]int{}, map[string]int{}
	for k, v := range s.arrivals {
		arrivals[k] = v
	}
	for k, v := range s.completed {
		completed[k] = v
	}
	return arrivals, completed
}

// TestWorkerDrainsOnSIGTERM runs the scale-out shape as real processes on PostgreSQL: one serve
// --role=api and two workers. The worker running a chain of slow requests gets SIGTERM: it exits 0
// within CM_SHUTDOWN_GRACE, and the other worker finishes the execution at once — well before the
// 30 s lease of the first would have expired, because the hand-back releases it. An attempt that
// finishes within the drain timeout is kept (never sent again); one that outlives it is cut short
// and runs again on the other worker (at-least-once, as documented).
func TestWorkerDrainsOnSIGTERM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// hangOnce is the step whose first attempt outlives the drain.
		hangOnce      string
		wantArrivals  map[string]int
		wantCompleted map[string]int
	}{
		{name: "AttemptFinishesDuringDrain",
			wantArrivals:  map[string]int{"1": 1, "2": 1, "3": 1, "4": 1},
			wantCompleted: map[string]int{"1": 1, "2": 1, "3": 1, "4": 1}},
		{name: "AttemptOutlivesDrain", hangOnce: "2",
			wantArrivals:  map[string]int{"1": 1, "2": 2, "3": 1, "4": 1},
			wantCompleted: map[string]int{"1": 1, "2": 1, "3": 1, "4": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const grace = 6 * time.Second // the drain timeout is three quarters of it
			steps := newStepServer(500*time.Millisecond, tt.hangOnce)
			ts := httptest.NewServer(steps)
			defer ts.Close()
			env := append([]string{"CM_DATABASE_URL=" + postgresURL(t), "CM_SECRET_KEY=" + testSecretKey, "CM_HTTP_ALLOW_PRIVATE=true",
				"CM_LOG_LEVEL=info", "CM_SHUTDOWN_GRACE=" + grace.String()}, bootstrapEnv...)

			api := startProcess(t, "api", env, "serve", "--role", "api", "--addr", "127.0.0.1:0")
			s := api.serving(t)
			first := startProcess(t, "worker 1", env, "worker", "--concurrency", "4")
			first.waitLog(t, "workers=4")
			wf := s.do(t, http.MethodPost, "/api/v1/workflows", chainOfRequests(ts.URL, 4))
			id := s.do(t, http.MethodPost, "/api/v1/workflows/"+wf["id"].(string)+"/executions", `{}`)["id"].(string)
			require.Equal(t, "1", <-steps.arrived)
			require.Equal(t, "2", <-steps.arrived)
			// The first worker runs step 2 (it is the only worker): start the second, then deploy.
			second := startProcess(t, "worker 2", env, "worker")
			second.waitLog(t, "Worker is running")

			// Step 2 may finish now: 500 ms later, inside the drain.
			close(steps.release)
			code, took := first.terminate(t, grace+10*time.Second)
			require.Equal(t, 0, code, first.logs.String())
			require.Less(t, took, grace+2*time.Second, "the worker exits within its grace")
			require.Contains(t, first.logs.String(), "Draining")
			require.Contains(t, first.logs.String(), "Worker stopped")

			handedBack := time.Now()
			var exec map[string]any
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				exec = s.do(t, http.MethodGet, "/api/v1/executions/"+id, "")
				if exec["status"] == "succeeded" || exec["status"] == "failed" {
					break
				}
			}
			require.Equal(t, "succeeded", exec["status"], "worker 2:\n%s", second.logs)
			require.Less(t, time.Since(handedBack), 20*time.Second, "the second worker resumed before the lease (30 s) could expire")
			t.Logf("worker 1 exited %s after SIGTERM (grace %s); worker 2 finished the execution %s later", took.Round(time.Millisecond),
				grace, time.Since(handedBack).Round(time.Millisecond))
			arrivals, completed := steps.counts()
			require.Equal(t, tt.wantArrivals, arrivals)
			require.Equal(t, tt.wantCompleted, completed)

			events := s.do(t, http.MethodGet, "/api/v1/executions/"+id+"/events?limit=500", "")
			var types []string
			for _, e := range events["items"].([]any) {
				types = append(types, e.(map[string]any)["type"].(string))
			}
			require.Contains(t, types, "execution.draining")
			require.Contains(t, types, "execution.requeued")

			code, _ = second.terminate(t, grace+10*time.Second)
			require.Equal(t, 0, code, second.logs.String())
			code, _ = api.terminate(t, grace+10*time.Second)
			require.Equal(t, 0, code, api.logs.String())
		})
	}
}

// TestWorkerConcurrencyFlag: --concurrency is --workers (CM_WORKERS) under the name a worker's
// operator looks for; a bad value or a disagreement with --workers is a usage error naming the flag.
func TestWorkerConcurrencyFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantLog  string
	}{
		{name: "Alias", args: []string{"--concurrency", "5"}, wantLog: "workers=5"},
		{name: "AliasOverridesEnvironment", args: []string{"--concurrency", "6"}, env: map[string]string{"CM_WORKERS": "2"}, wantLog: "workers=6"},
		{name: "AgreesWithWorkers", args: []string{"--concurrency", "7", "--workers", "7"}, wantLog: "workers=7"},
		{name: "Disagrees", args: []string{"--concurrency", "3", "--workers", "4"}, wantCode: 2, wantLog: "--concurrency=3 and --workers=4 disagree"},
		{name: "OutOfRange", args: []string{"--concurrency", "0"}, wantCode: 2, wantLog: "--concurrency="},
		{name: "NotANumber", args: []string{"--concurrency", "many"}, wantCode: 2, wantLog: "--concurrency="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CM_DATABASE_URL": sqliteURL(t), "CM_LOG_LEVEL": "info", "CM_SHUTDOWN_GRACE": "5s"}
			for k, v := range tt.env {
				env[k] = v
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := startCommand(ctx, env, nil, append([]string{"worker"}, tt.args...)...)
			if tt.wantCode != 0 {
				require.Equal(t, tt.wantCode, c.wait(t), c.errOut.String())
				require.Contains(t, c.errOut.String(), tt.wantLog)
				return
			}
			c.waitLog(t, tt.wantLog)
			cancel()
			require.Equal(t, 0, c.wait(t), c.errOut.String())
			require.Contains(t, c.errOut.String(), "Worker stopped")
		})
	}
}
