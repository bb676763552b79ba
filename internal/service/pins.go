package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

// MaxPinBytes bounds the JSON of one pinned output.
const MaxPinBytes = 1 << 20

// Test run modes (TestRunParams.Mode).
const (
	// TestNode runs one node, given the outputs of the others from pins and a past execution.
	TestNode = "node"
	// TestUpTo runs a node and the ancestors it needs, stopping at pinned nodes.
	TestUpTo = "upTo"
)

// ListPins returns the pinned outputs of a workflow, by node id.
func (s *Service) ListPins(ctx context.Context, tenantID, workflowID string) ([]store.Pin, error) {
	if _, err := s.store.GetWorkflow(ctx, tenantID, workflowID); err != nil {
		return nil, err
	}
	return s.store.ListPins(ctx, tenantID, workflowID)
}

// PinOutput pins data as the output of a node of the workflow's current version, leaving by port (the
// node's first output port when empty). Test runs use it instead of running the node.
func (s *Service) PinOutput(ctx context.Context, tenantID, workflowID, nodeID, port string, data json.RawMessage) (*store.Pin, error) {
	g, err := s.currentGraph(ctx, tenantID, workflowID)
	if err != nil {
		return nil, err
	}
	n := g.Node(nodeID)
	if n == nil {
		return nil, &InputError{Pointer: "/path/nodeId", Message: fmt.Sprintf("node %q is not in the workflow's current version", nodeID)}
	}
	ports := outputPorts(n)
	if port == "" {
		port = ports[0]
	} else if !slices.Contains(ports, port) {
		return nil, &InputError{Pointer: "/port", Message: fmt.Sprintf("node %s has no output port %q; its ports are %s", nodeID, port, strings.Join(ports, ", "))}
	}
	if len(data) > MaxPinBytes {
		return nil, &InputError{Pointer: "/data", Message: fmt.Sprintf("pinned data is %d bytes; at most %d bytes (1 MiB) may be pinned on a node", len(data), MaxPinBytes)}
	}
	if !json.Valid(data) {
		return nil, &InputError{Pointer: "/data", Message: "pinned data is not valid JSON"}
	}
	pin := store.Pin{WorkflowID: workflowID, NodeID: nodeID, Port: port, Data: data}
	ctx = identity.Audit(ctx, tenantID, "workflow.pinned", "workflow", workflowID, map[string]any{"nodes": []string{nodeID}})
	if err := s.store.PutPins(ctx, tenantID, workflowID, []store.Pin{pin}); err != nil {
		return nil, err
	}
	pins, err := s.store.ListPins(ctx, tenantID, workflowID)
	if err != nil {
		return nil, err
	}
	for i := range pins {
		if pins[i].NodeID == nodeID {
			return &pins[i], nil
		}
	}
	return nil, fmt.Errorf("pin of %s: %w", nodeID, store.ErrNotFound) // unpinned meanwhile
}

// Unpin removes the pinned output of a node.
func (s *Service) Unpin(ctx context.Context, tenantID, workflowID, nodeID string) error {
	if _, err := s.store.GetWorkflow(ctx, tenantID, workflowID); err != nil {
		return err
	}
	ctx = identity.Audit(ctx, tenantID, "workflow.unpinned", "workflow", workflowID, map[string]any{"nodes": []string{nodeID}})
	return s.store.DeletePin(ctx, tenantID, workflowID, nodeID)
}

