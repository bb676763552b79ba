package jq_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/jq"
)

type testBundle struct {
	reg *node.Registry
}

func setup(t testing.TB, cfg jq.Config) *testBundle {
	t.Helper()
	r := node.NewRegistry()
	r.MustRegister(jq.New(cfg))
	return &testBundle{reg: r}
}

func (b *testBundle) run(ctx context.Context, t testing.TB, config map[string]any, in *node.Input) (node.Output, error) {
	t.Helper()
	nt, ok := b.reg.Lookup("data.jq")
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

func TestPrograms(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		program string
		input   string
		output  string
		want    string
		errCode string
		errMsg  string
	}{
		{name: "AddOperatorOnNumbers", program: `.a + 1`, input: `{"a":1}`, want: `2`},
		{name: "AllValues", program: `.[] | .id`, input: `[{"id":1},{"id":2}]`, output: "all", want: `[1,2]`},
		{name: "AllWithoutValues", program: `empty`, input: `1`, output: "all", want: `[]`},
		{name: "ArithmeticUpdate", program: `.x += 2 | .y *= 3 | .z -= 1`, input: `{"x":1,"y":2,"z":5}`, want: `{"x":3,"y":6,"z":4}`},
		{name: "Assign", program: `.a.b.c = 1 | .l[2] = true`, input: `{}`, want: `{"a":{"b":{"c":1}},"l":[null,null,true]}`},
		{name: "CatchLimitError", program: `try ("a" * 1e9) catch "caught"`, input: `null`, want: `"caught"`},
		{name: "Comparisons", program: `[1 < 2, "a" == "a", [1] != [2], {} >= {}, null <= false, 3 > 4]`, input: `null`, want: `[true,true,true,true,true,false]`},
		{name: "DefinitionsStayInScope", program: `def f: 10; def g(x): x * 2; f + g(.a)`, input: `{"a":3}`, want: `16`},
		{name: "EnvIsEmpty", program: `[$ENV, env]`, input: `null`, want: `[{},{}]`},
		{name: "Error", program: `error("nope")`, input: `null`, errCode: "jq_error", errMsg: "nope"},
		{name: "FirstWithoutValues", program: `empty`, input: `1`, want: `null`},
		{name: "Formats", program: `[@base64, @html, @uri, @csv, @tsv, @sh, @json, @text] | map(length)`, input: `["a<b", "c d"]`,
			want: `[20,36,31,11,7,11,13,13]`},
		{name: "FormatString", program: `@base64 "x\(.a)y"`, input: `{"a":"1"}`, want: `"xMQ==y"`},
		{name: "GroupAndSum", program: `group_by(.s) | map({s: .[0].s, n: length, t: (map(.v) | add)})`,
			input: `[{"s":"a","v":1},{"s":"b","v":2},{"s":"a","v":3}]`, want: `[{"s":"a","n":2,"t":4},{"s":"b","n":1,"t":2}]`},
		{name: "Halt", program: `1, halt, 2`, input: `null`, output: "all", want: `[1]`},
		{name: "HaltError", program: `"bye" | halt_error`, input: `null`, errCode: "jq_error"},
		{name: "InfiniteAndNaN", program: `[nan, infinite, -infinite]`, input: `null`, want: `[null,1.7976931348623157e+308,-1.7976931348623157e+308]`},
		{name: "InternalOperatorNames", program: `_add(1; 2), _multiply("ab"; 2)`, input: `null`, output: "all", want: `[3,"abab"]`},
		{name: "Interpolation", program: `"\(.a) and \(.b)"`, input: `{"a":1,"b":[2]}`, want: `"1 and [2]"`},
		{name: "JoinAndSplit", program: `split(",") | join("-")`, input: `"a,b,c"`, want: `"a-b-c"`},
		{name: "Regex", program: `[test("B"; "i"), (match("(?<d>\\d+)") | .captures[0].name), ([scan("\\d")] | length), sub("\\d"; "#"), gsub("\\d"; "#")]`,
			input: `"a1b22"`, want: `[true,"d",3,"a#b22","a#b##"]`},
		{name: "RegexArrayForm", program: `test(["B", "i"])`, input: `"abc"`, want: `true`},
		{name: "Slice", program: `.[1:3]`, input: `[1,2,3,4]`, want: `[2,3]`},
		{name: "TypeError", program: `.a + 1`, input: `{"a":"x"}`, errCode: "jq_error", errMsg: `cannot add: string ("x") and number (1)`},
		{name: "UserOverridesBuiltin", program: `def tojson: "mine"; tojson`, input: `1`, want: `"mine"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, jq.Config{})
			config := map[string]any{"program": tt.program}
			if tt.output != "" {
				config["output"] = tt.output
			}
			in := &node.Input{Data: js(t, tt.input), Limits: node.Limits{MaxOutputBytes: 16 << 20}}
			before, err := json.Marshal(in.Data)
			require.NoError(t, err)
			out, err := b.run(context.Background(), t, config, in)
			if tt.errCode != "" {
				msg := requireCode(t, err, tt.errCode)
				require.Contains(t, msg, tt.errMsg)
				return
			}
			require.NoError(t, err)
			got, err := json.Marshal(out.Value)
			require.NoError(t, err)
			require.JSONEq(t, tt.want, string(got))
			after, err := json.Marshal(in.Data)
			require.NoError(t, err)
			require.JSONEq(t, string(before), string(after), "the input is unchanged")
		})
	}
}

func TestInputField(t *testing.T) {
	t.Parallel()
	b := setup(t, jq.Config{})
	out, err := b.run(context.Background(), t, map[string]any{"program": ".x", "input": map[string]any{"x": 5.0}}, &node.Input{Data: "ignored"})
	require.NoError(t, err)
	require.Equal(t, 5.0, out.Value)
	// Values that are not gojq's own types are converted through JSON.
	out, err = b.run(context.Background(), t, map[string]any{"program": ".[1] + 1"}, &node.Input{Data: []int64{1, 2}})
	require.NoError(t, err)
	require.Equal(t, 3.0, out.Value)
}

func TestBadConfig(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		config  map[string]any
		pointer string
		message string
	}{
		{name: "BadOutput", config: map[string]any{"program": ".", "output": "some"}, pointer: "/output"},
		{name: "ImportRefused", config: map[string]any{"program": `import "a" as a; .`}, message: "program:"},
		{name: "InputRefused", config: map[string]any{"program": `[inputs]`}, message: "input(s)/0 is not allowed"},
		{name: "InputFilenameUndefined", config: map[string]any{"program": `input_filename`}, message: "function not defined: input_filename/0"},
		{name: "MissingProgram", config: map[string]any{}, pointer: ""},
		{name: "ReservedFunction", config: map[string]any{"program": `_cm_fit(1; "x")`}, message: "program: the name _cm_fit is reserved"},
		{name: "ReservedVariable", config: map[string]any{"program": `$__cm_run`}, message: "reserved"},
		{name: "SyntaxErrorLineAndColumn", config: map[string]any{"program": ".a |\n  map(.b"}, message: "program: unexpected EOF (line 2, column 9)"},
		{name: "TooLong", config: map[string]any{"program": strings.Repeat(" ", 16385) + "."}, pointer: "/program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, jq.Config{})
			nt, ok := b.reg.Lookup("data.jq")
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

// TestHostile runs programs written to exhaust time or memory and checks that each stops with its
// limit's error, quickly.
func TestHostile(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		program string
		input   string
		errCode string
		errMsg  string
		slow    bool // stopped by time rather than steps
	}{
		{name: "AddDoubling", program: `reduce range(40) as $i ("a"; . + .)`, errCode: "jq_error", errMsg: "add: the value is over the 1 MiB limit"},
		{name: "ArrayIndexFarAway", program: `null | .[100000000] = 1`, errCode: "jq_error", errMsg: "index 100000000 is over the largest index allowed, 65536"},
		{name: "ArrayOfRange", program: `[range(1e9)]`, errCode: "budget_exceeded", errMsg: "steps"},
		{name: "ArrayUpdateFarAway", program: `[] | .[100000000] |= 1`, errCode: "jq_error", errMsg: "largest index"},
		{name: "Base64Growth", program: `reduce range(100) as $i ("ab"; @base64)`, errCode: "jq_error", errMsg: "@base64: the value is over"},
		{name: "CompareShared", program: `reduce range(60) as $i (0; [., .]) | . == .`, errCode: "jq_error", errMsg: "comparison: the value is over"},
		{name: "ContainsProduct", program: `[range(20000)] | contains([range(20000)])`, errCode: "jq_error", errMsg: "work limit"},
		{name: "DeepMergeShared", program: `reduce range(60) as $i ({}; {a: ., b: .}) | . * .`, errCode: "jq_error", errMsg: "multiply"},
		{name: "ExplodeBig", program: `"x" * 1000000 | explode`, errCode: "jq_error", errMsg: "explode"},
		{name: "FlattenShared", program: `reduce range(40) as $i ([1]; [., .]) | flatten | length`, errCode: "jq_error", errMsg: "flatten"},
		{name: "FromstreamFarAway", program: `fromstream([[100000000], 1], [[100000000]])`, errCode: "jq_error", errMsg: "largest index"},
		{name: "GsubReplacementGrowth", program: `"x" * 1000 | gsub(""; "y" * 10000)`, errCode: "jq_error", errMsg: "sub: the value is over"},
		{name: "JoinShared", program: `[limit(1000; repeat("x" * 2000))] | join(",")`, errCode: "jq_error", errMsg: "join"},
		{name: "ManyMatches", program: `"x" * 100000 | [match(""; "g")] | length`, errCode: "jq_error", errMsg: "more than 4096 matches"},
		{name: "ManyPatterns", program: `[range(300) | tostring | test("a" + .)] | length`, errCode: "jq_error", errMsg: "at most 256 different patterns"},
		{name: "PatternTooLong", program: `"a" | test("a" * 5000)`, errCode: "jq_error", errMsg: "pattern is"},
		{name: "PickFarAway", program: `null | pick(.[100000000])`, errCode: "jq_error", errMsg: "largest index"},
		{name: "Recursion", program: `def f: f; f`, errCode: "budget_exceeded", errMsg: "steps"},
		{name: "RegexWork", program: `"a" * 500000 | test("(a|b|c|d|e|f|g|h|i|j){1,50}z")`, errCode: "jq_error", errMsg: "work limit"},
		{name: "RepeatForever", program: `[limit(1e8; repeat(1))]`, errCode: "budget_exceeded", errMsg: "steps"},
		{name: "SetpathFarAway", program: `null | setpath([100000000]; 1)`, errCode: "jq_error", errMsg: "largest index"},
		{name: "SortShared", program: `[limit(100; repeat(reduce range(30) as $i (0; [., .])))] | sort`, errCode: "jq_error", errMsg: "sort"},
		{name: "StringRepeat", program: `"a" * 1e9`, errCode: "jq_error", errMsg: "multiply: the value is over the 1 MiB limit"},
		{name: "ToJSONShared", program: `reduce range(60) as $i (0; [., .]) | tojson`, errCode: "jq_error", errMsg: "tojson"},
		{name: "TransposeWide", program: `[[range(20000)]] + [range(1000) | []] | transpose`, errCode: "jq_error", errMsg: "transpose"},
		// Each step of these walks or copies a long string: time stops them.
		{name: "TrimLoop", program: `"a" * 1e6 | until(length == 0; ltrimstr("a"))`, errCode: "timeout", errMsg: "time budget of 500ms", slow: true},
		{name: "WhileStringGrowth", program: `"a" | [while(true; . + "a")] | length`, errCode: "timeout", errMsg: "time budget of 500ms", slow: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := jq.Config{MaxSteps: 300_000, Timeout: time.Minute}
			if tt.slow {
				cfg = jq.Config{MaxSteps: 1 << 40, Timeout: 500 * time.Millisecond}
			}
			b := setup(t, cfg)
			mem := budget.NewMemory(64 << 20)
			in := &node.Input{Data: js(t, cmpOr(tt.input, "null")), Limits: node.Limits{MaxOutputBytes: 1 << 20, Memory: mem.Open()}}
			start := time.Now()
			_, err := b.run(context.Background(), t, map[string]any{"program": tt.program}, in)
			require.Less(t, time.Since(start), 30*time.Second)
			msg := requireCode(t, err, tt.errCode)
			require.Contains(t, msg, tt.errMsg)
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, jq.Config{Timeout: 50 * time.Millisecond, MaxSteps: 1 << 40})
	_, err := b.run(context.Background(), t, map[string]any{"program": `def f: f; f`}, &node.Input{})
	msg := requireCode(t, err, "timeout")
	require.Contains(t, msg, "time budget of 50ms")
}

func TestCanceled(t *testing.T) {
	t.Parallel()
	b := setup(t, jq.Config{MaxSteps: 1 << 40})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.run(ctx, t, map[string]any{"program": `def f: f; f`}, &node.Input{})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, node.IsPermanent(err))
}

func TestStepsChargeTheMemoryBudget(t *testing.T) {
	t.Parallel()
	b := setup(t, jq.Config{MaxSteps: 1 << 40, Timeout: time.Minute})
	mem := budget.NewMemory(4 << 20)
	_, err := b.run(context.Background(), t, map[string]any{"program": `[range(1e9)]`}, &node.Input{Limits: node.Limits{Memory: mem.Open()}})
	var exceeded *budget.ExceededError
	require.ErrorAs(t, err, &exceeded)
}

func TestOutputLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, jq.Config{})
	in := &node.Input{Data: "x", Limits: node.Limits{MaxOutputBytes: 1 << 10}}
	_, err := b.run(context.Background(), t, map[string]any{"program": `range(100) | tostring * 20`, "output": "all"}, in)
	requireCode(t, err, "output_too_large")
	_, err = b.run(context.Background(), t, map[string]any{"program": "."}, &node.Input{Data: strings.Repeat("x", 2<<10), Limits: node.Limits{MaxOutputBytes: 1 << 10}})
	requireCode(t, err, "output_too_large")
	_, err = b.run(context.Background(), t, map[string]any{"program": `range(200000)`, "output": "all"}, &node.Input{Limits: node.Limits{MaxOutputBytes: 64 << 20}})
	requireCode(t, err, "too_many_results")
}

func TestErrorMessageIsCut(t *testing.T) {
	t.Parallel()
	b := setup(t, jq.Config{})
	_, err := b.run(context.Background(), t, map[string]any{"program": `error("x" * 100000)`}, &node.Input{})
	msg := requireCode(t, err, "jq_error")
	require.Less(t, len(msg), 1100)
}

// FuzzProgram runs arbitrary programs over a small document: none may panic, hang or build past
// the limits.
func FuzzProgram(f *testing.F) {
	for _, seed := range []string{`.`, `.a + 1`, `[.[] | select(. > 1)]`, `reduce range(10) as $i (""; . + "a")`, `"a" * 3`,
		`.b |= . + 1`, `gsub("a"; "b")`, `[paths]`, `tojson | fromjson`, `@base64d`, `to_entries`, `def f(x): x * 2; f(.a)`,
		`[limit(3; repeat(1))]`, `.[2:4] = ["x"]`, `ltrimstr("a")`, `$__loc__`, `splits("a")`, `getpath(["a", 0])`} {
		f.Add(seed)
	}
	b := setup(f, jq.Config{MaxSteps: 200_000, Timeout: time.Second})
	nt, _ := b.reg.Lookup("data.jq")
	doc := map[string]any{"a": 1.0, "b": []any{1.0, "two", map[string]any{"c": nil}}, "s": "abc"}
	f.Fuzz(func(t *testing.T, program string) {
		n, err := nt.Instantiate(map[string]any{"program": program, "output": "all"}, false)
		if err != nil {
			return
		}
		in := &node.Input{Data: doc, Limits: node.Limits{MaxOutputBytes: 64 << 10, Memory: budget.NewMemory(16 << 20).Open()}}
		watchdog := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("%q ran for 5s", program)) })
		out, err := n.Execute(context.Background(), in)
		watchdog.Stop()
		if err == nil {
			b, merr := json.Marshal(out.Value)
			if merr != nil {
				t.Fatalf("%q: output is not JSON: %v", program, merr)
			}
			if len(b) > 64<<10+1024 {
				t.Fatalf("%q: output of %d bytes passed the limit", program, len(b))
			}
		}
	})
}

func doc1MiB() map[string]any {
	items := make([]any, 0, 8000)
	for i := range 8000 {
		items = append(items, map[string]any{"id": float64(i), "name": fmt.Sprintf("customer %d", i), "email": fmt.Sprintf("c%d@example.com", i),
			"total": float64(i%500) * 1.5, "status": []any{"paid", "open", "void"}[i%3], "tags": []any{"a", "b"}})
	}
	return map[string]any{"items": items}
}

func BenchmarkJQ1MiB(b *testing.B) {
	doc := doc1MiB()
	size, err := json.Marshal(doc)
	require.NoError(b, err)
	for _, p := range []string{
		`.items | map(.id)`,
		`[.items[] | select(.total > 100) | {id, total}]`,
		`.items | group_by(.status) | map({status: .[0].status, n: length, sum: (map(.total) | add)})`,
		`reduce .items[] as $x ({}; .[$x.status] += $x.total)`,
	} {
		b.Run(p, func(b *testing.B) {
			bundle := setup(b, jq.Config{})
			nt, _ := bundle.reg.Lookup("data.jq")
			n, err := nt.Instantiate(map[string]any{"program": p}, false)
			require.NoError(b, err)
			in := &node.Input{Data: doc, Limits: node.Limits{MaxOutputBytes: 16 << 20}}
			b.SetBytes(int64(len(size)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := n.Execute(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
