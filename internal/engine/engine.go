// Package engine runs executions: it compiles a workflow version into a graph (cached per version),
// then drives one claimed execution through it — readiness and skip propagation, bounded parallelism,
// retries with backoff and jitter, timeouts, onError routing, fan-out, cancellation — persisting every
// node-run transition before acting on it, so that a crashed or stopped run resumes elsewhere without
// re-running finished nodes. Waits (flow.delay, long retry backoffs) suspend the execution into the
// store instead of holding a goroutine.
//
// The engine does not claim or schedule executions; a dispatcher does, and calls Run.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/telemetry"
	"github.com/concertmaster/concertmaster/internal/workflow"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

// RunStore is what the engine needs from the store.
type RunStore interface {
	GetWorkflowVersion(ctx context.Context, tenantID, id string, version int) (*store.WorkflowVersion, error)
	ListNodeRuns(ctx context.Context, tenantID, executionID string) ([]store.NodeRun, error)
	ApplyExecutionUpdate(ctx context.Context, tenantID string, update *store.ExecutionUpdate) error
}

// Publisher receives every event after it is committed (event.Bus is one).
type Publisher interface {
	Publish(m *event.Message)
}

// Observer is told about finished node runs and executions, for metrics.
type Observer interface {
	NodeRunFinished(nodeType string, status workflow.NodeRunStatus, d time.Duration)
	ExecutionFinished(status workflow.ExecutionStatus, d time.Duration)
}

// Defaults for Config.
const (
	MaxOutputBytesDefault    = 16 << 20
	MaxExecutionBytesDefault = 256 << 20
	SuspendThresholdDefault  = 2 * time.Second
	PlanCacheBytesDefault    = 128 << 20
	MaxLogEntriesDefault     = 200
	CrashLimitDefault        = 3
	DrainTimeoutDefault      = 10 * time.Second
)

// Config configures an Engine. Store and Registry are required; zero values elsewhere mean defaults.
type Config struct {
	Store    RunStore
	Registry *node.Registry
	// Publisher receives committed events (optional).
	Publisher Publisher
	// Observer receives metrics callbacks (optional).
	Observer Observer
	// OnPanic, when set, is told of every node that panicked (the node fails with code panic), from
	// the function that recovered it, so that a stack taken there holds the panicking frames: the
	// runtime sends it to Sentry (CM_SENTRY_DSN).
	OnPanic func(ctx context.Context, nodeType string, value any)
	Logger  *slog.Logger
	// MaxOutputBytes caps the JSON size of one node output (default 16 MiB).
	MaxOutputBytes int64
	// MaxExecutionBytes is the memory budget of one execution, in bytes (default 256 MiB): the outputs
	// it holds for later nodes plus what its running attempts build. A node that would take the
	// execution past it fails with code budget_exceeded.
	MaxExecutionBytes int64
	// CrashLimit is how many times a node's attempt may be found cut short by a crashed process before
	// the node fails with code crashed instead of running again (default 3). Attempts handed back by
	// a graceful shutdown do not count.
	CrashLimit int
	// DrainTimeout is how long a run that is asked to stop (a shutdown) lets its running attempts
	// finish, saving their results, before it cancels them and hands the execution back (default 10s).
	DrainTimeout time.Duration
	// ExpressionLimits bound compiling; ExpressionBudget bounds evaluating.
	ExpressionLimits expression.Limits
	ExpressionBudget expression.Budget
	// SuspendThreshold: when every remaining node waits on a timer due later than this, the execution
	// is suspended into the store (status waiting) instead of holding a goroutine (default 2s).
	SuspendThreshold time.Duration
	// PlanCacheBytes bounds the compiled graphs kept in memory by their estimated size (default 128 MiB).
	PlanCacheBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Credentials decrypts credentials for the nodes that name one; nil runs without a vault (nodes
	// that need one fail with node.ErrNoCredentials).
	Credentials CredentialLoader
	// TracerProvider makes the spans of runs and node attempts (see tracing.go); nil makes none.
	TracerProvider trace.TracerProvider
	// Plugins finds the plugin versions executions started on once the registry has moved on
	// (plugins.go); nil when plugins are not loaded.
	Plugins PluginResolver
}

// Engine runs executions. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	logger *slog.Logger
	plans  *otter.Cache[string, *validate.Graph]
	now    func() time.Time
	host   atomic.Pointer[hostBox]
	// tracer is nil when tracing is off: then no span is started at all.
	tracer trace.Tracer
}

