package storesqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// Errors of Backup and Restore.
var (
	// ErrExists means the backup file already exists (and force was not given).
	ErrExists = errors.New("file exists")
	// ErrLive means a running process has the database open (and force was not given).
	ErrLive = errors.New("database is in use")
	// ErrNotConcertMaster means a file is not a ConcertMaster database.
	ErrNotConcertMaster = errors.New("not a ConcertMaster database")
	// ErrTooNew means a backup was made by a newer ConcertMaster, whose schema this one does not know.
	ErrTooNew = errors.New("made by a newer ConcertMaster")

	errLocked = errors.New("locked")
)

// LockPath returns the lock file of the database at path: every process that has the database open
// holds a shared lock on it, and restore takes it exclusively.
func LockPath(path string) string { return path + ".lock" }

// Info describes a database file.
type Info struct {
	// SchemaVersion is the latest migration applied to it.
	SchemaVersion int
	// Workflows and Executions count its rows (deleted workflows included).
	Workflows, Executions int64
	// Bytes is the file's size.
	Bytes int64
}

// SchemaVersion returns the latest migration version this build knows.
func SchemaVersion() int {
	files, _ := fs.Glob(Dialect().Migrations, "*.up.sql")
	latest := 0
	for _, f := range files {
		if v, err := strconv.Atoi(strings.SplitN(f, "_", 2)[0]); err == nil {
			latest = max(latest, v)
		}
	}
	return latest
}

// Backup writes a consistent, compacted copy of the database at dbPath to dest with VACUUM INTO,
// from a connection of its own: it reads one snapshot of the database, so a server may keep running
// and writing meanwhile. The copy is written to a temporary file beside dest, checked, and then
// renamed to dest, so dest is never left half-written. An existing dest is refused unless force.
func Backup(ctx context.Context, dbPath, dest string, force bool) (Info, error) {
	if err := checkDest(dest, force); err != nil {
		return Info{}, err
	}
	if _, err := os.Stat(dbPath); err != nil {
		return Info{}, fmt.Errorf("backup: database %s: %w", dbPath, err)
	}
	// mode=rw never creates a database that is not there.
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return Info{}, fmt.Errorf("backup: open %s: %w", dbPath, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := readInfo(ctx, db); err != nil {
		return Info{}, fmt.Errorf("backup: %s: %w", dbPath, err)
	}
	tmp, err := tempPath(dest)
	if err != nil {
		return Info{}, err
	}
	defer func() { _ = os.Remove(tmp) }() // gone after the rename; left over only on failure
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return Info{}, fmt.Errorf("backup: copy %s: %w", dbPath, err)
	}
	info, err := Inspect(ctx, tmp)
	if err != nil {
		return Info{}, fmt.Errorf("backup: check the copy: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return Info{}, err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return Info{}, fmt.Errorf("backup: %w", err)
	}
	return info, syncDir(filepath.Dir(dest))
}

// Inspect opens the database file at path read-only, checks that it is a sound ConcertMaster
// database (PRAGMA quick_check) and describes it.
func Inspect(ctx context.Context, path string) (Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Info{}, err
	}
	if !st.Mode().IsRegular() {
		return Info{}, fmt.Errorf("%s is not a file: %w", path, ErrNotConcertMaster)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return Info{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
		return Info{}, fmt.Errorf("%s: %w (%s)", path, ErrNotConcertMaster, sqliteMessage(err))
	}
	if check != "ok" {
		return Info{}, fmt.Errorf("%s is damaged: %s", path, check)
	}
	info, err := readInfo(ctx, db)
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", path, err)
	}
	info.Bytes = st.Size()
	return info, nil
}

// readInfo reads the schema version and the row counts.
func readInfo(ctx context.Context, db *sql.DB) (Info, error) {
	var info Info
	var version sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM cm_migrations`).Scan(&version); err != nil || !version.Valid {
		return Info{}, fmt.Errorf("%w: no migrations table (%s)", ErrNotConcertMaster, sqliteMessage(err))
	}
	info.SchemaVersion = int(version.Int64)
	if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM workflows), (SELECT COUNT(*) FROM executions)`).Scan(&info.Workflows, &info.Executions); err != nil {
		return Info{}, fmt.Errorf("%w: %s", ErrNotConcertMaster, sqliteMessage(err))
	}
	return info, nil
}

