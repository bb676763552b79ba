package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
)

// If routes its input to the "true" or the "false" port.
type If struct {
	Condition any `json:"condition"`
}

// NodeInfo describes flow.if.
func (*If) NodeInfo() node.Info {
	return node.Info{
		Type: "flow.if", Pure: true, Title: "If", Category: "Flow", Icon: "split",
		Output: node.PassThrough,
		Description: "Sends its input to the true port when the condition holds, to the false port otherwise. " +
			"The branch not taken is skipped.",
		Docs:   docsIf,
		Inputs: portIn,
		Outputs: []node.PortSpec{
			{Name: "true", Title: "True", Description: "The input, when the condition is truthy"},
			{Name: "false", Title: "False", Description: "The input, when it is not"},
		},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["condition"],
  "properties": {
    "condition": {"title": "Condition", "description": "Truthy sends the input to the true port; false, null, 0, empty strings, arrays and objects, \"false\" and \"0\" to the false port", "x-cm-expression": true,
      "examples": ["{{ input.total > 100 }}", "{{ input.status in ['paid', 'shipped'] }}"]}
  }
}`),
		New: func() node.Node { return &If{} },
	}
}

// Execute picks the port.
func (n *If) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	if Truthy(n.Condition) {
		return node.Emit("true", in.Data), nil
	}
	return node.Emit("false", in.Data), nil
}

// SwitchCase is one branch of a Switch.
type SwitchCase struct {
	Port      string `json:"port"`
	Condition any    `json:"condition"`
}

// Switch routes its input to the port of the first case whose condition holds, or to "default".
type Switch struct {
	Cases []SwitchCase `json:"cases"`
}

// SwitchDefaultPort is the port flow.switch uses when no case matches.
const SwitchDefaultPort = "default"

// NodeInfo describes flow.switch.
func (*Switch) NodeInfo() node.Info {
	return node.Info{
		Type: "flow.switch", Pure: true, Title: "Switch", Category: "Flow", Icon: "route",
		Output: node.PassThrough,
		Description: "Sends its input to the port of the first case whose condition holds, or to the default port. " +
			"Each case names its own output port.",
		Docs:    docsSwitch,
		Inputs:  portIn,
		Outputs: []node.PortSpec{{Name: SwitchDefaultPort, Title: "Default", Description: "The input, when no case matches"}},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["cases"],
  "properties": {
    "cases": {
      "type": "array", "title": "Cases", "description": "Checked in order: the input goes to the port of the first case whose condition is truthy", "minItems": 1, "maxItems": 32,
      "items": {
        "type": "object", "additionalProperties": false, "required": ["port", "condition"],
        "properties": {
          "port": {"type": "string", "title": "Port", "description": "Output port name: lowercase letters, digits and _, starting with a letter; not default or error", "pattern": "^[a-z][a-z0-9_]{0,30}$", "examples": ["urgent", "billing"]},
          "condition": {"title": "Condition", "description": "When truthy, the input goes to this case's port", "x-cm-expression": true, "examples": ["{{ input.priority == 'high' }}"]}
        }
      }
    }
  }
}`),
		New: func() node.Node { return &Switch{} },
	}
}

// OutputPorts returns the case ports and "default".
func (n *Switch) OutputPorts() []string {
	ports := make([]string, 0, len(n.Cases)+1)
	for _, c := range n.Cases {
		ports = append(ports, c.Port)
	}
	return append(ports, SwitchDefaultPort)
}

// Validate refuses duplicate ports and the reserved names.
func (n *Switch) Validate() error {
	seen := map[string]bool{}
	for i, c := range n.Cases {
		if c.Port == SwitchDefaultPort || c.Port == "error" {
			return fmt.Errorf("cases[%d]: port name %q is reserved", i, c.Port)
		}
		if seen[c.Port] {
			return fmt.Errorf("cases[%d]: port %q is used by an earlier case", i, c.Port)
		}
		seen[c.Port] = true
	}
	return nil
}

// Execute picks the first matching case.
func (n *Switch) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	for _, c := range n.Cases {
		if Truthy(c.Condition) {
			return node.Emit(c.Port, in.Data), nil
		}
	}
	return node.Emit(SwitchDefaultPort, in.Data), nil
}

// Merge modes.
const (
	MergeAll = "all"
	MergeAny = "any"
)

// Merge joins branches. In mode "all" it waits for every incoming branch that was not skipped and
// outputs their values keyed by source node id (or, with output "array", in edge order). In mode "any"
// it runs as soon as the first branch arrives and outputs that branch's value.
type Merge struct {
	Mode   string `json:"mode,omitempty"`
	Output string `json:"output,omitempty"`
}

