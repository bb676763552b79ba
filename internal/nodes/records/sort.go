package records

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
)

// Sort orders.
const (
	OrderAsc  = "asc"
	OrderDesc = "desc"
)

// SortKey is one sort key: a field, its order and how its strings compare.
type SortKey struct {
	// Field is the dot path of the value to sort by.
	Field string `json:"field"`
	// Order is asc (default) or desc.
	Order string `json:"order,omitempty"`
	// CaseInsensitive compares strings ignoring case.
	CaseInsensitive bool `json:"caseInsensitive,omitempty"`
	// Natural compares runs of digits inside strings by value (file2 before file10).
	Natural bool `json:"natural,omitempty"`
}

// Sort orders an array, stably, by keys or by a per-item expression.
type Sort struct {
	// Items is the array to sort; nil means the input.
	Items any `json:"items,omitempty"`
	// Keys are the fields to sort by, the first one first.
	Keys []SortKey `json:"keys,omitempty"`
	// By is a lazy expression evaluated per element (item, index); its value, or the elements of
	// the array it yields, are the sort keys. Used instead of Keys.
	By string `json:"by,omitempty"`
	// Order, CaseInsensitive and Natural apply to By and to sorting the elements themselves.
	Order           string `json:"order,omitempty"`
	CaseInsensitive bool   `json:"caseInsensitive,omitempty"`
	Natural         bool   `json:"natural,omitempty"`
}

//go:embed docs/sort.md
var sortDocs string

