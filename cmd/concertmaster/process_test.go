package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// These tests run the real binary as a child process and stop it the hard ways a deploy or a crash
// would: SIGTERM and SIGKILL.

var (
	buildOnce sync.Once
	binPath   string
	errBuild  error
)

// binary builds the concertmaster binary once per test run, with make build's compiler settings
// (CGO_ENABLED=0, -trimpath): on a fresh machine the packages compiled here serve make build too, and
// the other way round. When the tests measure coverage (make cover), the binary is instrumented the
// same way and the processes started from it write their counters, as they exit, beside this test
// binary's: what the real process runs counts too.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cm-bin-")
		if err != nil {
			errBuild = err
			return
		}
		binPath = filepath.Join(dir, "concertmaster")
		args := []string{"build", "-trimpath", "-o", binPath}
		if dir := coverDir(); dir != "" {
			args = append(args, "-cover", "-covermode="+testing.CoverMode(), "-coverpkg=github.com/concertmaster/concertmaster/...")
			// Every child inherits the environment.
			if err := os.Setenv("GOCOVERDIR", dir); err != nil {
				errBuild = err
				return
			}
		}
		build := exec.CommandContext(context.Background(), "go", append(args, ".")...)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := build.CombinedOutput()
		if err != nil {
			errBuild = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	require.NoError(t, errBuild)
	return binPath
}

// coverDir returns the directory this test binary writes its coverage counters to, or "" when it
// does not measure coverage.
func coverDir() string {
	if testing.CoverMode() == "" {
		return ""
	}
	if f := flag.Lookup("test.gocoverdir"); f != nil {
		return f.Value.String()
	}
	return ""
}

// The first owner every test server is started with (CM_BOOTSTRAP_EMAIL and CM_BOOTSTRAP_PASSWORD).
const (
	testEmail    = "owner@example.com"
	testPassword = "Lantern-orbit-tangerine-93"
	// testSecretKey is CM_SECRET_KEY for the tests on PostgreSQL, which has no data directory to keep
	// a secret.key in.
	testSecretKey = "q83vEjRlXlW7pLyJm8GQ9m5H0bq2dx7mV7h1iVnS0oI="
)

// bootstrapEnv starts a server with the test's owner.
var bootstrapEnv = []string{"CM_BOOTSTRAP_EMAIL=" + testEmail, "CM_BOOTSTRAP_PASSWORD=" + testPassword}

// server is one running concertmaster process.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan error
	logs *strings.Builder
	mu   *sync.Mutex
	// token is the owner's access token, sent with every API call.
	token string
}

var servingAddr = regexp.MustCompile(`addr=http://([0-9.:]+)`)

// startServer starts `concertmaster serve` on a free loopback port over the SQLite file db.
func startServer(t *testing.T, db string, env ...string) *server {
	t.Helper()
	return startServerAt(t, "127.0.0.1:0", db, env...)
}

// startServerAt starts `concertmaster serve` listening on addr over the SQLite file db.
func startServerAt(t *testing.T, addr, db string, env ...string) *server {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), binary(t), "serve", "--addr", addr, "--database-url", "sqlite://"+db)
	cmd.Env = append(os.Environ(), "CM_HTTP_ALLOW_PRIVATE=true", "CM_LOG_LEVEL=info")
	cmd.Env = append(append(cmd.Env, bootstrapEnv...), env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &server{cmd: cmd, done: make(chan error, 1), logs: &strings.Builder{}, mu: &sync.Mutex{}}
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs.WriteString(line + "\n")
			s.mu.Unlock()
			if m := servingAddr.FindStringSubmatch(line); m != nil {
				select {
				case addrs <- m[1]:
				default:
				}
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case a := <-addrs:
		s.url = "http://" + a
	case err := <-s.done:
		t.Fatalf("server exited before serving: %v\n%s", err, s.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", s.log())
	}
	s.login(t)
	return s
}

// login signs the test's owner in and keeps the access token for the API calls.
func (s *server) login(t testing.TB) {
	t.Helper()
	var pair struct{ AccessToken string }
	code, err := apiCall(s.url, "", http.MethodPost, "/api/v1/auth/login", `{"email":"`+testEmail+`","password":"`+testPassword+`"}`, &pair)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, "sign in as the bootstrapped owner")
	require.NotEmpty(t, pair.AccessToken)
	s.token = pair.AccessToken
}

// apiKey creates an API key of role on s and returns it.
func (s *server) apiKey(t *testing.T, role string) string {
	t.Helper()
	var k struct{ Key string }
	require.Equal(t, http.StatusCreated, s.call(t, http.MethodPost, "/api/v1/api-keys", `{"name":"cli tests","role":"`+role+`"}`, &k))
	require.True(t, strings.HasPrefix(k.Key, "cm_ak_"), k.Key)
	return k.Key
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func (s *server) do(t testing.TB, method, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, s.url+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// waitFinished polls the execution until it has finished.
func (s *server) waitFinished(t *testing.T, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		e := s.do(t, "GET", "/api/v1/executions/"+id, "")
		switch e["status"] {
		case "succeeded", "failed", "canceled":
			return e
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("execution %s did not finish:\n%s", id, s.log())
	return nil
}

// stop signals the process and waits for it to exit.
func (s *server) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(sig))
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not exit after %s:\n%s", sig, s.log())
		return nil
	}
}

