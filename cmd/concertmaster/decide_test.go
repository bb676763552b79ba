package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestApprovalSurvivesRestart parks a run on an approval, restarts the server, and approves it with the
// CLI: the wait is in the store, not in a goroutine.
func TestApprovalSurvivesRestart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "cm.db")
	s := startServer(t, db)
	def, err := os.ReadFile("../../examples/approval.json")
	require.NoError(t, err)
	// Without its timeout the run waits for a person, however long the restart takes.
	noTimeout := strings.Replace(string(def), `"timeout": "3s", `, "", 1)
	require.NotEqual(t, string(def), noTimeout)
	w := s.do(t, http.MethodPost, "/api/v1/workflows", noTimeout)
	wf := w["id"].(string)
	exec := s.do(t, http.MethodPost, "/api/v1/workflows/"+wf+"/executions", `{"input":{"amount":500,"customer":"Ada"}}`)
	id := exec["id"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for s.do(t, "GET", "/api/v1/executions/"+id, "")["status"] != "waiting" {
		require.True(t, time.Now().Before(deadline), "the run never waited:\n%s", s.log())
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, s.stop(t, syscall.SIGTERM))

	s = startServer(t, db)
	key := s.apiKey(t, "editor")
	env := map[string]string{apiKeyEnv: key}
	out, errOut, code := executeEnv(t, env, "approve", id, "ask", "--server", s.url, "--comment", "checked")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, errOut)
	require.Contains(t, out, "Approved node ask of execution "+id)
	done := s.waitFinished(t, id)
	require.Equal(t, "succeeded", done["status"])

	_, errOut, code = executeEnv(t, env, "reject", id, "ask", "--server", s.url)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "409")
	_, errOut, code = executeEnv(t, env, "approve", id, "--server", s.url)
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "give the execution id and the node id")
}
