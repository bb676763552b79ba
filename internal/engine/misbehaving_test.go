package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/builtin"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// misbehave is a node type that misbehaves the way its configuration says: a plugin's bugs, seen
// from the engine.
type misbehave struct {
	// How is panic, port (emits on a port it does not have), nan or channel (an output that is not
	// JSON), noport (emits on the empty port), provision (fails to provision).
	How          string `json:"how"`
	provisioned  *atomic.Int64
	cleanedUp    *atomic.Int64
	cleanupFails bool
}

func (m *misbehave) NodeInfo() node.Info {
	provisioned, cleanedUp := m.provisioned, m.cleanedUp
	return node.Info{
		Type: "misbehave.node", Title: "Misbehave", Category: "Test",
		Inputs: []node.PortSpec{{Name: "in"}}, Outputs: []node.PortSpec{{Name: "out"}},
		Schema: json.RawMessage(`{"type":"object","properties":{"how":{"type":"string"}},"additionalProperties":false}`),
		New: func() node.Node {
			return &misbehave{provisioned: provisioned, cleanedUp: cleanedUp, cleanupFails: true}
		},
	}
}

func (m *misbehave) Provision(context.Context, node.Env) error {
	m.provisioned.Add(1)
	if m.How == "provision" {
		return errors.New("no connection to the warehouse")
	}
	return nil
}

func (m *misbehave) Cleanup() error {
	m.cleanedUp.Add(1)
	if m.cleanupFails {
		return errors.New("cleanup failed")
	}
	return nil
}

func (m *misbehave) Execute(context.Context, *node.Input) (node.Output, error) {
	switch m.How {
	case "panic":
		fields := strings.Split(m.How, ",")
		return node.Out(fields[3]), nil // a plugin bug: index out of range
	case "port":
		return node.Emit("nowhere", 1), nil
	case "nan":
		return node.Out(map[string]any{"ratio": math.NaN()}), nil
	case "channel":
		return node.Out([]any{make(chan int)}), nil
	case "noport":
		return node.Output{Value: map[string]any{"ok": true}}, nil
	}
	return node.Out(m.How), nil
}

var (
	_ node.Provisioner = (*misbehave)(nil)
	_ node.Cleaner     = (*misbehave)(nil)
)

// TestMisbehavingNodes: whatever a node type does wrong — panic, emit on a port it does not have,
// produce an output that is not JSON, fail to provision — fails that node with a clear error (and the
// execution with it); the process stays up, and a provisioned node is always cleaned up.
func TestMisbehavingNodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		how    string
		status workflow.ExecutionStatus
		// code and message describe the node's error.
		code, message string
		output        any
	}{
		{how: "panic", status: workflow.ExecutionFailed, code: "panic", message: "node panicked: runtime error: index out of range [3] with length 1"},
		{how: "port", status: workflow.ExecutionFailed, message: `node emitted on port "nowhere", which misbehave.node does not have`},
		{how: "nan", status: workflow.ExecutionFailed, message: "output is not JSON: json: unsupported value: NaN"},
		{how: "channel", status: workflow.ExecutionFailed, message: "output is not JSON: json: unsupported type: chan int"},
		{how: "provision", status: workflow.ExecutionFailed, message: "provision: no connection to the warehouse"},
		{how: "noport", status: workflow.ExecutionSucceeded, output: map[string]any{"ok": true}},
	}
	for _, tc := range tests {
		t.Run(tc.how, func(t *testing.T) {
			t.Parallel()
			var panics atomic.Int64
			var reported atomic.Value
			env := enginetest.Start(t, enginetest.Options{OnPanic: func(_ context.Context, nodeType string, value any) {
				reported.Store(nodeType + ": " + fmt.Sprint(value))
				panics.Add(1)
			}})
			var provisioned, cleanedUp atomic.Int64
			env.Registry.MustRegister(&misbehave{provisioned: &provisioned, cleanedUp: &cleanedUp})
			w := env.Save(t, `{"name":"misbehave","nodes":[
				{"id":"start","type":"trigger.manual"},
				{"id":"bad","type":"misbehave.node","config":{"how":"`+tc.how+`"},"retry":{"maxAttempts":2,"initialInterval":"10ms"}}],
				"edges":[{"source":"start","target":"bad"}]}`)
			exec := env.Run(t, w.ID, `{}`)
			require.Equal(t, tc.status, exec.Status, "error: %+v", exec.Error)
			run := env.Runs(t, exec.ID)["bad"]
			if tc.status == workflow.ExecutionSucceeded {
				require.Equal(t, tc.output, enginetest.Output(t, exec))
				require.Equal(t, "out", run.Port, "an output without a port leaves on out")
			} else {
				require.Equal(t, "bad", exec.Error.NodeID)
				require.Contains(t, run.Error.Message, tc.message)
				require.Equal(t, tc.code, run.Error.Code)
			}
			if tc.how == "panic" {
				require.Equal(t, int64(2), panics.Load(), "each attempt's panic is reported")
				require.Equal(t, "misbehave.node: runtime error: index out of range [3] with length 1", reported.Load())
			} else {
				require.Zero(t, panics.Load())
			}
			require.Equal(t, provisioned.Load(), cleanedUp.Load(), "every provisioned instance is cleaned up, even when its cleanup fails")
			require.Positive(t, provisioned.Load())
		})
	}
}

