package jscode

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
)

// recorder is a slog.Handler that keeps records, for the console tests.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.recs))
	for i, rec := range r.recs {
		out[i] = rec.Level.String() + " " + rec.Message
	}
	return out
}

type testBundle struct {
	typ  *Code
	logs *recorder
}

func setup(t *testing.T, cfg Config) *testBundle {
	t.Helper()
	if cfg.Timeout == 0 {
		// Generous: the race detector slows goja down a lot.
		cfg.Timeout = 20 * time.Second
	}
	if cfg.MaxMemory == 0 {
		// Tests run in parallel and share the process heap: leave room for the others.
		cfg.MaxMemory = 1 << 30
	}
	return &testBundle{typ: New(cfg).(*Code), logs: &recorder{}}
}

// node returns a node of the bundle's type holding code, validated as the engine would.
func (b *testBundle) node(t *testing.T, code, mode string) (*Code, error) {
	t.Helper()
	n := &Code{Code: code, Mode: mode, shared: b.typ.shared}
	return n, n.Validate()
}

func (b *testBundle) input(data any) *node.Input {
	return &node.Input{
		Data:    data,
		Trigger: map[string]any{"body": map[string]any{"user": "ada"}},
		Nodes: map[string]any{
			"fetch": map[string]any{"output": map[string]any{"items": []any{1.0, 2.0, 3.0}}, "status": "succeeded"},
		},
		Vars:      map[string]any{"rate": 0.2},
		Execution: node.ExecutionInfo{ExecutionID: "ex1", WorkflowID: "wf1", WorkflowVersion: 3, NodeID: "code", Attempt: 1},
		Logger:    slog.New(b.logs),
		Limits:    node.Limits{MaxOutputBytes: 16 << 20, Memory: budget.NewMemory(1 << 30).Open()},
	}
}

func (b *testBundle) run(t *testing.T, code string, data any) (any, error) {
	t.Helper()
	return b.runMode(t, code, "", data)
}

func (b *testBundle) runMode(t *testing.T, code, mode string, data any) (any, error) {
	t.Helper()
	n, err := b.node(t, code, mode)
	require.NoError(t, err)
	out, err := n.Execute(context.Background(), b.input(data))
	if err != nil {
		return nil, err
	}
	require.Equal(t, "out", out.Port)
	return out.Value, nil
}

// nodeError returns the *node.Error inside err.
func nodeError(t *testing.T, err error) *node.Error {
	t.Helper()
	require.Error(t, err)
	var ne *node.Error
	require.True(t, errors.As(err, &ne), "want a *node.Error, got %T: %v", err, err)
	return ne
}

