package records_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/records"
)

type testBundle struct {
	reg *node.Registry
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	r := node.NewRegistry()
	r.MustRegister(records.All()...)
	return &testBundle{reg: r}
}

// instantiate checks config against the schema and Validate, as the engine does at run time.
func (b *testBundle) instantiate(t *testing.T, typ string, config map[string]any) (node.Node, error) {
	t.Helper()
	nt, ok := b.reg.Lookup(node.TypeName(typ))
	require.True(t, ok, typ)
	return nt.Instantiate(config, false)
}

func (b *testBundle) run(ctx context.Context, t *testing.T, typ string, config map[string]any, in *node.Input) (node.Output, error) {
	t.Helper()
	n, err := b.instantiate(t, typ, config)
	require.NoError(t, err)
	if in.Eval == nil {
		in.Eval = func(ctx context.Context, src string, item any, index int) (any, error) {
			tmpl, err := expression.Compile(src, expression.Limits{})
			if err != nil {
				return nil, err
			}
			return tmpl.Eval(ctx, &expression.Env{Input: in.Data, Item: item, Index: index}, expression.Budget{Memory: acct(in)})
		}
	}
	return n.Execute(ctx, in)
}

func acct(in *node.Input) *budget.Account {
	if a, ok := in.Limits.Memory.(*budget.Account); ok {
		return a
	}
	return nil
}

// js decodes JSON, so that tests read like the documentation.
func js(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v), s)
	return v
}

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	m, ok := js(t, s).(map[string]any)
	require.True(t, ok, s)
	return m
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.True(t, node.IsPermanent(err), "retrying cannot fix %v", err)
	var ne *node.Error
	require.True(t, errors.As(err, &ne), "%v is a *node.Error", err)
	require.Equal(t, code, ne.Code, ne.Message)
}

