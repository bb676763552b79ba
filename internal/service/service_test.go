package service_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/nodes/builtin"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// The service's tests run it over the real runtime enginetest builds (SQLite, or PostgreSQL where a
// store behaviour matters: concurrent requests), never over fakes.

const tenant = store.DefaultTenant

// Workflows the tests share.
const (
	// doubleFlow doubles input.n.
	doubleFlow = `{"name":"double","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"double","type":"data.transform","config":{"expression":"{{ input.n * 2 }}"}}],
		"edges":[{"source":"start","target":"double"}]}`
	// blockFlow runs until the probe releases it.
	blockFlow = `{"name":"block","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"hold","type":"test.block","config":{"key":"hold"}}],
		"edges":[{"source":"start","target":"hold"}]}`
	// failOnceFlow fails at b on its first run (b's key counts across executions), after a succeeded.
	failOnceFlow = `{"name":"fail-once","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"a","type":"test.work","config":{"key":"a"}},
		{"id":"b","type":"test.work","config":{"key":"b","failures":1,"permanent":true}}],
		"edges":[{"source":"start","target":"a"},{"source":"a","target":"b"}]}`
	// delayFlow waits an hour, suspended in the store.
	delayFlow = `{"name":"delay","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"wait","type":"flow.delay","config":{"duration":"1h"}},
		{"id":"after","type":"data.set","config":{"fields":{"done":true}}}],
		"edges":[{"source":"start","target":"wait"},{"source":"wait","target":"after"}]}`
)

// backend is a store the tests that depend on store behaviour run against.
type backend struct {
	name string
	opts enginetest.Options
}

// backends returns SQLite and, when CM_TEST_DATABASE_URL is set (make test and CI always set it),
// PostgreSQL.
func backends() []backend {
	out := []backend{{name: "SQLite"}}
	if u := os.Getenv("CM_TEST_DATABASE_URL"); u != "" {
		out = append(out, backend{name: "PostgreSQL", opts: enginetest.Options{PostgresURL: u}})
	}
	return out
}

// decode decodes a definition given as JSON.
func decode(t *testing.T, defJSON string) *workflow.Definition {
	t.Helper()
	def, err := workflow.DecodeBytes([]byte(defJSON))
	require.NoError(t, err)
	return def
}

// start starts a run of workflowID with input and returns the execution.
func start(t *testing.T, env *enginetest.Env, workflowID, input string) *store.Execution {
	t.Helper()
	exec, created, err := env.Service.StartExecution(context.Background(), tenant, service.StartParams{WorkflowID: workflowID, Input: json.RawMessage(input)})
	require.NoError(t, err)
	require.True(t, created)
	return exec
}

// bareService is a service over env's store whose registry holds only the built-in node types: the
// versions env saved with test node types no longer compile for it, as after a plugin was removed.
func bareService(t *testing.T, env *enginetest.Env) *service.Service {
	t.Helper()
	reg, err := builtin.NewRegistry(builtin.Config{})
	require.NoError(t, err)
	eng, err := engine.New(engine.Config{Store: env.Store, Registry: reg})
	require.NoError(t, err)
	return service.New(service.Config{Store: env.Store, Registry: reg, Engine: eng, Dispatcher: env.Dispatcher, Bus: env.Bus})
}

// eventTypes returns the types of an execution's events, in order.
func eventTypes(t *testing.T, env *enginetest.Env, id string) []string {
	t.Helper()
	var out []string
	for _, ev := range env.Events(t, id) {
		out = append(out, ev.Type)
	}
	return out
}

// waitSubscribed waits until the bus has at least n subscribers.
func waitSubscribed(t *testing.T, env *enginetest.Env, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return env.Bus.Subscribers() >= n }, 10*time.Second, time.Millisecond)
}

func TestNewDefaultsAndAccessors(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{})
	svc := service.New(service.Config{Store: env.Store, Registry: env.Registry, Engine: env.Engine, Dispatcher: env.Dispatcher})
	require.Same(t, env.Registry, svc.Registry())
	require.Equal(t, store.Store(env.Store), svc.Store())
	// Without a clock or a logger the service uses time.Now and discards its logs: a run still gets
	// a queued event stamped now.
	w := env.Save(t, doubleFlow)
	before := time.Now().UTC().Add(-time.Second)
	exec, _, err := svc.StartExecution(context.Background(), tenant, service.StartParams{WorkflowID: w.ID})
	require.NoError(t, err)
	evs := env.Events(t, exec.ID)
	require.NotEmpty(t, evs)
	require.Equal(t, engine.EventExecutionQueued, evs[0].Type)
	require.True(t, evs[0].Time.After(before), "queued at %s", evs[0].Time)

	require.NotEqual(t, service.NewID(), service.NewID())
	require.Len(t, service.NewID(), 36)
}
