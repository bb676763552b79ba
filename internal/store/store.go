// Package store defines the persistence contract of ConcertMaster: workflows and their immutable
// versions, webhook routes, executions (which are also the embedded dispatcher's durable queue), node
// runs and the per-execution event log.
//
// Every method that reads or writes tenant data takes the tenant id and scopes its queries by it; the
// few methods that serve the dispatcher across tenants say so. Two implementations exist, SQLite
// (storesqlite) and PostgreSQL (storepg), both built on sqlstore and both held to the same conformance
// suite (storetest).
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/concertmaster/concertmaster/internal/workflow"
)

// DefaultTenant is the tenant every request belongs to until identity and tenancy land.
const DefaultTenant = "default"

// Errors shared by every implementation.
var (
	// ErrNotFound means the row does not exist in the tenant (or was deleted).
	ErrNotFound = errors.New("not found")
	// ErrVersionMismatch means an update named a version that is no longer current.
	ErrVersionMismatch = errors.New("version mismatch")
	// ErrConflict means the write's expectations no longer hold: the execution changed state, the
	// lease moved to another worker, or an idempotency key was reused with another request.
	ErrConflict = errors.New("conflict")
	// ErrInvalidInput means a parameter, such as a list cursor, is malformed, or a text holds what
	// no store may keep (a NUL character, invalid UTF-8).
	ErrInvalidInput = errors.New("invalid input")
	// ErrBadCursor means a list cursor is not one the store issued.
	ErrBadCursor = fmt.Errorf("invalid cursor: %w", ErrInvalidInput)
)

// RouteConflictError is returned when a webhook route is already taken by another workflow.
// WorkflowID names that workflow when it belongs to the same tenant, and is empty when it belongs to
// another: webhook paths are unique across the server, and a clash reveals nothing of another tenant.
type RouteConflictError struct {
	Method, Path, WorkflowID string
}

func (e *RouteConflictError) Error() string {
	if e.WorkflowID == "" {
		return fmt.Sprintf("webhook %s /hooks/%s is already in use; choose another path", e.Method, e.Path)
	}
	return fmt.Sprintf("webhook %s /hooks/%s is already used by workflow %s", e.Method, e.Path, e.WorkflowID)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *RouteConflictError) Is(target error) bool { return target == ErrConflict }

// RetriedError is returned when retrying an execution that already has a retry.
type RetriedError struct {
	// ID is the execution retried, RetryID its retry.
	ID, RetryID string
}

func (e *RetriedError) Error() string {
	return fmt.Sprintf("execution %s was already retried as execution %s; retry that one if it did not succeed", e.ID, e.RetryID)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *RetriedError) Is(target error) bool { return target == ErrConflict }

