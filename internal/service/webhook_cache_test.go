package service_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/cache"
	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
)

// memLink links the cache groups of two services over one store the way Redis links two processes:
// what one signals, the other receives, while the link is up. (The real link is tested against Redis
// in internal/cluster and, end to end, in cmd/concertmaster.)
type memLink struct {
	up         atomic.Bool
	self, peer atomic.Pointer[cache.Group]
}

// set brings the link up or down; like the cluster, it clears its own process's caches each time.
func (l *memLink) set(up bool) {
	if !up {
		l.up.Store(false)
	}
	l.self.Load().Receive(cache.Invalidation{})
	l.up.Store(up)
}

func (l *memLink) SignalInvalidate(inv cache.Invalidation) {
	if p := l.peer.Load(); p != nil && l.up.Load() {
		p.Receive(inv)
	}
}

func (l *memLink) Up() bool { return l.up.Load() }

// twoProcesses returns two services over env's store, each with its own caches, linked by memLinks
// that are up.
func twoProcesses(t *testing.T, env *enginetest.Env) (a, b *service.Service, la, lb *memLink) {
	t.Helper()
	la, lb = &memLink{}, &memLink{}
	ga, gb := cache.NewGroup(la), cache.NewGroup(lb)
	la.self.Store(ga)
	lb.self.Store(gb)
	la.peer.Store(gb)
	lb.peer.Store(ga)
	la.up.Store(true)
	lb.up.Store(true)
	newService := func(g *cache.Group) *service.Service {
		eng, err := engine.New(engine.Config{Store: env.Store, Registry: env.Registry})
		require.NoError(t, err)
		return service.New(service.Config{Store: env.Store, Registry: env.Registry, Engine: eng, Dispatcher: env.Dispatcher, Bus: env.Bus, Caches: g})
	}
	return newService(ga), newService(gb), la, lb
}

// hookDef is a workflow with one webhook trigger on path.
func hookDef(name, path string) string {
	return `{"name":"` + name + `","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"` + path + `","respond":"immediately"}}]}`
}

// open opens POST path on s and returns the target's workflow version, or the error.
func open(s *service.Service, path string) (int, error) {
	target, err := s.OpenWebhook(context.Background(), "POST", path, http.Header{}, nil)
	if err != nil {
		return 0, err
	}
	return target.Route.Version, nil
}

// TestWebhookRouteCache: process A writes, process B answers from its cache until A's write reaches
// it, which is at once for every write that changes routes.
func TestWebhookRouteCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		// write changes the workflow w (active, listening on "<name>/a") through A and returns what B
		// must answer afterwards for "<name>/a" and "<name>/b": a version, or 0 for 404.
		write func(t *testing.T, a *service.Service, w *store.Workflow, name string) (onA, onB int)
	}{
		{name: "Deactivate", write: func(t *testing.T, a *service.Service, w *store.Workflow, _ string) (int, int) {
			_, err := a.SetActive(ctx, tenant, w.ID, false)
			require.NoError(t, err)
			return 0, 0
		}},
		{name: "Delete", write: func(t *testing.T, a *service.Service, w *store.Workflow, _ string) (int, int) {
			require.NoError(t, a.DeleteWorkflow(ctx, tenant, w.ID))
			return 0, 0
		}},
		{name: "UpdateMovesThePath", write: func(t *testing.T, a *service.Service, w *store.Workflow, name string) (int, int) {
			_, err := a.UpdateWorkflow(ctx, tenant, w.ID, w.Version, decode(t, hookDef(name, name+"/b")))
			require.NoError(t, err)
			return 0, 2
		}},
		{name: "UpdateKeepsThePath", write: func(t *testing.T, a *service.Service, w *store.Workflow, name string) (int, int) {
			_, err := a.UpdateWorkflow(ctx, tenant, w.ID, w.Version, decode(t, hookDef(name+"-renamed", name+"/a")))
			require.NoError(t, err)
			return 2, 0
		}},
		{name: "DeactivateThenActivate", write: func(t *testing.T, a *service.Service, w *store.Workflow, _ string) (int, int) {
			_, err := a.SetActive(ctx, tenant, w.ID, false)
			require.NoError(t, err)
			_, err = a.SetActive(ctx, tenant, w.ID, true)
			require.NoError(t, err)
			return 1, 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
			a, b, _, _ := twoProcesses(t, env)
			w := env.Save(t, hookDef(tt.name, tt.name+"/a"))
			w, err := a.SetActive(ctx, tenant, w.ID, true)
			require.NoError(t, err)
			for range 3 {
				v, err := open(b, tt.name+"/a")
				require.NoError(t, err)
				require.Equal(t, 1, v)
			}
			st := b.WebhookCacheStats()
			require.Equal(t, int64(2), st.Hits, "B answers from its cache once it read the route")

			wantA, wantB := tt.write(t, a, w, tt.name)
			for path, want := range map[string]int{tt.name + "/a": wantA, tt.name + "/b": wantB} {
				v, err := open(b, path)
				if want == 0 {
					require.ErrorIs(t, err, store.ErrNotFound, path)
					continue
				}
				require.NoError(t, err, path)
				require.Equal(t, want, v, path)
			}
		})
	}
}

