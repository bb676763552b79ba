package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// These tests run the CLI in this process (cobra's root with its own environment), so that the
// commands that serve until stopped — serve, worker — are driven and stopped through their context.

// syncBuffer is a buffer a running server's logger may write to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// command is a CLI command running in this process.
type command struct {
	out, errOut *syncBuffer
	code        chan int
}

// startCommand runs args with env as the whole environment and stdin as standard input until it
// returns or ctx ends.
func startCommand(ctx context.Context, env map[string]string, stdin io.Reader, args ...string) *command {
	c := &command{out: &syncBuffer{}, errOut: &syncBuffer{}, code: make(chan int, 1)}
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	environ := func() []string {
		var kv []string
		for k, v := range env {
			kv = append(kv, k+"="+v)
		}
		return kv
	}
	root := newRootEnv(c.out, c.errOut, lookup, environ)
	root.SetArgs(args)
	if stdin != nil {
		root.SetIn(stdin)
	}
	go func() {
		err := root.ExecuteContext(ctx)
		code := 0
		if err != nil {
			code = 1
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			}
			_, _ = c.errOut.Write([]byte(err.Error()))
		}
		c.code <- code
	}()
	return c
}

// wait returns the exit code, failing the test after 60 s.
func (c *command) wait(t testing.TB) int {
	t.Helper()
	select {
	case code := <-c.code:
		return code
	case <-time.After(60 * time.Second):
		t.Fatalf("the command did not return\nstdout: %s\nstderr: %s", c.out, c.errOut)
		return 0
	}
}

// waitLog waits until standard error holds want.
func (c *command) waitLog(t testing.TB, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(c.errOut.String(), want) }, 30*time.Second, 5*time.Millisecond,
		"%q never logged:\n%s", want, c.errOut)
}

// serveLine is the line serve logs once it listens (the profiling server logs an addr= too).
var serveLine = regexp.MustCompile(`msg="ConcertMaster is serving" addr=http://([0-9.:]+)`)

// serving waits for a serve command to log its address and returns a client for it.
func (c *command) serving(t testing.TB) *server {
	t.Helper()
	var addr string
	require.Eventually(t, func() bool {
		m := serveLine.FindStringSubmatch(c.errOut.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, 30*time.Second, 5*time.Millisecond, "the server never served:\n%s", c.errOut)
	s := &server{url: "http://" + addr}
	s.login(t)
	return s
}

// withOwner adds the test's owner (CM_BOOTSTRAP_EMAIL, CM_BOOTSTRAP_PASSWORD) and a server secret to
// the environment of an in-process server.
func withOwner(env map[string]string) map[string]string {
	env["CM_BOOTSTRAP_EMAIL"], env["CM_BOOTSTRAP_PASSWORD"], env["CM_SECRET_KEY"] = testEmail, testPassword, testSecretKey
	return env
}

func sqliteURL(t *testing.T) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "cm.db")
}

// postgresURL returns the URL of a new schema of the test PostgreSQL database, dropped at the end.
func postgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("CM_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("CM_TEST_DATABASE_URL is not set; run through make test to include PostgreSQL")
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	schema := "cmtest_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err, "PostgreSQL at CM_TEST_DATABASE_URL must be reachable")
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// runOrder creates examples/orders.json on s and runs it, waiting for the result.
func runOrder(t *testing.T, s *server) map[string]any {
	t.Helper()
	def, err := os.ReadFile("../../examples/orders.json")
	require.NoError(t, err)
	w := s.do(t, http.MethodPost, "/api/v1/workflows", string(def))
	return s.do(t, http.MethodPost, "/api/v1/workflows/"+w["id"].(string)+"/executions?wait=30s", `{"input":{"total":150,"customer":"ada"}}`)
}

// TestServeInProcess serves on SQLite until the context ends: health, readiness, a run through the
// API, a profiling address that is taken (a warning, not a failure), then a clean stop.
func TestServeInProcess(t *testing.T) {
	t.Parallel()
	taken, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := startCommand(ctx, withOwner(map[string]string{"CM_DATABASE_URL": sqliteURL(t), "CM_LOG_LEVEL": "info"}), nil,
		"serve", "--addr", "127.0.0.1:0", "--pprof-addr", taken.Addr().String(), "--shutdown-grace", "5s")
	s := c.serving(t)
	client := &http.Client{Timeout: 30 * time.Second}
	for _, path := range []string{"/healthz", "/readyz"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	exec := runOrder(t, s)
	require.Equal(t, "succeeded", exec["status"])
	require.InDelta(t, 30.0, exec["output"].(map[string]any)["tax"], 0)
	c.waitLog(t, "Profiling server stopped")

	cancel()
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Contains(t, c.errOut.String(), "Shutting down")
}

// TestServeFailsToStart: an address that is taken and a database that cannot be opened stop serve
// with the reason.
func TestServeFailsToStart(t *testing.T) {
	t.Parallel()
	taken, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { taken.Close() }) // after the parallel subtests
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "AddressTaken", args: []string{"serve", "--addr", taken.Addr().String(), "--database-url", sqliteURL(t)}, want: "listen on " + taken.Addr().String()},
		{name: "DatabaseUnderAFile", args: []string{"serve", "--addr", "127.0.0.1:0", "--database-url", "sqlite://" + filepath.Join(file, "cm.db")}, want: "create database directory"},
		{name: "WorkerDatabaseUnderAFile", args: []string{"worker", "--database-url", "sqlite://" + filepath.Join(file, "cm.db")}, want: "create database directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startCommand(context.Background(), map[string]string{}, nil, tc.args...)
			require.Equal(t, 1, c.wait(t))
			require.Contains(t, c.errOut.String(), tc.want)
		})
	}
}

