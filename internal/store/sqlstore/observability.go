package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
)

// maxTraceParentLen bounds a stored traceparent (version 00 is 55 characters).
const maxTraceParentLen = 128

// SetExecutionTraceParent records the W3C traceparent of the span that created an execution, in
// the transaction tx that creates it (a store.Tx this store handed to a hook), so that whichever
// worker runs the execution continues the trace (ADR 0021). A value longer than 128 bytes is refused.
func (s *Store) SetExecutionTraceParent(ctx context.Context, tx store.Tx, tenantID, executionID, traceParent string) error {
	if err := checkText("tenant id", tenantID, "execution id", executionID, "traceparent", traceParent); err != nil {
		return err
	}
	if len(traceParent) > maxTraceParentLen {
		return fmt.Errorf("traceparent is longer than %d bytes", maxTraceParentLen)
	}
	hooks, ok := tx.(*txHooks)
	if !ok || hooks.tx == nil || hooks.tx.s != s {
		return errors.New("set trace parent: the transaction is not one of this store's")
	}
	if _, err := hooks.tx.exec(ctx, `UPDATE executions SET trace_parent = ? WHERE tenant_id = ? AND id = ?`, traceParent, tenantID, executionID); err != nil {
		return fmt.Errorf("set trace parent: %w", err)
	}
	return nil
}

// ExecutionTraceParent returns the traceparent SetExecutionTraceParent recorded for an execution,
// or "" when none was.
func (s *Store) ExecutionTraceParent(ctx context.Context, tenantID, executionID string) (string, error) {
	var tp sql.NullString
	err := s.queryRow(ctx, `SELECT trace_parent FROM executions WHERE tenant_id = ? AND id = ?`, tenantID, executionID).Scan(&tp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("execution %s: %w", executionID, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read trace parent: %w", err)
	}
	return tp.String, nil
}

// QueueDepth counts the executions waiting for a worker across tenants: queued ones, and waiting ones
// whose wake-up time is not after now (due). Both counts use the partial indexes on those statuses.
func (s *Store) QueueDepth(ctx context.Context, now time.Time) (queued, due int64, err error) {
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM executions WHERE status = 'queued'`).Scan(&queued); err != nil {
		return 0, 0, fmt.Errorf("count queued executions: %w", err)
	}
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM executions WHERE status = 'waiting' AND wake_at <= ?`, s.t(now.UTC())).Scan(&due); err != nil {
		return 0, 0, fmt.Errorf("count due executions: %w", err)
	}
	return queued, due, nil
}

// maxPluginPinsBytes bounds the plugin versions recorded for one execution (a workflow holds at most
// a few hundred node types).
const maxPluginPinsBytes = 64 << 10

// PinExecutionPlugins records pins, a map from plugin node type to plugin version, as the plugin
// versions an execution runs on, unless it has some already, and returns the ones recorded (ADR
// 0025): the first run of an execution pins, later runs read what it pinned.
func (s *Store) PinExecutionPlugins(ctx context.Context, tenantID, executionID string, pins map[string]string) (map[string]string, error) {
	if err := checkText("tenant id", tenantID, "execution id", executionID); err != nil {
		return nil, err
	}
	b, err := json.Marshal(pins)
	if err != nil {
		return nil, fmt.Errorf("encode plugin versions: %w", err)
	}
	if len(b) > maxPluginPinsBytes {
		return nil, fmt.Errorf("plugin versions take %d bytes, over the %d-byte limit", len(b), maxPluginPinsBytes)
	}
	var stored sql.NullString
	err = s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		return tx.queryRow(ctx, `UPDATE executions SET plugin_versions = COALESCE(plugin_versions, ?) WHERE tenant_id = ? AND id = ? RETURNING plugin_versions`,
			string(b), tenantID, executionID).Scan(&stored)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("execution %s: %w", executionID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pin plugin versions: %w", err)
	}
	return decodePins(stored)
}

// ExecutionPlugins returns the plugin versions an execution runs on, or nil when it uses no plugin
// node type or has not started.
func (s *Store) ExecutionPlugins(ctx context.Context, tenantID, executionID string) (map[string]string, error) {
	var stored sql.NullString
	err := s.queryRow(ctx, `SELECT plugin_versions FROM executions WHERE tenant_id = ? AND id = ?`, tenantID, executionID).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("execution %s: %w", executionID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read plugin versions: %w", err)
	}
	return decodePins(stored)
}

func decodePins(stored sql.NullString) (map[string]string, error) {
	if !stored.Valid || stored.String == "" {
		return nil, nil
	}
	var pins map[string]string
	if err := json.Unmarshal([]byte(stored.String), &pins); err != nil {
		return nil, fmt.Errorf("decode plugin versions: %w", err)
	}
	return pins, nil
}
