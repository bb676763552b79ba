package sqlnode_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
	"github.com/concertmaster/concertmaster/internal/nodes/sqlnode"
)

type pgBundle struct {
	*runner
	pg   *sqlnode.Postgres
	cred string
	url  string
}

func setupPG(t *testing.T) *pgBundle {
	t.Helper()
	url := conntest.ServerURL(t, "CM_TEST_DATABASE_URL", "127.0.0.1:5432")
	p := sqlnode.NewPostgres(conntest.Config())
	t.Cleanup(p.Close)
	r := newRunner(sqlnode.PostgresNodes(p)...)
	return &pgBundle{runner: r, pg: p, url: url, cred: r.creds.Add(t, "postgres", map[string]any{"url": url})}
}

// table creates a table with a unique name from a column list and drops it at the end of the test.
func (b *pgBundle) table(t *testing.T, columns string) string {
	t.Helper()
	name := "cm_sql_" + suffix(t)
	ctx := context.Background()
	b.mustRun(ctx, t, "postgres.execute", map[string]any{"credential": b.cred, "query": "create table " + name + " (" + columns + ")"})
	t.Cleanup(func() {
		_, err := b.run(context.Background(), t, "postgres.execute", map[string]any{"credential": b.cred, "query": "drop table if exists " + name})
		require.NoError(t, err)
	})
	return name
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("AuthFailure", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		// The loopback server trusts every local user, so a wrong password cannot fail there: an
		// unknown role does (SQLSTATE 28000), and a server that asks for a password (below) refuses it.
		role := "cm_nobody_" + suffix(t)
		id := b.creds.Add(t, "postgres", map[string]any{"host": "127.0.0.1", "port": 5432.0, "user": role, "password": "hunter2-secret", "database": "test", "sslmode": "disable"})
		_, err := b.run(ctx, t, "postgres.query", map[string]any{"credential": id, "query": "select 1"})
		ne := nodeError(t, err, sqlnode.CodeAuth, true)
		require.Contains(t, ne.Message, role)
		require.NotContains(t, ne.Message, "hunter2-secret")
	})

	t.Run("Batch", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		tbl := b.table(t, "id int primary key, name text not null")
		// A failing statement rolls back the ones before it.
		_, err := b.run(ctx, t, "postgres.execute", map[string]any{"credential": b.cred,
			"query": "insert into " + tbl + " (id, name) values ($1, $2)",
			"batch": []any{[]any{1.0, "a"}, []any{2.0, "b"}, []any{1.0, "duplicate"}, []any{3.0, "c"}}})
		ne := nodeError(t, err, sqlnode.CodeSQL, true)
		require.Contains(t, ne.Message, "batch[2]")
		details, ok := ne.Details.(map[string]any)
		require.True(t, ok)
		require.Equal(t, "23505", details["sqlstate"])
		require.InDelta(t, 2, details["statement"], 0)
		count := b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select count(*) as n from " + tbl})
		require.Equal(t, []map[string]any{{"n": 0.0}}, rows(t, count))

		// Objects with paramKeys, all in one transaction.
		out := b.mustRun(ctx, t, "postgres.execute", map[string]any{"credential": b.cred,
			"query": "insert into " + tbl + " (id, name) values ($1, $2)", "paramKeys": []any{"id", "name"},
			"batch": []any{map[string]any{"id": 1.0, "name": "a"}, map[string]any{"name": "b", "id": 2.0}}})
		require.Equal(t, map[string]any{"rowsAffected": 2.0, "statements": 2.0, "perStatement": []any{1.0, 1.0}}, out)
		out = b.mustRun(ctx, t, "postgres.execute", map[string]any{"credential": b.cred,
			"query": "update " + tbl + " set name = name || $1 where id >= $2", "batch": []any{[]any{"!", 1.0}, []any{"?", 2.0}, []any{"", 9.0}}})
		require.Equal(t, map[string]any{"rowsAffected": 3.0, "statements": 3.0, "perStatement": []any{2.0, 1.0, 0.0}}, out)

		// A batch that runs past its timeout is rolled back as well.
		_, err = b.run(ctx, t, "postgres.execute", map[string]any{"credential": b.cred, "timeout": "300ms",
			"query": "insert into " + tbl + " (id, name) select $1::int, $2 from (select pg_sleep($3::float8)) s",
			"batch": []any{[]any{10.0, "x", 0.0}, []any{11.0, "y", 5.0}}})
		requireCode(t, err, sqlnode.CodeTimeout, false)
		count = b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select count(*) as n from " + tbl + " where id >= 10"})
		require.Equal(t, []map[string]any{{"n": 0.0}}, rows(t, count))

		// Shapes the node refuses before connecting.
		for name, cfg := range map[string]map[string]any{
			"object without paramKeys": {"batch": []any{map[string]any{"id": 1.0}}},
			"missing key":              {"batch": []any{map[string]any{"id": 1.0}}, "paramKeys": []any{"id", "name"}},
			"params and batch":         {"batch": []any{[]any{1.0}}, "params": []any{1.0}},
		} {
			cfg["credential"], cfg["query"] = b.cred, "insert into "+tbl+" (id, name) values ($1, $2)"
			_, err := b.run(ctx, t, "postgres.execute", cfg)
			require.Error(t, err, name)
		}
		tooMany := make([]any, sqlnode.MaxBatch+1)
		for i := range tooMany {
			tooMany[i] = []any{float64(i), "x"}
		}
		_, err = b.run(ctx, t, "postgres.execute", map[string]any{"credential": b.cred, "query": "insert into " + tbl + " (id, name) values ($1, $2)", "batch": tooMany})
		require.Error(t, err)
	})

	t.Run("Concurrency", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range 20 {
			wg.Go(func() {
				out, err := b.run(ctx, t, "postgres.query", map[string]any{"credential": b.cred,
					"query": "select $1::int as i, pg_sleep(0.02)::text as s", "params": []any{float64(i)}})
				if err == nil && rows(t, out)[0]["i"] != float64(i) {
					err = errors.New("wrong row")
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		cred, err := b.creds.Get(ctx, b.cred)
		require.NoError(t, err)
		pool, release, err := b.pg.Pool(ctx, cred)
		require.NoError(t, err)
		defer release()
		require.LessOrEqual(t, pool.Stat().TotalConns(), int32(sqlnode.PoolConns))
		require.GreaterOrEqual(t, pool.Stat().AcquireCount(), int64(20))
	})

	t.Run("Execute", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		tbl := b.table(t, "id int primary key, name text")
		out := b.mustRun(ctx, t, "postgres.execute", map[string]any{"credential": b.cred,
			"query": "insert into " + tbl + " values ($1, $2), ($3, $4)", "params": []any{1.0, "a", 2.0, "b"}})
		require.Equal(t, map[string]any{"rowsAffected": 2.0, "commandTag": "INSERT 0 2"}, out)
		out = b.mustRun(ctx, t, "postgres.execute", map[string]any{"credential": b.cred, "query": "delete from " + tbl + " where id = $1", "params": []any{"2"}})
		require.Equal(t, map[string]any{"rowsAffected": 1.0, "commandTag": "DELETE 1"}, out)
	})

	t.Run("HostileParams", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		tbl := b.table(t, "id int, name text")
		hostile := []string{"'; drop table " + tbl + "; --", `" or 1=1 --`, "$1", "\\x00'", "{{ input.secret }}", "Robert'); DROP TABLE students;--"}
		for i, h := range hostile {
			b.mustRun(ctx, t, "postgres.execute", map[string]any{"credential": b.cred, "query": "insert into " + tbl + " values ($1, $2)", "params": []any{float64(i), h}})
		}
		for i, h := range hostile {
			out := b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select name from " + tbl + " where name = $1 and id = $2", "params": []any{h, float64(i)}})
			require.Equal(t, []map[string]any{{"name": h}}, rows(t, out))
		}
		out := b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select count(*) as n from " + tbl})
		require.Equal(t, float64(len(hostile)), rows(t, out)[0]["n"])
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		// A template in the query reaches the node unevaluated (the key is lazy) and is refused.
		_, err := b.run(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select * from t where id = {{ input.id }}"})
		ne := nodeError(t, err, sqlnode.CodeInvalidConfig, true)
		require.Contains(t, ne.Message, "params")
		for name, cfg := range map[string]map[string]any{
			"bad timeout":  {"timeout": "soon"},
			"long timeout": {"timeout": "2h"},
			"maxRows":      {"maxRows": 0.0},
			"too many":     {"maxRows": 100001.0},
			"no query":     {"query": ""},
			"unknown key":  {"sql": "select 1"},
		} {
			cfg["credential"] = b.cred
			if _, ok := cfg["query"]; !ok {
				cfg["query"] = "select 1"
			}
			_, err := b.run(ctx, t, "postgres.query", cfg)
			require.Error(t, err, name)
		}
		_, err = b.run(ctx, t, "postgres.query", map[string]any{"credential": "", "query": "select 1"})
		require.Error(t, err)
		_, err = b.run(ctx, t, "postgres.query", map[string]any{"credential": "missing", "query": "select 1"})
		requireCode(t, err, node.CodeCredentialNotFound, true)
		other := b.creds.Add(t, "mysql", map[string]any{"host": "127.0.0.1", "user": "x"})
		_, err = b.run(ctx, t, "postgres.query", map[string]any{"credential": other, "query": "select 1"})
		requireCode(t, err, node.CodeCredentialType, true)
		// A parameter that cannot be the expected type is the server's complaint, permanent.
		_, err = b.run(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select $1::int", "params": []any{"twelve"}})
		ne = nodeError(t, err, sqlnode.CodeSQL, true)
		require.Equal(t, "22P02", ne.Details.(map[string]any)["sqlstate"])
		// One the driver cannot send at all is invalid_params.
		_, err = b.run(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select $1::int", "params": []any{map[string]any{"a": 1.0}}})
		requireCode(t, err, sqlnode.CodeInvalidParams, true)
		// Too few parameters: the server says so.
		_, err = b.run(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select $1::int, $2::int", "params": []any{1.0}})
		require.Error(t, err)
	})

	t.Run("MaxRows", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		out := b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select g from generate_series(1, $1::int) g", "params": []any{50.0}, "maxRows": 10.0})
		require.Equal(t, true, out["truncated"])
		require.InDelta(t, 10, out["rowCount"], 0)
		require.Len(t, rows(t, out), 10)
		require.Equal(t, 10.0, rows(t, out)[9]["g"])
		out = b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select g from generate_series(1, 50) g", "maxRows": 50.0})
		require.Equal(t, false, out["truncated"])
		require.InDelta(t, 50, out["rowCount"], 0)
		// A huge result stops at the default maxRows promptly, and the pool stays usable.
		start := time.Now()
		out = b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select generate_series(1, 50000000) as g, repeat('x', 100) as x"})
		require.Less(t, time.Since(start), 5*time.Second)
		require.Equal(t, true, out["truncated"])
		require.InDelta(t, sqlnode.MaxRowsDefault, out["rowCount"], 0)
		out = b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select 1 as one"})
		require.Equal(t, []map[string]any{{"one": 1.0}}, rows(t, out))
		// No rows: an empty array, the columns still named.
		out = b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select 1 as a, 2 as a where false"})
		require.Equal(t, map[string]any{"rows": []any{}, "rowCount": 0.0, "columns": []any{"a", "a_2"}, "truncated": false}, out)
	})

	t.Run("OutputLimit", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		b.limit = 50 << 10
		_, err := b.run(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select repeat('x', 1000) as s from generate_series(1, 1000)"})
		ne := nodeError(t, err, sqlnode.CodeOutputTooLarge, true)
		rowsRead := ne.Details.(map[string]any)["rowsRead"].(float64)
		require.Greater(t, rowsRead, 40.0)
		require.Less(t, rowsRead, 51.0)
		out := b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select repeat('x', 1000) as s from generate_series(1, 40)"})
		require.InDelta(t, 40, out["rowCount"], 0)
	})

	t.Run("PoolReuse", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		cred, err := b.creds.Get(ctx, b.cred)
		require.NoError(t, err)
		b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select 1"})
		p1, release1, err := b.pg.Pool(ctx, cred)
		require.NoError(t, err)
		release1()
		before := p1.Stat().AcquireCount()
		b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select 2"})
		p2, release2, err := b.pg.Pool(ctx, cred)
		require.NoError(t, err)
		release2()
		require.Same(t, p1, p2, "two runs share the credential's pool")
		require.Equal(t, before+1, p1.Stat().AcquireCount())
		// An updated credential (new fingerprint) gets a pool of its own.
		cred.Fingerprint = "2"
		b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select 3"})
		p3, release3, err := b.pg.Pool(ctx, cred)
		require.NoError(t, err)
		release3()
		require.NotSame(t, p1, p3)
		require.Equal(t, before+1, p1.Stat().AcquireCount())
	})

	t.Run("SQLError", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		_, err := b.run(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "selec 1"})
		ne := nodeError(t, err, sqlnode.CodeSQL, true)
		require.Equal(t, "42601", ne.Details.(map[string]any)["sqlstate"])
		require.Contains(t, ne.Message, "SQLSTATE 42601")
		_, err = b.run(ctx, t, "postgres.execute", map[string]any{"credential": b.cred, "query": "insert into cm_no_such_table_" + suffix(t) + " values (1)"})
		ne = nodeError(t, err, sqlnode.CodeSQL, true)
		require.Equal(t, "42P01", ne.Details.(map[string]any)["sqlstate"])
	})

	t.Run("SSRF", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		strict := sqlnode.NewPostgres(conntest.StrictConfig())
		t.Cleanup(strict.Close)
		r := newRunner(sqlnode.PostgresNodes(strict)...)
		r.creds = b.creds
		_, err := r.run(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select 1"})
		requireCode(t, err, conn.CodeSSRFBlocked, true)
		_, err = r.run(ctx, t, "postgres.execute", map[string]any{"credential": b.cred, "query": "select 1"})
		requireCode(t, err, conn.CodeSSRFBlocked, true)
		cred, err := b.creds.Get(ctx, b.cred)
		require.NoError(t, err)
		_, err = sqlnode.Testers(conntest.StrictConfig())["postgres"](ctx, cred)
		requireCode(t, err, conn.CodeSSRFBlocked, true)
	})

	t.Run("Tester", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		cred, err := b.creds.Get(ctx, b.cred)
		require.NoError(t, err)
		msg, err := sqlnode.Testers(conntest.Config())["postgres"](ctx, cred)
		require.NoError(t, err)
		require.Regexp(t, `^Connected to PostgreSQL \d+\.\d+ as \w+ \(database \w+\)$`, msg)
	})

	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		start := time.Now()
		marker := "cm_timeout_" + suffix(t)
		_, err := b.run(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select pg_sleep(5) /* " + marker + " */", "timeout": "200ms"})
		ne := nodeError(t, err, sqlnode.CodeTimeout, false)
		require.Contains(t, ne.Message, "200ms")
		require.Less(t, time.Since(start), 2*time.Second)
		// The statement was canceled on the server, not left running there.
		out := b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred,
			"query": "select count(*) as n from pg_stat_activity where state = 'active' and query like $1 and pid <> pg_backend_pid()", "params": []any{"%" + marker + " */"}})
		require.Equal(t, []map[string]any{{"n": 0.0}}, rows(t, out))
		_, err = b.run(ctx, t, "postgres.execute", map[string]any{"credential": b.cred, "query": "select pg_sleep(5)", "timeout": "200ms"})
		requireCode(t, err, sqlnode.CodeTimeout, false)
		// The pool still answers.
		out = b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select 'ok' as s"})
		require.Equal(t, []map[string]any{{"s": "ok"}}, rows(t, out))
		// The run's own cancel is not a timeout.
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err = b.run(cctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select pg_sleep(5)"})
		require.ErrorIs(t, err, context.Canceled)
	})

	t.Run("Types", func(t *testing.T) {
		t.Parallel()
		b := setupPG(t)
		tbl := b.table(t, `i int, big bigint, huge bigint, n numeric(30,10), n2 numeric, f float8, r real, t text, ok bool,
			ts timestamptz, tsl timestamp, d date, j json, jb jsonb, by bytea, u uuid, ia int[], ta text[], nul text, iv interval, ip inet, tm time`)
		params := []any{42.0, 9007199254740991.0, "9223372036854775807", "12.5", "123456789012345678901234.5678", 1.25, 0.1, "héllo \"world\"", true,
			"2024-01-02T03:04:05.123456Z", "2024-01-02 03:04:05", "2024-01-02", map[string]any{"a": []any{1.0, "x"}}, map[string]any{"b": nil},
			`\x00ff10`, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", []any{1.0, 2.0}, []any{"a", nil}, nil, "1 day 02:00:00", "10.1.2.3", "10:11:12"}
		ph := make([]string, len(params))
		for i := range ph {
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		b.mustRun(ctx, t, "postgres.execute", map[string]any{"credential": b.cred, "query": "insert into " + tbl + " values (" + strings.Join(ph, ", ") + ")", "params": params})
		out := b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred, "query": "select * from " + tbl})
		require.Equal(t, []map[string]any{{
			"i": 42.0, "big": 9007199254740991.0, "huge": "9223372036854775807", "n": 12.5, "n2": "123456789012345678901234.5678",
			"f": 1.25, "r": 0.1, "t": "héllo \"world\"", "ok": true,
			"ts": "2024-01-02T03:04:05.123456Z", "tsl": "2024-01-02T03:04:05Z", "d": "2024-01-02",
			"j": map[string]any{"a": []any{1.0, "x"}}, "jb": map[string]any{"b": nil}, "by": "AP8Q",
			"u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "ia": []any{1.0, 2.0}, "ta": []any{"a", nil}, "nul": nil,
			"iv": "1 day 02:00:00", "ip": "10.1.2.3", "tm": "10:11:12",
		}}, rows(t, out))
		require.Equal(t, []any{"i", "big", "huge", "n", "n2", "f", "r", "t", "ok", "ts", "tsl", "d", "j", "jb", "by", "u", "ia", "ta", "nul", "iv", "ip", "tm"}, out["columns"])
		out = b.mustRun(ctx, t, "postgres.query", map[string]any{"credential": b.cred,
			"query":  "select 'NaN'::numeric as nan, '-Infinity'::float8 as inf, array['2024-05-06'::date] as ds, $1::jsonb as p, $2::int[] as arr, 'infinity'::timestamptz as forever, 0.30::numeric as z",
			"params": []any{[]any{map[string]any{"k": 1.0}}, []any{3.0, 4.0}}})
		require.Equal(t, []map[string]any{{"nan": "NaN", "inf": "-Infinity", "ds": []any{"2024-05-06"}, "p": []any{map[string]any{"k": 1.0}},
			"arr": []any{3.0, 4.0}, "forever": "infinity", "z": 0.3}}, rows(t, out))
	})
}

