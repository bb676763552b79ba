package jq

import (
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/itchyny/gojq"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/expression"
)

// Bounds of regular expressions in jq programs.
const (
	// MaxPattern is the longest regular expression, in bytes.
	MaxPattern = 4096
	// MaxRegexWork bounds pattern instructions × input bytes for one match call: Go's regular
	// expressions run in linear time, and this keeps one call to about a second.
	MaxRegexWork = 100_000_000
	// MaxPatternsPerRun is the most different regular expressions one run may use; gojq keeps every
	// one it compiles with the program.
	MaxPatternsPerRun = 256
)

// runState is the per-run state the guards that need one receive through the hidden $__cm_run
// variable.
type runState struct {
	// replaced counts the bytes sub and gsub replacements produced.
	replaced int64
	patterns map[[2]string]struct{}
}

// guards holds the limits the guard functions check; a compiled program is built for one value.
type guards struct {
	// maxValue is the largest value, as estimated JSON bytes, a guarded step may take or build.
	maxValue int64
}

// valueError is a jq error that try/catch can catch, carrying a message.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }
func (e *valueError) Value() any    { return e.msg }

func (g *guards) tooBig(what string, limit int64) error {
	return &valueError{fmt.Sprintf("%s: the value is over the %s limit (CM_MAX_OUTPUT_BYTES)", what, budget.Bytes(limit))}
}

// fits reports whether v's JSON size, counting shared values every time they appear, is at most
// limit; it stops walking as soon as it passes.
func fits(v any, limit int64) bool {
	switch x := v.(type) {
	case nil, bool, int, float64:
		return true
	case string:
		return int64(len(x)) <= limit
	}
	_, ok := expression.SizeAtMost(v, limit)
	return ok
}

func (g *guards) options() []gojq.CompilerOption {
	opts := []gojq.CompilerOption{
		gojq.WithEnvironLoader(func() []string { return nil }),
		gojq.WithVariables([]string{runVar}),
		// _cm_fit($k; $name): the input's JSON size is at most maxValue/k.
		gojq.WithFunction("_cm_fit", 2, 2, func(v any, args []any) any {
			k, _ := gojq.ToInt(args[0])
			limit := g.maxValue / int64(max(k, 1))
			if !fits(v, limit) {
				return g.tooBig(fmt.Sprint(args[1]), limit)
			}
			return v
		}),
		gojq.WithFunction("_cm_join_fit", 1, 1, g.joinFit),
		gojq.WithFunction("_cm_transpose_fit", 0, 0, g.transposeFit),
		gojq.WithFunction("_cm_product_fit", 2, 2, g.productFit),
		gojq.WithFunction("_cm_path_fit", 1, 1, g.pathFit),
		gojq.WithFunction("_cm_stream_fit", 0, 0, g.streamFit),
		gojq.WithFunction("_cm_match_fit", 3, 3, g.matchFit),
		gojq.WithFunction("_cm_repl", 1, 1, g.replacement),
	}
	for op, name := range guardedOps {
		opts = append(opts, gojq.WithFunction(name, 2, 2, g.operator(op)))
	}
	return opts
}

// operator returns the guard of a binary operator: it checks the operands (and, for + and *, the
// size of the result) before gojq computes it.
func (g *guards) operator(op gojq.Operator) func(any, []any) any {
	native := compileNative(op)
	return func(_ any, args []any) any {
		l, r := args[0], args[1]
		switch op {
		case gojq.OpEq, gojq.OpNe, gojq.OpLt, gojq.OpLe, gojq.OpGt, gojq.OpGe:
			if !fits(l, g.maxValue) || !fits(r, g.maxValue) {
				return g.tooBig("comparison", g.maxValue)
			}
			c := gojq.Compare(l, r)
			switch op {
			case gojq.OpEq:
				return c == 0
			case gojq.OpNe:
				return c != 0
			case gojq.OpLt:
				return c < 0
			case gojq.OpLe:
				return c <= 0
			case gojq.OpGt:
				return c > 0
			}
			return c >= 0
		case gojq.OpAdd:
			if x, ok := l.(float64); ok {
				if y, ok := r.(float64); ok {
					return x + y
				}
			}
			if err := g.addFit(l, r); err != nil {
				return err
			}
		case gojq.OpSub:
			if x, ok := l.(float64); ok {
				if y, ok := r.(float64); ok {
					return x - y
				}
			}
			// Array subtraction compares every pair of elements.
			if x, ok := l.([]any); ok {
				if y, ok := r.([]any); ok && int64(len(x))*int64(len(y)) > MaxRegexWork {
					return &valueError{fmt.Sprintf("subtract: %d × %d elements to compare is over the limit of %d", len(x), len(y), MaxRegexWork)}
				}
			}
		case gojq.OpMul:
			if x, ok := l.(float64); ok {
				if y, ok := r.(float64); ok {
					return x * y
				}
			}
			if err := g.mulFit(l, r); err != nil {
				return err
			}
		}
		return runNative(native, l, r)
	}
}