// HostProvider is what the layer above the engine (the service) offers it: a node.Host for each
// attempt, the resume URL of an execution, and a call once an execution has finished.
type HostProvider interface {
	// NodeHost returns the host handed to one attempt of a node.
	NodeHost(exec *store.Execution, nodeID string, attempt int) node.Host
	// ResumeURL returns the URL that resumes the webhook-mode waits of an execution.
	ResumeURL(exec *store.Execution) string
	// ExecutionFinished is called after an execution's final state is committed (error workflows,
	// cancelling children). It must not block for long.
	ExecutionFinished(ctx context.Context, exec *store.Execution, status workflow.ExecutionStatus, failure *store.ExecutionError)
}

type hostBox struct{ h HostProvider }

// SetHost installs the host provider; the service calls it once when it is built.
func (e *Engine) SetHost(h HostProvider) { e.host.Store(&hostBox{h}) }

func (e *Engine) hostProvider() HostProvider {
	if b := e.host.Load(); b != nil {
		return b.h
	}
	return nil
}

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Registry == nil {
		return nil, errors.New("engine: Store and Registry are required")
	}
	if cfg.MaxOutputBytes <= 0 {
		cfg.MaxOutputBytes = MaxOutputBytesDefault
	}
	if cfg.SuspendThreshold <= 0 {
		cfg.SuspendThreshold = SuspendThresholdDefault
	}
	if cfg.MaxExecutionBytes <= 0 {
		cfg.MaxExecutionBytes = MaxExecutionBytesDefault
	}
	if cfg.CrashLimit <= 0 {
		cfg.CrashLimit = CrashLimitDefault
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DrainTimeoutDefault
	}
	if cfg.PlanCacheBytes <= 0 {
		cfg.PlanCacheBytes = PlanCacheBytesDefault
	}
	if cfg.ExpressionBudget.MaxSize <= 0 {
		cfg.ExpressionBudget.MaxSize = cfg.MaxOutputBytes
	}
	if cfg.ExpressionLimits.MaxValueBytes <= 0 {
		cfg.ExpressionLimits.MaxValueBytes = cfg.MaxOutputBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	plans, err := otter.New(&otter.Options[string, *validate.Graph]{
		MaximumWeight: uint64(cfg.PlanCacheBytes), //nolint:gosec // defaulted to a positive size above
		Weigher: func(key string, g *validate.Graph) uint32 {
			return uint32(min(int64(len(key))+g.Weight(), math.MaxUint32)) //nolint:gosec // capped by min; weights are not negative
		},
	})
	if err != nil {
		return nil, fmt.Errorf("engine: plan cache: %w", err)
	}
	return &Engine{cfg: cfg, logger: logger.With("component", "engine"), plans: plans, now: cfg.Now, tracer: telemetry.Tracer(cfg.TracerProvider)}, nil
}

// Plan returns the compiled graph of a workflow version, compiling and caching it on first use.
func (e *Engine) Plan(ctx context.Context, tenantID, workflowID string, version int) (*validate.Graph, error) {
	key := planKey(tenantID, workflowID, version)
	if g, ok := e.plans.GetIfPresent(key); ok && (g.Plugins == nil || g.Generation == e.cfg.Registry.Generation()) {
		return g, nil
	}
	v, err := e.cfg.Store.GetWorkflowVersion(ctx, tenantID, workflowID, version)
	if err != nil {
		return nil, fmt.Errorf("load workflow version: %w", err)
	}
	g, err := validate.Compile(&v.Definition, e.cfg.Registry, validate.Options{Limits: e.cfg.ExpressionLimits})
	if err != nil {
		return nil, fmt.Errorf("compile workflow %s version %d: %w", workflowID, version, err)
	}
	e.plans.Set(key, g)
	return g, nil
}

// Remember caches an already compiled graph, such as the one the API compiled when saving.
func (e *Engine) Remember(tenantID, workflowID string, version int, g *validate.Graph) {
	e.plans.Set(planKey(tenantID, workflowID, version), g)
}

// Outcome is how a Run ended.
type Outcome struct {
	// Status is the execution's status when Run returned.
	Status workflow.ExecutionStatus
	// WakeAt is set when the execution was suspended (status waiting).
	WakeAt *time.Time
}

// ErrLeaseLost is returned when a write found the execution's lease held by another worker or its
// state changed underneath; the run stops without further writes.
var ErrLeaseLost = errors.New("execution lease lost")

