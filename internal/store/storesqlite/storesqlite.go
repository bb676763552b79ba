// Package storesqlite opens the SQLite store: modernc.org/sqlite (no cgo) in WAL mode, one writer
// connection fed by sqlstore's group commit, and a small pool of read-only connections.
package storesqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/concertmaster/concertmaster/internal/store/sqlstore"
)

//go:embed migration/*.sql
var migrations embed.FS

// Config configures Open.
type Config struct {
	// Path is the database file; its directory is created when missing.
	Path string
	// Readers is the number of read connections (default 4).
	Readers int
	// Logger logs background failures.
	Logger *slog.Logger
}

// Dialect returns the SQLite dialect.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migration")
	if err != nil {
		panic(err)
	}
	return sqlstore.Dialect{
		Name:              "sqlite",
		TimeValue:         func(t time.Time) any { return t.UnixMicro() },
		Migrations:        sub,
		IsUniqueViolation: isUniqueViolation,
	}
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code()
	return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// Open opens (creating if needed) the database at cfg.Path. Call Migrate on the result before use.
func Open(cfg Config) (*sqlstore.Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	readers := cfg.Readers
	if readers <= 0 {
		readers = 4
	}
	// Every process that has the database open holds a shared lock on PATH.lock: restore takes it
	// exclusively, which tells it whether the database is live.
	lock, err := lockFile(LockPath(cfg.Path), false)
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("open sqlite %s: a restore is replacing the database; start again once it has finished", cfg.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	writeDB, err := sql.Open("sqlite", dsn(cfg.Path, false))
	if err != nil {
		_ = lock.unlock()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	writeDB.SetMaxOpenConns(1)
	writeDB.SetMaxIdleConns(1)
	writeDB.SetConnMaxLifetime(0)
	writeDB.SetConnMaxIdleTime(0)
	// Create the file and switch it to WAL before the readers open it.
	if _, err := writeDB.ExecContext(context.Background(), `PRAGMA journal_mode = WAL`); err != nil {
		writeDB.Close()
		_ = lock.unlock()
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	readDB, err := sql.Open("sqlite", dsn(cfg.Path, true))
	if err != nil {
		writeDB.Close()
		_ = lock.unlock()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	readDB.SetMaxOpenConns(readers)
	readDB.SetMaxIdleConns(readers)
	readDB.SetConnMaxLifetime(0)
	readDB.SetConnMaxIdleTime(0)
	cpDB, err := sql.Open("sqlite", dsn(cfg.Path, false))
	if err != nil {
		writeDB.Close()
		readDB.Close()
		_ = lock.unlock()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	cpDB.SetMaxOpenConns(1)
	cp := startCheckpointer(cpDB, cfg.Logger)
	return sqlstore.New(sqlstore.Config{
		Dialect:           Dialect(),
		ReadDB:            readDB,
		WriteDB:           writeDB,
		BatchWrites:       true,
		PrepareStatements: true,
		Logger:            cfg.Logger,
		OnClose:           []func() error{cp.stop, lock.unlock},
	}), nil
}

// CheckpointInterval is how often the WAL is copied back into the database file.
const CheckpointInterval = time.Second

// checkpointer copies the write-ahead log into the database file in the background, in PASSIVE mode:
// it never blocks the writer or the readers. SQLite's automatic checkpoint would instead run inside
// whichever commit crosses its threshold, and that request would pay for it.
type checkpointer struct {
	db   *sql.DB
	done chan struct{}
	wg   sync.WaitGroup
}

func startCheckpointer(db *sql.DB, logger *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, done: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(CheckpointInterval)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				if _, err := db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err != nil && logger != nil {
					logger.Warn("WAL checkpoint failed", "error", err.Error())
				}
			}
		}
	}()
	return c
}

// stop ends the background checkpoints and runs a last full one, which leaves an empty WAL.
func (c *checkpointer) stop() error {
	close(c.done)
	c.wg.Wait()
	_, err := c.db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`)
	return errors.Join(err, c.db.Close())
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "cache_size(-16000)")
	// Checkpoints run in the background (see checkpointer), never inside a writer's commit.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}