// TestForEachEdgeCases: what forEach does with values that are not arrays, with nothing, with a
// typed array, and with a node that would wait inside it.
func TestForEachEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		node    string
		input   string
		status  workflow.ExecutionStatus
		output  any
		message string
	}{
		{name: "NotAnArray", node: `{"id":"each","type":"data.transform","config":{"expression":"{{ item }}"},"forEach":"{{ input.name }}"}`,
			input: `{"name":"ada"}`, status: workflow.ExecutionFailed, message: "forEach must yield an array, not a string"},
		{name: "AnObject", node: `{"id":"each","type":"data.transform","config":{"expression":"{{ item }}"},"forEach":"{{ input }}"}`,
			input: `{"a":1}`, status: workflow.ExecutionFailed, message: "forEach must yield an array, not an object"},
		{name: "ABoolean", node: `{"id":"each","type":"data.transform","config":{"expression":"{{ item }}"},"forEach":"{{ input.ok }}"}`,
			input: `{"ok":true}`, status: workflow.ExecutionFailed, message: "forEach must yield an array, not a boolean"},
		{name: "ANumber", node: `{"id":"each","type":"data.transform","config":{"expression":"{{ item }}"},"forEach":"{{ input.n }}"}`,
			input: `{"n":3}`, status: workflow.ExecutionFailed, message: "forEach must yield an array, not a number"},
		{name: "Null", node: `{"id":"each","type":"data.transform","config":{"expression":"{{ item }}"},"forEach":"{{ input.missing }}"}`,
			input: `{}`, status: workflow.ExecutionSucceeded, output: []any{}},
		{name: "ARange", node: `{"id":"each","type":"data.transform","config":{"expression":"{{ item * 10 + index }}"},"forEach":"{{ 1..3 }}"}`,
			input: `{}`, status: workflow.ExecutionSucceeded, output: []any{10.0, 21.0, 32.0}},
		{name: "ExpressionFails", node: `{"id":"each","type":"data.transform","config":{"expression":"{{ item }}"},"forEach":"{{ input.a.b }}"}`,
			input: `{}`, status: workflow.ExecutionFailed, message: "forEach"},
		{name: "ElementFails", node: `{"id":"each","type":"data.transform","config":{"expression":"{{ item.x.y }}"},"forEach":"{{ input.list }}"}`,
			input: `{"list":[{"x":{"y":1}},{"x":null}]}`, status: workflow.ExecutionFailed, message: "element 1"},
		{name: "WaitInside", node: `{"id":"each","type":"flow.delay","config":{"duration":"1h"},"forEach":"{{ [1, 2] }}"}`,
			input: `{}`, status: workflow.ExecutionFailed, message: "a node cannot wait inside forEach"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := enginetest.Start(t, enginetest.Options{})
			w := env.Save(t, `{"name":"each","nodes":[{"id":"start","type":"trigger.manual"},`+tc.node+`],
				"edges":[{"source":"start","target":"each"}]}`)
			exec := env.Run(t, w.ID, tc.input)
			require.Equal(t, tc.status, exec.Status, "error: %+v", exec.Error)
			if tc.status == workflow.ExecutionSucceeded {
				require.Equal(t, tc.output, enginetest.Output(t, exec))
				return
			}
			require.Equal(t, "each", exec.Error.NodeID)
			require.Contains(t, env.Runs(t, exec.ID)["each"].Error.Message, tc.message)
		})
	}
}