func TestNodes(t *testing.T) {
	t.Parallel()

	orders := `[{"id":1,"name":"b","total":5,"status":"paid","customer":{"city":"Paris"}},
		{"id":2,"name":"a","total":5,"status":"open","customer":{"city":"Lyon"}},
		{"id":3,"name":"C","total":9,"status":"paid","customer":{"city":"Paris"}},
		{"id":4,"name":"d","status":"paid"}]`
	tests := []struct {
		name    string
		typ     string
		config  string
		input   string
		sources []string
		want    string
		errCode string
		errMsg  string
	}{
		{name: "AggregateAllOps", typ: "data.aggregate", input: orders, config: `{"aggregations":[
			{"op":"count"},{"op":"count","field":"total","as":"priced"},{"op":"sum","field":"total"},{"op":"avg","field":"total"},
			{"op":"min","field":"name"},{"op":"max","field":"total"},{"op":"collect","field":"customer.city","as":"cities"},
			{"op":"countDistinct","field":"status","as":"statuses"},{"op":"first","field":"id"},{"op":"last","field":"total"}]}`,
			want: `{"count":4,"priced":3,"sum_total":19,"avg_total":6.333333333333333,"min_name":"C","max_total":9,
				"cities":["Paris","Lyon","Paris"],"statuses":2,"first_id":1,"last_total":null}`},
		{name: "AggregateEmptyArray", typ: "data.aggregate", input: `[]`,
			config: `{"aggregations":[{"op":"count"},{"op":"sum","field":"x"},{"op":"avg","field":"x"},{"op":"collect","field":"x"}]}`,
			want:   `{"count":0,"sum_x":0,"avg_x":null,"collect_x":[]}`},
		{name: "AggregateGroupByFirstSeenOrder", typ: "data.aggregate", input: orders,
			config: `{"groupBy":["status","customer.city"],"aggregations":[{"op":"count","as":"n"},{"op":"sum","field":"total","as":"stats.revenue"}]}`,
			want: `[{"status":"paid","customer":{"city":"Paris"},"n":2,"stats":{"revenue":14}},
				{"status":"open","customer":{"city":"Lyon"},"n":1,"stats":{"revenue":5}},
				{"status":"paid","customer":{"city":null},"n":1,"stats":{"revenue":0}}]`},
		{name: "AggregateGroupsNumbersByValue", typ: "data.aggregate", input: `[{"k":1},{"k":1.0},{"k":"1"}]`,
			config: `{"groupBy":["k"],"aggregations":[{"op":"count"}]}`, want: `[{"k":1,"count":2},{"k":"1","count":1}]`},
		{name: "AggregateItemsExpression", typ: "data.aggregate", input: `{}`,
			config: `{"items":[{"x":1},{"x":2}],"aggregations":[{"op":"sum","field":"x"}]}`, want: `{"sum_x":3}`},
		{name: "AggregateNotArray", typ: "data.aggregate", input: `{"a":1}`, config: `{"aggregations":[{"op":"count"}]}`, errCode: "not_array"},
		{name: "AggregateSumOfString", typ: "data.aggregate", input: `[{"price":1},{"price":2},{"price":3},{"price":"4"}]`,
			config: `{"aggregations":[{"op":"sum","field":"price"}]}`, errCode: "not_number", errMsg: "input[3].price is a string, not a number"},
		{name: "CompareByEdges", typ: "data.compare", config: `{"key":"id","fields":["price"]}`,
			sources: []string{`[{"id":1,"price":10},{"id":2,"price":5},{"id":3,"price":7}]`, `[{"id":1,"price":12},{"id":3,"price":7},{"id":4,"price":1}]`},
			want: `{"added":[{"id":4,"price":1}],"removed":[{"id":2,"price":5}],
				"changed":[{"key":1,"old":{"id":1,"price":10},"new":{"id":1,"price":12},"fields":["price"]}],"unchanged":1}`},
		{name: "CompareConfiguredSidesWholeRecords", typ: "data.compare",
			config: `{"key":["a.id","sku"],"old":[{"a":{"id":1},"sku":"x","q":1,"t":{"u":[1,2]}}],"new":[{"sku":"x","a":{"id":1.0},"t":{"u":[1,2]},"r":2}]}`,
			want: `{"added":[],"removed":[],"changed":[{"key":[1,"x"],"old":{"a":{"id":1},"sku":"x","q":1,"t":{"u":[1,2]}},
				"new":{"sku":"x","a":{"id":1.0},"t":{"u":[1,2]},"r":2},"fields":["q","r"]}],"unchanged":0}`},
		{name: "CompareDeepEqualIsUnchanged", typ: "data.compare", config: `{"key":"id"}`,
			sources: []string{`[{"id":1,"o":{"a":1,"b":[1,{"c":null}]}}]`, `[{"o":{"b":[1,{"c":null}],"a":1.0},"id":1}]`},
			want:    `{"added":[],"removed":[],"changed":[],"unchanged":1}`},
		{name: "CompareDuplicateKey", typ: "data.compare", config: `{"key":"id"}`, sources: []string{`[{"id":1},{"id":2},{"id":1}]`, `[]`},
			errCode: "duplicate_key", errMsg: "old[2] has the same key as old[0]"},
		{name: "CompareMissingKey", typ: "data.compare", config: `{"key":"id"}`, sources: []string{`[]`, `[{"id":1},{"x":2}]`},
			errCode: "missing_key", errMsg: "new[1] has no field id"},
		{name: "CompareMissingSide", typ: "data.compare", config: `{"key":"id"}`, sources: []string{`[]`}, errCode: "missing_input"},
		{name: "CompareNullDiffersFromMissing", typ: "data.compare", config: `{"key":"id","fields":["x"]}`,
			sources: []string{`[{"id":1,"x":null}]`, `[{"id":1}]`},
			want:    `{"added":[],"removed":[],"changed":[{"key":1,"old":{"id":1,"x":null},"new":{"id":1},"fields":["x"]}],"unchanged":0}`},
		{name: "CompareSideNotArray", typ: "data.compare", config: `{"key":"id","old":[],"new":"x"}`, errCode: "not_array"},
		{name: "DedupeByExpression", typ: "data.dedupe", input: `[{"e":"A@x"},{"e":"b@x"},{"e":"a@x"}]`,
			config: `{"by":"{{ lower(item.e) }}"}`, want: `[{"e":"A@x"},{"e":"b@x"}]`},
		{name: "DedupeByKeysKeepLastWithCount", typ: "data.dedupe", input: `[{"e":"a","n":1},{"e":"b","n":2},{"e":"a","n":3}]`,
			config: `{"keys":["e"],"keep":"last","outputRemoved":true}`, want: `{"items":[{"e":"b","n":2},{"e":"a","n":3}],"removed":1}`},
		{name: "DedupeExpressionFails", typ: "data.dedupe", input: `[1,2]`, config: `{"by":"{{ item.x.y }}"}`, errCode: "expression"},
		{name: "DedupeNotArray", typ: "data.dedupe", input: `"x"`, config: `{}`, errCode: "not_array"},
		{name: "DedupeWholeItems", typ: "data.dedupe", input: `[1,{"a":1,"b":2},1.0,"1",{"b":2,"a":1},null,null]`,
			config: `{}`, want: `[1,{"a":1,"b":2},"1",null]`},
		{name: "LimitFromEnd", typ: "data.limit", input: `["a","b","c","d"]`, config: `{"max":2,"from":"end"}`, want: `["c","d"]`},
		{name: "LimitFromEndWithOffset", typ: "data.limit", input: `["a","b","c","d"]`, config: `{"max":2,"offset":1,"from":"end"}`, want: `["b","c"]`},
		{name: "LimitNotArray", typ: "data.limit", input: `{}`, config: `{"max":1}`, errCode: "not_array"},
		{name: "LimitOffset", typ: "data.limit", input: `["a","b","c","d"]`, config: `{"max":2,"offset":1}`, want: `["b","c"]`},
		{name: "LimitOffsetPastEnd", typ: "data.limit", input: `["a"]`, config: `{"max":2,"offset":5}`, want: `[]`},
		{name: "LimitZero", typ: "data.limit", input: `["a"]`, config: `{"max":0}`, want: `[]`},
		{name: "RenameArrayNotObject", typ: "data.rename", input: `[{"a":1},"x"]`, config: `{"renames":[{"from":"a","to":"b"}]}`,
			errCode: "not_object", errMsg: "input[1] is a string, not an object"},
		{name: "RenameDropOthers", typ: "data.rename", input: `[{"id":1,"cust_name":"Ada","internal":true}]`,
			config: `{"renames":[{"from":"cust_name","to":"customer.name"},{"from":"id","to":"id"}],"dropOthers":true}`,
			want:   `[{"id":1,"customer":{"name":"Ada"}}]`},
		{name: "RenameNestedAndSwap", typ: "data.rename", input: `{"a":1,"b":2,"c":{"d":3,"e":4}}`,
			config: `{"renames":[{"from":"a","to":"b"},{"from":"b","to":"a"},{"from":"c.d","to":"f.g"},{"from":"missing","to":"z"}]}`,
			want:   `{"a":2,"b":1,"c":{"e":4},"f":{"g":3}}`},
		{name: "RenameNotObject", typ: "data.rename", input: `3`, config: `{"renames":[{"from":"a","to":"b"}]}`, errCode: "not_object"},
		{name: "SortByExpressionDesc", typ: "data.sort", input: `[{"q":2,"p":3},{"q":1,"p":10},{"q":5,"p":1}]`,
			config: `{"by":"{{ item.q * item.p }}","order":"desc"}`, want: `[{"q":1,"p":10},{"q":2,"p":3},{"q":5,"p":1}]`},
		{name: "SortByExpressionFails", typ: "data.sort", input: `[1,2]`, config: `{"by":"{{ item.x.y }}"}`, errCode: "expression", errMsg: "input[0]"},
		{name: "SortByExpressionMultipleKeys", typ: "data.sort", input: `[{"a":1,"b":2},{"a":0,"b":9},{"a":1,"b":1}]`,
			config: `{"by":"{{ [item.a, item.b] }}"}`, want: `[{"a":0,"b":9},{"a":1,"b":1},{"a":1,"b":2}]`},
		{name: "SortCaseInsensitiveNatural", typ: "data.sort", input: `["file10","File2","file1","FILE2"]`,
			config: `{"caseInsensitive":true,"natural":true}`, want: `["file1","File2","FILE2","file10"]`},
		{name: "SortKeysStableNullLastInDesc", typ: "data.sort", input: orders,
			config: `{"keys":[{"field":"total","order":"desc"},{"field":"name"}]}`,
			want: `[{"id":3,"name":"C","total":9,"status":"paid","customer":{"city":"Paris"}},
				{"id":2,"name":"a","total":5,"status":"open","customer":{"city":"Lyon"}},
				{"id":1,"name":"b","total":5,"status":"paid","customer":{"city":"Paris"}},
				{"id":4,"name":"d","status":"paid"}]`},
		{name: "SortMixedTypes", typ: "data.sort", input: `[null,{"a":1},[1],true,"b",false,2,"a",1.5,[0,5]]`, config: `{}`,
			want: `[1.5,2,"a","b",false,true,[0,5],[1],{"a":1},null]`},
		{name: "SortMixedTypesDesc", typ: "data.sort", input: `[null,"a",2,true]`, config: `{"order":"desc"}`, want: `[true,"a",2,null]`},
		{name: "SortNestedField", typ: "data.sort", input: orders, config: `{"keys":[{"field":"customer.city"},{"field":"id"}]}`,
			want: `[{"id":2,"name":"a","total":5,"status":"open","customer":{"city":"Lyon"}},
				{"id":1,"name":"b","total":5,"status":"paid","customer":{"city":"Paris"}},
				{"id":3,"name":"C","total":9,"status":"paid","customer":{"city":"Paris"}},
				{"id":4,"name":"d","status":"paid"}]`},
		{name: "SortNotArray", typ: "data.sort", input: `{"a":1}`, config: `{}`, errCode: "not_array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			in := &node.Input{}
			if tt.input != "" {
				in.Data = js(t, tt.input)
			}
			for i, s := range tt.sources {
				in.Sources = append(in.Sources, node.Source{Node: fmt.Sprint("n", i), Port: "out", Value: js(t, s)})
			}
			if len(in.Sources) > 0 {
				in.Data = in.Sources[0].Value
			}
			before, err := json.Marshal(in.Data)
			require.NoError(t, err)
			out, err := b.run(context.Background(), t, tt.typ, obj(t, tt.config), in)
			if tt.errCode != "" {
				requireCode(t, err, tt.errCode)
				require.Contains(t, err.Error(), tt.errMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "out", out.Port)
			got, err := json.Marshal(out.Value)
			require.NoError(t, err)
			require.JSONEq(t, tt.want, string(got))
			after, err := json.Marshal(in.Data)
			require.NoError(t, err)
			require.JSONEq(t, string(before), string(after), "the input is unchanged")
		})
	}
}

