package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/concertmaster/concertmaster/internal/store"
)

// Reads of big executions (ADR 0008): every input and output is stored with its size and, when it is
// over headBytes, its head, so that a read never touches a whole multi-megabyte value.

// headBytes is the size of the head stored beside each input and output over it.
const headBytes = store.PreviewBytesDefault

// errorCodeMax bounds the error code a summary of a large error carries.
const errorCodeMax = 256

// sizeAndHead returns what is stored beside a JSON value: its size and, when it is over headBytes,
// its head; NULLs when there is no value.
func sizeAndHead(v []byte) (size, head any) {
	switch {
	case len(v) == 0:
		return nil, nil
	case len(v) <= headBytes:
		return int64(len(v)), nil
	}
	return int64(len(v)), store.Preview(v, headBytes).Head
}

// headOf is the expression of a value's head for a preview of n bytes: the stored head (or the value
// itself, when it is small enough to have none), or for a preview larger than stored heads, the
// value's first characters.
func (s *Store) headOf(table, col string, n int) string {
	if n <= headBytes {
		return "COALESCE(" + table + col + "_head, " + s.jsonText(table+col) + ")"
	}
	return "substr(" + s.jsonText(table+col) + ", 1, " + strconv.Itoa(n) + ")"
}

// jsonText is the text of a JSON expression: SQLite keeps JSON as TEXT, PostgreSQL's json type is
// cast (its text is the stored text, unchanged).
func (s *Store) jsonText(expr string) string {
	if s.d.Name == "postgres" {
		return "(" + expr + ")::text"
	}
	return expr
}

// jsonField is the text of one top-level field of a JSON column.
func (s *Store) jsonField(col, key string) string {
	if s.d.Name == "postgres" {
		return "(" + col + "->>'" + key + "')"
	}
	return "json_extract(" + col + ", '$." + key + "')"
}

// previewSize clamps a requested preview size.
func previewSize(n, def int) int {
	switch {
	case n <= 0:
		return def
	case n > store.PreviewBytesMax:
		return store.PreviewBytesMax
	}
	return n
}

// preview turns a head read with substr (which counts characters) and a length in bytes into a
// ValuePreview of at most n bytes.
func preview(head nullString, size sql.NullInt64, n int) store.ValuePreview {
	if !size.Valid {
		return store.ValuePreview{}
	}
	return store.ValuePreview{Head: store.CutUTF8(string(head), n), Bytes: size.Int64}
}

// GetExecutionPreview implements store.Store.
func (s *Store) GetExecutionPreview(ctx context.Context, tenantID, id string, previewBytes int) (*store.ExecutionPreview, error) {
	n := previewSize(previewBytes, store.PreviewBytesDefault)
	var inHead, outHead nullString
	var inSize, outSize sql.NullInt64
	var lastSeq int64
	row := s.queryRow(ctx, `SELECT `+executionSummaryColumns+`, `+s.headOf("", "input", n)+`, input_bytes, `+s.headOf("", "output", n)+`, output_bytes, `+
		lastSeqColumn+` FROM executions WHERE tenant_id = ? AND id = ?`, tenantID, id)
	e, err := scanExecution(row, false, &inHead, &inSize, &outHead, &outSize, &lastSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("execution %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get execution preview: %w", err)
	}
	e.LastSeq = lastSeq
	return &store.ExecutionPreview{Execution: *e, InputPreview: preview(inHead, inSize, n), OutputPreview: preview(outHead, outSize, n)}, nil
}

