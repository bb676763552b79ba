package expression

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/concertmaster/concertmaster/internal/budget"
)

// runBudget is the per-evaluation state behind the hidden __budget variable. It has no exported
// fields or methods, so an expression cannot do anything with it.
type runBudget struct {
	ctx      context.Context
	deadline time.Time
	timeout  time.Duration
	maxSize  int64
	acct     *budget.Account
}

func newRunBudget(ctx context.Context, b Budget) *runBudget {
	deadline := time.Now().Add(b.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	acct := b.Memory
	if acct == nil {
		acct = budget.NewMemory(MemoryDefault).Open()
	}
	return &runBudget{ctx: ctx, deadline: deadline, timeout: b.Timeout, maxSize: b.MaxSize, acct: acct}
}

// timeUp reports an error once the evaluation's context has ended or its deadline has passed.
func (b *runBudget) timeUp() error {
	if b.ctx.Err() != nil {
		return fmt.Errorf("stopped: %w", context.Cause(b.ctx))
	}
	if time.Now().After(b.deadline) {
		return fmt.Errorf("ran past its time budget of %s: %w", b.timeout, ErrBudget)
	}
	return nil
}

// measure returns the estimated JSON size of v, or an error when v is over the size budget or the
// deadline passes while measuring.
func (b *runBudget) measure(v any) (int64, error) {
	switch x := v.(type) {
	case nil, bool, int, int64, float64:
		return 8, nil
	case string:
		if int64(len(x)) > b.maxSize {
			return 0, b.tooBig(int64(len(x)))
		}
		return int64(len(x)), nil
	}
	w := sizer{limit: b.maxSize, budget: b}
	ok := w.walk(v, 0)
	if w.err != nil {
		return 0, w.err
	}
	if !ok {
		return 0, b.tooBig(-1)
	}
	return w.n, nil
}

func (b *runBudget) tooBig(n int64) error {
	if n < 0 {
		return fmt.Errorf("built a value over the %s size limit: %w", budget.Bytes(b.maxSize), ErrBudget)
	}
	return fmt.Errorf("built a %s value, over the %s size limit: %w", budget.Bytes(n), budget.Bytes(b.maxSize), ErrBudget)
}

func budgetOf(v any) (*runBudget, error) {
	b, ok := v.(*runBudget)
	if !ok {
		return nil, errors.New("internal: budget missing")
	}
	return b, nil
}

// checkFunc is __chk(budget, value), wrapped around calls, builtins and predicate bodies: it checks
// the deadline, the value's size, and charges the value to the memory budget.
func checkFunc(params ...any) (any, error) {
	b, err := budgetOf(params[0])
	if err != nil {
		return nil, err
	}
	if err := b.timeUp(); err != nil {
		return nil, err
	}
	n, err := b.measure(params[1])
	if err != nil {
		return nil, err
	}
	if err := b.acct.Reserve(n); err != nil {
		return nil, err
	}
	return params[1], nil
}

// literalFunc is __lit(budget, value), wrapped around array and map literals: their elements were
// charged when they were built, so only the container is charged.
func literalFunc(params ...any) (any, error) {
	b, err := budgetOf(params[0])
	if err != nil {
		return nil, err
	}
	if err := b.timeUp(); err != nil {
		return nil, err
	}
	if _, err := b.measure(params[1]); err != nil {
		return nil, err
	}
	n := int64(16)
	switch x := params[1].(type) {
	case []any:
		n += 16 * int64(len(x))
	case map[string]any:
		n += 48 * int64(len(x))
	}
	if err := b.acct.Reserve(n); err != nil {
		return nil, err
	}
	return params[1], nil
}

// addFunc is __add(budget, a, b), which replaces "+" unless both sides are known numbers or times:
// joining two strings checks the size of the result before building it.
func addFunc(params ...any) (any, error) {
	b, err := budgetOf(params[0])
	if err != nil {
		return nil, err
	}
	x, xs := params[1].(string)
	y, ys := params[2].(string)
	if !xs || !ys {
		return runtime.Add(params[1], params[2]), nil
	}
	n := int64(len(x)) + int64(len(y))
	if n > b.maxSize {
		return nil, b.tooBig(n)
	}
	if err := b.acct.Reserve(n); err != nil {
		return nil, err
	}
	return x + y, nil
}

// Regular expression limits: matching costs at most (pattern instructions × input bytes) steps of
// about 10 ns each, so the product is bounded to keep one match well inside the time budget.
const (
	// RegexMaxPattern is the longest pattern `matches` accepts, in bytes.
	RegexMaxPattern = 4096
	// RegexMaxWork bounds pattern instructions × input bytes for one match.
	RegexMaxWork   = 10_000_000
	regexCacheSize = 16
	// regexCacheMaxPattern is the longest computed pattern kept in a template's cache, so that the
	// cache stays small next to the template's accounted weight; longer ones are compiled each time.
	regexCacheMaxPattern = 256
)

// compiledRegex is a pattern compiled once: at save time for literal patterns, on first use (and
// cached) for computed ones.
type compiledRegex struct {
	re    *regexp.Regexp
	insts int
}

func compileRegex(pattern string) (*compiledRegex, error) {
	if len(pattern) > RegexMaxPattern {
		return nil, fmt.Errorf("the pattern is %s long, over the %s limit: %w", budget.Bytes(int64(len(pattern))), budget.Bytes(RegexMaxPattern), ErrBudget)
	}
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("invalid pattern: %w", err)
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, fmt.Errorf("invalid pattern: %w", err)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid pattern: %w", err)
	}
	return &compiledRegex{re: re, insts: len(prog.Inst)}, nil
}

