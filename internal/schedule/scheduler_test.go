package schedule

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/clocktest"
	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/nodes/builtin"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

const tenant = store.DefaultTenant

// t0 is when every test's clock starts: Friday 2026-05-01 12:00:00 UTC.
var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// scheduled returns a workflow whose schedule trigger has config, followed by a data.set.
func scheduled(config string) string {
	return `{"name":"scheduled","nodes":[
		{"id":"tick","type":"trigger.schedule","config":` + config + `},
		{"id":"stamp","type":"data.set","config":{"fields":{"at":"{{ trigger.scheduledAt }}"},"keepInput":false}}],
		"edges":[{"source":"tick","target":"stamp"}]}`
}

type testBundle struct {
	env   *enginetest.Env
	clock *clocktest.Clock
	svc   *service.Service
	sched *Scheduler
	wake  chan struct{}
}

type setupOptions struct {
	enginetest.Options
	// at is the clock's start (t0 when zero).
	at time.Time
}

func setup(t *testing.T, opts setupOptions) *testBundle {
	t.Helper()
	if opts.at.IsZero() {
		opts.at = t0
	}
	env := enginetest.Start(t, opts.Options)
	b := &testBundle{env: env, clock: clocktest.New(opts.at), wake: make(chan struct{}, 1)}
	b.svc = service.New(service.Config{Store: env.Store, Registry: env.Registry, Engine: env.Engine, Dispatcher: env.Dispatcher, Bus: env.Bus,
		Now: b.clock.Now, SchedulesChangedFunc: func() {
			select {
			case b.wake <- struct{}{}:
			default:
			}
		}})
	b.sched = b.newScheduler(t, b.svc)
	return b
}

func (b *testBundle) newScheduler(t *testing.T, firer Firer) *Scheduler {
	t.Helper()
	s, err := New(Config{Store: b.env.Store, Service: firer, Wake: b.wake, Now: b.clock.Now})
	require.NoError(t, err)
	return s
}

// activate saves def and activates it (its schedules computed from the clock).
func (b *testBundle) activate(t *testing.T, def string) *store.Workflow {
	t.Helper()
	w := b.env.Save(t, def)
	w, err := b.svc.SetActive(context.Background(), tenant, w.ID, true)
	require.NoError(t, err)
	return w
}

// runDue makes one pass at the clock's time.
func (b *testBundle) runDue(t *testing.T) Pass {
	t.Helper()
	pass, err := b.sched.RunDue(context.Background())
	require.NoError(t, err)
	return pass
}

// fires returns the scheduledAt of every run of the workflow, in order, checking each run's trigger.
func (b *testBundle) fires(t *testing.T, workflowID string) []string {
	t.Helper()
	page, err := b.env.Store.ListExecutions(context.Background(), tenant, store.ListExecutionsParams{WorkflowID: workflowID, Limit: 500})
	require.NoError(t, err)
	var out []string
	for _, e := range page.Items {
		exec, err := b.env.Store.GetExecution(context.Background(), tenant, e.ID)
		require.NoError(t, err)
		require.Equal(t, store.TriggerSchedule, exec.TriggerKind)
		require.Equal(t, "tick", exec.TriggerNode)
		var in struct{ ScheduledAt string }
		require.NoError(t, json.Unmarshal(exec.Input, &in))
		require.Equal(t, service.ScheduleIdempotencyKey("tick", mustParse(t, in.ScheduledAt)), exec.IdempotencyKey)
		out = append(out, in.ScheduledAt)
	}
	sort.Strings(out)
	return out
}

func mustParse(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}

