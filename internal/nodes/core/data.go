package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/concertmaster/concertmaster/internal/node"
)

// Set adds or replaces fields: its output is the input object plus Fields.
type Set struct {
	Fields map[string]any `json:"fields"`
	// KeepInput, when false, outputs only the fields. Nil means true.
	KeepInput *bool `json:"keepInput,omitempty"`
}

// NodeInfo describes data.set.
func (*Set) NodeInfo() node.Info {
	return node.Info{
		Type: "data.set", Pure: true, Title: "Set fields", Category: "Data", Icon: "pencil",
		Output: json.RawMessage(`{"type":"object","x-cm-fields":"fields","x-cm-keep-input":"keepInput"}`),
		Description: "Outputs the input object with the given fields added or replaced. A field name with dots " +
			"(customer.address.city) sets a nested value. Values may be {{ expressions }}.",
		Docs:   docsSet,
		Inputs: portIn, Outputs: portOut,
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["fields"],
  "properties": {
    "fields": {"type": "object", "title": "Fields", "description": "Field name to value or {{ expression }}; a name with dots (customer.tier) sets a nested value", "propertyNames": {"minLength": 1, "maxLength": 256},
      "examples": [{"total": "{{ input.qty * input.price }}", "customer.tier": "gold"}]},
    "keepInput": {"type": "boolean", "title": "Keep input", "description": "Start from the input object (default true); when false, output only these fields", "default": true}
  }
}`),
		New: func() node.Node { return &Set{} },
	}
}

// Execute copies the input (never modifying it) and sets the fields.
func (s *Set) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	out := map[string]any{}
	if s.KeepInput == nil || *s.KeepInput {
		if obj, ok := in.Data.(map[string]any); ok {
			out = make(map[string]any, len(obj)+len(s.Fields))
			for k, v := range obj {
				out[k] = v
			}
		}
	}
	for name, v := range s.Fields {
		setPath(out, strings.Split(name, "."), v)
	}
	return node.Out(out), nil
}

// setPath sets v at path inside m, copying every object along the way so that shared input values
// stay untouched.
func setPath(m map[string]any, path []string, v any) {
	if len(path) == 1 {
		m[path[0]] = v
		return
	}
	child, _ := m[path[0]].(map[string]any)
	copied := make(map[string]any, len(child)+1)
	for k, cv := range child {
		copied[k] = cv
	}
	m[path[0]] = copied
	setPath(copied, path[1:], v)
}

// Transform outputs the value of one expression.
type Transform struct {
	Expression any `json:"expression"`
}

// NodeInfo describes data.transform.
func (*Transform) NodeInfo() node.Info {
	return node.Info{
		Type: "data.transform", Pure: true, Title: "Transform", Category: "Data", Icon: "square-function",
		Description: "Outputs the value of an expression, such as {{ map(input.items, ({id: #.id, total: #.qty * #.price})) }}.",
		Docs:        docsTransform,
		Inputs:      portIn, Outputs: portOut,
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["expression"],
  "properties": {
    "expression": {"title": "Expression", "description": "A {{ expression }} whose value becomes the output; an object or array is evaluated field by field", "x-cm-expression": true,
      "examples": ["{{ map(input.items, ({sku: #.sku, total: #.qty * #.price})) }}", "{{ input.first }} {{ input.last }}", {"id": "{{ input.id }}", "source": "shop"}]}
  }
}`),
		New: func() node.Node { return &Transform{} },
	}
}

// Execute outputs the evaluated expression.
func (t *Transform) Execute(_ context.Context, _ *node.Input) (node.Output, error) {
	return node.Out(t.Expression), nil
}

// Filter keeps the elements of an array for which a condition holds.
type Filter struct {
	// Items is the array to filter; nil means the input, which must then be an array.
	Items any `json:"items,omitempty"`
	// Condition is a lazy template evaluated per element with item and index bound.
	Condition string `json:"condition"`
}

// NodeInfo describes data.filter.
func (*Filter) NodeInfo() node.Info {
	return node.Info{
		Type: "data.filter", Pure: true, Title: "Filter", Category: "Data", Icon: "filter",
		Output:      node.PassThrough,
		Description: "Keeps the elements of an array for which the condition holds. The condition sees each element as item and its position as index.",
		Docs:        docsFilter,
		Inputs:      portIn, Outputs: portOut,
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["condition"],
  "properties": {
    "items": {"title": "Items", "description": "The array to filter, e.g. {{ input.orders }}; default: the input", "examples": ["{{ input.orders }}"]},
    "condition": {"type": "string", "title": "Condition", "description": "Evaluated per element, with the element as item and its position as index; the elements for which it is truthy are kept", "minLength": 1, "x-cm-expression": true,
      "examples": ["{{ item.total > 100 }}", "{{ index < 10 && item.status != 'canceled' }}"]}
  }
}`),
		Lazy: []string{"condition"},
		New:  func() node.Node { return &Filter{} },
	}
}

// Execute evaluates the condition for each element.
func (f *Filter) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	src := f.Items
	if src == nil {
		src = in.Data
	}
	items, ok := src.([]any)
	if !ok {
		return node.Output{}, node.Permanent(node.Errorf("not_array", "data.filter needs an array to filter, got %s", kindOf(src)))
	}
	out := make([]any, 0, len(items))
	for i, item := range items {
		if err := ctx.Err(); err != nil {
			return node.Output{}, err
		}
		keep, err := in.Eval(ctx, f.Condition, item, i)
		if err != nil {
			return node.Output{}, node.Permanent(fmt.Errorf("condition for element %d: %w", i, err))
		}
		if Truthy(keep) {
			out = append(out, item)
		}
	}
	return node.Out(out), nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, int, int64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

var (
	_ node.Node = (*Set)(nil)
	_ node.Node = (*Transform)(nil)
	_ node.Node = (*Filter)(nil)
)
