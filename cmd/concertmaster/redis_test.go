package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/cluster/clustertest"
)

// quickWorkflow is a manual trigger and one data.set node.
const quickWorkflow = `{"name":"quick","nodes":[{"id":"start","type":"trigger.manual"},{"id":"set","type":"data.set","config":{"fields":{"a":1}}}],
	"edges":[{"source":"start","target":"set"}]}`

// scaleOut is an API process and a worker process sharing a PostgreSQL database and, unless redisURL
// is empty, a Redis.
type scaleOut struct {
	api, worker *command
	s           *server
	env         map[string]string
}

// startScaleOut starts serve --role=api and a worker on one new PostgreSQL schema. The waiters of
// the API process poll only every pollInterval; the worker's heartbeat keeps its 10 s default.
func startScaleOut(ctx context.Context, t testing.TB, redisURL, pollInterval string) *scaleOut {
	t.Helper()
	env := withOwner(map[string]string{"CM_DATABASE_URL": postgresURL(t), "CM_LOG_LEVEL": "info", "CM_SHUTDOWN_GRACE": "5s",
		"CM_WAIT_POLL_INTERVAL": pollInterval, "CM_HTTP_ALLOW_PRIVATE": "true"})
	if redisURL != "" {
		env["CM_REDIS_URL"], env["CM_REDIS_PREFIX"] = redisURL, clustertest.Prefix()
	}
	api := startCommand(ctx, env, nil, "serve", "--role", "api", "--addr", "127.0.0.1:0")
	s := api.serving(t)
	worker := startCommand(ctx, env, nil, "worker")
	worker.waitLog(t, "Worker is running")
	return &scaleOut{api: api, worker: worker, s: s, env: env}
}

// stop stops both processes (cancel ends their context) and checks they exit cleanly.
func (so *scaleOut) stop(t testing.TB, cancel context.CancelFunc) {
	t.Helper()
	cancel()
	require.Equal(t, 0, so.worker.wait(t), so.worker.errOut.String())
	require.Equal(t, 0, so.api.wait(t), so.api.errOut.String())
}

// finishedAt parses an execution's finishedAt.
func finishedAt(t testing.TB, exec map[string]any) time.Time {
	t.Helper()
	s, ok := exec["finishedAt"].(string)
	require.True(t, ok, "finishedAt in %v", exec)
	at, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return at
}

// TestScaleOutThroughRedis: with Redis, a run the worker finishes wakes ?wait= on the API process at
// once (its poll is an hour), a live SSE stream on the API process follows the worker's events, and a
// cancel taken by the API process stops the worker's run at once (its heartbeat is 10 s).
func TestScaleOutThroughRedis(t *testing.T) {
	t.Parallel()
	redisURL := clustertest.RedisURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	so := startScaleOut(ctx, t, redisURL, "1h")
	so.api.waitLog(t, "Connected to Redis")
	so.worker.waitLog(t, "Connected to Redis")
	s := so.s
	w := s.do(t, http.MethodPost, "/api/v1/workflows", quickWorkflow)
	wid := w["id"].(string)

	t.Run("WaitWakesAtOnce", func(t *testing.T) {
		for range 5 {
			exec := s.do(t, http.MethodPost, "/api/v1/workflows/"+wid+"/executions?wait=30s", `{"input":{}}`)
			answered := time.Now()
			require.Equal(t, "succeeded", exec["status"])
			require.Less(t, answered.Sub(finishedAt(t, exec)), time.Second, "woken through Redis, not by the hourly poll")
		}
	})

	t.Run("WebhookAnswersAtOnce", func(t *testing.T) {
		path := "scale/" + strings.ToLower(clustertest.Prefix()[7:23])
		def := `{"name":"hook","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"` + path + `","respond":"onCompletion"}},
			{"id":"set","type":"data.set","config":{"fields":{"answer":42}}}],"edges":[{"source":"hook","target":"set"}]}`
		hw := s.do(t, http.MethodPost, "/api/v1/workflows", def)
		s.do(t, http.MethodPost, "/api/v1/workflows/"+hw["id"].(string)+"/activate", "")
		for range 3 {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/hooks/"+path, strings.NewReader(`{}`))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			answered := time.Now()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			require.Contains(t, string(body), `"answer":42`)
			exec := s.do(t, http.MethodGet, "/api/v1/executions/"+resp.Header.Get("X-Execution-ID"), "")
			require.Less(t, answered.Sub(finishedAt(t, exec)), time.Second, "woken through Redis, not by the hourly poll")
		}
	})

	t.Run("SSEFollowsTheWorker", func(t *testing.T) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/workflows/"+wid+"/events", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // closed below; a goroutine reads it
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		lines := make(chan string, 64)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		waitLine := func(prefix string) string {
			t.Helper()
			timeout := time.After(15 * time.Second)
			for {
				select {
				case l, ok := <-lines:
					require.True(t, ok, "the stream ended before %q", prefix)
					if strings.HasPrefix(l, prefix) {
						return l
					}
				case <-timeout:
					t.Fatalf("no %q line", prefix)
				}
			}
		}
		waitLine("retry:") // subscribed: the stream is live from here
		exec := s.do(t, http.MethodPost, "/api/v1/workflows/"+wid+"/executions", `{"input":{}}`)
		require.Equal(t, "event: execution.started", waitLine("event: execution.started"), "started in the worker")
		data := waitLine("data:")
		require.Contains(t, data, exec["id"].(string))
		waitLine("event: execution.finished")
	})

	t.Run("CancelReachesTheWorkerAtOnce", func(t *testing.T) {
		hit, released := make(chan struct{}, 1), make(chan struct{}, 1)
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hit <- struct{}{}
			select {
			case <-r.Context().Done():
				released <- struct{}{}
			case <-time.After(time.Minute):
			}
		}))
		defer slow.Close()
		def := `{"name":"slow","nodes":[{"id":"start","type":"trigger.manual"},
			{"id":"call","type":"http.request","config":{"method":"GET","url":"` + slow.URL + `/block"}}],
			"edges":[{"source":"start","target":"call"}]}`
		sw := s.do(t, http.MethodPost, "/api/v1/workflows", def)
		exec := s.do(t, http.MethodPost, "/api/v1/workflows/"+sw["id"].(string)+"/executions", `{"input":{}}`)
		id := exec["id"].(string)
		select {
		case <-hit:
		case <-time.After(30 * time.Second):
			t.Fatal("the worker never called the slow server")
		}
		start := time.Now()
		s.do(t, http.MethodPost, "/api/v1/executions/"+id+"/cancel", "")
		select {
		case <-released:
		case <-time.After(5 * time.Second):
			t.Fatal("the worker's request was not canceled within 5 s (the heartbeat would take up to 10 s)")
		}
		require.Less(t, time.Since(start), 3*time.Second)
		e := s.waitFinished(t, id)
		require.Equal(t, "canceled", e["status"])
	})

	so.stop(t, cancel)
	require.Contains(t, so.api.errOut.String(), "role=api")
}

