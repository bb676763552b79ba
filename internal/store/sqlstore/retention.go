package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// Retention limits.
const (
	retentionListDefault = 100
	retentionListMax     = 1000
	pruneLimitDefault    = 500
	pruneLimitMax        = 10000
	// pruneChunk is the number of ids in one DELETE … IN (…) statement. A short chunk is padded with
	// its last id, so that every delete has the same text and the statement cache stays small.
	pruneChunk = 50
)

// finishedStatuses is the SQL list of the statuses retention may delete. It is a literal, so that the
// planners see constant values.
const finishedStatuses = `('succeeded', 'failed', 'canceled')`

// setRetention writes a workflow's own retention rule (settings.retention) where the pruner reads it,
// or removes it.
func (s *Store) setRetention(ctx context.Context, tx *wtx, tenantID, id string, def *workflow.Definition) error {
	var maxAge, maxExecutions any
	if r := def.Settings.Retention; r != nil {
		if r.MaxAge > 0 {
			maxAge = r.MaxAge.Std().Microseconds()
		}
		if r.MaxExecutions > 0 {
			maxExecutions = r.MaxExecutions
		}
	}
	var err error
	if maxAge == nil && maxExecutions == nil {
		_, err = tx.exec(ctx, `DELETE FROM workflow_retention WHERE tenant_id = ? AND workflow_id = ?`, tenantID, id)
	} else {
		_, err = tx.exec(ctx, `INSERT INTO workflow_retention (tenant_id, workflow_id, max_age, max_executions) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, workflow_id) DO UPDATE SET max_age = excluded.max_age, max_executions = excluded.max_executions`,
			tenantID, id, maxAge, maxExecutions)
	}
	if err != nil {
		return fmt.Errorf("save workflow retention: %w", err)
	}
	return nil
}

// ListRetentionWorkflows implements store.Store. It spans tenants: the pruner serves them all.
func (s *Store) ListRetentionWorkflows(ctx context.Context, p store.ListRetentionWorkflowsParams) ([]store.RetentionWorkflow, error) {
	limit := p.Limit
	switch {
	case limit <= 0:
		limit = retentionListDefault
	case limit > retentionListMax:
		limit = retentionListMax
	}
	rows, err := s.query(ctx, `SELECT w.tenant_id, w.id, w.deleted_at IS NOT NULL, r.max_age, r.max_executions
		FROM workflows w LEFT JOIN workflow_retention r ON r.tenant_id = w.tenant_id AND r.workflow_id = w.id
		WHERE (w.tenant_id, w.id) > (?, ?) ORDER BY w.tenant_id, w.id LIMIT ?`, p.AfterTenantID, p.AfterWorkflowID, limit)
	if err != nil {
		return nil, fmt.Errorf("list retention workflows: %w", err)
	}
	defer rows.Close()
	out := make([]store.RetentionWorkflow, 0, min(limit, 64))
	for rows.Next() {
		var w store.RetentionWorkflow
		var maxAge, maxExecutions sql.NullInt64
		if err := rows.Scan(&w.TenantID, &w.WorkflowID, &w.Deleted, &maxAge, &maxExecutions); err != nil {
			return nil, fmt.Errorf("list retention workflows: %w", err)
		}
		if !w.Deleted {
			w.MaxAge = time.Duration(maxAge.Int64) * time.Microsecond
			w.MaxExecutions = int(maxExecutions.Int64)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list retention workflows: %w", err)
	}
	return out, nil
}

// FinishedAtRank implements store.Store. It reads the finished executions' index only, so its cost
// grows with rank, not with the workflow's executions.
func (s *Store) FinishedAtRank(ctx context.Context, tenantID, workflowID string, rank int) (*time.Time, error) {
	if rank < 1 {
		return nil, fmt.Errorf("finished execution rank %d: want 1 or more: %w", rank, store.ErrInvalidInput)
	}
	var at nullTime
	err := s.queryRow(ctx, `SELECT finished_at FROM executions WHERE tenant_id = ? AND workflow_id = ? AND finished_at IS NOT NULL
		ORDER BY finished_at DESC LIMIT 1 OFFSET ?`, tenantID, workflowID, rank-1).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read finished execution rank: %w", err)
	}
	return at.ptr(), nil
}

