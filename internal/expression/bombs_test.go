package expression

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
)

// bombs are expressions that once killed the process, bloated it to gigabytes or pinned a core for a
// minute. Each must now fail with a budget error, quickly, without allocating what it asks for.
var bombs = []struct {
	name string
	src  string
}{
	{name: "ReplaceToATebibyte", src: `{{ len(replace(repeat('a', 1048576), 'a', repeat('b', 1048576))) }}`},
	{name: "ReplaceEmptyOld", src: `{{ replace(repeat('a', 1048576), '', repeat('b', 64)) }}`},
	{name: "JoinHugeGlue", src: `{{ join(split(repeat(',', 1000000), ','), repeat('x', 1000000)) }}`},
	{name: "SplitIntoRunes", src: `{{ len(split(repeat('ab', 8388608), '')) }}`},
	{name: "RepeatOverLimit", src: `{{ repeat('ab', 16777216) }}`},
	{name: "RepeatNegative", src: `{{ repeat('a', -1) }}`},
	{name: "StringDoubling", src: `{{ reduce(1..80, #acc + #acc, "ab") }}`},
	{name: "QuadraticConcat", src: `{{ reduce(1..100000, #acc + repeat('x', 10000), '') }}`},
	{name: "MapOfMegabytes", src: `{{ map(1..400, repeat('a', 1048576)) }}`},
	{name: "MapSharingInput", src: `{{ map(1..100000, trigger.big) }}`},
	{name: "ToJSONIndentation", src: `{{ toJSON(reduce(1..3000, [#acc], [1])) }}`},
	{name: "FromJSONExpansion", src: `{{ fromJSON('[' + repeat('[],', 8000000) + '[]]') }}`},
	{name: "ToBase64", src: `{{ toBase64(repeat('a', 15000000)) }}`},
	{name: "URLEncode", src: `{{ urlEncode(repeat('/', 8000000)) }}`},
	{name: "CatastrophicRegex", src: `{{ repeat('a', 1048576) matches repeat('(a|b)', 1500) + 'c' }}`},
	{name: "LiteralRegexOverBigInput", src: `{{ repeat('a', 1048576) matches '(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)c' }}`},
	{name: "NestedLoops", src: `{{ reduce(1..900, reduce(1..900, reduce(1..900, #acc + 1, 0), 0), 0) }}`},
	{name: "SortHuge", src: `{{ len(sort(map(1..900000, -#))) + len(sort(map(1..900000, -#))) + len(sort(map(1..900000, -#))) + len(sort(map(1..900000, -#))) }}`},
	{name: "RangeTooBig", src: `{{ 1..100000000 }}`},
}

// TestBombsFailFastAndSmall runs every bomb with the defaults (250 ms, 16 MiB per value) and a 256 MiB
// account, and checks that each fails with a budget error within twice the time budget (plus slack
// for the race detector), having allocated far less than it asked for. It does not call t.Parallel:
// it measures the process's allocations, which other tests would disturb.
func TestBombsFailFastAndSmall(t *testing.T) { //nolint:paralleltest // measures allocations
	env := testEnv()
	env.Trigger = map[string]any{"big": strings.Repeat("x", 1<<20)}
	for _, tt := range bombs {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Compile(tt.src, Limits{})
			if err != nil {
				// Refused when the workflow is saved: as good as it gets.
				t.Logf("refused at compile: %v", err)
				return
			}
			mem := budget.NewMemory(256 << 20)
			acct := mem.Open()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err = tmpl.Eval(context.Background(), env, Budget{Memory: acct})
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			var exceeded *budget.ExceededError
			require.True(t, errors.Is(err, ErrBudget) || errors.As(err, &exceeded) || strings.Contains(err.Error(), "negative"), "error %v", err)
			var exprErr *Error
			require.ErrorAs(t, err, &exprErr)
			require.Less(t, elapsed, 2*TimeoutDefault+raceSlack, "stopped after %s: %v", elapsed, err)
			allocated := after.TotalAlloc - before.TotalAlloc
			require.Less(t, allocated, uint64(512<<20), "allocated %d bytes", allocated)
			t.Logf("%s after %s, %d MiB allocated: %v", tt.name, elapsed.Round(time.Millisecond), allocated>>20, err)
		})
	}
}

func TestDataSetFieldsShareOneBudget(t *testing.T) {
	t.Parallel()
	fields := map[string]any{}
	for i := range 200 {
		fields[fmt.Sprintf("f%d", i)] = `{{ map(1..15, repeat('a', 1048576)) }}`
	}
	v, _, errs := CompileValue(map[string]any{"fields": fields}, Limits{}, nil, nil)
	require.Empty(t, errs)
	mem := budget.NewMemory(256 << 20)
	// A generous time budget: this is about memory, and the race detector is slow.
	_, err := v.Eval(context.Background(), testEnv(), Budget{Memory: mem.Open(), Timeout: time.Minute})
	var exceeded *budget.ExceededError
	require.ErrorAs(t, err, &exceeded)
	require.Equal(t, int64(256<<20), exceeded.Limit)
	require.LessOrEqual(t, mem.Used(), int64(256<<20))
}