// compileNative compiles $l op $r, so that a guard can hand the computation to gojq itself.
func compileNative(op gojq.Operator) *gojq.Code {
	q := &gojq.Query{
		Left:  &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: "$l"}}},
		Op:    op,
		Right: &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: "$r"}}},
	}
	code, err := gojq.Compile(q, gojq.WithVariables([]string{"$l", "$r"}))
	if err != nil {
		panic(fmt.Sprintf("compile %s: %v", op, err))
	}
	return code
}

func runNative(code *gojq.Code, l, r any) any {
	v, ok := code.Run(nil, l, r).Next()
	if !ok {
		return nil
	}
	return v
}

// addFit checks that l + r stays within maxValue: strings by bytes, arrays by elements (16 bytes
// each, plus what the elements hold), objects by their fields.
func (g *guards) addFit(l, r any) error {
	switch x := l.(type) {
	case string:
		if y, ok := r.(string); ok && int64(len(x))+int64(len(y)) > g.maxValue {
			return g.tooBig("add", g.maxValue)
		}
	case []any:
		if y, ok := r.([]any); ok && 16*(int64(len(x))+int64(len(y))) > g.maxValue {
			return g.tooBig("add", g.maxValue)
		}
	case map[string]any:
		if y, ok := r.(map[string]any); ok && 64*(int64(len(x))+int64(len(y))) > g.maxValue {
			return g.tooBig("add", g.maxValue)
		}
	}
	return nil
}

// mulFit checks string repetition and the deep merge of objects.
func (g *guards) mulFit(l, r any) error {
	s, sok := l.(string)
	n, nok := gojq.ToFloat64(r)
	if !sok {
		s, sok = r.(string)
		n, nok = gojq.ToFloat64(l)
	}
	if sok && nok {
		if n > 0 && float64(len(s))*math.Floor(n) > float64(g.maxValue) {
			return g.tooBig("multiply", g.maxValue)
		}
		return nil
	}
	if _, ok := l.(map[string]any); ok {
		if !fits(l, g.maxValue) || !fits(r, g.maxValue) {
			return g.tooBig("multiply", g.maxValue)
		}
	}
	return nil
}

// joinFit checks the size of the joined string before join builds it.
func (g *guards) joinFit(v any, args []any) any {
	arr, ok := v.([]any)
	if !ok {
		return v
	}
	sep, _ := args[0].(string)
	total := int64(len(sep)) * int64(max(len(arr)-1, 0))
	for _, e := range arr {
		switch x := e.(type) {
		case string:
			total += int64(len(x))
		default:
			total += 24
		}
		if total > g.maxValue {
			return g.tooBig("join", g.maxValue)
		}
	}
	return v
}

// transposeFit checks rows × longest row before transpose fills the result with nulls.
func (g *guards) transposeFit(v any, _ []any) any {
	arr, ok := v.([]any)
	if !ok {
		return v
	}
	longest := 0
	for _, e := range arr {
		if row, ok := e.([]any); ok {
			longest = max(longest, len(row))
		}
	}
	if 16*int64(longest)*int64(len(arr)) > g.maxValue {
		return g.tooBig("transpose", g.maxValue)
	}
	return v
}

// productFit guards contains, inside, indices, index and rindex, which compare every element of
// one side with every element of the other: both sides must fit, and the product of their sizes
// stay within MaxRegexWork.
func (g *guards) productFit(v any, args []any) any {
	x := args[0]
	name := fmt.Sprint(args[1])
	a, aok := expression.SizeAtMost(v, g.maxValue)
	b, bok := expression.SizeAtMost(x, g.maxValue)
	if !aok || !bok {
		return g.tooBig(name, g.maxValue)
	}
	if _, isString := v.(string); isString {
		return v
	}
	if a*b > MaxRegexWork*10 {
		return &valueError{fmt.Sprintf("%s: comparing a %s value with a %s one is over the work limit", name, budget.Bytes(a), budget.Bytes(b))}
	}
	return v
}

