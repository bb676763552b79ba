package redisnode_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/listen"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// TestWorkflows runs the Redis node types the way the server does: a credential in the vault (an ACL
// user with a password), saved workflows whose keys and values are expressions, and a stream trigger
// run by the listening-trigger manager, every entry becoming a durable execution.
func TestWorkflows(t *testing.T) {
	t.Parallel()
	conntest.ServerURL(t, "CM_TEST_REDIS_URL", "127.0.0.1:6379")
	ctx := context.Background()
	raw := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = raw.Close() })
	var sfx [6]byte
	_, err := rand.Read(sfx[:])
	require.NoError(t, err)
	prefix := "cmtest:wf:" + hex.EncodeToString(sfx[:]) + ":"
	user, password := "cmtest-wf-"+hex.EncodeToString(sfx[:]), "pw-"+hex.EncodeToString(sfx[:])+"-secret"
	require.NoError(t, raw.Do(ctx, "ACL", "SETUSER", user, "on", ">"+password, "~"+prefix+"*", "+@all").Err())
	t.Cleanup(func() {
		_ = raw.Do(context.Background(), "ACL", "DELUSER", user).Err()
		keys, _ := raw.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			_ = raw.Del(context.Background(), keys...).Err()
		}
	})
	env := enginetest.Start(t, enginetest.Options{})
	cred, err := env.Credentials.Create(ctx, store.DefaultTenant, "cache", "redis",
		map[string]any{"host": "127.0.0.1", "port": 6379, "username": user, "password": password})
	require.NoError(t, err)

	t.Run("Commands", func(t *testing.T) {
		def := map[string]any{"name": "redis commands", "nodes": []any{
			map[string]any{"id": "start", "type": "trigger.manual"},
			map[string]any{"id": "set", "type": "redis.command", "config": map[string]any{"credential": cred.ID, "operation": "set",
				"key": prefix + "order:{{ trigger.id }}", "value": "{{ trigger }}", "ttl": "1h"}},
			map[string]any{"id": "get", "type": "redis.command", "config": map[string]any{"credential": cred.ID, "operation": "get",
				"key": prefix + "order:{{ trigger.id }}", "parseJson": true}},
			map[string]any{"id": "count", "type": "redis.command", "config": map[string]any{"credential": cred.ID, "operation": "incr",
				"key": prefix + "count", "by": "{{ nodes.get.output.value.qty }}"}},
		}, "edges": []any{
			map[string]any{"source": "start", "target": "set"}, map[string]any{"source": "set", "target": "get"},
			map[string]any{"source": "get", "target": "count"},
		}}
		b, err := json.Marshal(def)
		require.NoError(t, err)
		w := env.Save(t, string(b))
		exec := env.Run(t, w.ID, `{"id": "A-1", "qty": 3, "note": "'; FLUSHALL\r\n"}`)
		runs := env.Runs(t, exec.ID)
		require.Equal(t, workflow.ExecutionSucceeded, exec.Status, "%+v", runs)
		var got, count map[string]any
		require.NoError(t, json.Unmarshal(runs["get"].Output, &got))
		require.Equal(t, map[string]any{"id": "A-1", "qty": 3.0, "note": "'; FLUSHALL\r\n"}, got["value"])
		require.NoError(t, json.Unmarshal(runs["count"].Output, &count))
		require.InDelta(t, 3, count["value"], 0)
		for _, r := range runs {
			require.NotContains(t, string(r.Output), password)
		}
	})

	t.Run("StreamTrigger", func(t *testing.T) {
		m, err := listen.New(listen.Config{Store: env.Store, Registry: env.Registry, Firer: env.Service, Credentials: env.Credentials,
			PollInterval: time.Hour, BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond})
		require.NoError(t, err)
		require.NoError(t, m.Start(ctx))
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, m.Stop(sctx))
		})
		stream := prefix + "events"
		def := map[string]any{"name": "redis stream", "nodes": []any{
			map[string]any{"id": "entry", "type": "trigger.redis_stream", "config": map[string]any{"credential": cred.ID,
				"stream": stream, "group": "cm", "startFrom": "beginning", "dedupeKey": "{{ trigger.id }}"}},
			map[string]any{"id": "push", "type": "redis.command", "config": map[string]any{"credential": cred.ID, "operation": "rpush",
				"key": prefix + "seen", "value": "{{ trigger.fields.n }}"}},
		}, "edges": []any{map[string]any{"source": "entry", "target": "push"}}}
		b, err := json.Marshal(def)
		require.NoError(t, err)
		w := env.Save(t, string(b))
		_, err = env.Service.SetActive(ctx, store.DefaultTenant, w.ID, true)
		require.NoError(t, err)
		m.Reconcile()
		const n = 50
		for i := range n {
			require.NoError(t, raw.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"n": strconv.Itoa(i)}}).Err())
		}
		require.Eventually(t, func() bool {
			l, err := raw.LLen(ctx, prefix+"seen").Result()
			return err == nil && l == n
		}, 30*time.Second, 20*time.Millisecond)
		page, err := env.Store.ListExecutions(ctx, store.DefaultTenant, store.ListExecutionsParams{WorkflowID: w.ID, Limit: 500})
		require.NoError(t, err)
		require.Len(t, page.Items, n)
		for _, x := range page.Items {
			require.Equal(t, store.TriggerMessage, x.TriggerKind)
		}
		require.Eventually(t, func() bool {
			p, err := raw.XPending(ctx, stream, "cm").Result()
			return err == nil && p.Count == 0
		}, 10*time.Second, 20*time.Millisecond, "every entry is acknowledged")
		seen, err := raw.LRange(ctx, prefix+"seen", 0, -1).Result()
		require.NoError(t, err)
		require.Len(t, seen, n)
		require.False(t, strings.Contains(strings.Join(seen, ","), password))
	})
}
