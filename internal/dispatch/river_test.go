package dispatch_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/dispatch"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// riverEnv starts a runtime on a fresh PostgreSQL schema dispatched by River. make test and CI always
// set CM_TEST_DATABASE_URL; without it (a bare go test) the River tests are skipped.
func riverEnv(t *testing.T, opts enginetest.Options) *enginetest.Env {
	t.Helper()
	u := os.Getenv("CM_TEST_DATABASE_URL")
	if u == "" {
		t.Skip("CM_TEST_DATABASE_URL is not set; run through make test to include PostgreSQL")
	}
	opts.PostgresURL = u
	return enginetest.Start(t, opts)
}

func riverJobs(t *testing.T, env *enginetest.Env, executionID string) map[string]int {
	t.Helper()
	return countJobs(t, env, `SELECT state, COUNT(*) FROM river_job WHERE args->>'executionId' = $1 GROUP BY state`, executionID)
}

// countJobs runs a query of (state, count) rows and returns the counts by state.
func countJobs(t *testing.T, env *enginetest.Env, query string, args ...any) map[string]int {
	t.Helper()
	rows, err := env.Store.DB().QueryContext(context.Background(), query, args...)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		require.NoError(t, rows.Scan(&state, &n))
		out[state] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func TestRiverRunsExecutions(t *testing.T) {
	t.Parallel()
	env := riverEnv(t, enginetest.Options{})
	w := env.Save(t, `{"name":"river","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"set","type":"data.set","config":{"fields":{"b":"{{ input.a + 1 }}"}}},
		{"id":"work","type":"test.work","config":{"key":"river-runs"}}],
		"edges":[{"source":"start","target":"set"},{"source":"set","target":"work"}]}`)
	const n = 40
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i] = env.Start(t, w.ID, `{"a":1}`).ID })
	}
	wg.Wait()
	for _, id := range ids {
		done := env.Wait(t, id)
		require.Equal(t, workflow.ExecutionSucceeded, done.Status)
		out, ok := enginetest.Output(t, done).(map[string]any)
		require.True(t, ok)
		require.Equal(t, 2.0, out["b"])
		require.Equal(t, "river-runs", out["key"])
	}
	require.Equal(t, n, env.Probe.Calls("river-runs"), "each execution's node ran once")
}

// TestRiverJobOnlyWhenNoSlotIsFree: the process that creates an execution while it has a slot free
// runs it itself, without a job; one created while every slot is busy gets a job, which runs it once
// a slot frees.
func TestRiverJobOnlyWhenNoSlotIsFree(t *testing.T) {
	t.Parallel()
	env := riverEnv(t, enginetest.Options{Workers: 1})
	quick := env.Save(t, `{"name":"quick","nodes":[
		{"id":"start","type":"trigger.manual"},{"id":"work","type":"test.work","config":{"key":"quick"}}],
		"edges":[{"source":"start","target":"work"}]}`)
	blocking := env.Save(t, `{"name":"blocking","nodes":[
		{"id":"start","type":"trigger.manual"},{"id":"block","type":"test.block","config":{"key":"held"}}],
		"edges":[{"source":"start","target":"block"}]}`)

	first := env.Start(t, quick.ID, `{}`)
	require.Equal(t, workflow.ExecutionSucceeded, env.Wait(t, first.ID).Status)
	require.Empty(t, riverJobs(t, env, first.ID), "a free slot ran it: no job was needed")

	held := env.Start(t, blocking.ID, `{}`)
	require.Equal(t, "held", <-env.Probe.Started, "the only slot is busy")
	queued := env.Start(t, quick.ID, `{}`)
	// The job may be fetched and wait for the slot as a running job: any state will do.
	require.Eventually(t, func() bool { return len(riverJobs(t, env, queued.ID)) > 0 }, 10*time.Second, 10*time.Millisecond,
		"with no slot free the execution waits as a job")
	env.Probe.ReleaseAll()
	require.Equal(t, workflow.ExecutionSucceeded, env.Wait(t, held.ID).Status)
	require.Equal(t, workflow.ExecutionSucceeded, env.Wait(t, queued.ID).Status)
	require.Eventually(t, func() bool { return riverJobs(t, env, queued.ID)["completed"] >= 1 }, 10*time.Second, 10*time.Millisecond,
		"its job ran it and completed")
	require.Equal(t, 2, env.Probe.Calls("quick"))
}

