package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// TypeName names a node type as <family>.<name>, for example "http.request".
type TypeName string

// Family returns the part before the first dot, such as "http" for "http.request".
func (t TypeName) Family() string {
	family, _, _ := strings.Cut(string(t), ".")
	return family
}

// FamilyTrigger is the family of trigger node types: nodes that start executions.
const FamilyTrigger = "trigger"

// PortSpec describes one named input or output port.
type PortSpec struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// Info is a node type's self-description.
type Info struct {
	// Type is the unique name, <family>.<name>.
	Type TypeName
	// Version is bumped on an incompatible change to the configuration.
	Version int
	// Title is a short human name.
	Title string
	// Category groups types in the editor's palette.
	Category string
	// Description says what the node does, in a sentence or two.
	Description string
	// Icon is an icon name for the editor (a lucide icon name in kebab case, such as "file-text").
	Icon string
	// Docs is the type's documentation in Markdown: what it does, how its configuration is read, what it
	// outputs, its limits and its errors, with at least one example. The API, the CLI
	// (concertmaster nodes describe) and docs/nodes/ show it.
	Docs string
	// Inputs are the input ports; trigger types have none.
	Inputs []PortSpec
	// Outputs are the output ports. Types whose outputs depend on configuration implement DynamicPorts.
	Outputs []PortSpec
	// Schema is the configuration's JSON Schema (draft 2020-12).
	Schema json.RawMessage
	// Output is a JSON Schema of what the node emits on its first output port, for the editor's
	// completion before a run has shown real data; empty when it cannot be told in advance. Two
	// keywords describe outputs that follow the node's input or configuration: "x-cm-passthrough":
	// true (the output has the input's shape, see PassThrough) and "x-cm-fields": "<key>" (the
	// output's fields are the keys of the object in configuration key <key>; with
	// "x-cm-keep-input": "<flag key>", the input's fields too when that flag is not false).
	Output json.RawMessage
	// Signals marks types that wait for something outside the run (an approval, a callback, a child
	// execution) by suspending: the engine resumes their waiting attempts early when the execution is
	// woken by a signal, and Execute must then check whether what it waits for happened and suspend
	// again if not. Such types may also suspend inside forEach.
	Signals bool
	// Pure marks types whose run has no effect outside the execution: they read their input and
	// configuration and compute an output (data shaping, conditions, merges, sandboxed code), perhaps
	// with the clock or randomness, but call, write or wait for nothing. The engine runs consecutive pure
	// nodes without persisting each step: their node runs and events are written with the next effectful
	// step or the end of the run, and a crash before that simply computes them again (ADR 0023). Leave
	// it false when in doubt: an effectful type is always safe.
	Pure bool
	// Lazy lists top-level configuration keys whose templates the engine leaves unevaluated; the node
	// evaluates them itself through Input.Eval, typically once per element.
	Lazy []string
	// Raw lists top-level configuration keys the engine passes to the node exactly as saved: it neither
	// evaluates nor compiles them as {{ templates }}, since they hold source code in a language where
	// "{{" is ordinary text (code.javascript's code). Code may read any node, so a node of a type with
	// Raw keys finds every upstream node that finished in Input.Nodes.
	Raw []string
	// New returns a fresh zero value of the type. It must have no side effects.
	New func() Node
	// Plugin is set for types a plugin added: which plugin, at which version.
	Plugin *PluginRef
}

// PluginRef names the plugin version a node type comes from.
type PluginRef struct {
	// Name and Version are the plugin's, as its plugin.json declares them.
	Name    string
	Version string
	// Kind is wasm or process.
	Kind string
	// Digest identifies the plugin's content (the first 12 hex digits of a SHA-256): two loads of the
	// same version with different files differ here.
	Digest string
}

// String returns name@version#digest, the reference an execution records to keep running on the
// plugin version it started with.
func (p *PluginRef) String() string { return p.Name + "@" + p.Version + "#" + p.Digest }

// Node is a node type's implementation. Its struct is its configuration, unmarshalled from JSON.
type Node interface {
	// NodeInfo describes the type.
	NodeInfo() Info
	// Execute runs one attempt. It must honour ctx and must not modify in.
	Execute(ctx context.Context, in *Input) (Output, error)
}

// Provisioner is implemented by nodes that prepare resources (clients, secrets) before running.
type Provisioner interface {
	Provision(ctx context.Context, env Env) error
}

// Validator is implemented by nodes that check their configuration beyond the JSON Schema. It must be
// fast and must not do I/O.
type Validator interface {
	Validate() error
}

// Cleaner is implemented by nodes that release resources after running. Cleanup must work even when
// Provision failed.
type Cleaner interface {
	Cleanup() error
}

// DynamicPorts is implemented by nodes whose output ports depend on their configuration, such as
// flow.switch. It is called on a node holding the saved (unevaluated) configuration.
type DynamicPorts interface {
	OutputPorts() []string
}

// Env is what the host offers a node at provisioning time.
type Env struct {
	// Logger logs on the node run's behalf; records are kept with the run.
	Logger *slog.Logger
}

// Source is one taken incoming edge: the value its source node emitted on the edge's port.
type Source struct {
	Node  string
	Port  string
	Value any
}

