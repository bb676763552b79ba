package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/core"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

// Sub-workflow limits.
const (
	// MaxCallDepth bounds a chain of flow.call children: a run at this depth cannot call further.
	MaxCallDepth = 8
	// MaxChildrenPerNode bounds the children one node run may start (forEach over flow.call).
	MaxChildrenPerNode = 100_000
)

// Waker is implemented by dispatchers that can be told an execution became due at once.
type Waker interface{ Wake() }

func (s *Service) wakeDispatcher() {
	if w, ok := s.cfg.Dispatcher.(Waker); ok {
		w.Wake()
	}
}

// NodeHost implements engine.HostProvider.
func (s *Service) NodeHost(exec *store.Execution, nodeID string, attempt int) node.Host {
	return &nodeHost{s: s, exec: exec, nodeID: nodeID}
}

// ResumeURL implements engine.HostProvider: the public URL that resumes an execution's webhook-mode
// waits. Its token is an HMAC of the tenant and execution under the server's secret key.
func (s *Service) ResumeURL(exec *store.Execution) string {
	return strings.TrimSuffix(s.cfg.PublicURL, "/") + "/resume/" + exec.TenantID + "/" + exec.ID + "/" + s.resumeToken(exec.TenantID, exec.ID)
}

func (s *Service) resumeToken(tenantID, executionID string) string {
	mac := hmac.New(sha256.New, s.cfg.ResumeKey)
	mac.Write([]byte("resume\x00" + tenantID + "\x00" + executionID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// nodeHost is the node.Host of one attempt.
type nodeHost struct {
	s      *Service
	exec   *store.Execution
	nodeID string

	mu       sync.Mutex
	children map[string]*node.Child
	loaded   bool
}

func (h *nodeHost) Signal(ctx context.Context) (json.RawMessage, error) {
	p, err := h.s.store.GetSignal(ctx, h.exec.TenantID, h.exec.ID, h.nodeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return p, err
}

func (h *nodeHost) ResumeURL() string { return h.s.ResumeURL(h.exec) }

// Child looks a child up by key; the node's children are read once per attempt (every forEach
// element asks).
func (h *nodeHost) Child(ctx context.Context, key string) (*node.Child, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.loaded {
		list, err := h.s.store.ListChildren(ctx, h.exec.TenantID, h.exec.ID, h.nodeID, MaxChildrenPerNode)
		if err != nil {
			return nil, err
		}
		h.children = make(map[string]*node.Child, len(list))
		for i := range list {
			h.children[list[i].CallKey] = toChild(&list[i])
		}
		h.loaded = true
	}
	return h.children[key], nil
}

func toChild(e *store.Execution) *node.Child {
	c := &node.Child{ID: e.ID, WorkflowID: e.WorkflowID, Status: string(e.Status), Output: e.Output, CreatedAt: e.CreatedAt, FinishedAt: e.FinishedAt}
	if e.Error != nil {
		c.Error, c.ErrorCode = e.Error.Message, e.Error.Code
	}
	return c
}

func (h *nodeHost) StartChild(ctx context.Context, req node.ChildRequest) (*node.Child, error) {
	h.mu.Lock()
	n := len(h.children)
	h.mu.Unlock()
	if n >= MaxChildrenPerNode {
		return nil, callError("too_many_children", "node %s has started %d children in this run, the limit", h.nodeID, MaxChildrenPerNode)
	}
	child, err := h.s.startChild(ctx, h.exec, h.nodeID, req)
	if err != nil {
		return nil, err
	}
	c := toChild(child)
	h.mu.Lock()
	if h.children == nil {
		h.children = map[string]*node.Child{}
	}
	h.children[req.Key] = c
	h.mu.Unlock()
	return c, nil
}

// callError is a child that cannot start; it wraps core.ErrCall so that the node does not retry it.
func callError(code, format string, args ...any) error {
	return fmt.Errorf("%w: %w", core.ErrCall, &node.Error{Code: code, Message: fmt.Sprintf(format, args...)})
}

// startChild starts (idempotently per parent, node and key) a child execution of req.WorkflowID.
func (s *Service) startChild(ctx context.Context, parent *store.Execution, nodeID string, req node.ChildRequest) (*store.Execution, error) {
	path := append(slices.Clone(parent.CallPath), parent.WorkflowID)
	if slices.Contains(path, req.WorkflowID) {
		return nil, callError("call_cycle", "workflow %s is already running as an ancestor of this execution (%s → %s): calls cannot recurse",
			req.WorkflowID, strings.Join(path, " → "), req.WorkflowID)
	}
	if len(path) > MaxCallDepth {
		return nil, callError("call_depth", "calls are nested %d deep, the limit is %d", len(path), MaxCallDepth)
	}
	version := req.Version
	if version == 0 {
		w, err := s.store.GetWorkflow(ctx, parent.TenantID, req.WorkflowID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, callError("workflow_not_found", "workflow %s does not exist in this workspace", req.WorkflowID)
		}
		if err != nil {
			return nil, err
		}
		version = w.Version
	}
	g, err := s.cfg.Engine.Plan(ctx, parent.TenantID, req.WorkflowID, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, callError("workflow_not_found", "workflow %s has no version %d", req.WorkflowID, version)
	}
	if err != nil {
		return nil, err
	}
	trigger := triggerOfType(g, "trigger.manual")
	if trigger == "" {
		return nil, callError("no_manual_trigger", "workflow %s version %d has no trigger.manual node to start at", req.WorkflowID, version)
	}
	input, err := json.Marshal(req.Input)
	if err != nil {
		return nil, node.Permanent(fmt.Errorf("encode child input: %w", err))
	}
	exec, err := s.startKeyed(ctx, parent.TenantID, "call:"+parent.ID+":"+nodeID+":"+req.Key, store.CreateExecutionParams{
		WorkflowID: req.WorkflowID, WorkflowVersion: version, TriggerKind: store.TriggerCall, TriggerNode: trigger, Input: input,
		ParentExecutionID: parent.ID, ParentNodeID: nodeID, CallKey: req.Key, CallPath: path,
	}, map[string]any{"parentExecutionId": parent.ID, "parentNodeId": nodeID})
	if err != nil {
		return nil, fmt.Errorf("start child of %s: %w", req.WorkflowID, err)
	}
	return exec, nil
}

// ExecutionFinished implements engine.HostProvider: it wakes nothing (the store woke the parent in the
// finishing transaction) but pokes the dispatcher so that a parent resumes at once, cancels the
// children of a run that did not succeed, and starts the error workflow of a failed run.
func (s *Service) ExecutionFinished(ctx context.Context, exec *store.Execution, status workflow.ExecutionStatus, failure *store.ExecutionError) {
	ctx = context.WithoutCancel(ctx)
	if exec.ParentExecutionID != "" {
		s.wakeDispatcher()
	}
	if status == workflow.ExecutionSucceeded {
		return
	}
	s.cancelChildren(ctx, exec.TenantID, exec.ID)
	// An error workflow's own failure starts no other (no loops), and a test run from the editor is
	// not a production failure to alert on.
	if status == workflow.ExecutionFailed && exec.TriggerKind != store.TriggerError && exec.TriggerKind != store.TriggerTest {
		if err := s.startErrorWorkflow(ctx, exec, failure); err != nil {
			s.logger.Warn("Starting the error workflow failed", "execution_id", exec.ID, "workflow_id", exec.WorkflowID, "error", err.Error())
		}
	}
}

// cancelChildren cancels the unfinished children of an execution, and theirs.
func (s *Service) cancelChildren(ctx context.Context, tenantID, id string) {
	cursor := ""
	for {
		page, err := s.store.ListExecutions(ctx, tenantID, store.ListExecutionsParams{ParentExecutionID: id, Limit: 500, Cursor: cursor})
		if err != nil {
			s.logger.Warn("Listing children to cancel failed", "execution_id", id, "error", err.Error())
			return
		}
		for _, c := range page.Items {
			if c.Status.Terminal() {
				continue
			}
			if _, err := s.CancelExecution(ctx, tenantID, c.ID, ""); err != nil && !errors.Is(err, store.ErrConflict) {
				s.logger.Warn("Canceling a child failed", "execution_id", c.ID, "parent_id", id, "error", err.Error())
			}
		}
		if page.NextCursor == "" {
			return
		}
		cursor = page.NextCursor
	}
}

// startErrorWorkflow starts the error workflow a failed run's settings name, at most once per run.
func (s *Service) startErrorWorkflow(ctx context.Context, exec *store.Execution, failure *store.ExecutionError) error {
	v, err := s.store.GetWorkflowVersion(ctx, exec.TenantID, exec.WorkflowID, exec.WorkflowVersion)
	if err != nil {
		return err
	}
	target := v.Definition.Settings.ErrorWorkflow
	if target == "" {
		return nil
	}
	w, err := s.store.GetWorkflow(ctx, exec.TenantID, target)
	if err != nil {
		return fmt.Errorf("error workflow %s: %w", target, err)
	}
	g, err := s.cfg.Engine.Plan(ctx, exec.TenantID, target, w.Version)
	if err != nil {
		return err
	}
	trigger := triggerOfType(g, "trigger.error")
	if trigger == "" {
		return fmt.Errorf("error workflow %s has no trigger.error node", target)
	}
	var nodeInfo any
	errInfo := map[string]any{"message": "the execution failed"}
	if failure != nil {
		errInfo = map[string]any{"message": failure.Message, "code": failure.Code}
		if failure.NodeID != "" {
			typ := ""
			for _, n := range v.Definition.Nodes {
				if n.ID == failure.NodeID {
					typ = n.Type
				}
			}
			nodeInfo = map[string]any{"id": failure.NodeID, "type": typ}
		}
	}
	execInfo := map[string]any{"id": exec.ID, "workflowId": exec.WorkflowID, "workflowName": v.Definition.Name,
		"workflowVersion": exec.WorkflowVersion, "trigger": exec.TriggerKind, "retryOf": exec.RetryOf}
	if exec.StartedAt != nil {
		execInfo["startedAt"] = exec.StartedAt.UTC().Format(time.RFC3339Nano)
	}
	execInfo["finishedAt"] = s.now().UTC().Format(time.RFC3339Nano)
	input := mustJSON(map[string]any{"execution": execInfo, "node": nodeInfo, "error": errInfo})
	_, err = s.startKeyed(ctx, exec.TenantID, "error:"+exec.ID, store.CreateExecutionParams{
		WorkflowID: target, WorkflowVersion: w.Version, TriggerKind: store.TriggerError, TriggerNode: trigger, Input: input,
	}, map[string]any{"failedExecutionId": exec.ID})
	return err
}

// triggerOfType returns the id of g's first trigger of type typ, or "".
func triggerOfType(g *validate.Graph, typ string) string {
	for _, n := range g.Triggers {
		if n.Spec.Type == typ {
			return n.Spec.ID
		}
	}
	return ""
}

// startKeyed creates and enqueues an execution that the server starts itself (a child, an error
// workflow's run), at most once per key: the key is its idempotency key, so starting it again returns
// the first one. queuedData adds to its execution.queued event.
func (s *Service) startKeyed(ctx context.Context, tenantID, key string, p store.CreateExecutionParams, queuedData map[string]any) (*store.Execution, error) {
	data := map[string]any{"trigger": p.TriggerKind, "triggerNode": p.TriggerNode, "workflowVersion": p.WorkflowVersion}
	maps.Copy(data, queuedData)
	queued := store.Event{Type: engine.EventExecutionQueued, Time: s.now().UTC(), Data: mustJSON(data)}
	p.ID, p.IdempotencyKey, p.RequestHash = NewID(), key, hashOf([]byte(key))
	p.Events, p.Enqueue = []store.Event{queued}, s.withTraceParent(ctx, tenantID, s.enqueueHook(tenantID, queued))
	exec, _, err := s.store.CreateExecution(ctx, tenantID, p)
	return exec, err
}

// ErrNotWaiting is matched (errors.Is) by the errors of a decision or resume request that no node
// waits for; they are store.ErrConflict too.
var ErrNotWaiting = errors.New("not waiting")

// waitError is a decision or resume request refused because nothing waits for it; its message says
// why in full.
type waitError struct{ msg string }

func (e *waitError) Error() string { return e.msg }

func (e *waitError) Is(target error) bool {
	return target == ErrNotWaiting || target == store.ErrConflict
}

func notWaiting(format string, args ...any) error {
	return &waitError{msg: fmt.Sprintf(format, args...)}
}

// Decision is an approver's answer to a flow.wait in approval mode.
type Decision struct {
	Approve bool
	Comment string
}

// Decide approves or rejects a flow.wait node in approval mode. It fails with store.ErrNotFound for an
// unknown execution or node, ErrNotWaiting when the node is not a waiting approval, and
// store.ErrConflict when it was already decided.
func (s *Service) Decide(ctx context.Context, tenantID, executionID, nodeID string, d Decision) (*store.Execution, error) {
	exec, err := s.store.GetExecution(ctx, tenantID, executionID)
	if err != nil {
		return nil, err
	}
	v, err := s.store.GetWorkflowVersion(ctx, tenantID, exec.WorkflowID, exec.WorkflowVersion)
	if err != nil {
		return nil, err
	}
	idx := slices.IndexFunc(v.Definition.Nodes, func(n workflow.Node) bool { return n.ID == nodeID })
	if idx < 0 {
		return nil, fmt.Errorf("node %s is not part of execution %s: %w", nodeID, executionID, store.ErrNotFound)
	}
	spec := v.Definition.Nodes[idx]
	var w core.Wait
	if spec.Type != "flow.wait" || node.Decode(spec.Config, &w) != nil || w.Mode != core.WaitApproval {
		return nil, notWaiting("node %s is not a flow.wait in approval mode: there is nothing to decide", nodeID)
	}
	if err := s.requireWaiting(ctx, tenantID, exec, nodeID); err != nil {
		return nil, err
	}
	decision := "rejected"
	if d.Approve {
		decision = "approved"
	}
	by := map[string]any{}
	if p, ok := identity.FromContext(ctx); ok {
		if p.UserID != "" {
			by["userId"] = p.UserID
			if u, err := s.store.GetUser(ctx, p.UserID); err == nil {
				by["email"] = u.Email
				if u.Name != "" {
					by["name"] = u.Name
				}
			}
		} else {
			by["apiKeyId"] = p.APIKeyID
		}
	}
	payload := mustJSON(map[string]any{"decision": decision, "approved": d.Approve, "comment": d.Comment, "by": by,
		"at": s.now().UTC().Format(time.RFC3339Nano)})
	ctx = identity.Audit(ctx, tenantID, "execution."+decision, "execution", executionID, map[string]any{"nodeId": nodeID, "comment": d.Comment})
	if err := s.store.DeliverSignal(ctx, tenantID, executionID, nodeID, payload); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, notWaiting("node %s of execution %s was already decided, or the execution has finished", nodeID, executionID)
		}
		return nil, err
	}
	s.wakeDispatcher()
	return s.store.GetExecution(ctx, tenantID, executionID)
}

// requireWaiting checks that the latest attempt of the node is waiting.
func (s *Service) requireWaiting(ctx context.Context, tenantID string, exec *store.Execution, nodeID string) error {
	if exec.Status.Terminal() {
		return notWaiting("execution %s has already %s: nothing waits any more", exec.ID, exec.Status)
	}
	runs, err := s.store.ListNodeRuns(ctx, tenantID, exec.ID)
	if err != nil {
		return err
	}
	var latest *store.NodeRun
	for i := range runs {
		if runs[i].NodeID == nodeID && (latest == nil || runs[i].Attempt > latest.Attempt) {
			latest = &runs[i]
		}
	}
	if latest == nil || latest.Status != workflow.NodeRunWaiting {
		return notWaiting("node %s of execution %s is not waiting (it has not been reached yet, or it has already been resumed)", nodeID, exec.ID)
	}
	return nil
}

// ResumeRequest is a request to an execution's resume URL.
type ResumeRequest struct {
	TenantID, ExecutionID, Token string
	Method                       string
	Headers                      map[string]any
	Query                        map[string]any
	Body                         any
}

// ErrBadResumeToken is returned for a resume URL whose token does not match (answered like an
// unknown execution).
var ErrBadResumeToken = fmt.Errorf("unknown resume URL: %w", store.ErrNotFound)

// Resume delivers a request to the webhook-mode flow.wait nodes of an execution that are waiting.
func (s *Service) Resume(ctx context.Context, req ResumeRequest) (*store.Execution, []string, error) {
	want := s.resumeToken(req.TenantID, req.ExecutionID)
	if len(s.cfg.ResumeKey) == 0 || !hmac.Equal([]byte(want), []byte(req.Token)) {
		return nil, nil, ErrBadResumeToken
	}
	exec, err := s.store.GetExecution(ctx, req.TenantID, req.ExecutionID)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.store.GetWorkflowVersion(ctx, req.TenantID, exec.WorkflowID, exec.WorkflowVersion)
	if err != nil {
		return nil, nil, err
	}
	var candidates []string
	for _, n := range v.Definition.Nodes {
		var w core.Wait
		if n.Type == "flow.wait" && node.Decode(n.Config, &w) == nil && w.Mode == core.WaitWebhook {
			candidates = append(candidates, n.ID)
		}
	}
	payload := mustJSON(map[string]any{"method": req.Method, "headers": (&core.Webhook{}).Redact(req.Headers), "query": req.Query,
		"body": req.Body, "receivedAt": s.now().UTC().Format(time.RFC3339Nano)})
	var resumed []string
	for _, id := range candidates {
		if s.requireWaiting(ctx, req.TenantID, exec, id) != nil {
			continue
		}
		err := s.store.DeliverSignal(ctx, req.TenantID, exec.ID, id, payload)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		resumed = append(resumed, id)
	}
	if len(resumed) == 0 {
		return exec, nil, notWaiting("execution %s has no flow.wait waiting for this URL now (not reached yet, already resumed, or finished)", exec.ID)
	}
	s.wakeDispatcher()
	return exec, resumed, nil
}

// ValidateIn checks def as Validate does, plus its references to other workflows of the tenant (see
// checkReferences), as saving it would.
func (s *Service) ValidateIn(ctx context.Context, tenantID string, def *workflow.Definition) error {
	if _, err := s.Validate(def); err != nil {
		return err
	}
	return s.checkReferences(ctx, tenantID, def)
}

// checkReferences refuses literal workflow ids that name no usable workflow of the tenant: a flow.call
// workflowId (the workflow must exist and have a trigger.manual to start at) and settings.errorWorkflow
// (it must exist and have a trigger.error). Ids given as expressions are checked when the node runs.
func (s *Service) checkReferences(ctx context.Context, tenantID string, def *workflow.Definition) error {
	var verrs workflow.ValidationErrors
	check := func(id, trigger string, pointer string) error {
		w, err := s.store.GetWorkflow(ctx, tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			verrs = append(verrs, workflow.ValidationError{Pointer: pointer, Message: fmt.Sprintf("workflow %s does not exist in this workspace", id)})
			return nil
		}
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(w.Definition.Nodes, func(n workflow.Node) bool { return n.Type == trigger }) {
			verrs = append(verrs, workflow.ValidationError{Pointer: pointer,
				Message: fmt.Sprintf("workflow %s (%s) has no %s node to start at", id, w.Name, trigger)})
		}
		return nil
	}
	if id := def.Settings.ErrorWorkflow; id != "" && !strings.Contains(id, "{{") {
		if err := check(id, "trigger.error", "/settings/errorWorkflow"); err != nil {
			return err
		}
	}
	for i, n := range def.Nodes {
		if n.Type != "flow.call" {
			continue
		}
		id, _ := n.Config["workflowId"].(string)
		if id == "" || strings.Contains(id, "{{") {
			continue
		}
		if err := check(id, "trigger.manual", workflow.Pointer("nodes", i, "config", "workflowId")); err != nil {
			return err
		}
	}
	if len(verrs) > 0 {
		return verrs
	}
	return nil
}
