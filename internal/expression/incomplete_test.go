package expression

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIncompleteMessages covers what the editor shows while an expression is being typed: plain
// words about what the end lacks, never "is not closed" for a text that the message quotes closed.
func TestIncompleteMessages(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		src  string
		want string
	}{
		{name: "ClosedDot", src: "{{ input. }}", want: "expression {{ input. }}: is incomplete: input. needs a field name"},
		{name: "ClosedOperator", src: "{{ input.a + }}", want: "expression {{ input.a + }}: is incomplete: + at the end needs a value after it"},
		{name: "ClosedParen", src: "{{ upper( }}", want: `expression {{ upper( }}: is incomplete: a "(" is not closed: add ")"`},
		{name: "Empty", src: "{{ ", want: `the expression after {{ is empty and not closed: write an expression, then "}}"`},
		{name: "NestedDot", src: "Hi {{ nodes.fetch.output.", want: "the expression after {{ is incomplete: nodes.fetch.output. needs a field name"},
		{name: "OpenBracket", src: "{{ input.items[", want: `the expression after {{ is incomplete: a "[" is not closed: add "]"`},
		{name: "OpenComplete", src: "{{ len(input) ", want: `the expression after {{ is not closed: add "}}" after len(input)`},
		{name: "OpenDot", src: "{{ input.", want: "the expression after {{ is incomplete: input. needs a field name"},
		{name: "OpenIndexDot", src: `{{ input["a b"].`, want: `the expression after {{ is incomplete: input["a b"]. needs a field name`},
		{name: "OpenOperator", src: "{{ input.total >", want: "the expression after {{ is incomplete: > at the end needs a value after it"},
		{name: "SecondOpen", src: "{{ input.x }} and {{ vars.", want: "the expression after {{ is incomplete: vars. needs a field name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tt.src, Limits{})
			require.Error(t, err)
			require.Equal(t, tt.want, err.Error())
			require.NotContains(t, err.Error(), "EOF")
		})
	}
}

func FuzzIncomplete(f *testing.F) {
	for _, s := range []string{"{{ input.", "{{ a +", "{{ f(", "{{ x[", "{{ {a:", "{{ .", "{{ a?.", "{{ 1 ..", "{{ input.a.b.c", "a {{ b }} {{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1000 {
			return
		}
		// Never panics; an error always reads as a sentence about the expression.
		if _, err := Compile(s, Limits{}); err != nil {
			require.NotEmpty(t, err.Error())
		}
		_ = missing(s)
	})
}
