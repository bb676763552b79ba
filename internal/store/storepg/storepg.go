// Package storepg opens the PostgreSQL store through pgx (its database/sql adapter, so that
// sqlstore's queries serve both dialects).
package storepg

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/concertmaster/concertmaster/internal/store/sqlstore"
)

//go:embed migration/*.sql
var migrations embed.FS

// Config configures Open.
type Config struct {
	// URL is a postgres:// connection URL.
	URL string
	// MaxConns bounds the pool (default 20).
	MaxConns int
	// Logger logs background failures.
	Logger *slog.Logger
}

// Dialect returns the PostgreSQL dialect.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migration")
	if err != nil {
		panic(err)
	}
	return sqlstore.Dialect{
		Name:               "postgres",
		DollarPlaceholders: true,
		SkipLocked:         true,
		RowLocks:           true,
		DatabaseClock:      true,
		WritableCTEs:       true,
		TimeValue:          func(t time.Time) any { return t.UTC() },
		Migrations:         sub,
		// A transaction-level advisory lock on a key of ConcertMaster's own ("cmmigrat" in ASCII).
		MigrationLock:     `SELECT pg_advisory_xact_lock(7164502881690870132)`,
		IsUniqueViolation: isUniqueViolation,
	}
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// Open connects to cfg.URL and checks the connection. Call Migrate on the result before use.
func Open(ctx context.Context, cfg Config) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = 20
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return sqlstore.New(sqlstore.Config{Dialect: Dialect(), ReadDB: db, WriteDB: db, Logger: cfg.Logger}), nil
}

// OpenPool returns a pgx pool of at most maxConns connections to url, for River's workers (fetching
// jobs, LISTEN/NOTIFY, leader election); the store's own queries keep their database/sql pool.
func OpenPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("river pool: %w", err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("river pool: %w", err)
	}
	return pool, nil
}