func TestCodeHappyPaths(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		code string
		mode string
		data any
		want any
	}{
		{name: "Array", code: `return input.map(x => x * 2)`, data: []any{1.0, 2.0}, want: []any{int64(2), int64(4)}},
		{name: "AsyncBody", code: `const v = await Promise.resolve(input.a); return v + 1`, data: map[string]any{"a": 1.0}, want: int64(2)},
		{name: "BracesInStrings", code: "return `{{ not a template }}` + '{{x}}'", want: "{{ not a template }}{{x}}"},
		{name: "Date", code: `return new Date(Date.UTC(2026, 0, 2, 3, 4, 5))`, want: "2026-01-02T03:04:05Z"},
		{name: "EachMode", code: `return {...item, line: index + 1}`, mode: "each", data: []any{map[string]any{"a": 1.0}, map[string]any{"a": 2.0}},
			want: []any{map[string]any{"a": int64(1), "line": int64(1)}, map[string]any{"a": int64(2), "line": int64(2)}}},
		{name: "Execution", code: `return execution`, want: map[string]any{"id": "ex1", "workflowId": "wf1", "workflowVersion": int64(3), "nodeId": "code", "attempt": int64(1)}},
		{name: "FrozenCopyIsUsable", code: `return {...input, c: 3, keys: Object.keys(input), json: JSON.stringify(input)}`, data: map[string]any{"a": 1.0, "b": "x"},
			want: map[string]any{"a": int64(1), "b": "x", "c": int64(3), "keys": []any{"a", "b"}, "json": `{"a":1,"b":"x"}`}},
		{name: "Getter", code: `return {get a() { return 1 }}`, want: map[string]any{"a": int64(1)}},
		{name: "NaNAndUndefined", code: `return {n: NaN, i: Infinity, u: undefined, list: [undefined, NaN]}`, want: map[string]any{"n": nil, "i": nil, "list": []any{nil, nil}}},
		{name: "Nodes", code: `return nodes.fetch.output.items.reduce((a, b) => a + b, 0) + (nodes.fetch.status === 'succeeded' ? 100 : 0)`, want: int64(106)},
		{name: "NoReturnIsNull", code: `const x = 1`, want: nil},
		{name: "Object", code: `return {sum: input.a + input.b}`, data: map[string]any{"a": 1.0, "b": 2.0}, want: map[string]any{"sum": int64(3)}},
		{name: "RegExpAndString", code: `return 'a-b-c'.split('-').map(s => s.toUpperCase()).join('+').replace(/(\w)\+/g, '$1,')`, want: "A,B,C"},
		{name: "ReplacementPatternsOnLargeInput", code: `return 'ab'.repeat(200000).replace(/(a)(b)/g, '$2$1').slice(0, 6)`, want: "bababa"},
		{name: "SymbolKeysIgnored", code: `return {[Symbol.for('k')]: 1, a: 2}`, want: map[string]any{"a": int64(2)}},
		{name: "Trigger", code: `return trigger.body.user`, want: "ada"},
		{name: "Vars", code: `return 100 * vars.rate`, want: int64(20)},
		{name: "WrapperObjects", code: `return [new Number(5), new String('s'), new Boolean(true)]`, want: []any{int64(5), "s", true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{})
			got, err := b.runMode(t, tt.code, tt.mode, tt.data)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCodeConsole(t *testing.T) {
	t.Parallel()

	t.Run("Captured", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Config{})
		_, err := b.run(t, `console.log('hi', {a: 1, b: [1, 'x']}, null); console.warn('careful'); console.error(new Error('bad')); return 1`, nil)
		require.NoError(t, err)
		require.Equal(t, []string{`INFO hi {a: 1, b: [1, "x"]} null`, "WARN careful", "ERROR Error: bad"}, b.logs.messages())
	})
	t.Run("Bounded", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Config{})
		_, err := b.run(t, `for (let i = 0; i < 1000; i++) console.log('x'.repeat(10000)); return 1`, nil)
		require.NoError(t, err)
		msgs := b.logs.messages()
		require.Len(t, msgs, MaxLogsDefault+1)
		require.LessOrEqual(t, len(msgs[0]), MaxLogBytesDefault+16)
		require.Contains(t, msgs[MaxLogsDefault], "the rest are dropped")
	})
}

func TestCodeValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		code string
		want string
	}{
		{name: "Empty", code: "  \n", want: "code: is empty"},
		{name: "EndsEarly", code: "const a = 1\nreturn a +", want: "code: syntax error at line 2, column 11: unexpected end of code"},
		{name: "Nesting", code: strings.Repeat("(", 600) + "1" + strings.Repeat(")", 600), want: "brackets nest more than 500 levels deep"},
		{name: "Redeclared", code: "let a = 1\nlet a = 2", want: "code: syntax error at line 2"},
		{name: "SyntaxError", code: "const a = 1;\nconst b = ;", want: "code: syntax error at line 2, column 11: Unexpected token ;"},
		{name: "TooLong", code: "//" + strings.Repeat("x", MaxSourceBytes), want: "over the limit"},
		{name: "WithInStrictMode", code: "with (input) { return a }", want: "code: syntax error at line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{})
			_, err := b.node(t, tt.code, "")
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}

	t.Run("Schema", func(t *testing.T) {
		t.Parallel()
		reg := node.NewRegistry()
		reg.MustRegister(New(Config{}))
		typ, ok := reg.Lookup(TypeName)
		require.True(t, ok)
		errs := typ.ValidateConfig(map[string]any{"code": "", "mode": "sometimes", "extra": 1}, true)
		pointers := []string{}
		for _, e := range errs {
			pointers = append(pointers, e.Pointer)
		}
		require.ElementsMatch(t, []string{"/code", "/mode", ""}, pointers)
		// A long code holding "{{" is still checked: code is a Raw key, never a template.
		errs = typ.ValidateConfig(map[string]any{"code": "{{" + strings.Repeat("x", MaxSourceBytes)}, true)
		require.Len(t, errs, 1)
		require.Equal(t, "/code", errs[0].Pointer)
		require.True(t, typ.IsRaw("code"))
	})
}

func TestCodeRuntimeErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		code    string
		mode    string
		data    any
		code_   string
		message string
		line    int
		column  int
	}{
		{name: "BigInt", code: `return {n: 10n}`, code_: CodeInvalidOutput, message: "output.n is a BigInt"},
		{name: "Cycle", code: `const o = {a: {}}; o.a.o = o; return o`, code_: CodeInvalidOutput, message: "output.a.o refers back"},
		{name: "EachNeedsArray", code: `return item`, mode: "each", data: map[string]any{}, code_: CodeNotArray, message: "got an object"},
		{name: "EachReportsElement", code: `if (index === 1) throw new Error('second'); return 1`, mode: "each", data: []any{1.0, 2.0}, code_: CodeScriptError, message: "element 1: Error: second", line: 1, column: 24},
		{name: "Function", code: `return {list: [1, () => 2]}`, code_: CodeInvalidOutput, message: "output.list[1] is a function"},
		{name: "GetterThrows", code: `return {get a() { throw new TypeError('no') }}`, code_: CodeScriptError, message: "TypeError: no", line: 1, column: 25},
		{name: "Map", code: `return new Map()`, code_: CodeInvalidOutput, message: "Object.fromEntries"},
		{name: "PendingPromise", code: `return new Promise(() => {})`, code_: CodeInvalidOutput, message: "never settled"},
		{name: "ReferenceError", code: "const a = 1\nreturn missing + a", code_: CodeScriptError, message: "ReferenceError: missing is not defined", line: 2, column: 8},
		{name: "RejectedPromise", code: `await null; throw new RangeError('later')`, code_: CodeScriptError, message: "RangeError: later"},
		{name: "Set", code: `return {s: new Set([1])}`, code_: CodeInvalidOutput, message: "output.s is a Set"},
		{name: "Symbol", code: `return Symbol.for('x')`, code_: CodeInvalidOutput, message: "output is a Symbol"},
		{name: "ThrowString", code: `throw 'boom'`, code_: CodeScriptError, message: "Uncaught boom"},
		{name: "ThrownError", code: "const x = 1\n  throw new Error('boom ' + x)", code_: CodeScriptError, message: "Error: boom 1 (line 2, column 9)", line: 2, column: 9},
		{name: "WriteToInput", code: `input.a = 2`, data: map[string]any{"a": 1.0}, code_: CodeScriptError, message: "TypeError: Cannot assign to read only property 'a'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{})
			_, err := b.runMode(t, tt.code, tt.mode, tt.data)
			ne := nodeError(t, err)
			require.Equal(t, tt.code_, ne.Code, ne.Message)
			require.Contains(t, ne.Message, tt.message)
			require.True(t, node.IsPermanent(err))
			if tt.line > 0 {
				details, ok := ne.Details.(map[string]any)
				require.True(t, ok)
				require.Equal(t, tt.line, details["line"])
				require.Equal(t, tt.column, details["column"])
				require.NotEmpty(t, details["stack"])
			}
		})
	}
}

