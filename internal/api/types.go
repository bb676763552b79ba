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
	Tags        []string          `json:"tags" doc:"Labels the workflow list filters on"`
	Nodes       []workflow.Node   `json:"nodes"`
	Edges       []workflow.Edge   `json:"edges"`
	Settings    workflow.Settings `json:"settings"`
	Notes       []workflow.Note   `json:"notes,omitempty" doc:"Sticky notes on the canvas"`
	CreatedAt   time.Time         `json:"createdAt"`
	UpdatedAt   time.Time         `json:"updatedAt"`
}

func toWorkflow(w *store.Workflow) *Workflow {
	return &Workflow{
		ID: w.ID, Name: w.Name, Description: w.Description, Active: w.Active, Version: w.Version, Tags: nonNil(w.Definition.Tags),
		Nodes: nonNil(w.Definition.Nodes), Edges: nonNil(w.Definition.Edges), Settings: w.Definition.Settings,
		Notes: w.Definition.Notes, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
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
	Tags        []string  `json:"tags" doc:"The current version's tags (definition.tags)"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// WorkflowVersion is one saved version.
type WorkflowVersion struct {
	WorkflowID string              `json:"workflowId"`
	Version    int                 `json:"version"`
	Definition workflow.Definition `json:"definition"`
	CreatedAt  time.Time           `json:"createdAt"`
	CreatedBy  string              `json:"createdBy,omitempty" doc:"Who saved it: a user id, or apikey:<id> for an API key; absent when unknown (saved before this was recorded, or by the server itself)"`
}

// WorkflowVersionSummary is a version in a list, without its definition.
type WorkflowVersionSummary struct {
	WorkflowID string    `json:"workflowId"`
	Version    int       `json:"version"`
	CreatedAt  time.Time `json:"createdAt"`
	CreatedBy  string    `json:"createdBy,omitempty" doc:"Who saved it: a user id, or apikey:<id> for an API key; absent when unknown"`
	Author     *Author   `json:"author,omitempty" doc:"Who saved it, for display; absent when unknown"`
}

// Author names who saved a version, for display.
type Author struct {
	Kind string `json:"kind" enum:"user,apikey" doc:"A person or an API key"`
	Name string `json:"name" doc:"The user's name (their e-mail when they gave none), or the API key's id"`
}

// WorkflowTag is one tag of the tenant's workflows.
type WorkflowTag struct {
	Tag   string `json:"tag"`
	Count int    `json:"count" doc:"How many workflows carry it"`
}

// NodeType describes a registered node type.
type NodeType struct {
	Type         string          `json:"type" doc:"Type name, family.name"`
	Version      int             `json:"version"`
	Title        string          `json:"title"`
	Category     string          `json:"category"`
	Description  string          `json:"description"`
	Icon         string          `json:"icon,omitempty" doc:"A lucide icon name in kebab case, such as file-text"`
	Docs         string          `json:"docs" doc:"Documentation in Markdown (no top-level heading): how the configuration is read, the output, limits, error codes and examples"`
	Trigger      bool            `json:"trigger" doc:"Whether the type starts executions"`
	Pure         bool            `json:"pure" doc:"Whether the type is pure: deterministic and without effect outside the run, so the engine may recompute it after a crash instead of checkpointing it (ADR 0023)"`
	Inputs       []node.PortSpec `json:"inputs"`
	Outputs      []node.PortSpec `json:"outputs"`
	DynamicPorts bool            `json:"dynamicPorts" doc:"Whether output ports depend on the configuration (flow.switch)"`
	ConfigSchema json.RawMessage `json:"configSchema" doc:"JSON Schema (2020-12) of the configuration"`
	OutputSchema json.RawMessage `json:"outputSchema,omitempty" doc:"JSON Schema of what the node emits on its first output port, when it can be told before a run (the editor's completion uses it). x-cm-passthrough: the input's shape; x-cm-fields: the keys of that configuration object (with x-cm-keep-input: and the input's, unless that flag is false)"`
	Plugin       *NodeTypePlugin `json:"plugin,omitempty" doc:"The plugin that adds the type; absent for built-in types"`
}

// NodeTypePlugin names the plugin version a node type comes from.
type NodeTypePlugin struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Kind    string `json:"kind" enum:"wasm,process"`
	Digest  string `json:"digest" doc:"Identifies the plugin version's content"`
}

func toNodeType(t *node.Type) NodeType {
	_, dynamic := t.Info.New().(node.DynamicPorts)
	return NodeType{
		Type: string(t.Info.Type), Version: t.Info.Version, Title: t.Info.Title, Category: t.Info.Category,
		Description: t.Info.Description, Icon: t.Info.Icon, Docs: t.Info.Docs, Trigger: t.IsTrigger(), Pure: t.Info.Pure,
		Inputs: nonNil(t.Info.Inputs), Outputs: nonNil(t.Info.Outputs), DynamicPorts: dynamic, ConfigSchema: t.Info.Schema,
		OutputSchema: t.Info.Output, Plugin: toNodeTypePlugin(t.Info.Plugin),
	}
}

func toNodeTypePlugin(p *node.PluginRef) *NodeTypePlugin {
	if p == nil {
		return nil
	}
	return &NodeTypePlugin{Name: p.Name, Version: p.Version, Kind: p.Kind, Digest: p.Digest}
}

// Trigger says what started an execution.
type Trigger struct {
	Kind string `json:"kind" enum:"manual,webhook,schedule,retry,call,error,message,test" doc:"What started the run: manual (or the API), webhook, schedule, retry, call (a flow.call of a parent run), error (an error workflow), message (a queue, stream or topic trigger) or test (a test run from the editor, which uses pinned outputs)"`
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
	ID                string                   `json:"id"`
	WorkflowID        string                   `json:"workflowId"`
	WorkflowVersion   int                      `json:"workflowVersion"`
	Status            workflow.ExecutionStatus `json:"status" enum:"queued,running,waiting,succeeded,failed,canceled"`
	Trigger           Trigger                  `json:"trigger"`
	RetryOf           string                   `json:"retryOf,omitempty" doc:"Execution this one retries"`
	ParentExecutionID string                   `json:"parentExecutionId,omitempty" doc:"For a sub-workflow run: the execution whose flow.call node started it"`
	ParentNodeID      string                   `json:"parentNodeId,omitempty" doc:"For a sub-workflow run: the flow.call node that started it"`
	Error             *ExecutionError          `json:"error,omitempty"`
	CreatedAt         time.Time                `json:"createdAt"`
	StartedAt         *time.Time               `json:"startedAt,omitempty"`
	FinishedAt        *time.Time               `json:"finishedAt,omitempty"`
	WakeAt            *time.Time               `json:"wakeAt,omitempty" doc:"When a waiting execution resumes"`
	DurationMs        *int64                   `json:"durationMs,omitempty"`
}

func toExecution(e *store.Execution) Execution {
	out := Execution{
		ID: e.ID, WorkflowID: e.WorkflowID, WorkflowVersion: e.WorkflowVersion, Status: e.Status,
		Trigger: Trigger{Kind: string(e.TriggerKind), Node: e.TriggerNode}, RetryOf: e.RetryOf,
		ParentExecutionID: e.ParentExecutionID, ParentNodeID: e.ParentNodeID,
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

// ExecutionDetail is one execution with its input and output and the first page of its node runs.
// A value whose JSON is over the preview size (4 KiB) is not sent whole: its preview field holds the
// first bytes of its JSON text and its truncated flag is set (ADR 0008).
type ExecutionDetail struct {
	Execution
	Input           json.RawMessage   `json:"input,omitempty" doc:"The run's input, when its JSON is at most 4 KiB (otherwise see inputPreview)"`
	InputPreview    string            `json:"inputPreview,omitempty" doc:"When inputTruncated: the first bytes (at most 4 KiB) of the input's JSON text, cut between characters; not valid JSON on its own"`
	InputTruncated  bool              `json:"inputTruncated" doc:"Whether the input was too large to send: input is left out; GET /api/v1/executions/{id}/input returns it whole"`
	InputBytes      int64             `json:"inputBytes" minimum:"0" doc:"Size of the input's JSON text in bytes; 0 when there is none"`
	Output          json.RawMessage   `json:"output,omitempty" doc:"The final output, when its JSON is at most 4 KiB (otherwise see outputPreview)"`
	OutputPreview   string            `json:"outputPreview,omitempty" doc:"When outputTruncated: the first bytes (at most 4 KiB) of the output's JSON text; not valid JSON on its own"`
	OutputTruncated bool              `json:"outputTruncated" doc:"Whether the output was too large to send: output is left out; GET /api/v1/executions/{id}/output returns it whole"`
	OutputBytes     int64             `json:"outputBytes" minimum:"0" doc:"Size of the output's JSON text in bytes; 0 when there is none (yet)"`
	NodeRuns        []NodeRun         `json:"nodeRuns" doc:"The first page of node runs (at most 50), by node and attempt; the run request without wait leaves it empty"`
	PluginVersions  map[string]string `json:"pluginVersions,omitempty" doc:"The plugin versions (name@version#digest) the execution runs on, by node type, recorded by its first run; absent when it uses no plugin node type or has not started"`
	// NodeRunsNextCursor continues the node runs at GET /api/v1/executions/{id}/node-runs.
	NodeRunsNextCursor string `json:"nodeRunsNextCursor,omitempty" doc:"Set when the execution has more node runs: pass it as cursor to GET /api/v1/executions/{id}/node-runs"`
}

// value is the API form of one stored value: whole when it fits the preview, else its head.
type value struct {
	whole     json.RawMessage
	preview   string
	truncated bool
	bytes     int64
}

func valueOf(p store.ValuePreview) value {
	switch {
	case p.Bytes == 0:
		return value{}
	case p.Truncated():
		return value{preview: p.Head, truncated: true, bytes: p.Bytes}
	}
	return value{whole: json.RawMessage(p.Head), bytes: p.Bytes}
}

func (d *ExecutionDetail) setValues(in, out store.ValuePreview) {
	i, o := valueOf(in), valueOf(out)
	d.Input, d.InputPreview, d.InputTruncated, d.InputBytes = i.whole, i.preview, i.truncated, i.bytes
	d.Output, d.OutputPreview, d.OutputTruncated, d.OutputBytes = o.whole, o.preview, o.truncated, o.bytes
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

// NodeRun is one attempt of one node. Its input and output follow the execution's rule: whole up to
// 4 KiB, otherwise a preview; its error and logs come whole up to 8 KiB of JSON.
type NodeRun struct {
	NodeID          string                 `json:"nodeId"`
	Attempt         int                    `json:"attempt"`
	Status          workflow.NodeRunStatus `json:"status" enum:"pending,running,waiting,succeeded,failed,skipped,canceled"`
	Port            string                 `json:"port,omitempty" doc:"Output port the node emitted on"`
	InputFrom       string                 `json:"inputFrom,omitempty" doc:"Node whose output is this run's input (the store keeps it once)"`
	Input           json.RawMessage        `json:"input,omitempty" doc:"The attempt's input, when its JSON is at most 4 KiB (otherwise see inputPreview)"`
	InputPreview    string                 `json:"inputPreview,omitempty" doc:"When inputTruncated: the first bytes (at most 4 KiB) of the input's JSON text; not valid JSON on its own"`
	InputTruncated  bool                   `json:"inputTruncated" doc:"Whether the input was too large to send; GET …/attempts/{attempt}/input returns it whole"`
	InputBytes      int64                  `json:"inputBytes" minimum:"0" doc:"Size of the input's JSON text in bytes; 0 when there is none"`
	Output          json.RawMessage        `json:"output,omitempty" doc:"The attempt's output, when its JSON is at most 4 KiB (otherwise see outputPreview)"`
	OutputPreview   string                 `json:"outputPreview,omitempty" doc:"When outputTruncated: the first bytes (at most 4 KiB) of the output's JSON text; not valid JSON on its own"`
	OutputTruncated bool                   `json:"outputTruncated" doc:"Whether the output was too large to send; GET …/attempts/{attempt}/output returns it whole"`
	OutputBytes     int64                  `json:"outputBytes" minimum:"0" doc:"Size of the output's JSON text in bytes; 0 when there is none"`
	Error           *NodeError             `json:"error,omitempty"`
	ErrorTruncated  bool                   `json:"errorTruncated,omitempty" doc:"The stored error is over 8 KiB: details are left out and the message is cut to 4 KiB; GET …/attempts/{attempt}/error returns it whole"`
	ErrorBytes      int64                  `json:"errorBytes,omitempty" minimum:"0" doc:"Size of the stored error's JSON in bytes"`
	Logs            []LogEntry             `json:"logs,omitempty"`
	LogsTruncated   bool                   `json:"logsTruncated,omitempty" doc:"The logs are over 8 KiB of JSON and left out; GET …/attempts/{attempt}/logs returns them"`
	LogsBytes       int64                  `json:"logsBytes,omitempty" minimum:"0" doc:"Size of the stored logs' JSON in bytes"`
	StartedAt       *time.Time             `json:"startedAt,omitempty"`
	FinishedAt      *time.Time             `json:"finishedAt,omitempty"`
	WakeAt          *time.Time             `json:"wakeAt,omitempty"`
	DurationMs      *int64                 `json:"durationMs,omitempty"`
}

func toNodeRun(r *store.NodeRunSummary) NodeRun {
	in, out := valueOf(r.Input), valueOf(r.Output)
	o := NodeRun{NodeID: r.NodeID, Attempt: r.Attempt, Status: r.Status, Port: r.Port, InputFrom: r.InputFrom,
		Input: in.whole, InputPreview: in.preview, InputTruncated: in.truncated, InputBytes: in.bytes,
		Output: out.whole, OutputPreview: out.preview, OutputTruncated: out.truncated, OutputBytes: out.bytes,
		ErrorTruncated: r.ErrorTruncated, ErrorBytes: r.ErrorBytes, LogsTruncated: r.LogsTruncated, LogsBytes: r.LogsBytes,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, WakeAt: r.WakeAt}
	if r.Error != nil {
		o.Error = &NodeError{Message: r.Error.Message, Code: r.Error.Code, Details: r.Error.Details}
	}
	for _, l := range r.Logs {
		o.Logs = append(o.Logs, LogEntry(l))
	}
	if r.StartedAt != nil && r.FinishedAt != nil {
		d := r.FinishedAt.Sub(*r.StartedAt).Milliseconds()
		o.DurationMs = &d
	}
	return o
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
