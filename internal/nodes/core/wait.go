package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
)

// Wait modes.
const (
	WaitWebhook  = "webhook"
	WaitApproval = "approval"
)

// Wait timeout handling.
const (
	OnTimeoutFail = "fail"
	OnTimeoutPort = "port"
)

// WaitTimeoutPort is the port flow.wait takes on timeout when onTimeout is "port".
const WaitTimeoutPort = "timeout"

// WaitForever is how far ahead a wait without timeout is parked.
const WaitForever = 100 * 365 * 24 * time.Hour

// Wait parks the execution until a request reaches its resume URL (mode webhook) or someone approves
// or rejects it (mode approval), durably: the execution waits in the store without a goroutine.
type Wait struct {
	Mode      string `json:"mode"`
	Timeout   string `json:"timeout,omitempty"`
	OnTimeout string `json:"onTimeout,omitempty"`
	Message   string `json:"message,omitempty"`
}

// NodeInfo describes flow.wait.
func (*Wait) NodeInfo() node.Info {
	return node.Info{
		Type: "flow.wait", Title: "Wait for event", Category: "Flow", Icon: "hand", Signals: true,
		Description: "Parks the run until a request reaches the execution's resume URL (webhook) or someone approves or rejects " +
			"it (approval). Durable across restarts; an optional timeout fails the node or takes the timeout port.",
		Inputs: portIn,
		Outputs: []node.PortSpec{{Name: "out", Title: "Resumed", Description: "The resume request or the decision"},
			{Name: WaitTimeoutPort, Title: "Timed out", Description: "Taken when the timeout passes and onTimeout is port"}},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["mode"],
  "properties": {
    "mode": {"type": "string", "title": "Wait for", "description": "webhook: a request to {{ execution.resumeUrl }}; approval: Approve / Reject on the execution page or the API", "enum": ["webhook", "approval"], "default": "approval"},
    "timeout": {"type": "string", "title": "Timeout", "description": "Give up after this long, e.g. 30m, 24h, 168h (default: wait forever)", "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$", "examples": ["24h"]},
    "onTimeout": {"type": "string", "title": "On timeout", "description": "fail the node (code timeout), or continue on the timeout port with the input", "enum": ["fail", "port"], "default": "fail"},
    "message": {"type": "string", "title": "Message", "description": "Shown to whoever decides (approval) and in the node's logs", "maxLength": 4000, "examples": ["Refund {{ input.amount }} EUR to {{ input.customer }}?"]}
  }
}`),
		Docs: waitDocs,
		New:  func() node.Node { return &Wait{} },
	}
}

// OutputPorts has the timeout port only when onTimeout is port.
func (w *Wait) OutputPorts() []string {
	if w.OnTimeout == OnTimeoutPort {
		return []string{"out", WaitTimeoutPort}
	}
	return []string{"out"}
}

// Validate checks the mode (which must be literal: the server decides from it who may resume the
// node) and the timeout.
func (w *Wait) Validate() error {
	if w.Mode != WaitWebhook && w.Mode != WaitApproval {
		return fmt.Errorf("mode %q: must be webhook or approval (not an expression)", w.Mode)
	}
	if w.Timeout != "" && !strings.Contains(w.Timeout, "{{") {
		d, err := time.ParseDuration(w.Timeout)
		if err != nil {
			return fmt.Errorf("timeout %q: %w", w.Timeout, err)
		}
		if d <= 0 {
			return fmt.Errorf("timeout %q: must be positive", w.Timeout)
		}
	}
	return nil
}

// Execute outputs the signal once it has arrived, takes the timeout when it has passed, and
// otherwise suspends until the deadline (a signal wakes the execution earlier).
func (w *Wait) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	if in.Host == nil {
		return node.Output{}, node.Permanent(node.ErrNoHost)
	}
	now := time.Now()
	var deadline time.Time
	if in.Resume != nil {
		deadline = in.Resume.WakeAt
	} else {
		d, err := waitTimeout(w.Timeout)
		if err != nil {
			return node.Output{}, err
		}
		deadline = now.Add(d)
		if w.Mode == WaitApproval {
			msg := w.Message
			if msg == "" {
				msg = "Waiting for a decision"
			}
			in.Logger.InfoContext(ctx, msg, "mode", w.Mode, "deadline", deadline.UTC().Format(time.RFC3339))
		} else {
			in.Logger.InfoContext(ctx, "Waiting for a request to the resume URL", "deadline", deadline.UTC().Format(time.RFC3339))
		}
	}
	sig, err := in.Host.Signal(ctx)
	if err != nil {
		return node.Output{}, fmt.Errorf("read signal: %w", err)
	}
	if sig != nil {
		var v any
		if err := json.Unmarshal(sig, &v); err != nil {
			return node.Output{}, node.Permanent(fmt.Errorf("decode signal: %w", err))
		}
		return node.Out(v), nil
	}
	if !now.Before(deadline) {
		if w.OnTimeout == OnTimeoutPort {
			return node.Emit(WaitTimeoutPort, in.Data), nil
		}
		return node.Output{}, node.Permanent(&node.Error{Code: "timeout", Message: fmt.Sprintf("no %s arrived before the timeout of %s", w.what(), w.Timeout)})
	}
	return node.Output{}, node.Suspend(deadline)
}

// waitTimeout is a timeout setting as a duration: WaitForever when empty, a permanent invalid_config
// error when it is not a positive duration (a template that evaluated to something else).
func waitTimeout(timeout string) (time.Duration, error) {
	if timeout == "" {
		return WaitForever, nil
	}
	d, err := time.ParseDuration(timeout)
	if err != nil || d <= 0 {
		return 0, node.Permanent(&node.Error{Code: "invalid_config", Message: fmt.Sprintf("timeout %q is not a positive duration", timeout)})
	}
	return d, nil
}

func (w *Wait) what() string {
	if w.Mode == WaitApproval {
		return "decision"
	}
	return "request to the resume URL"
}

const waitDocs = `Parks the execution until something outside happens. The wait is **durable**: the execution's
status becomes ` + "`waiting`" + ` in the store, no goroutine or connection is held, and a restart of the server
does not lose it.

- **mode webhook**: the run waits for an HTTP request to its resume URL, available to every node as
  ` + "`{{ execution.resumeUrl }}`" + ` — send it to someone or to a system (an e-mail link, a callback URL) in a
  node *before* the wait. A ` + "`POST`" + ` (any body up to the webhook body limit) or ` + "`GET`" + ` to that URL resumes the
  run; the node outputs the request. The URL holds an unguessable token bound to the execution; it
  needs no login. One request resumes one waiting ` + "`flow.wait`" + `; a request when no webhook-mode wait is
  waiting answers 409.
- **mode approval**: the execution page shows **Approve** and **Reject** buttons (with a comment) to
  editors of the workspace, and the API takes
  ` + "`POST /api/v1/executions/{id}/nodes/{nodeId}/approve`" + ` or ` + "`…/reject`" + ` with ` + "`{\"comment\": \"…\"}`" + `.
  The first decision wins; a second one answers 409.

## Configuration

- ` + "`mode`" + ` (required): ` + "`webhook`" + ` or ` + "`approval`" + `; a literal, not an expression.
- ` + "`timeout`" + `: how long to wait (` + "`30m`" + `, ` + "`24h`" + `); default forever.
- ` + "`onTimeout`" + `: ` + "`fail`" + ` (default: the node fails with code ` + "`timeout`" + `) or ` + "`port`" + ` (the node emits its
  input on the ` + "`timeout`" + ` port).
- ` + "`message`" + `: text shown to the approver and written to the node's logs.

## Output

Mode webhook, on ` + "`out`" + `:

` + "```json" + `
{"method": "POST", "headers": {"content-type": "application/json"}, "query": {}, "body": {"ok": true}, "receivedAt": "2026-12-01T10:00:00Z"}
` + "```" + `

Credential headers are stored as ` + "`[redacted]`" + `, as for webhooks.

Mode approval, on ` + "`out`" + `:

` + "```json" + `
{"decision": "approved", "approved": true, "comment": "fine", "by": {"userId": "…", "email": "ada@example.com"}, "at": "2026-12-01T10:00:00Z"}
` + "```" + `

A rejection is also emitted on ` + "`out`" + ` (` + "`\"approved\": false`" + `): route it with a ` + "`flow.if`" + ` on
` + "`{{ input.approved }}`" + `.

## Limits

Inside ` + "`forEach`" + ` every element waits on the same node: use one ` + "`flow.wait`" + ` per decision instead.
Requests to the resume URL are bounded like webhook requests.

## Errors

- ` + "`timeout`" + `: the timeout passed with ` + "`onTimeout: fail`" + `.

## Example

` + "```json" + `
{"id": "approve", "type": "flow.wait", "config": {"mode": "approval", "timeout": "48h", "onTimeout": "port",
 "message": "Refund {{ input.amount }} EUR?"}}
` + "```" + ``

var (
	_ node.Validator    = (*Wait)(nil)
	_ node.DynamicPorts = (*Wait)(nil)
)
