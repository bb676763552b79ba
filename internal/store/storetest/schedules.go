package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
)

// at returns a fixed instant of 2026-05-01 plus d, in UTC.
func at(d time.Duration) time.Time {
	return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).Add(d)
}

// nodeIDs returns the node ids of schedules, in order.
func nodeIDs(schedules []store.Schedule) []string {
	out := make([]string, len(schedules))
	for i, sc := range schedules {
		out[i] = sc.NodeID
	}
	return out
}

// dueOf returns the schedules of ListDueSchedules that belong to workflowID: stores are shared by
// the parallel tests, and ListDueSchedules spans tenants.
func dueOf(t *testing.T, s store.Store, now time.Time, workflowIDs ...string) []store.Schedule {
	t.Helper()
	due, err := s.ListDueSchedules(context.Background(), store.ListDueSchedulesParams{Now: now, Limit: 1000})
	require.NoError(t, err)
	var out []store.Schedule
	for _, sc := range due {
		for _, id := range workflowIDs {
			if sc.WorkflowID == id {
				out = append(out, sc)
			}
		}
	}
	return out
}

func testSchedulesFollowWorkflow(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	wf := NewID()
	_, err := s.CreateWorkflow(ctx, tenant, wf, Definition("nightly"))
	require.NoError(t, err)

	// An inactive workflow has no schedules, even when an update names some.
	_, err = s.UpdateWorkflow(ctx, tenant, wf, 1, Definition("nightly"), nil, []store.Schedule{{NodeID: "a", Spec: `{"cron":"@daily"}`, NextFireAt: at(time.Hour)}})
	require.NoError(t, err)
	got, err := s.ListSchedules(ctx, tenant, wf)
	require.NoError(t, err)
	require.Empty(t, got)

	daily := store.Schedule{NodeID: "daily", Spec: `{"cron":"@daily"}`, NextFireAt: at(12 * time.Hour)}
	hourly := store.Schedule{NodeID: "hourly", Spec: `{"cron":"@hourly"}`, NextFireAt: at(time.Hour)}
	w, err := s.SetWorkflowActive(ctx, tenant, wf, true, nil, []store.Schedule{hourly, daily})
	require.NoError(t, err)
	require.True(t, w.Active)
	got, err = s.ListSchedules(ctx, tenant, wf)
	require.NoError(t, err)
	require.Equal(t, []string{"daily", "hourly"}, nodeIDs(got))
	require.Equal(t, tenant, got[1].TenantID)
	require.Equal(t, wf, got[1].WorkflowID)
	require.Equal(t, 2, got[1].Version)
	require.Equal(t, `{"cron":"@hourly"}`, got[1].Spec)
	require.True(t, at(time.Hour).Equal(got[1].NextFireAt), "next fire at %s", got[1].NextFireAt)
	require.Nil(t, got[1].LastFireAt)

	require.Empty(t, dueOf(t, s, at(59*time.Minute), wf))
	require.Equal(t, []string{"hourly"}, nodeIDs(dueOf(t, s, at(time.Hour), wf)))
	require.Equal(t, []string{"hourly", "daily"}, nodeIDs(dueOf(t, s, at(24*time.Hour), wf)), "earliest first")
	next, err := s.NextScheduleAt(ctx)
	require.NoError(t, err)
	require.NotNil(t, next)
	require.False(t, next.After(at(time.Hour)))

	fired := at(time.Hour + time.Second)
	require.NoError(t, s.FireSchedule(ctx, nil, store.FireScheduleParams{TenantID: tenant, WorkflowID: wf, NodeID: "hourly",
		Due: at(time.Hour), Next: at(2 * time.Hour), FiredAt: &fired}))

	// An update keeps an unchanged schedule as it is (the next fire time given is ignored), replaces a
	// changed one's next fire time (keeping when it last fired), drops a removed one and adds a new one.
	hourly.NextFireAt = at(10 * time.Hour)
	changed := store.Schedule{NodeID: "hourly", Spec: `{"cron":"*/30 * * * *"}`, NextFireAt: at(90 * time.Minute)}
	added := store.Schedule{NodeID: "weekly", Spec: `{"cron":"@weekly"}`, NextFireAt: at(48 * time.Hour)}
	_, err = s.UpdateWorkflow(ctx, tenant, wf, 2, Definition("nightly v3"), nil, []store.Schedule{changed, added})
	require.NoError(t, err)
	got, err = s.ListSchedules(ctx, tenant, wf)
	require.NoError(t, err)
	require.Equal(t, []string{"hourly", "weekly"}, nodeIDs(got))
	require.Equal(t, `{"cron":"*/30 * * * *"}`, got[0].Spec)
	require.True(t, at(90*time.Minute).Equal(got[0].NextFireAt))
	require.NotNil(t, got[0].LastFireAt, "a changed schedule keeps when it last fired")
	require.True(t, fired.Equal(*got[0].LastFireAt))
	require.Equal(t, 3, got[0].Version)

	_, err = s.UpdateWorkflow(ctx, tenant, wf, 3, Definition("nightly v4"), nil, []store.Schedule{{NodeID: "hourly", Spec: changed.Spec, NextFireAt: at(99 * time.Hour)}, added})
	require.NoError(t, err)
	got, err = s.ListSchedules(ctx, tenant, wf)
	require.NoError(t, err)
	require.True(t, at(90*time.Minute).Equal(got[0].NextFireAt), "an unchanged spec keeps its next fire time")
	require.Equal(t, 4, got[0].Version, "and follows the current version")

	// Switching an active workflow on again keeps its schedules.
	_, err = s.SetWorkflowActive(ctx, tenant, wf, true, nil, []store.Schedule{{NodeID: "hourly", Spec: changed.Spec, NextFireAt: at(99 * time.Hour)}})
	require.NoError(t, err)
	got, err = s.ListSchedules(ctx, tenant, wf)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.True(t, at(90*time.Minute).Equal(got[0].NextFireAt))

	// Deactivating drops them, whatever the call names.
	_, err = s.SetWorkflowActive(ctx, tenant, wf, false, nil, []store.Schedule{daily})
	require.NoError(t, err)
	got, err = s.ListSchedules(ctx, tenant, wf)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Empty(t, dueOf(t, s, at(1000*time.Hour), wf))

	// Deleting an active workflow drops them too.
	_, err = s.SetWorkflowActive(ctx, tenant, wf, true, nil, []store.Schedule{daily})
	require.NoError(t, err)
	require.NoError(t, s.DeleteWorkflow(ctx, tenant, wf))
	got, err = s.ListSchedules(ctx, tenant, wf)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Empty(t, dueOf(t, s, at(1000*time.Hour), wf))

	// A schedule's text is checked like any other.
	other := NewID()
	_, err = s.CreateWorkflow(ctx, tenant, other, Definition("bad"))
	require.NoError(t, err)
	_, err = s.SetWorkflowActive(ctx, tenant, other, true, nil, []store.Schedule{{NodeID: "a\x00", Spec: "{}", NextFireAt: at(0)}})
	require.ErrorIs(t, err, store.ErrInvalidInput)
}