// TestAPIServerAndWorkerShareAPostgreSQLDatabase is the scale-out shape in one process: serve
// --role=api answers the API without running anything, a worker runs the executions, and both stop
// cleanly.
func TestAPIServerAndWorkerShareAPostgreSQLDatabase(t *testing.T) {
	t.Parallel()
	db := postgresURL(t)
	env := withOwner(map[string]string{"CM_DATABASE_URL": db, "CM_LOG_LEVEL": "info", "CM_SHUTDOWN_GRACE": "5s"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api := startCommand(ctx, env, nil, "serve", "--role", "api", "--addr", "127.0.0.1:0")
	s := api.serving(t)
	require.Contains(t, api.errOut.String(), "role=api")

	// Nothing runs without a worker: the run is answered 202, still queued.
	def, err := os.ReadFile("../../examples/orders.json")
	require.NoError(t, err)
	w := s.do(t, http.MethodPost, "/api/v1/workflows", string(def))
	queued := s.do(t, http.MethodPost, "/api/v1/workflows/"+w["id"].(string)+"/executions?wait=200ms", `{"input":{"total":150,"customer":"ada"}}`)
	require.Equal(t, "queued", queued["status"])

	worker := startCommand(ctx, env, nil, "worker")
	worker.waitLog(t, "Worker is running")
	require.Eventually(t, func() bool {
		exec := s.do(t, http.MethodGet, "/api/v1/executions/"+queued["id"].(string), "")
		return exec["status"] == "succeeded"
	}, 30*time.Second, 20*time.Millisecond, "the worker runs what the API server queued")
	require.Equal(t, "succeeded", runOrder(t, s)["status"])

	cancel()
	require.Equal(t, 0, worker.wait(t), worker.errOut.String())
	require.Equal(t, 0, api.wait(t), api.errOut.String())
}

func TestMigratePostgreSQL(t *testing.T) {
	t.Parallel()
	db := postgresURL(t)
	for i, want := range []string{"applied [1-9][0-9]* migration\\(s\\); the postgres schema \\(PostgreSQL\\) is up to date", "applied 0 migration"} {
		c := startCommand(context.Background(), map[string]string{"CM_DATABASE_URL": db}, nil, "migrate")
		require.Equal(t, 0, c.wait(t), c.errOut.String())
		require.Regexp(t, want, c.out.String(), "run %d", i+1)
	}
	c := startCommand(context.Background(), map[string]string{"CM_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}, nil, "migrate")
	require.Equal(t, 1, c.wait(t))
	require.Contains(t, c.errOut.String(), "connect to postgres")
}

func TestNodesJSON(t *testing.T) {
	t.Parallel()
	out, _, code := execute(t, "nodes", "list", "--json")
	require.Zero(t, code)
	var types []struct {
		Type         string          `json:"type"`
		Category     string          `json:"category"`
		Outputs      []any           `json:"outputs"`
		ConfigSchema json.RawMessage `json:"configSchema"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &types))
	byType := map[string]int{}
	for i, nt := range types {
		byType[nt.Type] = i
	}
	require.Contains(t, byType, "http.request")
	set := types[byType["data.set"]]
	require.Equal(t, "Data", set.Category)
	require.Contains(t, string(set.ConfigSchema), `"fields"`)

	out, _, code = execute(t, "nodes", "describe", "flow.if", "--json")
	require.Zero(t, code)
	var one map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &one))
	require.Equal(t, "flow.if", one["type"])
	require.Len(t, one["outputs"], 2, "true and false")
	require.Equal(t, "split", one["icon"])
	require.Contains(t, one["docs"], "## Example")
	require.Contains(t, one, "configSchema")

	out, _, code = execute(t, "nodes", "list")
	require.Zero(t, code)
	require.Regexp(t, `trigger\.manual\s+Triggers\s+Manual trigger\s+out`, out)
}

// TestRunFromStdinAndFiles: the definition from standard input, the input from a file, and the ways
// either can be wrong.
func TestRunFromStdinAndFiles(t *testing.T) {
	t.Parallel()
	def, err := os.ReadFile("../../examples/orders.json")
	require.NoError(t, err)
	input := writeFile(t, "input.json", `{"total": 500, "customer": "bo"}`)
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{name: "StdinAndInputFile", stdin: string(def), args: []string{"run", "-", "--input-file", input},
			want: []string{"✔ tax (data.set)", "⏸ wait (flow.delay)", "succeeded", `"tax": 100`}},
		{name: "InputFileMissing", stdin: string(def), args: []string{"run", "-", "--input-file", filepath.Join(t.TempDir(), "none.json")}, code: 2,
			want: []string{"no such file"}},
		{name: "EmptyInputIsAnObject", stdin: `{"name":"echo","nodes":[{"id":"s","type":"trigger.manual"},{"id":"e","type":"data.transform","config":{"expression":"{{ input }}"}}],"edges":[{"source":"s","target":"e"}]}`,
			args: []string{"run", "-", "--input", "  "}, want: []string{"succeeded", "Output:\n{}"}},
		{name: "StdinNotJSON", stdin: "nope", args: []string{"run", "-"}, code: 2, want: []string{"-: "}},
		{name: "UnknownTrigger", stdin: string(def), args: []string{"run", "-", "--trigger", "ghost"}, code: 2,
			want: []string{`triggerNode "ghost" is not a trigger of this workflow`}},
		{name: "Timeout", stdin: `{"name":"slow","nodes":[{"id":"s","type":"trigger.manual"},{"id":"w","type":"flow.delay","config":{"duration":"1h"}}],"edges":[{"source":"s","target":"w"}]}`,
			args: []string{"run", "-", "--timeout", "5s"}, code: 1, want: []string{"⏸ w (flow.delay)", "run stopped: context deadline exceeded"}},
		{name: "FailedAsJSON", stdin: `{"name":"x","nodes":[{"id":"s","type":"trigger.manual"},{"id":"f","type":"flow.fail","config":{"message":"nope"}}],"edges":[{"source":"s","target":"f"}]}`,
			args: []string{"run", "-", "--json"}, code: 1, want: []string{`"status": "failed"`, "execution failed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startCommand(context.Background(), map[string]string{}, strings.NewReader(tc.stdin), tc.args...)
			code := c.wait(t)
			all := c.out.String() + c.errOut.String()
			require.Equal(t, tc.code, code, all)
			for _, want := range tc.want {
				require.Contains(t, all, want)
			}
		})
	}
}

// TestRunReportsRetriesLogsAndHandledErrors runs a workflow against a local server that fails the
// first request: the report shows the retry and the failure the workflow handles.
func TestRunReportsRetriesLogsAndHandledErrors(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/flaky" && calls.Add(1) == 1 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/broken" {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	def := `{"name":"flaky","nodes":[
		{"id":"s","type":"trigger.manual"},
		{"id":"flaky","type":"http.request","config":{"url":"` + srv.URL + `/flaky"},"retry":{"maxAttempts":3,"initialInterval":"10ms"}},
		{"id":"broken","type":"http.request","config":{"url":"` + srv.URL + `/broken"},"onError":"continue"}],
		"edges":[{"source":"s","target":"flaky"},{"source":"flaky","target":"broken"}]}`
	c := startCommand(context.Background(), map[string]string{"CM_HTTP_ALLOW_PRIVATE": "true"}, strings.NewReader(def), "run", "-")
	code := c.wait(t)
	out := c.out.String()
	require.Equal(t, 0, code, out+c.errOut.String())
	require.Contains(t, out, "↻ flaky (http.request)")
	require.Contains(t, out, "attempt 1 failed")
	require.Regexp(t, `✘ broken \(http\.request\)\s+attempt 1: .*\(handled: continue\)`, out)
	require.Contains(t, out, "Execution ")
	require.Contains(t, out, " succeeded in ")
}