// Run drives a claimed execution until it finishes, suspends, is canceled through cancel, or ctx
// ends. When ctx ends (shutdown) the execution is handed back to the queue, and the attempts that were
// interrupted are retried as new attempts by whoever resumes it.
func (e *Engine) Run(ctx context.Context, exec *store.Execution, owner string, cancel <-chan struct{}) (out Outcome, err error) {
	// Log records made with ctx name the execution.
	ctx = telemetry.WithExecutionID(ctx, exec.ID)
	defer func() {
		if err != nil {
			e.logger.DebugContext(ctx, "Run stopped", "status", out.Status, "error", err.Error())
			return
		}
		e.logger.DebugContext(ctx, "Run ended", "status", out.Status)
	}()
	e.observeClaim(exec)
	if e.tracer != nil {
		var end func(Outcome, error)
		ctx, end = e.startRunSpan(ctx, exec)
		defer func() { end(out, err) }()
	}
	g, planErr := e.Plan(ctx, exec.TenantID, exec.WorkflowID, exec.WorkflowVersion)
	if g, err = e.planFor(ctx, exec, g, planErr); err != nil {
		if isUnrunnable(err) {
			// A version that no longer compiles (a node type was removed), or the plugin version the
			// execution started on is gone: it fails cleanly, saying which and why.
			return e.failUnrunnable(ctx, exec, owner, errors.Unwrap(err))
		}
		return Outcome{Status: exec.Status}, err
	}
	r, err := newRunner(ctx, e, exec, owner, g)
	if err != nil {
		return Outcome{Status: exec.Status}, err
	}
	r.observeDue()
	return r.run(ctx, cancel)
}

func (e *Engine) failUnrunnable(ctx context.Context, exec *store.Execution, owner string, cause error) (Outcome, error) {
	if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		return Outcome{Status: exec.Status}, cause
	}
	now := e.now().UTC()
	seq := exec.LastSeq + 1
	ev := store.Event{Seq: seq, Type: EventExecutionFinished, Time: now, Data: mustJSON(map[string]any{"status": workflow.ExecutionFailed, "error": cause.Error()})}
	err := e.cfg.Store.ApplyExecutionUpdate(ctx, exec.TenantID, &store.ExecutionUpdate{
		ExecutionID: exec.ID, Owner: owner,
		From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, To: workflow.ExecutionFailed,
		SetFinishedAt: &now, ReleaseLease: true, WakeParent: exec.ParentExecutionID,
		Error:  &store.ExecutionError{Message: cause.Error(), Code: "unrunnable"},
		Events: []store.Event{ev},
		OnCommit: func() {
			if e.cfg.Publisher != nil {
				ev.ExecutionID = exec.ID
				e.cfg.Publisher.Publish(&event.Message{TenantID: exec.TenantID, WorkflowID: exec.WorkflowID, Event: ev})
			}
		},
	})
	if err != nil {
		return Outcome{Status: exec.Status}, fmt.Errorf("fail unrunnable execution: %w", err)
	}
	if h := e.hostProvider(); h != nil {
		h.ExecutionFinished(ctx, exec, workflow.ExecutionFailed, &store.ExecutionError{Message: cause.Error(), Code: "unrunnable"})
	}
	return Outcome{Status: workflow.ExecutionFailed}, nil
}

// Event types written to the event log.
const (
	EventExecutionQueued   = "execution.queued"
	EventExecutionStarted  = "execution.started"
	EventExecutionWaiting  = "execution.waiting"
	EventExecutionResumed  = "execution.resumed"
	EventExecutionDraining = "execution.draining"
	EventExecutionRequeued = "execution.requeued"
	EventExecutionFinished = "execution.finished"
	// EventExecutionResponded carries the HTTP answer an http.respond node decided.
	EventExecutionResponded = "execution.responded"
	EventNodeStarted        = "node.started"
	EventNodeSucceeded      = "node.succeeded"
	EventNodeFailed         = "node.failed"
	EventNodeRetrying       = "node.retrying"
	EventNodeWaiting        = "node.waiting"
	EventNodeSkipped        = "node.skipped"
	EventNodeCanceled       = "node.canceled"
	EventNodeLog            = "node.log"
)

// Expressions returns the limits and the budget the engine compiles and evaluates expressions with,
// so that a preview of an expression runs within the same bounds as a run.
func (e *Engine) Expressions() (expression.Limits, expression.Budget) {
	return e.cfg.ExpressionLimits, e.cfg.ExpressionBudget
}
