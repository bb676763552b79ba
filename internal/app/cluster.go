package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/internal/cache"
	"github.com/concertmaster/concertmaster/internal/cluster"
	"github.com/concertmaster/concertmaster/internal/config"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/metrics"
	"github.com/concertmaster/concertmaster/internal/ratelimit"
	"github.com/concertmaster/concertmaster/internal/store"
)

// newCluster returns the Redis link of a process (nil without CM_REDIS_URL), not started yet, with its
// metrics registered on m.
func newCluster(cfg config.Config, owner string, hub *event.Hub, st store.Store, m *metrics.Metrics, logger *slog.Logger,
	cancel func(store.ExecutionRef) bool, invalidate func(cache.Invalidation),
) (*cluster.Cluster, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	c, err := cluster.New(cluster.Config{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix, ProcessID: owner, Hub: hub, Store: st,
		CancelFunc: cancel, InvalidateFunc: invalidate, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("CM_REDIS_URL: %w", err)
	}
	m.Gauge("concertmaster_redis_up", "1 while this process is subscribed to Redis (CM_REDIS_URL), 0 while it falls back to polling.", func() float64 {
		if c.Up() {
			return 1
		}
		return 0
	})
	m.CounterFunc("concertmaster_redis_published_total", "Messages (execution events, cancel signals, cache invalidations) this process published to Redis.",
		func() float64 { return float64(c.Stats().Published) })
	m.CounterFunc("concertmaster_redis_received_total", "Messages of other processes this process received from Redis and handled.",
		func() float64 { return float64(c.Stats().Received) })
	m.CounterFunc("concertmaster_redis_dropped_total", "Messages not published (Redis down, queue full) or not handled (malformed, too large).",
		func() float64 { return float64(c.Stats().Dropped) })
	return c, nil
}

// cacheMetrics registers the counters of one of the hot-read caches (ADR 0024).
func cacheMetrics(m *metrics.Metrics, scope cache.Scope, stats func() cache.Stats) {
	name := "concertmaster_" + string(scope) + "_cache_"
	m.CounterFunc(name+"hits_total", "Lookups of "+string(scope)+" answered from this process's cache.",
		func() float64 { return float64(stats().Hits) })
	m.CounterFunc(name+"misses_total", "Lookups of "+string(scope)+" that read the store: not cached, or the Redis link was down (cache bypassed).",
		func() float64 { s := stats(); return float64(s.Misses + s.Bypassed) })
	m.CounterFunc(name+"invalidations_total", "Invalidations applied to this process's "+string(scope)+" cache (its own writes, other processes', the Redis link dropping or coming back).",
		func() float64 { return float64(stats().Invalidations) })
}

// remoteCancel returns the service's RemoteCancelFunc: a cancel signal through c, or nil without
// Redis.
func remoteCancel(c *cluster.Cluster) func(store.ExecutionRef) {
	if c == nil {
		return nil
	}
	return c.SignalCancel
}

// limiter returns a limiter of rule: in Redis under prefix+name when the runtime has a Redis link,
// with a per-process fallback for outages; in memory otherwise.
func (rt *Runtime) limiter(rule ratelimit.Rule, name string) (ratelimit.Limiter, error) {
	local, err := ratelimit.NewMemory(rule, ratelimit.MemoryConfig{})
	if err != nil || rt.Cluster == nil {
		return local, err
	}
	if rt.limitHealth == nil {
		rt.limitHealth = ratelimit.NewRedisHealth(0, rt.log)
	}
	return ratelimit.NewRedis(rule, ratelimit.RedisConfig{Client: rt.Cluster.Client(), Prefix: rt.redisPrefix + "rl:" + name + ":",
		Fallback: local, Health: rt.limitHealth})
}

// Presence timing: a serving process refreshes its row every presenceInterval; a row not refreshed
// for presenceStale belongs to a process that is gone.
const (
	presenceInterval = 5 * time.Second
	presenceStale    = 4 * presenceInterval
)

// presence keeps a process's row in the processes table fresh.
type presence struct {
	st     store.Processes
	self   store.Process
	logger *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// startPresence registers the process and, for an API process, applies the start-up rule of ADR 0018:
// several API processes on one database need Redis, all of them. It refuses to start when another API
// process is alive and this one or that one has no Redis. A row whose heartbeat does not move on
// within one interval belongs to a process that crashed and is ignored, so that a restart after a
// crash is not refused. Then it refreshes the row until stop.
func startPresence(ctx context.Context, st store.Processes, self store.Process, logger *slog.Logger) (*presence, error) {
	others, err := st.HeartbeatProcess(ctx, self, presenceStale)
	if err != nil {
		return nil, fmt.Errorf("register this process: %w", err)
	}
	if self.Role == store.ProcessRoleAPI {
		if err := checkPeers(ctx, st, self, others); err != nil {
			_ = st.RemoveProcess(context.WithoutCancel(ctx), self.ID)
			return nil, err
		}
		if self.Redis {
			for _, o := range others {
				if o.Role == store.ProcessRoleWorker && !o.Redis {
					logger.Warn("A worker process on this database has no CM_REDIS_URL: the events of its runs reach waiters and live views only by polling",
						"process", o.ID)
				}
			}
		}
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &presence{st: st, self: self, logger: logger, cancel: cancel, done: make(chan struct{})}
	go p.loop(pctx)
	return p, nil
}

// conflicts returns the API processes among others that cannot run next to self.
func conflicts(self store.Process, others []store.Process) map[string]store.Process {
	out := map[string]store.Process{}
	for _, o := range others {
		if o.Role == store.ProcessRoleAPI && (!self.Redis || !o.Redis) {
			out[o.ID] = o
		}
	}
	return out
}

// checkPeers refuses self when a conflicting API process is alive: its heartbeat moves on within an
// interval (and a bit) of watching.
func checkPeers(ctx context.Context, st store.Processes, self store.Process, others []store.Process) error {
	seen := conflicts(self, others)
	if len(seen) == 0 {
		return nil
	}
	deadline := time.NewTimer(presenceInterval + presenceInterval/2)
	defer deadline.Stop()
	tick := time.NewTicker(presenceInterval / 10)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return nil // none of them heartbeats: they are gone
		case <-tick.C:
		}
		now, err := st.HeartbeatProcess(ctx, self, presenceStale)
		if err != nil {
			return fmt.Errorf("register this process: %w", err)
		}
		for id, o := range conflicts(self, now) {
			if first, ok := seen[id]; ok && o.HeartbeatAt.After(first.HeartbeatAt) {
				return refusal(self, o)
			}
		}
	}
}

// refusal is the start-up error naming the other process and what to do.
func refusal(self, other store.Process) error {
	var why string
	switch {
	case !self.Redis && !other.Redis:
		why = "neither has CM_REDIS_URL"
	case !self.Redis:
		why = "this one has no CM_REDIS_URL"
	default:
		why = "that one has no CM_REDIS_URL"
	}
	return fmt.Errorf("another API process (%s) serves this database and %s: several API processes must all share one Redis "+
		"(set CM_REDIS_URL on every one), or run a single API process; see docs/scale-out.md",
		strings.TrimSpace(other.ID), why)
}

func (p *presence) loop(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(presenceInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hctx, cancel := context.WithTimeout(ctx, presenceInterval)
		_, err := p.st.HeartbeatProcess(hctx, p.self, presenceStale)
		cancel()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			failing = true
			p.logger.Warn("Refreshing this process's row in the processes table failed", "error", err.Error())
		case err == nil:
			failing = false
		}
	}
}

// stop ends the heartbeat and deletes the row, so that a new process may start at once.
func (p *presence) stop(ctx context.Context) {
	if p == nil {
		return
	}
	p.once.Do(func() {
		p.cancel()
		<-p.done
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := p.st.RemoveProcess(rctx, p.self.ID); err != nil {
			p.logger.Warn("Removing this process from the processes table failed; its row goes stale", "error", err.Error())
		}
	})
}
