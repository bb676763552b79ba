package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// MaxPreviewDataBytes bounds the stored JSON an expression preview decodes from an execution: the
// outputs the expression names and the node's input. More answers a problem at /executionId.
const MaxPreviewDataBytes = 32 << 20

// EvalContext overrides parts of what a previewed expression sees. A nil field keeps what the
// execution or workflow gives.
type EvalContext struct {
	Trigger   any
	Input     any
	Nodes     map[string]any
	Vars      map[string]any
	Execution map[string]any
	Workflow  map[string]any
	Item      any
	Index     *int
}

// EvaluateParams is an expression to preview and where its data comes from.
type EvaluateParams struct {
	// Expression is a configuration string: text with zero or more {{ }} parts.
	Expression string
	// WorkflowID, when set, gives vars and workflow, and the edges that pick the node's input.
	WorkflowID string
	// ExecutionID, when set, gives the data of that run as the engine would give it to NodeID.
	ExecutionID string
	// NodeID is the node the expression belongs to.
	NodeID string
	// Context overrides parts of the environment.
	Context *EvalContext
}

// EvaluateResult is the value of a previewed expression, or why it has none.
type EvaluateResult struct {
	Value any
	// Err is the expression's own error (it does not compile, or its evaluation failed).
	Err *expression.Error
	// Duration is how long compiling and evaluating took.
	Duration time.Duration
}

// NotFoundError is a request that names something that does not exist in the tenant, located by
// Pointer in the request body.
type NotFoundError struct {
	Pointer string
	Message string
}

func (e *NotFoundError) Error() string { return e.Message }

// Unwrap lets errors.Is match store.ErrNotFound.
func (e *NotFoundError) Unwrap() error { return store.ErrNotFound }

// Evaluate compiles and evaluates an expression the way a run would, with the engine's limits and
// budget, against the data of a past execution and workflow of the tenant. An error of the
// expression is the result's Err; the error return is for the request (an unknown execution).
func (s *Service) Evaluate(ctx context.Context, tenantID string, p EvaluateParams) (*EvaluateResult, error) {
	limits, bud := s.cfg.Limits, expression.Budget{}
	if s.cfg.Engine != nil {
		limits, bud = s.cfg.Engine.Expressions()
	}
	// A preview compiles what someone is typing: it neither fills the shared cache of compiled
	// templates nor counts against a workflow's quota.
	limits.Cache, limits.Quota = nil, nil
	bud.Memory = nil
	started := s.now()
	tpl, err := expression.Compile(p.Expression, limits)
	if err != nil {
		return &EvaluateResult{Err: asExprError(err), Duration: s.now().Sub(started)}, nil
	}
	env, err := s.previewEnv(ctx, tenantID, p, tpl)
	if err != nil {
		return nil, err
	}
	v, err := tpl.Eval(ctx, env, bud)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("evaluate expression: %w", ctx.Err())
		}
		return &EvaluateResult{Err: asExprError(err), Duration: s.now().Sub(started)}, nil
	}
	return &EvaluateResult{Value: v, Duration: s.now().Sub(started)}, nil
}

func asExprError(err error) *expression.Error {
	var e *expression.Error
	if errors.As(err, &e) {
		return e
	}
	return &expression.Error{Message: err.Error(), Offset: -1}
}

// previewEnv builds what the expression sees: the execution's data for the node, then the workflow's
// vars, then the explicit overrides.
func (s *Service) previewEnv(ctx context.Context, tenantID string, p EvaluateParams, tpl *expression.Template) (*expression.Env, error) {
	env := &expression.Env{Nodes: map[string]any{}, Vars: map[string]any{}, Execution: map[string]any{}, Workflow: map[string]any{}}
	var def *workflow.Definition
	if p.WorkflowID != "" {
		w, err := s.store.GetWorkflow(ctx, tenantID, p.WorkflowID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, &NotFoundError{Pointer: "/workflowId", Message: "workflow " + p.WorkflowID + " does not exist"}
			}
			return nil, fmt.Errorf("load workflow: %w", err)
		}
		def = &w.Definition
		env.Workflow = map[string]any{"id": w.ID, "name": w.Name, "version": w.Version}
		env.Vars = nonNilMap(w.Definition.Settings.Vars)
	}
	if p.ExecutionID != "" {
		if err := s.executionEnv(ctx, tenantID, p, tpl, def, env); err != nil {
			return nil, err
		}
	}
	if c := p.Context; c != nil {
		if c.Trigger != nil {
			env.Trigger = c.Trigger
		}
		if c.Input != nil {
			env.Input = c.Input
		}
		env.Nodes = cmpMap(c.Nodes, env.Nodes)
		env.Vars = cmpMap(c.Vars, env.Vars)
		env.Execution = cmpMap(c.Execution, env.Execution)
		env.Workflow = cmpMap(c.Workflow, env.Workflow)
		env.Item = c.Item
		if c.Index != nil {
			env.Index = *c.Index
		}
	}
	return env, nil
}