// maxIndex is the largest array index a path may set: setting it allocates the array up to it.
func (g *guards) maxIndex() int { return int(min(g.maxValue/16, math.MaxInt32)) }

// pathFit checks a path before setpath or an assignment writes it.
func (g *guards) pathFit(v any, args []any) any {
	p, ok := args[0].([]any)
	if !ok {
		return v
	}
	for _, e := range p {
		if f, ok := gojq.ToFloat64(e); ok && f > float64(g.maxIndex()) {
			return &valueError{fmt.Sprintf("path: index %v is over the largest index allowed, %d", e, g.maxIndex())}
		}
		if m, ok := e.(map[string]any); ok {
			for _, k := range []string{"start", "end"} {
				if f, ok := gojq.ToFloat64(m[k]); ok && f > float64(g.maxIndex()) {
					return &valueError{fmt.Sprintf("path: slice %s %v is over the largest index allowed, %d", k, m[k], g.maxIndex())}
				}
			}
		}
	}
	return v
}

// streamFit checks the path of a stream event before fromstream sets it.
func (g *guards) streamFit(v any, _ []any) any {
	ev, ok := v.([]any)
	if !ok || len(ev) == 0 {
		return v
	}
	if err, isErr := g.pathFit(v, []any{ev[0]}).(error); isErr {
		return err
	}
	return v
}

// matchFit guards every regular expression builtin before it runs: the pattern's length, the work
// of matching it, how many different patterns the run uses and, for global matching, how many
// matches it would make (each becomes an object).
func (g *guards) matchFit(v any, args []any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	re, flags := args[0], args[1]
	if arr, isArr := re.([]any); isArr && len(arr) > 0 {
		re = arr[0]
		if len(arr) > 1 {
			flags = arr[1]
		}
	}
	pattern, ok := re.(string)
	if !ok {
		return v
	}
	fl, _ := flags.(string)
	if len(pattern) > MaxPattern {
		return &valueError{fmt.Sprintf("regular expression: the pattern is %s long, over the %s limit", budget.Bytes(int64(len(pattern))), budget.Bytes(MaxPattern))}
	}
	st, _ := args[2].(*runState)
	if st != nil {
		key := [2]string{pattern, fl}
		if _, seen := st.patterns[key]; !seen {
			if len(st.patterns) >= MaxPatternsPerRun {
				return &valueError{fmt.Sprintf("regular expression: a run may use at most %d different patterns", MaxPatternsPerRun)}
			}
			st.patterns[key] = struct{}{}
		}
	}
	if strings.Contains(fl, "i") {
		pattern = "(?i)" + pattern
	}
	if strings.Contains(fl, "m") {
		pattern = "(?s)" + pattern
	}
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return v // gojq reports the error
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return v
	}
	if int64(len(prog.Inst))*int64(len(s)+1) > MaxRegexWork {
		return &valueError{fmt.Sprintf("regular expression: matching a %d-instruction pattern against %s is over the work limit",
			len(prog.Inst), budget.Bytes(int64(len(s))))}
	}
	if !strings.Contains(fl, "g") {
		return v
	}
	r, err := regexp.Compile(pattern)
	if err != nil {
		return v
	}
	maxMatches := int(max(g.maxValue/256, 1))
	if len(r.FindAllStringIndex(s, maxMatches+1)) > maxMatches {
		return &valueError{fmt.Sprintf("regular expression: more than %d matches", maxMatches)}
	}
	return v
}

// replacement counts what sub and gsub replacements produce in the run.
func (g *guards) replacement(v any, args []any) any {
	st, _ := args[0].(*runState)
	s, ok := v.(string)
	if !ok || st == nil {
		return v
	}
	st.replaced += int64(len(s))
	if st.replaced > g.maxValue {
		return g.tooBig("sub", g.maxValue)
	}
	return v
}

