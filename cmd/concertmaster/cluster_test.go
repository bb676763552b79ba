package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clusterScript runs scripts/cluster.sh with args and env added to the test's environment, and
// returns its exit code and output.
func clusterScript(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{"../../scripts/cluster.sh"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String()
	}
	require.NoError(t, err, out.String())
	return 0, out.String()
}

// running reports whether pid is a live process (not a zombie waiting to be reaped).
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) == 0 || fields[0] != "Z"
}

// freePort returns a loopback port nobody listens on (at the time of the call).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// TestClusterScript starts a cluster of one API process and two workers with scripts/cluster.sh on
// PostgreSQL, runs 50 executions through the API, and stops it: every execution succeeds and no
// process is left.
func TestClusterScript(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	env := append([]string{"CM_DATABASE_URL=" + postgresURL(t), "CM_CLUSTER_BIN=" + binary(t), "CM_SHUTDOWN_GRACE=5s",
		"CM_LOG_LEVEL=info", "CM_SECRET_KEY="}, bootstrapEnv...)
	args := []string{"--dir", dir}
	t.Cleanup(func() { _, _ = clusterScript(t, env, append([]string{"stop"}, args...)...) })

	code, out := clusterScript(t, env, append([]string{"start", "--api", "1", "--workers", "2", "--port", strconv.Itoa(port)}, args...)...)
	require.Equal(t, 0, code, out)
	code, out = clusterScript(t, env, append([]string{"status"}, args...)...)
	require.Equal(t, 0, code, out)
	require.Regexp(t, `api-1 +pid \d+ +running, ready at http://127\.0\.0\.1:`+strconv.Itoa(port), out)
	require.Regexp(t, `worker-1 +pid \d+ +running`, out)
	require.Regexp(t, `worker-2 +pid \d+ +running`, out)
	secret, err := os.ReadFile(filepath.Join(dir, "secret.key"))
	require.NoError(t, err, "without CM_SECRET_KEY the processes share a generated one")
	require.NotEmpty(t, bytes.TrimSpace(secret))
	code, out = clusterScript(t, env, append([]string{"start"}, args...)...)
	require.NotEqual(t, 0, code, "a second start refuses: %s", out)
	require.Contains(t, out, "already runs")

	pids := map[string]int{}
	for _, name := range []string{"api-1", "worker-1", "worker-2"} {
		b, err := os.ReadFile(filepath.Join(dir, "pids", name+".pid"))
		require.NoError(t, err)
		pids[name], err = strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		require.True(t, running(pids[name]), name)
	}

	s := &server{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	s.login(t)
	def, err := os.ReadFile("../../examples/orders.json")
	require.NoError(t, err)
	wf := s.do(t, http.MethodPost, "/api/v1/workflows", string(def))
	const runs = 50
	ids := make([]string, 0, runs)
	for i := range runs {
		exec := s.do(t, http.MethodPost, "/api/v1/workflows/"+wf["id"].(string)+"/executions", fmt.Sprintf(`{"input":{"total":%d,"customer":"c%d"}}`, 50+i*5, i))
		ids = append(ids, exec["id"].(string))
	}
	for _, id := range ids {
		var exec map[string]any
		for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			exec = s.do(t, http.MethodGet, "/api/v1/executions/"+id, "")
			if st := exec["status"]; st == "succeeded" || st == "failed" || st == "canceled" {
				break
			}
		}
		require.Equal(t, "succeeded", exec["status"], "execution %s", id)
	}

	code, out = clusterScript(t, env, append([]string{"stop"}, args...)...)
	require.Equal(t, 0, code, out)
	require.NotContains(t, out, "killing")
	for name, pid := range pids {
		require.False(t, running(pid), "%s (pid %d) still runs after stop", name, pid)
	}
	code, out = clusterScript(t, env, append([]string{"status"}, args...)...)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "no cluster recorded")
	logs, err := os.ReadFile(filepath.Join(dir, "logs", "worker-1.log"))
	require.NoError(t, err)
	require.Contains(t, string(logs), "Worker stopped", "the worker drained and exited cleanly")
}
