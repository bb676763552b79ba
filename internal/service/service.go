// Package service holds ConcertMaster's use cases — save and validate workflows, switch their
// triggers on, start, wait for, cancel and retry executions, answer webhooks — on top of the store, the
// registry, the engine and a dispatcher. The HTTP API and the CLI are thin layers over it.
package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/concertmaster/concertmaster/internal/cache"
	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/core"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

// Dispatcher enqueues executions and cancels running ones.
type Dispatcher interface {
	// Enqueue runs inside the transaction that creates or requeues the execution.
	Enqueue(ctx context.Context, tx store.Tx, exec *store.Execution) error
	// Cancel signals a run in this process; it reports whether the execution runs here.
	Cancel(ref store.ExecutionRef) bool
}

// Config configures a Service. Every field but Logger, Limits, Now and SchedulesChangedFunc is required.
type Config struct {
	Store      store.Store
	Registry   *node.Registry
	Engine     *engine.Engine
	Dispatcher Dispatcher
	Bus        event.Bus
	Logger     *slog.Logger
	Limits     expression.Limits
	Now        func() time.Time
	// PublicURL is the URL users reach the server at (CM_PUBLIC_URL), for resume URLs.
	PublicURL string
	// ResumeKey signs resume URLs; without it resume URLs never match.
	ResumeKey []byte
	// Credentials is the credential vault (optional: without it nodes that name a credential fail and
	// the credential routes answer 503).
	Credentials *Credentials
	// SchedulesChangedFunc, when set, is called after a write that may have changed the schedules
	// committed (a workflow activated, deactivated, updated while active or deleted), so that the
	// scheduler looks again at once. It must not block.
	SchedulesChangedFunc func()
	// WaitPollInterval is how often a waiter (WaitExecution, a webhook answering on completion)
	// re-reads the store when no event woke it (default WaitPollIntervalDefault): the safety net for
	// missed events, and the only way to learn of runs in other processes without Redis.
	WaitPollInterval time.Duration
	// RemoteCancelFunc, when set, is called when a cancel request concerns a running execution that
	// does not run in this process, so that the process running it hears at once (through Redis);
	// the store's cancel request, which the runner's heartbeat reads, stays the source of truth. It
	// must not block.
	RemoteCancelFunc func(ref store.ExecutionRef)
	// Caches is the process's group of hot-read caches and their link to the other processes (ADR
	// 0024); the service keeps the active webhook routes in it. Nil means a group of its own with
	// no link: right for a single process, whose own writes are the only ones.
	Caches *cache.Group
}

// WaitPollIntervalDefault is Config.WaitPollInterval's default.
const WaitPollIntervalDefault = 2 * time.Second

// Service implements the use cases.
type Service struct {
	cfg    Config
	store  store.Store
	logger *slog.Logger
	now    func() time.Time
	// routes caches the active webhook routes by method and path (webhookKey), with the trigger's
	// configuration, tagged with their tenant and workflow.
	routes *cache.Cache[*WebhookTarget]
}

// Bounds of the webhook route cache: entries (one per active webhook path in use) and how long one
// is served at most when an invalidation from another process is lost.
const (
	WebhookCacheEntries = 10_000
	WebhookCacheTTL     = 5 * time.Second
)

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WaitPollInterval <= 0 {
		cfg.WaitPollInterval = WaitPollIntervalDefault
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Caches == nil {
		cfg.Caches = cache.NewGroup(nil)
	}
	s := &Service{cfg: cfg, store: cfg.Store, logger: logger.With("component", "service"), now: cfg.Now,
		routes: cache.New[*WebhookTarget](cfg.Caches, cache.Config{Scope: cache.ScopeWebhooks, MaxEntries: WebhookCacheEntries, TTL: WebhookCacheTTL})}
	if cfg.Engine != nil {
		cfg.Engine.SetHost(s)
	}
	return s
}

// Registry returns the node registry.
func (s *Service) Registry() *node.Registry { return s.cfg.Registry }

// Credentials returns the credential vault, or nil.
func (s *Service) Credentials() *Credentials { return s.cfg.Credentials }

// Store returns the store.
func (s *Service) Store() store.Store { return s.store }