func (b *testBundle) schedule(t *testing.T, workflowID string) store.Schedule {
	t.Helper()
	got, err := b.env.Store.ListSchedules(context.Background(), tenant, workflowID)
	require.NoError(t, err)
	require.Len(t, got, 1)
	return got[0]
}

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	_, err := New(Config{})
	require.Error(t, err)
	b := setup(t, setupOptions{Options: enginetest.Options{NoDispatcher: true}})
	_, err = New(Config{Store: b.env.Store, Service: b.svc, Grace: -time.Second})
	require.Error(t, err)
	s, err := New(Config{Store: b.env.Store, Service: b.svc})
	require.NoError(t, err)
	require.Equal(t, GraceDefault, s.cfg.Grace)
	require.Equal(t, ConcurrencyDefault, s.cfg.Concurrency)
	require.NoError(t, s.Stop(context.Background()), "stopping a scheduler that never started")
}

func TestFiresAtEachFireTime(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{})
	w := b.activate(t, scheduled(`{"cron":"*/5 * * * *"}`))
	require.True(t, t0.Add(5*time.Minute).Equal(b.schedule(t, w.ID).NextFireAt))

	pass := b.runDue(t)
	require.Zero(t, pass.Fired, "nothing is due yet")
	require.NotNil(t, pass.Next)
	require.True(t, pass.Next.Equal(t0.Add(5*time.Minute)))

	b.clock.Advance(5*time.Minute + 20*time.Millisecond)
	pass = b.runDue(t)
	require.Equal(t, 1, pass.Fired)
	require.True(t, pass.Next.Equal(t0.Add(10*time.Minute)))
	require.Equal(t, []string{"2026-05-01T12:05:00Z"}, b.fires(t, w.ID))
	sc := b.schedule(t, w.ID)
	require.True(t, t0.Add(10*time.Minute).Equal(sc.NextFireAt))
	require.NotNil(t, sc.LastFireAt)
	require.True(t, t0.Add(5*time.Minute+20*time.Millisecond).Equal(*sc.LastFireAt))

	// The run goes through the dispatcher like any other, and sees the trigger's output.
	page, err := b.env.Store.ListExecutions(context.Background(), tenant, store.ListExecutionsParams{WorkflowID: w.ID})
	require.NoError(t, err)
	exec := b.env.Wait(t, page.Items[0].ID)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	require.Equal(t, map[string]any{"at": "2026-05-01T12:05:00Z"}, enginetest.Output(t, exec))
	var in map[string]any
	require.NoError(t, json.Unmarshal(exec.Input, &in))
	require.Equal(t, map[string]any{"scheduledAt": "2026-05-01T12:05:00Z", "firedAt": "2026-05-01T12:05:00.02Z", "timezone": "UTC"}, in)
	require.Equal(t, engine.EventExecutionQueued, b.env.Events(t, exec.ID)[0].Type)

	require.Zero(t, b.runDue(t).Fired, "a fire time fires once")
}

func TestCatchesUpWithinGrace(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{Options: enginetest.Options{NoDispatcher: true}})
	w := b.activate(t, scheduled(`{"cron":"*/10 * * * * *"}`))
	b.clock.Advance(35 * time.Second)
	pass := b.runDue(t)
	require.Equal(t, 3, pass.Fired, "each fire time less than a minute late fires, late")
	require.Equal(t, []string{"2026-05-01T12:00:10Z", "2026-05-01T12:00:20Z", "2026-05-01T12:00:30Z"}, b.fires(t, w.ID))
	require.True(t, t0.Add(40*time.Second).Equal(*pass.Next))
}

// TestMissedPolicyAfterALongPause: after a pause longer than the grace, fire times older than the grace
// are missed (skipped, or run once for the latest), and a newer one still fires.
func TestMissedPolicyAfterALongPause(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		missed string
		want   []string
	}{
		{"skip", []string{"2026-05-01T15:00:00Z"}},
		{"runOnce", []string{"2026-05-01T14:00:00Z", "2026-05-01T15:00:00Z"}},
	} {
		t.Run(tc.missed, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOptions{Options: enginetest.Options{NoDispatcher: true}})
			w := b.activate(t, scheduled(`{"cron":"@hourly","missed":"`+tc.missed+`"}`))
			b.clock.Advance(3*time.Hour + 30*time.Second) // 13:00 and 14:00 missed, 15:00 is 30 s late
			b.runDue(t)
			require.Equal(t, tc.want, b.fires(t, w.ID))
			require.True(t, t0.Add(4*time.Hour).Equal(b.schedule(t, w.ID).NextFireAt))
		})
	}
}

