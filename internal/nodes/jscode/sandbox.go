package jscode

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
)

// limits are one run's bounds, derived from the node type's Config.
type limits struct {
	maxMemory   int64
	maxString   int64
	maxArray    int64
	maxOutput   int64
	stackFrames int
	maxLogs     int
	maxLogBytes int
}

// sandbox is one run's runtime: a fresh goja.Runtime with the guards and globals installed.
type sandbox struct {
	vm  *goja.Runtime
	lim *limits
	ctx context.Context
	log *slog.Logger

	objectFreeze  goja.Callable
	arrayIsArray  goja.Callable
	stringValueOf goja.Callable

	logs        int
	logsDropped bool
	// memory is the execution's budget, charged with the copies of the run's data the script reads.
	memory node.Memory
	// failure, when set, is why the sandbox interrupted the script itself.
	failure error
}

// charge reserves, before the copy of v is made, what a JavaScript copy of it takes: a few times its
// JSON size, within the script's memory limit and the execution's budget.
func (s *sandbox) charge(name string, v any) error {
	size, ok := expression.SizeAtMost(v, s.lim.maxMemory)
	if !ok {
		return node.Permanent(&node.Error{Code: CodeMemoryExceeded, Message: fmt.Sprintf(
			"%s is larger than the script's memory limit of %s (CM_CODE_MAX_MEMORY)", name, budget.Bytes(s.lim.maxMemory))})
	}
	if s.memory == nil {
		return nil
	}
	return s.memory.Reserve(4 * size)
}

// abort stops the script with err, which becomes the node's error.
func (s *sandbox) abort(err error) {
	if s.failure == nil {
		s.failure = err
	}
	s.vm.Interrupt(err)
}

// newSandbox builds the runtime for one run of the node.
func newSandbox(ctx context.Context, lim *limits, in *node.Input) *sandbox {
	vm := goja.New()
	// eval and Function parse code at run time: never with source maps, which the parser would
	// otherwise read from the file system.
	vm.SetParserOptions(parser.WithDisableSourceMaps)
	vm.SetMaxCallStackSize(lim.stackFrames)
	s := &sandbox{vm: vm, lim: lim, ctx: ctx, log: in.Logger, memory: in.Limits.Memory}
	object := vm.Get("Object").ToObject(vm)
	s.objectFreeze, _ = goja.AssertFunction(object.Get("freeze"))
	s.arrayIsArray, _ = goja.AssertFunction(vm.Get("Array").ToObject(vm).Get("isArray"))
	s.stringValueOf, _ = goja.AssertFunction(vm.Get("String").ToObject(vm).Get("prototype").ToObject(vm).Get("valueOf"))
	s.installGuards()
	s.installGlobals(in)
	return s
}

// installGlobals defines input, trigger, nodes, vars, execution and console. The data globals are
// copied into frozen JavaScript values the first time the script reads them.
func (s *sandbox) installGlobals(in *node.Input) {
	global := s.vm.GlobalObject()
	s.lazyGlobal(global, "input", "input", func() any { return in.Data })
	s.lazyGlobal(global, "trigger", "trigger", func() any { return in.Trigger })
	vars := in.Vars
	if vars == nil {
		vars = map[string]any{}
	}
	s.lazyGlobal(global, "vars", "vars", func() any { return vars })

	nodes := s.vm.NewObject()
	ids := make([]string, 0, len(in.Nodes))
	for id := range in.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		v := in.Nodes[id]
		s.lazyGlobal(nodes, id, "nodes."+id, func() any { return v })
	}
	s.freeze(nodes)
	_ = global.DefineDataProperty("nodes", nodes, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)

	e := in.Execution
	execution := s.toJS(map[string]any{
		"id": e.ExecutionID, "workflowId": e.WorkflowID, "workflowVersion": e.WorkflowVersion,
		"nodeId": e.NodeID, "attempt": e.Attempt,
	}, 0)
	_ = global.DefineDataProperty("execution", execution, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)

	console := s.vm.NewObject()
	for name, level := range map[string]slog.Level{
		"log": slog.LevelInfo, "info": slog.LevelInfo, "debug": slog.LevelDebug,
		"warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		_ = console.Set(name, func(call goja.FunctionCall) goja.Value {
			s.console(level, call.Arguments)
			return goja.Undefined()
		})
	}
	s.freeze(console)
	_ = global.DefineDataProperty("console", console, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
}

