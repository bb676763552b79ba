// Package sqlstore implements store.Store over database/sql for both SQL dialects ConcertMaster
// supports. The driver packages (storesqlite, storepg) open the connections, pick the Dialect and embed
// their migrations; every query lives here, written once with "?" placeholders that the PostgreSQL
// dialect rebinds to "$n".
//
// Writes go through one path: each write is a function run inside a transaction. With
// Config.BatchWrites (SQLite, whose database has a single writer), concurrent writes are grouped into
// one transaction — group commit — and every caller still learns of its write only once it is
// durable; a failing write sends its batch back to run one write per transaction.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
)

// Dialect captures what differs between the SQL databases.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// DollarPlaceholders rebinds "?" to "$1", "$2"…
	DollarPlaceholders bool
	// SkipLocked appends FOR UPDATE SKIP LOCKED to claim queries.
	SkipLocked bool
	// RowLocks appends FOR UPDATE to the reads that decide a write (cancel, retry), so that concurrent
	// transactions on one execution take turns. SQLite needs none: its writes are serialized.
	RowLocks bool
	// DatabaseClock makes lease times come from the database's clock (now()), so that processes on
	// several hosts agree on them whatever their own clocks say. Without it (SQLite, which one process
	// owns) they come from the store's clock.
	DatabaseClock bool
	// WritableCTEs lets one statement update or check a row and insert into other tables (INSERT
	// and UPDATE inside WITH, arrays as parameters): a step of an execution is then written in one
	// round trip, without an explicit transaction (PostgreSQL).
	WritableCTEs bool
	// TimeValue converts a time to the column representation.
	TimeValue func(time.Time) any
	// Migrations holds NNNN_name.up.sql files, applied in order.
	Migrations fs.FS
	// MigrationLock, when set, is run first in every migration transaction and holds a lock until
	// the transaction ends, so that processes that start together on one database (API servers and
	// workers of a deploy) migrate it one after the other. SQLite needs none: BEGIN IMMEDIATE already
	// lets one writer in at a time.
	MigrationLock string
	// IsUniqueViolation reports whether err is a unique-constraint violation.
	IsUniqueViolation func(error) bool
}

// Config configures a Store.
type Config struct {
	Dialect Dialect
	// ReadDB serves reads. WriteDB serves writes; it may be the same pool.
	ReadDB, WriteDB *sql.DB
	// BatchWrites groups concurrent writes into shared transactions (group commit).
	BatchWrites bool
	// PrepareStatements caches prepared statements per query (SQLite; pgx caches on its own).
	PrepareStatements bool
	// MaxBatch bounds the writes grouped into one transaction (default 256).
	MaxBatch int
	// Logger logs background failures.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnClose run when the store closes, before the pools close (drivers stop their background work).
	OnClose []func() error
}

// Store is the database/sql implementation of store.Store.
type Store struct {
	d       Dialect
	read    *sql.DB
	writeDB *sql.DB
	logger  *slog.Logger
	now     func() time.Time

	queries sync.Map // query text → rebound text

	readStmts, writeStmts *stmtCache
	// wconn is the writer's one connection when statements are prepared: prepared statements belong
	// to a connection, and SQLite has one writer anyway.
	wconn *sql.Conn

	batch    chan *writeReq
	maxBatch int
	stop     chan struct{}
	stopped  chan struct{}
	closeMu  sync.Once
	onClose  []func() error

	onRunnable atomic.Pointer[store.RunnableHook]
}

// OnRunnable sets the hook told of executions that become runnable (see store.RunnableHook); call it
// before the store serves writes.
func (s *Store) OnRunnable(h store.RunnableHook) { s.onRunnable.Store(&h) }

// runnable calls the RunnableHook, if one is set.
func (s *Store) runnable(ctx context.Context, hooks *txHooks, ref store.ExecutionRef, at time.Time) error {
	h := s.onRunnable.Load()
	if h == nil || *h == nil {
		return nil
	}
	if err := (*h)(ctx, hooks, ref, at); err != nil {
		return fmt.Errorf("enqueue execution %s: %w", ref.ID, err)
	}
	return nil
}

var _ store.Store = (*Store)(nil)

// New returns a Store over the given pools; call Migrate before use.
func New(cfg Config) *Store {
	s := &Store{
		d:        cfg.Dialect,
		read:     cfg.ReadDB,
		writeDB:  cfg.WriteDB,
		logger:   cfg.Logger,
		now:      cfg.Now,
		maxBatch: cfg.MaxBatch,
		onClose:  cfg.OnClose,
	}
	if s.writeDB == nil {
		s.writeDB = s.read
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 256
	}
	if cfg.PrepareStatements {
		s.readStmts = newStmtCache(s.read)
		if conn, err := s.writeDB.Conn(context.Background()); err == nil {
			s.wconn = conn
			s.writeStmts = newConnStmtCache(conn)
		} else {
			s.logger.Warn("Writer connection unavailable; statements are not prepared", "error", err.Error())
		}
	}
	if cfg.BatchWrites {
		s.batch = make(chan *writeReq, 4096)
		s.stop = make(chan struct{})
		s.stopped = make(chan struct{})
		go s.batchLoop()
	}
	return s
}