// preludeDefs are definitions put before the program: each guarded builtin is saved under a
// _cm_b_ name, then redefined to run its guard first. A definition is included when the program
// calls its name.
var preludeDefs = []struct {
	name string
	defs string
}{
	{"tojson", `def _cm_b_tojson: tojson; def tojson: _cm_fit(1; "tojson") | _cm_b_tojson;`},
	{"tostring", `def _cm_b_tostring: tostring; def tostring: _cm_fit(1; "tostring") | _cm_b_tostring;`},
	{"add", `def _cm_b_add: add; def add: _cm_fit(1; "add") | _cm_b_add; def add(f): reduce f as $__cm_x (null; _cm_op_add(.; $__cm_x));`},
	{"join", `def _cm_b_join($x): join($x); def join($x): _cm_join_fit($x) | _cm_b_join($x);`},
	{"flatten", `def _cm_b_flatten: flatten; def flatten: _cm_fit(8; "flatten") | _cm_b_flatten;
		def _cm_b_flatten($d): flatten($d); def flatten($d): _cm_fit(8; "flatten") | _cm_b_flatten($d);`},
	{"explode", `def _cm_b_explode: explode; def explode: _cm_fit(16; "explode") | _cm_b_explode;`},
	{"implode", `def _cm_b_implode: implode; def implode: _cm_fit(1; "implode") | _cm_b_implode;`},
	{"transpose", `def _cm_b_transpose: transpose; def transpose: _cm_transpose_fit | _cm_b_transpose;`},
	{"format", `def _cm_b_format($f): format($f); def format($f): _cm_fit(6; "format") | _cm_b_format($f);`},
	{"@text", `def _cm_b_tostring: tostring; def tostring: _cm_fit(1; "@text") | _cm_b_tostring;`},
	{"@json", `def _cm_b_tojson: tojson; def tojson: _cm_fit(1; "@json") | _cm_b_tojson;`},
	{"@html", `def _cm_b__tohtml: _tohtml; def _tohtml: _cm_fit(6; "@html") | _cm_b__tohtml;`},
	{"@uri", `def _cm_b__touri: _touri; def _touri: _cm_fit(3; "@uri") | _cm_b__touri;`},
	{"@urid", `def _cm_b__tourid: _tourid; def _tourid: _cm_fit(1; "@urid") | _cm_b__tourid;`},
	{"@csv", `def _cm_b__tocsv: _tocsv; def _tocsv: _cm_fit(2; "@csv") | _cm_b__tocsv;`},
	{"@tsv", `def _cm_b__totsv: _totsv; def _totsv: _cm_fit(2; "@tsv") | _cm_b__totsv;`},
	{"@sh", `def _cm_b__tosh: _tosh; def _tosh: _cm_fit(4; "@sh") | _cm_b__tosh;`},
	{"@base64", `def _cm_b__tobase64: _tobase64; def _tobase64: _cm_fit(2; "@base64") | _cm_b__tobase64;`},
	{"@base64d", `def _cm_b__tobase64d: _tobase64d; def _tobase64d: _cm_fit(1; "@base64d") | _cm_b__tobase64d;`},
	{"sort", `def _cm_b_sort: sort; def sort: _cm_fit(1; "sort") | _cm_b_sort;`},
	{"sort_by", `def _cm_b_sort_by(f): sort_by(f); def sort_by(f): _cm_fit(1; "sort_by") | _cm_b_sort_by(f);`},
	{"group_by", `def _cm_b_group_by(f): group_by(f); def group_by(f): _cm_fit(1; "group_by") | _cm_b_group_by(f);`},
	{"unique", `def _cm_b_unique: unique; def unique: _cm_fit(1; "unique") | _cm_b_unique;`},
	{"unique_by", `def _cm_b_unique_by(f): unique_by(f); def unique_by(f): _cm_fit(1; "unique_by") | _cm_b_unique_by(f);`},
	{"min", `def _cm_b_min: min; def min: _cm_fit(1; "min") | _cm_b_min;`},
	{"max", `def _cm_b_max: max; def max: _cm_fit(1; "max") | _cm_b_max;`},
	{"min_by", `def _cm_b_min_by(f): min_by(f); def min_by(f): _cm_fit(1; "min_by") | _cm_b_min_by(f);`},
	{"max_by", `def _cm_b_max_by(f): max_by(f); def max_by(f): _cm_fit(1; "max_by") | _cm_b_max_by(f);`},
	{"bsearch", `def _cm_b_bsearch($t): bsearch($t); def bsearch($t): _cm_fit(1; "bsearch") | _cm_b_bsearch($t);`},
	{"contains", `def _cm_b_contains($x): contains($x); def contains($x): _cm_product_fit($x; "contains") | _cm_b_contains($x);`},
	{"inside", `def _cm_b_inside($x): inside($x); def inside($x): . as $__cm_v | $x | _cm_product_fit($__cm_v; "inside") | $__cm_v | _cm_b_inside($x);`},
	{"indices", `def _cm_b_indices($i): indices($i); def indices($i): _cm_product_fit($i; "indices") | _cm_b_indices($i);`},
	{"index", `def _cm_b_index($i): index($i); def index($i): _cm_product_fit($i; "index") | _cm_b_index($i);`},
	{"rindex", `def _cm_b_rindex($i): rindex($i); def rindex($i): _cm_product_fit($i; "rindex") | _cm_b_rindex($i);`},
	{"setpath", `def _cm_b_setpath($p; $v): setpath($p; $v); def setpath($p; $v): _cm_path_fit($p) | _cm_b_setpath($p; $v);`},
	{"pick", `def _cm_b_pick(f): pick(f); def pick(f): reduce path(f) as $__cm_p (.; _cm_path_fit($__cm_p)) | _cm_b_pick(f);`},
	{"fromstream", `def _cm_b_fromstream(f): fromstream(f); def fromstream(f): _cm_b_fromstream(f | _cm_stream_fit);`},
	{"test", `def _cm_b_test($re): test($re); def _cm_b_test($re; $flags): test($re; $flags);
		def test($re): _cm_match_fit($re; null; $__cm_run) | _cm_b_test($re);
		def test($re; $flags): _cm_match_fit($re; $flags; $__cm_run) | _cm_b_test($re; $flags);`},
	{"match", `def _cm_b_match($re): match($re); def _cm_b_match($re; $flags): match($re; $flags);
		def match($re): _cm_match_fit($re; null; $__cm_run) | _cm_b_match($re);
		def match($re; $flags): _cm_match_fit($re; $flags; $__cm_run) | _cm_b_match($re; $flags);`},
	{"capture", `def _cm_b_capture($re): capture($re); def _cm_b_capture($re; $flags): capture($re; $flags);
		def capture($re): _cm_match_fit($re; null; $__cm_run) | _cm_b_capture($re);
		def capture($re; $flags): _cm_match_fit($re; $flags; $__cm_run) | _cm_b_capture($re; $flags);`},
	{"scan", `def _cm_b_scan($re; $flags): scan($re; $flags);
		def scan($re): _cm_match_fit($re; "g"; $__cm_run) | _cm_b_scan($re; null);
		def scan($re; $flags): _cm_match_fit($re; $flags + "g"; $__cm_run) | _cm_b_scan($re; $flags);`},
	{"splits", `def _cm_b_splits($re; $flags): splits($re; $flags);
		def splits($re): _cm_match_fit($re; "g"; $__cm_run) | _cm_b_splits($re; null);
		def splits($re; $flags): _cm_match_fit($re; $flags + "g"; $__cm_run) | _cm_b_splits($re; $flags);`},
	{"split", `def _cm_b_split($s): split($s); def _cm_b_split($re; $flags): split($re; $flags);
		def split($s): _cm_b_split($s);
		def split($re; $flags): _cm_match_fit($re; $flags + "g"; $__cm_run) | _cm_b_split($re; $flags);`},
	{"sub", `def _cm_b_sub($re; str; $flags): sub($re; str; $flags);
		def sub($re; str): _cm_match_fit($re; null; $__cm_run) | _cm_b_sub($re; str | _cm_repl($__cm_run); null);
		def sub($re; str; $flags): _cm_match_fit($re; $flags; $__cm_run) | _cm_b_sub($re; str | _cm_repl($__cm_run); $flags);`},
	{"gsub", `def _cm_b_gsub($re; str; $flags): gsub($re; str; $flags);
		def gsub($re; str): _cm_match_fit($re; "g"; $__cm_run) | _cm_b_gsub($re; str | _cm_repl($__cm_run); null);
		def gsub($re; str; $flags): _cm_match_fit($re; $flags + "g"; $__cm_run) | _cm_b_gsub($re; str | _cm_repl($__cm_run); $flags);`},
}

// prelude returns the guard definitions the program needs, given the names it calls.
func prelude(names map[string]bool) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, d := range preludeDefs {
		if !names[d.name] || seen[d.defs] {
			continue
		}
		// @text and tostring (and @json and tojson) share their definitions.
		if (d.name == "@text" && names["tostring"]) || (d.name == "@json" && names["tojson"]) {
			continue
		}
		seen[d.defs] = true
		b.WriteString(d.defs)
		b.WriteByte('\n')
	}
	return b.String()
}
