package redisnode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

// testBundle is what a test against the real Redis needs.
type testBundle struct {
	creds  *conntest.Credentials
	credID string
	host   string
	port   int
	cfg    conn.Config
	// raw is a plain client to prepare and check data.
	raw *redis.Client
	// prefix starts every key the test uses; cleanup deletes them.
	prefix string
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	u, err := url.Parse(conntest.ServerURL(t, "CM_TEST_REDIS_URL", "127.0.0.1:6379"))
	require.NoError(t, err)
	port, err := strconv.Atoi(cmpOr(u.Port(), "6379"))
	require.NoError(t, err)
	b := &testBundle{creds: conntest.NewCredentials(), host: u.Hostname(), port: port, cfg: conntest.Config(),
		prefix: "cmtest:" + randomSuffix(t) + ":"}
	b.credID = b.creds.Add(t, "redis", map[string]any{"host": b.host, "port": float64(port)})
	b.raw = redis.NewClient(&redis.Options{Addr: net.JoinHostPort(b.host, strconv.Itoa(port))})
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := b.raw.Keys(ctx, b.prefix+"*").Result()
		if len(keys) > 0 {
			_ = b.raw.Del(ctx, keys...).Err()
		}
		_ = b.raw.Close()
	})
	return b
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func randomSuffix(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return hex.EncodeToString(b[:])
}

// command returns a redis.command node of the shared s holding config.
func command(t testing.TB, s *shared, config map[string]any) *Command {
	t.Helper()
	typ := commandType(t, s)
	n, err := typ.Instantiate(config, false)
	require.NoError(t, err)
	return n.(*Command)
}

// commandType registers redis.command of s in a fresh registry, which checks its schema.
func commandType(t testing.TB, s *shared) *node.Type {
	t.Helper()
	r := node.NewRegistry()
	require.NoError(t, r.Register(&Command{shared: s}))
	typ, ok := r.Lookup(CommandType)
	require.True(t, ok)
	return typ
}

// run executes config with b's credential and returns the output value.
func (b *testBundle) run(t *testing.T, s *shared, config map[string]any) (map[string]any, error) {
	t.Helper()
	config["credential"] = b.credID
	out, err := command(t, s, config).Execute(context.Background(), conntest.Input(b.creds, nil))
	if err != nil {
		return nil, err
	}
	require.Equal(t, "out", out.Port)
	return out.Value.(map[string]any), nil
}

func (b *testBundle) mustRun(t *testing.T, s *shared, config map[string]any) map[string]any {
	t.Helper()
	out, err := b.run(t, s, config)
	require.NoError(t, err)
	return out
}

func errCode(t *testing.T, err error) string {
	t.Helper()
	require.Error(t, err)
	var ne *node.Error
	require.ErrorAs(t, err, &ne, "%v", err)
	return ne.Code
}