// TestDataFilterThroughTheEngine: data.filter's condition is evaluated per element, lazily, with
// item and index bound, by the engine's evaluator.
func TestDataFilterThroughTheEngine(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{})
	w := env.Save(t, `{"name":"filter","nodes":[
		{"id":"start","type":"trigger.manual"},
		{"id":"big","type":"data.filter","config":{"items":"{{ input.orders }}","condition":"{{ item.total > 100 && index > 0 }}"}},
		{"id":"bad","type":"data.filter","config":{"condition":"{{ item.a.b }}"}}],
		"edges":[{"source":"start","target":"big"},{"source":"big","target":"bad"}]}`)
	exec := env.Run(t, w.ID, `{"orders":[{"id":1,"total":500},{"id":2,"total":50},{"id":3,"total":150}]}`)
	require.Equal(t, workflow.ExecutionFailed, exec.Status)
	runs := env.Runs(t, exec.ID)
	require.JSONEq(t, `[{"id":3,"total":150}]`, string(runs["big"].Output), "the first order is over 100 but at index 0")
	require.Contains(t, runs["bad"].Error.Message, "condition for element 0")
}

// TestUnrunnableVersion: an execution whose version no longer compiles (its node type was removed)
// fails with code unrunnable when a worker picks it up, instead of failing the worker.
func TestUnrunnableVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	w := env.Save(t, `{"name":"gone","nodes":[{"id":"start","type":"trigger.manual"},{"id":"work","type":"test.work","config":{"key":"w"}}],
		"edges":[{"source":"start","target":"work"}]}`)
	exec := env.Start(t, w.ID, `{}`)

	reg, err := builtin.NewRegistry(builtin.Config{})
	require.NoError(t, err)
	eng, err := engine.New(engine.Config{Store: env.Store, Registry: reg, Publisher: env.Bus})
	require.NoError(t, err)
	claimed, err := env.Store.ClaimExecution(ctx, store.ExecutionRef{TenantID: store.DefaultTenant, ID: exec.ID}, "bare", time.Minute, false)
	require.NoError(t, err)

	// A run stopped before it could load the version leaves the execution as it was.
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	out, err := eng.Run(stopped, claimed, "bare", nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, workflow.ExecutionRunning, out.Status)

	out, err = eng.Run(ctx, claimed, "bare", nil)
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionFailed, out.Status)
	got, err := env.Store.GetExecution(ctx, store.DefaultTenant, exec.ID)
	require.NoError(t, err)
	require.Equal(t, workflow.ExecutionFailed, got.Status)
	require.Equal(t, "unrunnable", got.Error.Code)
	require.Contains(t, got.Error.Message, "compile workflow "+w.ID+" version 1")
	require.Nil(t, got.LeaseExpiresAt, "the lease is released")
	evs := env.Events(t, exec.ID)
	require.Equal(t, engine.EventExecutionFinished, evs[len(evs)-1].Type)

	// Once finished, the lease is gone: a second attempt is refused, not applied twice.
	_, err = eng.Run(ctx, claimed, "bare", nil)
	require.ErrorIs(t, err, store.ErrConflict)
}

func TestNewEngineNeedsStoreAndRegistry(t *testing.T) {
	t.Parallel()
	reg, err := builtin.NewRegistry(builtin.Config{})
	require.NoError(t, err)
	_, err = engine.New(engine.Config{Registry: reg})
	require.EqualError(t, err, "engine: Store and Registry are required")
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	_, err = engine.New(engine.Config{Store: env.Store})
	require.EqualError(t, err, "engine: Store and Registry are required")
}
