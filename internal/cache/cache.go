// Package cache keeps a process's hot reads — the active webhook routes, members' roles, API keys —
// in bounded in-process caches that every write invalidates at once: in this process directly, and
// in the other processes of a deployment through a Link (Redis, ADR 0024).
//
// The store stays the source of truth. A cache only ever holds what a read of the store returned,
// tagged with the tenant (and a key within it: a workflow, a user, an API key) it belongs to, so that
// a write invalidates by tenant and key without knowing which cache keys it touched. Three rules keep
// a cache from serving a stale value for longer than TTL whatever happens to the link:
//
//   - A value read before an invalidation of its scope is never stored (Ticket, Put).
//   - While the link is down, or before it first connects, every read bypasses the caches of the
//     process; the link going down and coming back each clear them (Group.Receive of the zero
//     Invalidation).
//   - Every entry expires TTL after it was stored: the bound when an invalidation is lost on its way
//     (the writing process's link was down while the reading process's was up).
//
// Lookups that find nothing are never cached: a client asking for random webhook paths or keys costs
// one store read each, as without the cache, and cannot fill memory or evict the hot entries.
package cache

import (
	"cmp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// Scope names what a cache holds, so that an invalidation reaches only the caches it concerns.
type Scope string

// The scopes of the caches of a process.
const (
	// ScopeWebhooks holds active webhook routes (method and path → route and trigger), keyed within
	// a tenant by workflow id.
	ScopeWebhooks Scope = "webhooks"
	// ScopeRoles holds members' roles, keyed within a tenant by user id.
	ScopeRoles Scope = "roles"
	// ScopeAPIKeys holds API keys by their hash, keyed within a tenant by key id.
	ScopeAPIKeys Scope = "apikeys"
)

// Defaults for Config.
const (
	// MaxEntriesDefault bounds the entries of a cache.
	MaxEntriesDefault = 10_000
	// TTLDefault is how long an entry is served at most: how long a process may go on serving a value
	// that changed in another process when the invalidation did not reach it.
	TTLDefault = 5 * time.Second
)

// Invalidation says that values a cache may hold changed in the store.
type Invalidation struct {
	Scope    Scope
	TenantID string
	// Key narrows the invalidation to the entries of one workflow, user or API key of the tenant;
	// empty means every entry of the tenant in Scope.
	Key string
}

// All reports whether inv is the zero Invalidation, which drops every entry of every cache: the link
// went down or came back, and anything may have changed meanwhile.
func (inv Invalidation) All() bool { return inv == Invalidation{} }

// Link carries invalidations between the processes of a deployment (cluster.Cluster).
type Link interface {
	// SignalInvalidate tells the other processes of inv. It must not block; a signal it cannot send
	// is lost, and the other processes' entries then expire within their TTL.
	SignalInvalidate(inv Invalidation)
	// Up reports whether the other processes' invalidations reach this process. While it is false the
	// caches are bypassed.
	Up() bool
}

// Group is the set of caches of one process and their link to the other processes. Writers call
// Changed; the link calls Receive. A nil Link means a single process: its own writes are the only
// ones, and the caches are always used. It is safe for concurrent use.
type Group struct {
	link Link

	mu     sync.RWMutex
	caches map[Scope][]invalidator

	received atomic.Int64
}

// invalidator is a Cache of any value type.
type invalidator interface {
	invalidate(inv Invalidation)
}

// NewGroup returns a Group linked to the other processes by link (nil: a single process).
func NewGroup(link Link) *Group {
	return &Group{link: link, caches: map[Scope][]invalidator{}}
}

// Changed invalidates inv in this process and signals it to the others. Call it after the write that
// changed the store returned, committed or not: an invalidation too many costs one store read.
func (g *Group) Changed(inv Invalidation) {
	g.apply(inv)
	if g.link != nil && !inv.All() {
		g.link.SignalInvalidate(inv)
	}
}

// Receive applies an invalidation that another process signalled, or the zero Invalidation the link
// hands over when it goes down or comes back (before it reports Up again). Scopes without a cache
// in this process are ignored.
func (g *Group) Receive(inv Invalidation) {
	g.received.Add(1)
	g.apply(inv)
}

// Received counts the invalidations Receive applied.
func (g *Group) Received() int64 { return g.received.Load() }

func (g *Group) apply(inv Invalidation) {
	g.mu.RLock()
	var targets []invalidator
	if inv.All() {
		for _, cs := range g.caches {
			targets = append(targets, cs...)
		}
	} else {
		targets = g.caches[inv.Scope]
	}
	g.mu.RUnlock()
	for _, c := range targets {
		c.invalidate(inv)
	}
}

// coherent reports whether the other processes' invalidations reach this one.
func (g *Group) coherent() bool { return g.link == nil || g.link.Up() }

func (g *Group) add(scope Scope, c invalidator) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.caches[scope] = append(g.caches[scope], c)
}

