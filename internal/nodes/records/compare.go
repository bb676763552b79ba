package records

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"slices"

	"github.com/concertmaster/concertmaster/internal/node"
)

// StringList is a list of strings that the configuration may also give as one string.
type StringList []string

// UnmarshalJSON accepts a string or an array of strings.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// Compare tells what was added, removed and changed between two arrays of records matched by key.
type Compare struct {
	// Old is the earlier array; nil means the value of the first incoming edge.
	Old any `json:"old,omitempty"`
	// New is the later array; nil means the value of the second incoming edge.
	New any `json:"new,omitempty"`
	// Key lists the dot paths that identify a record on both sides.
	Key StringList `json:"key"`
	// Fields lists the dot paths compared; empty means the whole records.
	Fields []string `json:"fields,omitempty"`
}

//go:embed docs/compare.md
var compareDocs string

// NodeInfo describes data.compare.
func (*Compare) NodeInfo() node.Info {
	return node.Info{
		Type: "data.compare", Pure: true, Title: "Compare datasets", Category: "Data", Icon: "git-compare",
		Description: "Compares two arrays of records matched by key and outputs the records added, removed and changed, and how many are unchanged.",
		Docs:        compareDocs,
		Inputs: []node.PortSpec{{Name: "in", Title: "Old, then new",
			Description: "Connect the earlier dataset first and the later one second, or set old and new"}},
		Outputs: []node.PortSpec{{Name: "out", Title: "Differences", Description: "{added, removed, changed, unchanged}"}},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["key"],
  "properties": {
    "old": {"title": "Old records", "description": "The earlier array; default: the value of the first incoming edge", "examples": ["{{ nodes.yesterday.output }}"], "x-cm-expression": true},
    "new": {"title": "New records", "description": "The later array; default: the value of the second incoming edge", "examples": ["{{ nodes.today.output }}"], "x-cm-expression": true},
    "key": {
      "title": "Key", "description": "Dot path (or list of paths) identifying a record on both sides",
      "anyOf": [
        {"type": "string", "minLength": 1, "maxLength": 1024},
        {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string", "minLength": 1, "maxLength": 1024}}
      ],
      "examples": ["id", ["customer.id", "sku"]]
    },
    "fields": {
      "type": "array", "title": "Fields to compare", "description": "Dot paths compared; default: the whole records", "maxItems": 100,
      "items": {"type": "string", "title": "Field", "minLength": 1, "maxLength": 1024}, "examples": [["price", "stock"]]
    }
  }
}`),
		New: func() node.Node { return &Compare{} },
	}
}

// Validate checks the paths.
func (c *Compare) Validate() error {
	var errs []error
	if len(c.Key) == 0 {
		errs = append(errs, errors.New("key: name at least one field"))
	}
	if _, err := fieldList("key", c.Key); err != nil {
		errs = append(errs, err)
	}
	if _, err := fieldList("fields", c.Fields); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Execute matches the records of both sides by key and compares them.
func (c *Compare) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	keys, err := fieldList("key", c.Key)
	if err != nil {
		return node.Output{}, permanent("invalid_config", "%v", err)
	}
	if len(keys) == 0 {
		return node.Output{}, permanent("invalid_config", "key: name at least one field")
	}
	fields, err := fieldList("fields", c.Fields)
	if err != nil {
		return node.Output{}, permanent("invalid_config", "%v", err)
	}
	oldItems, err := c.side(in, "old", c.Old, 0)
	if err != nil {
		return node.Output{}, err
	}
	newItems, err := c.side(in, "new", c.New, 1)
	if err != nil {
		return node.Output{}, err
	}
	oldIndex, oldRecs, err := index(ctx, in, "old", oldItems, keys)
	if err != nil {
		return node.Output{}, err
	}
	newIndex, newRecs, err := index(ctx, in, "new", newItems, keys)
	if err != nil {
		return node.Output{}, err
	}

	added, removed, changed := []any{}, []any{}, []any{}
	unchanged := 0
	for i, nr := range newRecs {
		if err := checkCtx(ctx, i); err != nil {
			return node.Output{}, err
		}
		oi, ok := oldIndex[nr.id]
		if !ok {
			added = append(added, nr.item)
			continue
		}
		or := oldRecs[oi]
		diff, differ := differences(or.item, nr.item, fields, c.Fields)
		if !differ {
			unchanged++
			continue
		}
		changed = append(changed, map[string]any{"key": nr.key, "old": or.item, "new": nr.item, "fields": diff})
	}
	for i, or := range oldRecs {
		if err := checkCtx(ctx, i); err != nil {
			return node.Output{}, err
		}
		if _, ok := newIndex[or.id]; !ok {
			removed = append(removed, or.item)
		}
	}
	return node.Out(map[string]any{"added": added, "removed": removed, "changed": changed, "unchanged": float64(unchanged)}), nil
}

// side returns one side's array: the configured value, or the value of incoming edge n.
func (c *Compare) side(in *node.Input, name string, v any, n int) ([]any, error) {
	if v == nil {
		if len(in.Sources) <= n {
			return nil, permanent("missing_input", "data.compare has no %s records: connect the earlier dataset first and the later one second, or set old and new (it has %d incoming edges)",
				name, len(in.Sources))
		}
		v = in.Sources[n].Value
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, permanent("not_array", "data.compare needs an array of %s records, got %s", name, kindOf(v))
	}
	return arr, nil
}

type indexed struct {
	id   string
	key  any
	item any
}

// index computes each record's key and maps it to the record's position; a missing key or a key
// seen twice fails.
func index(ctx context.Context, in *node.Input, name string, items []any, keys []path) (map[string]int, []indexed, error) {
	if err := reserve(in, "data.compare", int64(len(items))*64); err != nil {
		return nil, nil, err
	}
	idx := make(map[string]int, len(items))
	recs := make([]indexed, len(items))
	var buf []byte
	for i, item := range items {
		if err := checkCtx(ctx, i); err != nil {
			return nil, nil, err
		}
		buf = buf[:0]
		vals := make([]any, len(keys))
		for j, p := range keys {
			v, ok := p.get(item)
			if !ok {
				return nil, nil, permanent("missing_key", "%s[%d] has no field %s, part of the key", name, i, p)
			}
			vals[j] = v
			buf = appendKey(buf, v)
		}
		if err := reserve(in, "data.compare", int64(len(buf))); err != nil {
			return nil, nil, err
		}
		id := string(buf)
		if j, dup := idx[id]; dup {
			return nil, nil, permanent("duplicate_key", "%s[%d] has the same key as %s[%d]: each record needs a key of its own", name, i, name, j)
		}
		idx[id] = i
		rec := indexed{id: id, item: item, key: vals[0]}
		if len(vals) > 1 {
			rec.key = vals
		}
		recs[i] = rec
	}
	return idx, recs, nil
}

// differences reports whether two matched records differ and lists the compared fields whose values
// differ: the configured ones, or the top-level fields of both records (sorted); the list is empty
// for records that are not both objects.
func differences(a, b any, fields []path, names []string) ([]any, bool) {
	out := []any{}
	if len(fields) > 0 {
		for i, p := range fields {
			x, xok := p.get(a)
			y, yok := p.get(b)
			if xok != yok || !equal(x, y) {
				out = append(out, names[i])
			}
		}
		return out, len(out) > 0
	}
	ma, aok := a.(map[string]any)
	mb, bok := b.(map[string]any)
	if !aok || !bok {
		return out, !equal(a, b)
	}
	var diff []string
	for k, x := range ma {
		y, ok := mb[k]
		if !ok || !equal(x, y) {
			diff = append(diff, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			diff = append(diff, k)
		}
	}
	slices.Sort(diff)
	for _, k := range diff {
		out = append(out, k)
	}
	return out, len(out) > 0
}

var (
	_ node.Node      = (*Compare)(nil)
	_ node.Validator = (*Compare)(nil)
)
