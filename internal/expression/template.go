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
	"github.com/expr-lang/expr/vm"

	"github.com/concertmaster/concertmaster/internal/budget"
)

// Defaults for Limits and Budget.
const (
	MaxLengthDefault    = 4096
	MaxNodesDefault     = 1000
	TimeoutDefault      = 250 * time.Millisecond
	MemoryBudgetDefault = 1_000_000
	MaxSizeDefault      = 16 << 20
	// MemoryDefault is the memory budget of an evaluation that is given no account of its own.
	MemoryDefault = 4 * MaxSizeDefault
)

// Limits bound what Compile accepts. A zero field means its default.
type Limits struct {
	// MaxLength is the longest expression, in bytes, between one pair of braces (default 4096).
	MaxLength int
	// MaxNodes is the largest syntax tree of one expression, in nodes (default 1000).
	MaxNodes uint
	// MaxValueBytes is the largest string or value a builtin such as repeat, replace, join or toJSON
	// may build in one step (default 16 MiB); the builtin refuses before allocating.
	MaxValueBytes int64
	// Cache, when set, memoizes compiled templates by source: saving a workflow again, or running a
	// version the API just compiled, then compiles only the expressions that changed.
	Cache *Cache
	// Quota, when set, is shared by every Compile of one workflow: it bounds the total expression
	// source and syntax nodes the workflow may hold.
	Quota *Quota
}

func (l Limits) withDefaults() Limits {
	if l.MaxLength <= 0 {
		l.MaxLength = MaxLengthDefault
	}
	if l.MaxNodes == 0 {
		l.MaxNodes = MaxNodesDefault
	}
	if l.MaxValueBytes <= 0 {
		l.MaxValueBytes = MaxSizeDefault
	}
	return l
}

// Budget bounds one evaluation. A zero field means its default.
type Budget struct {
	// Timeout is the longest one template may evaluate (default 250ms). The evaluation also stops
	// when its context ends.
	Timeout time.Duration
	// MemoryBudget is expr-lang's VM allocation budget, in its own units (default 1,000,000).
	MemoryBudget uint
	// MaxSize is the largest value, as estimated JSON bytes, any step may produce (default 16 MiB).
	MaxSize int64
	// Memory is the account every value the evaluation builds is charged to, such as the account of
	// one node attempt within its execution's budget. Nil gives each evaluation an account of its own
	// of MemoryDefault bytes.
	Memory *budget.Account
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
	// Pointer, when the template is part of a compiled Value, is its JSON pointer within the value.
	Pointer string
	cause   error
	// unclosed marks an expression that has no "}}": its message then does not quote it in braces,
	// which would show a closed expression that the text does not hold.
	unclosed bool
}

func (e *Error) Error() string {
	if e.unclosed {
		return "the expression after {{ " + e.Message
	}
	return fmt.Sprintf("expression {{ %s }}: %s", e.Expr, e.Message)
}

// Unwrap returns the cause of a failed evaluation, such as ErrBudget, a *budget.ExceededError or
// the context's error.
func (e *Error) Unwrap() error { return e.cause }

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
	// weight estimates the bytes the compiled template holds in memory.
	weight int64
	// srcBytes and astNodes are the expression source and syntax nodes the template counts against a
	// Quota.
	srcBytes, astNodes int
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
	limits = limits.withDefaults()
	var t *Template
	var err error
	if limits.Cache != nil {
		t, err = limits.Cache.compile(source, limits)
	} else {
		t, err = compile(source, limits)
	}
	if err != nil {
		return nil, err
	}
	if err := limits.Quota.charge(t); err != nil {
		return nil, &Error{Expr: abbreviate(source), Message: strings.TrimSuffix(err.Error(), ": "+ErrQuota.Error()), cause: err}
	}
	return t, nil
}

