package expression

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Defaults for Limits and Budget.
const (
	MaxLengthDefault    = 4096
	MaxNodesDefault     = 1000
	TimeoutDefault      = 250 * time.Millisecond
	MemoryBudgetDefault = 1_000_000
	MaxSizeDefault      = 16 << 20
)

// Limits bound what Compile accepts. A zero field means its default.
type Limits struct {
	// MaxLength is the longest expression, in bytes, between one pair of braces (default 4096).
	MaxLength int
	// MaxNodes is the largest syntax tree of one expression, in nodes (default 1000).
	MaxNodes uint
	// Cache, when set, memoizes compiled templates by source: saving a workflow again, or running a
	// version the API just compiled, then compiles only the expressions that changed.
	Cache *Cache
}

// Budget bounds one evaluation. A zero field means its default.
type Budget struct {
	// Timeout is the longest one template may evaluate (default 250ms).
	Timeout time.Duration
	// MemoryBudget is expr-lang's VM allocation budget, in its own units (default 1,000,000).
	MemoryBudget uint
	// MaxSize is the largest value, as estimated JSON bytes, any step may produce (default 16 MiB).
	MaxSize int64
}

func (b Budget) withDefaults() Budget {
	if b.Timeout <= 0 {
		b.Timeout = TimeoutDefault
	}
	if b.MemoryBudget == 0 {
		b.MemoryBudget = MemoryBudgetDefault
	}
	if b.MaxSize <= 0 {
		b.MaxSize = MaxSizeDefault
	}
	return b
}

// Env is what an expression can see.
type Env struct {
	// Trigger is the output of the trigger node that started the execution.
	Trigger any
	// Input is the current node's input.
	Input any
	// Nodes maps node ids to {"output": …, "status": …} for nodes that have finished.
	Nodes map[string]any
	// Execution describes the execution: id, startedAt, attempt.
	Execution map[string]any
	// Workflow describes the workflow: id, name, version.
	Workflow map[string]any
	// Vars holds the workflow's constants.
	Vars map[string]any
	// Item is the current element inside a fan-out.
	Item any
	// Index is the position of Item inside a fan-out.
	Index int
}

const budgetName = "__budget"

// Error is a template that does not compile, or an evaluation that fails.
type Error struct {
	// Expr is the source of the failing expression, without braces.
	Expr string
	// Offset is the byte offset of the expression's "{{" within the template.
	Offset int
	// Message says what is wrong.
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("expression {{ %s }}: %s", e.Expr, e.Message)
}

// ErrBudget is wrapped by evaluation errors caused by a time or size budget.
var ErrBudget = errors.New("expression budget exceeded")

type part struct {
	literal string
	src     string
	offset  int
	program *vm.Program
}

// Template is a compiled template. It is safe for concurrent use.
type Template struct {
	source  string
	parts   []part
	single  bool
	refs    []string
	dynamic bool
}

// HasExpression reports whether s contains "{{", that is, whether it is a template rather than a
// plain string.
func HasExpression(s string) bool { return strings.Contains(s, "{{") }

// IsSingle reports whether s is exactly one expression, blanks aside.
func IsSingle(s string) bool {
	parts, err := split(s)
	return err == nil && len(parts) == 1 && parts[0].src != ""
}

// Compile parses and compiles a template.
func Compile(source string, limits Limits) (*Template, error) {
	if limits.Cache != nil {
		return limits.Cache.compile(source, limits)
	}
	return compile(source, limits)
}

