package expression

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRuntimeErrorsSpeakTheExpression checks that evaluation errors say, in the words of the
// expression, what was null or of the wrong type, instead of Go's internals.
func TestRuntimeErrorsSpeakTheExpression(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"{{ input.total > 100 }}", "cannot apply > to input.total (null) and 100 (a number)"},
		{"{{ input.missing.field }}", "input.missing is null, so .field cannot be read from it"},
		{"{{ input.items[5] }}", "input.items has 3 element(s), so [5] is out of range"},
		{"{{ input.n + input.missing }}", "cannot apply + to input.n (a number) and input.missing (null)"},
		{"{{ len(input.missing) }}", "len cannot take input.missing, which is null"},
		{"{{ input.name * 2 }}", "cannot apply * to input.name (a string) and 2 (a number)"},
		{"{{ split(input.missing, ',') }}", "split needs a string where one of its arguments (input.missing, ',') is null"},
		{"{{ nodes.fetch.output.body }}", "nodes.fetch is null, so .output cannot be read from it"},
		{"{{ input.items[0].x }}", "input.items[0] is a number, so .x cannot be read from it"},
		{"{{ int('abc') }}", `int cannot turn 'abc' ("abc") into a number`},
		{"{{ filter(input.missing, # > 1) }}", "filter needs an array, but input.missing is null"},
		{"{{ input.name.x }}", "input.name is a string, so .x cannot be read from it"},
		{"{{ -input.name }}", "- cannot be applied to input.name, which is a string"},
		{"{{ !input.n }}", "! needs a boolean, but input.n is a number"},
		{"{{ lower(input.items) }}", "lower needs a string, but input.items is an array"},
		{"{{ upper(trigger.missing) }}", "upper needs a string, but trigger.missing is null"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			tmpl, err := Compile(tt.src, Limits{})
			require.NoError(t, err)
			_, err = tmpl.Eval(context.Background(), testEnv(), Budget{})
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tt.want, e.Message)
		})
	}
}

func TestValueErrorsCarryTheirPointer(t *testing.T) {
	t.Parallel()
	v, _, errs := CompileValue(map[string]any{"fields": map[string]any{"a/b": []any{"ok", "{{ input.missing.x }}"}}}, Limits{}, nil, nil)
	require.Empty(t, errs)
	_, err := v.Eval(context.Background(), testEnv(), Budget{})
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "/fields/a~1b/1", e.Pointer)
	require.Equal(t, "input.missing.x", e.Expr)
}

func TestRawKeysAreNotTemplates(t *testing.T) {
	t.Parallel()
	raw := func(key string) bool { return key == "code" }
	cfg := map[string]any{"code": "return '{{ not an expression'", "other": "{{ input.a }}"}
	v, lazy, errs := CompileValue(cfg, Limits{}, nil, raw)
	require.Empty(t, errs)
	require.Empty(t, lazy)
	got, err := v.Eval(context.Background(), testEnv(), Budget{})
	require.NoError(t, err)
	require.Equal(t, "return '{{ not an expression'", got.(map[string]any)["code"])
	refs := 0
	v.Templates(func(string, *Template) { refs++ })
	require.Equal(t, 1, refs, "only other is a template")
}