// executionExists returns ErrNotFound unless the execution exists in the tenant.
func (s *Store) executionExists(ctx context.Context, tenantID, id string) error {
	var one int
	err := s.queryRow(ctx, `SELECT 1 FROM executions WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("execution %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("check execution: %w", err)
	}
	return nil
}

// referencedOutput joins, as src, the run whose output a run's input refers to (InputFrom): the last
// attempt of that node that has an output.
const referencedOutput = `LEFT JOIN node_runs src ON src.tenant_id = r.tenant_id AND src.execution_id = r.execution_id AND src.node_id = r.input_from
	AND src.attempt = (SELECT MAX(m.attempt) FROM node_runs m
		WHERE m.tenant_id = r.tenant_id AND m.execution_id = r.execution_id AND m.node_id = r.input_from AND m.output_bytes IS NOT NULL)`

// ListNodeRunSummaries implements store.Store.
func (s *Store) ListNodeRunSummaries(ctx context.Context, tenantID, executionID string, p store.ListNodeRunSummariesParams) (*store.Page[store.NodeRunSummary], error) {
	limit := pageLimit(p.Limit)
	n := previewSize(p.PreviewBytes, store.PreviewBytesDefault)
	inline := previewSize(p.InlineBytes, store.InlineBytesDefault)
	where := `r.tenant_id = ? AND r.execution_id = ?`
	// In placeholder order: the select list's bounds, then the filter.
	args := []any{inline, inline, n, inline, errorCodeMax, inline, tenantID, executionID}
	if p.Cursor != "" {
		key, node, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		attempt, err := strconv.Atoi(key)
		if err != nil {
			return nil, ErrBadCursor
		}
		where += ` AND (r.node_id > ? OR (r.node_id = ? AND r.attempt > ?))`
		args = append(args, node, node, attempt)
	}
	if err := s.executionExists(ctx, tenantID, executionID); err != nil {
		return nil, err
	}
	args = append(args, limit+1)
	errT, logs := s.jsonText("r.error"), s.jsonText("r.logs")
	q := `SELECT r.node_id, r.attempt, r.status, r.input_from, r.port, r.started_at, r.finished_at, r.wake_at,
		CASE WHEN r.input_bytes IS NOT NULL THEN ` + s.headOf("r.", "input", n) + ` ELSE ` + s.headOf("src.", "output", n) + ` END,
		COALESCE(r.input_bytes, src.output_bytes), ` + s.headOf("r.", "output", n) + `, r.output_bytes,
		CASE WHEN octet_length(` + errT + `) <= ? THEN r.error END, octet_length(` + errT + `),
		CASE WHEN octet_length(` + errT + `) > ? THEN substr(` + s.jsonField("r.error", "message") + `, 1, ?) END,
		CASE WHEN octet_length(` + errT + `) > ? THEN substr(` + s.jsonField("r.error", "code") + `, 1, ?) END,
		CASE WHEN octet_length(` + logs + `) <= ? THEN r.logs END, octet_length(` + logs + `)
		FROM node_runs r ` + referencedOutput + `
		WHERE ` + where + ` ORDER BY r.node_id, r.attempt LIMIT ?`
	return queryPage(ctx, s, "node run summaries", limit,
		func(rows *sql.Rows) (store.NodeRunSummary, error) { return scanNodeRunSummary(rows, n) },
		func(r store.NodeRunSummary) string { return encodeCursor(strconv.Itoa(r.Attempt), r.NodeID) },
		q, args...)
}

func scanNodeRunSummary(rows *sql.Rows, n int) (store.NodeRunSummary, error) {
	var r store.NodeRunSummary
	var inputFrom, port, inHead, outHead, errMsg, errCode nullString
	var started, finished, wake nullTime
	var inSize, outSize, errSize, logsSize sql.NullInt64
	var errJSON, logs rawJSON
	if err := rows.Scan(&r.NodeID, &r.Attempt, &r.Status, &inputFrom, &port, &started, &finished, &wake,
		&inHead, &inSize, &outHead, &outSize, &errJSON, &errSize, &errMsg, &errCode, &logs, &logsSize); err != nil {
		return r, err
	}
	r.InputFrom, r.Port = string(inputFrom), string(port)
	r.StartedAt, r.FinishedAt, r.WakeAt = started.ptr(), finished.ptr(), wake.ptr()
	r.Input, r.Output = preview(inHead, inSize, n), preview(outHead, outSize, n)
	r.ErrorBytes, r.LogsBytes = errSize.Int64, logsSize.Int64
	switch {
	case len(errJSON) > 0:
		r.Error = &store.NodeError{}
		if err := json.Unmarshal(errJSON, r.Error); err != nil {
			return r, fmt.Errorf("decode node error: %w", err)
		}
	case errSize.Valid:
		r.Error = &store.NodeError{Message: store.CutUTF8(string(errMsg), n), Code: store.CutUTF8(string(errCode), errorCodeMax)}
		r.ErrorTruncated = true
	}
	switch {
	case len(logs) > 0:
		if err := json.Unmarshal(logs, &r.Logs); err != nil {
			return r, fmt.Errorf("decode node logs: %w", err)
		}
	case logsSize.Valid:
		r.LogsTruncated = true
	}
	return r, nil
}

// GetValue implements store.Store.
func (s *Store) GetValue(ctx context.Context, tenantID string, ref store.ValueRef) (string, error) {
	var q, what string
	var args []any
	switch {
	case ref.NodeID == "" && (ref.Field == store.ValueInput || ref.Field == store.ValueOutput):
		q = `SELECT ` + s.jsonText(string(ref.Field)) + ` FROM executions WHERE tenant_id = ? AND id = ?`
		args, what = []any{tenantID, ref.ExecutionID}, "execution "+ref.ExecutionID
	case ref.NodeID != "":
		var expr string
		switch ref.Field {
		case store.ValueInput:
			expr = `COALESCE(r.input, (SELECT o.output FROM node_runs o WHERE o.tenant_id = r.tenant_id AND o.execution_id = r.execution_id
				AND o.node_id = r.input_from AND o.output_bytes IS NOT NULL ORDER BY o.attempt DESC LIMIT 1))`
		case store.ValueOutput, store.ValueLogs, store.ValueError:
			expr = "r." + string(ref.Field)
		default:
			return "", fmt.Errorf("node runs have no %q value: %w", ref.Field, store.ErrInvalidInput)
		}
		q = `SELECT ` + s.jsonText(expr) + ` FROM node_runs r WHERE r.tenant_id = ? AND r.execution_id = ? AND r.node_id = ? AND r.attempt = ?`
		args = []any{tenantID, ref.ExecutionID, ref.NodeID, ref.Attempt}
		what = fmt.Sprintf("node run %s attempt %d of execution %s", ref.NodeID, ref.Attempt, ref.ExecutionID)
	default:
		return "", fmt.Errorf("executions have no %q value: %w", ref.Field, store.ErrInvalidInput)
	}
	var v nullString
	err := s.queryRow(ctx, q, args...).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("get %s: %w", ref.Field, err)
	}
	if v == "" {
		return "", fmt.Errorf("%s has no %s: %w", what, ref.Field, store.ErrNotFound)
	}
	return string(v), nil
}
