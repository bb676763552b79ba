package records

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/concertmaster/concertmaster/internal/node"
)

// RenameField moves the value at From to To.
type RenameField struct {
	// From is the dot path of the field to rename.
	From string `json:"from"`
	// To is its new dot path.
	To string `json:"to"`
}

// Rename renames fields of an object, or of every object of an array.
type Rename struct {
	// Items is the object or array; nil means the input.
	Items any `json:"items,omitempty"`
	// Renames are applied together: every From is read from the original object.
	Renames []RenameField `json:"renames"`
	// DropOthers outputs only the renamed fields.
	DropOthers bool `json:"dropOthers,omitempty"`
}

//go:embed docs/rename.md
var renameDocs string

// NodeInfo describes data.rename.
func (*Rename) NodeInfo() node.Info {
	return node.Info{
		Type: "data.rename", Pure: true, Title: "Rename fields", Category: "Data", Icon: "text-cursor-input",
		Description: "Renames or moves fields of an object, or of every object of an array; optionally drops the fields it does not rename.",
		Docs:        renameDocs,
		Inputs:      portIn, Outputs: []node.PortSpec{{Name: "out", Title: "Renamed", Description: "The object or array with fields renamed"}},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["renames"],
  "properties": {
    "items": {"title": "Items", "description": "The object or array of objects; default: the input", "examples": ["{{ input.customers }}"], "x-cm-expression": true},
    "renames": {
      "type": "array", "title": "Renames", "description": "Fields to rename, applied together", "minItems": 1, "maxItems": 100,
      "examples": [[{"from": "cust_name", "to": "customer.name"}]],
      "items": {
        "type": "object", "title": "Rename", "additionalProperties": false, "required": ["from", "to"],
        "properties": {
          "from": {"type": "string", "title": "From", "description": "Dot path of the field to rename", "minLength": 1, "maxLength": 1024, "examples": ["cust_name"]},
          "to": {"type": "string", "title": "To", "description": "Its new dot path", "minLength": 1, "maxLength": 1024, "examples": ["customer.name"]}
        }
      }
    },
    "dropOthers": {"type": "boolean", "title": "Drop other fields", "description": "Output only the renamed fields", "default": false}
  }
}`),
		New: func() node.Node { return &Rename{} },
	}
}

type renameSpec struct{ from, to path }

func (r *Rename) specs(skipTemplates bool) ([]renameSpec, error) {
	var errs []error
	if len(r.Renames) > MaxFields {
		errs = append(errs, fmt.Errorf("renames: %d renames, over the %d limit", len(r.Renames), MaxFields))
	}
	out := make([]renameSpec, 0, len(r.Renames))
	targets := map[string]int{}
	for i, rn := range r.Renames {
		if skipTemplates && (templated(rn.From) || templated(rn.To)) {
			continue
		}
		from, err := parsePath(rn.From)
		if err != nil {
			errs = append(errs, fmt.Errorf("renames[%d]: the from path %w", i, err))
		}
		to, err := parsePath(rn.To)
		if err != nil {
			errs = append(errs, fmt.Errorf("renames[%d]: the to path %w", i, err))
		}
		if j, dup := targets[rn.To]; dup {
			errs = append(errs, fmt.Errorf("renames[%d]: to %q is also the target of renames[%d]", i, rn.To, j))
		}
		targets[rn.To] = i
		out = append(out, renameSpec{from: from, to: to})
	}
	return out, errors.Join(errs...)
}

// Validate checks the paths and that no two renames share a target.
func (r *Rename) Validate() error {
	_, err := r.specs(true)
	return err
}

// Execute renames on copies.
func (r *Rename) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	specs, err := r.specs(false)
	if err != nil {
		return node.Output{}, permanent("invalid_config", "%v", err)
	}
	src, name := r.Items, "items"
	if src == nil {
		src, name = in.Data, "input"
	}
	switch x := src.(type) {
	case map[string]any:
		if err := reserve(in, "data.rename", 48*int64(len(x)+len(specs))); err != nil {
			return node.Output{}, err
		}
		return node.Out(r.renameOne(x, specs)), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			if err := checkCtx(ctx, i); err != nil {
				return node.Output{}, err
			}
			obj, ok := e.(map[string]any)
			if !ok {
				return node.Output{}, permanent("not_object", "%s[%d] is %s, not an object: data.rename renames fields of objects", name, i, kindOf(e))
			}
			if err := reserve(in, "data.rename", 48*int64(len(obj)+len(specs))+16); err != nil {
				return node.Output{}, err
			}
			out[i] = r.renameOne(obj, specs)
		}
		return node.Out(out), nil
	}
	return node.Output{}, permanent("not_object", "data.rename needs an object or an array of objects in %s, got %s", name, kindOf(src))
}

// renameOne reads every from value of obj first, then removes them and sets the targets, on a copy.
func (r *Rename) renameOne(obj map[string]any, specs []renameSpec) map[string]any {
	values := make([]any, len(specs))
	present := make([]bool, len(specs))
	for i, s := range specs {
		values[i], present[i] = s.from.get(obj)
	}
	var out map[string]any
	if r.DropOthers {
		out = make(map[string]any, len(specs))
	} else {
		out = make(map[string]any, len(obj))
		for k, v := range obj {
			out[k] = v
		}
		for i, s := range specs {
			if present[i] {
				s.from.del(out)
			}
		}
	}
	for i, s := range specs {
		if present[i] {
			s.to.set(out, values[i])
		}
	}
	return out
}

var (
	_ node.Node      = (*Rename)(nil)
	_ node.Validator = (*Rename)(nil)
)
