package textnode_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/textnode"
)

type testBundle struct {
	reg *node.Registry
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	return setupWith(t, textnode.Config{})
}

func setupWith(t testing.TB, cfg textnode.Config) *testBundle {
	t.Helper()
	r := node.NewRegistry()
	r.MustRegister(textnode.New(cfg))
	return &testBundle{reg: r}
}

func (b *testBundle) run(ctx context.Context, t testing.TB, config map[string]any, in *node.Input) (node.Output, error) {
	t.Helper()
	nt, ok := b.reg.Lookup("data.template")
	require.True(t, ok)
	n, err := nt.Instantiate(config, false)
	require.NoError(t, err)
	return n.Execute(ctx, in)
}

func js(t testing.TB, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v), s)
	return v
}

// requireCode checks that err is a permanent *node.Error with code and returns its message.
func requireCode(t *testing.T, err error, code string) string {
	t.Helper()
	require.Error(t, err)
	require.True(t, node.IsPermanent(err), "retrying cannot fix %v", err)
	var ne *node.Error
	require.True(t, errors.As(err, &ne), "%v is a *node.Error", err)
	require.Equal(t, code, ne.Code, ne.Message)
	return ne.Message
}

func TestRender(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		template string
		input    string
		data     any
		want     string
		errCode  string
		errMsg   string
	}{
		{name: "Arithmetic", template: `{% add .a 2 %} {% sub .a 1 %} {% mul .a 3 %} {% div .a 4 %}`, input: `{"a":2}`, want: `4 1 6 0.5`},
		{name: "CallRefused", template: `{% call .f %}`, input: `{"f":1}`, errCode: "template_error", errMsg: "call is not available"},
		{name: "Context", template: `{% (trigger).user %} {% (execution).id %} {% (input).x %} {% .y %}`, input: `{"x":1}`, data: map[string]any{"y": 2.0},
			want: `ada e1 1 2`},
		{name: "Default", template: `{% .missing | default "none" %}/{% .zero | default 5 %}/{% .name | default "x" %}`, input: `{"zero":0,"name":"n"}`, want: `none/5/n`},
		{name: "DefineAndTemplate", template: `{% define "row" %}[{% .id %}]{% end %}{% range .rows %}{% template "row" . %}{% end %}`,
			input: `{"rows":[{"id":1},{"id":2}]}`, want: `[1][2]`},
		{name: "DivByZero", template: `{% div 1 0 %}`, input: `{}`, errCode: "template_error", errMsg: "division by zero"},
		{name: "DocsExample", template: "Hello {% .name %},{% range .orders %}\n- order {% .id %}: {% printf \"%.2f\" .total %} EUR{% end %}",
			input: `{"name": "Ada", "orders": [{"id": 7, "total": 12.5}, {"id": 9, "total": 3}]}`, want: "Hello Ada,\n- order 7: 12.50 EUR\n- order 9: 3.00 EUR"},
		{name: "EngineBracesAreText", template: `{{ input.x }} {% .x %}`, input: `{"x":1}`, want: `{{ input.x }} 1`},
		{name: "Escapers", template: `{% html .s %} {% js .s %} {% urlquery .s %}`, input: `{"s":"<a&'b>"}`, want: `&lt;a&amp;&#39;b&gt; \u003Ca\u0026\'b\u003E %3Ca%26%27b%3E`},
		{name: "FieldOfString", template: `{% .a.b %}`, input: `{"a":"x"}`, errCode: "template_error", errMsg: "can't evaluate field b"},
		{name: "Json", template: `{% json .o %}`, input: `{"o":{"a":[1,"x",null]}}`, want: `{"a":[1,"x",null]}`},
		{name: "PrintfWidthRefused", template: `{% printf "%0999999999d" 1 %}`, input: `{}`, errCode: "template_error", errMsg: "widths and precisions are at most 1024"},
		{name: "PrintfStarRefused", template: `{% printf "%*d" 100000000 1 %}`, input: `{}`, errCode: "template_error", errMsg: "* widths"},
		{name: "RangeBreak", template: `{% range $i, $e := . %}{% if eq $i 2 %}{% break %}{% end %}{% $e %}{% end %}`, input: `["a","b","c"]`, want: `ab`},
		{name: "Strings", template: `{% upper .s %} {% lower .s %} {% .s | trimPrefix "Ab" %} {% replace "b" "_" .s %} {% join "|" (split "," .l) %} {% if contains "bC" .s %}yes{% end %}`,
			input: `{"s":"AbCb","l":"x,y"}`, want: `ABCB abcb Cb A_C_ x|y yes`},
		{name: "SyntaxOfFieldOnMissing", template: `{% .x %}`, input: `{}`, want: `<no value>`},
		{name: "TrimSpaces", template: "a {%- \" b \" -%} c", input: `{}`, want: `a b c`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			config := map[string]any{"template": tt.template}
			if tt.data != nil {
				config["data"] = tt.data
			}
			in := &node.Input{Data: js(t, tt.input), Trigger: map[string]any{"user": "ada"}, Execution: node.ExecutionInfo{ExecutionID: "e1"}}
			out, err := b.run(context.Background(), t, config, in)
			if tt.errCode != "" {
				msg := requireCode(t, err, tt.errCode)
				require.Contains(t, msg, tt.errMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, map[string]any{"text": tt.want}, out.Value)
		})
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		config  map[string]any
		pointer string
		message string
	}{
		{name: "MissingTemplate", config: map[string]any{}, pointer: ""},
		{name: "TooLong", config: map[string]any{"template": strings.Repeat("x", 65537)}, pointer: "/template"},
		{name: "Unclosed", config: map[string]any{"template": "{% if .a %}x"}, message: "template: template:1: unexpected EOF"},
		{name: "InternalCheckRefused", config: map[string]any{"template": "{% templateDepthEnd %}"}, message: `function "templateDepthEnd" not defined`},
		{name: "UnknownFunction", config: map[string]any{"template": "{% env \"HOME\" %}"}, message: `function "env" not defined`},
		{name: "WrongType", config: map[string]any{"template": 3}, pointer: "/template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nt, ok := setup(t).reg.Lookup("data.template")
			require.True(t, ok)
			errs := nt.ValidateConfig(tt.config, true)
			if tt.message == "" {
				require.NotEmpty(t, errs)
				require.Equal(t, tt.pointer, errs[0].Pointer)
				return
			}
			require.Empty(t, errs)
			_, err := nt.Instantiate(tt.config, true)
			require.ErrorContains(t, err, tt.message)
		})
	}
}