// TestMissedPolicyAcrossRestart stops the process (the store closed) before a fire time and starts it
// again days later on the same database file.
func TestMissedPolicyAcrossRestart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		missed string
		want   []string
	}{
		{"skip", nil},
		{"runOnce", []string{"2026-05-03T07:00:00Z"}},
	} {
		t.Run(tc.missed, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "cm.db")
			first := setup(t, setupOptions{Options: enginetest.Options{Path: path, NoDispatcher: true}})
			w := first.activate(t, scheduled(`{"cron":"0 9 * * *","timezone":"Europe/Paris","missed":"`+tc.missed+`"}`))
			require.True(t, time.Date(2026, 5, 2, 7, 0, 0, 0, time.UTC).Equal(first.schedule(t, w.ID).NextFireAt))
			require.NoError(t, first.env.Store.Close())

			// Back on Sunday 2026-05-03 at 10:00 in Paris: Saturday's and Sunday's 09:00 were missed.
			again := setup(t, setupOptions{Options: enginetest.Options{Path: path, NoDispatcher: true}, at: time.Date(2026, 5, 3, 8, 0, 0, 0, time.UTC)})
			pass := again.runDue(t)
			require.Equal(t, tc.want, again.fires(t, w.ID))
			require.Equal(t, len(tc.want), pass.Fired)
			sc := again.schedule(t, w.ID)
			require.True(t, time.Date(2026, 5, 4, 7, 0, 0, 0, time.UTC).Equal(sc.NextFireAt), "next: Monday 09:00 in Paris, got %s", sc.NextFireAt)
			require.Equal(t, len(tc.want) == 1, sc.LastFireAt != nil)

			// A restart within the grace fires the fire time, late.
			require.NoError(t, again.env.Store.Close())
			third := setup(t, setupOptions{Options: enginetest.Options{Path: path, NoDispatcher: true}, at: time.Date(2026, 5, 4, 7, 0, 40, 0, time.UTC)})
			third.runDue(t)
			require.Equal(t, append(tc.want, "2026-05-04T07:00:00Z"), third.fires(t, w.ID))
		})
	}
}

// TestDaylightSavingThroughTheScheduler walks the Paris clock through both 2026 changes minute by
// minute: 02:30 fires once on each day, at 03:00 CEST in spring and at 02:30 CEST in autumn.
func TestDaylightSavingThroughTheScheduler(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		from     time.Time
		want     []string
		wantNext string
	}{
		{"Spring", time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC), []string{"2026-03-29T01:00:00Z"}, "2026-03-30T00:30:00Z"},
		{"Autumn", time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC), []string{"2026-10-25T00:30:00Z"}, "2026-10-26T01:30:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOptions{Options: enginetest.Options{NoDispatcher: true}, at: tc.from})
			w := b.activate(t, scheduled(`{"cron":"30 2 * * *","timezone":"Europe/Paris"}`))
			for range 6 * 60 {
				b.clock.Advance(time.Minute)
				b.runDue(t)
			}
			require.Equal(t, tc.want, b.fires(t, w.ID))
			require.Equal(t, tc.wantNext, b.schedule(t, w.ID).NextFireAt.Format(time.RFC3339))
		})
	}
}

