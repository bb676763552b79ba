package cache_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/cache"
)

// link is a cache.Link whose state the test sets, recording what it is asked to send.
type link struct {
	up   atomic.Bool
	mu   sync.Mutex
	sent []cache.Invalidation
}

func (l *link) SignalInvalidate(inv cache.Invalidation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, inv)
}

func (l *link) Up() bool { return l.up.Load() }

func (l *link) signalled() []cache.Invalidation {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]cache.Invalidation(nil), l.sent...)
}

type testBundle struct {
	link  *link
	group *cache.Group
	hooks *cache.Cache[string]
	roles *cache.Cache[string]
}

func setup(t *testing.T, cfg cache.Config) *testBundle {
	t.Helper()
	l := &link{}
	l.up.Store(true)
	g := cache.NewGroup(l)
	cfg.Scope = cache.ScopeWebhooks
	return &testBundle{link: l, group: g, hooks: cache.New[string](g, cfg), roles: cache.New[string](g, cache.Config{Scope: cache.ScopeRoles})}
}

// put stores v under k the way a reader does: ticket, (read), put.
func put(c *cache.Cache[string], k, tenantID, key, v string) {
	c.Put(c.Ticket(), k, tenantID, key, v)
}

func TestInvalidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		inv  cache.Invalidation
		// kept lists the hook entries left afterwards.
		kept []string
	}{
		{name: "All", inv: cache.Invalidation{}, kept: nil},
		{name: "OtherScope", inv: cache.Invalidation{Scope: cache.ScopeAPIKeys, TenantID: "t1"}, kept: []string{"a", "b", "c"}},
		{name: "OtherTenant", inv: cache.Invalidation{Scope: cache.ScopeWebhooks, TenantID: "t3"}, kept: []string{"a", "b", "c"}},
		{name: "Tenant", inv: cache.Invalidation{Scope: cache.ScopeWebhooks, TenantID: "t1"}, kept: []string{"c"}},
		{name: "TenantAndKey", inv: cache.Invalidation{Scope: cache.ScopeWebhooks, TenantID: "t1", Key: "w1"}, kept: []string{"b", "c"}},
		{name: "UnknownKey", inv: cache.Invalidation{Scope: cache.ScopeWebhooks, TenantID: "t1", Key: "w9"}, kept: []string{"a", "b", "c"}},
		{name: "KeyOfAnotherTenant", inv: cache.Invalidation{Scope: cache.ScopeWebhooks, TenantID: "t2", Key: "w1"}, kept: []string{"a", "b"}},
		{name: "KeyOfAnotherTenantOnly", inv: cache.Invalidation{Scope: cache.ScopeWebhooks, TenantID: "t2", Key: "w2"}, kept: []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		for _, remote := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "Local", true: "Remote"}[remote], func(t *testing.T) {
				t.Parallel()
				b := setup(t, cache.Config{})
				put(b.hooks, "a", "t1", "w1", "A")
				put(b.hooks, "b", "t1", "w2", "B")
				put(b.hooks, "c", "t2", "w1", "C")
				put(b.roles, "r", "t1", "u1", "editor")
				if remote {
					b.group.Receive(tt.inv)
					require.Empty(t, b.link.signalled(), "a received invalidation is not sent back")
				} else {
					b.group.Changed(tt.inv)
					if tt.inv.All() {
						require.Empty(t, b.link.signalled(), "everything is never signalled")
					} else {
						require.Equal(t, []cache.Invalidation{tt.inv}, b.link.signalled())
					}
				}
				var kept []string
				for _, k := range []string{"a", "b", "c"} {
					if v, ok := b.hooks.Get(k); ok {
						require.Equal(t, map[string]string{"a": "A", "b": "B", "c": "C"}[k], v)
						kept = append(kept, k)
					}
				}
				require.Equal(t, tt.kept, kept)
				_, ok := b.roles.Get("r")
				require.Equal(t, !tt.inv.All(), ok, "the roles cache is touched only by everything")
			})
		}
	}
}

func TestPutAfterInvalidationIsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		inv  cache.Invalidation
		kept bool
	}{
		// Any invalidation of the scope refuses older tickets, even one of another tenant: the
		// reader does not know what it read against.
		{name: "SameTenant", inv: cache.Invalidation{Scope: cache.ScopeWebhooks, TenantID: "t1", Key: "w1"}},
		{name: "OtherTenant", inv: cache.Invalidation{Scope: cache.ScopeWebhooks, TenantID: "t2"}},
		{name: "All", inv: cache.Invalidation{}},
		{name: "OtherScope", inv: cache.Invalidation{Scope: cache.ScopeRoles, TenantID: "t1"}, kept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, cache.Config{})
			ticket := b.hooks.Ticket() // a reader is about to read the store…
			b.group.Receive(tt.inv)    // …and a write commits and is signalled meanwhile
			b.hooks.Put(ticket, "a", "t1", "w1", "stale")
			_, ok := b.hooks.Get("a")
			require.Equal(t, tt.kept, ok)
			// A new read (new ticket) is stored.
			put(b.hooks, "a", "t1", "w1", "fresh")
			v, ok := b.hooks.Get("a")
			require.True(t, ok)
			require.Equal(t, "fresh", v)
		})
	}
}

