package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
)

// checkSchedules checks the text of schedules.
func checkSchedules(schedules []store.Schedule) error {
	for _, sc := range schedules {
		if err := checkText("schedule node id", sc.NodeID, "schedule spec", sc.Spec); err != nil {
			return err
		}
	}
	return nil
}

// replaceSchedules makes schedules the workflow's schedules, at version. A node whose spec is
// unchanged keeps its next and last fire times (an unrelated edit neither skips nor repeats a fire);
// one whose spec changed takes the given next fire time and keeps its last one.
func (s *Store) replaceSchedules(ctx context.Context, tx *wtx, tenantID, id string, version int, schedules []store.Schedule) error {
	current, err := s.scheduleSpecs(ctx, tx, tenantID, id)
	if err != nil {
		return err
	}
	for _, sc := range schedules {
		spec, exists := current[sc.NodeID]
		delete(current, sc.NodeID)
		if exists && spec == sc.Spec {
			if _, err := tx.exec(ctx, `UPDATE schedules SET version = ? WHERE tenant_id = ? AND workflow_id = ? AND node_id = ?`,
				version, tenantID, id, sc.NodeID); err != nil {
				return fmt.Errorf("update schedule: %w", err)
			}
			continue
		}
		if _, err := tx.exec(ctx, `INSERT INTO schedules (tenant_id, workflow_id, node_id, version, spec, next_fire_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, workflow_id, node_id) DO UPDATE SET version = excluded.version, spec = excluded.spec, next_fire_at = excluded.next_fire_at`,
			tenantID, id, sc.NodeID, version, sc.Spec, s.t(sc.NextFireAt.UTC().Truncate(time.Microsecond))); err != nil {
			return fmt.Errorf("write schedule: %w", err)
		}
	}
	for nodeID := range current {
		if _, err := tx.exec(ctx, `DELETE FROM schedules WHERE tenant_id = ? AND workflow_id = ? AND node_id = ?`, tenantID, id, nodeID); err != nil {
			return fmt.Errorf("delete schedule: %w", err)
		}
	}
	return nil
}

// scheduleSpecs returns the spec of each schedule of a workflow, by node id.
func (s *Store) scheduleSpecs(ctx context.Context, tx *wtx, tenantID, id string) (map[string]string, error) {
	rows, err := tx.query(ctx, `SELECT node_id, spec FROM schedules WHERE tenant_id = ? AND workflow_id = ?`, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("read schedules: %w", err)
	}
	defer rows.Close()
	current := map[string]string{}
	for rows.Next() {
		var nodeID, spec string
		if err := rows.Scan(&nodeID, &spec); err != nil {
			return nil, fmt.Errorf("read schedules: %w", err)
		}
		current[nodeID] = spec
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schedules: %w", err)
	}
	return current, nil
}

const scheduleColumns = `tenant_id, workflow_id, node_id, version, spec, next_fire_at, last_fire_at`

func scanSchedule(row interface{ Scan(...any) error }) (store.Schedule, error) {
	var sc store.Schedule
	var next, last nullTime
	if err := row.Scan(&sc.TenantID, &sc.WorkflowID, &sc.NodeID, &sc.Version, &sc.Spec, &next, &last); err != nil {
		return store.Schedule{}, err
	}
	sc.NextFireAt, sc.LastFireAt = next.Time, last.ptr()
	return sc, nil
}

func (s *Store) listSchedules(ctx context.Context, what, query string, args ...any) ([]store.Schedule, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []store.Schedule
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// ListSchedules implements store.Store.
func (s *Store) ListSchedules(ctx context.Context, tenantID, workflowID string) ([]store.Schedule, error) {
	if err := checkText("tenant id", tenantID, "workflow id", workflowID); err != nil {
		return nil, err
	}
	return s.listSchedules(ctx, "list schedules", `SELECT `+scheduleColumns+` FROM schedules WHERE tenant_id = ? AND workflow_id = ? ORDER BY node_id`,
		tenantID, workflowID)
}

// ListDueSchedules implements store.Store.
func (s *Store) ListDueSchedules(ctx context.Context, p store.ListDueSchedulesParams) ([]store.Schedule, error) {
	limit := p.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.listSchedules(ctx, "list due schedules",
		`SELECT `+scheduleColumns+` FROM schedules WHERE next_fire_at <= ? ORDER BY next_fire_at, tenant_id, workflow_id, node_id LIMIT ?`,
		s.t(p.Now.UTC()), limit)
}

// NextScheduleAt implements store.Store.
func (s *Store) NextScheduleAt(ctx context.Context) (*time.Time, error) {
	var at nullTime
	if err := s.queryRow(ctx, `SELECT MIN(next_fire_at) FROM schedules`).Scan(&at); err != nil {
		return nil, fmt.Errorf("next schedule: %w", err)
	}
	return at.ptr(), nil
}

// FireSchedule implements store.Store.
func (s *Store) FireSchedule(ctx context.Context, tx store.Tx, p store.FireScheduleParams) error {
	if err := checkText("tenant id", p.TenantID, "workflow id", p.WorkflowID, "schedule node id", p.NodeID); err != nil {
		return err
	}
	if tx == nil {
		return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error { return s.fireSchedule(ctx, tx, p) })
	}
	hooks, ok := tx.(*txHooks)
	if !ok || hooks.tx == nil || hooks.tx.s != s {
		return errors.New("fire schedule: the transaction is not one of this store's")
	}
	return s.fireSchedule(ctx, hooks.tx, p)
}

func (s *Store) fireSchedule(ctx context.Context, tx *wtx, p store.FireScheduleParams) error {
	var fired any
	if p.FiredAt != nil {
		fired = s.t(p.FiredAt.UTC().Truncate(time.Microsecond))
	}
	res, err := tx.exec(ctx, `UPDATE schedules SET next_fire_at = ?, last_fire_at = COALESCE(?, last_fire_at)
		WHERE tenant_id = ? AND workflow_id = ? AND node_id = ? AND next_fire_at = ?`,
		s.t(p.Next.UTC().Truncate(time.Microsecond)), fired, p.TenantID, p.WorkflowID, p.NodeID, s.t(p.Due.UTC().Truncate(time.Microsecond)))
	if err != nil {
		return fmt.Errorf("fire schedule: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("fire schedule: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("schedule %s of workflow %s is no longer due at %s: %w", p.NodeID, p.WorkflowID, p.Due.UTC().Format(time.RFC3339Nano), store.ErrConflict)
	}
	return nil
}