func TestEvaluationStopsWhenCanceled(t *testing.T) {
	t.Parallel()
	tmpl, err := Compile(`{{ reduce(1..900, reduce(1..900, reduce(1..900, #acc + 1, 0), 0), 0) }}`, Limits{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := tmpl.Eval(ctx, testEnv(), Budget{Timeout: time.Hour, MemoryBudget: 1 << 40})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("the evaluation did not stop when its context was canceled")
	}
}

func TestEvaluationStopsAtContextDeadline(t *testing.T) {
	t.Parallel()
	tmpl, err := Compile(`{{ reduce(1..900, reduce(1..900, reduce(1..900, #acc + 1, 0), 0), 0) }}`, Limits{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = tmpl.Eval(ctx, testEnv(), Budget{Timeout: time.Hour, MemoryBudget: 1 << 40})
	require.Error(t, err)
	require.True(t, errors.Is(err, ErrBudget) || errors.Is(err, context.DeadlineExceeded), "error %v", err)
}

func TestRegexLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      any
		err       string
	}{
		{name: "LiteralMatches", src: `{{ "ada@example.com" matches "^[a-z]+@[a-z.]+$" }}`, want: true},
		{name: "ComputedMatches", src: `{{ "abc" matches ("^" + "a.c$") }}`, want: true},
		{name: "ComputedNoMatch", src: `{{ "abd" matches ("^" + "a.c$") }}`, want: false},
		{name: "SimplePatternOverAMegabyte", src: `{{ repeat('a', 1048576) matches 'b' }}`, want: false},
		{name: "InvalidComputedPattern", src: `{{ "a" matches ("(" + "") }}`, err: "invalid pattern"},
		{name: "PatternTooLong", src: `{{ "a" matches repeat("a", 5000) }}`, err: "over the 4 KiB limit"},
		{name: "NotAString", src: `{{ input.n matches "a" }}`, err: "matches needs a string on its left, not a number"},
		{name: "WorkLimit", src: `{{ repeat('a', 1048576) matches repeat('(a|b)', 500) + 'c' }}`, err: "pattern steps × input bytes is limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := Compile(tt.src, Limits{})
			require.NoError(t, err)
			got, err := tmpl.Eval(context.Background(), testEnv(), Budget{})
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := Compile(`{{ "a" matches "(" }}`, Limits{})
	require.ErrorContains(t, err, "missing closing )", "a literal pattern is compiled, and refused, when the workflow is saved")
}

func TestBuildersKeepTheirMeaning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want any
	}{
		{`{{ replace("a-b-c", "-", "+") }}`, "a+b+c"},
		{`{{ replace("a-b-c", "-", "+", 1) }}`, "a+b-c"},
		{`{{ replace("ab", "", "-") }}`, "-a-b-"},
		{`{{ join(["a", "b"], ", ") }}`, "a, b"},
		{`{{ join(split("x y", " ")) }}`, "xy"},
		{`{{ split("a,b,c", ",") }}`, []string{"a", "b", "c"}},
		{`{{ split("a,b,c", ",", 2) }}`, []string{"a", "b,c"}},
		{`{{ splitAfter("a,b", ",") }}`, []string{"a,", "b"}},
		{`{{ repeat("ab", 3) }}`, "ababab"},
		{`{{ toJSON({a: [1, 2]}) }}`, "{\n  \"a\": [\n    1,\n    2\n  ]\n}"},
		{`{{ fromJSON('{"a": [1]}').a[0] }}`, 1.0},
		{`{{ toBase64("hi") }}`, "aGk="},
		{`{{ urlEncode("a b&c") }}`, "a+b%26c"},
		{`{{ "a" + "b" }}`, "ab"},
		{`{{ input.n + 1 }}`, 3.0},
		{`{{ 1 + 2 }}`, 3},
		{`{{ input.name + "!" }}`, "x!"},
	}
	for _, tt := range tests {
		tmpl, err := Compile(tt.src, Limits{})
		require.NoError(t, err, tt.src)
		got, err := tmpl.Eval(context.Background(), testEnv(), Budget{})
		require.NoError(t, err, tt.src)
		require.Equal(t, tt.want, got, tt.src)
	}
	for _, src := range []string{`{{ "a" + 1 }}`, `{{ replace(1, 2, 3) }}`, `{{ join("a") }}`} {
		_, err := Compile(src, Limits{})
		require.Error(t, err, "%s is a type error when the workflow is saved", src)
	}
}

func TestJoinNamesTheBadElement(t *testing.T) {
	t.Parallel()
	tmpl, err := Compile(`{{ join(["a", 1]) }}`, Limits{})
	require.NoError(t, err)
	_, err = tmpl.Eval(context.Background(), testEnv(), Budget{})
	require.ErrorContains(t, err, "join needs an array of strings; element 1 is a number")
}

func TestQuotaBoundsAWorkflow(t *testing.T) {
	t.Parallel()
	q := &Quota{MaxSource: 1000, MaxNodes: 100_000}
	limits := Limits{Quota: q, Cache: NewCache(0)}
	src := "{{ " + strings.Repeat("1 + ", 40) + "1 }}"
	n := 0
	var err error
	for ; n < 100; n++ {
		if _, err = Compile(src, limits); err != nil {
			break
		}
	}
	require.ErrorContains(t, err, "the limit per workflow")
	require.Equal(t, 1000/(len(src)-4), n, "every use counts, cached or not")

	nodes := &Quota{MaxNodes: 50}
	_, err = Compile("{{ "+strings.Repeat("1 + ", 30)+"1 }}", Limits{Quota: nodes})
	require.ErrorContains(t, err, "syntax nodes")
}