func TestLinkDownBypasses(t *testing.T) {
	t.Parallel()
	b := setup(t, cache.Config{})
	put(b.hooks, "a", "t1", "w1", "A")
	_, ok := b.hooks.Get("a")
	require.True(t, ok)

	// The link goes down: reads bypass the cache, and nothing is stored.
	b.link.up.Store(false)
	b.group.Receive(cache.Invalidation{})
	_, ok = b.hooks.Get("a")
	require.False(t, ok)
	put(b.hooks, "a", "t1", "w1", "A")
	b.link.up.Store(true)
	_, ok = b.hooks.Get("a")
	require.False(t, ok, "what was read while the link was down is not kept")
	require.Equal(t, int64(1), b.group.Received())

	put(b.hooks, "a", "t1", "w1", "A")
	_, ok = b.hooks.Get("a")
	require.True(t, ok)
	st := b.hooks.Stats()
	require.Equal(t, cache.Stats{Hits: 2, Misses: 1, Bypassed: 1, Invalidations: 1}, st)
}

func TestSingleProcessNeedsNoLink(t *testing.T) {
	t.Parallel()
	g := cache.NewGroup(nil)
	c := cache.New[int](g, cache.Config{Scope: cache.ScopeAPIKeys})
	c.Put(c.Ticket(), "k", "t1", "key1", 7)
	v, ok := c.Get("k")
	require.True(t, ok)
	require.Equal(t, 7, v)
	g.Changed(cache.Invalidation{Scope: cache.ScopeAPIKeys, TenantID: "t1", Key: "key1"})
	_, ok = c.Get("k")
	require.False(t, ok)
	c.Put(c.Ticket(), "k", "t1", "key1", 8)
	c.Delete("k")
	_, ok = c.Get("k")
	require.False(t, ok)
}

func TestEntriesExpire(t *testing.T) {
	t.Parallel()
	b := setup(t, cache.Config{TTL: 50 * time.Millisecond})
	put(b.hooks, "a", "t1", "w1", "A")
	_, ok := b.hooks.Get("a")
	require.True(t, ok)
	require.Eventually(t, func() bool { _, ok := b.hooks.Get("a"); return !ok }, 5*time.Second, 10*time.Millisecond,
		"an entry whose invalidation was lost is served for TTL at most")
}

func TestBounded(t *testing.T) {
	t.Parallel()
	b := setup(t, cache.Config{MaxEntries: 100})
	for i := range 10_000 {
		put(b.hooks, strconv.Itoa(i), "t1", "w"+strconv.Itoa(i), "v")
	}
	require.Eventually(t, func() bool { return b.hooks.Len() <= 100 }, 5*time.Second, 10*time.Millisecond)
}

func TestNewWithoutScopePanics(t *testing.T) {
	t.Parallel()
	require.Panics(t, func() { cache.New[int](cache.NewGroup(nil), cache.Config{}) })
}

// TestConcurrentInvalidationNeverLeavesStale races readers that read a versioned source and store
// what they read against writers that bump the version and invalidate: once the writers stop, no
// entry holds an old version.
func TestConcurrentInvalidationNeverLeavesStale(t *testing.T) {
	t.Parallel()
	b := setup(t, cache.Config{})
	c := cache.New[int64](b.group, cache.Config{Scope: cache.ScopeAPIKeys})
	var version atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := "k" + strconv.Itoa(r%4)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, ok := c.Get(k); ok {
					continue
				}
				ticket := c.Ticket()
				v := version.Load() // the store read
				c.Put(ticket, k, "t1", "key", v)
			}
		}()
	}
	for range 300 {
		version.Add(1)                                                                 // the write commits…
		b.group.Changed(cache.Invalidation{Scope: cache.ScopeAPIKeys, TenantID: "t1"}) // …then is signalled
	}
	close(stop)
	wg.Wait()
	final := version.Load()
	for r := range 4 {
		if v, ok := c.Get("k" + strconv.Itoa(r)); ok {
			require.Equal(t, final, v, "a value read before the last write survived it")
		}
	}
}