// TestPostgresPasswordRefused runs the node against a server that asks for a password and refuses
// it (as PostgreSQL does with password authentication), since the loopback test server trusts local
// connections: the error is auth_failed, permanent, and does not quote the password.
func TestPostgresPasswordRefused(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	got := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				be := pgproto3.NewBackend(c, c)
				if _, err := be.ReceiveStartupMessage(); err != nil {
					return
				}
				be.Send(&pgproto3.AuthenticationCleartextPassword{})
				if be.Flush() != nil {
					return
				}
				if be.SetAuthType(pgproto3.AuthTypeCleartextPassword) != nil {
					return
				}
				msg, err := be.Receive()
				if err != nil {
					return
				}
				if pw, ok := msg.(*pgproto3.PasswordMessage); ok {
					got <- pw.Password
				}
				be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: `password authentication failed for user "app"`})
				_ = be.Flush()
			}()
		}
	}()
	p := sqlnode.NewPostgres(conntest.Config())
	t.Cleanup(p.Close)
	r := newRunner(sqlnode.PostgresNodes(p)...)
	port := float64(ln.Addr().(*net.TCPAddr).Port)
	id := r.creds.Add(t, "postgres", map[string]any{"host": "127.0.0.1", "port": port, "user": "app", "password": "s3cret-Pa55", "database": "app", "sslmode": "disable"})
	_, err = r.run(context.Background(), t, "postgres.query", map[string]any{"credential": id, "query": "select 1"})
	ne := nodeError(t, err, sqlnode.CodeAuth, true)
	require.Contains(t, ne.Message, "password authentication failed")
	require.NotContains(t, ne.Message, "s3cret-Pa55")
	require.Equal(t, "s3cret-Pa55", <-got, "the credential's password is what the node sends")
	cred, err := r.creds.Get(context.Background(), id)
	require.NoError(t, err)
	_, err = sqlnode.Testers(conntest.Config())["postgres"](context.Background(), cred)
	ne = nodeError(t, err, sqlnode.CodeAuth, true)
	require.NotContains(t, ne.Message, "s3cret-Pa55")
}
