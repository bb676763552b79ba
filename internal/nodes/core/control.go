package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/concertmaster/concertmaster/internal/node"
)

// NoOp passes its input on unchanged: a junction, a placeholder, or a named point in a graph.
type NoOp struct{}

// NodeInfo describes flow.noop.
func (*NoOp) NodeInfo() node.Info {
	return node.Info{
		Type: "flow.noop", Pure: true, Title: "No operation", Category: "Flow", Icon: "circle-dot",
		Output:      node.PassThrough,
		Description: "Passes its input on unchanged: a junction, a placeholder or a named point in the graph.",
		Inputs:      portIn, Outputs: portOut,
		Schema: json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{}}`),
		Docs: `Does nothing but pass its input on. Use it to join branches before one next step, as a placeholder
while drawing, or to give a point of the graph a name that expressions can refer to
(` + "`{{ nodes.checkpoint.output }}`" + `).

## Configuration

None.

## Output

The input, unchanged, on ` + "`out`" + `.

## Limits

None: the input is not copied.

## Errors

None.

## Example

Config ` + "`{}`" + ` with input ` + "`{\"id\": 7}`" + ` outputs ` + "`{\"id\": 7}`" + `.`,
		New: func() node.Node { return &NoOp{} },
	}
}

// Execute passes the input through.
func (*NoOp) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	return node.Out(in.Data), nil
}

// Stop ends the execution successfully with an output.
type Stop struct {
	// Output is the execution's output; nil means the node's input.
	Output any `json:"output,omitempty"`
}

// NodeInfo describes flow.stop.
func (*Stop) NodeInfo() node.Info {
	return node.Info{
		Type: "flow.stop", Pure: true, Title: "Stop", Category: "Flow", Icon: "circle-stop",
		Description: "Ends the execution successfully at once, with the given output (default: its input). " +
			"Nodes still running are canceled and nodes not started are skipped.",
		Inputs: portIn, Outputs: portOut,
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "output": {"title": "Output", "description": "The execution's output, a value or an {{ expression }}; default: this node's input", "x-cm-expression": true,
      "examples": ["{{ {status: 'skipped', reason: 'no new orders'} }}"]}
  }
}`),
		Docs: `Ends the execution **successfully** as soon as it runs: the execution's output is ` + "`output`" + `
(or, when left out, this node's input). Nodes of other branches that are still running are canceled
(their runs say "node <id> stopped the execution"), waiting nodes and pending retries are canceled, and
nodes that never started are skipped. Use ` + "`flow.fail`" + ` to end a run as failed instead.

## Configuration

- ` + "`output`" + ` (any, optional): the execution's output, usually an expression.

## Output

The output value on ` + "`out`" + ` (nothing runs after it) and as the execution's output.

## Limits

The output is bounded like every node output (CM_MAX_OUTPUT_BYTES).

## Errors

None of its own; an expression in ` + "`output`" + ` that fails fails the node (code ` + "`expression`" + `).

## Example

After a ` + "`flow.if`" + ` that finds nothing to do:

` + "```json" + `
{"id": "nothing", "type": "flow.stop", "config": {"output": {"processed": 0}}}
` + "```" + `

The execution succeeds with output ` + "`{\"processed\": 0}`" + `.`,
		New: func() node.Node { return &Stop{} },
	}
}

// Execute emits the output and asks the engine to stop.
func (n *Stop) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	out := n.Output
	if out == nil {
		out = in.Data
	}
	return node.Output{Port: "out", Value: out, Stop: true}, nil
}

// Respond decides the answer to the webhook request that started the execution.
type Respond struct {
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

// NodeInfo describes http.respond.
func (*Respond) NodeInfo() node.Info {
	return node.Info{
		Type: "http.respond", Title: "Respond to webhook", Category: "HTTP", Icon: "reply",
		Description: "Answers the webhook request that started the run with a status, headers and body, at this point of the run; " +
			"the run goes on. Passes its input on.",
		Inputs: portIn, Outputs: portOut,
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "status": {"type": "integer", "title": "Status", "description": "HTTP status code (default 200)", "minimum": 200, "maximum": 599, "default": 200, "examples": [200, 201, 400]},
    "headers": {"type": "object", "title": "Headers", "description": "Response headers; values may be {{ expressions }}",
      "maxProperties": 50, "propertyNames": {"pattern": "^[A-Za-z0-9!#$%&'*+.^_|~-]{1,100}$"}, "additionalProperties": {"type": "string", "maxLength": 4096},
      "examples": [{"Content-Type": "text/plain", "X-Request-Id": "{{ execution.id }}"}]},
    "body": {"title": "Body", "description": "A value or an {{ expression }}: strings are sent as they are (text/plain unless Content-Type says otherwise), anything else as JSON; default: this node's input",
      "x-cm-expression": true, "examples": ["{{ {ok: true, id: input.id} }}"]}
  }
}`),
		Docs: `Answers the HTTP request of the ` + "`trigger.webhook`" + ` that started the execution — n8n's "Respond to
Webhook". The webhook (with ` + "`respond: onCompletion`" + `, the default) answers as soon as this node has run,
with its status, headers and body, instead of waiting for the end of the run; the run goes on and its
later nodes run as usual. Only the first ` + "`http.respond`" + ` of a run answers; later ones are recorded
(an ` + "`execution.responded`" + ` event) but the request has been answered. In runs not started by a webhook
(manual, schedule, sub-workflow) the node only passes its input on.

If the run fails before any ` + "`http.respond`" + `, the webhook answers with the failure (502) as usual; if it
outlasts CM_WEBHOOK_TIMEOUT, with 202 and the execution id.

## Configuration

- ` + "`status`" + ` (integer, 200–599, default 200).
- ` + "`headers`" + ` (object of strings): response headers. Hop-by-hop headers (Connection, Transfer-Encoding…),
  Content-Length and Set-Cookie are refused.
- ` + "`body`" + ` (any, default: the node's input): a string is sent as it is (` + "`text/plain; charset=utf-8`" + `
  unless a Content-Type header is set), any other value as JSON.

## Output

Its input, unchanged, on ` + "`out`" + `.

## Limits

The body is bounded by CM_MAX_OUTPUT_BYTES like any node output.

## Errors

- ` + "`invalid_config`" + `: a header that may not be set, or a status out of range after evaluation.

## Example

` + "```json" + `
{"id": "ack", "type": "http.respond", "config": {"status": 202, "body": {"accepted": "{{ input.body.id }}"}}}
` + "```" + `

The caller gets ` + "`202 {\"accepted\": 42}`" + ` at once while the rest of the workflow processes order 42.`,
		New: func() node.Node { return &Respond{} },
	}
}

