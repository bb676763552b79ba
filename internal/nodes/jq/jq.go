// Package jq implements data.jq: jq programs (github.com/itchyny/gojq) over a node's input, bounded
// in time, steps and size.
package jq

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/itchyny/gojq"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
)

// Limits of data.jq.
const (
	// MaxProgramLength is the longest program, in bytes.
	MaxProgramLength = 16 << 10
	// TimeoutDefault is how long one run may take unless the node's own timeout is shorter.
	TimeoutDefault = 5 * time.Second
	// MaxStepsDefault is how many steps of gojq's virtual machine one run may take.
	MaxStepsDefault = 10_000_000
	// StepBytes is what each step is charged to the execution's memory budget: a step builds at
	// most a few small values (an array slot, a boxed number), so this bounds what a program that
	// keeps everything it builds can hold.
	StepBytes = 8
	// stepChunk is how many steps are charged at once.
	stepChunk = 1 << 16
	// maxCachedPatterns is how many different regular expressions a cached program may have
	// compiled (gojq keeps them with the program) before it is dropped from the cache.
	maxCachedPatterns = 64
	// MaxResults is the most values output "all" collects.
	MaxResults = 100_000
	// CacheSize is how many compiled programs are kept, least recently used first out.
	CacheSize = 128
	// maxValueDefault stands for CM_MAX_OUTPUT_BYTES when the attempt has no output limit (tests).
	maxValueDefault = 16 << 20
	// maxMessage is the longest error message kept from a program's error.
	maxMessage = 1024
)

// Output modes.
const (
	OutputFirst = "first"
	OutputAll   = "all"
)

// Config tunes data.jq; zero values take the defaults.
type Config struct {
	// Timeout bounds one run (default TimeoutDefault).
	Timeout time.Duration
	// MaxSteps bounds the virtual machine steps of one run (default MaxStepsDefault).
	MaxSteps int64
}

// shared is what every data.jq node of one registry shares: its configuration and its cache of
// compiled programs.
type shared struct {
	cfg   Config
	cache *lru.Cache[string, *program]
}

// program is a compiled program and the regular expressions its runs have used.
type program struct {
	code     *gojq.Code
	mu       sync.Mutex
	patterns map[[2]string]struct{}
}

// usedPatterns records the patterns of a run and reports whether the program still may be cached.
func (p *program) usedPatterns(st *runState) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range st.patterns {
		p.patterns[k] = struct{}{}
	}
	return len(p.patterns) <= maxCachedPatterns
}

// JQ runs a jq program over its input.
type JQ struct {
	// Program is the jq program.
	Program string `json:"program"`
	// Input is the value the program reads as "."; nil means the node's input.
	Input any `json:"input,omitempty"`
	// Output is first (default: the first value the program yields, null if none) or all (an array
	// of every value).
	Output string `json:"output,omitempty"`

	shared *shared
}

// New returns the data.jq prototype with its own cache of compiled programs.
func New(cfg Config) *JQ {
	if cfg.Timeout <= 0 {
		cfg.Timeout = TimeoutDefault
	}
	if cfg.MaxSteps <= 0 {
		cfg.MaxSteps = MaxStepsDefault
	}
	cache, err := lru.New[string, *program](CacheSize)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &JQ{shared: &shared{cfg: cfg, cache: cache}}
}

// All returns the node types of this package with the default configuration.
func All() []node.Node { return []node.Node{New(Config{})} }

//go:embed docs.md
var docs string