func testSchedulesAcrossTenants(t *testing.T, s store.Store) {
	ctx := context.Background()
	mine, theirs := store.DefaultTenant, NewTenant(t, s)
	a, b := NewID(), NewID()
	_, err := s.CreateWorkflow(ctx, mine, a, Definition("mine"))
	require.NoError(t, err)
	_, err = s.CreateWorkflow(ctx, theirs, b, Definition("theirs"))
	require.NoError(t, err)
	_, err = s.SetWorkflowActive(ctx, mine, a, true, nil, []store.Schedule{{NodeID: "tick", Spec: "{}", NextFireAt: at(2 * time.Minute)}})
	require.NoError(t, err)
	_, err = s.SetWorkflowActive(ctx, theirs, b, true, nil, []store.Schedule{{NodeID: "tick", Spec: "{}", NextFireAt: at(time.Minute)}})
	require.NoError(t, err)

	due := dueOf(t, s, at(time.Hour), a, b)
	require.Len(t, due, 2)
	require.Equal(t, theirs, due[0].TenantID, "the scheduler sees every tenant's, earliest first")
	require.Equal(t, mine, due[1].TenantID)

	got, err := s.ListSchedules(ctx, mine, b)
	require.NoError(t, err)
	require.Empty(t, got, "reads are scoped by tenant")
	err = s.FireSchedule(ctx, nil, store.FireScheduleParams{TenantID: mine, WorkflowID: b, NodeID: "tick", Due: at(time.Minute), Next: at(time.Hour)})
	require.ErrorIs(t, err, store.ErrConflict, "another tenant's schedule is not found")
	got, err = s.ListSchedules(ctx, theirs, b)
	require.NoError(t, err)
	require.True(t, at(time.Minute).Equal(got[0].NextFireAt))
}

