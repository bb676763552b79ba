package workflow

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPointer(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		tokens []any
		want   string
	}{
		{name: "Empty", tokens: nil, want: ""},
		{name: "EmptyToken", tokens: []any{"config", ""}, want: "/config/"},
		{name: "EscapedTildeOne", tokens: []any{"~1"}, want: "/~01"},
		{name: "Index", tokens: []any{"nodes", 3, "config", "url"}, want: "/nodes/3/config/url"},
		{name: "Slash", tokens: []any{"headers", "a/b"}, want: "/headers/a~1b"},
		{name: "SlashAndTilde", tokens: []any{"/~/"}, want: "/~1~0~1"},
		{name: "Tilde", tokens: []any{"m~n"}, want: "/m~0n"},
		{name: "Unicode", tokens: []any{"café", "日本"}, want: "/café/日本"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.want, Pointer(tt.tokens...))
		})
	}
}

func TestPointerPanicsOnOtherTokens(t *testing.T) {
	t.Parallel()

	require.PanicsWithValue(t, "workflow.Pointer: token must be int or string", func() { Pointer("nodes", 1.5) })
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		errs ValidationErrors
		want string
	}{
		{name: "Many", errs: ValidationErrors{{Pointer: "/name", Message: "name is required"}, {Pointer: "/nodes/0/id", Message: "bad"}}, want: "2 validation errors: /name: name is required; /nodes/0/id: bad"},
		{name: "None", errs: nil, want: "no validation errors"},
		{name: "NoPointer", errs: ValidationErrors{{Message: "broken"}}, want: "broken"},
		{name: "One", errs: ValidationErrors{{Pointer: "/name", Message: "name is required"}}, want: "/name: name is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.EqualError(t, tt.errs, tt.want)
			var got ValidationErrors
			require.True(t, errors.As(fmt.Errorf("save workflow: %w", tt.errs), &got))
			require.Equal(t, tt.errs, got)
		})
	}
}
