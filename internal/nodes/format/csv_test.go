package format_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
)

func TestCSVParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		input  any
		want   any
	}{
		{name: "BOMAndCRLF", config: map[string]any{"mode": "parse"}, input: "\uFEFFa,b\r\n1,2\r\n",
			want: []any{map[string]any{"a": "1", "b": "2"}}},
		{name: "ColumnsReplaceHeader", config: map[string]any{"mode": "parse", "columns": []any{"x", "y"}}, input: "a,b\n1,2\n",
			want: []any{map[string]any{"x": "1", "y": "2"}}},
		{name: "ColumnsWithoutHeader", config: map[string]any{"mode": "parse", "header": false, "columns": []any{"x", "y"}}, input: "1,2\n3,4\n",
			want: []any{map[string]any{"x": "1", "y": "2"}, map[string]any{"x": "3", "y": "4"}}},
		{name: "Comment", config: map[string]any{"mode": "parse", "comment": "#"}, input: "# exported\na\n1\n#2\n",
			want: []any{map[string]any{"a": "1"}}},
		{name: "EmptyText", config: map[string]any{"mode": "parse"}, input: "", want: []any{}},
		{name: "Header", config: map[string]any{"mode": "parse"}, input: "id,name\n1,Ada\n2,\"Grace, \"\"Amazing\"\"\"\n",
			want: []any{map[string]any{"id": "1", "name": "Ada"}, map[string]any{"id": "2", "name": `Grace, "Amazing"`}}},
		{name: "InferTypes", config: map[string]any{"mode": "parse", "inferTypes": true},
			input: "a,b,c,d,e,f,g,h\n42,-1.5,2e3,007,true,1e400,9007199254740993,\n",
			want:  []any{map[string]any{"a": 42.0, "b": -1.5, "c": 2000.0, "d": "007", "e": true, "f": "1e400", "g": "9007199254740993", "h": ""}}},
		{name: "LazyQuotes", config: map[string]any{"mode": "parse", "lazyQuotes": true}, input: "size\n5\" screen\n",
			want: []any{map[string]any{"size": `5" screen`}}},
		{name: "NoHeader", config: map[string]any{"mode": "parse", "header": false}, input: "1,2\n3,4\n",
			want: []any{[]any{"1", "2"}, []any{"3", "4"}}},
		{name: "QuotedLineBreak", config: map[string]any{"mode": "parse"}, input: "note\n\"two\nlines\"\n",
			want: []any{map[string]any{"note": "two\nlines"}}},
		{name: "SemicolonFromText", config: map[string]any{"mode": "parse", "delimiter": ";", "text": "a;b\n1;2"}, input: map[string]any{"ignored": true},
			want: []any{map[string]any{"a": "1", "b": "2"}}},
		{name: "SkipEmptyLines", config: map[string]any{"mode": "parse"}, input: "a,b\n\n,\n1,2\n",
			want: []any{map[string]any{"a": "1", "b": "2"}}},
		{name: "SkipEmptyLinesOff", config: map[string]any{"mode": "parse", "skipEmptyLines": false}, input: "a,b\n\n,\n1,2\n",
			want: []any{map[string]any{"a": "", "b": ""}, map[string]any{"a": "1", "b": "2"}}},
		{name: "Tab", config: map[string]any{"mode": "parse", "delimiter": "tab", "header": false}, input: "1\t2\n",
			want: []any{[]any{"1", "2"}}},
		{name: "TabEscaped", config: map[string]any{"mode": "parse", "delimiter": `\t`, "header": false}, input: "1\t2\n",
			want: []any{[]any{"1", "2"}}},
		{name: "Trim", config: map[string]any{"mode": "parse", "trim": true}, input: " a , b \n 1 , \" 2 \"\n",
			want: []any{map[string]any{"a": "1", "b": "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := run(t, "data.csv", tt.config, &node.Input{Data: tt.input})
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCSVFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		input  any
		want   string
	}{
		{name: "Arrays", config: map[string]any{"mode": "format"}, input: []any{[]any{"a", 1.0}, []any{"b", nil, true}},
			want: "a,1\nb,,true\n"},
		{name: "Columns", config: map[string]any{"mode": "format", "columns": []any{"total", "id"}},
			input: []any{map[string]any{"id": 1.0, "total": 12.5, "note": "x"}, map[string]any{"id": 2.0}},
			want:  "total,id\n12.5,1\n,2\n"},
		{name: "CRLFAndSemicolon", config: map[string]any{"mode": "format", "crlf": true, "delimiter": ";"},
			input: []any{map[string]any{"a": "x;y"}}, want: "a\r\n\"x;y\"\r\n"},
		{name: "Empty", config: map[string]any{"mode": "format"}, input: []any{}, want: ""},
		{name: "FirstSeenKeys", config: map[string]any{"mode": "format"},
			input: []any{map[string]any{"b": 1.0, "a": 2.0}, map[string]any{"c": 3.0, "a": 4.0}},
			want:  "a,b,c\n2,1,\n4,,3\n"},
		{name: "NestedAsJSON", config: map[string]any{"mode": "format", "header": false},
			input: []any{map[string]any{"tags": []any{"x", "y"}, "n": 1e21}}, want: "1000000000000000000000,\"[\"\"x\"\",\"\"y\"\"]\"\n"},
		{name: "QuotesAndBreaks", config: map[string]any{"mode": "format", "items": []any{map[string]any{"s": "say \"hi\"\nbye"}}},
			input: "ignored", want: "s\n\"say \"\"hi\"\"\nbye\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := run(t, "data.csv", tt.config, &node.Input{Data: tt.input})
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCSVDoesNotModifyItsInput(t *testing.T) {
	t.Parallel()
	items := []any{map[string]any{"b": 1.0, "a": []any{"x"}}}
	_, err := run(t, "data.csv", map[string]any{"mode": "format"}, &node.Input{Data: items})
	require.NoError(t, err)
	require.Equal(t, []any{map[string]any{"b": 1.0, "a": []any{"x"}}}, items)
}

func TestCSVBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{name: "ColumnsRepeated", config: map[string]any{"mode": "format", "columns": []any{"a", "a"}}, want: `columns[1]: "a" is already columns[0]`},
		{name: "CommentIsDelimiter", config: map[string]any{"mode": "parse", "comment": ","}, want: "comment: must differ from the delimiter"},
		{name: "DelimiterQuote", config: map[string]any{"mode": "parse", "delimiter": `"`}, want: `delimiter: "\"" cannot separate CSV fields`},
		{name: "DelimiterTwoCharacters", config: map[string]any{"mode": "parse", "delimiter": "ab"}, want: `delimiter: want one character, got "ab"`},
		{name: "ItemsWithParse", config: map[string]any{"mode": "parse", "items": []any{}}, want: "items: only for mode format"},
		{name: "ModeMissing", config: map[string]any{}, want: "config: missing property 'mode'"},
		{name: "ModeUnknown", config: map[string]any{"mode": "read"}, want: "config/mode: value must be one of"},
		{name: "UnknownField", config: map[string]any{"mode": "parse", "separator": ";"}, want: "additional properties 'separator' not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Contains(t, configError(t, "data.csv", tt.config), tt.want)
		})
	}
}

func TestCSVBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		input  any
		code   string
		msg    string
	}{
		{name: "BareQuote", config: map[string]any{"mode": "parse"}, input: "a,b\n1,2\n3,x\"y\n", code: "invalid_csv",
			msg: "line 3, column 4: bare \" in non-quoted-field (lazyQuotes accepts stray quotes)"},
		{name: "DuplicateHeader", config: map[string]any{"mode": "parse"}, input: "a,b,a\n", code: "invalid_csv", msg: `line 1: columns 1 and 3 of the header row are both named "a"`},
		{name: "EmptyHeaderName", config: map[string]any{"mode": "parse"}, input: "a,,c\n", code: "invalid_csv", msg: "line 1: column 2 of the header row has no name"},
		{name: "FormatItemNotObject", config: map[string]any{"mode": "format"}, input: []any{map[string]any{}, "x"}, code: "invalid_input", msg: "items[1] is a string, not an object or an array"},
		{name: "FormatNotArray", config: map[string]any{"mode": "format"}, input: map[string]any{"a": 1.0}, code: "invalid_input", msg: "got an object"},
		{name: "ParseNotText", config: map[string]any{"mode": "parse"}, input: []any{"a"}, code: "invalid_input", msg: "data.csv parses text, got an array"},
		{name: "TooFewFields", config: map[string]any{"mode": "parse"}, input: "a,b,c\n1,2,3\n4,5\n", code: "invalid_csv", msg: "line 3, column 3: the row has 2 fields, the header has 3"},
		{name: "TooManyFields", config: map[string]any{"mode": "parse"}, input: "a,b\n1,2,3\n", code: "invalid_csv", msg: "line 2, column 5: the row has 3 fields, the header has 2"},
		{name: "UnclosedQuote", config: map[string]any{"mode": "parse"}, input: "a\n\"open\n", code: "invalid_csv", msg: "line 2, column 7: extraneous or missing \" in quoted-field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := run(t, "data.csv", tt.config, &node.Input{Data: tt.input})
			msg := requireCode(t, err, tt.code)
			require.Contains(t, msg, tt.msg)
		})
	}
}