func testFireScheduleConditional(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	wf := NewID()
	_, err := s.CreateWorkflow(ctx, tenant, wf, Definition("x"))
	require.NoError(t, err)
	_, err = s.SetWorkflowActive(ctx, tenant, wf, true, nil, []store.Schedule{{NodeID: "tick", Spec: "{}", NextFireAt: at(time.Minute)}})
	require.NoError(t, err)
	p := store.FireScheduleParams{TenantID: tenant, WorkflowID: wf, NodeID: "tick", Due: at(time.Minute), Next: at(2 * time.Minute)}

	// Skipping a fire time moves it without a last fire time.
	require.NoError(t, s.FireSchedule(ctx, nil, p))
	got, err := s.ListSchedules(ctx, tenant, wf)
	require.NoError(t, err)
	require.True(t, at(2*time.Minute).Equal(got[0].NextFireAt))
	require.Nil(t, got[0].LastFireAt)
	require.ErrorIs(t, s.FireSchedule(ctx, nil, p), store.ErrConflict, "the same fire time moves once")

	// A run and the move commit together: the execution exists exactly when the schedule moved.
	fired := at(2*time.Minute + 3*time.Millisecond)
	move := store.FireScheduleParams{TenantID: tenant, WorkflowID: wf, NodeID: "tick", Due: at(2 * time.Minute), Next: at(3 * time.Minute), FiredAt: &fired}
	create := func(id string, move store.FireScheduleParams) error {
		_, _, err := s.CreateExecution(ctx, tenant, store.CreateExecutionParams{
			ID: id, WorkflowID: wf, WorkflowVersion: 2, TriggerKind: store.TriggerSchedule, TriggerNode: "tick",
			Enqueue: func(ctx context.Context, tx store.Tx, _ *store.Execution) error { return s.FireSchedule(ctx, tx, move) },
		})
		return err
	}
	first := NewID()
	require.NoError(t, create(first, move))
	got, err = s.ListSchedules(ctx, tenant, wf)
	require.NoError(t, err)
	require.True(t, at(3*time.Minute).Equal(got[0].NextFireAt))
	require.NotNil(t, got[0].LastFireAt)
	require.True(t, fired.Equal(*got[0].LastFireAt))
	exec, err := s.GetExecution(ctx, tenant, first)
	require.NoError(t, err)
	require.Equal(t, store.TriggerSchedule, exec.TriggerKind)

	second := NewID()
	require.ErrorIs(t, create(second, move), store.ErrConflict, "a stale fire time is refused")
	_, err = s.GetExecution(ctx, tenant, second)
	require.ErrorIs(t, err, store.ErrNotFound, "and its run rolled back")

	// Deactivation stops firing at once: a scheduler that read the schedule before cannot fire it.
	_, err = s.SetWorkflowActive(ctx, tenant, wf, false, nil, nil)
	require.NoError(t, err)
	third := NewID()
	require.ErrorIs(t, create(third, store.FireScheduleParams{TenantID: tenant, WorkflowID: wf, NodeID: "tick", Due: at(3 * time.Minute), Next: at(4 * time.Minute)}), store.ErrConflict)
	_, err = s.GetExecution(ctx, tenant, third)
	require.ErrorIs(t, err, store.ErrNotFound)

	// Only this store's transactions are accepted.
	require.Error(t, s.FireSchedule(ctx, foreignTx{}, move))
}

type foreignTx struct{}

func (foreignTx) OnCommit(func()) {}

// testFireScheduleRace has schedulers race to fire one fire time, each creating its own execution in
// the transaction that moves the schedule: exactly one run is created, whatever the store's isolation.
func testFireScheduleRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	wf := NewID()
	_, err := s.CreateWorkflow(ctx, tenant, wf, Definition("x"))
	require.NoError(t, err)
	_, err = s.SetWorkflowActive(ctx, tenant, wf, true, nil, []store.Schedule{{NodeID: "tick", Spec: "{}", NextFireAt: at(0)}})
	require.NoError(t, err)
	const racers, rounds = 6, 5
	for round := range rounds {
		due, next := at(time.Duration(round)*time.Second), at(time.Duration(round+1)*time.Second)
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				fired := next
				_, _, errs[i] = s.CreateExecution(ctx, tenant, store.CreateExecutionParams{
					ID: NewID(), WorkflowID: wf, WorkflowVersion: 2, TriggerKind: store.TriggerSchedule, TriggerNode: "tick",
					Enqueue: func(ctx context.Context, tx store.Tx, _ *store.Execution) error {
						return s.FireSchedule(ctx, tx, store.FireScheduleParams{TenantID: tenant, WorkflowID: wf, NodeID: "tick", Due: due, Next: next, FiredAt: &fired})
					},
				})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		require.Equal(t, 1, won, "round %d", round)
	}
	page, err := s.ListExecutions(ctx, tenant, store.ListExecutionsParams{WorkflowID: wf, Limit: 100})
	require.NoError(t, err)
	require.Len(t, page.Items, rounds, "one run per fire time")
}
