package validate

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnquoteList(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		list   string
		want   []string
		wantOK bool
	}{
		{name: "Empty", list: "", wantOK: false},
		{name: "EmptyName", list: "'07', ''", want: []string{"07", ""}, wantOK: true},
		{name: "NotRequoted", list: `'\x41'`, wantOK: false},
		{name: "QuoteAndSeparator", list: `'a\', \'b'`, want: []string{"a', 'b"}, wantOK: true},
		{name: "Escapes", list: `'say "hi"', 'it\'s', 'tab\t'`, want: []string{`say "hi"`, "it's", "tab\t"}, wantOK: true},
		{name: "Many", list: "'a', 'b', 'c'", want: []string{"a", "b", "c"}, wantOK: true},
		{name: "One", list: "'url'", want: []string{"url"}, wantOK: true},
		{name: "Unquoted", list: "url", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, ok := unquoteList(tt.list)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()

	config := map[string]any{
		"a/b":   1.0,
		"m~n":   2.0,
		"cases": []any{map[string]any{"port": "x"}},
	}
	tests := []struct {
		name      string
		ptr       string
		want      any
		wantFound bool
	}{
		{name: "ArrayElement", ptr: "/cases/0/port", want: "x", wantFound: true},
		{name: "ArrayOutOfRange", ptr: "/cases/1", wantFound: false},
		{name: "EscapedSlash", ptr: "/a~1b", want: 1.0, wantFound: true},
		{name: "EscapedTilde", ptr: "/m~0n", want: 2.0, wantFound: true},
		{name: "Missing", ptr: "/nope", wantFound: false},
		{name: "NotAPointer", ptr: "cases", wantFound: false},
		{name: "ThroughScalar", ptr: "/a~1b/c", wantFound: false},
		{name: "Whole", ptr: "", want: config, wantFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, found := lookup(config, tt.ptr)
			require.Equal(t, tt.wantFound, found)
			if found {
				require.Equal(t, tt.want, got)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	t.Parallel()

	config := map[string]any{
		"cron":  "61 * * * *",
		"cases": []any{map[string]any{}, map[string]any{}},
		"url":   "ftp://x",
	}
	tests := []struct {
		name string
		msg  string
		want string
	}{
		{name: "FieldColon", msg: `cron "61 * * * *": end of range`, want: "/cron"},
		{name: "FieldSpace", msg: "url must start with http:// or https://", want: "/url"},
		{name: "Index", msg: `cases[1]: port "a" is used by an earlier case`, want: "/cases/1"},
		{name: "IndexOutOfRange", msg: "cases[7]: bad", want: "/cases"},
		{name: "NotAField", msg: `header name "x" is not valid`, want: ""},
		{name: "NoPrefix", msg: "set duration or until", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.want, locate(config, tt.msg))
		})
	}
}

func TestExactlyOneOf(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		schema string
		want   []string
	}{
		{name: "ExtraKeyword", schema: `{"oneOf": [{"required": ["a"], "properties": {}}, {"required": ["b"]}]}`},
		{name: "NoOneOf", schema: `{"type": "object"}`},
		{name: "NotJSON", schema: `{`},
		{name: "OneBranch", schema: `{"oneOf": [{"required": ["a"]}]}`},
		{name: "Required", schema: `{"oneOf": [{"required": ["duration"]}, {"required": ["until"]}]}`, want: []string{"duration", "until"}},
		{name: "TwoRequiredInABranch", schema: `{"oneOf": [{"required": ["a", "b"]}, {"required": ["c"]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.want, exactlyOneOf(json.RawMessage(tt.schema)))
		})
	}
}

func TestPointerLess(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{name: "Equal", a: "/nodes/1", b: "/nodes/1", want: false},
		{name: "Lexical", a: "/edges/0", b: "/name", want: true},
		{name: "Numeric", a: "/nodes/2/id", b: "/nodes/10/id", want: true},
		{name: "NumericReverse", a: "/nodes/10/id", b: "/nodes/2/id", want: false},
		{name: "Prefix", a: "/nodes/1/config", b: "/nodes/1/config/url", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.want, pointerLess(tt.a, tt.b))
		})
	}
}