func compile(source string, limits Limits) (*Template, error) {
	if limits.MaxLength <= 0 {
		limits.MaxLength = MaxLengthDefault
	}
	if limits.MaxNodes == 0 {
		limits.MaxNodes = MaxNodesDefault
	}
	parts, err := split(source)
	if err != nil {
		return nil, err
	}
	t := &Template{source: source, parts: parts}
	exprs := 0
	for i := range t.parts {
		p := &t.parts[i]
		if p.src == "" && p.literal != "" {
			continue
		}
		exprs++
		if len(p.src) > limits.MaxLength {
			return nil, &Error{Expr: abbreviate(p.src), Offset: p.offset,
				Message: fmt.Sprintf("is %d bytes long, over the %d-byte limit", len(p.src), limits.MaxLength)}
		}
		if strings.TrimSpace(p.src) == "" {
			return nil, &Error{Expr: p.src, Offset: p.offset, Message: "is empty"}
		}
		refs := &refCollector{}
		prog, err := expr.Compile(p.src, compileOptions(limits, refs)...)
		if err != nil {
			return nil, &Error{Expr: abbreviate(p.src), Offset: p.offset, Message: cleanCompileError(err)}
		}
		if refs.hidden {
			return nil, &Error{Expr: abbreviate(p.src), Offset: p.offset, Message: "names starting with __ are reserved"}
		}
		p.program = prog
		t.refs = append(t.refs, refs.ids...)
		t.dynamic = t.dynamic || refs.dynamic
	}
	t.single = exprs == 1 && len(t.parts) == 1
	return t, nil
}

// MustCompile is Compile that panics on error, for templates fixed in code.
func MustCompile(source string) *Template {
	t, err := Compile(source, Limits{})
	if err != nil {
		panic(err)
	}
	return t
}

// Source returns the template's text.
func (t *Template) Source() string { return t.source }

// IsExpression reports whether the template holds at least one expression.
func (t *Template) IsExpression() bool {
	for _, p := range t.parts {
		if p.program != nil {
			return true
		}
	}
	return false
}

// NodeRefs returns the node ids the template names as nodes.<id> or nodes["id"], and whether it also
// indexes nodes with a computed key, in which case any node may be read.
func (t *Template) NodeRefs() (ids []string, dynamic bool) { return t.refs, t.dynamic }

// Eval evaluates the template against env within budget.
func (t *Template) Eval(ctx context.Context, env *Env, budget Budget) (any, error) {
	if !t.IsExpression() {
		return t.source, nil
	}
	budget = budget.withDefaults()
	b := newRunBudget(ctx, budget)
	vars := env.bind(b)
	if t.single {
		return t.run(&t.parts[0], vars, budget)
	}
	var sb strings.Builder
	for i := range t.parts {
		p := &t.parts[i]
		if p.program == nil {
			sb.WriteString(p.literal)
			continue
		}
		v, err := t.run(p, vars, budget)
		if err != nil {
			return nil, err
		}
		if err := appendFormatted(&sb, v, budget.MaxSize-int64(sb.Len())); err != nil {
			return nil, &Error{Expr: abbreviate(p.src), Offset: p.offset, Message: err.Error()}
		}
	}
	return sb.String(), nil
}

var vmPool = sync.Pool{New: func() any { return &vm.VM{} }}

func (t *Template) run(p *part, vars *runEnv, budget Budget) (out any, err error) {
	machine := vmPool.Get().(*vm.VM)
	machine.MemoryBudget = budget.MemoryBudget
	out, err = machine.Run(p.program, vars)
	vmPool.Put(machine)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, ErrBudget.Error()) || strings.Contains(msg, "memory budget exceeded") {
			return nil, &budgetError{inner: &Error{Expr: abbreviate(p.src), Offset: p.offset, Message: firstLine(msg)}}
		}
		return nil, &Error{Expr: abbreviate(p.src), Offset: p.offset, Message: firstLine(msg)}
	}
	return normalize(out), nil
}

type budgetError struct{ inner *Error }

func (e *budgetError) Error() string   { return e.inner.Error() }
func (e *budgetError) Unwrap() []error { return []error{e.inner, ErrBudget} }
func (e *budgetError) As(target any) bool { // lets errors.As find the *Error
	if p, ok := target.(**Error); ok {
		*p = e.inner
		return true
	}
	return false
}

// runEnv is the struct expressions are compiled and run against. Its field tags are the names an
// expression sees; Budget is the hidden handle that __chk calls receive.
type runEnv struct {
	Trigger   any            `expr:"trigger"`
	Input     any            `expr:"input"`
	Nodes     map[string]any `expr:"nodes"`
	Execution map[string]any `expr:"execution"`
	Workflow  map[string]any `expr:"workflow"`
	Vars      map[string]any `expr:"vars"`
	Item      any            `expr:"item"`
	Index     int            `expr:"index"`
	Budget    *runBudget     `expr:"__budget"`
}