// TestBadConfig checks that the schema reports the JSON pointer of a bad field and that Validate
// names the field it refuses.
func TestBadConfig(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		typ     string
		config  string
		pointer string // a schema error at this pointer
		message string // else a Validate error with this text
	}{
		{name: "AggregateDuplicateOutput", typ: "data.aggregate", config: `{"aggregations":[{"op":"count"},{"op":"count","field":"x","as":"count"}]}`,
			message: `aggregations[1]: output name "count" is also the name of aggregations[0]`},
		{name: "AggregateNeedsField", typ: "data.aggregate", config: `{"aggregations":[{"op":"sum"}]}`, message: "aggregations[0]: sum needs a field"},
		{name: "AggregateOutputIsGroup", typ: "data.aggregate", config: `{"groupBy":["count"],"aggregations":[{"op":"count"}]}`,
			message: `aggregations[0]: output name "count" is also groupBy[0]`},
		{name: "AggregateUnknownOp", typ: "data.aggregate", config: `{"aggregations":[{"op":"median","field":"x"}]}`, pointer: "/aggregations/0/op"},
		{name: "AggregateWithoutAggregations", typ: "data.aggregate", config: `{}`, pointer: ""},
		{name: "CompareBadField", typ: "data.compare", config: `{"key":"id","fields":["a..b"]}`, message: "fields[0]: the field path"},
		{name: "CompareKeyWrongType", typ: "data.compare", config: `{"key":3}`, pointer: "/key"},
		{name: "DedupeBadKeep", typ: "data.dedupe", config: `{"keep":"middle"}`, pointer: "/keep"},
		{name: "DedupeKeysAndBy", typ: "data.dedupe", config: `{"keys":["a"],"by":"{{ item }}"}`, message: "by: set either keys or by"},
		{name: "LimitNegative", typ: "data.limit", config: `{"max":-1}`, pointer: "/max"},
		{name: "LimitWithoutMax", typ: "data.limit", config: `{}`, pointer: ""},
		{name: "RenameDuplicateTarget", typ: "data.rename", config: `{"renames":[{"from":"a","to":"c"},{"from":"b","to":"c"}]}`,
			message: `renames[1]: to "c" is also the target of renames[0]`},
		{name: "RenameEmptySegment", typ: "data.rename", config: `{"renames":[{"from":"a.","to":"c"}]}`, message: "renames[0]: the from path"},
		{name: "SortBadOrder", typ: "data.sort", config: `{"keys":[{"field":"a","order":"up"}]}`, pointer: "/keys/0/order"},
		{name: "SortKeysAndBy", typ: "data.sort", config: `{"keys":[{"field":"a"}],"by":"{{ item }}"}`, message: "by: set either keys or by"},
		{name: "SortTooDeepPath", typ: "data.sort", config: `{"keys":[{"field":"` + strings.Repeat("a.", 40) + `a"}]}`, message: "keys[0]: the field path has 41 segments"},
		{name: "SortUnknownField", typ: "data.sort", config: `{"sortBy":"a"}`, pointer: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			nt, ok := b.reg.Lookup(node.TypeName(tt.typ))
			require.True(t, ok)
			config := obj(t, tt.config)
			errs := nt.ValidateConfig(config, true)
			if tt.message == "" {
				require.NotEmpty(t, errs)
				var pointers []string
				for _, e := range errs {
					pointers = append(pointers, e.Pointer)
				}
				require.Contains(t, pointers, tt.pointer)
				return
			}
			require.Empty(t, errs, "the schema accepts it")
			_, err := nt.Instantiate(config, true)
			require.ErrorContains(t, err, tt.message)
		})
	}
}