// Workflow is a workflow's current state. List results leave Definition empty.
type Workflow struct {
	TenantID    string
	ID          string
	Name        string
	Description string
	Active      bool
	Version     int
	NodeCount   int
	// Tags are the current definition's tags.
	Tags       []string
	Definition workflow.Definition
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// WorkflowVersion is one immutable saved version. List results leave Definition empty.
type WorkflowVersion struct {
	WorkflowID string
	Version    int
	Definition workflow.Definition
	CreatedAt  time.Time
	// CreatedBy is the actor who saved the version (ActorFrom of the saving context): a user id,
	// "apikey:<id>", or empty when unknown (versions saved before it was recorded, the system).
	CreatedBy string
}

// WebhookRoute maps a method and path under /hooks/ to a trigger node of an active workflow.
type WebhookRoute struct {
	Method     string
	Path       string
	TenantID   string
	WorkflowID string
	NodeID     string
	// Respond is the trigger's respond mode.
	Respond string
	// Version is the workflow version the route belongs to (set by the store).
	Version int
}

// Page is one page of a list and the cursor of the next; NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// ListWorkflowsParams filters and pages ListWorkflows.
type ListWorkflowsParams struct {
	// Name keeps workflows whose name contains it, case-insensitively.
	Name string
	// Tag keeps workflows carrying this tag, compared ignoring case.
	Tag string
	// Limit is the page size (1 to 500; 0 means 50).
	Limit int
	// Cursor continues a previous page.
	Cursor string
}

// ListVersionsParams pages ListWorkflowVersions.
type ListVersionsParams struct {
	Limit  int
	Cursor string
}

// TriggerKind says what started an execution.
type TriggerKind string

// The trigger kinds.
const (
	TriggerManual   TriggerKind = "manual"
	TriggerWebhook  TriggerKind = "webhook"
	TriggerSchedule TriggerKind = "schedule"
	TriggerRetry    TriggerKind = "retry"
	TriggerCall     TriggerKind = "call"
	TriggerError    TriggerKind = "error"
	// TriggerMessage is a message a listening trigger received (trigger.amqp, trigger.kafka…).
	TriggerMessage TriggerKind = "message"
	// TriggerTest is a test run started from the editor: it runs a part of the workflow and uses
	// pinned outputs (ADR 0028).
	TriggerTest TriggerKind = "test"
)

// ExecutionError is why an execution failed.
type ExecutionError struct {
	Message string `json:"message"`
	NodeID  string `json:"nodeId,omitempty"`
	Code    string `json:"code,omitempty"`
}

// Execution is one run of one workflow version.
type Execution struct {
	TenantID        string
	ID              string
	WorkflowID      string
	WorkflowVersion int
	Status          workflow.ExecutionStatus
	TriggerKind     TriggerKind
	TriggerNode     string
	Input           json.RawMessage
	Output          json.RawMessage
	Error           *ExecutionError
	IdempotencyKey  string
	RequestHash     string
	RetryOf         string
	CreatedAt       time.Time
	StartedAt       *time.Time
	FinishedAt      *time.Time
	WakeAt          *time.Time
	LeaseOwner      string
	LeaseExpiresAt  *time.Time
	CancelRequested bool
	LastSeq         int64
	// ParentExecutionID and ParentNodeID name the execution and flow.call node that started this one
	// (empty for a top-level execution); CallKey is the child's key among the node's children.
	ParentExecutionID string
	ParentNodeID      string
	CallKey           string
	// CallPath lists the workflow ids of the ancestors, outermost first (cycle detection and depth).
	CallPath []string
	// WakeRequested is set when a signal (an approval, a resume request, a child that finished) woke
	// the execution since it was last claimed; ClaimExecution reports it and clears it.
	WakeRequested bool
}

// NodeError is why a node attempt failed.
type NodeError struct {
	Message string          `json:"message"`
	Code    string          `json:"code,omitempty"`
	Details json.RawMessage `json:"details,omitempty"`
}

// LogEntry is one message a node logged during an attempt.
type LogEntry struct {
	Time    time.Time      `json:"time"`
	Level   string         `json:"level"`
	Message string         `json:"message"`
	Attrs   map[string]any `json:"attrs,omitempty"`
}

// NodeRun is one attempt of one node.
type NodeRun struct {
	NodeID  string
	Attempt int
	Status  workflow.NodeRunStatus
	Input   json.RawMessage
	// InputFrom, when set, names the node whose output is this run's input; Input is then left
	// empty, so that the same JSON is not stored twice.
	InputFrom  string
	Output     json.RawMessage
	Port       string
	Error      *NodeError
	Logs       []LogEntry
	StartedAt  *time.Time
	FinishedAt *time.Time
	WakeAt     *time.Time
}

// Event is one entry of an execution's ordered event log.
type Event struct {
	ExecutionID string
	Seq         int64
	Type        string
	NodeID      string
	Attempt     int
	Time        time.Time
	Data        json.RawMessage
}

// EventCursor is a position in the time order of ListExecutionLevelEvents.
type EventCursor struct {
	Time        time.Time
	ExecutionID string
	Seq         int64
}

// ExecutionLevelEventsParams selects execution-level events; see Store.ListExecutionLevelEvents.
type ExecutionLevelEventsParams struct {
	// WorkflowID keeps one workflow's executions; empty keeps every one of the tenant.
	WorkflowID string
	// Since keeps events at or after this time (ignored when After is set).
	Since time.Time
	// After resumes strictly after this event.
	After *EventCursor
	// Limit caps the result (1–1000; 0 or more means 1000).
	Limit int
}

// WorkflowEvent is an event with the workflow of its execution.
type WorkflowEvent struct {
	Event
	WorkflowID string
}

// Cursor returns the event's position in the time order of ListExecutionLevelEvents.
func (e WorkflowEvent) Cursor() EventCursor {
	return EventCursor{Time: e.Time, ExecutionID: e.ExecutionID, Seq: e.Seq}
}

// Tx is the transaction a hook runs in, such as a dispatcher's enqueue. Implementations also expose
// their driver's transaction for hooks that need it.
type Tx interface {
	// OnCommit registers f to run after the transaction commits; it does not run on rollback.
	OnCommit(f func())
}

// RunnableHook is told, inside the transaction of a write that makes an execution runnable, when it
// becomes due: requeued (at is now), parked until a wake-up time, or woken by a signal. A dispatcher
// that keeps its queue in the database (River) inserts a job in that transaction, so that the change
// and the job commit or roll back together. Creation goes through CreateExecutionParams.Enqueue.
type RunnableHook func(ctx context.Context, tx Tx, ref ExecutionRef, at time.Time) error

// TxHookFunc runs inside the transaction of a write, after the write's own statements.
type TxHookFunc func(ctx context.Context, tx Tx, exec *Execution) error

// CreateExecutionParams describes a new execution.
type CreateExecutionParams struct {
	ID              string
	WorkflowID      string
	WorkflowVersion int
	TriggerKind     TriggerKind
	TriggerNode     string
	Input           json.RawMessage
	// IdempotencyKey, when set, makes the call return the existing execution created with the same
	// key for the same workflow, provided RequestHash matches (ErrConflict otherwise).
	IdempotencyKey string
	RequestHash    string
	// RetryOf names the execution this one retries. An execution is retried at most once: when it
	// already has a retry, CreateExecution returns a *RetriedError (which is ErrConflict), unless the
	// idempotency key matches that retry.
	RetryOf string
	// Seed are node runs copied in at creation, such as the succeeded runs a retry reuses.
	Seed []NodeRun
	// Events are written with the execution, with sequence numbers from 1.
	Events []Event
	// Enqueue runs in the creating transaction; a dispatcher uses it to enqueue the execution.
	Enqueue TxHookFunc
	// ParentExecutionID, ParentNodeID, CallKey and CallPath link a child execution to the flow.call
	// node that started it (see Execution). With a parent, IdempotencyKey is usually derived from the
	// call key, so that starting the same child twice yields one execution.
	ParentExecutionID string
	ParentNodeID      string
	CallKey           string
	CallPath          []string
}

// CancelParams describes a cancel request.
type CancelParams struct {
	// IdempotencyKey, when set, is kept with the execution by the first cancel request that sets one;
	// repeating a cancel with it answers with the execution even once it has finished.
	IdempotencyKey string
	// NodeIDs are the nodes of the execution's version, in definition order. Canceling a queued or
	// waiting execution cancels each that has not finished: a node that is waiting or whose next
	// attempt is pending gets that attempt canceled; a node that never ran gets attempt 1 canceled.
	NodeIDs []string
}

// ListExecutionsParams filters and pages ListExecutions.
type ListExecutionsParams struct {
	WorkflowID string
	Status     workflow.ExecutionStatus
	// ParentExecutionID lists the children of one execution; ParentNodeID, with it, those of one of
	// its nodes.
	ParentExecutionID string
	ParentNodeID      string
	// TriggerKind keeps executions started this way.
	TriggerKind TriggerKind
	// CreatedAfter and CreatedBefore, when not zero, keep executions created at or after, and
	// before, these times.
	CreatedAfter  time.Time
	CreatedBefore time.Time
	Limit         int
	Cursor        string
}

// ExecutionUpdate is one atomic step of an execution: an optional status change with its
// expectations, node-run upserts and events.
type ExecutionUpdate struct {
	ExecutionID string
	// Owner, when set, requires the execution's lease to be held by this worker.
	Owner string
	// From, when set, requires the current status to be one of these.
	From []workflow.ExecutionStatus
	// To, when set, is the new status.
	To workflow.ExecutionStatus
	// SetStartedAt, SetFinishedAt, Output and Error are written when non-nil.
	SetStartedAt  *time.Time
	SetFinishedAt *time.Time
	Output        json.RawMessage
	Error         *ExecutionError
	// WakeAt is written when To is set: the wake-up time of a waiting execution, or nil to clear it.
	// When the execution was woken while it ran (WakeRequested), it is due at once instead, and the
	// store sets WakeAt to now.
	WakeAt *time.Time
	// ReleaseLease clears the lease owner and expiry.
	ReleaseLease bool
	// WakeParent, set with a final To, names the parent execution to wake in the same transaction
	// (see Store.WakeExecution).
	WakeParent string
	NodeRuns   []NodeRun
	Events     []Event
	// OnCommit runs after the update commits.
	OnCommit func()
}

// WakeUp is when a waiting execution is due.
type WakeUp struct {
	Ref ExecutionRef
	At  time.Time
}

// ExecutionRef names an execution across tenants, for the dispatcher.
type ExecutionRef struct {
	TenantID string
	ID       string
}

// Lease is a claim a worker holds on an execution.
type Lease struct {
	Ref ExecutionRef
	// Owner is the owner string the claim was made with. It must name the claim, not just the
	// process: a process that claims an execution again (after losing it) uses a new owner string,
	// so that writes of its earlier attempt cannot pass for the new one's. Every write of a run names
	// it (ExecutionUpdate.Owner) and is checked against the row in the same transaction, under a lock
	// that a concurrent claim waits for: no write of a worker commits after another worker's claim.
	Owner string
}

// RenewResult is what RenewLeases found.
type RenewResult struct {
	// Lost lists the leases that were not renewed because their owner no longer holds them: the
	// worker must stop those runs at once, without writing.
	Lost []ExecutionRef
	// Cancel lists the executions, among those renewed, whose cancel was requested.
	Cancel []ExecutionRef
}

// RunnableParams selects ListRunnable's executions: queued ones, waiting ones whose wake-up time is
// not after Now, and running ones whose lease expired (by the database's clock).
type RunnableParams struct {
	Now   time.Time
	Limit int
	// AnyLease also selects running executions whose lease has not expired: a single-process store
	// takes over what its previous process left running.
	AnyLease bool
	// AfterID continues a listing past this execution id.
	AfterID string
}

// Store is the persistence contract.
type Store interface {
	Identity
	Credentials
	Processes

	// CreateTenant adds a tenant; ErrConflict when the id is taken.
	CreateTenant(ctx context.Context, id, name string) error

	// CreateWorkflow saves a new workflow at version 1.
	CreateWorkflow(ctx context.Context, tenantID, id string, def *workflow.Definition) (*Workflow, error)
	// GetWorkflow returns a workflow with its current definition.
	GetWorkflow(ctx context.Context, tenantID, id string) (*Workflow, error)
	// ListWorkflows pages through workflows, most recently updated first.
	ListWorkflows(ctx context.Context, tenantID string, params ListWorkflowsParams) (*Page[Workflow], error)
	// ListWorkflowTags counts the tags of the tenant's workflows, most used first (then by name),
	// reading at most MaxTaggedWorkflowsScanned tagged workflows. Tags differing only in case count
	// as one, spelled as the one that sorts first.
	ListWorkflowTags(ctx context.Context, tenantID string) ([]TagCount, error)
	// UpdateWorkflow saves def as the next version, provided expectedVersion is current
	// (ErrVersionMismatch otherwise). When the workflow is active, its webhook routes become routes and
	// its schedules become schedules (see Schedule.Spec for what a save keeps).
	UpdateWorkflow(ctx context.Context, tenantID, id string, expectedVersion int, def *workflow.Definition, routes []WebhookRoute, schedules []Schedule) (*Workflow, error)
	// DeleteWorkflow removes a workflow from lists and drops its routes, schedules and pins; its
	// versions and executions stay readable.
	DeleteWorkflow(ctx context.Context, tenantID, id string) error
	// ListWorkflowVersions pages through a workflow's versions, newest first, without definitions,
	// also of a deleted workflow.
	ListWorkflowVersions(ctx context.Context, tenantID, id string, params ListVersionsParams) (*Page[WorkflowVersion], error)
	// GetWorkflowVersion returns one version, also of a deleted workflow.
	GetWorkflowVersion(ctx context.Context, tenantID, id string, version int) (*WorkflowVersion, error)
	// SetWorkflowActive switches a workflow on or off and replaces its webhook routes and its schedules
	// (none when off; see Schedule.Spec for what switching an active workflow on again keeps).
	SetWorkflowActive(ctx context.Context, tenantID, id string, active bool, routes []WebhookRoute, schedules []Schedule) (*Workflow, error)
	// FindWorkflows returns the tenant's workflows (not deleted) whose current definition's JSON text
	// contains the given text, with their definitions, by name; at most limit (1 to 1000; 0 means 100).
	FindWorkflows(ctx context.Context, tenantID, contains string, limit int) ([]Workflow, error)
	// ActiveWorkflowsAfter pages through the active workflows of every tenant, with their definitions,
	// ordered by (tenant, id) after the given pair; at most limit (1 to 500; 0 means 100).
	ActiveWorkflowsAfter(ctx context.Context, tenantID, id string, limit int) ([]Workflow, error)
	// ListPins returns a workflow's pinned outputs, by node id (at most MaxPins). A deleted workflow has
	// none.
	ListPins(ctx context.Context, tenantID, workflowID string) ([]Pin, error)
	// PutPins saves pins (each replaces the pin of its node) in one transaction, provided the workflow
	// exists and is not deleted (ErrNotFound) and it would not have more than MaxPins afterwards
	// (ErrTooManyPins). Each pin's UpdatedAt is set to now and UpdatedBy to ActorFrom(ctx).
	PutPins(ctx context.Context, tenantID, workflowID string, pins []Pin) error
	// DeletePin removes the pin of one node; ErrNotFound when it has none.
	DeletePin(ctx context.Context, tenantID, workflowID, nodeID string) error

	// LookupWebhook finds the route for a method and path, across tenants.
	LookupWebhook(ctx context.Context, method, path string) (*WebhookRoute, error)

	// ListSchedules returns the schedules of a workflow (none unless it is active), by node id.
	ListSchedules(ctx context.Context, tenantID, workflowID string) ([]Schedule, error)
	// ListDueSchedules lists, across tenants and earliest first, the schedules whose next fire time
	// is not after params.Now, for the scheduler.
	ListDueSchedules(ctx context.Context, params ListDueSchedulesParams) ([]Schedule, error)
	// NextScheduleAt returns the earliest next fire time across tenants, or nil when no schedule exists.
	NextScheduleAt(ctx context.Context) (*time.Time, error)
	// FireSchedule moves a schedule's next fire time from params.Due to params.Next with a
	// conditional update, inside tx when it is not nil (the transaction of a hook such as
	// CreateExecutionParams.Enqueue, so that a run and the move commit or roll back together), else in
	// a transaction of its own. ErrConflict when the schedule no longer exists or its next fire time
	// is no longer params.Due: another scheduler fired it, or the workflow was deactivated, deleted or
	// changed meanwhile. Only a Tx this store handed to a hook may be passed.
	FireSchedule(ctx context.Context, tx Tx, params FireScheduleParams) error

	// CreateExecution inserts a queued execution, or returns the existing one for a repeated
	// idempotency key (created is then false).
	CreateExecution(ctx context.Context, tenantID string, params CreateExecutionParams) (exec *Execution, created bool, err error)
	// GetExecution returns an execution with its input, output and error.
	GetExecution(ctx context.Context, tenantID, id string) (*Execution, error)
	// ListExecutions pages through executions, newest first, without inputs and outputs.
	ListExecutions(ctx context.Context, tenantID string, params ListExecutionsParams) (*Page[Execution], error)
	// ListNodeRuns returns every attempt of every node of an execution, by node and attempt, with
	// their whole data: it serves the engine, not reads.
	ListNodeRuns(ctx context.Context, tenantID, executionID string) ([]NodeRun, error)
	// GetExecutionPreview returns an execution with its input and output cut to previewBytes (0 means
	// PreviewBytesDefault), without reading the rest of either value.
	GetExecutionPreview(ctx context.Context, tenantID, id string, previewBytes int) (*ExecutionPreview, error)
	// ListNodeRunSummaries pages through an execution's node runs by node and attempt, inputs and
	// outputs cut to previews (inputs kept by reference resolved); ErrNotFound for an unknown execution.
	ListNodeRunSummaries(ctx context.Context, tenantID, executionID string, params ListNodeRunSummariesParams) (*Page[NodeRunSummary], error)
	// GetValue returns one stored JSON value as text (text, so that the driver's copy is the only
	// one), resolving an input kept by reference to the referenced output. ErrNotFound when the
	// execution, the node run or the value does not exist; ErrInvalidInput for a field the target
	// does not have.
	GetValue(ctx context.Context, tenantID string, ref ValueRef) (string, error)
	// ListEvents returns up to limit events with a sequence number above afterSeq.
	ListEvents(ctx context.Context, tenantID, executionID string, afterSeq int64, limit int) ([]Event, error)
	// ListExecutionLevelEvents returns, in time order (then execution id, then sequence number), the
	// execution-level events (type execution.*) of a tenant's executions, or of one workflow's: those
	// at or after params.Since, or strictly after params.After when it is set. Live subscribers replay
	// a workflow's or a tenant's runs with it.
	ListExecutionLevelEvents(ctx context.Context, tenantID string, params ExecutionLevelEventsParams) ([]WorkflowEvent, error)
	// ApplyExecutionUpdate writes one step atomically; ErrConflict when its expectations fail.
	ApplyExecutionUpdate(ctx context.Context, tenantID string, update *ExecutionUpdate) error
	// RequestCancel cancels a queued or waiting execution at once (returning it with status
	// canceled; every node of params.NodeIDs that has not finished gets a canceled run and a
	// node.canceled event, as when the engine stops a running execution), or flags a running one for
	// its worker. ErrConflict when it has already finished, unless params.IdempotencyKey is the key of
	// the cancel request that was kept with it: the execution is then returned as it is.
	RequestCancel(ctx context.Context, tenantID, id string, params CancelParams) (*Execution, error)

	// ListChildren returns the children that one node of an execution started (every status), at
	// most limit of them, oldest first.
	ListChildren(ctx context.Context, tenantID, executionID, nodeID string, limit int) ([]Execution, error)
	// DeliverSignal stores the payload of a signal to one node of an execution (an approval, a resume
	// request) and wakes the execution. It fails with ErrConflict when the node already has one, and
	// ErrNotFound when the execution does not exist.
	DeliverSignal(ctx context.Context, tenantID, executionID, nodeID string, payload json.RawMessage) error
	// GetSignal returns the payload delivered to one node of an execution, or ErrNotFound.
	GetSignal(ctx context.Context, tenantID, executionID, nodeID string) (json.RawMessage, error)
	// WakeExecution marks an execution as woken: a waiting one becomes due at once, a running one
	// is due again as soon as it suspends. Unknown or finished executions are ignored.
	WakeExecution(ctx context.Context, tenantID, executionID string) error

	// ClaimExecution takes the lease of an execution that is queued, or whose lease has expired, or
	// (takeover) that is running or waiting under any lease, and marks it running. The lease lasts
	// lease from the database's clock, not the caller's. Owner names this one claim (see Lease.Owner).
	ClaimExecution(ctx context.Context, ref ExecutionRef, owner string, lease time.Duration, takeover bool) (*Execution, error)
	// ListRunnable lists, across tenants and oldest first, executions a worker may claim now.
	ListRunnable(ctx context.Context, params RunnableParams) ([]ExecutionRef, error)
	// NextWakeAt returns the earliest wake-up time of a waiting execution, across tenants.
	NextWakeAt(ctx context.Context) (*time.Time, error)
	// ListWakeUps lists, across tenants and earliest first, at most limit waiting executions whose
	// wake-up time is not after before, with that time.
	ListWakeUps(ctx context.Context, before time.Time, limit int) ([]WakeUp, error)
	// RenewLeases extends each lease its owner still holds to lease from the database's clock, and
	// reports those it no longer holds (another worker claimed the execution, it was canceled, or it
	// finished) and those whose cancel was requested.
	RenewLeases(ctx context.Context, leases []Lease, lease time.Duration) (RenewResult, error)

	// ListRetentionWorkflows pages through every workflow, deleted ones included, across tenants, for
	// the retention pruner.
	ListRetentionWorkflows(ctx context.Context, params ListRetentionWorkflowsParams) ([]RetentionWorkflow, error)
	// FinishedAtRank returns when the workflow's rank-th most recently finished execution finished
	// (rank 1 is the latest), or nil when it has fewer finished executions.
	FinishedAtRank(ctx context.Context, tenantID, workflowID string, rank int) (*time.Time, error)
	// PruneExecutions deletes up to params.Limit finished executions that params selects, with their
	// node runs and events, in one transaction, and writes nothing when none is selected. An
	// execution a retry refers to (RetryOf) may be deleted: the retry keeps its own node runs.
	PruneExecutions(ctx context.Context, params PruneParams) (PruneResult, error)

	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Process is a running server process as it registers itself (ADR 0018).
type Process struct {
	// ID identifies the process (host/pid/random), unique among live processes.
	ID string
	// Role is what it does: ProcessRoleAPI for one that serves HTTP, ProcessRoleWorker otherwise.
	Role string
	// Redis tells whether it is linked to the other processes through Redis.
	Redis bool
	// StartedAt and HeartbeatAt are set by the store, by the database's clock.
	StartedAt, HeartbeatAt time.Time
}

// Process roles.
const (
	ProcessRoleAPI    = "api"
	ProcessRoleWorker = "worker"
)

// Processes tracks the running processes of a deployment, so that a process may refuse to start
// next to others it cannot work with.
type Processes interface {
	// HeartbeatProcess records that p is alive now, by the database's clock: it inserts p's row or
	// refreshes its heartbeat (keeping its start time), deletes the rows whose heartbeat is more than
	// stale old, and returns the other processes that remain, by id (at most MaxProcesses).
	HeartbeatProcess(ctx context.Context, p Process, stale time.Duration) ([]Process, error)
	// RemoveProcess deletes a process's row, when it stops; an unknown id is not an error.
	RemoveProcess(ctx context.Context, id string) error
}

// MaxProcesses bounds the processes HeartbeatProcess returns.
const MaxProcesses = 1000

// TagCount is one workflow tag and how many workflows carry it.
type TagCount struct {
	Tag   string
	Count int
}

// Pin is a node output pinned in the editor: test runs use it instead of running the node, and
// production runs never read it (ADR 0028).
type Pin struct {
	WorkflowID string
	NodeID     string
	// Port is the output port the pinned data leaves by.
	Port      string
	Data      json.RawMessage
	UpdatedAt time.Time
	// UpdatedBy is the actor who pinned it (see WithActor).
	UpdatedBy string
}

// MaxPins bounds the pins of one workflow.
const MaxPins = 100

// ErrTooManyPins is returned when a write would give a workflow more than MaxPins pins.
var ErrTooManyPins = fmt.Errorf("a workflow has at most %d pinned outputs: unpin one first: %w", MaxPins, ErrInvalidInput)

// MaxTaggedWorkflowsScanned bounds the workflows ListWorkflowTags reads.
const MaxTaggedWorkflowsScanned = 10_000

type actorKey struct{}

// WithActor returns a context whose writes are attributed to actor (a user id or "apikey:<id>"):
// the versions it saves record it as CreatedBy.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor WithActor set, or "".
func ActorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}
