package storepg_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/sqlstore"
	"github.com/concertmaster/concertmaster/internal/store/storepg"
	"github.com/concertmaster/concertmaster/internal/store/storetest"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// statements records the statements a pgx connection sends (BEGIN and COMMIT included).
type statements struct {
	mu   sync.Mutex
	sent []string
}

func (c *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, strings.Join(strings.Fields(data.SQL), " "))
	return ctx
}

func (c *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns the statements sent since the last call.
func (c *statements) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.sent
	c.sent = nil
	return out
}

// TestStepIsOneStatement checks that a step of a running execution (status change or lease check,
// node runs and events) reaches PostgreSQL as one statement, that it keeps JSON values byte for
// byte, and that a step whose condition fails writes nothing.
func TestStepIsOneStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, u := newSchemaStoreURL(t, testURL(t))
	cfg, err := pgx.ParseConfig(u)
	require.NoError(t, err)
	sent := &statements{}
	cfg.Tracer = sent
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(1)
	s := sqlstore.New(sqlstore.Config{Dialect: storepg.Dialect(), ReadDB: db, WriteDB: db})
	t.Cleanup(func() { require.NoError(t, s.Close()) })

	const tenant = store.DefaultTenant
	exec := storetest.NewExecution(t, s, tenant)
	ref := store.ExecutionRef{TenantID: tenant, ID: exec.ID}
	_, err = s.ClaimExecution(ctx, ref, "w/1", time.Minute, false)
	require.NoError(t, err)

	now := time.Now().UTC().Truncate(time.Microsecond)
	// A \u0000 escape and a JSON null are valid JSON values that a json column keeps as sent.
	nul := json.RawMessage(`{"a" : "\u0000", "b":[1, 2]}`)
	null := json.RawMessage(`null`)
	events := func(from int64, n int) []store.Event {
		out := make([]store.Event, n)
		for i := range out {
			out[i] = store.Event{Seq: from + int64(i), Type: "node.finished", NodeID: "a", Attempt: 1, Time: now, Data: json.RawMessage(`{"i":1}`)}
		}
		return out
	}
	steps := []struct {
		name string
		u    store.ExecutionUpdate
		// statements is how many statements the step sends; conflict says it must fail with ErrConflict.
		statements int
		conflict   bool
	}{
		{"start with node runs and events", store.ExecutionUpdate{
			Owner: "w/1", From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, SetStartedAt: &now,
			NodeRuns: []store.NodeRun{
				{NodeID: "a", Attempt: 1, Status: workflow.NodeRunRunning, Input: nul, StartedAt: &now},
				{NodeID: "a", Attempt: 1, Status: workflow.NodeRunSucceeded, Output: nul, Port: "out", FinishedAt: &now},
				{NodeID: "b", Attempt: 1, Status: workflow.NodeRunSucceeded, Output: null, StartedAt: &now, FinishedAt: &now,
					InputFrom: "a", Logs: []store.LogEntry{{Level: "info", Message: "ok", Time: now}}},
			},
			Events: events(2, 3),
		}, 1, false},
		{"node runs only, lease checked", store.ExecutionUpdate{
			Owner: "w/1", NodeRuns: []store.NodeRun{{NodeID: "c", Attempt: 1, Status: workflow.NodeRunFailed, Error: &store.NodeError{Message: "boom"}, FinishedAt: &now}},
			Events: events(5, 1),
		}, 1, false},
		{"another owner's step writes nothing", store.ExecutionUpdate{
			Owner: "w/2", NodeRuns: []store.NodeRun{{NodeID: "d", Attempt: 1, Status: workflow.NodeRunSucceeded}},
			Events: events(6, 1),
		}, 1, true},
		{"an update from a status the row is not in writes nothing", store.ExecutionUpdate{
			Owner: "w/1", From: []workflow.ExecutionStatus{workflow.ExecutionQueued}, To: workflow.ExecutionFailed,
			Events: events(6, 1),
		}, 1, true},
		{"finish", store.ExecutionUpdate{
			Owner: "w/1", From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, To: workflow.ExecutionSucceeded,
			SetFinishedAt: &now, Output: nul, ReleaseLease: true, Events: events(6, 1),
		}, 1, false},
	}
	sent.take()
	for _, step := range steps {
		step.u.ExecutionID = exec.ID
		err := s.ApplyExecutionUpdate(ctx, tenant, &step.u)
		if step.conflict {
			require.ErrorIs(t, err, store.ErrConflict, step.name)
		} else {
			require.NoError(t, err, step.name)
		}
		require.Len(t, sent.take(), step.statements, step.name)
	}

	runs, err := s.ListNodeRuns(ctx, tenant, exec.ID)
	require.NoError(t, err)
	require.Len(t, runs, 3, "the refused step added no node run")
	byNode := map[string]store.NodeRun{}
	for _, r := range runs {
		byNode[r.NodeID] = r
	}
	require.Equal(t, workflow.NodeRunSucceeded, byNode["a"].Status, "the attempt's end wins over its start")
	require.Equal(t, string(nul), string(byNode["a"].Input), "the start's input is kept, byte for byte")
	require.Equal(t, "a", byNode["b"].InputFrom)
	require.Equal(t, string(nul), string(byNode["a"].Output))
	require.NotNil(t, byNode["a"].StartedAt)
	require.Equal(t, "null", string(byNode["b"].Output), "a JSON null output is a value, not a missing one")
	require.Len(t, byNode["b"].Logs, 1)
	require.Equal(t, "boom", byNode["c"].Error.Message)

	evs, err := s.ListEvents(ctx, tenant, exec.ID, 0, 100)
	require.NoError(t, err)
	for i, ev := range evs {
		require.Equal(t, int64(i+1), ev.Seq, "events are gapless")
	}
	require.Len(t, evs, 6)
	got, err := s.GetExecution(ctx, tenant, exec.ID)
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionSucceeded, got.Status)
	require.Equal(t, string(nul), string(got.Output))

	// A step that queues the execution again inserts its job in the same transaction: it takes the
	// transaction's path, and still works.
	again := storetest.NewExecution(t, s, tenant)
	_, err = s.ClaimExecution(ctx, store.ExecutionRef{TenantID: tenant, ID: again.ID}, "w/1", time.Minute, false)
	require.NoError(t, err)
	sent.take()
	require.NoError(t, s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{
		ExecutionID: again.ID, Owner: "w/1", To: workflow.ExecutionQueued, ReleaseLease: true, Events: events(2, 1),
	}))
	require.Greater(t, len(sent.take()), 1)
}