// TestHostile renders templates written to loop, recurse or build without end: each stops with its
// limit's error, quickly.
func TestHostile(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		template string
		errCode  string
		errMsg   string
	}{
		{name: "DoublingVariable", template: `{% $s := "xxxxxxxxxxxxxxxx" %}{% range 40 %}{% $s = print $s $s %}{% end %}{% len $s %}`,
			errCode: "template_error", errMsg: "print would build"},
		{name: "EmptyRangeOverHugeInt", template: `{% range 1000000000 %}{% end %}`, errCode: "template_error", errMsg: "more than 20000 loop iterations"},
		{name: "ExponentialTemplates", template: `{% define "a" %}{% template "a" %}{% template "a" %}{% end %}{% template "a" %}`,
			errCode: "template_error", errMsg: "nested more than 100 deep"},
		{name: "HugeOutput", template: `{% range 10000 %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% end %}`, errCode: "output_too_large"},
		{name: "NestedRanges", template: `{% range 1000 %}{% range 1000 %}{% range 1000 %}{% end %}{% end %}{% end %}`,
			errCode: "template_error", errMsg: "loop iterations"},
		{name: "ReplaceGrowth", template: `{% $s := "ab" %}{% range 30 %}{% $s = replace "" "yyyy" $s %}{% end %}`, errCode: "template_error", errMsg: "replace would build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupWith(t, textnode.Config{Timeout: time.Minute, MaxIterations: 20_000})
			mem := budget.NewMemory(64 << 20)
			in := &node.Input{Data: map[string]any{}, Limits: node.Limits{MaxOutputBytes: 1 << 20, Memory: mem.Open()}}
			start := time.Now()
			_, err := b.run(context.Background(), t, map[string]any{"template": tt.template}, in)
			require.Less(t, time.Since(start), 10*time.Second)
			msg := requireCode(t, err, tt.errCode)
			require.Contains(t, msg, tt.errMsg)
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	b := setupWith(t, textnode.Config{Timeout: 20 * time.Millisecond, MaxIterations: 1 << 40})
	_, err := b.run(context.Background(), t, map[string]any{"template": `{% range 1000000000 %}{% end %}`}, &node.Input{})
	msg := requireCode(t, err, "timeout")
	require.Contains(t, msg, "time budget of 20ms")
}

func TestCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := setup(t).run(ctx, t, map[string]any{"template": `{% range 100000 %}{% end %}`}, &node.Input{})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, node.IsPermanent(err))
}

func TestMemoryBudget(t *testing.T) {
	t.Parallel()
	mem := budget.NewMemory(1 << 20)
	in := &node.Input{Data: map[string]any{"s": strings.Repeat("x", 100_000)}, Limits: node.Limits{MaxOutputBytes: 16 << 20, Memory: mem.Open()}}
	_, err := setup(t).run(context.Background(), t, map[string]any{"template": `{% range 100 %}{% $x := print $.s %}{% end %}`}, in)
	var exceeded *budget.ExceededError
	require.ErrorAs(t, err, &exceeded)
}

// FuzzTemplate renders arbitrary templates over a small document: none may panic, hang or pass the
// output limit.
func FuzzTemplate(f *testing.F) {
	for _, seed := range []string{`{% .a %}`, `{% range .b %}{% . %}{% end %}`, `{% printf "%5.2f" .a %}`, `{% define "x" %}{% template "x" %}{% end %}`,
		`{% with .c %}{% .d %}{% else %}none{% end %}`, `{% $x := 1 %}{% $x = add $x 1 %}{% $x %}`, `{% json . %}`, `{% join "," .b %}`} {
		f.Add(seed)
	}
	nt, _ := setup(f).reg.Lookup("data.template")
	doc := map[string]any{"a": 1.5, "b": []any{"x", 2.0}, "c": map[string]any{"d": "e"}}
	f.Fuzz(func(t *testing.T, tmpl string) {
		n, err := nt.Instantiate(map[string]any{"template": tmpl}, false)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		out, err := n.Execute(ctx, &node.Input{Data: doc, Limits: node.Limits{MaxOutputBytes: 64 << 10, Memory: budget.NewMemory(16 << 20).Open()}})
		if err == nil {
			text, _ := out.Value.(map[string]any)["text"].(string)
			if len(text) > 64<<10 {
				t.Fatalf("%q: %d bytes passed the limit", tmpl, len(text))
			}
		}
	})
}
