//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package storesqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileLock is an advisory lock (flock) on a database's lock file, PATH.lock. It is a file of its own
// because closing any descriptor of the database file would drop SQLite's own POSIX locks.
type fileLock struct{ f *os.File }

// lockFile takes a shared or an exclusive lock without waiting; errLocked when the other kind is
// held, by this process or another.
func lockFile(path string, exclusive bool) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) //nolint:gosec // the lock file beside the database CM_DATABASE_URL names
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// unlock releases the lock.
func (l *fileLock) unlock() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
