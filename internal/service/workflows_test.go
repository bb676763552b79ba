package service_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// hookFlow answers POST /hooks/orders/new with the request's body once the run finishes.
const hookFlow = `{"name":"hook","nodes":[
	{"id":"hook","type":"trigger.webhook","config":{"path":"/orders/new/","redactHeaders":["x-shop-key"]}},
	{"id":"echo","type":"data.transform","config":{"expression":"{{ input.body }}"}}],
	"edges":[{"source":"hook","target":"echo"}]}`

// unknownTypeFlow names a node type no registry holds.
const unknownTypeFlow = `{"name":"bad","nodes":[
	{"id":"start","type":"trigger.manual"},
	{"id":"x","type":"nope.nothing"}],
	"edges":[{"source":"start","target":"x"}]}`

func TestCreateWorkflow(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	ctx := context.Background()

	w, err := env.Service.CreateWorkflow(ctx, tenant, decode(t, doubleFlow))
	require.NoError(t, err)
	require.Equal(t, 1, w.Version)
	require.Equal(t, "double", w.Name)
	require.False(t, w.Active)
	got, err := env.Store.GetWorkflow(ctx, tenant, w.ID)
	require.NoError(t, err)
	require.Len(t, got.Definition.Nodes, 2)

	// An invalid definition is refused whole, with the pointer of each problem, and nothing is saved.
	_, err = env.Service.CreateWorkflow(ctx, tenant, decode(t, unknownTypeFlow))
	var verrs workflow.ValidationErrors
	require.ErrorAs(t, err, &verrs)
	require.Equal(t, "/nodes/1/type", verrs[0].Pointer)
	page, err := env.Store.ListWorkflows(ctx, tenant, store.ListWorkflowsParams{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)

	// Text no store may keep is refused before the store sees it.
	bad := decode(t, doubleFlow)
	bad.Name = "a\x00b"
	_, err = env.Service.CreateWorkflow(ctx, tenant, bad)
	require.ErrorAs(t, err, &verrs)
	require.Equal(t, "/name", verrs[0].Pointer)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	g, err := env.Service.Validate(decode(t, hookFlow))
	require.NoError(t, err)
	require.Len(t, g.Triggers, 1)
	require.Equal(t, "hook", g.Triggers[0].Spec.ID)

	_, err = env.Service.Validate(decode(t, `{"name":"cycle","nodes":[
		{"id":"a","type":"data.set","config":{"fields":{}}},{"id":"b","type":"data.set","config":{"fields":{}}}],
		"edges":[{"source":"a","target":"b"},{"source":"b","target":"a"}]}`))
	var verrs workflow.ValidationErrors
	require.ErrorAs(t, err, &verrs)
	require.Equal(t, "/edges/1", verrs[0].Pointer)
	require.Contains(t, verrs[0].Message, "cycle: a → b → a")
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	g, err := env.Service.Validate(decode(t, `{"name":"routes","nodes":[
		{"id":"manual","type":"trigger.manual"},
		{"id":"defaults","type":"trigger.webhook","config":{"path":"/a/b/"}},
		{"id":"sched","type":"trigger.schedule","config":{"cron":"@hourly"}},
		{"id":"explicit","type":"trigger.webhook","config":{"path":"c","method":"PUT","respond":"immediately"}},
		{"id":"work","type":"data.set","config":{"fields":{}}}],
		"edges":[{"source":"manual","target":"work"},{"source":"defaults","target":"work"},
		{"source":"sched","target":"work"},{"source":"explicit","target":"work"}]}`))
	require.NoError(t, err)
	require.Equal(t, []store.WebhookRoute{
		{Method: "POST", Path: "a/b", NodeID: "defaults", Respond: "onCompletion"},
		{Method: "PUT", Path: "c", NodeID: "explicit", Respond: "immediately"},
	}, service.Routes(g), "only webhook triggers have routes: path trimmed, defaults filled")

	g, err = env.Service.Validate(decode(t, doubleFlow))
	require.NoError(t, err)
	require.Empty(t, service.Routes(g))
}

func TestNormalizePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"orders", "orders"},
		{"/orders/new/", "orders/new"},
		{"//a//", "a"},
		{"", ""},
	} {
		require.Equal(t, tc.want, service.NormalizePath(tc.in), tc.in)
	}
}