// bigCSV returns about size bytes of CSV with a header row.
func bigCSV(size int) string {
	var b strings.Builder
	b.WriteString("id,name,email,total\n")
	for b.Len() < size {
		b.WriteString("12345,Ada Lovelace,ada@example.com,1234.50\n")
	}
	return b.String()
}

func TestCSVHostile(t *testing.T) {
	t.Parallel()

	t.Run("Canceled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := runCtx(ctx, t, "data.csv", map[string]any{"mode": "parse"}, &node.Input{Data: bigCSV(1 << 20)})
		require.ErrorIs(t, err, context.Canceled)
	})

	t.Run("FormatOverOutputCap", func(t *testing.T) {
		t.Parallel()
		row := map[string]any{"s": strings.Repeat("x", 1000)}
		items := make([]any, 10000) // the same row 10,000 times: 10 MB of CSV from a small value
		for i := range items {
			items[i] = row
		}
		_, err := run(t, "data.csv", map[string]any{"mode": "format"}, &node.Input{Data: items, Limits: node.Limits{MaxOutputBytes: 1 << 20}})
		requireCode(t, err, "output_too_large")
	})

	t.Run("ManyEmptyFieldsOverOutputCap", func(t *testing.T) {
		t.Parallel()
		// A small text whose parsed form is large: every field repeats the long header names.
		header := strings.Repeat("a", 200) + "," + strings.Repeat("b", 200) + "\n"
		text := header + strings.Repeat("1,2\n", 100000)
		_, err := run(t, "data.csv", map[string]any{"mode": "parse"}, &node.Input{Data: text, Limits: node.Limits{MaxOutputBytes: 4 << 20}})
		msg := requireCode(t, err, "output_too_large")
		require.Contains(t, msg, "the parsed CSV is over the 4 MiB output limit (CM_MAX_OUTPUT_BYTES) at line")
	})

	t.Run("MemoryBudget", func(t *testing.T) {
		t.Parallel()
		mem := budget.NewMemory(2 << 20)
		_, err := run(t, "data.csv", map[string]any{"mode": "parse"}, &node.Input{Data: bigCSV(4 << 20), Limits: node.Limits{Memory: mem.Open()}})
		requireBudget(t, err)
		require.LessOrEqual(t, mem.Used(), int64(2<<20))
	})

	t.Run("TenMiBUnderCap", func(t *testing.T) {
		t.Parallel()
		text := bigCSV(10 << 20)
		got, err := run(t, "data.csv", map[string]any{"mode": "parse"}, &node.Input{Data: text, Limits: node.Limits{MaxOutputBytes: 64 << 20}})
		require.NoError(t, err)
		require.Equal(t, strings.Count(text, "\n")-1, len(got.([]any)))
		b, err := json.Marshal(got)
		require.NoError(t, err)
		require.Less(t, len(b), 64<<20)
	})
}