func cmpMap(over, base map[string]any) map[string]any {
	if over != nil {
		return over
	}
	return base
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// executionEnv fills env from an execution as the engine fills it for p.NodeID: trigger, the node's
// input (its stored input when it ran, otherwise the outputs its incoming edges carried), the outputs
// of the nodes the expression names, execution and workflow.
func (s *Service) executionEnv(ctx context.Context, tenantID string, p EvaluateParams, tpl *expression.Template, def *workflow.Definition, env *expression.Env) error {
	exec, err := s.store.GetExecution(ctx, tenantID, p.ExecutionID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &NotFoundError{Pointer: "/executionId", Message: "execution " + p.ExecutionID + " does not exist"}
		}
		return fmt.Errorf("load execution: %w", err)
	}
	if p.WorkflowID != "" && exec.WorkflowID != p.WorkflowID {
		return &InputError{Pointer: "/executionId", Message: "execution " + p.ExecutionID + " is not a run of workflow " + p.WorkflowID}
	}
	if def == nil {
		v, err := s.store.GetWorkflowVersion(ctx, tenantID, exec.WorkflowID, exec.WorkflowVersion)
		if err != nil {
			return fmt.Errorf("load workflow version: %w", err)
		}
		def = &v.Definition
		env.Vars = nonNilMap(v.Definition.Settings.Vars)
	}
	env.Workflow = map[string]any{"id": exec.WorkflowID, "name": def.Name, "version": exec.WorkflowVersion}
	started := exec.CreatedAt
	if exec.StartedAt != nil {
		started = *exec.StartedAt
	}
	env.Execution = map[string]any{"id": exec.ID, "startedAt": started.UTC().Format(time.RFC3339Nano), "trigger": string(exec.TriggerKind)}
	if exec.ParentExecutionID != "" {
		env.Execution["parentId"] = exec.ParentExecutionID
	}
	runs, err := s.store.ListNodeRuns(ctx, tenantID, exec.ID)
	if err != nil {
		return fmt.Errorf("list node runs: %w", err)
	}
	last := make(map[string]*store.NodeRun, len(runs))
	for i := range runs {
		r := &runs[i]
		if cur, ok := last[r.NodeID]; !ok || r.Attempt > cur.Attempt {
			last[r.NodeID] = r
		}
	}
	dec := &boundedDecoder{left: MaxPreviewDataBytes}
	// The trigger: the start node's output once it succeeded, otherwise the execution's input.
	trigger := exec.Input
	if r := last[exec.TriggerNode]; r != nil && r.Status == workflow.NodeRunSucceeded && len(r.Output) > 0 {
		trigger = r.Output
	}
	if env.Trigger, err = dec.decode(trigger); err != nil {
		return err
	}
	// The input.
	in, err := nodeInput(exec, def, last, p.NodeID)
	if err != nil {
		return err
	}
	if env.Input, err = dec.decode(in); err != nil {
		return err
	}
	// nodes.<id>: the finished nodes the expression names, or all of them when it computes the id.
	ids, dynamic := tpl.NodeRefs()
	add := func(r *store.NodeRun) error {
		if !finished(r.Status) {
			return nil
		}
		out, err := dec.decode(r.Output)
		if err != nil {
			return err
		}
		env.Nodes[r.NodeID] = map[string]any{"output": out, "status": string(r.Status)}
		return nil
	}
	if dynamic {
		for _, r := range last {
			if err := add(r); err != nil {
				return err
			}
		}
		return nil
	}
	for _, id := range ids {
		if r := last[id]; r != nil {
			if err := add(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func finished(st workflow.NodeRunStatus) bool {
	return st == workflow.NodeRunSucceeded || st == workflow.NodeRunFailed || st == workflow.NodeRunSkipped
}

// nodeInput returns the JSON the node had as input in the execution: its own last attempt's input
// when it ran, else the output of the first incoming edge whose source emitted on that edge's port
// (the engine's rule), else the execution's input for a node without incoming edges.
func nodeInput(exec *store.Execution, def *workflow.Definition, last map[string]*store.NodeRun, nodeID string) (json.RawMessage, error) {
	if nodeID == "" {
		return nil, nil
	}
	if r := last[nodeID]; r != nil {
		if r.InputFrom != "" {
			if src := last[r.InputFrom]; src != nil {
				return src.Output, nil
			}
			return nil, nil
		}
		return r.Input, nil
	}
	incoming := false
	for _, e := range def.Edges {
		if e.Target != nodeID {
			continue
		}
		incoming = true
		if src := last[e.Source]; src != nil && finished(src.Status) && src.Status != workflow.NodeRunSkipped && src.Port == e.From() {
			return src.Output, nil
		}
	}
	if !incoming {
		return exec.Input, nil
	}
	return nil, nil
}

// boundedDecoder decodes stored JSON values up to a total size.
type boundedDecoder struct{ left int }

func (d *boundedDecoder) decode(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if len(raw) > d.left {
		return nil, &InputError{Pointer: "/executionId", Message: fmt.Sprintf(
			"the data this expression reads from the execution is over %s, more than a preview decodes; pass the values it needs in context",
			budget.Bytes(MaxPreviewDataBytes))}
	}
	d.left -= len(raw)
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("decode stored value: %w", err)
	}
	return v, nil
}