// Dialect returns the store's dialect name.
func (s *Store) Dialect() string { return s.d.Name }

// DB returns the pool writes use, for drivers and dispatchers that need it.
func (s *Store) DB() *sql.DB { return s.writeDB }

// Ping checks that both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Close stops the batch writer and closes the pools.
func (s *Store) Close() error {
	var err error
	s.closeMu.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.stopped
		}
		var errs []error
		for _, f := range s.onClose {
			errs = append(errs, f())
		}
		if s.readStmts != nil {
			s.readStmts.close()
		}
		if s.writeStmts != nil {
			s.writeStmts.close()
			_ = s.wconn.Close()
		}
		err = errors.Join(append(errs, s.read.Close(), closeIfOther(s.writeDB, s.read))...)
	})
	return err
}

func closeIfOther(a, b *sql.DB) error {
	if a == b {
		return nil
	}
	return a.Close()
}

// q rebinds a query for the dialect, caching the result.
func (s *Store) q(query string) string {
	if !s.d.DollarPlaceholders {
		return query
	}
	if v, ok := s.queries.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	out := b.String()
	s.queries.Store(query, out)
	return out
}

// forUpdate returns the clause that locks the rows a read decides a write on, if the dialect needs one.
func (s *Store) forUpdate() string {
	if s.d.RowLocks {
		return " FOR UPDATE"
	}
	return ""
}

// forShare returns the clause that holds the row a write is conditional on until the transaction
// ends, so that a concurrent conditional update of it (a claim) waits for the write to commit or roll
// back instead of slipping in between the check and the write.
func (s *Store) forShare() string {
	if s.d.RowLocks {
		return " FOR SHARE"
	}
	return ""
}

// clockPlus returns SQL for the current time plus d and its one argument: the database's clock with
// Dialect.DatabaseClock, else the store's.
func (s *Store) clockPlus(d time.Duration) (string, any) {
	if s.d.DatabaseClock {
		return "(now() + make_interval(secs => ?))", d.Seconds()
	}
	return "?", s.t(s.now().UTC().Add(d))
}

// t converts a time for the dialect.
func (s *Store) t(v time.Time) any { return s.d.TimeValue(v) }

// tp converts an optional time.
func (s *Store) tp(v *time.Time) any {
	if v == nil {
		return nil
	}
	return s.d.TimeValue(*v)
}

// txHooks collects the after-commit callbacks of one write; it is the store.Tx hooks receive.
type txHooks struct {
	tx       *wtx
	onCommit []func()
	// replay, set by a write that found its change already made (an idempotent repeat, a refused
	// refresh that only revoked), keeps the audit entries of its context out of the transaction:
	// the change they record is not this call's.
	replay bool
}

func (h *txHooks) OnCommit(f func()) { h.onCommit = append(h.onCommit, f) }

// SQLTx returns the underlying transaction, or nil on SQLite, whose writes run on the writer's
// connection without a *sql.Tx.
func (h *txHooks) SQLTx() *sql.Tx { return h.tx.tx }

func (h *txHooks) run() {
	for _, f := range h.onCommit {
		f()
	}
}

type writeFunc func(ctx context.Context, tx *wtx, hooks *txHooks) error

type writeReq struct {
	ctx  context.Context
	fn   writeFunc
	done chan error
}

// write runs fn in a transaction and, once committed, its after-commit callbacks. The audit entries
// store.WithAudit put in ctx, if no write took them yet, are inserted in the same transaction, after
// fn's statements: they commit or roll back with them (and stay out when fn marks a replay).
func (s *Store) write(ctx context.Context, fn writeFunc) error {
	if entries := store.ClaimAudit(ctx); len(entries) > 0 {
		if err := s.prepareAudit(entries); err != nil {
			return err
		}
		// Claimed once, here: a batch that runs fn again (alone, after another write of the batch
		// failed) inserts the entries again in the new transaction, where they belong.
		inner := fn
		fn = func(ctx context.Context, tx *wtx, hooks *txHooks) error {
			if err := inner(ctx, tx, hooks); err != nil || hooks.replay {
				return err
			}
			return s.insertAudit(ctx, tx, entries)
		}
	}
	if s.batch == nil {
		return s.writeDirect(ctx, fn)
	}
	select {
	case <-s.stop:
		return errClosed
	default:
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.batch <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return errClosed
	}
	// Once queued, the write runs to completion even if ctx ends, so that a caller never gives up
	// on a write that then commits behind its back.
	select {
	case err := <-req.done:
		return err
	case <-s.stopped:
		// The writer has stopped: it answered this write before stopping, or a Close that ran
		// meanwhile left the write in the queue, where nobody will ever run it.
		select {
		case err := <-req.done:
			return err
		default:
			return errClosed
		}
	}
}

// errClosed is the error of a write that reaches a closed store.
var errClosed = errors.New("store is closed")

