package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// A step of a running execution (ApplyExecutionUpdate) is, in the common case, an update or a check
// of the executions row, conditional on its status and lease owner, plus node runs and events to
// insert. As a transaction that is five round trips (BEGIN, the update or SELECT … FOR SHARE, the
// node runs, the events, COMMIT). Where the database runs INSERT and UPDATE inside WITH
// (Dialect.WritableCTEs), the store sends it as one statement in autocommit instead: the row's CTE
// updates it (or locks it FOR SHARE, for a step that only adds node runs and events), and the inserts
// select their rows from unnest() of array parameters only WHERE EXISTS a row in that CTE. One
// statement is one transaction: when the condition fails nothing is written, and the statement
// reports no row, which is the step's ErrConflict, exactly as the transaction's path.
//
// Rows travel as arrays so that the statement's text depends only on which columns of the
// execution change, never on how many rows a step has: pgx prepares it once per connection. JSON
// values travel as text[] cast to json[], which keeps them byte for byte (json_to_recordset would
// refuse a \u0000 escape that a json column accepts).
//
// Steps that need more than that take the transaction's path: one that queues or parks the
// execution (the dispatcher's RunnableHook inserts a job in the same transaction), one that wakes a
// parent, and one whose context carries audit entries to write with it.

// claimInOneStatement is ClaimExecution in two autocommit statements instead of a four-round-trip
// transaction. The conditional update returns the claimed row. It reports whether a signal asked for
// a wake-up while the execution ran, and clears the request: PostgreSQL's RETURNING sees only the new
// row, so the old flag comes from a CTE that locks the row first (the UPDATE joins it, which makes it
// run first), and a signal that arrives meanwhile waits for the statement and sets the flag again.
// The last event's number is read by a second statement, after the claim has committed: a write of
// the previous owner that the claim waited for committed before the claim, but after the update's
// snapshot, which would not see it; once the claim has committed, no write of that owner can.
func (s *Store) claimInOneStatement(ctx context.Context, ref store.ExecutionRef, owner, until string, untilArg any, cond string, condArgs []any) (*store.Execution, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q := `WITH prev AS (SELECT wake_requested AS was_woken FROM executions WHERE tenant_id = ? AND id = ? FOR UPDATE)
		UPDATE executions SET status = ?, lease_owner = ?, lease_expires_at = ` + until + `, wake_at = NULL, wake_requested = ?
		FROM prev WHERE tenant_id = ? AND id = ? AND ` + cond + `
		RETURNING ` + executionSummaryColumns + `, input, output, 0, prev.was_woken`
	args := append([]any{ref.TenantID, ref.ID, workflow.ExecutionRunning, owner, untilArg, false, ref.TenantID, ref.ID}, condArgs...)
	var woken bool
	row := s.writeDB.QueryRowContext(context.WithoutCancel(ctx), s.q(q), args...)
	out, err := scanExecution(row, true, &woken)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("execution %s is not claimable: %w", ref.ID, store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("claim execution: %w", err)
	}
	out.WakeRequested = woken
	err = s.writeDB.QueryRowContext(context.WithoutCancel(ctx), s.q(`SELECT COALESCE(MAX(seq), 0) FROM events WHERE tenant_id = ? AND execution_id = ?`),
		ref.TenantID, ref.ID).Scan(&out.LastSeq)
	if err != nil {
		return nil, fmt.Errorf("claim execution: read its last event: %w", err)
	}
	return out, nil
}

// oneStatement reports whether u can be written in one statement: see above. updates says the
// executions row changes; a step that neither changes nor checks it has nothing to be conditional
// on and takes the transaction's path.
func (s *Store) oneStatement(ctx context.Context, u *store.ExecutionUpdate, updates bool) bool {
	switch {
	case !s.d.WritableCTEs || s.batch != nil:
		return false
	case !updates && len(u.From) == 0 && u.Owner == "":
		return false
	case u.To == workflow.ExecutionQueued, u.To == workflow.ExecutionWaiting && u.WakeAt != nil:
		return false
	case u.WakeParent != "" && u.To.Terminal():
		return false
	}
	return !store.AuditPending(ctx)
}

// nodeRunArrays is the unnest() of a step's node runs, in nodeRunWriteColumns order after the tenant and
// execution ids.
const nodeRunArrays = `?::text[], ?::int4[], ?::text[], ?::text[]::json[], ?::int8[], ?::text[], ?::text[],
		?::text[]::json[], ?::int8[], ?::text[], ?::text[], ?::text[]::json[], ?::text[]::json[],
		?::timestamptz[], ?::timestamptz[], ?::timestamptz[]`

// eventArrays is the unnest() of a step's events, after the tenant and execution ids.
const eventArrays = `?::int8[], ?::text[], ?::text[], ?::int4[], ?::timestamptz[], ?::text[]::json[]`

