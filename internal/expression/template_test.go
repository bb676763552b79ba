package expression

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testEnv() *Env {
	return &Env{
		Trigger: map[string]any{"user": "ada"},
		Input:   map[string]any{"n": 2.0, "items": []any{1.0, 2.0, 3.0}, "name": "x"},
		Nodes: map[string]any{
			"fetch_orders": map[string]any{"output": map[string]any{"body": []any{map[string]any{"total": 120.0}}}},
		},
		Vars:      map[string]any{"region": "eu"},
		Workflow:  map[string]any{"id": "wf1", "name": "demo", "version": 3},
		Execution: map[string]any{"id": "ex1"},
		Item:      "it",
		Index:     4,
	}
}

func TestEval(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		src  string
		want any
	}{
		{name: "BlanksAroundSingle", src: "  {{ input.n }} ", want: 2.0},
		{name: "BraceInString", src: `{{ "}}" + "{{" }}`, want: "}}{{"},
		{name: "Literal", src: "hello", want: "hello"},
		{name: "MapLiteral", src: "{{ {a: {b: input.n}} }}", want: map[string]any{"a": map[string]any{"b": 2.0}}},
		{name: "MixedFormatsValues", src: "n={{ input.n }} ok={{ true }} nil={{ nil }} arr={{ [1, 2] }}", want: "n=2 ok=true nil= arr=[1,2]"},
		{name: "NodesReference", src: "{{ nodes.fetch_orders.output.body[0].total > 100 }}", want: true},
		{name: "Predicate", src: "{{ filter(input.items, # > 1) }}", want: []any{2.0, 3.0}},
		{name: "Repeat", src: `{{ repeat("ab", 3) }}`, want: "ababab"},
		{name: "SingleTyped", src: "{{ input.n * 2 }}", want: 4.0},
		{name: "Template", src: "Hello {{ trigger.user }} from {{ vars.region }}!", want: "Hello ada from eu!"},
		{name: "ItemAndIndex", src: "{{ item }}-{{ index }}", want: "it-4"},
		{name: "ToJSON", src: `{{ toJSON({a: 1}) }}`, want: "{\n  \"a\": 1\n}"},
		{name: "WorkflowAndExecution", src: "{{ workflow.name }}/{{ execution.id }}", want: "demo/ex1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := Compile(tt.src, Limits{})
			require.NoError(t, err)
			got, err := tmpl.Eval(context.Background(), testEnv(), Budget{})
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		src     string
		limits  Limits
		message string
	}{
		{name: "Empty", src: "{{ }}", message: "is empty"},
		{name: "NotClosed", src: "a {{ input.x", message: `is not closed: add "}}" after input.x`},
		{name: "Reserved", src: "{{ __budget }}", message: "reserved"},
		{name: "Syntax", src: "{{ input.a ) }}", message: "unexpected"},
		{name: "TooLong", src: "{{ " + strings.Repeat("1+", 100) + "1 }}", limits: Limits{MaxLength: 50}, message: "over the 50-byte limit"},
		{name: "TooManyNodes", src: "{{ " + strings.Repeat("1+", 100) + "1 }}", limits: Limits{MaxNodes: 20}, message: "exceeds maximum allowed nodes"},
		{name: "UnknownName", src: "{{ secrets.key }}", message: "unknown name secrets"},
		{name: "UnterminatedString", src: `{{ "abc }}`, message: "unterminated string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tt.src, tt.limits)
			require.Error(t, err)
			var exprErr *Error
			require.ErrorAs(t, err, &exprErr)
			require.Contains(t, exprErr.Message, tt.message)
		})
	}
}

