//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package storesqlite

// fileLock is a no-op where flock is not available: restore cannot tell a live database there and
// relies on SQLite's own locking alone.
type fileLock struct{}

func lockFile(string, bool) (*fileLock, error) { return &fileLock{}, nil }

func (*fileLock) unlock() error { return nil }