// TestRiverResumesAfterADelay parks an execution on flow.delay: the park inserts a scheduled job in
// the same transaction, which resumes it.
func TestRiverResumesAfterADelay(t *testing.T) {
	t.Parallel()
	env := riverEnv(t, enginetest.Options{SuspendThreshold: 10 * time.Millisecond})
	w := env.Save(t, `{"name":"river-delay","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"wait","type":"flow.delay","config":{"duration":"300ms"}},
		{"id":"after","type":"data.set","config":{"fields":{"woke":true}}}],
		"edges":[{"source":"start","target":"wait"},{"source":"wait","target":"after"}]}`)
	exec := env.Start(t, w.ID, `{}`)
	env.WaitStatus(t, exec.ID, workflow.ExecutionWaiting)
	require.Eventually(t, func() bool {
		return riverJobs(t, env, exec.ID)["scheduled"]+riverJobs(t, env, exec.ID)["available"] >= 1
	},
		10*time.Second, 10*time.Millisecond, "parking inserted the job that resumes it")
	done := env.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status)
	require.Equal(t, map[string]any{"woke": true}, enginetest.Output(t, done))
}

// TestRiverSweepRecoversLostWork has a worker vanish with an execution claimed and its job gone, and
// another left queued without a job: the leader's sweep finds the expired lease and the queued row,
// and enqueues both again.
func TestRiverSweepRecoversLostWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := riverEnv(t, enginetest.Options{NoDispatcher: true, SweepInterval: 100 * time.Millisecond})
	w := env.Save(t, `{"name":"river-sweep","nodes":[
		{"id":"start","type":"trigger.manual"},{"id":"work","type":"test.work","config":{"key":"river-sweep"}}],
		"edges":[{"source":"start","target":"work"}]}`)
	exec := env.Start(t, w.ID, `{}`)
	_, err := env.Store.ClaimExecution(ctx, store.ExecutionRef{TenantID: store.DefaultTenant, ID: exec.ID}, "vanished-worker", -time.Second, false)
	require.NoError(t, err)
	// A second one was created by a process that meant to run it itself (no job) and died first.
	orphan := env.Start(t, w.ID, `{}`)
	for _, id := range []string{exec.ID, orphan.ID} {
		require.Eventually(t, func() bool { return len(riverJobs(t, env, id)) > 0 }, 10*time.Second, 10*time.Millisecond)
		_, err = env.Store.DB().ExecContext(ctx, `DELETE FROM river_job WHERE args->>'executionId' = $1`, id)
		require.NoError(t, err)
	}

	require.NoError(t, env.Dispatcher.Start(ctx))
	for _, id := range []string{exec.ID, orphan.ID} {
		require.Equal(t, workflow.ExecutionSucceeded, env.Wait(t, id).Status)
	}
	require.Equal(t, 2, env.Probe.Calls("river-sweep"))
}

// TestRiverLeadershipMovesOn: of two processes on one database exactly one leads (and is told so);
// when it stops, the other takes over.
func TestRiverLeadershipMovesOn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := riverEnv(t, enginetest.Options{})
	first, ok := env.Dispatcher.(*dispatch.River)
	require.True(t, ok)

	pool, err := pgxpool.New(ctx, env.PostgresURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	led := make(chan struct{}, 1)
	second, err := dispatch.NewRiver(dispatch.RiverConfig{DB: env.Store.DB(), Pool: pool, Store: env.Store, Runner: env.Engine,
		Owner: "second", OnLead: func() { led <- struct{}{} }})
	require.NoError(t, err)
	require.NoError(t, second.Start(ctx))
	t.Cleanup(func() { _ = second.Stop(context.Background()) })

	require.Eventually(t, func() bool { return first.Leading() != second.Leading() }, 30*time.Second, 20*time.Millisecond,
		"exactly one of the two leads")
	leader, other := first, second
	if second.Leading() {
		leader, other = second, first
		<-led
	}
	require.NoError(t, leader.Stop(ctx))
	require.False(t, leader.Leading(), "a stopped process does not lead")
	require.Eventually(t, other.Leading, 30*time.Second, 20*time.Millisecond, "the other process takes over")
	if other == second {
		select {
		case <-led:
		case <-time.After(10 * time.Second):
			t.Fatal("the new leader was not told")
		}
	}
}

