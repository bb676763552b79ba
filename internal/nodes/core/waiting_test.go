package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/core"
)

func TestWaitingNodesRefuseBadConfiguration(t *testing.T) {
	t.Parallel()
	reg := registry(t)
	tests := []struct {
		name    string
		typ     string
		config  map[string]any
		pointer string // a schema error at this pointer
		invalid string // else a Validate error containing this
	}{
		{name: "WaitNeedsMode", typ: "flow.wait", config: map[string]any{}, pointer: ""},
		{name: "WaitUnknownMode", typ: "flow.wait", config: map[string]any{"mode": "email"}, pointer: "/mode"},
		{name: "WaitModeIsNotAnExpression", typ: "flow.wait", config: map[string]any{"mode": "{{ input.mode }}"}, invalid: "not an expression"},
		{name: "WaitBadTimeout", typ: "flow.wait", config: map[string]any{"mode": "approval", "timeout": "soon"}, pointer: "/timeout"},
		{name: "WaitBadOnTimeout", typ: "flow.wait", config: map[string]any{"mode": "approval", "onTimeout": "retry"}, pointer: "/onTimeout"},
		{name: "CallNeedsWorkflow", typ: "flow.call", config: map[string]any{}, pointer: ""},
		{name: "CallBadVersion", typ: "flow.call", config: map[string]any{"workflowId": "w", "version": 0}, pointer: "/version"},
		{name: "CallZeroTimeout", typ: "flow.call", config: map[string]any{"workflowId": "w", "timeout": "0s"}, invalid: "positive duration"},
		{name: "RespondStatusOutOfRange", typ: "http.respond", config: map[string]any{"status": 99}, pointer: "/status"},
		{name: "RespondForbiddenHeader", typ: "http.respond", config: map[string]any{"headers": map[string]any{"Set-Cookie": "a=b"}}, invalid: "Set-Cookie may not be set"},
		{name: "RespondHeaderInjection", typ: "http.respond", config: map[string]any{"headers": map[string]any{"X-A": "a\r\nSet-Cookie: b"}}, invalid: "line break"},
		{name: "StopTakesNothingElse", typ: "flow.stop", config: map[string]any{"outputs": 1}, pointer: ""},
		{name: "NoopTakesNothing", typ: "flow.noop", config: map[string]any{"x": 1}, pointer: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			typ, ok := reg.Lookup(node.TypeName(tt.typ))
			require.True(t, ok)
			errs := typ.ValidateConfig(tt.config, true)
			if tt.invalid == "" {
				require.NotEmpty(t, errs, "the schema refuses it")
				found := false
				for _, e := range errs {
					found = found || e.Pointer == tt.pointer
				}
				require.True(t, found, "want an error at %q, got %+v", tt.pointer, errs)
				return
			}
			require.Empty(t, errs)
			_, err := typ.Instantiate(tt.config, true)
			require.ErrorContains(t, err, tt.invalid)
		})
	}
}

// fakeHost is a node.Host over maps, for the waiting nodes' unit tests.
type fakeHost struct {
	signal   json.RawMessage
	children map[string]*node.Child
	started  []node.ChildRequest
	startErr error
}

func (h *fakeHost) Signal(context.Context) (json.RawMessage, error) { return h.signal, nil }
func (h *fakeHost) ResumeURL() string                               { return "http://cm.test/resume/x" }
func (h *fakeHost) Child(_ context.Context, key string) (*node.Child, error) {
	return h.children[key], nil
}
func (h *fakeHost) StartChild(_ context.Context, req node.ChildRequest) (*node.Child, error) {
	if h.startErr != nil {
		return nil, h.startErr
	}
	h.started = append(h.started, req)
	c := &node.Child{ID: "child-" + req.Key, WorkflowID: req.WorkflowID, Status: "queued", CreatedAt: time.Now()}
	if h.children == nil {
		h.children = map[string]*node.Child{}
	}
	h.children[req.Key] = c
	return c, nil
}

func TestWaitNode(t *testing.T) {
	t.Parallel()
	in := func(h node.Host, resume *node.Resume) *node.Input {
		return &node.Input{Data: map[string]any{"a": 1.0}, Host: h, Resume: resume, Logger: discard()}
	}
	// No host: a clear permanent error, not a panic.
	_, err := run(t, "flow.wait", map[string]any{"mode": "approval"}, in(nil, nil))
	require.True(t, node.IsPermanent(err))
	require.ErrorIs(t, err, node.ErrNoHost)

	// Nothing yet: suspend until the timeout.
	h := &fakeHost{}
	_, err = run(t, "flow.wait", map[string]any{"mode": "approval", "timeout": "1h"}, in(h, nil))
	var suspend *node.SuspendError
	require.ErrorAs(t, err, &suspend)
	require.WithinDuration(t, time.Now().Add(time.Hour), suspend.Until, time.Minute)

	// Woken early without a signal: suspend again with the same deadline.
	_, err = run(t, "flow.wait", map[string]any{"mode": "approval", "timeout": "1h"}, in(h, &node.Resume{WakeAt: suspend.Until}))
	var again *node.SuspendError
	require.ErrorAs(t, err, &again)
	require.Equal(t, suspend.Until, again.Until)

	// The signal arrived.
	h.signal = json.RawMessage(`{"approved":true}`)
	out, err := run(t, "flow.wait", map[string]any{"mode": "approval"}, in(h, &node.Resume{WakeAt: time.Now().Add(time.Hour)}))
	require.NoError(t, err)
	require.Equal(t, node.Out(map[string]any{"approved": true}), out)

	// The deadline passed: the timeout port, or a permanent timeout.
	h.signal = nil
	past := &node.Resume{WakeAt: time.Now().Add(-time.Second)}
	out, err = run(t, "flow.wait", map[string]any{"mode": "webhook", "onTimeout": "port"}, in(h, past))
	require.NoError(t, err)
	require.Equal(t, core.WaitTimeoutPort, out.Port)
	_, err = run(t, "flow.wait", map[string]any{"mode": "webhook", "timeout": "1s"}, in(h, past))
	var ne *node.Error
	require.ErrorAs(t, err, &ne)
	require.Equal(t, "timeout", ne.Code)
	require.True(t, node.IsPermanent(err))
}