func TestUpdateWorkflow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		// expected is the version the update names; def the definition it saves.
		expected int
		def      string
		id       string
		wantErr  error
		// wantVersion is the workflow's version afterwards.
		wantVersion int
	}{
		{name: "Current", expected: 1, def: doubleFlow, wantVersion: 2},
		{name: "Stale", expected: 0, def: doubleFlow, wantErr: store.ErrVersionMismatch, wantVersion: 1},
		{name: "Invalid", expected: 1, def: unknownTypeFlow, wantErr: workflow.ValidationErrors{}, wantVersion: 1},
		{name: "UnknownWorkflow", expected: 1, def: doubleFlow, id: "no-such-workflow", wantErr: store.ErrNotFound, wantVersion: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
			w := env.Save(t, blockFlow)
			id := w.ID
			if tc.id != "" {
				id = tc.id
			}
			got, err := env.Service.UpdateWorkflow(ctx, tenant, id, tc.expected, decode(t, tc.def))
			switch want := tc.wantErr.(type) { //nolint:errorlint // the table's expected error, not a returned one
			case nil:
				require.NoError(t, err)
				require.Equal(t, tc.wantVersion, got.Version)
			case workflow.ValidationErrors:
				require.ErrorAs(t, err, &want)
			default:
				require.ErrorIs(t, err, want)
			}
			cur, err := env.Store.GetWorkflow(ctx, tenant, w.ID)
			require.NoError(t, err)
			require.Equal(t, tc.wantVersion, cur.Version)
		})
	}
}

// TestUpdateActiveWorkflowMovesItsRoutes: saving an active workflow replaces its webhook routes with
// those of the new version at once.
func TestUpdateActiveWorkflowMovesItsRoutes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := env.Save(t, hookFlow)
	_, err := env.Service.SetActive(ctx, tenant, w.ID, true)
	require.NoError(t, err)

	moved := decode(t, hookFlow)
	moved.Nodes[0].Config = map[string]any{"path": "orders/v2", "method": "PUT"}
	w2, err := env.Service.UpdateWorkflow(ctx, tenant, w.ID, 1, moved)
	require.NoError(t, err)
	require.True(t, w2.Active)

	_, err = env.Store.LookupWebhook(ctx, "POST", "orders/new")
	require.ErrorIs(t, err, store.ErrNotFound)
	route, err := env.Store.LookupWebhook(ctx, "PUT", "orders/v2")
	require.NoError(t, err)
	require.Equal(t, 2, route.Version)
	require.Equal(t, w.ID, route.WorkflowID)
}

func TestSetActive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := env.Save(t, hookFlow)

	on, err := env.Service.SetActive(ctx, tenant, w.ID, true)
	require.NoError(t, err)
	require.True(t, on.Active)
	route, err := env.Store.LookupWebhook(ctx, "POST", "orders/new")
	require.NoError(t, err)
	require.Equal(t, store.WebhookRoute{Method: "POST", Path: "orders/new", TenantID: tenant, WorkflowID: w.ID, NodeID: "hook", Respond: "onCompletion", Version: 1}, *route)

	// Another workflow cannot take an active route.
	other := env.Save(t, hookFlow)
	_, err = env.Service.SetActive(ctx, tenant, other.ID, true)
	var conflict *store.RouteConflictError
	require.ErrorAs(t, err, &conflict)
	require.Equal(t, w.ID, conflict.WorkflowID)
	require.ErrorIs(t, err, store.ErrConflict)

	off, err := env.Service.SetActive(ctx, tenant, w.ID, false)
	require.NoError(t, err)
	require.False(t, off.Active)
	_, err = env.Store.LookupWebhook(ctx, "POST", "orders/new")
	require.ErrorIs(t, err, store.ErrNotFound)

	// Once the first is off, the route is free.
	_, err = env.Service.SetActive(ctx, tenant, other.ID, true)
	require.NoError(t, err)

	for _, active := range []bool{true, false} {
		_, err = env.Service.SetActive(ctx, tenant, "no-such-workflow", active)
		require.ErrorIs(t, err, store.ErrNotFound, "active=%v", active)
	}
}

// TestSetActiveRefusesAVersionThatNoLongerCompiles: activating checks the current version against
// today's registry; a workflow that needs a node type that is gone stays inactive, with the reason.
func TestSetActiveRefusesAVersionThatNoLongerCompiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := env.Save(t, `{"name":"needs-test-types","nodes":[
		{"id":"hook","type":"trigger.webhook","config":{"path":"gone"}},
		{"id":"work","type":"test.work","config":{"key":"w"}}],
		"edges":[{"source":"hook","target":"work"}]}`)

	_, err := bareService(t, env).SetActive(ctx, tenant, w.ID, true)
	var verrs workflow.ValidationErrors
	require.ErrorAs(t, err, &verrs)
	require.Equal(t, "/nodes/1/type", verrs[0].Pointer)
	cur, err := env.Store.GetWorkflow(ctx, tenant, w.ID)
	require.NoError(t, err)
	require.False(t, cur.Active)
	_, err = env.Store.LookupWebhook(ctx, "POST", "gone")
	require.ErrorIs(t, err, store.ErrNotFound)
}