// NodeInfo describes flow.merge.
func (*Merge) NodeInfo() node.Info {
	return node.Info{
		Type: "flow.merge", Pure: true, Title: "Merge", Category: "Flow", Icon: "merge",
		Description: "Joins branches. all waits for every branch that was not skipped and outputs their values keyed by " +
			"source node id; any continues with the first branch to arrive.",
		Docs:   docsMerge,
		Inputs: portIn, Outputs: portOut,
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "mode": {"type": "string", "title": "Mode", "description": "all waits for every branch that was not skipped; any continues with the first branch to arrive", "enum": ["all", "any"], "default": "all", "examples": ["any"]},
    "output": {"type": "string", "title": "Output shape", "description": "object keyed by source node id, or array in edge order (mode all)", "enum": ["object", "array"], "default": "object", "examples": ["array"]}
  }
}`),
		New: func() node.Node { return &Merge{} },
	}
}

// WaitForAny reports whether the node runs on the first arriving branch.
func (n *Merge) WaitForAny() bool { return n.Mode == MergeAny }

// Execute combines the sources.
func (n *Merge) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	if n.Mode == MergeAny {
		return node.Out(in.Data), nil
	}
	if n.Output == "array" {
		out := make([]any, 0, len(in.Sources))
		for _, s := range in.Sources {
			out = append(out, s.Value)
		}
		return node.Out(out), nil
	}
	out := make(map[string]any, len(in.Sources))
	for _, s := range in.Sources {
		out[s.Node] = s.Value
	}
	return node.Out(out), nil
}

// Delay waits for a duration or until a time, durably: the execution is suspended in the store and no
// goroutine waits.
type Delay struct {
	Duration string `json:"duration,omitempty"`
	Until    string `json:"until,omitempty"`
}

// NodeInfo describes flow.delay.
func (*Delay) NodeInfo() node.Info {
	return node.Info{
		Type: "flow.delay", Title: "Delay", Category: "Flow", Icon: "hourglass",
		Output: node.PassThrough,
		Description: "Waits for a duration (30s, 5m, 2h) or until a time (RFC 3339), then passes its input on. " +
			"The wait survives restarts.",
		Docs:   docsDelay,
		Inputs: portIn, Outputs: portOut,
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "duration": {"type": "string", "title": "Duration", "description": "How long to wait: a number with a unit (ms, s, m, h), combinable; set this or until", "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$", "examples": ["30s", "5m", "1h30m"]},
    "until": {"type": "string", "title": "Until", "description": "When to go on: an RFC 3339 time with its offset; set this or duration", "format": "date-time", "examples": ["2026-07-01T09:00:00+02:00", "{{ input.sendAt }}"]}
  },
  "oneOf": [{"required": ["duration"]}, {"required": ["until"]}]
}`),
		New: func() node.Node { return &Delay{} },
	}
}

// Validate checks the duration and time, unless they are templates.
func (n *Delay) Validate() error {
	if n.Duration != "" && !strings.Contains(n.Duration, "{{") {
		if _, err := time.ParseDuration(n.Duration); err != nil {
			return fmt.Errorf("duration %q: %w", n.Duration, err)
		}
	}
	if n.Until != "" && !strings.Contains(n.Until, "{{") {
		if _, err := time.Parse(time.RFC3339, n.Until); err != nil {
			return fmt.Errorf("until %q is not an RFC 3339 time", n.Until)
		}
	}
	return nil
}

// Execute suspends on the first call and passes the input on when resumed.
func (n *Delay) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	if in.Resume != nil {
		return node.Out(in.Data), nil
	}
	var until time.Time
	if n.Until != "" {
		t, err := time.Parse(time.RFC3339, n.Until)
		if err != nil {
			return node.Output{}, node.Permanent(fmt.Errorf("until %q is not an RFC 3339 time", n.Until))
		}
		until = t
	} else {
		d, err := time.ParseDuration(n.Duration)
		if err != nil {
			return node.Output{}, node.Permanent(fmt.Errorf("duration %q: %w", n.Duration, err))
		}
		until = time.Now().Add(d)
	}
	if !until.After(time.Now()) {
		return node.Out(in.Data), nil
	}
	return node.Output{}, node.Suspend(until)
}

// Fail fails the execution with a message.
type Fail struct {
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
}

// NodeInfo describes flow.fail.
func (*Fail) NodeInfo() node.Info {
	return node.Info{
		Type: "flow.fail", Pure: true, Title: "Fail", Category: "Flow", Icon: "octagon-x",
		Description: "Fails with the given message (and optional code). It is not retried.",
		Docs:        docsFail,
		Inputs:      portIn, Outputs: portOut,
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["message"],
  "properties": {
    "message": {"type": "string", "title": "Message", "description": "Why the run stops: the error's message", "minLength": 1, "maxLength": 4000, "examples": ["Order {{ input.id }} has no customer"]},
    "code": {"type": "string", "title": "Code", "description": "A machine-readable cause: the error's code", "maxLength": 100, "examples": ["missing_customer"]}
  }
}`),
		New: func() node.Node { return &Fail{} },
	}
}

// Execute fails permanently.
func (n *Fail) Execute(context.Context, *node.Input) (node.Output, error) {
	return node.Output{}, node.Permanent(&node.Error{Message: n.Message, Code: n.Code})
}

var (
	_ node.DynamicPorts = (*Switch)(nil)
	_ node.Validator    = (*Switch)(nil)
	_ node.Validator    = (*Delay)(nil)
	_ node.Node         = (*If)(nil)
	_ node.Node         = (*Merge)(nil)
	_ node.Node         = (*Fail)(nil)
)