// ExecutionInfo identifies the run a node attempt belongs to.
type ExecutionInfo struct {
	TenantID        string
	ExecutionID     string
	WorkflowID      string
	WorkflowVersion int
	NodeID          string
	Attempt         int
}

// Resume is set when a suspended attempt is resumed, at or after its wake-up time or, for types that
// wait for signals, earlier when the execution was woken.
type Resume struct {
	// WakeAt is the time the node asked to be resumed at.
	WakeAt time.Time
}

// Element identifies one element of a forEach fan-out.
type Element struct {
	// Index is the element's position in the forEach array.
	Index int
	// Attempt counts the element's attempts within this run of the node, from 1.
	Attempt int
}

// EvalFunc evaluates one of the node's lazy templates with item and index bound.
type EvalFunc func(ctx context.Context, template string, item any, index int) (any, error)

// Input is everything one attempt sees. Nodes must treat it, and every value in it, as read-only:
// values are shared with other nodes.
type Input struct {
	// Data is the value on the input port: the value of the first taken incoming edge, or the
	// trigger's data for a node without incoming edges.
	Data any
	// Sources lists every taken incoming edge in definition order.
	Sources []Source
	// Trigger is the output of the trigger that started the execution.
	Trigger any
	// Execution identifies the run.
	Execution ExecutionInfo
	// Resume is non-nil when the attempt resumes after a Suspend.
	Resume *Resume
	// Eval evaluates lazy templates; nil when the node has none.
	Eval EvalFunc
	// Logger records messages into the node run's logs.
	Logger *slog.Logger
	// Limits bound what the attempt may build; nodes check them before allocating.
	Limits Limits
	// Element is set when the node runs once per element of a forEach array.
	Element *Element
	// Host offers what nodes that act on other executions need (signals, child executions); nil when
	// the engine runs without one (tests).
	Host Host
	// Nodes is what expressions see as nodes: {"<id>": {"output": …, "status": …}} for the upstream
	// nodes the node's expressions read, or, for a type with Raw keys, for every upstream node that
	// finished.
	Nodes map[string]any
	// Vars holds the workflow's constants (settings.vars), as expressions see them.
	Vars map[string]any
	// Credentials reads the tenant's credentials for this attempt (see GetCredential); nil when the
	// engine runs without a vault.
	Credentials Credentials
}

// Memory is the attempt's share of the execution's memory budget (see internal/budget).
type Memory interface {
	// Reserve charges n bytes, or fails with an error that wraps budget.ErrExceeded.
	Reserve(n int64) error
}

// Limits are the budgets of one attempt. A zero MaxOutputBytes means no size limit (tests); a nil
// Memory means no memory budget.
type Limits struct {
	// MaxOutputBytes caps the JSON size of the node's output (CM_MAX_OUTPUT_BYTES); nodes that parse or
	// build large values refuse before they pass it, with code output_too_large.
	MaxOutputBytes int64
	// Memory is charged with what the node builds beyond its output.
	Memory Memory
}

// Output is what an attempt emits: Value on Port.
type Output struct {
	Port  string
	Value any
	// Stop ends the execution successfully once this node's output is saved, with this output as
	// the execution's output: nodes still running are canceled and those not started are skipped
	// (flow.stop).
	Stop bool
	// Response, when set, answers the HTTP request that started the execution (http.respond): it is
	// recorded as an execution.responded event, and the webhook that waits for the run answers with it
	// at once while the run goes on.
	Response *Response
}

// Response is an HTTP answer a node decides.
type Response struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is any JSON value; a string is sent as is, anything else as JSON.
	Body any `json:"body,omitempty"`
}

// Out emits value on the default "out" port.
func Out(value any) Output { return Output{Port: "out", Value: value} }

// Emit emits value on port.
func Emit(port string, value any) Output { return Output{Port: port, Value: value} }

// PermanentError marks an error that retrying cannot fix; the engine skips the remaining attempts.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the engine does not retry it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// SuspendError asks the engine to suspend the attempt until Until and then call Execute again with
// Input.Resume set. The execution waits without holding a goroutine.
type SuspendError struct{ Until time.Time }

func (e *SuspendError) Error() string {
	return fmt.Sprintf("suspended until %s", e.Until.Format(time.RFC3339))
}

// Suspend returns a *SuspendError for until.
func Suspend(until time.Time) error { return &SuspendError{Until: until} }

// Error is a failure with structured detail, carried into the node run and, with onError continue or
// errorPort, into the error value downstream nodes receive.
type Error struct {
	// Message says what went wrong.
	Message string `json:"message"`
	// Code is a stable, machine-readable cause, such as "http_status" or "timeout".
	Code string `json:"code,omitempty"`
	// Details holds any extra data, such as a response status and body.
	Details any `json:"details,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Errorf returns a *Error with a code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InputPolicy is implemented by nodes that may run as soon as any one incoming branch arrives, such as
// flow.merge in mode "any". It is called on a node holding the saved configuration.
type InputPolicy interface {
	WaitForAny() bool
}

// PassThrough is the Output schema of a node that emits its input, or a part of it, unchanged in
// shape (a condition, a filter, a delay).
var PassThrough = json.RawMessage(`{"x-cm-passthrough":true}`)