func TestCallNode(t *testing.T) {
	t.Parallel()
	h := &fakeHost{}
	in := &node.Input{Data: map[string]any{"x": 2.0}, Host: h, Execution: node.ExecutionInfo{Attempt: 2}, Element: &node.Element{Index: 3, Attempt: 1}}
	_, err := run(t, "flow.call", map[string]any{"workflowId": "w"}, in)
	var suspend *node.SuspendError
	require.ErrorAs(t, err, &suspend)
	require.Len(t, h.started, 1)
	require.Equal(t, "2/3/1", h.started[0].Key, "attempt/element/element attempt")
	require.Equal(t, map[string]any{"x": 2.0}, h.started[0].Input, "the node's input by default")

	// Resumed: the same child is found, not started again.
	_, err = run(t, "flow.call", map[string]any{"workflowId": "w"}, in)
	require.ErrorAs(t, err, &suspend)
	require.Len(t, h.started, 1)

	h.children["2/3/1"].Status, h.children["2/3/1"].Output = "succeeded", json.RawMessage(`{"y":4}`)
	out, err := run(t, "flow.call", map[string]any{"workflowId": "w"}, in)
	require.NoError(t, err)
	require.Equal(t, node.Out(map[string]any{"y": 4.0}), out)

	h.children["2/3/1"].Status, h.children["2/3/1"].Error = "failed", "boom"
	_, err = run(t, "flow.call", map[string]any{"workflowId": "w"}, in)
	var ne *node.Error
	require.ErrorAs(t, err, &ne)
	require.Equal(t, core.CodeChildFailed, ne.Code)
	require.False(t, node.IsPermanent(err), "a failed child may be retried")

	h.children["2/3/1"].Status = "canceled"
	_, err = run(t, "flow.call", map[string]any{"workflowId": "w"}, in)
	require.True(t, node.IsPermanent(err))

	// Timeouts count from the child's creation; without wait the child's id comes back at once.
	h.children["2/3/1"].Status, h.children["2/3/1"].CreatedAt = "running", time.Now().Add(-time.Hour)
	_, err = run(t, "flow.call", map[string]any{"workflowId": "w", "timeout": "1m"}, in)
	require.ErrorAs(t, err, &ne)
	require.Equal(t, core.CodeCallTimeout, ne.Code)
	out, err = run(t, "flow.call", map[string]any{"workflowId": "w", "wait": false}, in)
	require.NoError(t, err)
	require.Equal(t, "child-2/3/1", out.Value.(map[string]any)["executionId"])

	// A child that cannot start is a permanent failure.
	h2 := &fakeHost{startErr: errors.Join(core.ErrCall, errors.New("cycle"))}
	_, err = run(t, "flow.call", map[string]any{"workflowId": "w"}, &node.Input{Host: h2})
	require.True(t, node.IsPermanent(err))
}

func TestStopRespondNoop(t *testing.T) {
	t.Parallel()
	out, err := run(t, "flow.stop", map[string]any{}, &node.Input{Data: "in"})
	require.NoError(t, err)
	require.True(t, out.Stop)
	require.Equal(t, "in", out.Value)
	out, err = run(t, "flow.stop", map[string]any{"output": 7.0}, &node.Input{Data: "in"})
	require.NoError(t, err)
	require.Equal(t, 7.0, out.Value)

	out, err = run(t, "http.respond", map[string]any{"headers": map[string]any{"X-A": "b"}}, &node.Input{Data: map[string]any{"k": 1.0}})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"k": 1.0}, out.Value, "the input passes on")
	require.Equal(t, &node.Response{Status: 200, Headers: map[string]string{"X-A": "b"}, Body: map[string]any{"k": 1.0}}, out.Response)

	out, err = run(t, "flow.noop", nil, &node.Input{Data: []any{1.0}})
	require.NoError(t, err)
	require.Equal(t, node.Out([]any{1.0}), out)
	out, err = run(t, "trigger.error", nil, &node.Input{Data: map[string]any{"error": "x"}})
	require.NoError(t, err)
	require.Equal(t, node.Out(map[string]any{"error": "x"}), out)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