// TestTemplatedConfigValidates checks that fields holding expressions pass Validate at save time.
func TestTemplatedConfigValidates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for typ, config := range map[string]string{
		"data.sort":      `{"keys":[{"field":"{{ vars.f }}","order":"{{ vars.o }}"}]}`,
		"data.aggregate": `{"groupBy":["{{ vars.g }}"],"aggregations":[{"op":"sum","field":"{{ vars.f }}","as":"{{ vars.a }}"}]}`,
		"data.rename":    `{"renames":[{"from":"{{ vars.a }}","to":"{{ vars.b }}"}]}`,
		"data.dedupe":    `{"keys":["{{ vars.k }}"]}`,
		"data.compare":   `{"key":"{{ vars.k }}","fields":["{{ vars.f }}"]}`,
	} {
		nt, ok := b.reg.Lookup(node.TypeName(typ))
		require.True(t, ok)
		require.Empty(t, nt.ValidateConfig(obj(t, config), true), typ)
		probe := nt.Info.New()
		require.NoError(t, node.Decode(obj(t, config), probe))
		if v, ok := probe.(node.Validator); ok {
			require.NoError(t, v.Validate(), typ)
		}
	}
}

func bigArray(n int) []any {
	items := make([]any, n)
	for i := range items {
		items[i] = map[string]any{"id": float64(i), "group": float64(i % 100), "name": fmt.Sprintf("item %d", n-i), "price": float64(i%997) / 7}
	}
	return items
}

