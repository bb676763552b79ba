package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServerPrunesPastRetention runs the real server with a small cap per workflow and a short
// interval: the pruner deletes the oldest finished executions, and /metrics shows it.
func TestServerPrunesPastRetention(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "cm.db"), "CM_RETENTION_MAX_PER_WORKFLOW=2", "CM_RETENTION_INTERVAL=1s")
	example, err := os.ReadFile("../../examples/orders.json")
	require.NoError(t, err)
	var w struct{ ID string }
	require.Equal(t, http.StatusCreated, s.call(t, http.MethodPost, "/api/v1/workflows", string(example), &w))
	var ids []string
	for i := range 5 {
		var e struct{ ID, Status string }
		require.Equal(t, http.StatusOK, s.call(t, http.MethodPost, "/api/v1/workflows/"+w.ID+"/executions?wait=30s",
			fmt.Sprintf(`{"input": {"total": %d, "customer": "c"}}`, i), &e))
		require.Equal(t, "succeeded", e.Status)
		ids = append(ids, e.ID)
	}

	deleted := regexp.MustCompile(`(?m)^concertmaster_retention_deleted_executions_total (\d+)$`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := s.executions(t)
		if len(left) == 2 {
			require.Equal(t, ids[4], left[0]["id"], "the most recently finished stay")
			require.Equal(t, ids[3], left[1]["id"])
			break
		}
		require.True(t, time.Now().Before(deadline), "%d executions left after 30s:\n%s", len(left), s.log())
		select {
		case <-time.After(100 * time.Millisecond):
		case <-t.Context().Done():
		}
	}
	metrics := scrape(t, s.url+"/metrics")
	m := deleted.FindStringSubmatch(metrics)
	require.NotNil(t, m, metrics)
	require.Equal(t, "3", m[1])
	require.Contains(t, metrics, "concertmaster_retention_deleted_events_total")
	require.Contains(t, metrics, "concertmaster_retention_last_pass_duration_seconds")
	require.Regexp(t, `(?m)^concertmaster_retention_errors_total 0$`, metrics)
	require.NoError(t, s.stop(t, syscall.SIGTERM))
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
