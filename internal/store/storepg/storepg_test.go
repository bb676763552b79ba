package storepg_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/storepg"
	"github.com/concertmaster/concertmaster/internal/store/storetest"
)

// testURL returns CM_TEST_DATABASE_URL; without it the PostgreSQL tests are skipped (make test and
// CI always set it, and then an unreachable server fails the tests).
func testURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("CM_TEST_DATABASE_URL")
	if u == "" {
		t.Skip("CM_TEST_DATABASE_URL is not set; run through make test to include PostgreSQL")
	}
	return u
}

// newSchemaStore opens a store in a fresh schema that is dropped after the test.
func newSchemaStore(t *testing.T, base string) store.Store {
	t.Helper()
	s, _ := newSchemaStoreURL(t, base)
	return s
}

// newSchemaStoreURL is newSchemaStore that also returns the URL of the schema.
func newSchemaStoreURL(t *testing.T, base string) (store.Store, string) {
	t.Helper()
	ctx := context.Background()
	schema := "cmtest_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err, "PostgreSQL at CM_TEST_DATABASE_URL must be reachable")
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })

	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := storepg.Open(ctx, storepg.Config{URL: u.String(), MaxConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	_, err = s.Migrate(ctx)
	require.NoError(t, err)
	return s, u.String()
}

func TestAuditAppendOnly(t *testing.T) {
	t.Parallel()
	s, u := newSchemaStoreURL(t, testURL(t))
	db, err := sql.Open("pgx", u)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	storetest.RequireAuditAppendOnly(t, s, db)
}

func TestUpgradeToPayloadHeads(t *testing.T) {
	t.Parallel()
	base := testURL(t)
	ctx := context.Background()
	schema := "cmtest_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	storetest.UpgradeToPayloadHeads(t, db, storepg.Dialect().Migrations, "now()", func() store.Store {
		s, err := storepg.Open(ctx, storepg.Config{URL: u.String(), MaxConns: 4})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		n, err := s.Migrate(ctx)
		require.NoError(t, err)
		require.Positive(t, n)
		return s
	})
}

func TestConformance(t *testing.T) {
	t.Parallel()
	base := testURL(t)
	require.NotEmpty(t, base)
	storetest.Run(t, func(t *testing.T) store.Store {
		t.Helper()
		return newSchemaStore(t, base)
	})
}

func TestOpenFailsClearly(t *testing.T) {
	t.Parallel()
	_, err := storepg.Open(context.Background(), storepg.Config{URL: "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"})
	require.Error(t, err)
	require.Contains(t, err.Error(), "connect to postgres")
}
