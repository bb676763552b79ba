package records

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/concertmaster/concertmaster/internal/node"
)

// Which duplicate to keep.
const (
	KeepFirst = "first"
	KeepLast  = "last"
)

// Dedupe removes duplicate elements of an array.
type Dedupe struct {
	// Items is the array; nil means the input.
	Items any `json:"items,omitempty"`
	// Keys are the dot paths that identify an element; empty means the whole element.
	Keys []string `json:"keys,omitempty"`
	// By is a lazy expression evaluated per element (item, index) whose value identifies it.
	By string `json:"by,omitempty"`
	// Keep is first (default) or last.
	Keep string `json:"keep,omitempty"`
	// OutputRemoved outputs {items, removed} instead of the array.
	OutputRemoved bool `json:"outputRemoved,omitempty"`
}

//go:embed docs/dedupe.md
var dedupeDocs string

// NodeInfo describes data.dedupe.
func (*Dedupe) NodeInfo() node.Info {
	return node.Info{
		Type: "data.dedupe", Pure: true, Title: "Remove duplicates", Category: "Data", Icon: "copy-minus",
		Output:      node.PassThrough,
		Description: "Removes duplicate elements of an array, comparing whole elements, some of their fields or an expression per element.",
		Docs:        dedupeDocs,
		Inputs:      portIn, Outputs: []node.PortSpec{{Name: "out", Title: "Unique", Description: "The elements without duplicates"}},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "items": {"title": "Items", "description": "The array; default: the input", "examples": ["{{ input.contacts }}"], "x-cm-expression": true},
    "keys": {
      "type": "array", "title": "Keys", "description": "Dot paths that identify an element; empty: the whole element", "maxItems": 100,
      "items": {"type": "string", "title": "Field", "minLength": 1, "maxLength": 1024}, "examples": [["email"], ["customer.id", "sku"]]
    },
    "by": {"type": "string", "title": "Identify by expression", "description": "Evaluated per element (item, index) instead of keys", "maxLength": 4096, "examples": ["{{ lower(item.email) }}"], "x-cm-expression": true},
    "keep": {"type": "string", "title": "Keep", "description": "Which of the duplicates to keep", "enum": ["first", "last"], "default": "first"},
    "outputRemoved": {"type": "boolean", "title": "Output the count removed", "description": "Output {items, removed} instead of the array", "default": false}
  }
}`),
		Lazy: []string{"by"},
		New:  func() node.Node { return &Dedupe{} },
	}
}

// Validate checks the key paths and that keys and by are not both set.
func (d *Dedupe) Validate() error {
	var errs []error
	if len(d.Keys) > 0 && d.By != "" {
		errs = append(errs, errors.New("by: set either keys or by, not both"))
	}
	if _, err := fieldList("keys", d.Keys); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Execute keeps one element per identity.
func (d *Dedupe) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	items, name, err := itemsOf("data.dedupe", d.Items, in)
	if err != nil {
		return node.Output{}, err
	}
	keys, err := fieldList("keys", d.Keys)
	if err != nil {
		return node.Output{}, permanent("invalid_config", "%v", err)
	}
	// keep[i] tells whether element i survives; index maps an identity to the element kept for it.
	if err := reserve(in, "data.dedupe", int64(len(items))*17); err != nil {
		return node.Output{}, err
	}
	keep := make([]bool, len(items))
	index := make(map[string]int)
	var buf []byte
	for i, item := range items {
		if err := checkCtx(ctx, i); err != nil {
			return node.Output{}, err
		}
		buf = buf[:0]
		switch {
		case len(keys) > 0:
			for _, p := range keys {
				v, _ := p.get(item)
				buf = appendKey(buf, v)
			}
		case d.By != "":
			v, err := in.Eval(ctx, d.By, item, i)
			if err != nil {
				return node.Output{}, byError(ctx, name, i, err)
			}
			buf = appendKey(buf, v)
		default:
			buf = appendKey(buf, item)
		}
		j, dup := index[string(buf)]
		switch {
		case !dup:
			if err := reserve(in, "data.dedupe", int64(len(buf))+32); err != nil {
				return node.Output{}, fmt.Errorf("data.dedupe: %w", err)
			}
			index[string(buf)] = i
			keep[i] = true
		case d.Keep == KeepLast:
			keep[j], keep[i] = false, true
			index[string(buf)] = i
		}
	}
	out := make([]any, 0, len(index))
	for i, k := range keep {
		if k {
			out = append(out, items[i])
		}
	}
	if d.OutputRemoved {
		return node.Out(map[string]any{"items": out, "removed": float64(len(items) - len(out))}), nil
	}
	return node.Out(out), nil
}

var (
	_ node.Node      = (*Dedupe)(nil)
	_ node.Validator = (*Dedupe)(nil)
)