// PinFromExecution pins, on the workflow, the outputs that the named nodes gave in one of its
// executions (their last succeeded attempts); without nodes, the output of the execution's trigger
// (what "debug in editor" does). It returns every pin of the workflow afterwards.
func (s *Service) PinFromExecution(ctx context.Context, tenantID, workflowID, executionID string, nodes []string) ([]store.Pin, error) {
	g, err := s.currentGraph(ctx, tenantID, workflowID)
	if err != nil {
		return nil, err
	}
	exec, runs, err := s.sourceExecution(ctx, tenantID, workflowID, executionID, true)
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		if exec.TriggerNode == "" {
			return nil, &InputError{Pointer: "/nodes", Message: fmt.Sprintf("execution %s did not start at a trigger: name the nodes to pin", exec.ID)}
		}
		nodes = []string{exec.TriggerNode}
	}
	if len(nodes) > store.MaxPins {
		return nil, &InputError{Pointer: "/nodes", Message: fmt.Sprintf("at most %d nodes can be pinned", store.MaxPins)}
	}
	pins := make([]store.Pin, 0, len(nodes))
	for i, id := range nodes {
		at := fmt.Sprintf("/nodes/%d", i)
		n := g.Node(id)
		if n == nil {
			return nil, &InputError{Pointer: at, Message: fmt.Sprintf("node %q is not in the workflow's current version", id)}
		}
		run, ok := runs[id]
		if !ok {
			return nil, &InputError{Pointer: at, Message: fmt.Sprintf("node %s has no succeeded output in execution %s", id, exec.ID)}
		}
		if len(run.Output) > MaxPinBytes {
			return nil, &InputError{Pointer: at, Message: fmt.Sprintf("the output of %s is %d bytes; at most %d bytes (1 MiB) may be pinned on a node", id, len(run.Output), MaxPinBytes)}
		}
		port := run.Port
		if !slices.Contains(outputPorts(n), port) {
			port = outputPorts(n)[0] // the node changed since; its pin leaves by its first port
		}
		data := run.Output
		if len(data) == 0 {
			data = json.RawMessage("null")
		}
		pins = append(pins, store.Pin{WorkflowID: workflowID, NodeID: id, Port: port, Data: data})
	}
	ctx = identity.Audit(ctx, tenantID, "workflow.pinned", "workflow", workflowID, map[string]any{"nodes": nodes, "executionId": exec.ID})
	if err := s.store.PutPins(ctx, tenantID, workflowID, pins); err != nil {
		return nil, err
	}
	return s.store.ListPins(ctx, tenantID, workflowID)
}

// TestRunParams describes a test run (StartTestRun).
type TestRunParams struct {
	WorkflowID string
	// Node is the node to test; empty tests the whole workflow.
	Node string
	// Mode is TestNode or TestUpTo (the default).
	Mode string
	// ExecutionID names the run whose outputs stand in for the nodes that do not run; empty means the
	// workflow's latest finished execution.
	ExecutionID string
	// Input is the trigger's data; empty means the source execution's input, else {}.
	Input json.RawMessage
}

// StartTestRun starts a test run of the workflow's current version: an execution (trigger "test")
// that runs only a part of the workflow and uses pinned outputs. Pinned nodes and nodes given a past
// output are seeded as succeeded runs, the nodes outside the test as skipped runs, so that the engine
// runs exactly the rest and a run resumed elsewhere does the same. Production runs never read pins.
func (s *Service) StartTestRun(ctx context.Context, tenantID string, p TestRunParams) (*store.Execution, error) {
	w, err := s.store.GetWorkflow(ctx, tenantID, p.WorkflowID)
	if err != nil {
		return nil, err
	}
	g, err := s.cfg.Engine.Plan(ctx, tenantID, w.ID, w.Version)
	if err != nil {
		return nil, err
	}
	var target *validate.Node
	if p.Node != "" {
		if target = g.Node(p.Node); target == nil {
			return nil, &InputError{Pointer: "/node", Message: fmt.Sprintf("node %q is not in the workflow's current version", p.Node)}
		}
	}
	mode := p.Mode
	switch {
	case mode == "":
		mode = TestUpTo
	case mode != TestNode && mode != TestUpTo:
		return nil, &InputError{Pointer: "/mode", Message: `mode is "node" (test one node) or "upTo" (run up to a node)`}
	case mode == TestNode && target == nil:
		return nil, &InputError{Pointer: "/node", Message: `mode "node" needs the node to test`}
	}
	pinList, err := s.store.ListPins(ctx, tenantID, w.ID)
	if err != nil {
		return nil, err
	}
	pins := make(map[string]store.Pin, len(pinList))
	for _, pin := range pinList {
		if n := g.Node(pin.NodeID); n != nil && n.Ports[pin.Port] {
			pins[pin.NodeID] = pin // a pin of a removed node, or of a port it lost, is left out
		}
	}
	source, outputs, err := s.sourceExecution(ctx, tenantID, w.ID, p.ExecutionID, mode == TestNode)
	if err != nil && (p.ExecutionID != "" || !errors.Is(err, errNoSource)) {
		return nil, err
	}
	var src *testSource
	if source != nil && mode == TestNode {
		src = &testSource{id: source.ID, outputs: outputs}
	}
	plan, err := planTest(g, target, mode, pins, src, s.now().UTC())
	if err != nil {
		return nil, err
	}
	input := p.Input
	if len(input) == 0 && source != nil {
		input = source.Input
	}
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	trigger := plan.trigger
	if trigger == "" && source != nil {
		if _, ok := plan.succeeded(source.TriggerNode); ok {
			trigger = source.TriggerNode // expressions reading trigger. see the source run's trigger
		}
	}
	test := map[string]any{"mode": mode, "pinned": plan.pinned, "reused": plan.reused}
	if target != nil {
		test["node"] = target.Spec.ID
	}
	if source != nil {
		test["sourceExecutionId"] = source.ID
	}
	queued := store.Event{Type: engine.EventExecutionQueued, Time: s.now().UTC(),
		Data: mustJSON(map[string]any{"trigger": store.TriggerTest, "triggerNode": trigger, "workflowVersion": w.Version, "test": test})}
	id := NewID()
	ctx = identity.Audit(ctx, tenantID, "execution.started", "execution", id, map[string]any{"workflowId": w.ID, "version": w.Version, "test": test})
	exec, _, err := s.store.CreateExecution(ctx, tenantID, store.CreateExecutionParams{
		ID: id, WorkflowID: w.ID, WorkflowVersion: w.Version,
		TriggerKind: store.TriggerTest, TriggerNode: trigger, Input: input,
		Seed:    plan.seed,
		Events:  []store.Event{queued},
		Enqueue: s.withTraceParent(ctx, tenantID, s.enqueueHook(tenantID, queued)),
	})
	return exec, err
}