// TestTwoSchedulersRace runs two schedulers on one store, each in its own goroutine, over the same
// fire times: every fire time starts exactly one run.
func TestTwoSchedulersRace(t *testing.T) {
	t.Parallel()
	backends := []enginetest.Options{{NoDispatcher: true}}
	if u := os.Getenv("CM_TEST_DATABASE_URL"); u != "" {
		backends = append(backends, enginetest.Options{NoDispatcher: true, PostgresURL: u})
	}
	for _, opts := range backends {
		name := "SQLite"
		if opts.PostgresURL != "" {
			name = "PostgreSQL"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOptions{Options: opts})
			const workflows, seconds = 10, 8
			ids := make([]string, workflows)
			for i := range ids {
				ids[i] = b.activate(t, scheduled(`{"cron":"@every 1s"}`)).ID
			}
			other := b.newScheduler(t, service.New(service.Config{Store: b.env.Store, Registry: b.env.Registry, Engine: b.env.Engine,
				Dispatcher: b.env.Dispatcher, Now: b.clock.Now}))
			total := Pass{}
			for range seconds {
				b.clock.Advance(time.Second)
				var wg sync.WaitGroup
				passes := make([]Pass, 2)
				for i, s := range []*Scheduler{b.sched, other} {
					wg.Go(func() {
						var err error
						passes[i], err = s.RunDue(context.Background())
						require.NoError(t, err)
					})
				}
				wg.Wait()
				for _, p := range passes {
					total.Fired += p.Fired
					total.Lost += p.Lost
					total.Failed += p.Failed
				}
			}
			t.Logf("fired %d, lost %d, failed %d", total.Fired, total.Lost, total.Failed)
			require.Equal(t, workflows*seconds, total.Fired, "lost %d, failed %d", total.Lost, total.Failed)
			for _, id := range ids {
				fires := b.fires(t, id)
				require.Len(t, fires, seconds)
				for i := 1; i < len(fires); i++ {
					require.NotEqual(t, fires[i-1], fires[i])
				}
			}
		})
	}
}

// deactivatingFirer deactivates the workflow, as a request that lands while the scheduler is firing
// would, before firing.
type deactivatingFirer struct {
	svc *service.Service
}

func (d deactivatingFirer) FireSchedule(ctx context.Context, f service.ScheduleFire) (*store.Execution, bool, error) {
	if _, err := d.svc.SetActive(ctx, f.Schedule.TenantID, f.Schedule.WorkflowID, false); err != nil {
		return nil, false, err
	}
	return d.svc.FireSchedule(ctx, f)
}

func TestDeactivationStopsFiringAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{Options: enginetest.Options{NoDispatcher: true}})
	w := b.activate(t, scheduled(`{"cron":"@every 1m"}`))
	b.clock.Advance(time.Minute)
	require.Equal(t, 1, b.runDue(t).Fired)

	// Deactivated between the read of the due schedules and the fire: nothing starts.
	b.clock.Advance(time.Minute)
	racing := b.newScheduler(t, deactivatingFirer{svc: b.svc})
	pass, err := racing.RunDue(context.Background())
	require.NoError(t, err)
	require.Zero(t, pass.Fired)
	require.Equal(t, 1, pass.Lost)
	require.Nil(t, pass.Next, "no schedule is left")
	require.Len(t, b.fires(t, w.ID), 1)

	// Deactivated: nothing fires later either; activated again, it fires from now on.
	b.clock.Advance(time.Hour)
	require.Zero(t, b.runDue(t).Fired)
	_, err = b.svc.SetActive(context.Background(), tenant, w.ID, true)
	require.NoError(t, err)
	require.True(t, b.clock.Now().Add(time.Minute).Equal(b.schedule(t, w.ID).NextFireAt), "no missed fire time from the inactive hour")
	b.clock.Advance(time.Minute)
	require.Equal(t, 1, b.runDue(t).Fired)
	require.Len(t, b.fires(t, w.ID), 2)
}

func TestDeleteRemovesSchedules(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{Options: enginetest.Options{NoDispatcher: true}})
	w := b.activate(t, scheduled(`{"cron":"@every 1m"}`))
	require.NoError(t, b.svc.DeleteWorkflow(context.Background(), tenant, w.ID))
	got, err := b.env.Store.ListSchedules(context.Background(), tenant, w.ID)
	require.NoError(t, err)
	require.Empty(t, got)
	b.clock.Advance(time.Hour)
	pass := b.runDue(t)
	require.Zero(t, pass.Fired)
	require.Nil(t, pass.Next)
}

