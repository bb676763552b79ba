package storesqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/storesqlite"
	"github.com/concertmaster/concertmaster/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		t.Helper()
		s, err := storesqlite.Open(storesqlite.Config{Path: filepath.Join(t.TempDir(), "cm.db")})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		_, err = s.Migrate(context.Background())
		require.NoError(t, err)
		return s
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	s, err := storesqlite.Open(storesqlite.Config{Path: filepath.Join(t.TempDir(), "cm.db")})
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	n, err := s.Migrate(context.Background())
	require.NoError(t, err)
	require.Positive(t, n)
	n, err = s.Migrate(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestUpgradeToPayloadHeads(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cm.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	storetest.UpgradeToPayloadHeads(t, db, storesqlite.Dialect().Migrations, "1700000000000000", func() store.Store {
		require.NoError(t, db.Close())
		s, err := storesqlite.Open(storesqlite.Config{Path: path})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		n, err := s.Migrate(context.Background())
		require.NoError(t, err)
		require.Positive(t, n)
		return s
	})
}

func TestAuditAppendOnly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cm.db")
	s, err := storesqlite.Open(storesqlite.Config{Path: path})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	_, err = s.Migrate(context.Background())
	require.NoError(t, err)
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	storetest.RequireAuditAppendOnly(t, s, db)
}