// NewID returns a new time-ordered identifier.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// InputError is a request that names something wrong outside the workflow body, such as a trigger
// node that does not exist. Pointer locates the bad field in the request.
type InputError struct {
	Pointer string
	Message string
}

func (e *InputError) Error() string { return e.Message }

// Validate checks def and compiles it.
func (s *Service) Validate(def *workflow.Definition) (*validate.Graph, error) {
	return validate.Compile(def, s.cfg.Registry, validate.Options{Limits: s.cfg.Limits})
}

// CreateWorkflow validates and saves a new workflow.
func (s *Service) CreateWorkflow(ctx context.Context, tenantID string, def *workflow.Definition) (*store.Workflow, error) {
	g, err := s.Validate(def)
	if err != nil {
		return nil, err
	}
	if err := s.checkReferences(ctx, tenantID, def); err != nil {
		return nil, err
	}
	id := NewID()
	changes, truncated := DefinitionDiff(nil, def)
	ctx = identity.Audit(ctx, tenantID, "workflow.created", "workflow", id, map[string]any{"name": def.Name, "changes": changes, "truncated": truncated})
	w, err := s.store.CreateWorkflow(ctx, tenantID, id, def)
	if err != nil {
		return nil, err
	}
	s.cfg.Engine.Remember(tenantID, w.ID, w.Version, g)
	return w, nil
}

