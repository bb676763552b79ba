package expression

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBuiltinsAtRunTime: the builtins' answers to arguments whose types are only known when the
// expression runs, and their results where they are exact.
func TestBuiltinsAtRunTime(t *testing.T) {
	t.Parallel()
	env := func() *Env {
		return &Env{Input: map[string]any{
			"name": "ada", "f": 1.5, "n": 3, "ok": true, "obj": map[string]any{"a": 1.0}, "nan": math.NaN(),
			"pattern": "(", "list": []any{"a", "b"}, "big": "[" + strings.Repeat("1,", 5000) + "1]",
		}}
	}
	tests := []struct {
		name    string
		src     string
		limits  Limits
		budget  Budget
		want    any
		wantErr string
	}{
		{name: "RepeatCountString", src: `{{ repeat("a", input.name) }}`, wantErr: "repeat needs a whole number of times, not a string"},
		{name: "RepeatCountFraction", src: `{{ repeat("a", input.f) }}`, wantErr: "repeat needs a whole number of times, not a number"},
		{name: "ReplaceCountString", src: `{{ replace("aaa", "a", "b", input.name) }}`, wantErr: "replace needs a whole number as its count, not a string"},
		{name: "ReplaceCount", src: `{{ replace("aaa", "a", "b", input.n - 1) }}`, want: "bba"},
		{name: "JoinNull", src: `{{ join(input.missing) }}`, wantErr: "join needs an array of strings, not null"},
		{name: "JoinObject", src: `{{ join(input.obj) }}`, wantErr: "join needs an array of strings, not an object"},
		{name: "JoinBoolean", src: `{{ join(input.ok, "-") }}`, wantErr: "join needs an array of strings, not a boolean"},
		{name: "JoinString", src: `{{ join(input.name, "-") }}`, wantErr: "join needs an array of strings, not a string"},
		{name: "Join", src: `{{ join(input.list, "-") }}`, want: "a-b"},
		{name: "SplitCountString", src: `{{ split("a,b", ",", input.name) }}`, wantErr: "split needs a whole number as its count, not a string"},
		{name: "SplitAfterCount", src: `{{ splitAfter("a,b,c", ",", 2) }}`, want: []string{"a,", "b,c"}},
		{name: "ToJSONNaN", src: `{{ toJSON(input.nan) }}`, wantErr: "toJSON: json: unsupported value: NaN"},
		{name: "FromJSONBroken", src: `{{ fromJSON("{") }}`, wantErr: "fromJSON: unexpected end of JSON input"},
		{name: "FromJSONOverBudget", src: `{{ fromJSON(input.big) }}`, limits: Limits{MaxValueBytes: 16 << 10}, wantErr: "fromJSON would build"},
		{name: "FromJSON", src: `{{ fromJSON('{"a":[1,"x"]}') }}`, want: map[string]any{"a": []any{1.0, "x"}}},
		{name: "SHA256String", src: `{{ sha256("abc") }}`, want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{name: "SHA256Number", src: `{{ sha256(input.n) == sha256("3") }}`, want: true},
		{name: "MatchesNumberPattern", src: `{{ input.name matches input.n }}`, wantErr: "matches needs a string pattern on its right, not a number"},
		{name: "MatchesBrokenPattern", src: `{{ input.name matches input.pattern }}`, wantErr: "invalid pattern"},
		{name: "MatchesTwiceOneCompile", src: `{{ (input.name matches "^a") && ("bad" matches "^a") }}`, want: false},
		{name: "FormatsDuration", src: `d={{ duration("90m") }}`, want: "d=1h30m0s"},
		{name: "FormatsDate", src: `t={{ date("2025-01-02T03:04:05Z") }}`, want: "t=2025-01-02T03:04:05Z"},
		{name: "FormatOverBudget", src: `x{{ repeat("a", 3000) }}`, budget: Budget{MaxSize: 1024}, wantErr: "size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := Compile(tc.src, tc.limits)
			require.NoError(t, err)
			got, err := tmpl.Eval(context.Background(), env(), tc.budget)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestUUIDIsNewEachTime(t *testing.T) {
	t.Parallel()
	tmpl, err := Compile(`{{ uuid() }}`, Limits{})
	require.NoError(t, err)
	a, err := tmpl.Eval(context.Background(), &Env{}, Budget{})
	require.NoError(t, err)
	b, err := tmpl.Eval(context.Background(), &Env{}, Budget{})
	require.NoError(t, err)
	require.Len(t, a, 36)
	require.NotEqual(t, a, b)
}

func TestUnmatchedBrace(t *testing.T) {
	t.Parallel()
	_, err := Compile("{{ input.n } + 1 }}", Limits{})
	require.ErrorContains(t, err, "has an unmatched }")
	tmpl, err := Compile(`{{ "a\"}}" }}`, Limits{})
	require.NoError(t, err, "an escaped quote inside a string does not end it")
	got, err := tmpl.Eval(context.Background(), &Env{}, Budget{})
	require.NoError(t, err)
	require.Equal(t, `a"}}`, got)
	require.Equal(t, `{{ "a\"}}" }}`, tmpl.Source())
}

func TestMustCompile(t *testing.T) {
	t.Parallel()
	require.Equal(t, "x", MustCompile("x").Source())
	require.Panics(t, func() { MustCompile("{{ }}") })
}
