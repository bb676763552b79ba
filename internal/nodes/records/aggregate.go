package records

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/concertmaster/concertmaster/internal/node"
)

// Aggregation operations.
const (
	OpCount         = "count"
	OpSum           = "sum"
	OpMin           = "min"
	OpMax           = "max"
	OpAvg           = "avg"
	OpCollect       = "collect"
	OpCountDistinct = "countDistinct"
	OpFirst         = "first"
	OpLast          = "last"
)

var aggregateOps = []string{OpCount, OpSum, OpMin, OpMax, OpAvg, OpCollect, OpCountDistinct, OpFirst, OpLast}

// Aggregation is one aggregate: an operation over a field, output under a name.
type Aggregation struct {
	// Op is the operation: count, sum, min, max, avg, collect, countDistinct, first or last.
	Op string `json:"op"`
	// Field is the dot path the operation reads; count without it counts elements.
	Field string `json:"field,omitempty"`
	// As is the output field; default: op, or op_field with dots replaced by underscores.
	As string `json:"as,omitempty"`
}

// Aggregate computes aggregates over an array, optionally per group.
type Aggregate struct {
	// Items is the array; nil means the input.
	Items any `json:"items,omitempty"`
	// GroupBy lists the dot paths whose values form a group; empty means one group of everything.
	GroupBy []string `json:"groupBy,omitempty"`
	// Aggregations are computed per group, in order.
	Aggregations []Aggregation `json:"aggregations"`
}

//go:embed docs/aggregate.md
var aggregateDocs string