func BenchmarkCSVParse10MiB(b *testing.B) {
	text := bigCSV(10 << 20)
	n, err := instantiate(b, "data.csv", map[string]any{"mode": "parse"})
	require.NoError(b, err)
	in := &node.Input{Data: text, Limits: node.Limits{MaxOutputBytes: 64 << 20}}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Execute(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCSVParse(f *testing.F) {
	f.Add("a,b\n1,2\n", ",", true, false)
	f.Add("\"x\"\"y\",z\r\n\n,\n", ";", false, true)
	f.Add("a\tb\n\"open", "tab", false, false)
	f.Add("#c\na,a\n", ",", true, true)
	f.Fuzz(func(t *testing.T, text, delimiter string, header, lazy bool) {
		config := map[string]any{"mode": "parse", "delimiter": delimiter, "header": header, "lazyQuotes": lazy}
		n, err := instantiate(t, "data.csv", config)
		if err != nil {
			return // a delimiter the node refuses
		}
		in := &node.Input{Data: text, Limits: node.Limits{MaxOutputBytes: 1 << 20}}
		out, err := n.Execute(context.Background(), in)
		if err != nil {
			var code string
			var ne *node.Error
			if errors.As(err, &ne) {
				code = ne.Code
			}
			require.Contains(t, []string{"invalid_csv", "output_too_large"}, code, err.Error())
			return
		}
		_, err = json.Marshal(out.Value)
		require.NoError(t, err)
		if header {
			return
		}
		// Without a header, formatting the rows and parsing them again gives the same rows.
		f, err := instantiate(t, "data.csv", map[string]any{"mode": "format", "delimiter": delimiter, "header": false})
		require.NoError(t, err)
		text2, err := f.Execute(context.Background(), &node.Input{Data: out.Value})
		require.NoError(t, err)
		again, err := n.Execute(context.Background(), &node.Input{Data: text2.Value})
		require.NoError(t, err, "reparse %q", text2.Value)
		require.Equal(t, out.Value, again.Value, "through %q", text2.Value)
	})
}