// lazyGlobal defines obj[name] as a read-only property whose value, a frozen copy of get(), is made
// (and charged to the execution's budget) on first read; label names it in errors.
func (s *sandbox) lazyGlobal(obj *goja.Object, name, label string, get func() any) {
	var cached goja.Value
	getter := s.vm.ToValue(func(goja.FunctionCall) goja.Value {
		if cached == nil {
			v := get()
			if err := s.charge(label, v); err != nil {
				s.abort(err)
				return goja.Undefined()
			}
			cached = s.toJS(v, 0)
		}
		return cached
	})
	_ = obj.DefineAccessorProperty(name, getter, nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
}

// console writes one console call into the node's logs, bounded in count and size.
func (s *sandbox) console(level slog.Level, args []goja.Value) {
	if s.log == nil {
		return
	}
	if s.logs >= s.lim.maxLogs {
		if !s.logsDropped {
			s.logsDropped = true
			s.log.Log(s.ctx, slog.LevelWarn, fmt.Sprintf("console: more than %d messages; the rest are dropped", s.lim.maxLogs), "source", "console")
		}
		return
	}
	s.logs++
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		s.format(&b, a, 0)
		if b.Len() > s.lim.maxLogBytes {
			break
		}
	}
	msg := b.String()
	if len(msg) > s.lim.maxLogBytes {
		msg = msg[:s.lim.maxLogBytes] + "…"
	}
	s.log.Log(s.ctx, level, msg, "source", "console")
}

// format writes a readable, bounded rendering of v: strings as they are at the top level, other
// values much as JSON, with functions, cycles and deep values abbreviated.
func (s *sandbox) format(b *strings.Builder, v goja.Value, depth int) {
	if b.Len() > s.lim.maxLogBytes {
		return
	}
	switch {
	case v == nil || goja.IsUndefined(v):
		b.WriteString("undefined")
		return
	case goja.IsNull(v):
		b.WriteString("null")
		return
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		if _, isSym := v.(*goja.Symbol); isSym {
			b.WriteString(v.String())
			return
		}
		if str, isStr := v.Export().(string); isStr {
			if depth == 0 {
				b.WriteString(str)
			} else {
				b.WriteString(strconv.Quote(str))
			}
			return
		}
		b.WriteString(v.String())
		return
	}
	if _, isFunc := goja.AssertFunction(obj); isFunc {
		b.WriteString("[Function]")
		return
	}
	switch obj.ClassName() {
	case "Date", "Error", "RegExp":
		b.WriteString(obj.String())
		return
	}
	if depth >= 3 {
		b.WriteString("[Object]")
		return
	}
	if isArray(s, obj) {
		n := s.lengthOf(obj)
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			if b.Len() > s.lim.maxLogBytes {
				break
			}
			s.format(b, obj.Get(strconv.FormatInt(i, 10)), depth+1)
		}
		b.WriteByte(']')
		return
	}
	b.WriteByte('{')
	for i, k := range obj.Keys() {
		if i > 0 {
			b.WriteString(", ")
		}
		if b.Len() > s.lim.maxLogBytes {
			break
		}
		b.WriteString(k)
		b.WriteString(": ")
		s.format(b, obj.Get(k), depth+1)
	}
	b.WriteByte('}')
}

// call runs f as a native function inside the VM, so that JavaScript exceptions, interrupts and stack
// overflows raised while it runs (by getters, proxies or toString methods) come back as errors.
func (s *sandbox) call(f func()) (err error) {
	defer func() {
		// The exporter's own errors are Go values, which goja passes through as panics.
		if p := recover(); p != nil {
			switch e := p.(type) {
			case *OutputError:
				err = e
			case *sizeError:
				err = e
			default:
				panic(p)
			}
		}
	}()
	fn, _ := goja.AssertFunction(s.vm.ToValue(func(goja.FunctionCall) goja.Value {
		f()
		return goja.Undefined()
	}))
	_, err = fn(goja.Undefined())
	return err
}