// NodeInfo describes data.jq.
func (j *JQ) NodeInfo() node.Info {
	s := j.shared
	return node.Info{
		Type: "data.jq", Pure: true, Title: "jq", Category: "Data", Icon: "braces",
		Description: "Runs a jq program over the input and outputs its first value or all of them.",
		Docs:        docs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "The value the program reads as ., unless input is set"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Result", Description: "The program's first value, or all of them"}},
		Schema: json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["program"],
  "properties": {
    "program": {"type": "string", "title": "Program", "description": "A jq program, run with . as the input", "minLength": 1, "maxLength": 16384,
      "examples": [".items | map(.id)", "[.orders[] | select(.total > 100) | {id, total}]"]},
    "input": {"title": "Input", "description": "The value the program reads as .; default: the node's input", "examples": ["{{ nodes.fetch.output.body }}"], "x-cm-expression": true},
    "output": {"type": "string", "title": "Output", "description": "first: the first value (null if none); all: an array of every value", "enum": ["first", "all"], "default": "first"}
  }
}`),
		New: func() node.Node { return &JQ{shared: s} },
	}
}

// Validate compiles the program (and keeps it compiled).
func (j *JQ) Validate() error {
	if _, _, err := j.compile(maxValueDefault); err != nil {
		return err
	}
	return nil
}

// compile parses the program, adds the guards, and compiles it once per source and value limit.
func (j *JQ) compile(maxValue int64) (*program, string, error) {
	if len(j.Program) > MaxProgramLength {
		return nil, "", fmt.Errorf("program: %s long, over the %s limit", budget.Bytes(int64(len(j.Program))), budget.Bytes(MaxProgramLength))
	}
	if !utf8.ValidString(j.Program) {
		return nil, "", errors.New("program: not valid UTF-8")
	}
	key := strconv.FormatInt(maxValue, 10) + "/" + j.Program
	if j.shared != nil {
		if p, ok := j.shared.cache.Get(key); ok {
			return p, key, nil
		}
	}
	code, err := compileProgram(j.Program, maxValue)
	if err != nil {
		return nil, "", err
	}
	p := &program{code: code, patterns: map[[2]string]struct{}{}}
	if j.shared != nil {
		j.shared.cache.Add(key, p)
	}
	return p, key, nil
}

func compileProgram(src string, maxValue int64) (*gojq.Code, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("program: %s", parseMessage(src, err))
	}
	w := &rewriter{names: map[string]bool{}}
	w.query(q)
	if w.err != nil {
		return nil, fmt.Errorf("program: %w", w.err)
	}
	if p := prelude(w.names); p != "" {
		pq, err := gojq.Parse(p + ".")
		if err != nil {
			panic(fmt.Sprintf("data.jq prelude does not parse: %v", err))
		}
		q.FuncDefs = append(pq.FuncDefs, q.FuncDefs...)
	}
	g := &guards{maxValue: maxValue}
	code, err := gojq.Compile(q, g.options()...)
	if err != nil {
		return nil, fmt.Errorf("program: %w", err)
	}
	return code, nil
}

// parseMessage adds the line and column of a parse error.
func parseMessage(src string, err error) string {
	var pe *gojq.ParseError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	offset := min(max(pe.Offset, 0), len(src))
	line, col := 1, 1
	for _, r := range src[:offset] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("%v (line %d, column %d)", err, line, col)
}

// errSteps is the cause of a run stopped for its step budget.
var errSteps = errors.New("step budget spent")

// stepContext counts gojq's steps: gojq asks for Done before each instruction of its virtual
// machine. Every stepChunk steps are charged to the memory budget, and the run is canceled once it
// has taken max steps or the budget refuses a charge.
type stepContext struct {
	context.Context
	n, max int64
	mem    node.Memory
	cancel context.CancelCauseFunc
}

func (c *stepContext) Done() <-chan struct{} {
	c.n++
	if c.n%stepChunk == 0 && c.mem != nil {
		if err := c.mem.Reserve(stepChunk * StepBytes); err != nil {
			c.cancel(err)
		}
	}
	if c.n == c.max {
		c.cancel(errSteps)
	}
	return c.Context.Done()
}

// Execute runs the program.
func (j *JQ) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	maxValue := in.Limits.MaxOutputBytes
	if maxValue <= 0 {
		maxValue = maxValueDefault
	}
	prog, key, err := j.compile(maxValue)
	if err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: "invalid_config", Message: err.Error()})
	}
	src := j.Input
	if src == nil {
		src = in.Data
	}
	if !expressionFits(src, maxValue) {
		return node.Output{}, node.Permanent(node.Errorf("output_too_large", "data.jq input is over the %s limit (CM_MAX_OUTPUT_BYTES)", budget.Bytes(maxValue)))
	}
	src = normalizeInput(src)

	cfg := Config{Timeout: TimeoutDefault, MaxSteps: MaxStepsDefault}
	if j.shared != nil {
		cfg = j.shared.cfg
	}
	runCtx, cancelTimeout := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("data.jq ran past its time budget of %s", cfg.Timeout))
	defer cancelTimeout()
	runCtx, cancel := context.WithCancelCause(runCtx)
	defer cancel(nil)
	steps := &stepContext{Context: runCtx, max: cfg.MaxSteps, mem: in.Limits.Memory, cancel: cancel}
	st := &runState{patterns: map[[2]string]struct{}{}}
	defer func() {
		if len(st.patterns) > 0 && !prog.usedPatterns(st) && j.shared != nil {
			j.shared.cache.Remove(key)
		}
	}()
	iter := prog.code.RunWithContext(steps, src, st)

	var results []any
	remaining := maxValue
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, isErr := v.(error); isErr {
			if stop := j.stopError(ctx, runCtx, cfg, err); stop != nil {
				return node.Output{}, stop
			}
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				break // halt: stop without an error
			}
			return node.Output{}, node.Permanent(&node.Error{Code: "jq_error", Message: "data.jq: " + truncate(err.Error())})
		}
		size, fits := expression.SizeAtMost(v, remaining)
		if !fits {
			return node.Output{}, node.Permanent(node.Errorf("output_too_large", "data.jq output is over the %s limit (CM_MAX_OUTPUT_BYTES)", budget.Bytes(maxValue)))
		}
		remaining -= size
		v = normalizeOutput(v)
		if j.Output != OutputAll {
			return node.Out(v), nil
		}
		if len(results) >= MaxResults {
			return node.Output{}, node.Permanent(node.Errorf("too_many_results", "data.jq yielded more than %d values", MaxResults))
		}
		results = append(results, v)
	}
	if j.Output != OutputAll {
		return node.Out(nil), nil
	}
	if results == nil {
		results = []any{}
	}
	return node.Out(results), nil
}

// stopError returns the failure of a run that was stopped: canceled from outside (the error as is),
// out of time or out of steps (permanent); nil when the run was not stopped.
func (j *JQ) stopError(ctx, runCtx context.Context, cfg Config, err error) error {
	if runCtx.Err() == nil {
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	cause := context.Cause(runCtx)
	if errors.Is(cause, budget.ErrExceeded) {
		return node.Permanent(fmt.Errorf("data.jq: %w", cause))
	}
	if errors.Is(cause, errSteps) {
		return node.Permanent(node.Errorf("budget_exceeded", "data.jq ran past its budget of %d steps", cfg.MaxSteps))
	}
	return node.Permanent(node.Errorf("timeout", "%v", cause))
}

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// expressionFits reports whether v's JSON size is at most limit.
func expressionFits(v any, limit int64) bool {
	_, ok := expression.SizeAtMost(v, limit)
	return ok
}

// normalizeInput returns v as gojq's value types: JSON values made of maps, slices, float64, int,
// strings, booleans and null. Anything else is converted through JSON.
func normalizeInput(v any) any {
	if plain(v, 0) {
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}

func plain(v any, depth int) bool {
	if depth > 10_000 {
		return false
	}
	switch x := v.(type) {
	case nil, bool, string, int:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case []any:
		for _, e := range x {
			if !plain(e, depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range x {
			if !plain(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// normalizeOutput replaces what JSON cannot hold, as jq prints it: NaN by null and infinities by
// the largest finite numbers. It copies only what it changes.
func normalizeOutput(v any) any {
	out, _ := normalize(v)
	return out
}

func normalize(v any) (any, bool) {
	switch x := v.(type) {
	case float64:
		switch {
		case math.IsNaN(x):
			return nil, true
		case math.IsInf(x, 1):
			return math.MaxFloat64, true
		case math.IsInf(x, -1):
			return -math.MaxFloat64, true
		}
	case []any:
		var out []any
		for i, e := range x {
			n, changed := normalize(e)
			if changed && out == nil {
				out = make([]any, len(x))
				copy(out, x)
			}
			if out != nil {
				out[i] = n
			}
		}
		if out != nil {
			return out, true
		}
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			n, changed := normalize(e)
			if changed && out == nil {
				out = make(map[string]any, len(x))
				for k2, e2 := range x {
					out[k2] = e2
				}
			}
			if out != nil {
				out[k] = n
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

var (
	_ node.Node      = (*JQ)(nil)
	_ node.Validator = (*JQ)(nil)
)