// regexes caches a template's computed patterns: at most regexCacheSize of them, each at most
// regexCacheMaxPattern bytes long.
type regexes struct {
	cache *lru.Cache[string, *compiledRegex]
}

func newRegexes() *regexes {
	c, _ := lru.New[string, *compiledRegex](regexCacheSize) // the size is a positive constant
	return &regexes{cache: c}
}

// matches is __matches(budget, s, pattern), which replaces the matches operator.
func (rx *regexes) matches(params ...any) (any, error) {
	b, err := budgetOf(params[0])
	if err != nil {
		return nil, err
	}
	s, ok := params[1].(string)
	if !ok {
		return nil, fmt.Errorf("matches needs a string on its left, not %s", typeName(params[1]))
	}
	var re *compiledRegex
	switch p := params[2].(type) {
	case *compiledRegex:
		re = p
	case string:
		if cached, ok := rx.cache.Get(p); ok {
			re = cached
		} else {
			if re, err = compileRegex(p); err != nil {
				return nil, fmt.Errorf("matches: %w", err)
			}
			if len(p) <= regexCacheMaxPattern {
				rx.cache.Add(p, re)
			}
		}
	default:
		return nil, fmt.Errorf("matches needs a string pattern on its right, not %s", typeName(params[2]))
	}
	if work := int64(re.insts) * int64(len(s)); work > RegexMaxWork {
		return nil, fmt.Errorf("matching a %d-step pattern against %s could take seconds: pattern steps × input bytes is limited to %d (shorten the input or simplify the pattern): %w",
			re.insts, budget.Bytes(int64(len(s))), RegexMaxWork, ErrBudget)
	}
	if err := b.timeUp(); err != nil {
		return nil, err
	}
	return re.re.MatchString(s), nil
}

// selfBounded are the functions that bound what they build themselves; calls to them are not wrapped
// in __chk again.
var selfBounded = map[string]bool{"__chk": true, "__lit": true, "__add": true, "__matches": true}

// patcher walks a syntax tree once: it records nodes.<id> references, notices reserved names, and
// threads the budget through every step that can build a value or loop.
type patcher struct {
	ids     []string
	dynamic bool
	hidden  bool
	err     error
	// visited counts the syntax nodes, to estimate the compiled program's weight.
	visited int
	// nodesNames and nodesMembers count the uses of the name nodes and of nodes.<x>: more names than
	// members means nodes is read whole ({{ keys(nodes) }}), so any node may be read.
	nodesNames, nodesMembers int
}

func call(name string, at ast.Node, args ...ast.Node) ast.Node {
	c := &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: append([]ast.Node{&ast.IdentifierNode{Value: budgetName}}, args...)}
	c.SetLocation(at.Location())
	return c
}

func (p *patcher) Visit(node *ast.Node) {
	p.visited++
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if strings.HasPrefix(n.Value, "__") {
			p.hidden = true
		}
		if n.Value == "nodes" {
			p.nodesNames++
		}
	case *ast.MemberNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "nodes" {
			p.nodesMembers++
			if s, ok := n.Property.(*ast.StringNode); ok {
				p.ids = append(p.ids, s.Value)
			} else {
				p.dynamic = true
			}
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "+":
			// Numbers and times add in place; a string (or a value whose type is only known when
			// the expression runs) may be a concatenation, which must be sized before it is built.
			if !knownNonString(n.Left.Type()) && !knownNonString(n.Right.Type()) {
				*node = call("__add", n, n.Left, n.Right)
			}
		case "matches":
			right := n.Right
			if s, ok := right.(*ast.StringNode); ok {
				re, err := compileRegex(s.Value)
				if err != nil {
					if p.err == nil {
						p.err = err
					}
					return
				}
				c := &ast.ConstantNode{Value: re}
				c.SetLocation(s.Location())
				right = c
			}
			*node = call("__matches", n, n.Left, right)
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && selfBounded[id.Value] {
			return
		}
		*node = call("__chk", n, n)
	case *ast.BuiltinNode:
		*node = call("__chk", n, n)
	case *ast.ArrayNode, *ast.MapNode:
		*node = call("__lit", n, n)
	case *ast.PredicateNode:
		n.Node = call("__chk", n.Node, n.Node)
	}
}

// knownNonString reports whether t is a type whose "+" cannot build a string: numbers, times and
// durations.
func knownNonString(t reflect.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	case reflect.Struct:
		return t == reflect.TypeOf(time.Time{})
	}
	return false
}

func compileOptions(limits Limits, p *patcher, rx *regexes) []expr.Option {
	opts := []expr.Option{
		expr.Env(runEnv{}),
		expr.MaxNodes(limits.MaxNodes),
		expr.Patch(p),
		expr.Function("__chk", checkFunc, new(func(*runBudget, any) any)),
		expr.Function("__lit", literalFunc, new(func(*runBudget, any) any)),
		expr.Function("__add", addFunc, new(func(*runBudget, any, any) any)),
		expr.Function("__matches", rx.matches, new(func(*runBudget, any, any) bool)),
	}
	return append(opts, builtinOptions(limits.MaxValueBytes)...)
}