func (env *Env) bind(b *runBudget) *runEnv {
	r := &runEnv{Budget: b}
	if env != nil {
		r.Trigger, r.Input, r.Nodes, r.Execution = env.Trigger, env.Input, env.Nodes, env.Execution
		r.Workflow, r.Vars, r.Item, r.Index = env.Workflow, env.Vars, env.Item, env.Index
	}
	return r
}

// normalize turns the few non-JSON shapes expr-lang produces into JSON-friendly ones.
func normalize(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	}
	return v
}

// appendFormatted writes v as template text: strings as they are, nil as nothing, numbers and booleans
// in their usual spelling, anything else as JSON.
func appendFormatted(sb *strings.Builder, v any, room int64) error {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if int64(len(x)) > room {
			return fmt.Errorf("result is over the size budget: %w", ErrBudget)
		}
		sb.WriteString(x)
		return nil
	case bool:
		sb.WriteString(strconv.FormatBool(x))
		return nil
	case int:
		sb.WriteString(strconv.Itoa(x))
		return nil
	case float64:
		sb.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
		return nil
	}
	if _, ok := SizeAtMost(v, room); !ok {
		return fmt.Errorf("result is over the size budget: %w", ErrBudget)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("format %T: %w", v, err)
	}
	sb.Write(b)
	return nil
}

func abbreviate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func cleanCompileError(err error) string {
	msg := firstLine(err.Error())
	return strings.ReplaceAll(msg, budgetName, "budget")
}

// refCollector walks a syntax tree before patching: it records nodes.<id> references and notices
// reserved names.
type refCollector struct {
	ids     []string
	dynamic bool
	hidden  bool
}

func (r *refCollector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if strings.HasPrefix(n.Value, "__") {
			r.hidden = true
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok || id.Value != "nodes" {
			return
		}
		if s, ok := n.Property.(*ast.StringNode); ok {
			r.ids = append(r.ids, s.Value)
		} else {
			r.dynamic = true
		}
	}
}

// split cuts a template into literal and expression parts. An expression ends at the first "}}" that
// is outside string literals and outside braces opened within the expression, so map literals such
// as {{ {a: {b: 1}} }} work.
func split(s string) ([]part, error) {
	var parts []part
	i := 0
	for i < len(s) {
		start := strings.Index(s[i:], "{{")
		if start < 0 {
			parts = append(parts, part{literal: s[i:]})
			break
		}
		start += i
		if start > i {
			parts = append(parts, part{literal: s[i:start]})
		}
		end, err := findClose(s, start+2)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part{src: s[start+2 : end], offset: start})
		i = end + 2
	}
	// A single expression surrounded only by blanks counts as exactly one expression.
	var exprs []part
	blankLiterals := true
	for _, p := range parts {
		if p.src != "" || p.literal == "" {
			exprs = append(exprs, p)
		} else if strings.TrimSpace(p.literal) != "" {
			blankLiterals = false
		}
	}
	if len(exprs) == 1 && blankLiterals && exprs[0].src != "" {
		return exprs, nil
	}
	return parts, nil
}

func findClose(s string, from int) (int, error) {
	depth := 0
	for j := from; j < len(s); j++ {
		switch c := s[j]; c {
		case '"', '\'', '`':
			k := j + 1
			for ; k < len(s); k++ {
				if s[k] == '\\' && c != '`' {
					k++
					continue
				}
				if s[k] == c {
					break
				}
			}
			if k >= len(s) {
				return 0, &Error{Expr: abbreviate(s[from:]), Offset: from - 2, Message: "has an unterminated string literal"}
			}
			j = k
		case '{':
			depth++
		case '}':
			if depth == 0 {
				if j+1 < len(s) && s[j+1] == '}' {
					return j, nil
				}
				return 0, &Error{Expr: abbreviate(s[from:j]), Offset: from - 2, Message: "has an unmatched }"}
			}
			depth--
		}
	}
	return 0, &Error{Expr: abbreviate(s[from:]), Offset: from - 2, Message: `is not closed: add "}}"`}
}