// errNoSource is returned by sourceExecution when the workflow has no finished execution.
var errNoSource = errors.New("no finished execution")

// sourceExecution reads an execution of the workflow, or its latest finished one when id is empty,
// and with withRuns the last succeeded run of each node.
func (s *Service) sourceExecution(ctx context.Context, tenantID, workflowID, id string, withRuns bool) (*store.Execution, map[string]store.NodeRun, error) {
	if id == "" {
		// Lists carry no payloads: find the latest finished run, then read it whole.
		page, err := s.store.ListExecutions(ctx, tenantID, store.ListExecutionsParams{WorkflowID: workflowID, Limit: 20})
		if err != nil {
			return nil, nil, err
		}
		for i := range page.Items {
			if page.Items[i].Status.Terminal() {
				id = page.Items[i].ID
				break
			}
		}
		if id == "" {
			return nil, nil, errNoSource
		}
	}
	exec, err := s.store.GetExecution(ctx, tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, &NotFoundError{Pointer: "/executionId", Message: "execution " + id + " does not exist"}
	}
	if err != nil {
		return nil, nil, err
	}
	if exec.WorkflowID != workflowID {
		return nil, nil, &InputError{Pointer: "/executionId", Message: "execution " + id + " is not a run of workflow " + workflowID}
	}
	if !withRuns {
		return exec, nil, nil
	}
	runs, err := s.store.ListNodeRuns(ctx, tenantID, exec.ID)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]store.NodeRun, len(runs))
	for _, r := range runs {
		if r.Status != workflow.NodeRunSucceeded {
			continue
		}
		if prev, ok := out[r.NodeID]; !ok || r.Attempt > prev.Attempt {
			out[r.NodeID] = r
		}
	}
	return exec, out, nil
}

// currentGraph compiles (or reads from the cache) the workflow's current version.
func (s *Service) currentGraph(ctx context.Context, tenantID, workflowID string) (*validate.Graph, error) {
	w, err := s.store.GetWorkflow(ctx, tenantID, workflowID)
	if err != nil {
		return nil, err
	}
	return s.cfg.Engine.Plan(ctx, tenantID, w.ID, w.Version)
}

// outputPorts lists the ports a node's output may leave by: its type's ports for its configuration,
// then error when its failures are routed.
func outputPorts(n *validate.Node) []string {
	ports := n.Type.OutputPorts(n.Spec.Config)
	if n.Ports[workflow.PortError] && !slices.Contains(ports, workflow.PortError) {
		ports = append(ports, workflow.PortError)
	}
	return ports
}

// testPlan is what a test run seeds: the runs that stand in for the nodes that do not run.
type testPlan struct {
	trigger string
	seed    []store.NodeRun
	pinned  []string
	reused  []string
	// at indexes seed by node id.
	at map[string]int
}

// succeeded returns the seeded succeeded run of a node, if any.
func (p *testPlan) succeeded(id string) (store.NodeRun, bool) {
	if i, ok := p.at[id]; ok && p.seed[i].Status == workflow.NodeRunSucceeded {
		return p.seed[i], true
	}
	return store.NodeRun{}, false
}