// TestRiverSweepIsNotHeldUpByAJobItsWorkerLeftRunning: a worker killed with SIGKILL while it ran an
// execution for a sweep job leaves that job "running" in River (River's rescuer looks an hour later).
// Once the execution's lease has expired, the sweep enqueues it again all the same, and it runs. (The
// chaos test found executions stuck for the hour: the sweep's uniqueness counted the dead job.)
func TestRiverSweepIsNotHeldUpByAJobItsWorkerLeftRunning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := riverEnv(t, enginetest.Options{NoDispatcher: true, Lease: 2 * time.Second, SweepInterval: 100 * time.Millisecond})
	d, ok := env.Dispatcher.(*dispatch.River)
	require.True(t, ok, "River dispatches on PostgreSQL")
	w := env.Save(t, `{"name":"river-dead-job","nodes":[
		{"id":"start","type":"trigger.manual"},{"id":"work","type":"test.work","config":{"key":"river-dead-job"}}],
		"edges":[{"source":"start","target":"work"}]}`)
	exec := env.Start(t, w.ID, `{}`)
	ref := store.ExecutionRef{TenantID: store.DefaultTenant, ID: exec.ID}
	_, err := env.Store.DB().ExecContext(ctx, `DELETE FROM river_job WHERE args->>'executionId' = $1`, exec.ID)
	require.NoError(t, err)

	// A worker took the sweep's job, claimed the execution and was killed: its job stays running and
	// its lease expires.
	_, err = env.Store.ClaimExecution(ctx, ref, "killed-worker/1", -time.Second, false)
	require.NoError(t, err)
	require.NoError(t, d.SweepOnce(ctx))
	require.Equal(t, map[string]int{"available": 1}, sweepJobs(t, env, exec.ID))
	_, err = env.Store.DB().ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(),
		attempted_by = ARRAY['killed-worker'] WHERE args->>'executionId' = $1 AND args->>'sweep' = 'true'`, exec.ID)
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		require.NoError(t, d.SweepOnce(ctx))
		return sweepJobs(t, env, exec.ID)["available"] == 1
	}, 10*time.Second, 50*time.Millisecond, "the sweep enqueues the execution again, its dead job notwithstanding")
	require.Equal(t, 1, sweepJobs(t, env, exec.ID)["running"], "the dead job is still there")

	require.NoError(t, env.Dispatcher.Start(ctx))
	done := env.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status)
	require.Equal(t, 1, env.Probe.Calls("river-dead-job"))
}

// sweepJobs counts the sweep's jobs for an execution by state.
func sweepJobs(t *testing.T, env *enginetest.Env, executionID string) map[string]int {
	t.Helper()
	return countJobs(t, env, `SELECT state, COUNT(*) FROM river_job WHERE args->>'executionId' = $1 AND args->>'sweep' = 'true' GROUP BY state`, executionID)
}

// TestRiverRearmsWaitsOnStart: a process that starts sets timers for the executions due soon, whose
// timers died with the processes that parked them, so they resume on time without River's job.
func TestRiverRearmsWaitsOnStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := riverEnv(t, enginetest.Options{SuspendThreshold: 10 * time.Millisecond})
	w := env.Save(t, `{"name":"river-rearm","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"wait","type":"flow.delay","config":{"duration":"1500ms"}},
		{"id":"after","type":"test.work","config":{"key":"river-rearm"}}],
		"edges":[{"source":"start","target":"wait"},{"source":"wait","target":"after"}]}`)
	exec := env.Start(t, w.ID, `{}`)
	env.WaitStatus(t, exec.ID, workflow.ExecutionWaiting)
	// The process that parked it is gone, and so is the job that would resume it.
	require.NoError(t, env.Dispatcher.Stop(ctx))
	_, err := env.Store.DB().ExecContext(ctx, `DELETE FROM river_job WHERE args->>'executionId' = $1`, exec.ID)
	require.NoError(t, err)

	pool, err := pgxpool.New(ctx, env.PostgresURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	next, err := dispatch.NewRiver(dispatch.RiverConfig{DB: env.Store.DB(), Pool: pool, Store: env.Store, Runner: env.Engine,
		Owner: "next", SweepInterval: time.Hour})
	require.NoError(t, err)
	require.NoError(t, next.Start(ctx))
	t.Cleanup(func() { _ = next.Stop(context.Background()) })

	done := env.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status)
	require.Equal(t, 1, env.Probe.Calls("river-rearm"))
	require.Empty(t, riverJobs(t, env, exec.ID), "a timer resumed it, not a job")
}
