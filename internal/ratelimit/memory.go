package ratelimit

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// DefaultMaxKeys is the number of keys a Memory limiter tracks at most unless configured otherwise:
// about 10 MB with keys of 40 bytes (see TestMemoryBoundedWithMillionKeys).
const DefaultMaxKeys = 100_000

// maxKeyLength is the longest key kept as it is; longer keys are replaced by their SHA-256 so that
// the memory bound does not depend on what callers pass.
const maxKeyLength = 64

// shardCount spreads keys over independently locked maps so that concurrent callers rarely wait.
const shardCount = 32

// evictSample is how many entries are looked at to pick one to evict when a shard is full.
const evictSample = 8

// MemoryConfig configures a Memory limiter.
type MemoryConfig struct {
	// MaxKeys bounds the keys tracked at once; zero means DefaultMaxKeys. When full, a key back at
	// full allowance is dropped first (forgetting it changes nothing); failing that, the stalest of a
	// few sampled keys (the one closest to full allowance) is, which hands it back its allowance
	// early: under a flood of distinct keys beyond MaxKeys the limit of an individual key weakens
	// rather than memory growing.
	MaxKeys int
	// Now returns the current time; nil means time.Now. Tests inject a fake clock here.
	Now func() time.Time
}

// Memory is an in-process Limiter: GCRA (the generic cell rate algorithm) per key, which keeps one
// timestamp per key, the theoretical arrival time (TAT) of the next unit. It is safe for concurrent
// use. Its limits are per process: several processes each allow the full rate.
type Memory struct {
	rule     Rule
	interval time.Duration
	burst    time.Duration // how far TAT may run ahead of now
	now      func() time.Time
	base     time.Time // TATs are durations since base, so the map holds plain integers
	seed     maphash.Seed
	perShard int
	shards   [shardCount]shard
}

type shard struct {
	mu        sync.Mutex
	tat       map[string]time.Duration
	lastSweep time.Duration
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an in-memory limiter applying rule to every key.
func NewMemory(rule Rule, cfg MemoryConfig) (*Memory, error) {
	if err := rule.Validate(); err != nil {
		return nil, err
	}
	maxKeys := cmp.Or(cfg.MaxKeys, DefaultMaxKeys)
	if maxKeys < shardCount {
		return nil, fmt.Errorf("rate limiter: max keys %d: want at least %d", maxKeys, shardCount)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	m := &Memory{
		rule:     rule,
		interval: rule.interval(),
		burst:    rule.interval() * time.Duration(rule.Burst),
		now:      now,
		base:     now(),
		seed:     maphash.MakeSeed(),
		perShard: maxKeys / shardCount,
	}
	for i := range m.shards {
		m.shards[i].tat = make(map[string]time.Duration)
	}
	return m, nil
}

// Rule returns the limiter's rule.
func (m *Memory) Rule() Rule { return m.rule }

// Allow implements Limiter. The context is not used: nothing blocks. The error is ErrInvalidCost for
// a cost below 1 or above the burst, and nil otherwise.
func (m *Memory) Allow(_ context.Context, key string, cost int) (bool, time.Duration, error) {
	if cost < 1 || cost > m.rule.Burst {
		return false, 0, fmt.Errorf("%w: %d with %s", ErrInvalidCost, cost, m.rule)
	}
	if len(key) > maxKeyLength {
		sum := sha256.Sum256([]byte(key))
		key = string(sum[:])
	}
	now := m.now().Sub(m.base)
	increment := m.interval * time.Duration(cost)

	s := &m.shards[maphash.String(m.seed, key)%shardCount]
	s.mu.Lock()
	defer s.mu.Unlock()
	tat, known := s.tat[key]
	tat = max(tat, now)
	newTAT := tat + increment
	if wait := newTAT - m.burst - now; wait > 0 {
		return false, wait, nil
	}
	if !known && len(s.tat) >= m.perShard {
		s.makeRoom(now, m.interval, m.perShard)
	}
	s.tat[key] = newTAT
	return true, 0, nil
}

// makeRoom frees at least one entry of a full shard: first every key back at full allowance (at most
// once per emission interval, since none can have come back sooner), then if none was, the entry with
// the oldest TAT among a few that map iteration yields (its order is randomised).
func (s *shard) makeRoom(now, interval time.Duration, limit int) {
	if now-s.lastSweep >= interval {
		s.lastSweep = now
		for k, tat := range s.tat {
			if tat <= now {
				delete(s.tat, k)
			}
		}
		if len(s.tat) < limit {
			return
		}
	}
	victim, oldest, n := "", time.Duration(0), 0
	for k, tat := range s.tat {
		if n == 0 || tat < oldest {
			victim, oldest = k, tat
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(s.tat, victim)
}

// Len returns the number of keys tracked, for tests and metrics.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}