func TestBudgets(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		src    string
		budget Budget
	}{
		{name: "ArrayDoubling", src: "{{ reduce(1..60, concat(#acc, #acc), [1]) }}"},
		{name: "NestedSharing", src: "{{ let a = [1,2]; let b = [a,a,a,a]; let c = [b,b,b,b]; let d = [c,c,c,c]; let e = [d,d,d,d]; let f = [e,e,e,e]; [f,f,f,f] }}", budget: Budget{MaxSize: 10_000}},
		{name: "RangeMemory", src: "{{ 1..100000000 }}"},
		{name: "Repeat", src: `{{ repeat("x", 100000000) }}`},
		{name: "StringDoubling", src: `{{ reduce(1..80, #acc + #acc, "ab") }}`},
		{name: "Time", src: "{{ reduce(1..900, reduce(1..900, #acc + 1, 0), 0) }}", budget: Budget{Timeout: time.Millisecond, MemoryBudget: 100_000_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := Compile(tt.src, Limits{})
			require.NoError(t, err)
			_, err = tmpl.Eval(context.Background(), testEnv(), tt.budget)
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrBudget) || strings.Contains(err.Error(), "budget"), "error %v", err)
		})
	}
}

func TestNodeRefs(t *testing.T) {
	t.Parallel()

	tmpl, err := Compile(`{{ nodes.a.output }} {{ nodes["b"].output }}`, Limits{})
	require.NoError(t, err)
	ids, dynamic := tmpl.NodeRefs()
	require.Equal(t, []string{"a", "b"}, ids)
	require.False(t, dynamic)

	tmpl, err = Compile(`{{ nodes[input.name].output }}`, Limits{})
	require.NoError(t, err)
	_, dynamic = tmpl.NodeRefs()
	require.True(t, dynamic)

	// nodes read whole may read any node.
	for _, src := range []string{`{{ keys(nodes) }}`, `{{ nodes }}`, `{{ nodes.a.output }} {{ len(nodes) }}`} {
		tmpl, err = Compile(src, Limits{})
		require.NoError(t, err)
		_, dynamic = tmpl.NodeRefs()
		require.True(t, dynamic, src)
	}
}

func TestRuntimeErrorNamesExpression(t *testing.T) {
	t.Parallel()

	tmpl, err := Compile(`{{ input.missing.deeper }}`, Limits{})
	require.NoError(t, err)
	_, err = tmpl.Eval(context.Background(), testEnv(), Budget{})
	var exprErr *Error
	require.ErrorAs(t, err, &exprErr)
	require.Equal(t, "input.missing.deeper", exprErr.Expr)
}

func TestIsSingle(t *testing.T) {
	t.Parallel()

	require.True(t, IsSingle(" {{ a }} "))
	require.False(t, IsSingle("x {{ a }}"))
	require.False(t, IsSingle("{{ a }}{{ b }}"))
	require.False(t, IsSingle("plain"))
}

func FuzzCompile(f *testing.F) {
	for _, seed := range []string{"", "{{ a }}", "x {{ input.n * 2 }} y", "{{ {a: {b: 1}} }}", `{{ "}}" }}`, "{{", "}}", "{{ reduce(1..9, #acc + #acc, 'a') }}", "{{ `raw` }}"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Compile(src, Limits{})
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _ = tmpl.Eval(ctx, testEnv(), Budget{Timeout: 50 * time.Millisecond, MaxSize: 1 << 16})
	})
}

func TestCacheReturnsTheSameTemplate(t *testing.T) {
	t.Parallel()
	c := NewCache(1 << 20)
	limits := Limits{Cache: c}
	a, err := Compile("{{ input.n }}", limits)
	require.NoError(t, err)
	b, err := Compile("{{ input.n }}", limits)
	require.NoError(t, err)
	require.Same(t, a, b)
	_, err = Compile("{{ input. }}", limits)
	require.Error(t, err, "errors are not cached as templates")
	require.Equal(t, 1, c.Len())
	short := Limits{Cache: c, MaxLength: 3}
	_, err = Compile("{{ input.n }}", short)
	require.Error(t, err, "a cached template does not bypass tighter limits")
}
