package jscode

import (
	"context"
	_ "embed" // docs.md
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/dop251/goja"

	"github.com/concertmaster/concertmaster/internal/node"
)

// TypeName is the node type's name.
const TypeName node.TypeName = "code.javascript"

// Defaults for Config.
const (
	// TimeoutDefault bounds a run when Config.Timeout is zero.
	TimeoutDefault = 30 * time.Second
	// MaxMemoryDefault is the memory limit of one run when Config.MaxMemory is zero: 64 MiB.
	MaxMemoryDefault int64 = 64 << 20
	// CacheSizeDefault is how many compiled programs are kept.
	CacheSizeDefault = 512
	// StackFramesDefault bounds the call stack.
	StackFramesDefault = 1000
	// MaxLogsDefault is how many console messages one run may write.
	MaxLogsDefault = 100
	// MaxLogBytesDefault is the longest console message kept, in bytes.
	MaxLogBytesDefault = 4096
	// maxOutputDefault bounds the output when the engine sets no limit.
	maxOutputDefault int64 = 16 << 20
	// regexpTimeout bounds one match of a regular expression that needs backtracking (back-references
	// or look-around), which goja runs in regexp2.
	regexpTimeout = time.Second
)

// docs is the type's documentation (node.Info.Docs).
//
//go:embed docs.md
var docs string

// Codes of the *node.Error values Execute returns.
const (
	// CodeScriptError is an exception the script threw or did not catch; Details hold line, column
	// and stack.
	CodeScriptError = "script_error"
	// CodeSyntaxError is code that does not compile.
	CodeSyntaxError = "syntax_error"
	// CodeTimeout is a script that ran past the node's timeout or CM_CODE_TIMEOUT.
	CodeTimeout = "timeout"
	// CodeMemoryExceeded is a script whose memory grew past CM_CODE_MAX_MEMORY.
	CodeMemoryExceeded = "memory_exceeded"
	// CodeInvalidOutput is a returned value that has no JSON form: a function, a symbol, a cycle, a
	// BigInt, a Map or Set, a Promise that never settled.
	CodeInvalidOutput = "invalid_output"
	// CodeOutputTooLarge is a returned value over CM_MAX_OUTPUT_BYTES.
	CodeOutputTooLarge = "output_too_large"
	// CodeNotArray is mode each with an input that is not an array.
	CodeNotArray = "not_array"
)

// Modes.
const (
	modeOnce = "once"
	modeEach = "each"
)

var errDefaultTimeout = errors.New("the script ran past its time limit (CM_CODE_TIMEOUT)")

// Config configures the code.javascript node type for a deployment.
type Config struct {
	// Timeout bounds a run whose node sets no shorter timeout (CM_CODE_TIMEOUT). Zero means
	// TimeoutDefault (30s).
	Timeout time.Duration
	// MaxMemory is how much the Go heap may grow while one script runs, in bytes
	// (CM_CODE_MAX_MEMORY). It also sets the longest string (a quarter of it, in characters) and
	// array (a thirty-second of it, in elements) one built-in call may build. Zero means
	// MaxMemoryDefault (64 MiB).
	MaxMemory int64
	// CacheSize is how many compiled programs are kept, by source. Zero means CacheSizeDefault.
	CacheSize int
}

// shared is what every node made by one New shares.
type shared struct {
	timeout  time.Duration
	lim      limits
	compiler *compiler
}

var setRegexpTimeout sync.Once

// New returns the code.javascript node type to register. Its nodes share one cache of compiled
// programs.
func New(cfg Config) node.Node {
	setRegexpTimeout.Do(func() {
		// regexp2 reads this when a pattern is compiled; goja compiles its patterns with no timeout of
		// its own. Only goja uses regexp2/v2 in this program.
		regexp2.DefaultMatchTimeout = regexpTimeout
	})
	mem := cfg.MaxMemory
	if mem <= 0 {
		mem = MaxMemoryDefault
	}
	s := &shared{
		timeout: cfg.Timeout,
		lim: limits{
			maxMemory: mem, maxString: mem / 4, maxArray: mem / 32, maxOutput: maxOutputDefault,
			stackFrames: StackFramesDefault, maxLogs: MaxLogsDefault, maxLogBytes: MaxLogBytesDefault,
		},
	}
	if s.timeout <= 0 {
		s.timeout = TimeoutDefault
	}
	size := cfg.CacheSize
	if size <= 0 {
		size = CacheSizeDefault
	}
	s.compiler = newCompiler(size)
	return &Code{shared: s}
}

// Code is a code.javascript node: its fields are its configuration. Code is never evaluated as a
// {{ template }} (it is a Raw key): "{{" is ordinary JavaScript text.
type Code struct {
	// Code is the body of a function whose return value is the node's output.
	Code string `json:"code"`
	// Mode is "once" (the default: the code runs once) or "each" (the input must be an array; the code
	// runs once per element, with item and index bound, and the output is the array of results).
	Mode string `json:"mode,omitempty"`

	shared *shared
}

