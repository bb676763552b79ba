package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// apiCall sends a request to a server, with token as its bearer token when not empty, and decodes a
// JSON answer into out (when not nil); it returns the status, and errors instead of failing, so that
// goroutines other than the test's may use it.
func apiCall(base, token, method, path, body string, out any) (int, error) {
	var r io.Reader
	if body != "" {
		r = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, fmt.Errorf("decode %s %s: %w: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, nil
}

// call is apiCall for the test's goroutine.
func (s *server) call(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	code, err := apiCall(s.url, s.token, method, path, body, out)
	require.NoError(t, err)
	return code
}

// executions lists every execution, newest first.
func (s *server) executions(t *testing.T) []map[string]any {
	t.Helper()
	var all []map[string]any
	cursor := ""
	for {
		var page struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"nextCursor"`
		}
		require.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/api/v1/executions?limit=200&cursor="+url.QueryEscape(cursor), "", &page))
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

// workflows reads every workflow in full, by id.
func (s *server) workflows(t *testing.T) map[string]map[string]any {
	t.Helper()
	var page struct {
		Items []map[string]any `json:"items"`
	}
	require.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/api/v1/workflows?limit=200", "", &page))
	out := map[string]map[string]any{}
	for _, w := range page.Items {
		id := w["id"].(string)
		var full map[string]any
		require.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/api/v1/workflows/"+id, "", &full))
		out[id] = full
	}
	return out
}

// TestBackupRestoreIntoFreshServer backs up the database of a running server process while
// executions are being written, restores the backup for a fresh server process and reads every
// workflow and execution back through the API.
func TestBackupRestoreIntoFreshServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	livePath := filepath.Join(dir, "live", "cm.db")
	live := startServer(t, livePath)
	example, err := os.ReadFile("../../examples/orders.json")
	require.NoError(t, err)

	var workflowIDs []string
	for range 3 {
		var w struct{ ID string }
		require.Equal(t, http.StatusCreated, live.call(t, http.MethodPost, "/api/v1/workflows", string(example), &w))
		workflowIDs = append(workflowIDs, w.ID)
	}
	var finished []string
	for i := range 9 {
		var e struct {
			ID     string
			Status string
		}
		code := live.call(t, http.MethodPost, "/api/v1/workflows/"+workflowIDs[i%3]+"/executions?wait=30s",
			fmt.Sprintf(`{"input": {"total": %d, "customer": "c%d"}}`, 10+i*5, i), &e)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "succeeded", e.Status)
		finished = append(finished, e.ID)
	}

	// Clients keep starting executions while the backup runs.
	stop := make(chan struct{})
	var started atomic.Int64
	warm := make(chan struct{})
	var warmOnce sync.Once
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				code, err := apiCall(live.url, live.token, http.MethodPost, "/api/v1/workflows/"+workflowIDs[(c+i)%3]+"/executions",
					fmt.Sprintf(`{"input": {"total": %d, "customer": "w%d"}}`, i%100, c), nil)
				if err == nil && code != http.StatusAccepted && code != http.StatusOK {
					err = fmt.Errorf("start execution: status %d", code)
				}
				if err != nil {
					errs <- err
					return
				}
				if started.Add(1) >= 20 {
					warmOnce.Do(func() { close(warm) })
				}
			}
		}()
	}
	select {
	case <-warm:
	case err := <-errs:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		require.FailNow(t, "fewer than 20 executions started in 60s")
	}
	backup := filepath.Join(dir, "backup.db")
	out, errOut, code := execute(t, "backup", backup, "--database-url", "sqlite://"+livePath)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Zero(t, code, "stdout: %s\nstderr: %s", out, errOut)
	m := regexp.MustCompile(`(\d+) workflow\(s\), (\d+) execution\(s\)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	backedUp, err := strconv.Atoi(m[2])
	require.NoError(t, err)
	require.Equal(t, "3", m[1])
	require.Greater(t, backedUp, len(finished), "the backup holds executions started while it ran")
	t.Logf("the backup holds %d executions; %d were started while it ran or after", backedUp, started.Load())

	// The live database is refused, and so is an existing file.
	_, errOut, code = execute(t, "restore", backup, "--database-url", "sqlite://"+livePath)
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "stop it first, or pass --force")
	_, errOut, code = execute(t, "backup", backup, "--database-url", "sqlite://"+livePath)
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "pass --force to replace it")

	freshPath := filepath.Join(dir, "fresh", "cm.db")
	out, errOut, code = execute(t, "restore", backup, "--database-url", "sqlite://"+freshPath)
	require.Zero(t, code, "stdout: %s\nstderr: %s", out, errOut)
	require.Contains(t, out, fmt.Sprintf("%d execution(s)", backedUp))

	fresh := startServer(t, freshPath)
	require.Equal(t, live.workflows(t), fresh.workflows(t), "every workflow comes back as it was")
	for _, id := range finished {
		var want, got map[string]any
		require.Equal(t, http.StatusOK, live.call(t, http.MethodGet, "/api/v1/executions/"+id, "", &want))
		require.Equal(t, http.StatusOK, fresh.call(t, http.MethodGet, "/api/v1/executions/"+id, "", &got))
		require.Equal(t, want, got, "execution %s comes back as it was", id)
	}
	// Every execution of the backup is there; those that were queued or running when it was taken
	// run to the end on the fresh server.
	require.Len(t, fresh.executions(t), backedUp)
	deadline := time.Now().Add(60 * time.Second)
	for {
		open := 0
		for _, e := range fresh.executions(t) {
			switch e["status"] {
			case "succeeded":
			case "queued", "running":
				open++
			default:
				require.FailNow(t, "execution did not succeed", "%v", e)
			}
		}
		if open == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d executions still open after 60s", open)
		select {
		case <-time.After(50 * time.Millisecond):
		case <-t.Context().Done():
		}
	}
	require.NoError(t, live.stop(t, syscall.SIGTERM))
	require.NoError(t, fresh.stop(t, syscall.SIGTERM))
}

func TestBackupAndRestoreExplainPostgres(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"backup", "restore"} {
		_, errOut, code := execute(t, cmd, filepath.Join(t.TempDir(), "x.dump"), "--database-url", "postgres://u@127.0.0.1:1/db")
		require.Equal(t, 2, code)
		require.Contains(t, errOut, "pg_dump")
		require.Contains(t, errOut, "pg_restore")
	}
}