// TestHostile checks that a memory budget too small for the work stops each node before it builds,
// and that a canceled context stops the work.
func TestHostile(t *testing.T) {
	t.Parallel()

	configs := map[string]string{
		"data.sort":      `{"keys":[{"field":"name"}]}`,
		"data.limit":     `{"max":100000}`,
		"data.aggregate": `{"groupBy":["id"],"aggregations":[{"op":"collect","field":"name"}]}`,
		"data.rename":    `{"renames":[{"from":"name","to":"title"}]}`,
		"data.dedupe":    `{}`,
		"data.compare":   `{"key":"id"}`,
	}
	items := bigArray(50_000)
	for typ, config := range configs {
		t.Run("Budget "+typ, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			mem := budget.NewMemory(64 << 10)
			in := &node.Input{Data: items, Sources: []node.Source{{Value: items}, {Value: items}}, Limits: node.Limits{Memory: mem.Open()}}
			_, err := b.run(context.Background(), t, typ, obj(t, config), in)
			var exceeded *budget.ExceededError
			require.ErrorAs(t, err, &exceeded)
			require.LessOrEqual(t, mem.Used(), int64(64<<10))
		})
		t.Run("Canceled "+typ, func(t *testing.T) {
			t.Parallel()
			if typ == "data.limit" {
				t.Skip("data.limit copies a slice and does not loop")
			}
			b := setup(t)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			in := &node.Input{Data: items, Sources: []node.Source{{Value: items}, {Value: items}}}
			_, err := b.run(ctx, t, typ, obj(t, config), in)
			require.ErrorIs(t, err, context.Canceled)
		})
	}
}

