package records

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/concertmaster/concertmaster/internal/node"
)

// Limit ends.
const (
	FromStart = "start"
	FromEnd   = "end"
)

// Limit keeps at most Max elements of an array, after skipping Offset, counted from the start or
// from the end.
type Limit struct {
	// Items is the array; nil means the input.
	Items any `json:"items,omitempty"`
	// Max is the most elements to keep.
	Max int `json:"max"`
	// Offset is how many elements to skip first.
	Offset int `json:"offset,omitempty"`
	// From is start (default) or end.
	From string `json:"from,omitempty"`
}

//go:embed docs/limit.md
var limitDocs string

// NodeInfo describes data.limit.
func (*Limit) NodeInfo() node.Info {
	return node.Info{
		Type: "data.limit", Pure: true, Title: "Limit", Category: "Data", Icon: "list-end",
		Output:      node.PassThrough,
		Description: "Keeps at most max elements of an array, after skipping offset, from its start or its end.",
		Docs:        limitDocs,
		Inputs:      portIn, Outputs: []node.PortSpec{{Name: "out", Title: "Kept", Description: "The kept elements, in their order"}},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["max"],
  "properties": {
    "items": {"title": "Items", "description": "The array; default: the input", "examples": ["{{ input.rows }}"], "x-cm-expression": true},
    "max": {"type": "integer", "title": "Maximum", "description": "The most elements to keep", "minimum": 0, "examples": [10]},
    "offset": {"type": "integer", "title": "Offset", "description": "Elements to skip first (default 0)", "minimum": 0, "default": 0, "examples": [20]},
    "from": {"type": "string", "title": "From", "description": "Count from the start (default) or from the end", "enum": ["start", "end"], "default": "start"}
  }
}`),
		New: func() node.Node { return &Limit{} },
	}
}

// Execute copies the kept elements.
func (l *Limit) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	items, _, err := itemsOf("data.limit", l.Items, in)
	if err != nil {
		return node.Output{}, err
	}
	if l.Max < 0 || l.Offset < 0 {
		return node.Output{}, permanent("invalid_config", "max and offset must not be negative (max %d, offset %d)", l.Max, l.Offset)
	}
	n := len(items)
	start := min(l.Offset, n)
	end := start + min(l.Max, n-start)
	if l.From == FromEnd {
		start, end = n-end, n-start
	}
	if err := reserve(in, "data.limit", int64(end-start)*16); err != nil {
		return node.Output{}, fmt.Errorf("data.limit: %w", err)
	}
	out := make([]any, end-start)
	copy(out, items[start:end])
	return node.Out(out), nil
}

var _ node.Node = (*Limit)(nil)
