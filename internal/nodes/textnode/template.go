// Package textnode implements data.template: Go text/template rendering over a node's input, with
// a small set of safe functions, bounded in time, loops, nesting and size.
package textnode

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
)

// Limits of data.template.
const (
	// LeftDelim and RightDelim surround template actions: {{ }} belongs to the engine's expressions.
	LeftDelim  = "{%"
	RightDelim = "%}"
	// MaxTemplateLength is the longest template, in bytes.
	MaxTemplateLength = 64 << 10
	// TimeoutDefault is how long one rendering may take unless the node's own timeout is shorter.
	TimeoutDefault = 5 * time.Second
	// MaxIterations is how many loop iterations and template calls one rendering may make.
	MaxIterations = 200_000
	// MaxDepth is how deeply templates may call templates.
	MaxDepth = 100
	// MaxWidth is the largest width or precision printf accepts.
	MaxWidth = 1024
	// maxOutputDefault stands for CM_MAX_OUTPUT_BYTES when the attempt has no output limit (tests).
	maxOutputDefault = 16 << 20
	enterName        = "templateDepthCheck"
	tickName         = "loopLimitCheck"
	exitName         = "templateDepthEnd"
)

// Config tunes data.template; zero values take the defaults.
type Config struct {
	// Timeout bounds one rendering (default TimeoutDefault).
	Timeout time.Duration
	// MaxIterations bounds the loop iterations and template calls of one rendering (default
	// MaxIterations).
	MaxIterations int
}

// Template renders text with Go's text/template.
type Template struct {
	// Template is the template text, with actions between {% and %}.
	Template string `json:"template"`
	// Data is the value the template sees as "."; nil means the node's input.
	Data any `json:"data,omitempty"`

	cfg *Config
}

// New returns the data.template prototype with cfg.
func New(cfg Config) *Template {
	if cfg.Timeout <= 0 {
		cfg.Timeout = TimeoutDefault
	}
	if cfg.MaxIterations <= 0 {
		cfg.MaxIterations = MaxIterations
	}
	return &Template{cfg: &cfg}
}

func (t *Template) config() Config {
	if t.cfg == nil {
		return Config{Timeout: TimeoutDefault, MaxIterations: MaxIterations}
	}
	return *t.cfg
}

//go:embed docs.md
var docs string

