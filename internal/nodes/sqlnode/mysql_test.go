package sqlnode_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
	"github.com/concertmaster/concertmaster/internal/nodes/sqlnode"
)

type myBundle struct {
	*runner
	my   *sqlnode.MySQL
	cred string
	url  string
}

func setupMy(t *testing.T) *myBundle {
	t.Helper()
	url := conntest.ServerURL(t, "CM_TEST_MYSQL_URL", "127.0.0.1:3306")
	m := sqlnode.NewMySQL(conntest.Config())
	t.Cleanup(m.Close)
	r := newRunner(sqlnode.MySQLNodes(m)...)
	return &myBundle{runner: r, my: m, url: url, cred: r.creds.Add(t, "mysql", map[string]any{"url": url})}
}

// exec runs a statement that must succeed, as root.
func (b *myBundle) exec(t *testing.T, q string, params ...any) map[string]any {
	t.Helper()
	return b.mustRun(context.Background(), t, "mysql.execute", map[string]any{"credential": b.cred, "query": q, "params": params})
}

// table creates a table with a unique name and drops it at the end of the test.
func (b *myBundle) table(t *testing.T, columns string) string {
	t.Helper()
	name := "cm_sql_" + suffix(t)
	b.exec(t, "create table "+name+" ("+columns+")")
	t.Cleanup(func() {
		_, err := b.run(context.Background(), t, "mysql.execute", map[string]any{"credential": b.cred, "query": "drop table if exists " + name})
		require.NoError(t, err)
	})
	return name
}

func TestMySQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("AuthFailure", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		user := "cm_sql_" + suffix(t)
		b.exec(t, "create user '"+user+"'@'127.0.0.1' identified by 'right-Pa55word'")
		t.Cleanup(func() { b.exec(t, "drop user if exists '"+user+"'@'127.0.0.1'") })
		good := b.creds.Add(t, "mysql", map[string]any{"host": "127.0.0.1", "port": 3306.0, "user": user, "password": "right-Pa55word"})
		out := b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": good, "query": "select current_user() as u"})
		require.Equal(t, []map[string]any{{"u": user + "@127.0.0.1"}}, rows(t, out))

		bad := b.creds.Add(t, "mysql", map[string]any{"host": "127.0.0.1", "port": 3306.0, "user": user, "password": "wrong-Pa55word"})
		_, err := b.run(ctx, t, "mysql.query", map[string]any{"credential": bad, "query": "select 1"})
		ne := nodeError(t, err, sqlnode.CodeAuth, true)
		require.Contains(t, ne.Message, "Access denied")
		require.NotContains(t, ne.Message, "wrong-Pa55word")
		cred, err := b.creds.Get(ctx, bad)
		require.NoError(t, err)
		_, err = sqlnode.Testers(conntest.Config())["mysql"](ctx, cred)
		ne = nodeError(t, err, sqlnode.CodeAuth, true)
		require.NotContains(t, ne.Message, "wrong-Pa55word")
	})

	t.Run("Batch", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		tbl := b.table(t, "id int primary key, name varchar(20) not null")
		_, err := b.run(ctx, t, "mysql.execute", map[string]any{"credential": b.cred,
			"query": "insert into " + tbl + " (id, name) values (?, ?)",
			"batch": []any{[]any{1.0, "a"}, []any{2.0, "b"}, []any{1.0, "duplicate"}, []any{3.0, "c"}}})
		ne := nodeError(t, err, sqlnode.CodeSQL, true)
		require.Contains(t, ne.Message, "batch[2]")
		details, ok := ne.Details.(map[string]any)
		require.True(t, ok)
		require.InDelta(t, 1062, details["errno"], 0)
		require.InDelta(t, 2, details["statement"], 0)
		out := b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select count(*) as n from " + tbl})
		require.Equal(t, []map[string]any{{"n": 0.0}}, rows(t, out))

		// A batch that runs past its timeout is rolled back as well.
		_, err = b.run(ctx, t, "mysql.execute", map[string]any{"credential": b.cred, "timeout": "300ms",
			"query": "insert into " + tbl + " (id, name) select ?, ? from (select sleep(?)) s",
			"batch": []any{[]any{10.0, "x", 0.0}, []any{11.0, "y", 5.0}}})
		requireCode(t, err, sqlnode.CodeTimeout, false)
		out = b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select count(*) as n from " + tbl})
		require.Equal(t, []map[string]any{{"n": 0.0}}, rows(t, out))

		out = b.mustRun(ctx, t, "mysql.execute", map[string]any{"credential": b.cred,
			"query": "insert into " + tbl + " (id, name) values (?, ?)", "paramKeys": []any{"id", "name"},
			"batch": []any{map[string]any{"id": 1.0, "name": "a"}, map[string]any{"name": "b", "id": 2.0}}})
		require.Equal(t, map[string]any{"rowsAffected": 2.0, "statements": 2.0, "perStatement": []any{1.0, 1.0}}, out)
	})

	t.Run("Concurrency", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range 20 {
			wg.Go(func() {
				out, err := b.run(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select ? as i, sleep(0.02) as s", "params": []any{float64(i)}})
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
		db, release, err := b.my.DB(ctx, cred)
		require.NoError(t, err)
		defer release()
		require.LessOrEqual(t, db.Stats().OpenConnections, sqlnode.PoolConns)
		require.Positive(t, db.Stats().WaitCount, "20 runs waited for 4 connections")
	})

	t.Run("Execute", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		tbl := b.table(t, "id int auto_increment primary key, name varchar(20)")
		out := b.exec(t, "insert into "+tbl+" (name) values (?), (?)", "a", "b")
		require.Equal(t, map[string]any{"rowsAffected": 2.0, "lastInsertId": 1.0}, out)
		out = b.exec(t, "delete from "+tbl+" where name = ?", "b")
		require.InDelta(t, 1, out["rowsAffected"], 0)
	})

	t.Run("HostileParams", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		tbl := b.table(t, "id int, name varchar(200)")
		hostile := []string{"'; drop table " + tbl + "; --", `" or 1=1 --`, "?", "\\'", "\\", "Robert'); DROP TABLE students;--"}
		for i, h := range hostile {
			b.exec(t, "insert into "+tbl+" values (?, ?)", float64(i), h)
		}
		for i, h := range hostile {
			out := b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select name from " + tbl + " where name = ? and id = ?", "params": []any{h, float64(i)}})
			require.Equal(t, []map[string]any{{"name": h}}, rows(t, out))
		}
		out := b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select count(*) as n from " + tbl})
		require.InDelta(t, len(hostile), rows(t, out)[0]["n"], 0)
	})

	t.Run("MaxRows", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		out := b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select seq from seq_1_to_50", "maxRows": 10.0})
		require.Equal(t, true, out["truncated"])
		require.Len(t, rows(t, out), 10)
		out = b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select seq from seq_1_to_50 where seq > ?", "params": []any{40.0}, "maxRows": 10.0})
		require.Equal(t, false, out["truncated"])
		require.Len(t, rows(t, out), 10)
		start := time.Now()
		out = b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select seq, repeat('x', 100) as x from seq_1_to_50000000"})
		require.Less(t, time.Since(start), 5*time.Second)
		require.Equal(t, true, out["truncated"])
		require.InDelta(t, sqlnode.MaxRowsDefault, out["rowCount"], 0)
		out = b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select 1 as one"})
		require.Equal(t, []map[string]any{{"one": 1.0}}, rows(t, out))
	})

	t.Run("OutputLimit", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		b.limit = 50 << 10
		_, err := b.run(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select repeat('x', 1000) as s from seq_1_to_1000"})
		requireCode(t, err, sqlnode.CodeOutputTooLarge, true)
	})

	t.Run("PoolReuse", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		cred, err := b.creds.Get(ctx, b.cred)
		require.NoError(t, err)
		b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select 1"})
		db1, release1, err := b.my.DB(ctx, cred)
		require.NoError(t, err)
		release1()
		b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select 2"})
		db2, release2, err := b.my.DB(ctx, cred)
		require.NoError(t, err)
		release2()
		require.Same(t, db1, db2)
		require.Equal(t, 1, db1.Stats().OpenConnections, "the second run reused the first one's connection")
		cred.Fingerprint = "2"
		b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select 3"})
		db3, release3, err := b.my.DB(ctx, cred)
		require.NoError(t, err)
		release3()
		require.NotSame(t, db1, db3)
	})

	t.Run("SQLError", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		_, err := b.run(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "selec 1"})
		ne := nodeError(t, err, sqlnode.CodeSQL, true)
		require.InDelta(t, 1064, ne.Details.(map[string]any)["errno"], 0)
		require.Equal(t, "42000", ne.Details.(map[string]any)["sqlstate"])
		_, err = b.run(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select * from t where id = {{ input.id }}"})
		requireCode(t, err, sqlnode.CodeInvalidConfig, true)
	})

	t.Run("SSRF", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		strict := sqlnode.NewMySQL(conntest.StrictConfig())
		t.Cleanup(strict.Close)
		r := newRunner(sqlnode.MySQLNodes(strict)...)
		r.creds = b.creds
		_, err := r.run(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select 1"})
		requireCode(t, err, conn.CodeSSRFBlocked, true)
		cred, err := b.creds.Get(ctx, b.cred)
		require.NoError(t, err)
		_, err = sqlnode.Testers(conntest.StrictConfig())["mysql"](ctx, cred)
		requireCode(t, err, conn.CodeSSRFBlocked, true)
	})

	t.Run("Tester", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		cred, err := b.creds.Get(ctx, b.cred)
		require.NoError(t, err)
		msg, err := sqlnode.Testers(conntest.Config())["mysql"](ctx, cred)
		require.NoError(t, err)
		require.Regexp(t, `^Connected to (MariaDB|MySQL) \d+\.\d+\.\d+ as root@\S+ \(database test\)$`, msg)
	})

	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		start := time.Now()
		marker := "cm_timeout_" + suffix(t)
		_, err := b.run(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select sleep(5) /* " + marker + " */", "timeout": "200ms"})
		ne := nodeError(t, err, sqlnode.CodeTimeout, false)
		require.Contains(t, ne.Message, "200ms")
		require.Less(t, time.Since(start), 2*time.Second)
		_, err = b.run(ctx, t, "mysql.execute", map[string]any{"credential": b.cred, "query": "do sleep(5) /* " + marker + " */", "timeout": "200ms"})
		requireCode(t, err, sqlnode.CodeTimeout, false)
		// The statements were killed on the server, not left running there.
		require.Eventually(t, func() bool {
			out := b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred,
				"query": "select count(*) as n from information_schema.processlist where info like ? and id <> connection_id()", "params": []any{"%" + marker + " */"}})
			return rows(t, out)[0]["n"] == 0.0
		}, 2*time.Second, 20*time.Millisecond)
		// The run's own cancel is not a timeout.
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err = b.run(cctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select sleep(5)"})
		require.ErrorIs(t, err, context.Canceled)
		out := b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select 'ok' as s"})
		require.Equal(t, []map[string]any{{"s": "ok"}}, rows(t, out))
	})

	t.Run("Types", func(t *testing.T) {
		t.Parallel()
		b := setupMy(t)
		tbl := b.table(t, `i int, big bigint, ub bigint unsigned, n decimal(30,10), n2 decimal(40,4), f double, r float, t text, v varchar(20),
			ok bool, dt datetime(6), ts timestamp(3) null, d date, tm time, j json, bl blob, bits bit(8), y year, e enum('x','y'), nul varchar(5), u char(36)`)
		params := []any{42.0, "9007199254740993", "18446744073709551615", "12.5", "123456789012345678901234567890.1234", 1.25, 0.1, "héllo \"world\" 'q'", "v",
			true, "2024-01-02 03:04:05.123456", "2024-01-02 03:04:05.123", "2024-01-02", "10:11:12", map[string]any{"a": []any{1.0, "x"}}, "AP8=",
			5.0, 2024.0, "y", nil, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}
		// Binary data travels as base64 (JSON strings are text).
		ph := strings.Split(strings.TrimSuffix(strings.Repeat("?,", len(params)), ","), ",")
		ph[15] = "from_base64(?)"
		b.exec(t, "insert into "+tbl+" values ("+strings.Join(ph, ", ")+")", params...)
		want := map[string]any{
			"i": 42.0, "big": "9007199254740993", "ub": "18446744073709551615", "n": 12.5, "n2": "123456789012345678901234567890.1234", "f": 1.25, "r": 0.1,
			"t": "héllo \"world\" 'q'", "v": "v", "ok": 1.0, "dt": "2024-01-02T03:04:05.123456Z", "ts": "2024-01-02T03:04:05.123Z", "d": "2024-01-02",
			"tm": "10:11:12", "j": `{"a":[1,"x"]}`, "bl": "AP8=", "bits": 5.0, "y": 2024.0, "e": "y", "nul": nil, "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		}
		// Text protocol (no parameters) and binary protocol (prepared, with a parameter) agree.
		out := b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select * from " + tbl})
		require.Equal(t, []map[string]any{want}, rows(t, out))
		out = b.mustRun(ctx, t, "mysql.query", map[string]any{"credential": b.cred, "query": "select * from " + tbl + " where i = ?", "params": []any{42.0}})
		require.Equal(t, []map[string]any{want}, rows(t, out))
	})
}