func (s *Store) writeDirect(ctx context.Context, fn writeFunc) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	hooks := &txHooks{tx: tx}
	if err := fn(ctx, tx, hooks); err != nil {
		_ = tx.rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.commit(context.WithoutCancel(ctx)); err != nil {
		_ = tx.rollback(context.WithoutCancel(ctx))
		return fmt.Errorf("commit: %w", err)
	}
	hooks.run()
	return nil
}

func (s *Store) batchLoop() {
	defer close(s.stopped)
	reqs := make([]*writeReq, 0, s.maxBatch)
	for {
		reqs = reqs[:0]
		select {
		case r := <-s.batch:
			reqs = append(reqs, r)
		case <-s.stop:
			s.drainOnStop()
			return
		}
	fill:
		for len(reqs) < s.maxBatch {
			select {
			case r := <-s.batch:
				reqs = append(reqs, r)
			default:
				break fill
			}
		}
		s.runBatch(reqs)
	}
}

func (s *Store) drainOnStop() {
	for {
		select {
		case r := <-s.batch:
			r.done <- errClosed
		default:
			return
		}
	}
}

// runBatch commits a group of writes in one transaction. Writes fail rarely (a lost race, a taken
// webhook path), so the batch runs without savepoints, which cost SQLite a sub-journal page per
// touched page; when any write fails, the batch is rolled back and every write is run again in a
// transaction of its own, so that each caller gets exactly its own outcome.
func (s *Store) runBatch(reqs []*writeReq) {
	ctx := context.Background()
	if len(reqs) == 1 {
		reqs[0].done <- s.writeDirect(reqs[0].ctx, reqs[0].fn)
		return
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		for _, r := range reqs {
			r.done <- fmt.Errorf("begin transaction: %w", err)
		}
		return
	}
	hooks := make([]*txHooks, len(reqs))
	for i, r := range reqs {
		if r.ctx.Err() != nil {
			// Ran out of time while queued: skip it here, report it below.
			continue
		}
		hooks[i] = &txHooks{tx: tx}
		if err := r.fn(r.ctx, tx, hooks[i]); err != nil {
			_ = tx.rollback(ctx)
			s.runAlone(reqs)
			return
		}
	}
	if err := tx.commit(ctx); err != nil {
		_ = tx.rollback(ctx)
		s.runAlone(reqs)
		return
	}
	for i, r := range reqs {
		if hooks[i] == nil {
			r.done <- r.ctx.Err()
			continue
		}
		hooks[i].run()
		r.done <- nil
	}
}

// runAlone runs each write in its own transaction.
func (s *Store) runAlone(reqs []*writeReq) {
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		r.done <- s.writeDirect(r.ctx, r.fn)
	}
}

// Migrate applies the dialect's pending migrations in order, each in its own transaction, and
// returns how many it applied. Stores migrating one database at the same time each apply what the
// others have not: every migration runs once.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	applied := map[int]bool{}
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		if err := s.lockMigrations(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS cm_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
			return fmt.Errorf("create migrations table: %w", err)
		}
		rows, err := tx.query(ctx, `SELECT version FROM cm_migrations`)
		if err != nil {
			return fmt.Errorf("read migrations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return fmt.Errorf("read migrations: %w", err)
			}
			applied[v] = true
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	files, err := fs.Glob(s.d.Migrations, "*.up.sql")
	if err != nil {
		return 0, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(files)
	n := 0
	for _, f := range files {
		version, err := strconv.Atoi(strings.SplitN(f, "_", 2)[0])
		if err != nil {
			return n, fmt.Errorf("migration %s: name must start with a number", f)
		}
		if applied[version] {
			continue
		}
		body, err := fs.ReadFile(s.d.Migrations, f)
		if err != nil {
			return n, fmt.Errorf("read migration %s: %w", f, err)
		}
		skipped := false
		err = s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
			if err := s.lockMigrations(ctx, tx); err != nil {
				return err
			}
			// Another store may have applied it since the list above was read.
			var done int
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM cm_migrations WHERE version = ?`, version).Scan(&done); err != nil {
				return fmt.Errorf("read migrations: %w", err)
			}
			if skipped = done > 0; skipped {
				return nil
			}
			for _, stmt := range splitStatements(string(body)) {
				if _, err := tx.exec(ctx, stmt); err != nil {
					return fmt.Errorf("apply migration %s: %w", f, err)
				}
			}
			_, err := tx.exec(ctx, `INSERT INTO cm_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				version, f, s.now().UTC().Format(time.RFC3339))
			return err
		})
		if err != nil {
			return n, err
		}
		if !skipped {
			n++
		}
	}
	return n, nil
}

// lockMigrations takes the dialect's migration lock for the rest of tx.
func (s *Store) lockMigrations(ctx context.Context, tx *wtx) error {
	if s.d.MigrationLock == "" {
		return nil
	}
	if _, err := tx.exec(ctx, s.d.MigrationLock); err != nil {
		return fmt.Errorf("lock migrations: %w", err)
	}
	return nil
}

// splitStatements splits a migration into statements at each ";" that ends a line.
func splitStatements(body string) []string {
	var out []string
	for _, stmt := range strings.Split(body, ";\n") {
		if strings.TrimSpace(stripComments(stmt)) != "" {
			out = append(out, stmt)
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