// NodeInfo describes data.aggregate.
func (*Aggregate) NodeInfo() node.Info {
	return node.Info{
		Type: "data.aggregate", Pure: true, Title: "Aggregate", Category: "Data", Icon: "sigma",
		Description: "Counts, sums, averages, finds minimum and maximum or collects values of an array, over all " +
			"elements or per group of equal field values.",
		Docs:   aggregateDocs,
		Inputs: portIn, Outputs: []node.PortSpec{{Name: "out", Title: "Aggregates", Description: "One object, or one object per group"}},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["aggregations"],
  "properties": {
    "items": {"title": "Items", "description": "The array; default: the input", "examples": ["{{ input.orders }}"], "x-cm-expression": true},
    "groupBy": {
      "type": "array", "title": "Group by", "description": "Dot paths whose values form the groups; empty: one result over everything", "maxItems": 100,
      "items": {"type": "string", "title": "Field", "minLength": 1, "maxLength": 1024}, "examples": [["customer.country", "status"]]
    },
    "aggregations": {
      "type": "array", "title": "Aggregations", "description": "What to compute for each group", "minItems": 1, "maxItems": 100,
      "examples": [[{"op": "count", "as": "orders"}, {"op": "sum", "field": "total", "as": "revenue"}]],
      "items": {
        "type": "object", "title": "Aggregation", "additionalProperties": false, "required": ["op"],
        "properties": {
          "op": {"type": "string", "title": "Operation", "description": "What to compute", "enum": ["count", "sum", "min", "max", "avg", "collect", "countDistinct", "first", "last"]},
          "field": {"type": "string", "title": "Field", "description": "Dot path of the value; count without a field counts elements", "minLength": 1, "maxLength": 1024, "examples": ["total"]},
          "as": {"type": "string", "title": "Output name", "description": "Output field (a dot path makes it nested); default op_field", "minLength": 1, "maxLength": 1024, "examples": ["revenue"]}
        }
      }
    }
  }
}`),
		New: func() node.Node { return &Aggregate{} },
	}
}

// Validate checks paths, that operations other than count name a field, and that output names
// do not collide.
func (a *Aggregate) Validate() error {
	var errs []error
	if _, err := fieldList("groupBy", a.GroupBy); err != nil {
		errs = append(errs, err)
	}
	if len(a.Aggregations) > MaxFields {
		errs = append(errs, fmt.Errorf("aggregations: %d aggregations, over the %d limit", len(a.Aggregations), MaxFields))
	}
	names := map[string]int{}
	for i, g := range a.GroupBy {
		names[g] = -1 - i
	}
	for i, ag := range a.Aggregations {
		if !slices.Contains(aggregateOps, ag.Op) && !templated(ag.Op) {
			errs = append(errs, fmt.Errorf("aggregations[%d]: op %q is not one of %v", i, ag.Op, aggregateOps))
		}
		if ag.Field == "" && ag.Op != OpCount && !templated(ag.Op) {
			errs = append(errs, fmt.Errorf("aggregations[%d]: %s needs a field", i, ag.Op))
		}
		if ag.Field != "" && !templated(ag.Field) {
			if _, err := parsePath(ag.Field); err != nil {
				errs = append(errs, fmt.Errorf("aggregations[%d]: the field path %w", i, err))
			}
		}
		name := ag.outName()
		if templated(name) {
			continue
		}
		if _, err := parsePath(name); err != nil {
			errs = append(errs, fmt.Errorf("aggregations[%d]: the output name %w", i, err))
			continue
		}
		if j, dup := names[name]; dup {
			if j < 0 {
				errs = append(errs, fmt.Errorf("aggregations[%d]: output name %q is also groupBy[%d]; set another with as", i, name, -1-j))
			} else {
				errs = append(errs, fmt.Errorf("aggregations[%d]: output name %q is also the name of aggregations[%d]; set another with as", i, name, j))
			}
		}
		names[name] = i
	}
	return errors.Join(errs...)
}

func (ag Aggregation) outName() string {
	if ag.As != "" {
		return ag.As
	}
	if ag.Field == "" {
		return ag.Op
	}
	b := []byte(ag.Op + "_" + ag.Field)
	for i, c := range b {
		if c == '.' {
			b[i] = '_'
		}
	}
	return string(b)
}

// acc accumulates one aggregation for one group.
type acc struct {
	count    int
	sum      float64
	best     any
	hasBest  bool
	values   []any
	distinct map[string]struct{}
	first    any
	last     any
	seen     bool
}

type group struct {
	values []any
	accs   []acc
}

type aggSpec struct {
	op    string
	field path
	out   path
}

// Execute groups the elements in first-seen order and computes each aggregation.
func (a *Aggregate) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	items, name, err := itemsOf("data.aggregate", a.Items, in)
	if err != nil {
		return node.Output{}, err
	}
	groupBy, err := fieldList("groupBy", a.GroupBy)
	if err != nil {
		return node.Output{}, permanent("invalid_config", "%v", err)
	}
	specs := make([]aggSpec, len(a.Aggregations))
	for i, ag := range a.Aggregations {
		if !slices.Contains(aggregateOps, ag.Op) {
			return node.Output{}, permanent("invalid_config", "aggregations[%d]: op %q is not one of %v", i, ag.Op, aggregateOps)
		}
		s := aggSpec{op: ag.Op}
		if ag.Field != "" {
			if s.field, err = parsePath(ag.Field); err != nil {
				return node.Output{}, permanent("invalid_config", "aggregations[%d]: the field path %v", i, err)
			}
		} else if ag.Op != OpCount {
			return node.Output{}, permanent("invalid_config", "aggregations[%d]: %s needs a field", i, ag.Op)
		}
		if s.out, err = parsePath(ag.outName()); err != nil {
			return node.Output{}, permanent("invalid_config", "aggregations[%d]: the output name %v", i, err)
		}
		specs[i] = s
	}

	// Per element: its group's place in the map and order; per group: its accumulators.
	if err := reserve(in, "data.aggregate", int64(len(items))*16); err != nil {
		return node.Output{}, err
	}
	index := map[string]int{}
	var groups []*group
	var keyBuf []byte
	for i, item := range items {
		if err := checkCtx(ctx, i); err != nil {
			return node.Output{}, err
		}
		gi := 0
		if len(groupBy) == 0 {
			if len(groups) == 0 {
				groups = append(groups, &group{accs: make([]acc, len(specs))})
			}
		} else {
			keyBuf = keyBuf[:0]
			for _, p := range groupBy {
				v, _ := p.get(item)
				keyBuf = appendKey(keyBuf, v)
			}
			var ok bool
			if gi, ok = index[string(keyBuf)]; !ok {
				vals := make([]any, len(groupBy))
				for j, p := range groupBy {
					vals[j], _ = p.get(item)
				}
				if err := reserve(in, "data.aggregate", int64(len(keyBuf))+64+int64(len(specs))*96); err != nil {
					return node.Output{}, err
				}
				gi = len(groups)
				index[string(keyBuf)] = gi
				groups = append(groups, &group{values: vals, accs: make([]acc, len(specs))})
			}
		}
		g := groups[gi]
		for j, s := range specs {
			if err := g.accs[j].add(in, s, item, name, i, &keyBuf); err != nil {
				return node.Output{}, err
			}
		}
	}

	results := make([]any, 0, len(groups))
	for _, g := range groups {
		obj := make(map[string]any, len(groupBy)+len(specs))
		for j, p := range groupBy {
			p.set(obj, g.values[j])
		}
		for j, s := range specs {
			v := g.accs[j].result(s.op)
			if f, ok := v.(float64); ok && math.IsInf(f, 0) {
				return node.Output{}, permanent("number_overflow", "the %s of %s is out of range for a JSON number", s.op, s.field)
			}
			s.out.set(obj, v)
		}
		results = append(results, obj)
	}
	if len(groupBy) == 0 {
		if len(results) == 0 {
			// No elements: counts are 0, the rest null (collect: empty).
			obj := map[string]any{}
			for _, s := range specs {
				s.out.set(obj, (&acc{}).result(s.op))
			}
			return node.Out(obj), nil
		}
		return node.Out(results[0]), nil
	}
	return node.Out(results), nil
}

// add folds one element into the accumulator. Missing and null values are skipped, except by count
// without a field, first and last.
func (c *acc) add(in *node.Input, s aggSpec, item any, name string, i int, buf *[]byte) error {
	var v any
	present := true
	if s.field != nil {
		v, present = s.field.get(item)
	}
	switch s.op {
	case OpFirst:
		if !c.seen {
			c.first = v
		}
		c.last, c.seen = v, true
		return nil
	case OpLast:
		c.last, c.seen = v, true
		return nil
	}
	if !present || v == nil {
		if s.op == OpCount && s.field == nil {
			c.count++
		}
		return nil
	}
	c.count++
	switch s.op {
	case OpSum, OpAvg:
		f, ok := toNumber(v)
		if !ok {
			return permanent("not_number", "%s[%d].%s is %s, not a number: %s cannot add it", name, i, s.field, kindOf(v), s.op)
		}
		c.sum += f
	case OpMin, OpMax:
		if !c.hasBest {
			c.best, c.hasBest = v, true
			return nil
		}
		cmp := compareValues(v, c.best, compareOpts{})
		if (s.op == OpMin && cmp < 0) || (s.op == OpMax && cmp > 0) {
			c.best = v
		}
	case OpCollect:
		if err := reserve(in, "data.aggregate", 16); err != nil {
			return err
		}
		c.values = append(c.values, v)
	case OpCountDistinct:
		*buf = appendKey((*buf)[:0], v)
		if _, dup := c.distinct[string(*buf)]; !dup {
			if err := reserve(in, "data.aggregate", int64(len(*buf))+32); err != nil {
				return err
			}
			if c.distinct == nil {
				c.distinct = map[string]struct{}{}
			}
			c.distinct[string(*buf)] = struct{}{}
		}
	}
	return nil
}

func (c *acc) result(op string) any {
	switch op {
	case OpCount:
		return float64(c.count)
	case OpSum:
		return c.sum
	case OpAvg:
		if c.count == 0 || math.IsNaN(c.sum) {
			return nil
		}
		return c.sum / float64(c.count)
	case OpMin, OpMax:
		return c.best
	case OpCollect:
		if c.values == nil {
			return []any{}
		}
		return c.values
	case OpCountDistinct:
		return float64(len(c.distinct))
	case OpFirst:
		return c.first
	case OpLast:
		return c.last
	}
	return nil
}

var (
	_ node.Node      = (*Aggregate)(nil)
	_ node.Validator = (*Aggregate)(nil)
)
