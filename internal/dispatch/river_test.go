package dispatch_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
	rows, err := env.Store.DB().QueryContext(context.Background(),
		`SELECT state, COUNT(*) FROM river_job WHERE args->>'executionId' = $1 GROUP BY state`, executionID)
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
	require.Eventually(t, func() bool { return riverJobs(t, env, ids[0])["completed"] >= 1 }, 10*time.Second, 10*time.Millisecond,
		"the execution's job completes")
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

// TestRiverSweepRecoversLostWork has a worker vanish with an execution claimed and its job gone: the
// leader's sweep finds the expired lease and enqueues it again.
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
	_, err = env.Store.DB().ExecContext(ctx, `DELETE FROM river_job WHERE args->>'executionId' = $1`, exec.ID)
	require.NoError(t, err)

	require.NoError(t, env.Dispatcher.Start(ctx))
	done := env.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, done.Status)
	require.Equal(t, 1, env.Probe.Calls("river-sweep"))
}