// forbiddenResponseHeaders are headers a workflow may not set on a webhook's answer: the server owns
// framing, and cookies would let a workflow plant state in whoever calls the webhook.
var forbiddenResponseHeaders = map[string]bool{
	"connection": true, "content-length": true, "transfer-encoding": true, "keep-alive": true, "upgrade": true,
	"te": true, "trailer": true, "proxy-connection": true, "set-cookie": true, "date": true,
}

// Validate checks the status and headers, unless they are templates.
func (n *Respond) Validate() error {
	if n.Status != 0 && (n.Status < 200 || n.Status > 599) {
		return fmt.Errorf("status %d: must be between 200 and 599", n.Status)
	}
	for name, v := range n.Headers {
		if forbiddenResponseHeaders[strings.ToLower(name)] {
			return fmt.Errorf("headers: %s may not be set by a workflow", http.CanonicalHeaderKey(name))
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("headers: the value of %s holds a line break or NUL", http.CanonicalHeaderKey(name))
		}
	}
	return nil
}

// Execute records the response and passes its input on.
func (n *Respond) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	status := n.Status
	if status == 0 {
		status = http.StatusOK
	}
	body := n.Body
	if body == nil {
		body = in.Data
	}
	return node.Output{Port: "out", Value: in.Data, Response: &node.Response{Status: status, Headers: n.Headers, Body: body}}, nil
}

// ErrorTrigger starts an error workflow when a run of another workflow fails.
type ErrorTrigger struct{}

// NodeInfo describes trigger.error.
func (*ErrorTrigger) NodeInfo() node.Info {
	return node.Info{
		Type: "trigger.error", Title: "Error trigger", Category: "Triggers", Icon: "siren",
		Output: json.RawMessage(`{"type":"object","properties":{"execution":{"type":"object","properties":{"id":{"type":"string"},"workflowId":{"type":"string"},"workflowName":{"type":"string"},"workflowVersion":{"type":"integer"},"trigger":{"type":"string"},"retryOf":{"type":"string"},"startedAt":{"type":"string"},"finishedAt":{"type":"string"}}},"node":{"type":"object","properties":{"id":{"type":"string"},"type":{"type":"string"}}},"error":{"type":"object","properties":{"message":{"type":"string"},"code":{"type":"string"}}}}}`),
		Description: "Starts this workflow when a run of a workflow whose settings name this one as errorWorkflow fails. " +
			"Its output describes the failed execution, node and error.",
		Outputs: portOut,
		Schema:  json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{}}`),
		Docs: `Makes this workflow an **error workflow**. Another workflow names it in its settings
(` + "`\"settings\": {\"errorWorkflow\": \"<this workflow's id>\"}`" + `); whenever a run of that workflow fails (a node
failed without an error route, the run timed out, or its version could not run), this workflow starts at
its ` + "`trigger.error`" + ` node. The error workflow runs whether or not it is active, in the same tenant, and
at most once per failed run. Failures of an error workflow's own runs do not start error workflows
(no loops).

## Configuration

None.

## Output

` + "```json" + `
{
  "execution": {"id": "…", "workflowId": "…", "workflowName": "Orders", "workflowVersion": 3,
                "trigger": "webhook", "startedAt": "…", "finishedAt": "…", "retryOf": ""},
  "node": {"id": "charge", "type": "http.request"},
  "error": {"message": "node charge failed: POST https://… answered 503", "code": "http_status"}
}
` + "```" + `

` + "`node`" + ` is null when the failure was not a node's (a timeout of the whole run).

## Limits

None of its own.

## Errors

None.

## Example

An error workflow ` + "`trigger.error → http.request`" + ` that posts
` + "`{{ 'Run ' + input.execution.id + ' of ' + input.execution.workflowName + ' failed: ' + input.error.message }}`" + `
to a chat webhook.`,
		New: func() node.Node { return &ErrorTrigger{} },
	}
}

// Execute passes the failure description through.
func (*ErrorTrigger) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	return node.Out(in.Data), nil
}

var (
	_ node.Node      = (*NoOp)(nil)
	_ node.Node      = (*Stop)(nil)
	_ node.Validator = (*Respond)(nil)
	_ node.Node      = (*ErrorTrigger)(nil)
)