// requestLog is a slow API that records every request it completes, and signals each arrival.
type requestLog struct {
	mu        sync.Mutex
	completed map[string]int
	arrived   chan string
	delay     time.Duration
	hang      chan struct{}
}

func newRequestLog(delay time.Duration) *requestLog {
	return &requestLog{completed: map[string]int{}, arrived: make(chan string, 1024), delay: delay}
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	step := r.URL.Query().Get("step")
	l.arrived <- step
	if l.hang != nil {
		select {
		case <-l.hang:
		case <-r.Context().Done():
		}
		return
	}
	t := time.NewTimer(l.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	l.mu.Lock()
	l.completed[step]++
	l.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"step":%q}`, step)
}

func (l *requestLog) counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.completed {
		out[k] = v
	}
	return out
}

// chainOfRequests is a workflow of n http.request nodes in a row against api.
func chainOfRequests(api string, n int) string {
	nodes := []string{`{"id":"start","type":"trigger.manual"}`}
	edges := []string{}
	prev := "start"
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("call_%d", i)
		nodes = append(nodes, fmt.Sprintf(`{"id":%q,"type":"http.request","config":{"method":"GET","url":"%s/api?step=%d"}}`, id, api, i))
		edges = append(edges, fmt.Sprintf(`{"source":%q,"target":%q}`, prev, id))
		prev = id
	}
	return `{"name":"slow calls","nodes":[` + strings.Join(nodes, ",") + `],"edges":[` + strings.Join(edges, ",") + `]}`
}

// TestSIGTERMDrainsAndNothingCompletedRunsAgain sends SIGTERM while a chain of slow requests runs.
// The request in flight finishes within the grace period and its result is saved; after a restart
// the rest of the chain runs, and no request that had completed is sent again.
func TestSIGTERMDrainsAndNothingCompletedRunsAgain(t *testing.T) {
	t.Parallel()
	api := newRequestLog(300 * time.Millisecond)
	ts := httptest.NewServer(api)
	defer ts.Close()
	db := filepath.Join(t.TempDir(), "cm.db")

	first := startServer(t, db, "CM_SHUTDOWN_GRACE=10s")
	wf := first.do(t, "POST", "/api/v1/workflows", chainOfRequests(ts.URL, 6))
	exec := first.do(t, "POST", "/api/v1/workflows/"+wf["id"].(string)+"/executions", `{}`)
	require.Equal(t, "1", <-api.arrived)
	require.Equal(t, "2", <-api.arrived)
	// Request 2 is in flight: the deploy begins.
	require.NoError(t, first.stop(t, syscall.SIGTERM), first.log())
	require.Equal(t, map[string]int{"1": 1, "2": 1}, api.counts(), "the request in flight finished during the drain")
	require.Contains(t, first.log(), "Shutting down")

	second := startServer(t, db)
	done := second.waitFinished(t, exec["id"].(string))
	require.Equal(t, "succeeded", done["status"], second.log())
	require.Equal(t, map[string]int{"1": 1, "2": 1, "3": 1, "4": 1, "5": 1, "6": 1}, api.counts(),
		"every request completed exactly once across the restart")
	require.NoError(t, second.stop(t, syscall.SIGTERM))
}

// TestKilledNodeIsNotCrashLooped kills the process (SIGKILL) every time a node is running, as a node
// that crashes its process would. The first restarts run the node again; once it has been cut short
// by crashes three times, the next process fails it with a clear reason instead of running it again.
func TestKilledNodeIsNotCrashLooped(t *testing.T) {
	t.Parallel()
	api := newRequestLog(0)
	api.hang = make(chan struct{})
	ts := httptest.NewServer(api)
	defer ts.Close()
	defer close(api.hang)
	db := filepath.Join(t.TempDir(), "cm.db")

	srv := startServer(t, db)
	wf := srv.do(t, "POST", "/api/v1/workflows", chainOfRequests(ts.URL, 1))
	id := srv.do(t, "POST", "/api/v1/workflows/"+wf["id"].(string)+"/executions", `{}`)["id"].(string)
	for crash := 1; crash <= 3; crash++ {
		require.Equal(t, "1", <-api.arrived, "attempt %d reached the API", crash)
		_ = srv.stop(t, syscall.SIGKILL)
		srv = startServer(t, db)
	}
	done := srv.waitFinished(t, id)
	require.Equal(t, "failed", done["status"])
	execErr := done["error"].(map[string]any)
	require.Equal(t, "crashed", execErr["code"])
	require.Contains(t, execErr["message"], "stopped during 3 of its attempts")
	select {
	case step := <-api.arrived:
		t.Fatalf("the node ran a fourth time (step %s)", step)
	default:
	}
	require.NoError(t, srv.stop(t, syscall.SIGTERM))
}