// TestCodeEscapes runs the shapes that escaped other code sandboxes. Each must stay inside: the host's
// objects do not exist in the runtime, and nothing a run changes is seen by the next.
func TestCodeEscapes(t *testing.T) {
	t.Parallel()

	hostNames := `['process', 'require', 'module', 'exports', 'global', 'Buffer', 'setTimeout', 'setInterval', 'setImmediate',
		'queueMicrotask', 'fetch', 'XMLHttpRequest', 'WebSocket', 'Deno', 'Bun', 'os', 'fs', 'ArrayBuffer', 'Uint8Array', 'SharedArrayBuffer']`
	tests := []struct {
		name string
		code string
		want any
		// err, when set, is the message the run must fail with instead.
		err string
	}{
		{name: "AsyncFunctionConstructor", code: `return await (async function(){}).constructor('return typeof process')()`, want: "undefined"},
		// CVE-2025-68613: an expression reached Node's process through the constructor chain.
		{name: "ConstructorChain", code: `return input.constructor.constructor('return typeof process')()`, want: "undefined"},
		{name: "ConstructorChainProcess", code: `return Function("return this.constructor.constructor('return process')()")()`, err: "ReferenceError: process is not defined"},
		// The fix for CVE-2025-68613 was bypassed with template literals as property names.
		{name: "ConstructorTemplateLiteral", code: "return ({})[`constructor`][`constructor`]('return typeof require')()", want: "undefined"},
		{name: "ConsoleConstructor", code: `return console.log.constructor('return typeof process')()`, want: "undefined"},
		{name: "Eval", code: `return eval('typeof require') + (0, eval)('typeof process')`, want: "undefinedundefined"},
		{name: "FunctionReturnThis", code: `const g = Function('return this')(); return ` + hostNames + `.filter(k => k in g)`, want: []any{}},
		{name: "GeneratorConstructor", code: `return (function*(){}).constructor('yield typeof process')().next().value`, want: "undefined"},
		{name: "GetPrototypeOf", code: `return Object.getPrototypeOf(Object.getPrototypeOf(console.log)).constructor.constructor('return typeof process')()`, want: "undefined"},
		{name: "GlobalDescriptorGetter", code: `const d = Object.getOwnPropertyDescriptor(globalThis, 'input'); return [typeof d.get, d.set, d.configurable, d.get() === input]`, want: []any{"function", nil, false, true}},
		{name: "GlobalsReadOnly", code: `try { globalThis.input = 1 } catch (e) { return [e.name, delete globalThis.nodes, Object.isFrozen(nodes), Object.isFrozen(console)] }`, err: "TypeError: Cannot delete property 'nodes'"},
		{name: "NoHostGlobals", code: `return ` + hostNames + `.filter(k => typeof globalThis[k] !== 'undefined')`, want: []any{}},
		{name: "ProtoOfFrozenInput", code: `input.__proto__.polluted = 1; return [({}).polluted, Object.isFrozen(input), Object.isFrozen(input.list)]`, want: []any{int64(1), true, true}},
		{name: "ProxyOnInput", code: `const p = new Proxy(input, {}); p.a = 2`, err: "TypeError"},
		{name: "ReflectOnInput", code: `return [Reflect.set(input, 'a', 5), Reflect.defineProperty(input, 'z', {value: 1}), Reflect.deleteProperty(input, 'a'), input.a, Reflect.setPrototypeOf(input, null)]`, want: []any{false, false, false, int64(1), false}},
		// A source map comment makes goja's parser read the named file; /dev/zero would never end.
		{name: "SourceMapInCode", code: "return 1\n//# sourceMappingURL=/dev/zero", want: int64(1)},
		{name: "SourceMapInFunction", code: `return Function('return 2\n//# sourceMappingURL=/dev/zero')() + eval('1\n//# sourceMappingURL=/dev/zero')`, want: int64(3)},
		{name: "ToJSONNotCalledOnOutput", code: `class A { constructor() { this.a = 1 } toJSON() { while (true) {} } } return new A()`, want: map[string]any{"a": int64(1)}},
		{name: "ValueOfNotCalledOnOutput", code: `const n = new Number(5); n.valueOf = () => { while (true) {} }; class B { valueOf() { while (true) {} } } return [n, new B()]`, want: []any{int64(5), map[string]any{}}},
		// CVE-2026-1470: the with statement turned constructor into a plain identifier that an AST
		// check did not see. Strict code refuses with; Function bodies are sloppy, so it runs, and
		// still finds only the sandbox.
		{name: "WithStatement", code: `return Function("with (function(){}) { return constructor('return typeof process + typeof require')() }")()`, want: "undefinedundefined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{})
			data := map[string]any{"a": 1.0, "list": []any{1.0}}
			got, err := b.run(t, tt.code, data)
			if tt.err != "" {
				require.Contains(t, nodeError(t, err).Message, tt.err)
			} else {
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
			}
			require.Equal(t, map[string]any{"a": 1.0, "list": []any{1.0}}, data, "the run's data is unchanged")
		})
	}

	t.Run("NothingLeaksIntoTheNextRun", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Config{})
		_, err := b.run(t, `Object.prototype.polluted = 'yes'; ({}).__proto__.also = 1; Array.prototype.push = null;
			JSON.parse = () => 'hijacked'; globalThis.leak = input.secret; Symbol.for('shared').description; return 1`,
			map[string]any{"secret": "s3cret"})
		require.NoError(t, err)
		got, err := b.run(t, `return [({}).polluted, ({}).also, typeof [].push, JSON.parse('1'), typeof leak]`, nil)
		require.NoError(t, err)
		require.Equal(t, []any{nil, nil, "function", int64(1), "undefined"}, got)
	})
}

