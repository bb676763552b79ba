package storesqlite_test

import (
	"context"
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
