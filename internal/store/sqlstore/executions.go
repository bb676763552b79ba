package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

const (
	executionSummaryColumns = `tenant_id, id, workflow_id, workflow_version, status, trigger_kind, trigger_node, error,
		idempotency_key, request_hash, retry_of, created_at, started_at, finished_at, wake_at, lease_owner, lease_expires_at, cancel_requested,
		parent_execution_id, parent_node_id, call_key, call_path, wake_requested`
	// The last event's sequence number is read from the event log's primary key, so that steps that
	// only add node runs and events need not rewrite the execution row.
	executionColumns = executionSummaryColumns + `, input, output, ` + lastSeqColumn
	lastSeqColumn    = `(SELECT COALESCE(MAX(seq), 0) FROM events ev WHERE ev.tenant_id = executions.tenant_id AND ev.execution_id = executions.id)`
)

// scanExecution scans executionColumns (full) or executionSummaryColumns followed by extra.
func scanExecution(row interface{ Scan(...any) error }, full bool, extra ...any) (*store.Execution, error) {
	var e store.Execution
	var trigNode, idem, hash, retryOf, owner, parent, parentNode, callKey, callPath nullString
	var errJSON, input, output rawJSON
	var created, started, finished, wake, lease nullTime
	dest := []any{&e.TenantID, &e.ID, &e.WorkflowID, &e.WorkflowVersion, &e.Status, &e.TriggerKind, &trigNode, &errJSON,
		&idem, &hash, &retryOf, &created, &started, &finished, &wake, &owner, &lease, &e.CancelRequested,
		&parent, &parentNode, &callKey, &callPath, &e.WakeRequested}
	if full {
		dest = append(dest, &input, &output, &e.LastSeq)
	}
	dest = append(dest, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	e.TriggerNode, e.IdempotencyKey, e.RequestHash, e.RetryOf, e.LeaseOwner = string(trigNode), string(idem), string(hash), string(retryOf), string(owner)
	e.ParentExecutionID, e.ParentNodeID, e.CallKey = string(parent), string(parentNode), string(callKey)
	if callPath != "" {
		e.CallPath = strings.Split(string(callPath), " ")
	}
	e.CreatedAt = created.Time
	e.StartedAt, e.FinishedAt, e.WakeAt, e.LeaseExpiresAt = started.ptr(), finished.ptr(), wake.ptr(), lease.ptr()
	e.Input, e.Output = json.RawMessage(input), json.RawMessage(output)
	if len(errJSON) > 0 {
		e.Error = &store.ExecutionError{}
		if err := json.Unmarshal(errJSON, e.Error); err != nil {
			return nil, fmt.Errorf("decode execution error: %w", err)
		}
	}
	return &e, nil
}

var errIdempotencyRace = errors.New("idempotency key inserted concurrently")

// CreateExecution implements store.Store.
func (s *Store) CreateExecution(ctx context.Context, tenantID string, p store.CreateExecutionParams) (*store.Execution, bool, error) {
	if err := checkText("tenant id", tenantID, "execution id", p.ID, "workflow id", p.WorkflowID, "trigger node", p.TriggerNode,
		"idempotency key", p.IdempotencyKey, "request hash", p.RequestHash, "retried execution id", p.RetryOf); err != nil {
		return nil, false, err
	}
	exec, created, err := s.createExecution(ctx, tenantID, p)
	if errors.Is(err, errIdempotencyRace) {
		// Another process inserted the same key between our check and our insert: read theirs.
		exec, created, err = s.createExecution(ctx, tenantID, p)
	}
	return exec, created, err
}

func (s *Store) createExecution(ctx context.Context, tenantID string, p store.CreateExecutionParams) (*store.Execution, bool, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	var out *store.Execution
	created := false
	err := s.write(ctx, func(ctx context.Context, tx *wtx, hooks *txHooks) error {
		if p.RetryOf != "" {
			// Lock the retried execution first, so that concurrent retries of it take turns and each
			// sees the retry (and idempotency key) of the one before.
			var one int
			err := tx.queryRow(ctx, `SELECT 1 FROM executions WHERE tenant_id = ? AND id = ?`+s.forUpdate(), tenantID, p.RetryOf).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("execution %s: %w", p.RetryOf, store.ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("lock retried execution: %w", err)
			}
		}
		if p.IdempotencyKey != "" {
			row := tx.queryRow(ctx, (`SELECT ` + executionColumns + ` FROM executions WHERE tenant_id = ? AND workflow_id = ? AND idempotency_key = ?`),
				tenantID, p.WorkflowID, p.IdempotencyKey)
			existing, err := scanExecution(row, true)
			switch {
			case err == nil:
				if existing.RequestHash != p.RequestHash {
					return fmt.Errorf("idempotency key %q was used for a different request: %w", p.IdempotencyKey, store.ErrConflict)
				}
				out = existing
				hooks.replay = true
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("check idempotency key: %w", err)
			}
		}
		if p.RetryOf != "" {
			var retryID string
			err := tx.queryRow(ctx, `SELECT id FROM executions WHERE tenant_id = ? AND retry_of = ? LIMIT 1`, tenantID, p.RetryOf).Scan(&retryID)
			switch {
			case err == nil:
				return &store.RetriedError{ID: p.RetryOf, RetryID: retryID}
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("check retries: %w", err)
			}
		}
		lastSeq := int64(len(p.Events))
		inSize, inHead := sizeAndHead(p.Input)
		_, err := tx.exec(ctx, (`INSERT INTO executions (tenant_id, id, workflow_id, workflow_version, status, trigger_kind, trigger_node,
				input, input_bytes, input_head, idempotency_key, request_hash, retry_of, created_at, cancel_requested,
				parent_execution_id, parent_node_id, call_key, call_path)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			tenantID, p.ID, p.WorkflowID, p.WorkflowVersion, workflow.ExecutionQueued, p.TriggerKind, nullIfEmpty(p.TriggerNode),
			jsonArg(p.Input), inSize, inHead, nullIfEmpty(p.IdempotencyKey), nullIfEmpty(p.RequestHash), nullIfEmpty(p.RetryOf), s.t(now), false,
			nullIfEmpty(p.ParentExecutionID), nullIfEmpty(p.ParentNodeID), nullIfEmpty(p.CallKey), nullIfEmpty(strings.Join(p.CallPath, " ")))
		if err != nil {
			if p.IdempotencyKey != "" && s.d.IsUniqueViolation(err) {
				return errIdempotencyRace
			}
			return fmt.Errorf("insert execution: %w", err)
		}
		if err := s.upsertNodeRuns(ctx, tx, tenantID, p.ID, p.Seed); err != nil {
			return err
		}
		events := make([]store.Event, len(p.Events))
		for i, ev := range p.Events {
			ev.Seq = int64(i + 1)
			if ev.Time.IsZero() {
				ev.Time = now
			}
			events[i] = ev
		}
		if err := s.insertEvents(ctx, tx, tenantID, p.ID, events); err != nil {
			return err
		}
		out = &store.Execution{
			TenantID: tenantID, ID: p.ID, WorkflowID: p.WorkflowID, WorkflowVersion: p.WorkflowVersion,
			Status: workflow.ExecutionQueued, TriggerKind: p.TriggerKind, TriggerNode: p.TriggerNode, Input: p.Input,
			IdempotencyKey: p.IdempotencyKey, RequestHash: p.RequestHash, RetryOf: p.RetryOf, CreatedAt: now, LastSeq: lastSeq,
			ParentExecutionID: p.ParentExecutionID, ParentNodeID: p.ParentNodeID, CallKey: p.CallKey, CallPath: p.CallPath,
		}
		created = true
		if p.Enqueue != nil {
			if err := p.Enqueue(ctx, hooks, out); err != nil {
				return fmt.Errorf("enqueue execution: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// GetExecution implements store.Store.
func (s *Store) GetExecution(ctx context.Context, tenantID, id string) (*store.Execution, error) {
	if err := checkText("tenant id", tenantID, "execution id", id); err != nil {
		return nil, err
	}
	row := s.queryRow(ctx, (`SELECT ` + executionColumns + ` FROM executions WHERE tenant_id = ? AND id = ?`), tenantID, id)
	e, err := scanExecution(row, true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("execution %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get execution: %w", err)
	}
	return e, nil
}

// ListExecutions implements store.Store.
func (s *Store) ListExecutions(ctx context.Context, tenantID string, p store.ListExecutionsParams) (*store.Page[store.Execution], error) {
	if err := checkText("tenant id", tenantID, "workflow id", p.WorkflowID, "status", string(p.Status), "trigger", string(p.TriggerKind), "parent execution id", p.ParentExecutionID, "parent node id", p.ParentNodeID); err != nil {
		return nil, err
	}
	limit := pageLimit(p.Limit)
	var where strings.Builder
	args := []any{tenantID}
	where.WriteString(`tenant_id = ?`)
	if p.WorkflowID != "" {
		where.WriteString(` AND workflow_id = ?`)
		args = append(args, p.WorkflowID)
	}
	if p.Status != "" {
		where.WriteString(` AND status = ?`)
		args = append(args, p.Status)
	}
	if p.TriggerKind != "" {
		where.WriteString(` AND trigger_kind = ?`)
		args = append(args, p.TriggerKind)
	}
	if !p.CreatedAfter.IsZero() {
		where.WriteString(` AND created_at >= ?`)
		args = append(args, s.t(p.CreatedAfter.UTC()))
	}
	if !p.CreatedBefore.IsZero() {
		where.WriteString(` AND created_at < ?`)
		args = append(args, s.t(p.CreatedBefore.UTC()))
	}
	if p.ParentExecutionID != "" {
		where.WriteString(` AND parent_execution_id = ?`)
		args = append(args, p.ParentExecutionID)
		if p.ParentNodeID != "" {
			where.WriteString(` AND parent_node_id = ?`)
			args = append(args, p.ParentNodeID)
		}
	}
	if p.Cursor != "" {
		_, id, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		where.WriteString(` AND id < ?`)
		args = append(args, id)
	}
	args = append(args, limit+1)
	return queryPage(ctx, s, "executions", limit,
		func(rows *sql.Rows) (store.Execution, error) {
			e, err := scanExecution(rows, false)
			if err != nil {
				return store.Execution{}, err
			}
			return *e, nil
		},
		func(e store.Execution) string { return encodeCursor("e", e.ID) },
		`SELECT `+executionSummaryColumns+` FROM executions WHERE `+where.String()+` ORDER BY id DESC LIMIT ?`, args...)
}

const nodeRunColumns = `node_id, attempt, status, input, input_from, output, port, error, logs, started_at, finished_at, wake_at`

// ListNodeRuns implements store.Store.
func (s *Store) ListNodeRuns(ctx context.Context, tenantID, executionID string) ([]store.NodeRun, error) {
	if err := checkText("tenant id", tenantID, "execution id", executionID); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, (`SELECT ` + nodeRunColumns + ` FROM node_runs WHERE tenant_id = ? AND execution_id = ? ORDER BY node_id, attempt`),
		tenantID, executionID)
	if err != nil {
		return nil, fmt.Errorf("list node runs: %w", err)
	}
	defer rows.Close()
	var out []store.NodeRun
	for rows.Next() {
		var r store.NodeRun
		var input, output, errJSON, logs rawJSON
		var port, inputFrom nullString
		var started, finished, wake nullTime
		if err := rows.Scan(&r.NodeID, &r.Attempt, &r.Status, &input, &inputFrom, &output, &port, &errJSON, &logs, &started, &finished, &wake); err != nil {
			return nil, fmt.Errorf("list node runs: %w", err)
		}
		r.Input, r.InputFrom, r.Output, r.Port = json.RawMessage(input), string(inputFrom), json.RawMessage(output), string(port)
		r.StartedAt, r.FinishedAt, r.WakeAt = started.ptr(), finished.ptr(), wake.ptr()
		if len(errJSON) > 0 {
			r.Error = &store.NodeError{}
			if err := json.Unmarshal(errJSON, r.Error); err != nil {
				return nil, fmt.Errorf("decode node error: %w", err)
			}
		}
		if len(logs) > 0 {
			if err := json.Unmarshal(logs, &r.Logs); err != nil {
				return nil, fmt.Errorf("decode node logs: %w", err)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list node runs: %w", err)
	}
	return out, nil
}

// ListEvents implements store.Store.
func (s *Store) ListEvents(ctx context.Context, tenantID, executionID string, afterSeq int64, limit int) ([]store.Event, error) {
	if err := checkText("tenant id", tenantID, "execution id", executionID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.query(ctx, (`SELECT seq, type, node_id, attempt, time, data FROM events
		WHERE tenant_id = ? AND execution_id = ? AND seq > ? ORDER BY seq LIMIT ?`), tenantID, executionID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		ev := store.Event{ExecutionID: executionID}
		var nodeID nullString
		var at nullTime
		var data rawJSON
		if err := rows.Scan(&ev.Seq, &ev.Type, &nodeID, &ev.Attempt, &at, &data); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		ev.NodeID, ev.Time, ev.Data = string(nodeID), at.Time, json.RawMessage(data)
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

// ListExecutionLevelEvents implements store.Store. The partial index events_execution_level holds
// exactly the rows it reads, in its order.
func (s *Store) ListExecutionLevelEvents(ctx context.Context, tenantID string, p store.ExecutionLevelEventsParams) ([]store.WorkflowEvent, error) {
	if err := checkText("tenant id", tenantID, "workflow id", p.WorkflowID); err != nil {
		return nil, err
	}
	if p.After != nil {
		if err := checkText("execution id", p.After.ExecutionID); err != nil {
			return nil, err
		}
	}
	if p.Limit <= 0 || p.Limit > 1000 {
		p.Limit = 1000
	}
	q := `SELECT e.execution_id, e.seq, e.type, e.node_id, e.attempt, e.time, e.data, x.workflow_id
		FROM events e JOIN executions x ON x.tenant_id = e.tenant_id AND x.id = e.execution_id
		WHERE e.tenant_id = ? AND e.type LIKE 'execution.%'`
	args := []any{tenantID}
	if p.After != nil {
		q += ` AND (e.time, e.execution_id, e.seq) > (?, ?, ?)`
		args = append(args, s.t(p.After.Time), p.After.ExecutionID, p.After.Seq)
	} else {
		q += ` AND e.time >= ?`
		args = append(args, s.t(p.Since))
	}
	if p.WorkflowID != "" {
		q += ` AND x.workflow_id = ?`
		args = append(args, p.WorkflowID)
	}
	q += ` ORDER BY e.time, e.execution_id, e.seq LIMIT ?`
	args = append(args, p.Limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list execution-level events: %w", err)
	}
	defer rows.Close()
	var out []store.WorkflowEvent
	for rows.Next() {
		var ev store.WorkflowEvent
		var nodeID nullString
		var at nullTime
		var data rawJSON
		if err := rows.Scan(&ev.ExecutionID, &ev.Seq, &ev.Type, &nodeID, &ev.Attempt, &at, &data, &ev.WorkflowID); err != nil {
			return nil, fmt.Errorf("list execution-level events: %w", err)
		}
		ev.NodeID, ev.Time, ev.Data = string(nodeID), at.Time, json.RawMessage(data)
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list execution-level events: %w", err)
	}
	return out, nil
}

// multiRowMax bounds the rows of one multi-row INSERT.
const multiRowMax = 16

// valuesList returns "(?, …), (?, …)" for rows rows of cols columns.
func valuesList(rows, cols int) string {
	row := "(" + placeholders(cols) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// nodeRunUpsertColumns is the number of columns nodeRunUpsert writes per row.
const nodeRunUpsertColumns = 18

const nodeRunUpsert = `INSERT INTO node_runs (` + nodeRunWriteColumns + `)
		VALUES %s
		` + nodeRunOnConflict

// nodeRunWriteColumns are the columns nodeRunUpsert writes, in order.
const nodeRunWriteColumns = `tenant_id, execution_id, node_id, attempt, status, input, input_bytes, input_head, input_from,
			output, output_bytes, output_head, port, error, logs, started_at, finished_at, wake_at`

// nodeRunOnConflict merges a node run with the stored row of the same attempt.
const nodeRunOnConflict = `ON CONFLICT (tenant_id, execution_id, node_id, attempt) DO UPDATE SET
			status = excluded.status,
			input = COALESCE(excluded.input, node_runs.input),
			input_bytes = COALESCE(excluded.input_bytes, node_runs.input_bytes),
			input_head = CASE WHEN excluded.input IS NULL THEN node_runs.input_head ELSE excluded.input_head END,
			input_from = COALESCE(excluded.input_from, node_runs.input_from),
			output = excluded.output,
			output_bytes = excluded.output_bytes,
			output_head = excluded.output_head,
			port = excluded.port,
			error = excluded.error,
			logs = COALESCE(excluded.logs, node_runs.logs),
			started_at = COALESCE(excluded.started_at, node_runs.started_at),
			finished_at = excluded.finished_at,
			wake_at = excluded.wake_at`

// mergeNodeRuns returns runs with each attempt once. When one step names the same attempt more than
// once (its start and its end, written together), they are merged as the upsert merges them with a
// stored row: the later state wins, and what it leaves out (input, start time, logs) is kept from the
// earlier (one INSERT … ON CONFLICT may not touch a row twice).
func mergeNodeRuns(runs []store.NodeRun) []*store.NodeRun {
	type key struct {
		node    string
		attempt int
	}
	at := make(map[key]int, len(runs))
	rows := make([]*store.NodeRun, 0, len(runs))
	for i := range runs {
		k := key{runs[i].NodeID, runs[i].Attempt}
		j, seen := at[k]
		if !seen {
			at[k] = len(rows)
			r := runs[i]
			rows = append(rows, &r)
			continue
		}
		merged := runs[i]
		prev := rows[j]
		if merged.Input == nil {
			merged.Input = prev.Input
		}
		if merged.InputFrom == "" {
			merged.InputFrom = prev.InputFrom
		}
		if merged.StartedAt == nil {
			merged.StartedAt = prev.StartedAt
		}
		if len(merged.Logs) == 0 {
			merged.Logs = prev.Logs
		}
		rows[j] = &merged
	}
	return rows
}

// upsertNodeRuns writes node runs with as few statements as it can (mergeNodeRuns).
func (s *Store) upsertNodeRuns(ctx context.Context, tx *wtx, tenantID, executionID string, runs []store.NodeRun) error {
	rows := mergeNodeRuns(runs)
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), multiRowMax)]
		rows = rows[len(chunk):]
		args := make([]any, 0, len(chunk)*nodeRunUpsertColumns)
		for _, r := range chunk {
			errArg, err := marshalArg(nilIfNoError(r.Error))
			if err != nil {
				return fmt.Errorf("marshal node error: %w", err)
			}
			var logsArg any
			if len(r.Logs) > 0 {
				if logsArg, err = marshalArg(r.Logs); err != nil {
					return fmt.Errorf("marshal node logs: %w", err)
				}
			}
			inSize, inHead := sizeAndHead(r.Input)
			outSize, outHead := sizeAndHead(r.Output)
			args = append(args, tenantID, executionID, r.NodeID, r.Attempt, r.Status, jsonArg(r.Input), inSize, inHead, nullIfEmpty(r.InputFrom),
				jsonArg(r.Output), outSize, outHead, nullIfEmpty(r.Port), errArg, logsArg, s.tp(r.StartedAt), s.tp(r.FinishedAt), s.tp(r.WakeAt))
		}
		if _, err := tx.exec(ctx, fmt.Sprintf(nodeRunUpsert, valuesList(len(chunk), nodeRunUpsertColumns)), args...); err != nil {
			return fmt.Errorf("upsert node runs: %w", err)
		}
	}
	return nil
}

func nilIfNoError(e *store.NodeError) any {
	if e == nil {
		return nil
	}
	return e
}

// insertEvents appends events with as few statements as it can.
func (s *Store) insertEvents(ctx context.Context, tx *wtx, tenantID, executionID string, events []store.Event) error {
	for len(events) > 0 {
		chunk := events[:min(len(events), multiRowMax)]
		events = events[len(chunk):]
		args := make([]any, 0, len(chunk)*8)
		for i := range chunk {
			ev := &chunk[i]
			args = append(args, tenantID, executionID, ev.Seq, ev.Type, nullIfEmpty(ev.NodeID), ev.Attempt, s.t(ev.Time), jsonArg(ev.Data))
		}
		q := `INSERT INTO events (tenant_id, execution_id, seq, type, node_id, attempt, time, data) VALUES ` + valuesList(len(chunk), 8)
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("insert events from %d: %w", chunk[0].Seq, err)
		}
	}
	return nil
}

// ApplyExecutionUpdate implements store.Store.
func (s *Store) ApplyExecutionUpdate(ctx context.Context, tenantID string, u *store.ExecutionUpdate) error {
	if err := checkText("tenant id", tenantID, "execution id", u.ExecutionID, "lease owner", u.Owner); err != nil {
		return err
	}
	set, args, err := s.executionSet(u)
	if err != nil {
		return err
	}
	where, cond := executionWhere(tenantID, u)
	if s.oneStatement(ctx, u, len(set) > 0) {
		return s.applyInOneStatement(ctx, tenantID, u, set, args, where, cond)
	}
	return s.write(ctx, func(ctx context.Context, tx *wtx, hooks *txHooks) error {
		conflict := fmt.Errorf("execution %s changed state or lease: %w", u.ExecutionID, store.ErrConflict)
		switch {
		case len(set) > 0:
			res, err := tx.exec(ctx, `UPDATE executions SET `+strings.Join(set, ", ")+` WHERE `+where, append(args, cond...)...)
			if err != nil {
				return fmt.Errorf("update execution: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return conflict
			}
			if u.To == workflow.ExecutionWaiting && u.WakeAt != nil {
				// A signal that arrived while the execution ran makes it due at once; the update
				// reports the wake-up time that holds, so that the dispatcher looks at once.
				now := s.now().UTC()
				res, err := tx.exec(ctx, `UPDATE executions SET wake_at = ? WHERE tenant_id = ? AND id = ? AND wake_requested = ?`,
					s.t(now), tenantID, u.ExecutionID, true)
				if err != nil {
					return fmt.Errorf("apply wake request: %w", err)
				}
				if n, _ := res.RowsAffected(); n > 0 {
					u.WakeAt = &now
				}
			}
			ref := store.ExecutionRef{TenantID: tenantID, ID: u.ExecutionID}
			switch {
			case u.To == workflow.ExecutionQueued:
				if err := s.runnable(ctx, hooks, ref, s.now().UTC()); err != nil {
					return err
				}
			case u.To == workflow.ExecutionWaiting && u.WakeAt != nil:
				if err := s.runnable(ctx, hooks, ref, *u.WakeAt); err != nil {
					return err
				}
			}
		case len(u.From) > 0 || u.Owner != "":
			// Only node runs and events: check the expectations without rewriting the row, holding it
			// until commit so that a claim cannot commit between this check and these writes.
			var one int
			err := tx.queryRow(ctx, `SELECT 1 FROM executions WHERE `+where+s.forShare(), cond...).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return conflict
			}
			if err != nil {
				return fmt.Errorf("check execution: %w", err)
			}
		}
		if err := s.upsertNodeRuns(ctx, tx, tenantID, u.ExecutionID, u.NodeRuns); err != nil {
			return err
		}
		if err := s.insertEvents(ctx, tx, tenantID, u.ExecutionID, u.Events); err != nil {
			return err
		}
		if u.WakeParent != "" && u.To.Terminal() {
			if err := s.wake(ctx, tx, hooks, tenantID, u.WakeParent); err != nil {
				return err
			}
		}
		if u.OnCommit != nil {
			hooks.OnCommit(u.OnCommit)
		}
		return nil
	})
}

// executionSet returns the SET assignments of an update of the executions row and their arguments.
func (s *Store) executionSet(u *store.ExecutionUpdate) ([]string, []any, error) {
	var set []string
	var args []any
	if u.To != "" {
		set = append(set, "status = ?", "wake_at = ?")
		args = append(args, u.To, s.tp(u.WakeAt))
	}
	if u.SetStartedAt != nil {
		set = append(set, "started_at = ?")
		args = append(args, s.t(*u.SetStartedAt))
	}
	if u.SetFinishedAt != nil {
		set = append(set, "finished_at = ?")
		args = append(args, s.t(*u.SetFinishedAt))
	}
	if u.Output != nil {
		size, head := sizeAndHead(u.Output)
		set = append(set, "output = ?", "output_bytes = ?", "output_head = ?")
		args = append(args, jsonArg(u.Output), size, head)
	}
	if u.Error != nil {
		errArg, err := marshalArg(u.Error)
		if err != nil {
			return nil, nil, fmt.Errorf("marshal execution error: %w", err)
		}
		set = append(set, "error = ?")
		args = append(args, errArg)
	}
	if u.ReleaseLease {
		set = append(set, "lease_owner = NULL", "lease_expires_at = NULL")
	}
	return set, args, nil
}

// executionWhere returns the condition an update puts on the executions row (its status and
// lease owner) and its arguments.
func executionWhere(tenantID string, u *store.ExecutionUpdate) (string, []any) {
	where := `tenant_id = ? AND id = ?`
	cond := []any{tenantID, u.ExecutionID}
	if len(u.From) > 0 {
		where += ` AND status IN (` + placeholders(len(u.From)) + `)`
		for _, f := range u.From {
			cond = append(cond, f)
		}
	}
	if u.Owner != "" {
		where += ` AND lease_owner = ?`
		cond = append(cond, u.Owner)
	}
	return where, cond
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// RequestCancel implements store.Store.
func (s *Store) RequestCancel(ctx context.Context, tenantID, id string, p store.CancelParams) (*store.Execution, error) {
	if err := checkText("tenant id", tenantID, "execution id", id, "idempotency key", p.IdempotencyKey); err != nil {
		return nil, err
	}
	var out *store.Execution
	err := s.write(ctx, func(ctx context.Context, tx *wtx, hooks *txHooks) error {
		var status workflow.ExecutionStatus
		var cancelKey nullString
		err := tx.queryRow(ctx, `SELECT status, cancel_key FROM executions WHERE tenant_id = ? AND id = ?`+s.forUpdate(), tenantID, id).Scan(&status, &cancelKey)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("execution %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("cancel execution: %w", err)
		}
		keep := ""
		if cancelKey == "" && p.IdempotencyKey != "" {
			keep = p.IdempotencyKey
		}
		switch status {
		case workflow.ExecutionQueued, workflow.ExecutionWaiting:
			if err := s.cancelNow(ctx, tx, hooks, tenantID, id, status, keep, p.NodeIDs); err != nil {
				return err
			}
		case workflow.ExecutionRunning:
			hooks.replay = cancelKey != "" && string(cancelKey) == p.IdempotencyKey
			res, err := tx.exec(ctx, `UPDATE executions SET cancel_requested = ?, cancel_key = COALESCE(cancel_key, ?) WHERE tenant_id = ? AND id = ? AND status = ?`,
				true, nullIfEmpty(keep), tenantID, id, workflow.ExecutionRunning)
			if err != nil {
				return fmt.Errorf("request cancel: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("execution %s left status running while being canceled: %w", id, store.ErrConflict)
			}
		default:
			if p.IdempotencyKey == "" || string(cancelKey) != p.IdempotencyKey {
				return fmt.Errorf("execution %s has already %s: %w", id, status, store.ErrConflict)
			}
			// The same cancel request again: answer with the execution as it is.
			hooks.replay = true
		}
		row := tx.queryRow(ctx, (`SELECT ` + executionColumns + ` FROM executions WHERE tenant_id = ? AND id = ?`), tenantID, id)
		out, err = scanExecution(row, true)
		if err != nil {
			return fmt.Errorf("read canceled execution: %w", err)
		}
		return nil
	})
	return out, err
}

// lastRun is the latest attempt of one node.
type lastRun struct {
	attempt int
	status  workflow.NodeRunStatus
	// retry says a failed attempt has its next one scheduled (its wake-up time is set).
	retry bool
}

// latestRuns returns the latest attempt of each node of an execution that has run, and the nodes in
// id order.
func (s *Store) latestRuns(ctx context.Context, tx *wtx, tenantID, id string) (map[string]lastRun, []string, error) {
	rows, err := tx.query(ctx, `SELECT node_id, attempt, status, wake_at FROM node_runs WHERE tenant_id = ? AND execution_id = ? ORDER BY node_id, attempt`, tenantID, id)
	if err != nil {
		return nil, nil, fmt.Errorf("read node runs: %w", err)
	}
	defer rows.Close()
	latest := map[string]lastRun{}
	var order []string
	for rows.Next() {
		var nodeID string
		var r lastRun
		var wake nullTime
		if err := rows.Scan(&nodeID, &r.attempt, &r.status, &wake); err != nil {
			return nil, nil, fmt.Errorf("read node runs: %w", err)
		}
		r.retry = r.status == workflow.NodeRunFailed && wake.Valid
		if _, seen := latest[nodeID]; !seen {
			order = append(order, nodeID)
		}
		latest[nodeID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read node runs: %w", err)
	}
	return latest, order, nil
}

// canceledRunError is the error of a node run canceled with its execution, as the engine writes it.
var canceledRunError = &store.NodeError{Message: "the execution was canceled", Code: "canceled"}

// cancelNow cancels a queued or waiting execution: every node of nodeIDs that has not finished gets
// a canceled run and a node.canceled event (a waiting attempt or a pending retry is the attempt
// canceled; a node that never ran gets attempt 1), then execution.finished, numbered on from the log.
func (s *Store) cancelNow(ctx context.Context, tx *wtx, hooks *txHooks, tenantID, id string, from workflow.ExecutionStatus, key string, nodeIDs []string) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	latest, order, err := s.latestRuns(ctx, tx, tenantID, id)
	if err != nil {
		return err
	}
	if len(nodeIDs) > 0 {
		order = nodeIDs
	}

	var seq int64
	if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events WHERE tenant_id = ? AND execution_id = ?`, tenantID, id).Scan(&seq); err != nil {
		return fmt.Errorf("cancel execution: %w", err)
	}
	var runs []store.NodeRun
	var events []store.Event
	for _, nodeID := range order {
		r, ran := latest[nodeID]
		attempt := 1
		switch {
		case !ran:
		case r.status == workflow.NodeRunWaiting, r.status == workflow.NodeRunRunning, r.status == workflow.NodeRunPending:
			attempt = r.attempt
		case r.retry:
			attempt = r.attempt + 1
		default:
			continue
		}
		runs = append(runs, store.NodeRun{NodeID: nodeID, Attempt: attempt, Status: workflow.NodeRunCanceled, FinishedAt: &now, Error: canceledRunError})
		seq++
		events = append(events, store.Event{Seq: seq, Type: "node.canceled", NodeID: nodeID, Attempt: attempt, Time: now})
	}
	data, err := json.Marshal(map[string]any{"status": workflow.ExecutionCanceled})
	if err != nil {
		return fmt.Errorf("cancel execution: %w", err)
	}
	events = append(events, store.Event{Seq: seq + 1, Type: "execution.finished", Time: now, Data: data})

	res, err := tx.exec(ctx, `UPDATE executions SET status = ?, finished_at = ?, wake_at = NULL, lease_owner = NULL, lease_expires_at = NULL,
			cancel_key = COALESCE(cancel_key, ?) WHERE tenant_id = ? AND id = ? AND status = ?`,
		workflow.ExecutionCanceled, s.t(now), nullIfEmpty(key), tenantID, id, from)
	if err != nil {
		return fmt.Errorf("cancel execution: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// The row is locked since it was read (RowLocks) or the writer is alone (SQLite): this is a
		// bug, not a race; refuse rather than log a cancel that did not happen.
		return fmt.Errorf("execution %s left status %s while being canceled: %w", id, from, store.ErrConflict)
	}
	var parent nullString
	if err := tx.queryRow(ctx, `SELECT parent_execution_id FROM executions WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&parent); err != nil {
		return fmt.Errorf("cancel execution: %w", err)
	}
	if parent != "" {
		if err := s.wake(ctx, tx, hooks, tenantID, string(parent)); err != nil {
			return err
		}
	}
	if err := s.upsertNodeRuns(ctx, tx, tenantID, id, runs); err != nil {
		return err
	}
	return s.insertEvents(ctx, tx, tenantID, id, events)
}

// ClaimExecution implements store.Store.
func (s *Store) ClaimExecution(ctx context.Context, ref store.ExecutionRef, owner string, lease time.Duration, takeover bool) (*store.Execution, error) {
	if err := checkText("tenant id", ref.TenantID, "execution id", ref.ID, "lease owner", owner); err != nil {
		return nil, err
	}
	until, untilArg := s.clockPlus(lease)
	now, nowArg := s.clockPlus(0)
	cond := `(status = ? OR (status = ? AND wake_at <= ` + now + `) OR (status = ? AND (lease_expires_at IS NULL OR lease_expires_at < ` + now + ` OR ?)))`
	condArgs := []any{workflow.ExecutionQueued, workflow.ExecutionWaiting, nowArg, workflow.ExecutionRunning, nowArg, takeover}
	if s.d.WritableCTEs && s.batch == nil {
		return s.claimInOneStatement(ctx, ref, owner, until, untilArg, cond, condArgs)
	}
	var out *store.Execution
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res, err := tx.exec(ctx, (`UPDATE executions SET status = ?, lease_owner = ?, lease_expires_at = ` + until + `, wake_at = NULL
			WHERE tenant_id = ? AND id = ? AND ` + cond),
			append([]any{workflow.ExecutionRunning, owner, untilArg, ref.TenantID, ref.ID}, condArgs...)...)
		if err != nil {
			return fmt.Errorf("claim execution: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("execution %s is not claimable: %w", ref.ID, store.ErrConflict)
		}
		row := tx.queryRow(ctx, (`SELECT ` + executionColumns + ` FROM executions WHERE tenant_id = ? AND id = ?`), ref.TenantID, ref.ID)
		out, err = scanExecution(row, true)
		if err != nil {
			return fmt.Errorf("read claimed execution: %w", err)
		}
		if out.WakeRequested {
			// Reported to this claim (the runner resumes the nodes that wait for signals) and cleared.
			if _, err := tx.exec(ctx, `UPDATE executions SET wake_requested = ? WHERE tenant_id = ? AND id = ?`, false, ref.TenantID, ref.ID); err != nil {
				return fmt.Errorf("claim execution: %w", err)
			}
		}
		return nil
	})
	return out, err
}

// ListRunnable implements store.Store.
func (s *Store) ListRunnable(ctx context.Context, p store.RunnableParams) ([]store.ExecutionRef, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	now := s.t(p.Now.UTC())
	clock, clockArg := s.clockPlus(0)
	after := p.AfterID
	// Literal statuses let the planners use the partial indexes on queued, waiting and running rows.
	queries := []struct {
		sql  string
		args []any
	}{
		{`SELECT tenant_id, id FROM executions WHERE status = 'queued' AND id > ? ORDER BY id LIMIT ?`, []any{after, limit}},
		{`SELECT tenant_id, id FROM executions WHERE status = 'waiting' AND wake_at <= ? AND id > ? ORDER BY id LIMIT ?`, []any{now, after, limit}},
		{`SELECT tenant_id, id FROM executions WHERE status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < ` + clock + ` OR ?) AND id > ? ORDER BY id LIMIT ?`,
			[]any{clockArg, p.AnyLease, after, limit}},
	}
	var out []store.ExecutionRef
	for _, q := range queries {
		refs, err := s.listRefs(ctx, q.sql, q.args...)
		if err != nil {
			return nil, fmt.Errorf("list runnable executions: %w", err)
		}
		out = append(out, refs...)
	}
	sortRefs(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *Store) listRefs(ctx context.Context, query string, args ...any) ([]store.ExecutionRef, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ExecutionRef
	for rows.Next() {
		var r store.ExecutionRef
		if err := rows.Scan(&r.TenantID, &r.ID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func sortRefs(refs []store.ExecutionRef) {
	slices.SortFunc(refs, func(a, b store.ExecutionRef) int { return strings.Compare(a.ID, b.ID) })
}

// NextWakeAt implements store.Store.
func (s *Store) NextWakeAt(ctx context.Context) (*time.Time, error) {
	var at nullTime
	if err := s.queryRow(ctx, (`SELECT MIN(wake_at) FROM executions WHERE status = 'waiting'`)).Scan(&at); err != nil {
		return nil, fmt.Errorf("next wake-up: %w", err)
	}
	return at.ptr(), nil
}

// ListWakeUps implements store.Store.
func (s *Store) ListWakeUps(ctx context.Context, before time.Time, limit int) ([]store.WakeUp, error) {
	if limit <= 0 {
		limit = 100
	}
	// A literal status lets the planners use the partial index on waiting rows.
	rows, err := s.query(ctx, `SELECT tenant_id, id, wake_at FROM executions WHERE status = 'waiting' AND wake_at <= ? ORDER BY wake_at LIMIT ?`,
		s.t(before.UTC()), limit)
	if err != nil {
		return nil, fmt.Errorf("list wake-ups: %w", err)
	}
	defer rows.Close()
	var out []store.WakeUp
	for rows.Next() {
		var w store.WakeUp
		var at nullTime
		if err := rows.Scan(&w.Ref.TenantID, &w.Ref.ID, &at); err != nil {
			return nil, fmt.Errorf("list wake-ups: %w", err)
		}
		w.At = at.Time
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list wake-ups: %w", err)
	}
	return out, nil
}

// RenewLeases implements store.Store: one conditional update per lease, each reporting whether it
// held and whether a cancel was requested.
func (s *Store) RenewLeases(ctx context.Context, leases []store.Lease, lease time.Duration) (store.RenewResult, error) {
	for _, l := range leases {
		if err := checkText("tenant id", l.Ref.TenantID, "execution id", l.Ref.ID, "lease owner", l.Owner); err != nil {
			return store.RenewResult{}, err
		}
	}
	var out store.RenewResult
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		out = store.RenewResult{}
		until, untilArg := s.clockPlus(lease)
		for _, l := range leases {
			var cancel bool
			err := tx.queryRow(ctx, `UPDATE executions SET lease_expires_at = `+until+`
				WHERE tenant_id = ? AND id = ? AND lease_owner = ? AND status = ? RETURNING cancel_requested`,
				untilArg, l.Ref.TenantID, l.Ref.ID, l.Owner, workflow.ExecutionRunning).Scan(&cancel)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				out.Lost = append(out.Lost, l.Ref)
			case err != nil:
				return fmt.Errorf("renew lease of execution %s: %w", l.Ref.ID, err)
			case cancel:
				out.Cancel = append(out.Cancel, l.Ref)
			}
		}
		return nil
	})
	return out, err
}

// wake marks an execution woken inside tx (see store.Store.WakeExecution).
func (s *Store) wake(ctx context.Context, tx *wtx, hooks *txHooks, tenantID, id string) error {
	if _, err := tx.exec(ctx, `UPDATE executions SET wake_requested = ? WHERE tenant_id = ? AND id = ? AND status IN (?, ?, ?)`,
		true, tenantID, id, workflow.ExecutionQueued, workflow.ExecutionRunning, workflow.ExecutionWaiting); err != nil {
		return fmt.Errorf("wake execution %s: %w", id, err)
	}
	now := s.now().UTC()
	res, err := tx.exec(ctx, `UPDATE executions SET wake_at = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
		s.t(now), tenantID, id, workflow.ExecutionWaiting)
	if err != nil {
		return fmt.Errorf("wake execution %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return s.runnable(ctx, hooks, store.ExecutionRef{TenantID: tenantID, ID: id}, now)
	}
	return nil
}

// WakeExecution implements store.Store.
func (s *Store) WakeExecution(ctx context.Context, tenantID, executionID string) error {
	if err := checkText("tenant id", tenantID, "execution id", executionID); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *wtx, hooks *txHooks) error {
		return s.wake(ctx, tx, hooks, tenantID, executionID)
	})
}

// DeliverSignal implements store.Store.
func (s *Store) DeliverSignal(ctx context.Context, tenantID, executionID, nodeID string, payload json.RawMessage) error {
	if err := checkText("tenant id", tenantID, "execution id", executionID, "node id", nodeID); err != nil {
		return err
	}
	if !json.Valid(payload) {
		return fmt.Errorf("signal payload is not JSON: %w", store.ErrInvalidInput)
	}
	return s.write(ctx, func(ctx context.Context, tx *wtx, hooks *txHooks) error {
		var status workflow.ExecutionStatus
		err := tx.queryRow(ctx, `SELECT status FROM executions WHERE tenant_id = ? AND id = ?`+s.forUpdate(), tenantID, executionID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("execution %s: %w", executionID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("deliver signal: %w", err)
		}
		if status.Terminal() {
			return fmt.Errorf("execution %s has already %s: %w", executionID, status, store.ErrConflict)
		}
		// The signal is written before the execution is woken, so that a run that suspends in between
		// either sees it or is woken after.
		if _, err := tx.exec(ctx, `INSERT INTO signals (tenant_id, execution_id, node_id, payload, created_at) VALUES (?, ?, ?, ?, ?)`,
			tenantID, executionID, nodeID, jsonArg(payload), s.t(s.now().UTC())); err != nil {
			if s.d.IsUniqueViolation(err) {
				return fmt.Errorf("node %s of execution %s has already received a signal: %w", nodeID, executionID, store.ErrConflict)
			}
			return fmt.Errorf("deliver signal: %w", err)
		}
		return s.wake(ctx, tx, hooks, tenantID, executionID)
	})
}

// GetSignal implements store.Store.
func (s *Store) GetSignal(ctx context.Context, tenantID, executionID, nodeID string) (json.RawMessage, error) {
	if err := checkText("tenant id", tenantID, "execution id", executionID, "node id", nodeID); err != nil {
		return nil, err
	}
	var payload rawJSON
	err := s.queryRow(ctx, `SELECT payload FROM signals WHERE tenant_id = ? AND execution_id = ? AND node_id = ?`, tenantID, executionID, nodeID).Scan(&payload)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("signal to node %s of execution %s: %w", nodeID, executionID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read signal: %w", err)
	}
	return json.RawMessage(payload), nil
}

// ListChildren implements store.Store.
func (s *Store) ListChildren(ctx context.Context, tenantID, executionID, nodeID string, limit int) ([]store.Execution, error) {
	if err := checkText("tenant id", tenantID, "execution id", executionID, "node id", nodeID); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+executionColumns+` FROM executions WHERE tenant_id = ? AND parent_execution_id = ? AND parent_node_id = ?
		ORDER BY created_at, id LIMIT ?`, tenantID, executionID, nodeID, limit)
	if err != nil {
		return nil, fmt.Errorf("list children: %w", err)
	}
	defer rows.Close()
	var out []store.Execution
	for rows.Next() {
		e, err := scanExecution(rows, true)
		if err != nil {
			return nil, fmt.Errorf("list children: %w", err)
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list children: %w", err)
	}
	return out, nil
}
