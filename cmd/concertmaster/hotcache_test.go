package main

import (
	"bufio"
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/cluster/clustertest"
	"github.com/concertmaster/concertmaster/internal/service"
)

// status sends method path to s (with auth, the owner's token or bearer when set) and returns the
// answer's status.
func status(t *testing.T, s *server, method, path, bearer string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, s.url+path, strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

// waitStatus polls method path on s until it answers want, failing after within; it returns how
// long that took.
func waitStatus(t *testing.T, s *server, method, path, bearer string, want int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	got := 0
	for time.Since(start) < within {
		if got = status(t, s, method, path, bearer); got == want {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond) // a poll with a deadline: nothing to wait on across processes
	}
	t.Fatalf("%s %s answered %d, not %d, for %s", method, path, got, want, within)
	return 0
}

// metric reads one sample of s's /metrics.
func metric(t *testing.T, s *server, name string) float64 {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.url+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// TestHotCachesAcrossProcesses: two API processes on one PostgreSQL database, each linked to Redis
// through its own proxy. A deactivates a webhook B answers from its cache, and revokes an API key B
// has cached: B answers 404 and 401 well within the caches' TTL, that is through the invalidation.
// With B's link cut, B reads the store and stays exact; with A's link cut, A's signal is lost and B
// converges within the TTL.
func TestHotCachesAcrossProcesses(t *testing.T) {
	t.Parallel()
	redisURL := clustertest.RedisURL(t)
	u, err := url.Parse(redisURL)
	require.NoError(t, err)
	proxyA, proxyB := clustertest.NewProxy(t, u.Host), clustertest.NewProxy(t, u.Host)
	base := withOwner(map[string]string{"CM_DATABASE_URL": postgresURL(t), "CM_LOG_LEVEL": "info", "CM_SHUTDOWN_GRACE": "5s",
		"CM_REDIS_PREFIX": clustertest.Prefix()})
	envA, envB := maps.Clone(base), maps.Clone(base)
	envA["CM_REDIS_URL"], envB["CM_REDIS_URL"] = proxyA.URL(t, redisURL), proxyB.URL(t, redisURL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	procA := startCommand(ctx, envA, nil, "serve", "--role", "api", "--addr", "127.0.0.1:0")
	a := procA.serving(t)
	procA.waitLog(t, "Connected to Redis")
	procB := startCommand(ctx, envB, nil, "serve", "--role", "api", "--addr", "127.0.0.1:0")
	b := procB.serving(t)
	procB.waitLog(t, "Connected to Redis")

	// Well under the TTL, so that an answer within it is the invalidation's doing, not expiry's.
	const deadline = service.WebhookCacheTTL / 2
	path := "hot/" + strings.ToLower(clustertest.Prefix()[7:23])
	hook := "/hooks/" + path
	w := a.do(t, http.MethodPost, "/api/v1/workflows", `{"name":"hot","nodes":[{"id":"hook","type":"trigger.webhook",
		"config":{"path":"`+path+`","respond":"immediately"}}]}`)
	wid := w["id"].(string)
	activate := func(on bool) {
		t.Helper()
		verb := map[bool]string{true: "activate", false: "deactivate"}[on]
		a.do(t, http.MethodPost, "/api/v1/workflows/"+wid+"/"+verb, "")
	}
	hits := func() float64 { return metric(t, b, "concertmaster_webhooks_cache_hits_total") }
	// cachedOnB waits until B answers the webhook from its cache. A read may miss being stored once
	// more: the signal of A's last write can arrive while B reads, which refuses what B read.
	cachedOnB := func(t *testing.T) {
		t.Helper()
		require.Eventually(t, func() bool {
			before := hits()
			return status(t, b, http.MethodPost, hook, "") == http.StatusAccepted && hits() > before
		}, 10*time.Second, 5*time.Millisecond, "B never answered from its cache")
	}
	activate(true)

	t.Run("DeactivateReachesTheOtherProcess", func(t *testing.T) {
		waitStatus(t, b, http.MethodPost, hook, "", http.StatusAccepted, 10*time.Second)
		cachedOnB(t)

		activate(false)
		took := waitStatus(t, b, http.MethodPost, hook, "", http.StatusNotFound, deadline)
		t.Logf("B answered 404 %s after A's deactivation", took)
		activate(true)
		waitStatus(t, b, http.MethodPost, hook, "", http.StatusAccepted, deadline)
	})

	t.Run("RevocationReachesTheOtherProcess", func(t *testing.T) {
		k := a.do(t, http.MethodPost, "/api/v1/api-keys", `{"name":"ci","role":"viewer"}`)
		key := k["key"].(string)
		for range 3 {
			require.Equal(t, http.StatusOK, status(t, b, http.MethodGet, "/api/v1/workflows", key))
		}
		require.Positive(t, metric(t, b, "concertmaster_apikeys_cache_hits_total"))
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, a.url+"/api/v1/api-keys/"+k["id"].(string), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+a.token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		waitStatus(t, b, http.MethodGet, "/api/v1/workflows", key, http.StatusUnauthorized, deadline)
	})

	t.Run("ReaderLinkDownStaysExact", func(t *testing.T) {
		waitStatus(t, b, http.MethodPost, hook, "", http.StatusAccepted, deadline)
		proxyB.Cut()
		require.Eventually(t, func() bool { return metric(t, b, "concertmaster_redis_up") == 0 }, 15*time.Second, 10*time.Millisecond)
		// B hears nothing now, and reads the store on every request.
		activate(false)
		require.Equal(t, http.StatusNotFound, status(t, b, http.MethodPost, hook, ""))
		activate(true)
		require.Equal(t, http.StatusAccepted, status(t, b, http.MethodPost, hook, ""))

		proxyB.Restore(t)
		require.Eventually(t, func() bool { return metric(t, b, "concertmaster_redis_up") == 1 }, 15*time.Second, 10*time.Millisecond)
		cachedOnB(t) // B caches again once its link is back
		activate(false)
		waitStatus(t, b, http.MethodPost, hook, "", http.StatusNotFound, deadline)
		activate(true)
	})

	t.Run("WriterLinkDownConvergesWithinTTL", func(t *testing.T) {
		waitStatus(t, b, http.MethodPost, hook, "", http.StatusAccepted, deadline)
		cachedOnB(t)
		proxyA.Cut()
		require.Eventually(t, func() bool { return metric(t, a, "concertmaster_redis_up") == 0 }, 15*time.Second, 10*time.Millisecond)
		activate(false) // A's signal is lost: B's cached route expires within the TTL
		waitStatus(t, b, http.MethodPost, hook, "", http.StatusNotFound, service.WebhookCacheTTL+5*time.Second)
		proxyA.Restore(t)
	})

	cancel()
	require.Equal(t, 0, procA.wait(t), procA.errOut.String())
	require.Equal(t, 0, procB.wait(t), procB.errOut.String())
}
