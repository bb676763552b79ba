package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements by query text. SQLite spends a large share of a small
// statement's time parsing it, so the SQLite store prepares each query once per pool; pgx already
// caches prepared statements per connection, so the PostgreSQL store goes without.
type stmtCache struct {
	prepare func(ctx context.Context, query string) (*sql.Stmt, error)
	mu      sync.Mutex
	m       map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{prepare: db.PrepareContext, m: make(map[string]*sql.Stmt)}
}

func newConnStmtCache(conn *sql.Conn) *stmtCache {
	return &stmtCache{prepare: conn.PrepareContext, m: make(map[string]*sql.Stmt)}
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := c.prepare(ctx, query) //nolint:sqlclosecheck // cached until the store closes (close)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		_ = st.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

// wtx is one write transaction. On SQLite it is a BEGIN IMMEDIATE … COMMIT on the writer's own
// connection, whose statements are prepared once and reused (a *sql.Tx would re-prepare statements
// prepared on a *sql.Conn every time); elsewhere it wraps a *sql.Tx.
type wtx struct {
	s    *Store
	tx   *sql.Tx
	conn *sql.Conn
}

func (s *Store) beginWrite(ctx context.Context) (*wtx, error) {
	if s.wconn != nil {
		if _, err := s.wconn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return nil, err
		}
		return &wtx{s: s, conn: s.wconn}, nil
	}
	tx, err := s.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &wtx{s: s, tx: tx}, nil
}

func (w *wtx) commit(ctx context.Context) error {
	if w.conn != nil {
		_, err := w.conn.ExecContext(ctx, "COMMIT")
		return err
	}
	return w.tx.Commit()
}

func (w *wtx) rollback(ctx context.Context) error {
	if w.conn != nil {
		_, err := w.conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	return w.tx.Rollback()
}

func (w *wtx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = w.s.q(query)
	if w.conn != nil {
		st, err := w.s.writeStmts.get(ctx, query) //nolint:sqlclosecheck // owned by the cache
		if err != nil {
			return nil, err
		}
		return st.ExecContext(ctx, args...)
	}
	return w.tx.ExecContext(ctx, query, args...)
}

func (w *wtx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = w.s.q(query)
	if w.conn != nil {
		if st, err := w.s.writeStmts.get(ctx, query); err == nil { //nolint:sqlclosecheck // owned by the cache
			return st.QueryRowContext(ctx, args...)
		}
		return w.conn.QueryRowContext(ctx, query, args...)
	}
	return w.tx.QueryRowContext(ctx, query, args...)
}

func (w *wtx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = w.s.q(query)
	if w.conn != nil {
		st, err := w.s.writeStmts.get(ctx, query) //nolint:sqlclosecheck // owned by the cache
		if err != nil {
			return nil, err
		}
		return st.QueryContext(ctx, args...)
	}
	return w.tx.QueryContext(ctx, query, args...)
}

// queryRow runs a one-row read.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = s.q(query)
	if s.readStmts != nil {
		if st, err := s.readStmts.get(ctx, query); err == nil { //nolint:sqlclosecheck // owned by the cache
			return st.QueryRowContext(ctx, args...)
		}
	}
	return s.read.QueryRowContext(ctx, query, args...)
}

// query runs a read.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = s.q(query)
	if s.readStmts != nil {
		st, err := s.readStmts.get(ctx, query) //nolint:sqlclosecheck // owned by the cache
		if err != nil {
			return nil, err
		}
		return st.QueryContext(ctx, args...)
	}
	return s.read.QueryContext(ctx, query, args...)
}