// TestWebhookRouteCacheLinkDown: while B's link is down B reads the store on every request (so A's
// writes, whose signals B cannot hear, show at once), and caches again once it is back.
func TestWebhookRouteCacheLinkDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	a, b, la, lb := twoProcesses(t, env)
	w := env.Save(t, hookDef("down", "down"))
	_, err := a.SetActive(ctx, tenant, w.ID, true)
	require.NoError(t, err)
	_, err = open(b, "down")
	require.NoError(t, err)

	// B's link drops (the cluster clears the caches as it does), and A's signals are lost.
	lb.set(false)
	la.set(false)
	_, err = a.SetActive(ctx, tenant, w.ID, false)
	require.NoError(t, err)
	_, err = open(b, "down")
	require.ErrorIs(t, err, store.ErrNotFound, "B reads the store while its link is down")
	_, err = a.SetActive(ctx, tenant, w.ID, true)
	require.NoError(t, err)
	_, err = open(b, "down")
	require.NoError(t, err)
	require.Positive(t, b.WebhookCacheStats().Bypassed)

	la.set(true)
	lb.set(true)
	hits := b.WebhookCacheStats().Hits
	for range 3 {
		_, err = open(b, "down")
		require.NoError(t, err)
	}
	require.Equal(t, hits+2, b.WebhookCacheStats().Hits, "cached again once the link is up")
}

// TestWebhookRouteCacheKeepsMissesOut: requests for paths nobody listens on are not cached, so they
// neither grow the cache nor push the routes in use out of it.
func TestWebhookRouteCacheKeepsMissesOut(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	activate(t, env, hookDef("hot", "hot"))
	_, err := open(env.Service, "hot")
	require.NoError(t, err)
	for i := range 2000 {
		_, err := open(env.Service, fmt.Sprintf("random/%d", i))
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	before := env.Service.WebhookCacheStats()
	_, err = open(env.Service, "hot")
	require.NoError(t, err)
	after := env.Service.WebhookCacheStats()
	require.Equal(t, before.Hits+1, after.Hits, "the route in use is still cached")
	require.Equal(t, int64(2001), after.Misses, "each unknown path went to the store")
}

// TestWebhookRouteCacheChecksAuthenticationEveryTime: a cached route still authenticates each request.
func TestWebhookRouteCacheChecksAuthenticationEveryTime(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	activate(t, env, `{"name":"auth","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"auth",
		"auth":{"type":"header","name":"X-Token","value":"a-long-shared-secret-0123456789"}}}]}`)
	good := http.Header{"X-Token": {"a-long-shared-secret-0123456789"}}
	for range 3 {
		_, err := env.Service.OpenWebhook(context.Background(), "POST", "auth", good, nil)
		require.NoError(t, err)
		_, err = env.Service.OpenWebhook(context.Background(), "POST", "auth", http.Header{"X-Token": {"wrong"}}, nil)
		require.Error(t, err)
	}
	require.Equal(t, int64(5), env.Service.WebhookCacheStats().Hits)
}