// applyInOneStatement writes u as one statement (see above). set and args are the assignments of
// the executions row (none: the row is only checked and held), where and cond its condition.
func (s *Store) applyInOneStatement(ctx context.Context, tenantID string, u *store.ExecutionUpdate, set []string, args []any, where string, cond []any) error {
	var q strings.Builder
	var all []any
	if len(set) > 0 {
		q.WriteString(`WITH ex AS (UPDATE executions SET ` + strings.Join(set, ", ") + ` WHERE ` + where + ` RETURNING 1)`)
		all = append(append(all, args...), cond...)
	} else {
		q.WriteString(`WITH ex AS (SELECT 1 FROM executions WHERE ` + where + ` FOR SHARE)`)
		all = append(all, cond...)
	}
	if len(u.NodeRuns) > 0 {
		arrays, err := nodeRunColumnsOf(mergeNodeRuns(u.NodeRuns))
		if err != nil {
			return err
		}
		q.WriteString(`, nr AS (INSERT INTO node_runs (` + nodeRunWriteColumns + `)
		SELECT ?::text, ?::text, r.* FROM unnest(` + nodeRunArrays + `) AS r
		WHERE EXISTS (SELECT 1 FROM ex)
		` + nodeRunOnConflict + `)`)
		all = append(append(all, tenantID, u.ExecutionID), arrays...)
	}
	if len(u.Events) > 0 {
		q.WriteString(`, ev AS (INSERT INTO events (tenant_id, execution_id, seq, type, node_id, attempt, time, data)
		SELECT ?::text, ?::text, r.* FROM unnest(` + eventArrays + `) AS r
		WHERE EXISTS (SELECT 1 FROM ex))`)
		all = append(append(all, tenantID, u.ExecutionID), eventColumnsOf(u.Events)...)
	}
	q.WriteString(` SELECT count(*) FROM ex`)

	// Once sent, the statement runs to its end whatever happens to ctx, as a transaction's COMMIT
	// does: a caller must not give up on a write that then commits behind its back.
	if err := ctx.Err(); err != nil {
		return err
	}
	var n int
	if err := s.writeDB.QueryRowContext(context.WithoutCancel(ctx), s.q(q.String()), all...).Scan(&n); err != nil {
		return fmt.Errorf("write execution %s step: %w", u.ExecutionID, err)
	}
	if n == 0 {
		return fmt.Errorf("execution %s changed state or lease: %w", u.ExecutionID, store.ErrConflict)
	}
	if u.OnCommit != nil {
		u.OnCommit()
	}
	return nil
}

// nodeRunColumnsOf returns the column arrays of rows, in nodeRunArrays order.
func nodeRunColumnsOf(rows []*store.NodeRun) ([]any, error) {
	n := len(rows)
	var (
		nodeIDs   = make([]string, n)
		attempts  = make([]int64, n)
		statuses  = make([]string, n)
		inputs    = make([]*string, n)
		inBytes   = make([]*int64, n)
		inHeads   = make([]*string, n)
		inFrom    = make([]*string, n)
		outputs   = make([]*string, n)
		outBytes  = make([]*int64, n)
		outHeads  = make([]*string, n)
		ports     = make([]*string, n)
		errs      = make([]*string, n)
		logs      = make([]*string, n)
		started   = make([]*time.Time, n)
		finished  = make([]*time.Time, n)
		wakes     = make([]*time.Time, n)
		byteCount = func(v []byte) (*int64, *string) {
			size, head := sizeAndHead(v)
			var sp *int64
			if size != nil {
				sz := size.(int64)
				sp = &sz
			}
			return sp, stringOrNil(head)
		}
	)
	for i, r := range rows {
		nodeIDs[i], attempts[i], statuses[i] = r.NodeID, int64(r.Attempt), string(r.Status)
		inputs[i], outputs[i] = jsonText(r.Input), jsonText(r.Output)
		inBytes[i], inHeads[i] = byteCount(r.Input)
		outBytes[i], outHeads[i] = byteCount(r.Output)
		inFrom[i], ports[i] = textOrNil(r.InputFrom), textOrNil(r.Port)
		if r.Error != nil {
			v, err := marshalArg(r.Error)
			if err != nil {
				return nil, fmt.Errorf("marshal node error: %w", err)
			}
			errs[i] = stringOrNil(v)
		}
		if len(r.Logs) > 0 {
			v, err := marshalArg(r.Logs)
			if err != nil {
				return nil, fmt.Errorf("marshal node logs: %w", err)
			}
			logs[i] = stringOrNil(v)
		}
		started[i], finished[i], wakes[i] = utc(r.StartedAt), utc(r.FinishedAt), utc(r.WakeAt)
	}
	return []any{nodeIDs, attempts, statuses, inputs, inBytes, inHeads, inFrom, outputs, outBytes, outHeads, ports, errs, logs, started, finished, wakes}, nil
}

// eventColumnsOf returns the column arrays of events, in eventArrays order.
func eventColumnsOf(events []store.Event) []any {
	n := len(events)
	seqs, types, nodeIDs := make([]int64, n), make([]string, n), make([]*string, n)
	attempts, times, data := make([]int64, n), make([]time.Time, n), make([]*string, n)
	for i := range events {
		ev := &events[i]
		seqs[i], types[i], nodeIDs[i] = ev.Seq, ev.Type, textOrNil(ev.NodeID)
		attempts[i], times[i], data[i] = int64(ev.Attempt), ev.Time.UTC(), jsonText(ev.Data)
	}
	return []any{seqs, types, nodeIDs, attempts, times, data}
}

// jsonText is a JSON value as an array element: NULL when there is none, as jsonArg.
func jsonText(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	v := string(b)
	return &v
}

func textOrNil(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// stringOrNil converts what sizeAndHead and marshalArg return for a text column.
func stringOrNil(v any) *string {
	if v == nil {
		return nil
	}
	sv := v.(string)
	return &sv
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}