func TestCommand(t *testing.T) {
	t.Parallel()

	t.Run("AuthFailedIsPermanent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		user := "cmtest-" + randomSuffix(t)
		require.NoError(t, b.raw.Do(ctx, "ACL", "SETUSER", user, "on", ">right-password", "~*", "+@all").Err())
		t.Cleanup(func() { _ = b.raw.Do(context.Background(), "ACL", "DELUSER", user).Err() })
		s := newShared(b.cfg)
		good := b.creds.Add(t, "redis", map[string]any{"host": b.host, "port": float64(b.port), "username": user, "password": "right-password"})
		out, err := command(t, s, map[string]any{"credential": good, "operation": "set", "key": b.prefix + "auth", "value": "x"}).
			Execute(ctx, conntest.Input(b.creds, nil))
		require.NoError(t, err)
		require.Equal(t, true, out.Value.(map[string]any)["written"])

		bad := b.creds.Add(t, "redis", map[string]any{"host": b.host, "port": float64(b.port), "username": user, "password": "wrong-password"})
		_, err = command(t, s, map[string]any{"credential": bad, "operation": "get", "key": b.prefix + "auth"}).
			Execute(ctx, conntest.Input(b.creds, nil))
		require.Equal(t, CodeAuthFailed, errCode(t, err))
		require.True(t, node.IsPermanent(err))
		require.NotContains(t, err.Error(), "wrong-password")

		_, err = s.test(ctx, &node.Credential{ID: "x", Type: "redis", Data: map[string]any{"host": b.host, "port": b.port, "username": user, "password": "wrong-password"}})
		require.Equal(t, CodeAuthFailed, errCode(t, err))
	})

	t.Run("HostileKeysAndValues", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := newShared(b.cfg)
		sentinel := b.prefix + "sentinel"
		b.mustRun(t, s, map[string]any{"operation": "set", "key": sentinel, "value": "still here"})
		hostile := []string{
			"a key with spaces",
			"crlf\r\nFLUSHALL\r\n",
			"*3\r\n$3\r\nDEL\r\n$1\r\n*\r\n",
			"nul\x00byte",
			"ünïcödé 🔑",
			strings.Repeat("k", 10000),
			"*", "?", "[a-z]",
		}
		for i, h := range hostile {
			key := b.prefix + h
			value := "value " + h + " " + strconv.Itoa(i)
			b.mustRun(t, s, map[string]any{"operation": "set", "key": key, "value": value})
			got := b.mustRun(t, s, map[string]any{"operation": "get", "key": key})
			require.Equal(t, value, got["value"], "key %q", h)
			b.mustRun(t, s, map[string]any{"operation": "hset", "key": key + ":h", "fields": map[string]any{h: h}})
			got = b.mustRun(t, s, map[string]any{"operation": "hget", "key": key + ":h", "field": h})
			require.Equal(t, h, got["value"])
		}
		got := b.mustRun(t, s, map[string]any{"operation": "get", "key": sentinel})
		require.Equal(t, "still here", got["value"])
		// A glob in a key is data: delete removes that key only.
		got = b.mustRun(t, s, map[string]any{"operation": "delete", "key": b.prefix + "*"})
		require.EqualValues(t, 1, got["deleted"])
		got = b.mustRun(t, s, map[string]any{"operation": "exists", "key": sentinel})
		require.Equal(t, true, got["exists"])
	})

	t.Run("LoopbackRefusedByStrictPolicy", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.run(t, newShared(conntest.StrictConfig()), map[string]any{"operation": "get", "key": b.prefix + "x"})
		require.Equal(t, conn.CodeSSRFBlocked, errCode(t, err))
		require.True(t, node.IsPermanent(err))

		_, err = (&shared{cfg: conntest.StrictConfig()}).test(context.Background(),
			&node.Credential{ID: "x", Type: "redis", Data: map[string]any{"host": b.host, "port": b.port}})
		require.Equal(t, conn.CodeSSRFBlocked, errCode(t, err))
	})

	t.Run("Operations", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := newShared(b.cfg)
		k := func(name string) string { return b.prefix + name }
		tests := []struct {
			name   string
			config map[string]any
			want   map[string]any
		}{
			{"GetMissing", map[string]any{"operation": "get", "key": k("missing")}, map[string]any{"key": k("missing"), "value": nil, "exists": false}},
			{"SetString", map[string]any{"operation": "set", "key": k("s"), "value": "hello"}, map[string]any{"key": k("s"), "written": true}},
			{"GetString", map[string]any{"operation": "get", "key": k("s")}, map[string]any{"key": k("s"), "value": "hello", "exists": true}},
			{"SetObjectAsJSON", map[string]any{"operation": "set", "key": k("o"), "value": map[string]any{"a": 1.0, "b": []any{true}}}, map[string]any{"key": k("o"), "written": true}},
			{"GetJSONText", map[string]any{"operation": "get", "key": k("o")}, map[string]any{"key": k("o"), "value": `{"a":1,"b":[true]}`, "exists": true}},
			{"GetParsed", map[string]any{"operation": "get", "key": k("o"), "parseJson": true}, map[string]any{"key": k("o"), "value": map[string]any{"a": 1.0, "b": []any{true}}, "exists": true}},
			{"GetParsedNotJSON", map[string]any{"operation": "get", "key": k("s"), "parseJson": true}, map[string]any{"key": k("s"), "value": "hello", "exists": true}},
			{"SetNXExisting", map[string]any{"operation": "set", "key": k("s"), "value": "other", "ifNotExists": true}, map[string]any{"key": k("s"), "written": false}},
			{"SetNXNew", map[string]any{"operation": "set", "key": k("nx"), "value": 5.0, "ifNotExists": true}, map[string]any{"key": k("nx"), "written": true}},
			{"Incr", map[string]any{"operation": "incr", "key": k("nx")}, map[string]any{"key": k("nx"), "value": int64(6)}},
			{"IncrBy", map[string]any{"operation": "incr", "key": k("nx"), "by": -10.0}, map[string]any{"key": k("nx"), "value": int64(-4)}},
			{"Exists", map[string]any{"operation": "exists", "key": k("nx")}, map[string]any{"key": k("nx"), "exists": true}},
			{"TTLNone", map[string]any{"operation": "ttl", "key": k("nx")}, map[string]any{"key": k("nx"), "exists": true, "ttl": nil}},
			{"TTLMissing", map[string]any{"operation": "ttl", "key": k("missing")}, map[string]any{"key": k("missing"), "exists": false, "ttl": nil}},
			{"ExpireMissing", map[string]any{"operation": "expire", "key": k("missing"), "ttl": "10s"}, map[string]any{"key": k("missing"), "exists": false}},
			{"Delete", map[string]any{"operation": "delete", "key": k("nx")}, map[string]any{"key": k("nx"), "deleted": int64(1)}},
			{"DeleteMissing", map[string]any{"operation": "delete", "key": k("nx")}, map[string]any{"key": k("nx"), "deleted": int64(0)}},
			{"HSetFields", map[string]any{"operation": "hset", "key": k("h"), "fields": map[string]any{"a": "1", "b": map[string]any{"x": 2.0}}}, map[string]any{"key": k("h"), "added": int64(2)}},
			{"HSetField", map[string]any{"operation": "hset", "key": k("h"), "field": "c", "value": true}, map[string]any{"key": k("h"), "added": int64(1)}},
			{"HGet", map[string]any{"operation": "hget", "key": k("h"), "field": "b", "parseJson": true}, map[string]any{"key": k("h"), "field": "b", "value": map[string]any{"x": 2.0}, "exists": true}},
			{"HGetMissing", map[string]any{"operation": "hget", "key": k("h"), "field": "zz"}, map[string]any{"key": k("h"), "field": "zz", "value": nil, "exists": false}},
			{"HDel", map[string]any{"operation": "hdel", "key": k("h"), "field": "a"}, map[string]any{"key": k("h"), "deleted": int64(1)}},
			{"HGetAll", map[string]any{"operation": "hgetall", "key": k("h")}, map[string]any{"key": k("h"), "fields": map[string]any{"b": `{"x":2}`, "c": "true"}, "count": 2, "truncated": false}},
			{"HGetAllMissing", map[string]any{"operation": "hgetall", "key": k("nohash")}, map[string]any{"key": k("nohash"), "fields": map[string]any{}, "count": 0, "truncated": false}},
			{"RPush", map[string]any{"operation": "rpush", "key": k("l"), "values": []any{"a", "b", map[string]any{"c": 3.0}}}, map[string]any{"key": k("l"), "length": int64(3)}},
			{"LPush", map[string]any{"operation": "lpush", "key": k("l"), "value": "z"}, map[string]any{"key": k("l"), "length": int64(4)}},
			{"LLen", map[string]any{"operation": "llen", "key": k("l")}, map[string]any{"key": k("l"), "length": int64(4)}},
			{"LRange", map[string]any{"operation": "lrange", "key": k("l"), "parseJson": true}, map[string]any{"key": k("l"), "values": []any{"z", "a", "b", map[string]any{"c": 3.0}}, "count": 4, "truncated": false}},
			{"LRangeSlice", map[string]any{"operation": "lrange", "key": k("l"), "start": 1.0, "stop": 2.0}, map[string]any{"key": k("l"), "values": []any{"a", "b"}, "count": 2, "truncated": false}},
			{"LRangeFromEnd", map[string]any{"operation": "lrange", "key": k("l"), "start": -2.0}, map[string]any{"key": k("l"), "values": []any{"b", `{"c":3}`}, "count": 2, "truncated": false}},
			{"LPop", map[string]any{"operation": "lpop", "key": k("l")}, map[string]any{"key": k("l"), "value": "z", "exists": true}},
			{"RPop", map[string]any{"operation": "rpop", "key": k("l"), "parseJson": true}, map[string]any{"key": k("l"), "value": map[string]any{"c": 3.0}, "exists": true}},
			{"LPopEmpty", map[string]any{"operation": "lpop", "key": k("nolist")}, map[string]any{"key": k("nolist"), "value": nil, "exists": false}},
			{"PublishNoReceivers", map[string]any{"operation": "publish", "channel": k("chan"), "message": map[string]any{"a": 1.0}}, map[string]any{"channel": k("chan"), "receivers": int64(0)}},
			{"Keys", map[string]any{"operation": "keys", "pattern": k("[ls]")}, map[string]any{"keys": []string{k("l"), k("s")}, "count": 2, "truncated": false}},
		}
		// The table runs in order: each row builds on the state the rows before it left.
		for _, tt := range tests {
			got, err := b.run(t, s, tt.config)
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.want, got, tt.name)
		}
	})

	t.Run("OutputTooLarge", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := newShared(b.cfg)
		ctx := context.Background()
		require.NoError(t, b.raw.Set(ctx, b.prefix+"big", strings.Repeat("x", 4096), 0).Err())
		in := conntest.Input(b.creds, nil)
		in.Limits.MaxOutputBytes = 1024
		_, err := command(t, s, map[string]any{"credential": b.credID, "operation": "get", "key": b.prefix + "big"}).Execute(ctx, in)
		require.Equal(t, CodeOutputTooLarge, errCode(t, err))
		require.True(t, node.IsPermanent(err))
		for i := range 100 {
			require.NoError(t, b.raw.RPush(ctx, b.prefix+"list", strings.Repeat("y", 100)+strconv.Itoa(i)).Err())
		}
		_, err = command(t, s, map[string]any{"credential": b.credID, "operation": "lrange", "key": b.prefix + "list"}).Execute(ctx, in)
		require.Equal(t, CodeOutputTooLarge, errCode(t, err))
	})

	t.Run("PublishReachesSubscriber", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		channel := b.prefix + "events"
		sub := b.raw.Subscribe(ctx, channel)
		defer func() { _ = sub.Close() }()
		_, err := sub.Receive(ctx)
		require.NoError(t, err)
		got := b.mustRun(t, newShared(b.cfg), map[string]any{"operation": "publish", "channel": channel, "message": map[string]any{"id": 7.0}})
		require.EqualValues(t, 1, got["receivers"])
		msg, err := sub.ReceiveMessage(ctx)
		require.NoError(t, err)
		require.JSONEq(t, `{"id":7}`, msg.Payload)
	})

	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name   string
			config map[string]any
			want   string
		}{
			{"AdminCommand", map[string]any{"operation": "flushall"}, "operation"},
			{"EvalCommand", map[string]any{"operation": "eval", "key": "x"}, "operation"},
			{"SetWithoutValue", map[string]any{"operation": "set", "key": "x"}, "value"},
			{"ExpireWithoutTTL", map[string]any{"operation": "expire", "key": "x"}, "ttl"},
			{"BadTTL", map[string]any{"operation": "set", "key": "x", "value": "v", "ttl": "soon"}, "ttl"},
			{"HGetWithoutField", map[string]any{"operation": "hget", "key": "x"}, "field"},
			{"PublishWithoutChannel", map[string]any{"operation": "publish", "message": "m"}, "channel"},
			{"TooManyResults", map[string]any{"operation": "keys", "maxResults": 1000000.0}, "maxResults"},
		}
		typ := commandType(t, newShared(conntest.Config()))
		for _, tt := range tests {
			tt.config["credential"] = "c"
			_, err := typ.Instantiate(tt.config, false)
			require.ErrorContains(t, err, tt.want, tt.name)
		}
	})

	t.Run("Tester", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		msg, err := Testers(b.cfg)["redis"](context.Background(),
			&node.Credential{ID: "x", Type: "redis", Data: map[string]any{"host": b.host, "port": b.port}})
		require.NoError(t, err)
		require.Regexp(t, `^Connected to Redis \d+\.\d+`, msg)
	})

	t.Run("TimeoutOnSilentServer", func(t *testing.T) {
		t.Parallel()
		ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { _ = c.Close() })
			}
		}()
		creds := conntest.NewCredentials()
		port := ln.Addr().(*net.TCPAddr).Port
		id := creds.Add(t, "redis", map[string]any{"host": "127.0.0.1", "port": float64(port)})
		start := time.Now()
		_, err = command(t, newShared(conntest.Config()), map[string]any{"credential": id, "operation": "get", "key": "x", "timeout": "300ms"}).
			Execute(context.Background(), conntest.Input(creds, nil))
		require.Equal(t, CodeTimeout, errCode(t, err))
		require.False(t, node.IsPermanent(err))
		require.Less(t, time.Since(start), 3*time.Second)
	})

	t.Run("TTLRespected", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := newShared(b.cfg)
		key := b.prefix + "ttl"
		b.mustRun(t, s, map[string]any{"operation": "set", "key": key, "value": "v", "ttl": "400ms"})
		got := b.mustRun(t, s, map[string]any{"operation": "ttl", "key": key})
		require.Equal(t, true, got["exists"])
		require.Greater(t, got["ttl"], 0.0)
		require.LessOrEqual(t, got["ttl"], 0.4)
		require.Eventually(t, func() bool {
			return b.mustRun(t, s, map[string]any{"operation": "get", "key": key})["exists"] == false
		}, 5*time.Second, 20*time.Millisecond)

		b.mustRun(t, s, map[string]any{"operation": "set", "key": key, "value": "v"})
		got = b.mustRun(t, s, map[string]any{"operation": "expire", "key": key, "ttl": 3600.0})
		require.Equal(t, true, got["exists"])
		got = b.mustRun(t, s, map[string]any{"operation": "ttl", "key": key})
		require.InDelta(t, 3600, got["ttl"], 5)
		b.mustRun(t, s, map[string]any{"operation": "expire", "key": key, "ttl": "300ms"})
		require.Eventually(t, func() bool {
			return b.mustRun(t, s, map[string]any{"operation": "exists", "key": key})["exists"] == false
		}, 5*time.Second, 20*time.Millisecond)
	})

	t.Run("Truncated", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := newShared(b.cfg)
		ctx := context.Background()
		for i := range 50 {
			require.NoError(t, b.raw.RPush(ctx, b.prefix+"list", strconv.Itoa(i)).Err())
			require.NoError(t, b.raw.HSet(ctx, b.prefix+"hash", "f"+strconv.Itoa(i), i).Err())
			require.NoError(t, b.raw.Set(ctx, b.prefix+"k:"+strconv.Itoa(i), i, 0).Err())
		}
		got := b.mustRun(t, s, map[string]any{"operation": "lrange", "key": b.prefix + "list", "maxResults": 10.0})
		require.Equal(t, 10, got["count"])
		require.Equal(t, true, got["truncated"])
		require.Equal(t, "0", got["values"].([]any)[0])
		got = b.mustRun(t, s, map[string]any{"operation": "lrange", "key": b.prefix + "list", "start": 5.0, "stop": 100.0, "maxResults": 10.0})
		require.Equal(t, 10, got["count"])
		require.Equal(t, true, got["truncated"])
		require.Equal(t, "5", got["values"].([]any)[0])
		got = b.mustRun(t, s, map[string]any{"operation": "lrange", "key": b.prefix + "list", "start": -20.0, "maxResults": 10.0})
		require.Equal(t, "30", got["values"].([]any)[0])
		require.Equal(t, true, got["truncated"])
		got = b.mustRun(t, s, map[string]any{"operation": "lrange", "key": b.prefix + "list", "start": 40.0, "maxResults": 10.0})
		require.Equal(t, 10, got["count"])
		require.Equal(t, false, got["truncated"])
		got = b.mustRun(t, s, map[string]any{"operation": "hgetall", "key": b.prefix + "hash", "maxResults": 10.0})
		require.Equal(t, 10, got["count"])
		require.Len(t, got["fields"], 10)
		require.Equal(t, true, got["truncated"])
		got = b.mustRun(t, s, map[string]any{"operation": "keys", "pattern": b.prefix + "k:*", "maxResults": 10.0})
		require.Equal(t, 10, got["count"])
		require.Equal(t, true, got["truncated"])
		got = b.mustRun(t, s, map[string]any{"operation": "keys", "pattern": b.prefix + "k:*"})
		require.Equal(t, 50, got["count"])
		require.Equal(t, false, got["truncated"])
	})
}