// PruneExecutions implements store.Store. A read first checks that something is due, so that an
// idle pass costs no write; then the executions are chosen and deleted in one transaction. On
// PostgreSQL the choice skips rows another pruner has locked, so that several processes share the
// work instead of repeating it.
func (s *Store) PruneExecutions(ctx context.Context, p store.PruneParams) (store.PruneResult, error) {
	switch {
	case p.TenantID == "" || p.WorkflowID == "":
		return store.PruneResult{}, fmt.Errorf("prune executions: name a workflow: %w", store.ErrInvalidInput)
	case p.FinishedBefore.IsZero():
		return store.PruneResult{}, fmt.Errorf("prune executions: set FinishedBefore: %w", store.ErrInvalidInput)
	case p.Limit < 0:
		return store.PruneResult{}, fmt.Errorf("prune executions: negative limit: %w", store.ErrInvalidInput)
	case p.Limit == 0:
		p.Limit = pruneLimitDefault
	}
	p.Limit = min(p.Limit, pruneLimitMax)
	before := s.t(p.FinishedBefore.UTC())
	var one int
	err := s.queryRow(ctx, `SELECT 1 FROM executions WHERE tenant_id = ? AND workflow_id = ? AND finished_at < ? LIMIT 1`,
		p.TenantID, p.WorkflowID, before).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.PruneResult{}, nil
	}
	if err != nil {
		return store.PruneResult{}, fmt.Errorf("prune executions: %w", err)
	}
	var res store.PruneResult
	err = s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res = store.PruneResult{}
		query := `SELECT id FROM executions WHERE tenant_id = ? AND workflow_id = ? AND finished_at < ? AND status IN ` + finishedStatuses + `
			ORDER BY finished_at LIMIT ?`
		if s.d.SkipLocked {
			query += ` FOR UPDATE SKIP LOCKED`
		}
		ids, err := s.pruneCandidates(ctx, tx, query, p.TenantID, p.WorkflowID, before, p.Limit)
		if err != nil {
			return err
		}
		for len(ids) > 0 {
			n := min(len(ids), pruneChunk)
			r, err := s.deleteExecutions(ctx, tx, p.TenantID, ids[:n])
			if err != nil {
				return err
			}
			res.Add(r)
			ids = ids[n:]
		}
		return nil
	})
	if err != nil {
		return store.PruneResult{}, err
	}
	return res, nil
}

// pruneCandidates runs the selection of PruneExecutions and returns the ids, closing the rows before
// the deletes run on the same connection.
func (s *Store) pruneCandidates(ctx context.Context, tx *wtx, query string, args ...any) ([]string, error) {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("select executions to prune: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("select executions to prune: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select executions to prune: %w", err)
	}
	return ids, nil
}

// deleteExecutions deletes up to pruneChunk executions of one tenant with their node runs and events.
func (s *Store) deleteExecutions(ctx context.Context, tx *wtx, tenantID string, ids []string) (store.PruneResult, error) {
	args := make([]any, 0, pruneChunk+1)
	args = append(args, tenantID)
	for i := range pruneChunk {
		args = append(args, ids[min(i, len(ids)-1)])
	}
	in := `(` + placeholders(pruneChunk) + `)`
	var res store.PruneResult
	for _, d := range []struct {
		query string
		count *int64
	}{
		{`DELETE FROM node_runs WHERE tenant_id = ? AND execution_id IN ` + in, &res.NodeRuns},
		{`DELETE FROM events WHERE tenant_id = ? AND execution_id IN ` + in, &res.Events},
		{`DELETE FROM signals WHERE tenant_id = ? AND execution_id IN ` + in, new(int64)},
		{`DELETE FROM executions WHERE tenant_id = ? AND id IN ` + in + ` AND status IN ` + finishedStatuses, &res.Executions},
	} {
		r, err := tx.exec(ctx, d.query, args...)
		if err != nil {
			return store.PruneResult{}, fmt.Errorf("prune executions: %w", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return store.PruneResult{}, fmt.Errorf("prune executions: %w", err)
		}
		*d.count = n
	}
	return res, nil
}
