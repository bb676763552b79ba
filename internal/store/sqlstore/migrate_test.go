package sqlstore_test

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store/sqlstore"
	"github.com/concertmaster/concertmaster/internal/store/storesqlite"
)

// TestMigrate runs hand-made migration sets over a plain database/sql pool (no batching, no
// prepared statements, one pool for reads and writes): migrations apply in order, each once, comments
// and blank statements are skipped, and a bad migration stops the run with its name, keeping those
// before it.
func TestMigrate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files fstest.MapFS
		// applied is how many migrations the first run applies; wantErr what it says when it fails.
		applied int
		wantErr string
		// tables are the tables that exist afterwards.
		tables []string
	}{
		{
			name: "InOrderWithComments",
			files: fstest.MapFS{
				"0002_b.up.sql": {Data: []byte("-- b needs a\nCREATE TABLE b (x INTEGER REFERENCES a (x));\n\n-- a trailing comment\n")},
				"0001_a.up.sql": {Data: []byte("CREATE TABLE a (x INTEGER PRIMARY KEY);\nINSERT INTO a (x) VALUES (1);\n")},
				"README.md":     {Data: []byte("not a migration")},
			},
			applied: 2, tables: []string{"a", "b"},
		},
		{
			name: "BadSQL",
			files: fstest.MapFS{
				"0001_a.up.sql": {Data: []byte("CREATE TABLE a (x INTEGER);\n")},
				"0002_b.up.sql": {Data: []byte("CREATE TABLEAU b (x INTEGER);\n")},
			},
			applied: 1, wantErr: "apply migration 0002_b.up.sql", tables: []string{"a"},
		},
		{
			name: "NotNumbered",
			files: fstest.MapFS{
				"init.up.sql": {Data: []byte("CREATE TABLE a (x INTEGER);\n")},
			},
			wantErr: "migration init.up.sql: name must start with a number",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
			require.NoError(t, err)
			d := storesqlite.Dialect()
			d.Migrations = tc.files
			st := sqlstore.New(sqlstore.Config{Dialect: d, ReadDB: db})
			defer func() { _ = st.Close() }()
			require.Same(t, db, st.DB(), "without a write pool, writes use the read pool")
			require.NoError(t, st.Ping(ctx))

			n, err := st.Migrate(ctx)
			require.Equal(t, tc.applied, n)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				n, err = st.Migrate(ctx)
				require.NoError(t, err)
				require.Zero(t, n, "a second run applies nothing")
			}
			for _, table := range tc.tables {
				var name string
				require.NoError(t, db.QueryRowContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&name), table)
			}
			var recorded int
			require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM cm_migrations`).Scan(&recorded))
			require.Equal(t, tc.applied, recorded)
		})
	}
}

// TestConcurrentMigrate: processes that start together on a fresh database (API servers and
// workers of one deploy) all migrate it; every one of them succeeds and each migration is applied
// once.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st, another := b.fresh(t)
			const n = 6
			stores := []*sqlstore.Store{st}
			for range n - 1 {
				stores = append(stores, another())
			}
			applied := make([]int, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i, s := range stores {
				wg.Go(func() { applied[i], errs[i] = s.Migrate(context.Background()) })
			}
			wg.Wait()
			total := 0
			for i := range n {
				require.NoError(t, errs[i], "store %d", i)
				total += applied[i]
			}
			files, err := fs.Glob(b.dialect.Migrations, "*.up.sql")
			require.NoError(t, err)
			require.Equal(t, len(files), total, "each migration applied once")
			again, err := st.Migrate(context.Background())
			require.NoError(t, err)
			require.Zero(t, again)
		})
	}
}
