//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package storesqlite

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLockFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cm.db")

	// Stores share the database.
	a, err := Open(Config{Path: path})
	require.NoError(t, err)
	b, err := Open(Config{Path: path})
	require.NoError(t, err)

	// A restore cannot take it while they hold it.
	_, err = lockFile(LockPath(path), true)
	require.ErrorIs(t, err, errLocked)
	require.NoError(t, a.Close())
	_, err = lockFile(LockPath(path), true)
	require.ErrorIs(t, err, errLocked)
	require.NoError(t, b.Close())

	// A restore holding it keeps stores out.
	restore, err := lockFile(LockPath(path), true)
	require.NoError(t, err)
	_, err = Open(Config{Path: path})
	require.ErrorContains(t, err, "a restore is replacing the database")
	require.NoError(t, restore.unlock())
	c, err := Open(Config{Path: path})
	require.NoError(t, err)
	require.NoError(t, c.Close())
}