// Restore replaces the contents of the database at dbPath (created when missing) with the backup at
// src, through SQLite's online backup API, so that SQLite's own locking keeps every reader and
// writer safe; then it applies the migrations this build has and src lacks. src must be a sound
// ConcertMaster database whose schema is not newer than this build's. A database that a running
// process has open is refused unless force: that process then sees the restored contents, and the
// executions it was running may fail, so restart it.
func Restore(ctx context.Context, src, dbPath string, force bool) (Info, error) {
	info, err := Inspect(ctx, src)
	if err != nil {
		return Info{}, fmt.Errorf("restore: %w", err)
	}
	if info.SchemaVersion > SchemaVersion() {
		return Info{}, fmt.Errorf("restore: %s has schema version %d, this build knows up to %d: %w",
			src, info.SchemaVersion, SchemaVersion(), ErrTooNew)
	}
	if same, err := sameFile(src, dbPath); err == nil && same {
		return Info{}, fmt.Errorf("restore: %s is the database itself", src)
	}
	if dir := filepath.Dir(dbPath); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return Info{}, fmt.Errorf("restore: create database directory: %w", err)
		}
	}
	lock, err := lockFile(LockPath(dbPath), true)
	switch {
	case errors.Is(err, errLocked) && !force:
		return Info{}, fmt.Errorf("restore: %s is open in a running ConcertMaster process (it holds %s): %w",
			dbPath, LockPath(dbPath), ErrLive)
	case errors.Is(err, errLocked):
		lock = nil
	case err != nil:
		return Info{}, fmt.Errorf("restore: %w", err)
	}
	err = restorePages(ctx, src, dbPath)
	if uerr := lock.unlock(); err == nil && uerr != nil {
		err = fmt.Errorf("restore: release lock: %w", uerr)
	}
	if err != nil {
		return Info{}, err
	}
	st, err := Open(Config{Path: dbPath})
	if err != nil {
		return Info{}, fmt.Errorf("restore: reopen: %w", err)
	}
	_, merr := st.Migrate(ctx)
	if err := errors.Join(merr, st.Close()); err != nil {
		return Info{}, fmt.Errorf("restore: migrate: %w", err)
	}
	return Inspect(ctx, dbPath)
}

// restoreTimeout bounds how long restore waits for a live database's writer.
const restoreTimeout = time.Minute

// restorePages copies every page of src into dbPath in one step of the backup API.
func restorePages(ctx context.Context, src, dbPath string) error {
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("restore: open %s: %w", dbPath, err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("restore: open %s: %w", dbPath, err)
	}
	defer func() { _ = conn.Close() }()
	deadline := time.Now().Add(restoreTimeout)
	return conn.Raw(func(dc any) error {
		r, ok := dc.(interface {
			NewRestore(srcURI string) (*sqlite.Backup, error)
		})
		if !ok {
			return fmt.Errorf("restore: the SQLite driver has no backup API (%T)", dc)
		}
		for {
			b, err := r.NewRestore("file:" + src + "?mode=ro")
			if err != nil {
				return fmt.Errorf("restore: read %s: %w", src, err)
			}
			_, serr := b.Step(-1)
			ferr := b.Finish()
			if serr == nil && ferr == nil {
				return nil
			}
			err = errors.Join(serr, ferr)
			if !isBusy(err) || time.Now().After(deadline) {
				return fmt.Errorf("restore: write %s: %w", dbPath, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff
	return code == 5 || code == 6 // SQLITE_BUSY, SQLITE_LOCKED
}

// sqliteMessage shortens a driver error for a message about the file.
func sqliteMessage(err error) string {
	if err == nil {
		return "empty"
	}
	return err.Error()
}

func checkDest(dest string, force bool) error {
	st, err := os.Stat(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("backup: %w", err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("backup: %s is not a regular file", dest)
	case !force:
		return fmt.Errorf("backup: %s: %w (pass --force to replace it)", dest, ErrExists)
	}
	return nil
}

// tempPath names a file beside dest that does not exist yet.
func tempPath(dest string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	return filepath.Join(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-"+hex.EncodeToString(b[:])), nil
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0) //nolint:gosec // the backup file the operator named, just written
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: sync: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir) //nolint:gosec // the directory of the operator's backup or database file
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer d.Close()
	// Some file systems cannot sync a directory; the rename is then as durable as they make it.
	_ = d.Sync()
	return nil
}
