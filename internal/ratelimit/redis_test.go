package ratelimit_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/cluster"
	"github.com/concertmaster/concertmaster/internal/cluster/clustertest"
	"github.com/concertmaster/concertmaster/internal/ratelimit"
)

// syncBuffer is a log destination safe for concurrent writes.
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

type redisBundle struct {
	url    string
	prefix string
	logs   *syncBuffer
}

func setupRedis(t *testing.T) *redisBundle {
	t.Helper()
	return &redisBundle{url: clustertest.RedisURL(t), prefix: clustertest.Prefix() + "rl:", logs: &syncBuffer{}}
}

// limiter returns a Redis limiter of rule on rawURL, with a fresh in-memory fallback of its own, as
// each process has.
func (b *redisBundle) limiter(t *testing.T, rawURL string, rule ratelimit.Rule) *ratelimit.Redis {
	t.Helper()
	opts, err := cluster.Options(rawURL, 500*time.Millisecond)
	require.NoError(t, err)
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	local, err := ratelimit.NewMemory(rule, ratelimit.MemoryConfig{})
	require.NoError(t, err)
	l, err := ratelimit.NewRedis(rule, ratelimit.RedisConfig{Client: client, Prefix: b.prefix, Fallback: local,
		Health: ratelimit.NewRedisHealth(50*time.Millisecond, slog.New(slog.NewTextHandler(b.logs, nil)))})
	require.NoError(t, err)
	return l
}

func allowed(t *testing.T, l ratelimit.Limiter, key string) (bool, time.Duration) {
	t.Helper()
	ok, retry, err := l.Allow(context.Background(), key, 1)
	require.NoError(t, err)
	return ok, retry
}

// TestRedisLimitIsShared: two processes' limiters on one Redis spend from one allowance per key.
func TestRedisLimitIsShared(t *testing.T) {
	t.Parallel()
	b := setupRedis(t)
	rule := ratelimit.Rule{Rate: 1, Period: time.Hour, Burst: 4}
	p1, p2 := b.limiter(t, b.url, rule), b.limiter(t, b.url, rule)
	for i, l := range []*ratelimit.Redis{p1, p2, p1, p2} {
		ok, _ := allowed(t, l, "ip:1")
		require.True(t, ok, "request %d within the shared burst", i)
	}
	for _, l := range []*ratelimit.Redis{p1, p2} {
		ok, retry := allowed(t, l, "ip:1")
		require.False(t, ok, "the burst is spent, whichever process asks")
		require.InDelta(t, time.Hour.Seconds(), retry.Seconds(), 5, "one unit comes back per hour")
	}
	ok, _ := allowed(t, p2, "ip:2")
	require.True(t, ok, "keys are independent")

	// A long key is hashed, still shared.
	long := strings.Repeat("k", 500)
	for range 4 {
		ok, _ := allowed(t, p1, long)
		require.True(t, ok)
	}
	ok, _ = allowed(t, p2, long)
	require.False(t, ok)

	_, _, err := p1.Allow(context.Background(), "ip:3", 5)
	require.ErrorIs(t, err, ratelimit.ErrInvalidCost)
	_, _, err = p1.Allow(context.Background(), "ip:3", 0)
	require.ErrorIs(t, err, ratelimit.ErrInvalidCost)
}

// TestRedisLimitRefills: a unit comes back after the emission interval, by Redis's clock.
func TestRedisLimitRefills(t *testing.T) {
	t.Parallel()
	b := setupRedis(t)
	l := b.limiter(t, b.url, ratelimit.Rule{Rate: 10, Period: time.Second, Burst: 1})
	ok, _ := allowed(t, l, "k")
	require.True(t, ok)
	ok, retry := allowed(t, l, "k")
	require.False(t, ok)
	require.Greater(t, retry, time.Duration(0))
	require.LessOrEqual(t, retry, 100*time.Millisecond)
	require.Eventually(t, func() bool { ok, _ := allowed(t, l, "k"); return ok }, 5*time.Second, 10*time.Millisecond)
}

// TestRedisDownFailsOpenToLocal: with Redis unreachable the limiter answers from its per-process
// fallback, without errors, logs the outage once, and shares again when Redis is back.
func TestRedisDownFailsOpenToLocal(t *testing.T) {
	t.Parallel()
	b := setupRedis(t)
	u, err := url.Parse(b.url)
	require.NoError(t, err)
	proxy := clustertest.NewProxy(t, u.Host)
	rule := ratelimit.Rule{Rate: 1, Period: time.Hour, Burst: 2}
	viaProxy, direct := b.limiter(t, proxy.URL(t, b.url), rule), b.limiter(t, b.url, rule)

	ok, _ := allowed(t, direct, "ip:9")
	require.True(t, ok)
	proxy.Cut()
	// The fallback is per process: a fresh allowance of 2, then refused.
	for i := range 2 {
		ok, _ := allowed(t, viaProxy, "ip:9")
		require.True(t, ok, "request %d from the local fallback", i)
	}
	ok, retry := allowed(t, viaProxy, "ip:9")
	require.False(t, ok)
	require.Greater(t, retry, time.Duration(0))
	require.Equal(t, 1, strings.Count(b.logs.String(), "Redis is unreachable"), b.logs.String())

	proxy.Restore(t)
	require.Eventually(t, func() bool {
		_, _ = allowed(t, viaProxy, "ip:10")
		return strings.Contains(b.logs.String(), "Redis is reachable again")
	}, 10*time.Second, 20*time.Millisecond)
	// Back on the shared count: one unit of ip:9 was spent in Redis before the outage (what the
	// fallback spent stays local), so one is left, whichever process spends it.
	ok, _ = allowed(t, viaProxy, "ip:9")
	require.True(t, ok)
	ok, _ = allowed(t, direct, "ip:9")
	require.False(t, ok, "the other process sees the unit spent")
}

func TestRedisAtAClosedPort(t *testing.T) {
	t.Parallel()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	b := &redisBundle{prefix: clustertest.Prefix(), logs: &syncBuffer{}}
	l := b.limiter(t, "redis://"+addr, ratelimit.Rule{Rate: 1, Period: time.Hour, Burst: 1})
	start := time.Now()
	ok, _ := allowed(t, l, "k")
	require.True(t, ok)
	ok, _ = allowed(t, l, "k")
	require.False(t, ok, "the local fallback limits")
	require.Less(t, time.Since(start), 5*time.Second)
}