// NodeInfo describes code.javascript.
func (c *Code) NodeInfo() node.Info {
	s := c.shared
	return node.Info{
		Type:        TypeName,
		Pure:        true,
		Version:     1,
		Title:       "JavaScript",
		Category:    "Code",
		Description: "Runs a JavaScript function body in a sandbox; its return value is the output. It reads input, trigger, nodes, vars and execution, and writes console messages into the node's logs.",
		Icon:        "code-xml",
		Docs:        docs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "The value the script reads as input"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Result", Description: "The script's return value, as JSON"}},
		Schema:      schema,
		Raw:         []string{"code"},
		New:         func() node.Node { return &Code{shared: s} },
	}
}

var schema = json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["code"],
  "properties": {
    "code": {
      "type": "string",
      "title": "Code",
      "description": "The body of a function whose return value becomes the output (as JSON). It reads input, trigger, nodes.<id>.output, vars and execution; console.log writes into the node's logs. Never read as a {{ template }}.",
      "minLength": 1,
      "maxLength": 262144,
      "x-cm-code": "javascript",
      "examples": ["return {sum: input.a + input.b}", "return input.items.filter(i => i.qty > 0).map(i => ({...i, total: i.qty * i.price}))"]
    },
    "mode": {
      "type": "string",
      "title": "Mode",
      "description": "once: run the code once (input is the whole input). each: the input must be an array; run the code once per element, with item and index bound, and output the array of results.",
      "enum": ["once", "each"],
      "default": "once",
      "examples": ["once", "each"]
    }
  }
}`)

// Validate compiles the code, so that a syntax error is reported when the workflow is saved, with its
// line and column.
func (c *Code) Validate() error {
	if c.shared == nil {
		return errors.New("code: node type not configured")
	}
	_, err := c.shared.compiler.compile(c.Code)
	return err
}

// Execute runs the code in a fresh sandbox.
func (c *Code) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	sh := c.shared
	prg, err := sh.compiler.compile(c.Code)
	if err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: CodeSyntaxError, Message: err.Error()})
	}
	lim := sh.lim
	if in.Limits.MaxOutputBytes > 0 {
		lim.maxOutput = in.Limits.MaxOutputBytes
	}
	var items []any
	if c.Mode == modeEach {
		var ok bool
		if items, ok = in.Data.([]any); !ok {
			return node.Output{}, node.Permanent(&node.Error{Code: CodeNotArray,
				Message: fmt.Sprintf("mode each needs an array as input, got %s", kindOf(in.Data))})
		}
	}
	ctx, cancel := context.WithTimeoutCause(ctx, sh.timeout, errDefaultTimeout)
	defer cancel()

	s := newSandbox(ctx, &lim, in)
	w := watch(ctx, s.vm, lim.maxMemory, in.Limits.Memory)
	var out any
	runErr := func() (err error) {
		defer func() {
			// goja reports some failures of its own by panicking; a run must never take the worker down.
			if p := recover(); p != nil {
				err = fmt.Errorf("%v", p)
			}
		}()
		return s.run(prg, c.Mode == modeEach, items, &out)
	}()
	w.stop()
	if s.failure != nil {
		return node.Output{}, s.failure
	}
	if reason := w.stopped(); reason != nil {
		return node.Output{}, stopError(ctx, reason)
	}
	if runErr != nil {
		return node.Output{}, s.scriptError(prg, runErr)
	}
	return node.Out(out), nil
}

// run evaluates the program and converts its result (one per element in mode each) into out.
func (s *sandbox) run(p *program, each bool, items []any, out *any) error {
	fnValue, err := s.vm.RunProgram(p.prg)
	if err != nil {
		return err
	}
	fn, ok := goja.AssertFunction(fnValue)
	if !ok {
		return &node.Error{Code: CodeSyntaxError, Message: "code: is not a function body: it closes the function it is wrapped in"}
	}
	x := &exporter{s: s, limit: s.lim.maxOutput}
	if !each {
		v, err := fn(goja.Undefined())
		if err != nil {
			return err
		}
		return s.call(func() { *out = x.export(s.settle(v), "output", 0) })
	}
	results := make([]any, 0, len(items))
	for i, item := range items {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		var arg goja.Value
		if err := s.call(func() { arg = s.toJS(item, 0) }); err != nil {
			return err
		}
		v, err := fn(goja.Undefined(), arg, s.vm.ToValue(i))
		if err != nil {
			return &elementError{index: i, err: err}
		}
		var r any
		if err := s.call(func() { r = x.export(s.settle(v), fmt.Sprintf("output[%d]", i), 0) }); err != nil {
			return &elementError{index: i, err: err}
		}
		results = append(results, r)
	}
	*out = results
	return nil
}

// settle returns the value of a settled Promise, throws its rejection, and refuses one still pending:
// the sandbox has no timers or I/O, so a Promise settles while the function runs or never.
func (s *sandbox) settle(v goja.Value) goja.Value {
	obj, ok := v.(*goja.Object)
	if !ok {
		return v
	}
	p, ok := obj.Export().(*goja.Promise)
	if !ok {
		return v
	}
	switch p.State() {
	case goja.PromiseStateFulfilled:
		return p.Result()
	case goja.PromiseStateRejected:
		panic(p.Result())
	}
	panic(&OutputError{Path: "output", Message: "is a Promise that never settled: the sandbox has no timers or I/O to wait for"})
}

// stopError is the node error for a script the watcher interrupted.
func stopError(ctx context.Context, s *stop) error {
	switch s.code {
	case "canceled":
		return ctx.Err()
	case "budget_exceeded":
		return s.err
	case CodeTimeout:
		return &node.Error{Code: CodeTimeout, Message: s.message}
	}
	return node.Permanent(&node.Error{Code: s.code, Message: s.message})
}

// elementError is a failure while running the code for one element in mode each.
type elementError struct {
	index int
	err   error
}

func (e *elementError) Error() string { return fmt.Sprintf("element %d: %v", e.index, e.err) }
func (e *elementError) Unwrap() error { return e.err }

// scriptError turns what the run returned into the node's error, with the position of the failure in
// the user's code.
func (s *sandbox) scriptError(p *program, err error) error {
	var ee *elementError
	if errors.As(err, &ee) {
		out := s.scriptError(p, ee.err)
		var ne *node.Error
		if errors.As(out, &ne) {
			return node.Permanent(&node.Error{Code: ne.Code, Message: fmt.Sprintf("element %d: %s", ee.index, ne.Message), Details: ne.Details})
		}
		return out
	}
	var ne *node.Error
	if errors.As(err, &ne) {
		return node.Permanent(err)
	}
	var oe *OutputError
	if errors.As(err, &oe) {
		return node.Permanent(&node.Error{Code: CodeInvalidOutput, Message: oe.Error()})
	}
	var se *sizeError
	if errors.As(err, &se) {
		return node.Permanent(&node.Error{Code: CodeOutputTooLarge, Message: se.Error()})
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		msg := fmt.Sprintf("maximum call stack size exceeded (%d frames): is a function recursing without end?", s.lim.stackFrames)
		line, col, stack := position(p, so.Stack())
		return node.Permanent(scriptErr(msg, line, col, stack))
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		line, col, stack := position(p, ex.Stack())
		return node.Permanent(scriptErr(s.describe(ex.Value()), line, col, stack))
	}
	return node.Permanent(&node.Error{Code: CodeScriptError, Message: "the script failed: " + err.Error()})
}

// describe renders a thrown value: an Error as "Name: message", anything else as text. It reads
// properties without calling the script's code.
func (s *sandbox) describe(v goja.Value) string {
	obj, ok := v.(*goja.Object)
	if !ok {
		if v == nil {
			return "undefined"
		}
		return "Uncaught " + v.String()
	}
	var msg string
	_ = s.call(func() {
		name, message := obj.Get("name"), obj.Get("message")
		if message != nil && !goja.IsUndefined(message) {
			msg = message.String()
			if name != nil && !goja.IsUndefined(name) && name.String() != "" {
				msg = name.String() + ": " + msg
			}
			return
		}
		var b strings.Builder
		s.format(&b, obj, 1)
		msg = "Uncaught " + b.String()
	})
	if len(msg) > s.lim.maxLogBytes {
		msg = msg[:s.lim.maxLogBytes] + "…"
	}
	return msg
}

func scriptErr(msg string, line, col int, stack []string) *node.Error {
	details := map[string]any{}
	if line > 0 {
		msg = fmt.Sprintf("%s (line %d, column %d)", msg, line, col)
		details["line"], details["column"] = line, col
	}
	if len(stack) > 0 {
		details["stack"] = stack
	}
	return &node.Error{Code: CodeScriptError, Message: msg, Details: details}
}

// position returns the line and column of the innermost frame in the user's code, and the stack
// (at most 20 frames) as "at name (line:column)".
func position(p *program, frames []goja.StackFrame) (line, col int, stack []string) {
	for _, f := range frames {
		if f.SrcName() != scriptName {
			continue
		}
		pos := f.Position()
		l, c := shift(pos.Line, pos.Column, p.prefixLen)
		if line == 0 {
			line, col = l, c
		}
		if len(stack) < 20 {
			name := f.FuncName()
			if name == "" {
				name = "<anonymous>"
			}
			stack = append(stack, fmt.Sprintf("at %s (%d:%d)", name, l, c))
		}
	}
	return line, col, stack
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, int, int64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

var (
	_ node.Node      = (*Code)(nil)
	_ node.Validator = (*Code)(nil)
)