func TestUpdateChangesTheSpec(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{Options: enginetest.Options{NoDispatcher: true}})
	w := b.activate(t, scheduled(`{"cron":"@hourly"}`))
	b.clock.Advance(10 * time.Minute)

	// A change elsewhere keeps the fire time.
	def, err := workflow.DecodeBytes([]byte(scheduled(`{"cron":"@hourly"}`)))
	require.NoError(t, err)
	def.Name = "renamed"
	w, err = b.svc.UpdateWorkflow(context.Background(), tenant, w.ID, w.Version, def)
	require.NoError(t, err)
	sc := b.schedule(t, w.ID)
	require.True(t, t0.Add(time.Hour).Equal(sc.NextFireAt))
	require.Equal(t, w.Version, sc.Version)

	// A new expression takes effect at once, from now.
	def, err = workflow.DecodeBytes([]byte(scheduled(`{"cron":"*/15 * * * *","timezone":"Asia/Tokyo"}`)))
	require.NoError(t, err)
	w, err = b.svc.UpdateWorkflow(context.Background(), tenant, w.ID, w.Version, def)
	require.NoError(t, err)
	sc = b.schedule(t, w.ID)
	require.True(t, t0.Add(15*time.Minute).Equal(sc.NextFireAt))
	require.JSONEq(t, `{"cron":"*/15 * * * *","timezone":"Asia/Tokyo","missed":"skip"}`, sc.Spec)
	select {
	case <-b.wake:
	default:
		t.Fatal("saving an active workflow wakes the scheduler")
	}

	b.clock.Advance(5 * time.Minute)
	require.Equal(t, 1, b.runDue(t).Fired)
	page, err := b.env.Store.ListExecutions(context.Background(), tenant, store.ListExecutionsParams{WorkflowID: w.ID})
	require.NoError(t, err)
	require.Equal(t, w.Version, page.Items[0].WorkflowVersion, "the run is of the version the schedule belongs to")
	exec, err := b.env.Store.GetExecution(context.Background(), tenant, page.Items[0].ID)
	require.NoError(t, err)
	require.Contains(t, string(exec.Input), `"timezone":"Asia/Tokyo"`)
}

// TestFireTimeThatAlreadyRan puts a schedule back on a fire time that already started its run, as a
// replay would: the scheduler moves it on without a second run.
func TestFireTimeThatAlreadyRan(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{Options: enginetest.Options{NoDispatcher: true}})
	w := b.activate(t, scheduled(`{"cron":"@every 1m"}`))
	b.clock.Advance(time.Minute)
	require.Equal(t, 1, b.runDue(t).Fired)
	require.NoError(t, b.env.Store.FireSchedule(context.Background(), nil, store.FireScheduleParams{
		TenantID: tenant, WorkflowID: w.ID, NodeID: "tick", Due: t0.Add(2 * time.Minute), Next: t0.Add(time.Minute)}))
	pass := b.runDue(t)
	require.Zero(t, pass.Fired)
	require.Equal(t, 1, pass.Skipped)
	require.Len(t, b.fires(t, w.ID), 1)
	require.True(t, t0.Add(2*time.Minute).Equal(b.schedule(t, w.ID).NextFireAt))
}