// TestScaleOutRedisDown: with CM_REDIS_URL at a port where nothing listens, both processes start,
// requests succeed, ?wait= wakes by polling, and the outage is logged once, not per message.
func TestScaleOutRedisDown(t *testing.T) {
	t.Parallel()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	so := startScaleOut(ctx, t, "redis://:hunter2pass@"+addr+"/0", "100ms")
	s := so.s
	w := s.do(t, http.MethodPost, "/api/v1/workflows", quickWorkflow)
	for range 5 {
		exec := s.do(t, http.MethodPost, "/api/v1/workflows/"+w["id"].(string)+"/executions?wait=30s", `{"input":{}}`)
		require.Equal(t, "succeeded", exec["status"], "the waiter polls the store")
	}
	so.stop(t, cancel)
	for _, c := range []*command{so.api, so.worker} {
		logs := c.errOut.String()
		require.Equal(t, 1, strings.Count(logs, "Redis is unreachable; waiters fall back to polling"), logs)
		require.LessOrEqual(t, strings.Count(logs, "Redis is unreachable; rate limits are counted per process"), 1, logs)
		require.NotContains(t, logs, "hunter2pass")
	}
}

// TestSecondAPIProcessWithoutRedisIsRefused: two API processes on one database need Redis; once the
// first stops, another starts at once (the first removed its row).
func TestSecondAPIProcessWithoutRedisIsRefused(t *testing.T) {
	t.Parallel()
	env := withOwner(map[string]string{"CM_DATABASE_URL": postgresURL(t), "CM_LOG_LEVEL": "info", "CM_SHUTDOWN_GRACE": "5s"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := startCommand(ctx, env, nil, "serve", "--role", "api", "--addr", "127.0.0.1:0")
	first.serving(t)

	second := startCommand(context.Background(), env, nil, "serve", "--addr", "127.0.0.1:0")
	require.Equal(t, 1, second.wait(t), second.errOut.String())
	require.Contains(t, second.errOut.String(), "another API process")
	require.Contains(t, second.errOut.String(), "set CM_REDIS_URL on every one")

	// One with Redis is refused too: the first has none.
	env2 := map[string]string{}
	for k, v := range env {
		env2[k] = v
	}
	env2["CM_REDIS_URL"] = "redis://127.0.0.1:1/0"
	third := startCommand(context.Background(), env2, nil, "serve", "--addr", "127.0.0.1:0")
	require.Equal(t, 1, third.wait(t), third.errOut.String())
	require.Contains(t, third.errOut.String(), "that one has no CM_REDIS_URL")

	cancel()
	require.Equal(t, 0, first.wait(t), first.errOut.String())
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	next := startCommand(ctx2, env, nil, "serve", "--role", "api", "--addr", "127.0.0.1:0")
	next.serving(t)
	cancel2()
	require.Equal(t, 0, next.wait(t), next.errOut.String())
}
