package ratelimit

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is the GCRA of Memory run inside Redis, so that every process spends from one allowance
// per key. Time comes from the Redis server (TIME), the one clock all processes share; TATs are kept
// in microseconds (exact in a Lua number until the year 2255) and expire once back at full allowance.
//
// KEYS[1] is the key; ARGV[1] the burst tolerance (emission interval × burst) and ARGV[2] the
// increment (emission interval × cost), both in microseconds. It returns {1, 0} when allowed, {0,
// wait in microseconds} when not.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new = tat + tonumber(ARGV[2])
local wait = new - tonumber(ARGV[1]) - now
if wait > 0 then return {0, wait} end
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.floor((new - now) / 1000) + 1)
return {1, 0}
`)

// Defaults for RedisConfig.
const (
	// RedisTimeoutDefault bounds one Allow's round trip to Redis before the local limiter answers.
	RedisTimeoutDefault = 500 * time.Millisecond
	// RedisRetryDefault is how long the limiter keeps to its local fallback after Redis failed,
	// before it tries Redis again, so that an outage does not add a timeout to every request.
	RedisRetryDefault = time.Second
)

// RedisConfig configures a Redis limiter.
type RedisConfig struct {
	// Client is the Redis connection (required).
	Client redis.Scripter
	// Prefix starts every key, e.g. "concertmaster:rl:api:" (required: it keeps limiters apart).
	Prefix string
	// Fallback answers while Redis is unreachable (required): the limiter fails open to a
	// per-process limit rather than refusing every request or letting every one through.
	Fallback Limiter
	// Timeout bounds one call to Redis (default RedisTimeoutDefault).
	Timeout time.Duration
	// Health is shared by the limiters of one Redis, so that an outage is logged once for all of them
	// and all of them keep to their fallbacks for a while after any failure; nil gives the limiter
	// one of its own (NewRedisHealth(RedisRetryDefault, nil)).
	Health *RedisHealth
}

// RedisHealth remembers whether Redis failed the limiters that share it: after a failure they answer
// from their fallbacks for a retry pause rather than each waiting for a timeout, and the outage and
// the recovery are logged once.
type RedisHealth struct {
	retry  time.Duration
	logger *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	failing bool
	retryAt time.Time
}

// NewRedisHealth returns a RedisHealth that leaves Redis alone for retry (default RedisRetryDefault)
// after a failure, logging to logger (nil: nowhere).
func NewRedisHealth(retry time.Duration, logger *slog.Logger) *RedisHealth {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RedisHealth{retry: cmp.Or(retry, RedisRetryDefault), logger: logger.With("component", "ratelimit"), now: time.Now}
}

// try reports whether to ask Redis: always unless it failed less than the retry pause ago.
func (h *RedisHealth) try() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.failing || !h.now().Before(h.retryAt)
}

func (h *RedisHealth) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.retryAt = h.now().Add(h.retry)
	if !h.failing {
		h.failing = true
		h.logger.Warn("Redis is unreachable; rate limits are counted per process until it is back", "error", err.Error())
	}
}

func (h *RedisHealth) succeeded() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing {
		h.failing = false
		h.logger.Info("Redis is reachable again; rate limits are shared")
	}
}

// Redis is a Limiter whose allowances live in Redis, shared by every process that uses the same
// server and prefix: the GCRA of Memory, run by a Lua script. When Redis fails, Allow answers from the
// fallback limiter (a per-process limit) and logs once per outage; it never returns a backend error.
type Redis struct {
	rule     Rule
	cfg      RedisConfig
	burst    int64 // µs
	interval int64 // µs
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a Redis limiter applying rule to every key.
func NewRedis(rule Rule, cfg RedisConfig) (*Redis, error) {
	if err := rule.Validate(); err != nil {
		return nil, err
	}
	if cfg.Client == nil || cfg.Prefix == "" || cfg.Fallback == nil {
		return nil, errors.New("rate limiter: a Redis client, a key prefix and a fallback are required")
	}
	interval := rule.interval().Microseconds()
	if interval < 1 {
		return nil, fmt.Errorf("rate limit rule: %s is finer than a microsecond, the Redis limiter's unit", rule)
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, RedisTimeoutDefault)
	if cfg.Health == nil {
		cfg.Health = NewRedisHealth(RedisRetryDefault, nil)
	}
	return &Redis{rule: rule, cfg: cfg, interval: interval, burst: interval * int64(rule.Burst)}, nil
}

// Rule returns the limiter's rule.
func (r *Redis) Rule() Rule { return r.rule }

// Allow implements Limiter. The error is ErrInvalidCost for a cost below 1 or above the burst, and
// nil otherwise: a Redis failure is answered by the fallback.
func (r *Redis) Allow(ctx context.Context, key string, cost int) (bool, time.Duration, error) {
	if cost < 1 || cost > r.rule.Burst {
		return false, 0, fmt.Errorf("%w: %d with %s", ErrInvalidCost, cost, r.rule)
	}
	if !r.cfg.Health.try() {
		return r.cfg.Fallback.Allow(ctx, key, cost)
	}
	if len(key) > maxKeyLength {
		sum := sha256.Sum256([]byte(key))
		key = string(sum[:])
	}
	cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	res, err := gcraScript.Run(cctx, r.cfg.Client, []string{r.cfg.Prefix + key}, r.burst, r.interval*int64(cost)).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected script answer %v", res)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, 0, fmt.Errorf("rate limit: %w", ctx.Err())
		}
		r.cfg.Health.failed(err)
		return r.cfg.Fallback.Allow(ctx, key, cost)
	}
	r.cfg.Health.succeeded()
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(res[1]) * time.Microsecond, nil
}