// NodeInfo describes data.sort.
func (*Sort) NodeInfo() node.Info {
	return node.Info{
		Type: "data.sort", Pure: true, Title: "Sort", Category: "Data", Icon: "arrow-down-wide-narrow",
		Output:      node.PassThrough,
		Description: "Sorts an array stably by one or more fields, or by an expression per element.",
		Docs:        sortDocs,
		Inputs:      portIn, Outputs: []node.PortSpec{{Name: "out", Title: "Sorted", Description: "The sorted array"}},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "items": {"title": "Items", "description": "The array to sort; default: the input", "examples": ["{{ input.orders }}"], "x-cm-expression": true},
    "keys": {
      "type": "array", "title": "Sort keys", "description": "Fields to sort by, the first one first", "maxItems": 100,
      "examples": [[{"field": "total", "order": "desc"}, {"field": "customer.name"}]],
      "items": {
        "type": "object", "title": "Key", "additionalProperties": false, "required": ["field"],
        "properties": {
          "field": {"type": "string", "title": "Field", "description": "Dot path of the field, such as customer.address.city", "minLength": 1, "maxLength": 1024, "examples": ["customer.name"]},
          "order": {"type": "string", "title": "Order", "description": "asc (default) or desc", "enum": ["asc", "desc"], "default": "asc"},
          "caseInsensitive": {"type": "boolean", "title": "Ignore case", "description": "Compare strings ignoring case", "default": false},
          "natural": {"type": "boolean", "title": "Natural order", "description": "Compare runs of digits by value: file2 before file10", "default": false}
        }
      }
    },
    "by": {"type": "string", "title": "Sort by expression", "description": "Evaluated per element (item, index) instead of keys; an array value gives several keys", "maxLength": 4096, "examples": ["{{ item.qty * item.price }}"], "x-cm-expression": true},
    "order": {"type": "string", "title": "Order", "description": "Order for by, or for sorting the elements themselves", "enum": ["asc", "desc"], "default": "asc"},
    "caseInsensitive": {"type": "boolean", "title": "Ignore case", "description": "For by, or the elements themselves: compare strings ignoring case", "default": false},
    "natural": {"type": "boolean", "title": "Natural order", "description": "For by, or the elements themselves: compare runs of digits by value", "default": false}
  }
}`),
		Lazy: []string{"by"},
		New:  func() node.Node { return &Sort{} },
	}
}

// Validate checks the key paths and that keys and by are not both set.
func (s *Sort) Validate() error {
	var errs []error
	if len(s.Keys) > 0 && s.By != "" {
		errs = append(errs, errors.New("by: set either keys or by, not both"))
	}
	if len(s.Keys) > MaxFields {
		errs = append(errs, fmt.Errorf("keys: %d keys, over the %d limit", len(s.Keys), MaxFields))
	}
	for i, k := range s.Keys {
		if !templated(k.Field) {
			if _, err := parsePath(k.Field); err != nil {
				errs = append(errs, fmt.Errorf("keys[%d]: the field path %w", i, err))
			}
		}
		if k.Order != "" && k.Order != OrderAsc && k.Order != OrderDesc && !templated(k.Order) {
			errs = append(errs, fmt.Errorf("keys[%d]: order must be asc or desc, not %q", i, k.Order))
		}
	}
	return errors.Join(errs...)
}

type sortEntry struct {
	item any
	keys []sortValue
	// idx is the element's position: equal keys keep their order (a stable sort).
	idx int
}

// sortValue is a key prepared for comparing: its type rank and, for numbers and strings, its
// value, so that comparisons do not switch on types again.
type sortValue struct {
	rank int
	num  float64
	str  string
	v    any
}

func prepare(v any) sortValue {
	k := sortValue{rank: rank(v), v: v}
	switch k.rank {
	case rankNumber:
		k.num, _ = toNumber(v)
	case rankString:
		k.str, _ = v.(string)
	}
	return k
}

func compareSortValues(a, b sortValue, opts compareOpts) int {
	if a.rank != b.rank {
		return a.rank - b.rank
	}
	switch a.rank {
	case rankNumber:
		switch {
		case a.num < b.num:
			return -1
		case a.num > b.num:
			return 1
		}
		return 0
	case rankString:
		return compareStrings(a.str, b.str, opts)
	}
	return compareValues(a.v, b.v, opts)
}

var nullKey = sortValue{rank: rankNull}

// Execute sorts a copy of the array.
func (s *Sort) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	items, name, err := itemsOf("data.sort", s.Items, in)
	if err != nil {
		return node.Output{}, err
	}
	nkeys := max(len(s.Keys), 1)
	if err := reserve(in, "data.sort", int64(len(items))*int64(48+64*nkeys)); err != nil {
		return node.Output{}, err
	}
	type keySpec struct {
		p    path
		desc bool
		opts compareOpts
	}
	specs := make([]keySpec, len(s.Keys))
	for i, k := range s.Keys {
		p, err := parsePath(k.Field)
		if err != nil {
			return node.Output{}, permanent("invalid_config", "keys[%d]: the field path %v", i, err)
		}
		specs[i] = keySpec{p: p, desc: k.Order == OrderDesc, opts: compareOpts{fold: k.CaseInsensitive, natural: k.Natural}}
	}
	defaultSpec := keySpec{desc: s.Order == OrderDesc, opts: compareOpts{fold: s.CaseInsensitive, natural: s.Natural}}

	entries := make([]sortEntry, len(items))
	for i, item := range items {
		if err := checkCtx(ctx, i); err != nil {
			return node.Output{}, err
		}
		e := sortEntry{item: item, idx: i}
		switch {
		case len(specs) > 0:
			e.keys = make([]sortValue, len(specs))
			for j, sp := range specs {
				v, _ := sp.p.get(item)
				e.keys[j] = prepare(v)
			}
		case s.By != "":
			v, err := in.Eval(ctx, s.By, item, i)
			if err != nil {
				return node.Output{}, byError(ctx, name, i, err)
			}
			if arr, ok := v.([]any); ok {
				e.keys = make([]sortValue, len(arr))
				for j, x := range arr {
					e.keys[j] = prepare(x)
				}
			} else {
				e.keys = []sortValue{prepare(v)}
			}
		default:
			e.keys = []sortValue{prepare(item)}
		}
		entries[i] = e
	}

	compares := 0
	var stopped error
	slices.SortFunc(entries, func(a, b sortEntry) int {
		if stopped != nil {
			return 0
		}
		if compares++; compares%(checkEvery*16) == 0 {
			if err := ctx.Err(); err != nil {
				stopped = fmt.Errorf("stopped: %w", context.Cause(ctx))
				return 0
			}
		}
		for j := range max(len(a.keys), len(b.keys)) {
			sp := defaultSpec
			if j < len(specs) {
				sp = specs[j]
			}
			x, y := nullKey, nullKey
			if j < len(a.keys) {
				x = a.keys[j]
			}
			if j < len(b.keys) {
				y = b.keys[j]
			}
			c := compareSortValues(x, y, sp.opts)
			if c == 0 {
				continue
			}
			// Null and missing values stay last whatever the order.
			if sp.desc && x.rank != rankNull && y.rank != rankNull {
				return -c
			}
			return c
		}
		return a.idx - b.idx
	})
	if stopped != nil {
		return node.Output{}, stopped
	}
	out := make([]any, len(entries))
	for i, e := range entries {
		out[i] = e.item
	}
	return node.Out(out), nil
}

// byError is the failure of a per-element expression: a cancellation stays one, anything else is a
// permanent expression error naming the element.
func byError(ctx context.Context, name string, i int, err error) error {
	if ctx.Err() != nil || errors.Is(err, budget.ErrExceeded) {
		return err
	}
	var ne *node.Error
	if errors.As(err, &ne) {
		return node.Permanent(&node.Error{Code: ne.Code, Message: fmt.Sprintf("%s[%d]: %s", name, i, ne.Message), Details: ne.Details})
	}
	return node.Permanent(&node.Error{Code: "expression", Message: fmt.Sprintf("by for %s[%d]: %v", name, i, err)})
}

var (
	_ node.Node      = (*Sort)(nil)
	_ node.Validator = (*Sort)(nil)
)
