package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
)

// HeartbeatProcess implements store.Store. On PostgreSQL every time is the server's now(), the clock
// all processes share; SQLite, which one process owns, uses the store's clock.
func (s *Store) HeartbeatProcess(ctx context.Context, p store.Process, stale time.Duration) ([]store.Process, error) {
	if err := checkText("process id", p.ID, "process role", p.Role); err != nil {
		return nil, err
	}
	if p.ID == "" || (p.Role != store.ProcessRoleAPI && p.Role != store.ProcessRoleWorker) || stale <= 0 {
		return nil, fmt.Errorf("heartbeat process %q: an id, a role (api or worker) and a positive staleness are required: %w", p.ID, store.ErrInvalidInput)
	}
	var others []store.Process
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		others = others[:0]
		var now string
		var nowArgs []any
		cutoff := `now() - make_interval(secs => ?)`
		cutoffArgs := []any{stale.Seconds()}
		if s.d.Name == "postgres" {
			now = "now()"
		} else {
			t := s.now()
			now, nowArgs = "?", []any{s.t(t)}
			cutoff, cutoffArgs = "?", []any{s.t(t.Add(-stale))}
		}
		if _, err := tx.exec(ctx, `DELETE FROM processes WHERE heartbeat_at < `+cutoff, cutoffArgs...); err != nil {
			return fmt.Errorf("prune processes: %w", err)
		}
		args := append([]any{p.ID, p.Role, p.Redis}, nowArgs...)
		args = append(args, nowArgs...)
		if _, err := tx.exec(ctx, `INSERT INTO processes (id, role, redis, started_at, heartbeat_at) VALUES (?, ?, ?, `+now+`, `+now+`)
			ON CONFLICT (id) DO UPDATE SET role = excluded.role, redis = excluded.redis, heartbeat_at = excluded.heartbeat_at`, args...); err != nil {
			return fmt.Errorf("record process: %w", err)
		}
		rows, err := tx.query(ctx, `SELECT id, role, redis, started_at, heartbeat_at FROM processes WHERE id <> ? ORDER BY id LIMIT ?`, p.ID, store.MaxProcesses)
		if err != nil {
			return fmt.Errorf("list processes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var o store.Process
			var started, beat nullTime
			if err := rows.Scan(&o.ID, &o.Role, &o.Redis, &started, &beat); err != nil {
				return fmt.Errorf("scan process: %w", err)
			}
			o.StartedAt, o.HeartbeatAt = started.Time, beat.Time
			others = append(others, o)
		}
		return errors.Join(rows.Err(), rows.Close())
	})
	if err != nil {
		return nil, err
	}
	return others, nil
}

// RemoveProcess implements store.Store.
func (s *Store) RemoveProcess(ctx context.Context, id string) error {
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		if _, err := tx.exec(ctx, `DELETE FROM processes WHERE id = ?`, id); err != nil {
			return fmt.Errorf("remove process: %w", err)
		}
		return nil
	})
}
