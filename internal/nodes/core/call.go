package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
)

// Call runs another workflow as a sub-workflow (a child execution).
type Call struct {
	WorkflowID string `json:"workflowId"`
	Version    int    `json:"version,omitempty"`
	Input      any    `json:"input,omitempty"`
	// Wait, nil meaning true, parks the parent until the child finishes and outputs its output.
	Wait    *bool  `json:"wait,omitempty"`
	Timeout string `json:"timeout,omitempty"`
}

// CallError codes.
const (
	CodeChildFailed   = "child_failed"
	CodeChildCanceled = "child_canceled"
	CodeCallTimeout   = "timeout"
)

// ErrCall marks a child that cannot be started (unknown workflow, cycle, depth); the host wraps it.
var ErrCall = errors.New("cannot call workflow")

// NodeInfo describes flow.call.
func (*Call) NodeInfo() node.Info {
	return node.Info{
		Type: "flow.call", Title: "Call workflow", Category: "Flow", Icon: "workflow", Signals: true,
		Description: "Runs another workflow as a sub-workflow. With wait (the default) the run parks, without holding anything, until " +
			"the child finishes and outputs the child's output; without it, it outputs the child's execution id at once.",
		Inputs: portIn, Outputs: []node.PortSpec{{Name: "out", Title: "Output", Description: "The child's output (wait) or its execution id"}},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["workflowId"],
  "properties": {
    "workflowId": {"type": "string", "title": "Workflow", "description": "Id of the workflow to run (in this workspace)", "minLength": 1, "maxLength": 64, "examples": ["wf_0193…"]},
    "version": {"type": "integer", "title": "Version", "description": "Version to run (default: the latest)", "minimum": 1},
    "input": {"title": "Input", "description": "The child's input, a value or an {{ expression }} (default: this node's input)", "x-cm-expression": true, "examples": ["{{ {orderId: item.id} }}"]},
    "wait": {"type": "boolean", "title": "Wait for the child", "description": "Park until the child finishes and output its output (default true); when false output its execution id at once", "default": true},
    "timeout": {"type": "string", "title": "Timeout", "description": "With wait: give up after this long, e.g. 1h (default: no limit)", "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"}
  }
}`),
		Docs: callDocs,
		New:  func() node.Node { return &Call{} },
	}
}

func (c *Call) waits() bool { return c.Wait == nil || *c.Wait }

// Validate checks the timeout unless it is a template.
func (c *Call) Validate() error {
	if c.Timeout != "" && !strings.Contains(c.Timeout, "{{") {
		if d, err := time.ParseDuration(c.Timeout); err != nil || d <= 0 {
			return fmt.Errorf("timeout %q: must be a positive duration such as 1h", c.Timeout)
		}
	}
	return nil
}

// CallKey is the key of the child one attempt (and forEach element) starts: a retry starts a new
// child, a resume finds the same one.
func CallKey(in *node.Input) string {
	key := strconv.Itoa(in.Execution.Attempt)
	if e := in.Element; e != nil {
		key += "/" + strconv.Itoa(e.Index) + "/" + strconv.Itoa(e.Attempt)
	}
	return key
}

// Execute starts the child (or finds the one this attempt started) and, with wait, outputs its
// result once it has finished, suspending until then.
func (c *Call) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	if in.Host == nil {
		return node.Output{}, node.Permanent(node.ErrNoHost)
	}
	key := CallKey(in)
	child, err := in.Host.Child(ctx, key)
	if err != nil {
		return node.Output{}, fmt.Errorf("read child executions: %w", err)
	}
	if child == nil {
		input := c.Input
		if input == nil {
			input = in.Data
		}
		child, err = in.Host.StartChild(ctx, node.ChildRequest{Key: key, WorkflowID: c.WorkflowID, Version: c.Version, Input: input})
		if err != nil {
			if errors.Is(err, ErrCall) {
				return node.Output{}, node.Permanent(err)
			}
			return node.Output{}, fmt.Errorf("start child execution: %w", err)
		}
	}
	if !c.waits() {
		return node.Out(map[string]any{"executionId": child.ID, "workflowId": child.WorkflowID, "status": child.Status}), nil
	}
	if child.Finished() {
		return childResult(child)
	}
	// The deadline counts from the child's creation, so that it holds across resumes and for every
	// forEach element alike.
	deadline := time.Now().Add(WaitForever)
	if c.Timeout != "" {
		d, err := waitTimeout(c.Timeout)
		if err != nil {
			return node.Output{}, err
		}
		deadline = child.CreatedAt.Add(d)
		if !time.Now().Before(deadline) {
			return node.Output{}, &node.Error{Code: CodeCallTimeout, Message: fmt.Sprintf("child execution %s did not finish within %s", child.ID, c.Timeout),
				Details: map[string]any{"executionId": child.ID}}
		}
	}
	return node.Output{}, node.Suspend(deadline)
}

func childResult(child *node.Child) (node.Output, error) {
	switch child.Status {
	case "succeeded":
		var v any
		if len(child.Output) > 0 {
			if err := json.Unmarshal(child.Output, &v); err != nil {
				return node.Output{}, node.Permanent(fmt.Errorf("decode output of child execution %s: %w", child.ID, err))
			}
		}
		return node.Out(v), nil
	case "canceled":
		return node.Output{}, node.Permanent(&node.Error{Code: CodeChildCanceled, Message: fmt.Sprintf("child execution %s was canceled", child.ID),
			Details: map[string]any{"executionId": child.ID}})
	}
	msg := child.Error
	if msg == "" {
		msg = "it failed"
	}
	// Not permanent: the node's retry policy may start a new child.
	return node.Output{}, &node.Error{Code: CodeChildFailed, Message: fmt.Sprintf("child execution %s failed: %s", child.ID, msg),
		Details: map[string]any{"executionId": child.ID, "code": child.ErrorCode}}
}

const callDocs = `Runs another workflow of the same workspace as a **sub-workflow**: a child execution that starts at
the child workflow's ` + "`trigger.manual`" + ` node (its first one) with ` + "`input`" + ` as the trigger's data. The
child is linked to its parent: the API shows ` + "`parentExecutionId`" + ` on the child and lists a parent's
children (` + "`GET /api/v1/executions?parentExecutionId=…`" + `), and the execution pages link both ways.
Canceling the parent cancels its children.

With ` + "`wait`" + ` (the default) the parent **parks durably** — status ` + "`waiting`" + `, no goroutine held — until the
child finishes, then outputs the child's output. A failed child fails the node with code
` + "`child_failed`" + `, which the node's ` + "`retry`" + ` policy may retry (each attempt starts a new child). Without
` + "`wait`" + ` the node outputs ` + "`{executionId, workflowId, status}`" + ` at once and the child runs on its own.

**Batches**: set ` + "`forEach`" + ` and ` + "`concurrency`" + ` on the node to run one child per element, at most
` + "`concurrency`" + ` at a time; the node outputs the children's outputs in order. Waiting elements hold their
slot, and the parent parks while every slot waits.

Calls are idempotent per attempt: after a crash or a wake-up the node finds the child it started
instead of starting another.

## Configuration

- ` + "`workflowId`" + ` (required): the workflow to run.
- ` + "`version`" + `: the version to run; default the latest at the time of the call.
- ` + "`input`" + `: the child's input; default this node's input (or the element, in forEach).
- ` + "`wait`" + `: default ` + "`true`" + `.
- ` + "`timeout`" + `: with ` + "`wait`" + `, fail with code ` + "`timeout`" + ` if the child has not finished by then (the child goes on).

## Output

With wait: the child's output (its execution output: the output node's, or its single sink's). Without:
` + "`{\"executionId\": \"…\", \"workflowId\": \"…\", \"status\": \"queued\"}`" + `.

## Limits

A chain of calls is at most 8 deep (code ` + "`call_depth`" + `), and a workflow that is already an ancestor of
the run cannot be called again (code ` + "`call_cycle`" + `: no recursion). At most 100,000 children per node run.

## Errors

- ` + "`workflow_not_found`" + `, ` + "`no_manual_trigger`" + `, ` + "`call_depth`" + `, ` + "`call_cycle`" + `: the child cannot start (not retried).
- ` + "`child_failed`" + ` (retryable), ` + "`child_canceled`" + `, ` + "`timeout`" + `.

## Example

` + "```json" + `
{"id": "each", "type": "flow.call", "forEach": "{{ input.orders }}", "concurrency": 10,
 "config": {"workflowId": "wf_invoice", "input": "{{ item }}"}}
` + "```" + `

Runs the invoice workflow once per order, ten at a time, and outputs the array of their outputs.`

var _ node.Validator = (*Call)(nil)