func compile(source string, limits Limits) (*Template, error) {
	limits = limits.withDefaults()
	parts, err := split(source)
	if err != nil {
		return nil, err
	}
	t := &Template{source: source, parts: parts, weight: templateOverhead + int64(len(source))}
	exprs := 0
	var rx *regexes
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
		// Refuse before compiling when the workflow's quota is already spent; Compile counts the
		// whole template once it is built.
		if limits.Quota != nil {
			if used, _ := limits.Quota.Used(); used+t.srcBytes+len(p.src) > quotaSource(limits.Quota) {
				limits.Quota.markExhausted()
				return nil, &Error{Expr: abbreviate(p.src), Offset: p.offset, cause: ErrQuota, Message: fmt.Sprintf(
					"brings the workflow's expressions to over %s of source, the limit per workflow", budget.Bytes(int64(quotaSource(limits.Quota))))}
			}
		}
		if rx == nil {
			rx = newRegexes()
		}
		pt := &patcher{}
		prog, err := expr.Compile(p.src, compileOptions(limits, pt, rx)...)
		if err == nil && pt.err != nil {
			err = pt.err
		}
		if err != nil {
			msg := cleanCompileError(err)
			if isEndOfInput(msg) {
				msg = incomplete(p.src)
			}
			return nil, &Error{Expr: abbreviate(p.src), Offset: p.offset, Message: msg}
		}
		if pt.hidden {
			return nil, &Error{Expr: abbreviate(p.src), Offset: p.offset, Message: "names starting with __ are reserved"}
		}
		p.program = prog
		t.refs = append(t.refs, pt.ids...)
		t.dynamic = t.dynamic || pt.dynamic || pt.nodesNames > pt.nodesMembers
		t.weight += programWeight(p.src, prog, pt.visited)
		t.srcBytes += len(p.src)
		t.astNodes += pt.visited
	}
	t.single = exprs == 1 && len(t.parts) == 1
	return t, nil
}

// templateOverhead and programWeight estimate what a compiled template holds: its source, the syntax
// tree the program keeps, the bytecode with its locations, and constants such as compiled patterns.
const templateOverhead = 256

func programWeight(src string, prog *vm.Program, astNodes int) int64 {
	w := int64(2*len(src)) + int64(astNodes)*160 + int64(len(prog.Bytecode))*(1+8+16) + int64(len(prog.Constants))*16
	for _, c := range prog.Constants {
		switch x := c.(type) {
		case string:
			w += int64(len(x))
		case *compiledRegex:
			w += int64(x.insts)*64 + int64(len(x.re.String()))
		}
	}
	return w
}

// Weight estimates the memory the compiled template holds, in bytes.
func (t *Template) Weight() int64 { return t.weight }

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

// Eval evaluates the template against env within bud. Errors are *Error; they wrap ErrBudget when a
// time or size budget stopped the evaluation, a *budget.ExceededError when the memory budget did, and
// the context's error when ctx ended.
func (t *Template) Eval(ctx context.Context, env *Env, bud Budget) (any, error) {
	if !t.IsExpression() {
		return t.source, nil
	}
	bud = bud.withDefaults()
	b := newRunBudget(ctx, bud)
	vars := env.bind(b)
	if t.single {
		return t.run(&t.parts[0], vars, bud)
	}
	var sb strings.Builder
	for i := range t.parts {
		p := &t.parts[i]
		if p.program == nil {
			sb.WriteString(p.literal)
			continue
		}
		v, err := t.run(p, vars, bud)
		if err != nil {
			return nil, err
		}
		if err := appendFormatted(&sb, v, bud.MaxSize-int64(sb.Len())); err != nil {
			return nil, &Error{Expr: abbreviate(p.src), Offset: p.offset, Message: err.Error(), cause: err}
		}
	}
	if err := b.acct.Reserve(int64(sb.Len())); err != nil {
		return nil, &Error{Expr: abbreviate(t.source), Message: err.Error(), cause: err}
	}
	return sb.String(), nil
}

var vmPool = sync.Pool{New: func() any { return &vm.VM{} }}

func (t *Template) run(p *part, vars *runEnv, bud Budget) (any, error) {
	if err := vars.Budget.timeUp(); err != nil {
		return nil, &Error{Expr: abbreviate(p.src), Offset: p.offset, Message: err.Error(), cause: err}
	}
	machine := vmPool.Get().(*vm.VM)
	machine.MemoryBudget = bud.MemoryBudget
	out, err := machine.Run(p.program, vars)
	vmPool.Put(machine)
	if err != nil {
		return nil, runError(p, err)
	}
	return normalize(out), nil
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
	return 0, &Error{Expr: abbreviate(s[from:]), Offset: from - 2, Message: unclosedMessage(s[from:]), unclosed: true}
}
