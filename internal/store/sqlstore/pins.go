package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/concertmaster/concertmaster/internal/store"
)

// ListPins implements store.Store.
func (s *Store) ListPins(ctx context.Context, tenantID, workflowID string) ([]store.Pin, error) {
	if err := checkText("tenant id", tenantID, "workflow id", workflowID); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT p.node_id, p.port, p.data, p.updated_at, p.updated_by FROM workflow_pins p
		JOIN workflows w ON w.tenant_id = p.tenant_id AND w.id = p.workflow_id AND w.deleted_at IS NULL
		WHERE p.tenant_id = ? AND p.workflow_id = ? ORDER BY p.node_id LIMIT ?`, tenantID, workflowID, store.MaxPins)
	if err != nil {
		return nil, fmt.Errorf("list pins: %w", err)
	}
	defer rows.Close()
	var out []store.Pin
	for rows.Next() {
		p := store.Pin{WorkflowID: workflowID}
		var data string
		var at nullTime
		if err := rows.Scan(&p.NodeID, &p.Port, &data, &at, &p.UpdatedBy); err != nil {
			return nil, fmt.Errorf("list pins: %w", err)
		}
		p.Data, p.UpdatedAt = json.RawMessage(data), at.Time
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pins: %w", err)
	}
	return out, nil
}

// PutPins implements store.Store.
func (s *Store) PutPins(ctx context.Context, tenantID, workflowID string, pins []store.Pin) error {
	if err := checkText("tenant id", tenantID, "workflow id", workflowID); err != nil {
		return err
	}
	if len(pins) == 0 {
		return nil
	}
	if len(pins) > store.MaxPins {
		return store.ErrTooManyPins
	}
	for _, p := range pins {
		if err := checkText("node id", p.NodeID, "port", p.Port, "pinned data", string(p.Data)); err != nil {
			return err
		}
		if !json.Valid(p.Data) {
			return fmt.Errorf("pinned data of %s is not JSON: %w", p.NodeID, store.ErrInvalidInput)
		}
	}
	now, actor := s.now().UTC(), store.ActorFrom(ctx)
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		// The workflow's row is locked for the transaction, so that writers of its pins take turns
		// (SQLite has one writer anyway) and the count below sees every other writer's pins.
		lock := ""
		if s.d.RowLocks {
			lock = " FOR UPDATE"
		}
		var one int
		err := tx.queryRow(ctx, `SELECT 1 FROM workflows WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`+lock,
			tenantID, workflowID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("workflow %s: %w", workflowID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("put pins: %w", err)
		}
		for _, p := range pins {
			if _, err := tx.exec(ctx, `INSERT INTO workflow_pins (tenant_id, workflow_id, node_id, port, data, updated_at, updated_by)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, workflow_id, node_id) DO UPDATE SET
				port = excluded.port, data = excluded.data, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
				tenantID, workflowID, p.NodeID, p.Port, string(p.Data), s.t(now), actor); err != nil {
				return fmt.Errorf("put pin %s: %w", p.NodeID, err)
			}
		}
		// Counted after the writes, in the same transaction, while the lock holds.
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM workflow_pins WHERE tenant_id = ? AND workflow_id = ?`,
			tenantID, workflowID).Scan(&n); err != nil {
			return fmt.Errorf("count pins: %w", err)
		}
		if n > store.MaxPins {
			return store.ErrTooManyPins
		}
		return nil
	})
}

// DeletePin implements store.Store.
func (s *Store) DeletePin(ctx context.Context, tenantID, workflowID, nodeID string) error {
	if err := checkText("tenant id", tenantID, "workflow id", workflowID, "node id", nodeID); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res, err := tx.exec(ctx, `DELETE FROM workflow_pins WHERE tenant_id = ? AND workflow_id = ? AND node_id = ?`,
			tenantID, workflowID, nodeID)
		if err != nil {
			return fmt.Errorf("delete pin: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("no pinned output on node %s: %w", nodeID, store.ErrNotFound)
		}
		return nil
	})
}