// TestVersionThatNoLongerCompiles: a fire time whose workflow version cannot start (a node type is
// gone) is skipped with a warning, and the schedule goes on.
func TestVersionThatNoLongerCompiles(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{Options: enginetest.Options{NoDispatcher: true}})
	w := b.activate(t, `{"name":"needs-test-types","nodes":[
		{"id":"tick","type":"trigger.schedule","config":{"cron":"@every 1m"}},
		{"id":"work","type":"test.work","config":{"key":"w"}}],
		"edges":[{"source":"tick","target":"work"}]}`)
	reg, err := builtin.NewRegistry(builtin.Config{})
	require.NoError(t, err)
	eng, err := engine.New(engine.Config{Store: b.env.Store, Registry: reg})
	require.NoError(t, err)
	bare := b.newScheduler(t, service.New(service.Config{Store: b.env.Store, Registry: reg, Engine: eng, Dispatcher: b.env.Dispatcher, Now: b.clock.Now}))
	b.clock.Advance(time.Minute)
	pass, err := bare.RunDue(context.Background())
	require.NoError(t, err)
	require.Zero(t, pass.Fired)
	require.Equal(t, 1, pass.Skipped)
	require.True(t, t0.Add(2*time.Minute).Equal(b.schedule(t, w.ID).NextFireAt))
}

// TestBackgroundLoop runs the scheduler as serve does: activation wakes it, it fires when woken after
// the fire time, and Stop ends it.
func TestBackgroundLoop(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{Options: enginetest.Options{NoDispatcher: true}})
	b.sched.passed = make(chan Pass, 16)
	ctx := t.Context()
	require.NoError(t, b.sched.Start(ctx))
	require.Error(t, b.sched.Start(ctx), "started twice")
	first := awaitPass(t, b.sched.passed)
	require.Nil(t, first.Next, "no schedule yet")

	w := b.activate(t, scheduled(`{"cron":"@every 1h"}`))
	woken := awaitPass(t, b.sched.passed)
	require.NotNil(t, woken.Next, "activation wakes the scheduler, which sees the new schedule")
	require.True(t, t0.Add(time.Hour).Equal(*woken.Next))

	b.clock.Advance(time.Hour)
	b.wake <- struct{}{}
	require.Equal(t, 1, awaitPass(t, b.sched.passed).Fired)
	require.Len(t, b.fires(t, w.ID), 1)

	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, b.sched.Stop(stopCtx))
}

// TestFollowersFireOnlyWhatTheLeaderLeftLate: a scheduler whose process does not lead leaves a fire
// time to the leader for FollowerDelay, then fires it; once the process leads, it fires on time.
func TestFollowersFireOnlyWhatTheLeaderLeftLate(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{Options: enginetest.Options{NoDispatcher: true}})
	var leading atomic.Bool
	sched, err := New(Config{Store: b.env.Store, Service: b.svc, Wake: b.wake, Now: b.clock.Now, Leading: leading.Load, FollowerDelay: time.Minute})
	require.NoError(t, err)
	sched.passed = make(chan Pass, 16)
	require.NoError(t, sched.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, sched.Stop(context.Background())) })
	require.True(t, awaitPass(t, sched.passed).Follower)

	w := b.activate(t, scheduled(`{"cron":"@every 1h"}`))
	require.True(t, awaitPass(t, sched.passed).Follower)
	b.clock.Advance(time.Hour)
	b.wake <- struct{}{}
	pass := awaitPass(t, sched.passed)
	require.True(t, pass.Follower)
	require.Zero(t, pass.Fired, "a fire time just due is the leader's")
	require.Empty(t, b.fires(t, w.ID))

	b.clock.Advance(time.Minute + time.Second)
	b.wake <- struct{}{}
	require.Equal(t, 1, awaitPass(t, sched.passed).Fired, "a follower fires what the leader left late")
	require.Len(t, b.fires(t, w.ID), 1)

	leading.Store(true)
	b.clock.Advance(time.Hour - time.Minute - time.Second)
	b.wake <- struct{}{}
	pass = awaitPass(t, sched.passed)
	require.False(t, pass.Follower)
	require.Equal(t, 1, pass.Fired, "the leader fires on time")
	require.Len(t, b.fires(t, w.ID), 2)
}

func awaitPass(t *testing.T, passed <-chan Pass) Pass {
	t.Helper()
	select {
	case p := <-passed:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no pass within 10s")
		return Pass{}
	}
}
