package api

import (
	"encoding/json"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// Workflow is a workflow as the API returns it.
type Workflow struct {
	ID          string            `json:"id" doc:"Workflow id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Active      bool              `json:"active" doc:"Whether webhook and schedule triggers are on"`
	Version     int               `json:"version" doc:"Current version; send it back in If-Match to update"`
	Nodes       []workflow.Node   `json:"nodes"`
	Edges       []workflow.Edge   `json:"edges"`
	Settings    workflow.Settings `json:"settings"`
	CreatedAt   time.Time         `json:"createdAt"`
	UpdatedAt   time.Time         `json:"updatedAt"`
}

func toWorkflow(w *store.Workflow) *Workflow {
	return &Workflow{
		ID: w.ID, Name: w.Name, Description: w.Description, Active: w.Active, Version: w.Version,
		Nodes: nonNil(w.Definition.Nodes), Edges: nonNil(w.Definition.Edges), Settings: w.Definition.Settings,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// WorkflowSummary is a workflow in a list.
type WorkflowSummary struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Active      bool      `json:"active"`
	Version     int       `json:"version"`
	NodeCount   int       `json:"nodeCount"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// WorkflowVersion is one saved version.
type WorkflowVersion struct {
	WorkflowID string              `json:"workflowId"`
	Version    int                 `json:"version"`
	Definition workflow.Definition `json:"definition"`
	CreatedAt  time.Time           `json:"createdAt"`
}

// NodeType describes a registered node type.
type NodeType struct {
	Type         string          `json:"type" doc:"Type name, family.name"`
	Version      int             `json:"version"`
	Title        string          `json:"title"`
	Category     string          `json:"category"`
	Description  string          `json:"description"`
	Icon         string          `json:"icon,omitempty"`
	Trigger      bool            `json:"trigger" doc:"Whether the type starts executions"`
	Inputs       []node.PortSpec `json:"inputs"`
	Outputs      []node.PortSpec `json:"outputs"`
	DynamicPorts bool            `json:"dynamicPorts" doc:"Whether output ports depend on the configuration (flow.switch)"`
	ConfigSchema json.RawMessage `json:"configSchema" doc:"JSON Schema (2020-12) of the configuration"`
}

func toNodeType(t *node.Type) NodeType {
	_, dynamic := t.Info.New().(node.DynamicPorts)
	return NodeType{
		Type: string(t.Info.Type), Version: t.Info.Version, Title: t.Info.Title, Category: t.Info.Category,
		Description: t.Info.Description, Icon: t.Info.Icon, Trigger: t.IsTrigger(),
		Inputs: nonNil(t.Info.Inputs), Outputs: nonNil(t.Info.Outputs), DynamicPorts: dynamic, ConfigSchema: t.Info.Schema,
	}
}

// Trigger says what started an execution.
type Trigger struct {
	Kind string `json:"kind" enum:"manual,webhook,schedule,retry"`
	Node string `json:"node,omitempty" doc:"Trigger node the run started from"`
}

// ExecutionError is why an execution failed.
type ExecutionError struct {
	Message string `json:"message"`
	NodeID  string `json:"nodeId,omitempty"`
	Code    string `json:"code,omitempty"`
}

// Execution is an execution in a list.
type Execution struct {
	ID              string                   `json:"id"`
	WorkflowID      string                   `json:"workflowId"`
	WorkflowVersion int                      `json:"workflowVersion"`
	Status          workflow.ExecutionStatus `json:"status" enum:"queued,running,waiting,succeeded,failed,canceled"`
	Trigger         Trigger                  `json:"trigger"`
	RetryOf         string                   `json:"retryOf,omitempty" doc:"Execution this one retries"`
	Error           *ExecutionError          `json:"error,omitempty"`
	CreatedAt       time.Time                `json:"createdAt"`
	StartedAt       *time.Time               `json:"startedAt,omitempty"`
	FinishedAt      *time.Time               `json:"finishedAt,omitempty"`
	WakeAt          *time.Time               `json:"wakeAt,omitempty" doc:"When a waiting execution resumes"`
	DurationMs      *int64                   `json:"durationMs,omitempty"`
}

func toExecution(e *store.Execution) Execution {
	out := Execution{
		ID: e.ID, WorkflowID: e.WorkflowID, WorkflowVersion: e.WorkflowVersion, Status: e.Status,
		Trigger: Trigger{Kind: string(e.TriggerKind), Node: e.TriggerNode}, RetryOf: e.RetryOf,
		CreatedAt: e.CreatedAt, StartedAt: e.StartedAt, FinishedAt: e.FinishedAt, WakeAt: e.WakeAt,
	}
	if e.Error != nil {
		out.Error = &ExecutionError{Message: e.Error.Message, NodeID: e.Error.NodeID, Code: e.Error.Code}
	}
	if e.StartedAt != nil && e.FinishedAt != nil {
		d := e.FinishedAt.Sub(*e.StartedAt).Milliseconds()
		out.DurationMs = &d
	}
	return out
}

// ExecutionDetail is one execution with its data and every node run.
type ExecutionDetail struct {
	Execution
	Input    json.RawMessage `json:"input"`
	Output   json.RawMessage `json:"output,omitempty"`
	NodeRuns []NodeRun       `json:"nodeRuns"`
}

// NodeError is why a node attempt failed.
type NodeError struct {
	Message string          `json:"message"`
	Code    string          `json:"code,omitempty"`
	Details json.RawMessage `json:"details,omitempty"`
}

// LogEntry is one message a node logged.
type LogEntry struct {
	Time    time.Time      `json:"time"`
	Level   string         `json:"level"`
	Message string         `json:"message"`
	Attrs   map[string]any `json:"attrs,omitempty"`
}

// NodeRun is one attempt of one node.
type NodeRun struct {
	NodeID     string                 `json:"nodeId"`
	Attempt    int                    `json:"attempt"`
	Status     workflow.NodeRunStatus `json:"status" enum:"pending,running,waiting,succeeded,failed,skipped,canceled"`
	Port       string                 `json:"port,omitempty" doc:"Output port the node emitted on"`
	Input      json.RawMessage        `json:"input,omitempty"`
	Output     json.RawMessage        `json:"output,omitempty"`
	Error      *NodeError             `json:"error,omitempty"`
	Logs       []LogEntry             `json:"logs,omitempty"`
	StartedAt  *time.Time             `json:"startedAt,omitempty"`
	FinishedAt *time.Time             `json:"finishedAt,omitempty"`
	WakeAt     *time.Time             `json:"wakeAt,omitempty"`
	DurationMs *int64                 `json:"durationMs,omitempty"`
}

func toNodeRun(r store.NodeRun) NodeRun {
	out := NodeRun{NodeID: r.NodeID, Attempt: r.Attempt, Status: r.Status, Port: r.Port, Input: r.Input, Output: r.Output,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, WakeAt: r.WakeAt}
	if r.Error != nil {
		out.Error = &NodeError{Message: r.Error.Message, Code: r.Error.Code, Details: r.Error.Details}
	}
	for _, l := range r.Logs {
		out.Logs = append(out.Logs, LogEntry(l))
	}
	if r.StartedAt != nil && r.FinishedAt != nil {
		d := r.FinishedAt.Sub(*r.StartedAt).Milliseconds()
		out.DurationMs = &d
	}
	return out
}

// Event is one entry of an execution's event log.
type Event struct {
	Seq     int64           `json:"seq"`
	Type    string          `json:"type"`
	NodeID  string          `json:"nodeId,omitempty"`
	Attempt int             `json:"attempt,omitempty"`
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data,omitempty"`
}