// testSource is the past execution whose outputs stand in for nodes in mode node.
type testSource struct {
	id      string
	outputs map[string]store.NodeRun
}

// planTest decides a test run. target is the node under test (nil: the whole workflow); pins are the
// usable pins by node; src, in mode node, the past execution whose outputs the other nodes reuse.
func planTest(g *validate.Graph, target *validate.Node, mode string, pins map[string]store.Pin, src *testSource, now time.Time) (*testPlan, error) {
	run := make([]bool, len(g.Nodes))
	skip := make([]bool, len(g.Nodes))
	var stack []*validate.Node
	if mode == TestNode {
		run[target.Index] = true
		// The nodes after the one under test must not run when it finishes.
		stack = append(stack, target)
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, e := range n.Out {
				if !skip[e.Target.Index] {
					skip[e.Target.Index] = true
					stack = append(stack, e.Target)
				}
			}
		}
	} else {
		// The nodes needed: back from the target (or from every sink) through inputs and the nodes
		// expressions read, stopping at pinned nodes, whose pins stand in for them.
		visit := func(n *validate.Node, start bool) {
			if !run[n.Index] && (start || !hasPin(pins, n)) {
				run[n.Index] = true
				stack = append(stack, n)
			}
		}
		if target != nil {
			visit(target, true)
		} else {
			for _, n := range g.Nodes {
				if len(n.Out) == 0 {
					visit(n, false)
				}
			}
		}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, e := range n.In {
				visit(e.Source, false)
			}
			for _, id := range n.Refs {
				if r := g.Node(id); r != nil {
					visit(r, false)
				}
			}
		}
	}

	plan := &testPlan{at: make(map[string]int, len(g.Nodes))}
	log := func(msg string) []store.LogEntry { return []store.LogEntry{{Time: now, Level: "info", Message: msg}} }
	for _, n := range g.Nodes {
		if run[n.Index] {
			continue
		}
		id := n.Spec.ID
		r := store.NodeRun{NodeID: id, Attempt: 1, Status: workflow.NodeRunSkipped, FinishedAt: &now, Logs: log("not part of this test run")}
		pin, pinned := pins[id]
		var out store.NodeRun
		reused := false
		if src != nil {
			out, reused = src.outputs[id]
			reused = reused && n.Ports[out.Port]
		}
		switch {
		case skip[n.Index]:
		case pinned:
			r.Status, r.StartedAt, r.Output, r.Port = workflow.NodeRunSucceeded, &now, pin.Data, pin.Port
			r.Logs = log("pinned output used; the node did not run")
			plan.pinned = append(plan.pinned, id)
		case reused:
			r.Status, r.StartedAt, r.Output, r.Port = workflow.NodeRunSucceeded, &now, out.Output, out.Port
			r.Logs = log("output reused from execution " + src.id + "; the node did not run")
			plan.reused = append(plan.reused, id)
		}
		plan.at[id] = len(plan.seed)
		plan.seed = append(plan.seed, r)
	}

	if mode == TestNode && len(target.In) > 0 {
		var missing []string
		fed := false
		for _, e := range target.In {
			if r, ok := plan.succeeded(e.Source.Spec.ID); ok && r.Port == e.SourcePort {
				fed = true
				break
			}
			missing = append(missing, e.Source.Spec.ID)
		}
		if !fed {
			return nil, &InputError{Pointer: "/node", Message: fmt.Sprintf(
				"node %s has no input to test with: run the workflow once, or pin the output of %s", target.Spec.ID, strings.Join(missing, " or "))}
		}
	}

	// The trigger that starts the run: the target when it is one, else a trigger that runs (a manual
	// one first), else a pinned one (its pin is what expressions read as trigger).
	switch {
	case target != nil && target.IsTrigger():
		plan.trigger = target.Spec.ID
	default:
		for _, n := range g.Triggers {
			if run[n.Index] && (plan.trigger == "" || n.Spec.Type == "trigger.manual") {
				plan.trigger = n.Spec.ID
				if n.Spec.Type == "trigger.manual" {
					break
				}
			}
		}
		for _, n := range g.Triggers {
			if _, ok := plan.succeeded(n.Spec.ID); plan.trigger == "" && ok && hasPin(pins, n) {
				plan.trigger = n.Spec.ID
			}
		}
	}
	return plan, nil
}

func hasPin(pins map[string]store.Pin, n *validate.Node) bool {
	_, ok := pins[n.Spec.ID]
	return ok
}