// UpdateWorkflow validates def and saves it as the next version, if expectedVersion is current.
func (s *Service) UpdateWorkflow(ctx context.Context, tenantID, id string, expectedVersion int, def *workflow.Definition) (*store.Workflow, error) {
	g, err := s.Validate(def)
	if err != nil {
		return nil, err
	}
	cur, err := s.store.GetWorkflow(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if err := s.checkReferences(ctx, tenantID, def); err != nil {
		return nil, err
	}
	if verrs := missingPaths(g); len(verrs) > 0 && cur.Active {
		// A draft may leave a webhook's path empty; an active workflow's webhooks must be reachable.
		return nil, verrs
	}
	changes, truncated := DefinitionDiff(&cur.Definition, def)
	ctx = identity.Audit(ctx, tenantID, "workflow.updated", "workflow", id, map[string]any{"fromVersion": cur.Version, "toVersion": expectedVersion + 1,
		"changes": changes, "truncated": truncated})
	schedules, err := Schedules(g, s.now())
	if err != nil {
		return nil, err
	}
	w, err := s.store.UpdateWorkflow(ctx, tenantID, id, expectedVersion, def, Routes(g), schedules)
	if err != nil || w.Active {
		// An active workflow's routes now point to the new version (or may, after an error).
		s.routesChanged(tenantID, id)
	}
	if err != nil {
		return nil, err
	}
	s.cfg.Engine.Remember(tenantID, w.ID, w.Version, g)
	if w.Active {
		s.schedulesChanged()
	}
	return w, nil
}

// SetActive switches a workflow's webhook and schedule triggers on or off. Switching on computes each
// schedule's next fire time from now; switching an active workflow on again keeps them.
func (s *Service) SetActive(ctx context.Context, tenantID, id string, active bool) (*store.Workflow, error) {
	var routes []store.WebhookRoute
	var schedules []store.Schedule
	if active {
		w, err := s.store.GetWorkflow(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		g, err := s.Validate(&w.Definition)
		if err != nil {
			return nil, err
		}
		if verrs := missingPaths(g); len(verrs) > 0 {
			return nil, verrs
		}
		routes = Routes(g)
		if schedules, err = Schedules(g, s.now()); err != nil {
			return nil, err
		}
	}
	action := "workflow.deactivated"
	if active {
		action = "workflow.activated"
	}
	ctx = identity.Audit(ctx, tenantID, action, "workflow", id, nil)
	w, err := s.store.SetWorkflowActive(ctx, tenantID, id, active, routes, schedules)
	s.routesChanged(tenantID, id)
	if err != nil {
		return nil, err
	}
	s.schedulesChanged()
	return w, nil
}

// DeleteWorkflow removes a workflow from lists and switches its triggers off; its versions and
// executions stay readable.
func (s *Service) DeleteWorkflow(ctx context.Context, tenantID, id string) error {
	ctx = identity.Audit(ctx, tenantID, "workflow.deleted", "workflow", id, nil)
	err := s.store.DeleteWorkflow(ctx, tenantID, id)
	s.routesChanged(tenantID, id)
	if err != nil {
		return err
	}
	s.schedulesChanged()
	return nil
}

// routesChanged drops the cached webhook routes of a workflow, here and in the other processes. It is
// called after every write that may have changed them, whether it returned an error or not: the
// cost of one too many is a store read per route.
func (s *Service) routesChanged(tenantID, workflowID string) {
	s.cfg.Caches.Changed(cache.Invalidation{Scope: cache.ScopeWebhooks, TenantID: tenantID, Key: workflowID})
}

// WebhookCacheStats returns the counters of the webhook route cache.
func (s *Service) WebhookCacheStats() cache.Stats { return s.routes.Stats() }

// schedulesChanged tells the scheduler, if any, to look at the schedules again.
func (s *Service) schedulesChanged() {
	if s.cfg.SchedulesChangedFunc != nil {
		s.cfg.SchedulesChangedFunc()
	}
}

// Routes returns the webhook routes of a compiled workflow; a webhook trigger without a path (a
// draft's) has none.
func Routes(g *validate.Graph) []store.WebhookRoute {
	var out []store.WebhookRoute
	for _, n := range g.Triggers {
		if n.Spec.Type != "trigger.webhook" {
			continue
		}
		var wh core.Webhook
		if err := node.Decode(n.Spec.Config, &wh); err != nil || NormalizePath(wh.Path) == "" {
			continue
		}
		out = append(out, store.WebhookRoute{Method: wh.HTTPMethod(), Path: NormalizePath(wh.Path), NodeID: n.Spec.ID, Respond: wh.RespondMode()})
	}
	return out
}

// NormalizePath trims the slashes around a webhook path.
func NormalizePath(p string) string { return strings.Trim(p, "/") }

// StartParams describes a run request.
type StartParams struct {
	WorkflowID string
	// Version pins a version; zero means the current one.
	Version int
	Input   json.RawMessage
	// TriggerNode names the trigger to start from; empty picks the first manual trigger, else the
	// first trigger, else none (the nodes without inputs start).
	TriggerNode    string
	Kind           store.TriggerKind
	IdempotencyKey string
	// RequestHash, when set with IdempotencyKey, identifies the request instead of its parameters and
	// input: a dedupe key makes two different messages one request.
	RequestHash string
	// ID is the new execution's id; empty means a new one.
	ID string
}

// StartExecution creates and enqueues an execution. created is false when an idempotency key
// matched an earlier request.
func (s *Service) StartExecution(ctx context.Context, tenantID string, p StartParams) (*store.Execution, bool, error) {
	return s.startExecution(ctx, tenantID, p, nil)
}

// startExecution is StartExecution with inTx, when set, run in the transaction that creates the
// execution, before it is enqueued: the execution is created only if inTx succeeds.
func (s *Service) startExecution(ctx context.Context, tenantID string, p StartParams, inTx store.TxHookFunc) (*store.Execution, bool, error) {
	version := p.Version
	if version == 0 {
		w, err := s.store.GetWorkflow(ctx, tenantID, p.WorkflowID)
		if err != nil {
			return nil, false, err
		}
		version = w.Version
	}
	g, err := s.cfg.Engine.Plan(ctx, tenantID, p.WorkflowID, version)
	if err != nil {
		return nil, false, err
	}
	trigger, err := pickTrigger(g, p.TriggerNode)
	if err != nil {
		return nil, false, err
	}
	input := p.Input
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	kind := p.Kind
	if kind == "" {
		kind = store.TriggerManual
	}
	hash := p.RequestHash
	if p.IdempotencyKey != "" && hash == "" {
		if hash, err = runRequestHash(p, input); err != nil {
			return nil, false, err
		}
	}
	id := p.ID
	if id == "" {
		id = NewID()
	}
	queued := store.Event{Type: engine.EventExecutionQueued, Time: s.now().UTC(),
		Data: mustJSON(map[string]any{"trigger": kind, "triggerNode": trigger, "workflowVersion": version})}
	if kind == store.TriggerManual {
		// Webhook and schedule runs are recorded by the execution itself (its trigger), not audited:
		// they would double the writes of the hottest path.
		ctx = identity.Audit(ctx, tenantID, "execution.started", "execution", id, map[string]any{"workflowId": p.WorkflowID, "version": version})
	}
	enqueue := s.enqueueHook(tenantID, queued)
	if inTx != nil {
		enqueue = func(ctx context.Context, tx store.Tx, exec *store.Execution) error {
			if err := inTx(ctx, tx, exec); err != nil {
				return err
			}
			return s.enqueueHook(tenantID, queued)(ctx, tx, exec)
		}
	}
	exec, created, err := s.store.CreateExecution(ctx, tenantID, store.CreateExecutionParams{
		ID: id, WorkflowID: p.WorkflowID, WorkflowVersion: version,
		TriggerKind: kind, TriggerNode: trigger, Input: input,
		IdempotencyKey: p.IdempotencyKey, RequestHash: hash,
		Events:  []store.Event{queued},
		Enqueue: s.withTraceParent(ctx, tenantID, enqueue),
	})
	if err != nil {
		return nil, false, err
	}
	return exec, created, nil
}

// runRequestHash identifies a run request for its idempotency key: the version and trigger node as
// the client named them (zero and empty mean "the current one" and "the default one") and the input,
// whatever its spacing and key order. Reusing a key for another request is then a conflict.
func runRequestHash(p StartParams, input json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", &InputError{Pointer: "/input", Message: "input is not valid JSON: " + err.Error()}
	}
	canonical, err := json.Marshal(map[string]any{"kind": p.Kind, "version": p.Version, "triggerNode": p.TriggerNode, "input": v})
	if err != nil {
		return "", fmt.Errorf("hash run request: %w", err)
	}
	return hashOf(canonical), nil
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// enqueueHook enqueues a new execution in the transaction that creates it and, once that commits,
// publishes its first event, queued, as the store wrote it (sequence number 1).
func (s *Service) enqueueHook(tenantID string, queued store.Event) store.TxHookFunc {
	return func(ctx context.Context, tx store.Tx, exec *store.Execution) error {
		if err := s.cfg.Dispatcher.Enqueue(ctx, tx, exec); err != nil {
			return err
		}
		if s.cfg.Bus != nil {
			queued.ExecutionID, queued.Seq = exec.ID, 1
			m := &event.Message{TenantID: tenantID, WorkflowID: exec.WorkflowID, Event: queued}
			tx.OnCommit(func() { s.cfg.Bus.Publish(m) })
		}
		return nil
	}
}

// publish reads the events of an execution after afterSeq from the log and publishes them: the
// events a service write committed, exactly as stored. The engine publishes its own from memory.
func (s *Service) publish(ctx context.Context, tenantID, workflowID, executionID string, afterSeq int64) {
	evs, err := s.store.ListEvents(context.WithoutCancel(ctx), tenantID, executionID, afterSeq, 100)
	if err != nil {
		s.logger.Warn("read committed events to publish them", "execution", executionID, "error", err)
		return
	}
	for _, ev := range evs {
		s.cfg.Bus.Publish(&event.Message{TenantID: tenantID, WorkflowID: workflowID, Event: ev})
	}
}

func pickTrigger(g *validate.Graph, name string) (string, error) {
	if name != "" {
		n := g.Node(name)
		if n == nil || !n.IsTrigger() {
			return "", &InputError{Pointer: "/triggerNode", Message: fmt.Sprintf("triggerNode %q is not a trigger of this workflow", name)}
		}
		return name, nil
	}
	for _, n := range g.Triggers {
		if n.Spec.Type == "trigger.manual" {
			return n.Spec.ID, nil
		}
	}
	if len(g.Triggers) > 0 {
		return g.Triggers[0].Spec.ID, nil
	}
	return "", nil
}

// StartAndWait starts an execution and waits up to timeout for it to finish. It subscribes to the
// execution's events before creating it, so that even a run that finishes at once costs a single read.
func (s *Service) StartAndWait(ctx context.Context, tenantID string, p StartParams, timeout time.Duration) (*store.Execution, bool, error) {
	if s.cfg.Bus == nil || timeout <= 0 {
		exec, _, err := s.StartExecution(ctx, tenantID, p)
		if err != nil {
			return nil, false, err
		}
		return s.WaitExecution(ctx, tenantID, exec.ID, timeout)
	}
	p.ID = NewID()
	sub := s.cfg.Bus.Subscribe(event.Filter{TenantID: tenantID, ExecutionID: p.ID}, 64)
	defer sub.Close()
	exec, created, err := s.StartExecution(ctx, tenantID, p)
	if err != nil {
		return nil, false, err
	}
	if !created || exec.ID != p.ID {
		// An idempotent replay of an earlier run: wait for that one.
		return s.WaitExecution(ctx, tenantID, exec.ID, timeout)
	}
	return s.awaitFinished(ctx, tenantID, exec.ID, sub, timeout)
}

// WaitExecution returns the execution once it has finished, or its current state when timeout
// passes first; finished tells which.
func (s *Service) WaitExecution(ctx context.Context, tenantID, id string, timeout time.Duration) (*store.Execution, bool, error) {
	if s.cfg.Bus == nil || timeout <= 0 {
		e, err := s.store.GetExecution(ctx, tenantID, id)
		return e, err == nil && e.Status.Terminal(), err
	}
	sub := s.cfg.Bus.Subscribe(event.Filter{TenantID: tenantID, ExecutionID: id}, 64)
	defer sub.Close()
	e, err := s.store.GetExecution(ctx, tenantID, id)
	if err != nil || e.Status.Terminal() {
		return e, err == nil, err
	}
	return s.awaitFinished(ctx, tenantID, id, sub, timeout)
}

// awaitFinished waits on sub for the execution's finished event, then reads the execution.
func (s *Service) awaitFinished(ctx context.Context, tenantID, id string, sub *event.Subscription, timeout time.Duration) (*store.Execution, bool, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	// A safety net: re-read now and then, in case events were missed.
	tick := time.NewTicker(s.cfg.WaitPollInterval)
	defer tick.Stop()
	lagged := sub.Lagged
	for {
		select {
		case m, ok := <-sub.C:
			if ok && m.Event.Type != engine.EventExecutionFinished {
				continue
			}
		case <-lagged:
			lagged = nil // the subscription is over: the ticker's re-reads take over
		case <-tick.C:
		case <-timer.C:
			e, err := s.store.GetExecution(ctx, tenantID, id)
			return e, err == nil && e.Status.Terminal(), err
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		e, err := s.store.GetExecution(ctx, tenantID, id)
		if err != nil || e.Status.Terminal() {
			return e, err == nil, err
		}
	}
}

// CancelExecution cancels a queued or waiting execution at once, and asks a running one to stop.
// Every node of a queued or waiting execution that has not finished is canceled with a node.canceled
// event, as the engine does for a running one. Repeating a cancel with the idempotencyKey of the first
// answers with the execution, also once it has finished.
func (s *Service) CancelExecution(ctx context.Context, tenantID, id, idempotencyKey string) (*store.Execution, error) {
	cur, err := s.store.GetExecution(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	p := store.CancelParams{IdempotencyKey: idempotencyKey}
	if !cur.Status.Terminal() {
		v, err := s.store.GetWorkflowVersion(ctx, tenantID, cur.WorkflowID, cur.WorkflowVersion)
		if err != nil {
			return nil, fmt.Errorf("cancel execution %s: %w", id, err)
		}
		p.NodeIDs = make([]string, len(v.Definition.Nodes))
		for i, n := range v.Definition.Nodes {
			p.NodeIDs[i] = n.ID
		}
	}
	ctx = identity.Audit(ctx, tenantID, "execution.canceled", "execution", id, map[string]any{"workflowId": cur.WorkflowID})
	e, err := s.store.RequestCancel(ctx, tenantID, id, p)
	if err != nil {
		return nil, err
	}
	if e.Status.Terminal() && cur.Status.Terminal() {
		return e, nil // a repeated cancel: nothing changed
	}
	if e.Status == workflow.ExecutionCanceled {
		if s.cfg.Bus != nil {
			s.publish(ctx, tenantID, e.WorkflowID, id, cur.LastSeq)
		}
		if e.ParentExecutionID != "" {
			s.wakeDispatcher()
		}
		s.cancelChildren(context.WithoutCancel(ctx), tenantID, id)
		return e, nil
	}
	ref := store.ExecutionRef{TenantID: tenantID, ID: id}
	if !s.cfg.Dispatcher.Cancel(ref) && s.cfg.RemoteCancelFunc != nil {
		s.cfg.RemoteCancelFunc(ref)
	}
	s.cancelChildren(context.WithoutCancel(ctx), tenantID, id)
	return e, nil
}

// ErrNotRetryable is returned when retrying an execution that has not failed or been canceled.
var ErrNotRetryable = fmt.Errorf("only failed or canceled executions can be retried: %w", store.ErrConflict)

// RetryExecution starts a new execution of the same version, input and trigger that reuses the
// succeeded node runs of the original and re-runs the rest. An execution is retried at most once
// (a second retry is a *store.RetriedError naming the first: retry that one instead), so that
// repeated or concurrent requests never run its nodes twice; repeating a retry with the
// idempotencyKey of the first answers with the same retry.
func (s *Service) RetryExecution(ctx context.Context, tenantID, id, idempotencyKey string) (*store.Execution, error) {
	orig, err := s.store.GetExecution(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if orig.Status != workflow.ExecutionFailed && orig.Status != workflow.ExecutionCanceled {
		return nil, fmt.Errorf("execution %s is %s: %w", id, orig.Status, ErrNotRetryable)
	}
	runs, err := s.store.ListNodeRuns(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	latest := map[string]store.NodeRun{}
	for _, r := range runs {
		if prev, ok := latest[r.NodeID]; !ok || r.Attempt > prev.Attempt {
			latest[r.NodeID] = r
		}
	}
	var seed []store.NodeRun
	reused := 0
	for _, r := range latest {
		if r.Status == workflow.NodeRunSucceeded {
			r.Logs = nil
			seed = append(seed, r)
			reused++
		}
	}
	queued := store.Event{Type: engine.EventExecutionQueued, Time: s.now().UTC(),
		Data: mustJSON(map[string]any{"trigger": store.TriggerRetry, "triggerNode": orig.TriggerNode, "workflowVersion": orig.WorkflowVersion,
			"retryOf": orig.ID, "reusedNodes": reused})}
	retryID := NewID()
	ctx = identity.Audit(ctx, tenantID, "execution.retried", "execution", orig.ID, map[string]any{"workflowId": orig.WorkflowID, "retry": retryID})
	exec, _, err := s.store.CreateExecution(ctx, tenantID, store.CreateExecutionParams{
		ID: retryID, WorkflowID: orig.WorkflowID, WorkflowVersion: orig.WorkflowVersion,
		TriggerKind: store.TriggerRetry, TriggerNode: orig.TriggerNode, Input: orig.Input, RetryOf: orig.ID,
		IdempotencyKey: idempotencyKey, RequestHash: retryRequestHash(idempotencyKey, orig.ID),
		Seed:    seed,
		Events:  []store.Event{queued},
		Enqueue: s.withTraceParent(ctx, tenantID, s.enqueueHook(tenantID, queued)),
	})
	return exec, err
}

func retryRequestHash(idempotencyKey, id string) string {
	if idempotencyKey == "" {
		return ""
	}
	return hashOf([]byte("retry\x00" + id))
}

// HandleWebhook starts the workflow whose active webhook trigger matches the request, once the
// request passes the trigger's authentication (OpenWebhook, then StartWebhook). When the trigger
// responds on completion it waits up to wait for the run to finish; finished tells whether it did.
// respond is the trigger's respond mode.
func (s *Service) HandleWebhook(ctx context.Context, req WebhookRequest, wait time.Duration) (exec *store.Execution, respond string, finished bool, err error) {
	target, err := s.OpenWebhook(ctx, req.Method, req.Path, req.Header, req.RawBody)
	if err != nil {
		return nil, "", false, err
	}
	return s.StartWebhook(ctx, target, req, wait)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("service: marshal: %v", err))
	}
	return b
}