// TestSortByHonoursExpressionBudget checks that a per-element expression that builds too much
// stops with the budget error, not a panic or a hang.
func TestSortByHonoursExpressionBudget(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mem := budget.NewMemory(1 << 20)
	in := &node.Input{Data: []any{"a", "b"}, Limits: node.Limits{Memory: mem.Open()}}
	_, err := b.run(context.Background(), t, "data.sort", map[string]any{"by": "{{ repeat(item, 1000000) }}"}, in)
	require.ErrorIs(t, err, budget.ErrExceeded)
}

func TestDeeplyNestedWholeItems(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var deep any = "x"
	for range 5000 {
		deep = []any{deep}
	}
	out, err := b.run(context.Background(), t, "data.dedupe", map[string]any{}, &node.Input{Data: []any{deep, deep}})
	require.NoError(t, err)
	require.Len(t, out.Value, 1)
	out, err = b.run(context.Background(), t, "data.sort", map[string]any{}, &node.Input{Data: []any{deep, deep}})
	require.NoError(t, err)
	require.Len(t, out.Value, 2)
}

func BenchmarkSort100k(b *testing.B) {
	items := bigArray(100_000)
	n := &records.Sort{Keys: []records.SortKey{{Field: "group"}, {Field: "name", Natural: true}}}
	in := &node.Input{Data: items}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Execute(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAggregate100k(b *testing.B) {
	items := bigArray(100_000)
	n := &records.Aggregate{GroupBy: []string{"group"}, Aggregations: []records.Aggregation{
		{Op: "count"}, {Op: "sum", Field: "price"}, {Op: "avg", Field: "price"}, {Op: "max", Field: "name"}, {Op: "countDistinct", Field: "name"},
	}}
	in := &node.Input{Data: items}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Execute(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}