// Config configures a Cache.
type Config struct {
	// Scope is what the cache holds; invalidations of this scope reach it (required).
	Scope Scope
	// MaxEntries bounds the number of entries (default MaxEntriesDefault); beyond it the least
	// useful ones are evicted.
	MaxEntries int
	// TTL is how long an entry is served at most after it was stored (default TTLDefault).
	TTL time.Duration
}

// Stats are a cache's counters since it was made.
type Stats struct {
	// Hits counts the lookups answered from the cache.
	Hits int64
	// Misses counts the lookups that found nothing, and Bypassed those that did not look because the
	// link was down: both went to the store.
	Misses, Bypassed int64
	// Invalidations counts the invalidations applied to the cache.
	Invalidations int64
}

// Cache is a bounded cache of string keys to values of type V, each tagged with the tenant and the
// key within the tenant it belongs to. Values are shared between callers: they must not be modified
// once stored. It is safe for concurrent use.
type Cache[V any] struct {
	group *Group
	c     *otter.Cache[string, entry[V]]

	// mu orders Put against invalidate: a Put holds it shared while it checks its ticket and
	// stores, an invalidation exclusively while it moves gen on and drops entries.
	mu  sync.RWMutex
	gen atomic.Uint64

	hits, misses, bypassed, invalidations atomic.Int64
}

type entry[V any] struct {
	tenantID, key string
	value         V
}

// New returns a cache of g for cfg. It panics when cfg has no scope (a programming error).
func New[V any](g *Group, cfg Config) *Cache[V] {
	if cfg.Scope == "" {
		panic("cache: a Scope is required")
	}
	maxEntries := cmp.Or(cfg.MaxEntries, MaxEntriesDefault)
	c := &Cache[V]{group: g, c: otter.Must(&otter.Options[string, entry[V]]{
		MaximumSize:      max(maxEntries, 1),
		ExpiryCalculator: otter.ExpiryWriting[string, entry[V]](cmp.Or(cfg.TTL, TTLDefault)),
	})}
	g.add(cfg.Scope, c)
	return c
}

// Get returns the value stored under k. It finds nothing while the link is down.
func (c *Cache[V]) Get(k string) (V, bool) {
	if !c.group.coherent() {
		c.bypassed.Add(1)
		var zero V
		return zero, false
	}
	e, ok := c.c.GetIfPresent(k)
	if !ok {
		c.misses.Add(1)
		return e.value, false
	}
	c.hits.Add(1)
	return e.value, true
}

// Ticket is the state of a cache taken before a read of the store, so that Put can tell whether an
// invalidation came in between.
type Ticket struct{ gen uint64 }

// Ticket returns the cache's state; take it before reading the value to Put.
func (c *Cache[V]) Ticket() Ticket { return Ticket{gen: c.gen.Load()} }

// Put stores v under k, tagged with the tenant and key it belongs to, unless an invalidation of the
// cache's scope happened since t was taken (v may be stale) or the link is down.
func (c *Cache[V]) Put(t Ticket, k, tenantID, key string, v V) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen.Load() != t.gen || !c.group.coherent() {
		return
	}
	c.c.Set(k, entry[V]{tenantID: tenantID, key: key, value: v})
}

// Delete drops the entry under k in this process only (an entry found unusable, such as an expired
// API key).
func (c *Cache[V]) Delete(k string) { c.c.Invalidate(k) }

// Len returns the number of entries (an estimate while evictions are pending).
func (c *Cache[V]) Len() int { return c.c.EstimatedSize() }

// Stats returns the cache's counters.
func (c *Cache[V]) Stats() Stats {
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Bypassed: c.bypassed.Load(), Invalidations: c.invalidations.Load()}
}

// invalidate drops the entries inv names; every Put holding an older ticket is refused from now on.
func (c *Cache[V]) invalidate(inv Invalidation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.invalidations.Add(1)
	if inv.All() {
		c.c.InvalidateAll()
		return
	}
	var drop []string
	for k, e := range c.c.All() {
		if e.tenantID == inv.TenantID && (inv.Key == "" || e.key == inv.Key) {
			drop = append(drop, k)
		}
	}
	for _, k := range drop {
		c.c.Invalidate(k)
	}
}