// TestCodeBounds shows each bound holds: the script is stopped with a clear error and the process
// goes on. It is not parallel: the memory bound reads the process heap, which other tests would move.
func TestCodeBounds(t *testing.T) { //nolint:paralleltest // the memory watcher measures the whole process heap
	tests := []struct {
		name    string
		code    string
		timeout time.Duration
		code_   string
		message string
	}{
		{name: "ApplyArrayLike", code: `return Math.max.apply(null, {length: 1e9})`, code_: CodeScriptError, message: "Function.prototype.apply: the arguments has a length of 1000000000"},
		{name: "ArrayFill", code: `return new Array(1e9).fill(0).length`, code_: CodeScriptError, message: "RangeError: Array.prototype.fill: the array has a length of 1000000000"},
		{name: "ArrayFromLength", code: `return Array.from({length: 1e9}).length`, code_: CodeScriptError, message: "Array.from: the array-like has a length of 1000000000"},
		{name: "ArrayJoin", code: `return new Array(1e9).join('x')`, code_: CodeScriptError, message: "Array.prototype.join: the array has a length"},
		{name: "BusyLoop", code: `while (true) {}`, timeout: 200 * time.Millisecond, code_: CodeTimeout, message: "CM_CODE_TIMEOUT"},
		{name: "DeepRecursion", code: `function f(n) { return f(n + 1) + 1 } return f(0)`, code_: CodeScriptError, message: "maximum call stack size exceeded"},
		{name: "DeepRecursionThroughNative", code: `function f() { return [1].map(f) } return f()`, code_: CodeScriptError, message: "maximum call stack size exceeded"},
		{name: "GetterLoopsOnOutput", code: `return {get a() { while (true) {} }}`, timeout: 200 * time.Millisecond, code_: CodeTimeout, message: "time limit"},
		{name: "GrowingArray", code: `const a = []; for (;;) { a.push({n: a.length}) }`, code_: CodeMemoryExceeded, message: "CM_CODE_MAX_MEMORY"},
		{name: "JoinOfBigStrings", code: `const s = 'x'.repeat(1 << 20); return new Array(100).fill(s).join('')`, code_: CodeScriptError, message: "Array.prototype.join would build a string"},
		{name: "JSONParseDeep", code: `return JSON.parse('['.repeat(100000) + ']'.repeat(100000))`, code_: CodeScriptError, message: "JSON.parse: the text nests more than 200 levels"},
		{name: "JSONStringifyHuge", code: `return JSON.stringify(new Array(1e8))`, code_: CodeScriptError, message: "JSON.stringify would build a string"},
		{name: "JSONStringifyDeep", code: `let o = {}; for (let i = 0; i < 1000; i++) o = {o}; return JSON.stringify(o).length`, code_: CodeScriptError, message: "JSON.stringify: the value nests more than 200 levels"},
		{name: "JSONStringifyShared", code: `let o = [1]; for (let i = 0; i < 40; i++) o = [o, o]; return JSON.stringify(o).length`, code_: CodeScriptError, message: "JSON.stringify would build a string"},
		{name: "OutputDAG", code: `let o = {v: 'x'.repeat(10000)}; for (let i = 0; i < 40; i++) o = {a: o, b: o}; return o`, code_: CodeOutputTooLarge, message: "CM_MAX_OUTPUT_BYTES"},
		{name: "OutputDeep", code: `let o = {}; for (let i = 0; i < 1000; i++) o = {o}; return o`, code_: CodeInvalidOutput, message: "nests more than 200 levels deep"},
		{name: "OutputLarge", code: `const s = 'x'.repeat(1 << 20); return new Array(64).fill(s)`, code_: CodeOutputTooLarge, message: "output[15]"},
		{name: "PadStart", code: `return 'x'.padStart(1e9).length`, code_: CodeScriptError, message: "String.prototype.padStart would build a string of 1000000000"},
		{name: "ProxyTrapLoopsOnOutput", code: `return new Proxy({}, {ownKeys() { while (true) {} }})`, timeout: 200 * time.Millisecond, code_: CodeTimeout, message: "time limit"},
		{name: "Repeat", code: `return 'a'.repeat(1e9).length`, code_: CodeScriptError, message: "RangeError: String.prototype.repeat would build a string of 1000000000 characters"},
		{name: "ReplaceAllGrows", code: `return 'x'.repeat(2e5).replaceAll('x', 'y'.repeat(100)).length`, code_: CodeScriptError, message: "String.prototype.replaceAll would build a string"},
		{name: "Spread", code: `return [...new Array(1e9)].length`, code_: CodeScriptError, message: "Array.prototype.values: the array has a length of 1000000000"},
		{name: "StringDoubling", code: `let s = 'x'; for (;;) s = s + s`, code_: CodeMemoryExceeded, message: "CM_CODE_MAX_MEMORY"},
		{name: "TypedArraysGone", code: `return new Uint8Array(1e9)`, code_: CodeScriptError, message: "ReferenceError: Uint8Array is not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t, Config{Timeout: tt.timeout, MaxMemory: 64 << 20})
			start := time.Now()
			_, err := b.run(t, tt.code, nil)
			ne := nodeError(t, err)
			require.Equal(t, tt.code_, ne.Code, ne.Message)
			require.Contains(t, ne.Message, tt.message)
			t.Logf("%s stopped after %s: %s", tt.name, time.Since(start).Round(time.Millisecond), ne.Message)
		})
	}

	t.Run("Cancel", func(t *testing.T) {
		b := setup(t, Config{})
		n, err := b.node(t, `while (true) {}`, "")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		in := b.input(nil)
		in.Logger = slog.New(&cancelOnLog{cancel: cancel})
		n.Code = `console.log('started'); while (true) {}`
		_, err = n.Execute(ctx, in)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("NodeTimeout", func(t *testing.T) {
		b := setup(t, Config{})
		n, err := b.node(t, `for (;;) {}`, "")
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err = n.Execute(ctx, b.input(nil))
		ne := nodeError(t, err)
		require.Equal(t, CodeTimeout, ne.Code)
		require.False(t, node.IsPermanent(err), "a timeout may be retried")
	})
	t.Run("ExecutionBudget", func(t *testing.T) {
		b := setup(t, Config{MaxMemory: 256 << 20, Timeout: 2 * time.Minute}) // the budget, not the clock, must stop it, also under -race on loaded cores
		n, err := b.node(t, `const a = []; for (;;) { a.push({n: a.length}) }`, "")
		require.NoError(t, err)
		in := b.input(nil)
		in.Limits.Memory = budget.NewMemory(8 << 20).Open()
		_, err = n.Execute(context.Background(), in)
		require.ErrorIs(t, err, budget.ErrExceeded)
	})
	t.Run("InputOverMemoryLimit", func(t *testing.T) {
		b := setup(t, Config{MaxMemory: 1 << 20})
		big := strings.Repeat("x", 2<<20)
		got, err := b.run(t, `return 1`, big)
		require.NoError(t, err, "data the script does not read is not copied")
		require.Equal(t, int64(1), got)
		_, err = b.run(t, `return input.length`, big)
		ne := nodeError(t, err)
		require.Equal(t, CodeMemoryExceeded, ne.Code)
		require.Contains(t, ne.Message, "input is larger than the script's memory limit of 1 MiB")
	})
	t.Run("InputOverExecutionBudget", func(t *testing.T) {
		b := setup(t, Config{})
		n, err := b.node(t, `return input.length`, "")
		require.NoError(t, err)
		in := b.input(strings.Repeat("x", 3<<20))
		in.Limits.Memory = budget.NewMemory(8 << 20).Open()
		_, err = n.Execute(context.Background(), in)
		require.ErrorIs(t, err, budget.ErrExceeded, "a copy takes about four times its JSON size")
	})
	t.Run("BacktrackingRegExpGivesUp", func(t *testing.T) {
		b := setup(t, Config{})
		start := time.Now()
		got, err := b.run(t, `return /(a+)+\1b/.test('a'.repeat(40))`, nil)
		require.NoError(t, err)
		require.Equal(t, false, got)
		require.Less(t, time.Since(start), 10*time.Second)
	})
}

// cancelOnLog cancels a context when the script logs, so that the test cancels a running script
// without sleeping.
type cancelOnLog struct{ cancel context.CancelFunc }

func (c *cancelOnLog) Enabled(context.Context, slog.Level) bool { return true }
func (c *cancelOnLog) Handle(context.Context, slog.Record) error {
	c.cancel()
	return nil
}
func (c *cancelOnLog) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *cancelOnLog) WithGroup(string) slog.Handler      { return c }

func TestProgramCache(t *testing.T) {
	t.Parallel()
	c := newCompiler(2)
	p1, err := c.compile("return 1")
	require.NoError(t, err)
	p2, err := c.compile("return 1")
	require.NoError(t, err)
	require.Same(t, p1, p2, "compiled once")
	for _, src := range []string{"return 2", "return 3"} {
		_, err = c.compile(src)
		require.NoError(t, err)
	}
	require.Equal(t, 2, c.cache.Len(), "bounded")
}