// NodeInfo describes data.template.
func (t *Template) NodeInfo() node.Info {
	cfg := t.cfg
	return node.Info{
		Type: "data.template", Pure: true, Title: "Text template", Category: "Data", Icon: "file-text",
		Description: "Renders text, such as an e-mail body or a report, from a Go text/template with actions between {% and %}.",
		Docs:        docs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "The value the template sees as ., unless data is set"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Text", Description: "{text}: the rendered text"}},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["template"],
  "properties": {
    "template": {"type": "string", "title": "Template", "description": "Go text/template text with actions between {% and %}", "maxLength": 65536,
      "examples": ["Hello {% .name %}, you have {% len .orders %} orders:{% range .orders %}\n- {% .id %}: {% printf \"%.2f\" .total %}{% end %}"]},
    "data": {"title": "Data", "description": "The value the template sees as .; default: the node's input", "examples": ["{{ nodes.fetch.output.body }}"], "x-cm-expression": true}
  }
}`),
		// The template is never evaluated as an expression: data must not become template code.
		Lazy: []string{"template"},
		New:  func() node.Node { return &Template{cfg: cfg} },
	}
}

// Validate parses the template.
func (t *Template) Validate() error {
	_, err := t.parse()
	return err
}

// funcNames lists every function a template may call, for parsing; each run binds its own. The
// checks instrument adds are left out: a template cannot call them itself.
var funcNames = func() texttemplate.FuncMap {
	fm := texttemplate.FuncMap{}
	for name := range (&renderer{}).funcs() {
		if name != enterName && name != tickName && name != exitName {
			fm[name] = func() string { return "" }
		}
	}
	return fm
}()

func (t *Template) parse() (*texttemplate.Template, error) {
	if len(t.Template) > MaxTemplateLength {
		return nil, fmt.Errorf("template: %s long, over the %s limit", budget.Bytes(int64(len(t.Template))), budget.Bytes(MaxTemplateLength))
	}
	if !utf8.ValidString(t.Template) {
		return nil, errors.New("template: not valid UTF-8")
	}
	tmpl, err := texttemplate.New("template").Delims(LeftDelim, RightDelim).Option("missingkey=zero").Funcs(funcNames).Parse(t.Template)
	if err != nil {
		return nil, fmt.Errorf("template: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	for _, tt := range tmpl.Templates() {
		if tt.Tree == nil || tt.Root == nil {
			continue
		}
		instrument(tt.Tree)
	}
	return tmpl, nil
}

// instrument adds a call to cmEnter at the start of every template body, to cmTick at the start of
// every loop body, and to cmExit at the end of every template body: they count iterations and
// template depth and check the time, which a loop that writes nothing (range 1000000000) would not
// otherwise do.
func instrument(tree *parse.Tree) {
	root := tree.Root
	root.Nodes = append([]parse.Node{action(tree, root.Pos, enterName)}, root.Nodes...)
	root.Nodes = append(root.Nodes, action(tree, root.Pos, exitName))
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.ListNode:
			if x == nil {
				return
			}
			for _, c := range x.Nodes {
				walk(c)
			}
		case *parse.RangeNode:
			x.List.Nodes = append([]parse.Node{action(tree, x.Pos, tickName)}, x.List.Nodes...)
			walk(x.List)
			walk(x.ElseList)
		case *parse.IfNode:
			walk(x.List)
			walk(x.ElseList)
		case *parse.WithNode:
			walk(x.List)
			walk(x.ElseList)
		}
	}
	walk(root)
}

func action(tree *parse.Tree, pos parse.Pos, fn string) *parse.ActionNode {
	ident := parse.NewIdentifier(fn).SetTree(tree).SetPos(pos)
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{ident}}
	pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{cmd}}
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: pipe}
}

// Execute renders the template.
func (t *Template) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	tmpl, err := t.parse()
	if err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: "invalid_config", Message: err.Error()})
	}
	maxOut := in.Limits.MaxOutputBytes
	if maxOut <= 0 {
		maxOut = maxOutputDefault
	}
	cfg := t.config()
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("data.template ran past its time budget of %s", cfg.Timeout))
	defer cancel()
	r := &renderer{ctx: ctx, in: in, maxValue: maxOut, maxIterations: cfg.MaxIterations}
	w := &cappedWriter{ctx: ctx, max: maxOut}
	data := t.Data
	if data == nil {
		data = in.Data
	}
	tmpl, err = tmpl.Clone()
	if err != nil {
		return node.Output{}, fmt.Errorf("data.template: %w", err)
	}
	if err := tmpl.Funcs(r.funcs()).Execute(w, data); err != nil {
		return node.Output{}, r.fail(ctx, w, err)
	}
	return node.Out(map[string]any{"text": w.buf.String()}), nil
}

// fail turns a rendering error into the node's failure.
func (r *renderer) fail(ctx context.Context, w *cappedWriter, err error) error {
	var exceeded *budget.ExceededError
	switch {
	case errors.As(err, &exceeded):
		return node.Permanent(fmt.Errorf("data.template: %w", exceeded))
	case errors.Is(err, errTooLarge) || w.full:
		return node.Permanent(node.Errorf("output_too_large", "data.template output is over the %s limit (CM_MAX_OUTPUT_BYTES)", budget.Bytes(w.max)))
	case ctx.Err() != nil:
		cause := context.Cause(ctx)
		if errors.Is(cause, context.Canceled) {
			return cause
		}
		return node.Permanent(node.Errorf("timeout", "%v", cause))
	}
	msg := err.Error()
	if len(msg) > 1024 {
		msg = msg[:1024] + "…"
	}
	return node.Permanent(node.Errorf("template_error", "data.template: %s", msg))
}

var errTooLarge = errors.New("output too large")

// cappedWriter collects the output up to max bytes and stops the rendering when its context ends.
type cappedWriter struct {
	ctx  context.Context
	buf  bytes.Buffer
	max  int64
	full bool
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	if int64(w.buf.Len())+int64(len(p)) > w.max {
		w.full = true
		return 0, errTooLarge
	}
	return w.buf.Write(p)
}

// renderer holds one rendering's state for the template functions.
type renderer struct {
	ctx           context.Context
	in            *node.Input
	maxValue      int64
	maxIterations int
	iterations    int
	depth         int
}

func (r *renderer) enter() (string, error) {
	r.depth++
	if r.depth > MaxDepth+1 {
		return "", fmt.Errorf("templates nested more than %d deep", MaxDepth)
	}
	return r.tick()
}

func (r *renderer) tick() (string, error) {
	r.iterations++
	if r.iterations > r.maxIterations {
		return "", fmt.Errorf("more than %d loop iterations and template calls", r.maxIterations)
	}
	if r.iterations%1024 == 0 {
		if err := r.ctx.Err(); err != nil {
			return "", err
		}
	}
	return "", nil
}

// build checks and charges a string a function is about to build.
func (r *renderer) build(what string, n int64) error {
	if n > r.maxValue {
		return fmt.Errorf("%s would build %s, over the %s limit (CM_MAX_OUTPUT_BYTES)", what, budget.Bytes(n), budget.Bytes(r.maxValue))
	}
	if r.in != nil && r.in.Limits.Memory != nil {
		return r.in.Limits.Memory.Reserve(n)
	}
	return nil
}

// sizeOf estimates what printing v takes, stopping past the limit.
func (r *renderer) sizeOf(args ...any) int64 {
	var total int64
	for _, a := range args {
		n, ok := expression.SizeAtMost(a, r.maxValue)
		if !ok {
			return r.maxValue + 1
		}
		total += n
	}
	return total
}

func (r *renderer) funcs() texttemplate.FuncMap {
	fm := texttemplate.FuncMap{
		enterName: r.enter,
		tickName:  r.tick,
		exitName:  func() string { r.depth--; return "" },
		"call":    func(...any) (string, error) { return "", errors.New("call is not available") },
		"print": func(args ...any) (string, error) {
			if err := r.build("print", r.sizeOf(args...)+int64(len(args))); err != nil {
				return "", err
			}
			return fmt.Sprint(args...), nil
		},
		"println": func(args ...any) (string, error) {
			if err := r.build("println", r.sizeOf(args...)+int64(len(args))+1); err != nil {
				return "", err
			}
			return fmt.Sprintln(args...), nil
		},
		"printf": r.printf,
		"html": func(args ...any) (string, error) {
			if err := r.build("html", 6*r.sizeOf(args...)); err != nil {
				return "", err
			}
			return texttemplate.HTMLEscaper(args...), nil
		},
		"js": func(args ...any) (string, error) {
			if err := r.build("js", 6*r.sizeOf(args...)); err != nil {
				return "", err
			}
			return texttemplate.JSEscaper(args...), nil
		},
		"urlquery": func(args ...any) (string, error) {
			if err := r.build("urlquery", 3*r.sizeOf(args...)); err != nil {
				return "", err
			}
			return texttemplate.URLQueryEscaper(args...), nil
		},
		"upper":      strings.ToUpper,
		"lower":      strings.ToLower,
		"trim":       strings.TrimSpace,
		"trimPrefix": func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"hasPrefix":  func(prefix, s string) bool { return strings.HasPrefix(s, prefix) },
		"hasSuffix":  func(suffix, s string) bool { return strings.HasSuffix(s, suffix) },
		"replace": func(old, repl, s string) (string, error) {
			n := int64(strings.Count(s, old))
			if old == "" {
				n = int64(utf8.RuneCountInString(s)) + 1
			}
			if err := r.build("replace", int64(len(s))+n*int64(len(repl))); err != nil {
				return "", err
			}
			return strings.ReplaceAll(s, old, repl), nil
		},
		"split": func(sep, s string) ([]string, error) {
			if err := r.build("split", 16*int64(strings.Count(s, sep)+1)); err != nil {
				return nil, err
			}
			return strings.Split(s, sep), nil
		},
		"join":    r.join,
		"json":    r.json,
		"default": defaultOf,
		"add":     arith(func(a, b float64) float64 { return a + b }),
		"sub":     arith(func(a, b float64) float64 { return a - b }),
		"mul":     arith(func(a, b float64) float64 { return a * b }),
		"div": func(a, b any) (float64, error) {
			x, y, err := numbers(a, b)
			if err == nil && y == 0 {
				err = errors.New("div: division by zero")
			}
			return x / y, err
		},
		"input":   func() any { return r.inputValue(func(in *node.Input) any { return in.Data }) },
		"trigger": func() any { return r.inputValue(func(in *node.Input) any { return in.Trigger }) },
		"execution": func() map[string]any {
			return r.inputValue(func(in *node.Input) any {
				e := in.Execution
				return map[string]any{"id": e.ExecutionID, "workflowId": e.WorkflowID, "workflowVersion": e.WorkflowVersion, "nodeId": e.NodeID, "attempt": e.Attempt}
			}).(map[string]any)
		},
	}
	return fm
}

func (r *renderer) inputValue(f func(*node.Input) any) any {
	if r.in == nil {
		return map[string]any{}
	}
	return f(r.in)
}

// printf refuses widths and precisions over MaxWidth (and * ones) before formatting.
func (r *renderer) printf(format string, args ...any) (string, error) {
	verbs := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++
		}
		for part := 0; part < 2; part++ {
			if i < len(format) && format[i] == '*' {
				return "", errors.New("printf: * widths are not supported")
			}
			start := i
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				i++
			}
			if i-start > 4 || (i > start && atoi(format[start:i]) > MaxWidth) {
				return "", fmt.Errorf("printf: widths and precisions are at most %d", MaxWidth)
			}
			if part == 0 && i < len(format) && format[i] == '.' {
				i++
				continue
			}
			break
		}
		verbs++
	}
	if err := r.build("printf", int64(len(format))+int64(verbs)*MaxWidth+3*r.sizeOf(args...)); err != nil {
		return "", err
	}
	return fmt.Sprintf(format, args...), nil
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// join joins the elements of an array with a separator, elements that are not strings printed.
func (r *renderer) join(sep string, list any) (string, error) {
	var items []string
	switch x := list.(type) {
	case []string:
		items = x
	case []any:
		if err := r.build("join", 16*int64(len(x))); err != nil {
			return "", err
		}
		items = make([]string, len(x))
		for i, e := range x {
			if s, ok := e.(string); ok {
				items[i] = s
				continue
			}
			if err := r.build("join", r.sizeOf(e)); err != nil {
				return "", err
			}
			items[i] = fmt.Sprint(e)
		}
	default:
		return "", fmt.Errorf("join: needs an array, not %T", list)
	}
	total := int64(len(sep)) * int64(max(len(items)-1, 0))
	for _, s := range items {
		total += int64(len(s))
	}
	if err := r.build("join", total); err != nil {
		return "", err
	}
	return strings.Join(items, sep), nil
}

// json encodes a value as JSON.
func (r *renderer) json(v any) (string, error) {
	if err := r.build("json", r.sizeOf(v)); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("json: %w", err)
	}
	return string(b), nil
}

// defaultOf returns v, or def when v is empty: null, false, 0, "", or an empty array or object.
func defaultOf(def, v any) any {
	switch x := v.(type) {
	case nil:
		return def
	case bool:
		if !x {
			return def
		}
	case string:
		if x == "" {
			return def
		}
	case float64:
		if x == 0 {
			return def
		}
	case int:
		if x == 0 {
			return def
		}
	case []any:
		if len(x) == 0 {
			return def
		}
	case map[string]any:
		if len(x) == 0 {
			return def
		}
	}
	return v
}

func numbers(a, b any) (float64, float64, error) {
	x, ok := toFloat(a)
	if !ok {
		return 0, 0, fmt.Errorf("not a number: %v", a)
	}
	y, ok := toFloat(b)
	if !ok {
		return 0, 0, fmt.Errorf("not a number: %v", b)
	}
	return x, y, nil
}

func arith(f func(a, b float64) float64) func(a, b any) (float64, error) {
	return func(a, b any) (float64, error) {
		x, y, err := numbers(a, b)
		return f(x, y), err
	}
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// All returns the node types of this package.
func All() []node.Node { return []node.Node{New(Config{})} }

var (
	_ node.Node      = (*Template)(nil)
	_ node.Validator = (*Template)(nil)
)
