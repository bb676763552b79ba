package pluginhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// hostModule is the import module name of the host functions a WebAssembly plugin may call.
const hostModule = "concertmaster"

// Bounds of the WebAssembly sandbox beyond the manifest's.
const (
	// initTimeout bounds a module's start (_initialize) when an instance is made.
	initTimeout = 10 * time.Second
	// maxConsoleBytes bounds what one call may write to stdout and stderr; it is kept as logs.
	maxConsoleBytes = 64 << 10
	// maxRequestBytes bounds a request written into a module's memory.
	maxRequestBytes = 64 << 20
)

// abi is how the host talks to a module.
type abi int

const (
	// abiReactor: a module with _initialize, cm_alloc and cm_call, instantiated once and called many
	// times (what pkg/plugin builds with -buildmode=c-shared).
	abiReactor abi = iota
	// abiCommand: a WASI command (_start) run once per call, the request on stdin and the response on
	// stdout: slower, for toolchains that cannot export functions.
	abiCommand
)

// inspectModule checks a compiled module's exports and imports and tells its ABI.
func inspectModule(compiled wazero.CompiledModule) (abi, error) {
	for _, f := range compiled.ImportedFunctions() {
		module, name, _ := f.Import()
		switch module {
		case wasi_snapshot_preview1.ModuleName:
		case hostModule:
			if name != "http_request" && name != "result_read" {
				return 0, fmt.Errorf("the module imports %s.%s, which the host does not offer (it offers http_request and result_read)", module, name)
			}
		default:
			return 0, fmt.Errorf("the module imports %s.%s; a plugin may import only from %s and %s", module, name, wasi_snapshot_preview1.ModuleName, hostModule)
		}
	}
	exports := compiled.ExportedFunctions()
	_, alloc := exports["cm_alloc"]
	_, call := exports["cm_call"]
	_, start := exports["_start"]
	switch {
	case alloc && call:
		if _, ok := exports["_initialize"]; !ok && start {
			return 0, errors.New("the module exports cm_call but is a command (_start): build it as a reactor (go build -buildmode=c-shared)")
		}
		return abiReactor, nil
	case start:
		return abiCommand, nil
	}
	return 0, errors.New("the module exports neither cm_alloc and cm_call (a reactor) nor _start (a command): build it with pkg/plugin, GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared")
}

// Wasm runs one WebAssembly plugin version: a wazero runtime with the plugin's memory limit and a pool
// of instances, each serving one call at a time. An instance that traps, runs out of time or memory,
// or breaks the ABI is thrown away; the others carry on.
type Wasm struct {
	name     string
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	abi      abi
	timeout  time.Duration
	fetcher  *fetcher
	logger   *slog.Logger

	slots chan struct{}
	idle  chan *instance

	mu      sync.Mutex
	closed  bool
	calls   sync.WaitGroup
	stats   wasmStats
	closeCh chan struct{}
}

type wasmStats struct {
	instances int
	traps     int64
	lastError string
}

// instance is one instantiated reactor module.
type instance struct {
	mod     api.Module
	alloc   api.Function
	call    api.Function
	console *console
}

// callState is what the host functions of one call share; it travels in the call's context.
type callState struct {
	pending  []byte
	requests int
}

type callStateKey struct{}

// WasmOptions configure NewWasm.
type WasmOptions struct {
	// Cache shares compiled code between runtimes: a plugin loaded again with the same module does
	// not compile it again.
	Cache wazero.CompilationCache
	// Fetch makes the plugin's outbound HTTP requests; nil refuses them all.
	Fetch *fetcher
	// Logger logs on the plugin's behalf.
	Logger *slog.Logger
}

// NewWasm compiles module for plugin m and, for a reactor, makes one instance, so that a module that
// cannot start is refused at load time.
func NewWasm(ctx context.Context, m *plugin.Manifest, module []byte, opts WasmOptions) (*Wasm, error) {
	cfg := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(m.Wasm.MemoryMiB) * 16) //nolint:gosec // MemoryMiB is at most 1024 (manifest validation)
	if opts.Cache != nil {
		cfg = cfg.WithCompilationCache(opts.Cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	w := &Wasm{name: m.Name, rt: rt, timeout: time.Duration(m.TimeoutMs) * time.Millisecond, fetcher: opts.Fetch, logger: opts.Logger,
		slots: make(chan struct{}, m.Wasm.Instances), idle: make(chan *instance, m.Wasm.Instances), closeCh: make(chan struct{})}
	if w.logger == nil {
		w.logger = slog.New(slog.DiscardHandler)
	}
	fail := func(err error) (*Wasm, error) {
		_ = rt.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return fail(fmt.Errorf("instantiate WASI: %w", err))
	}
	if _, err := rt.NewHostModuleBuilder(hostModule).
		NewFunctionBuilder().WithFunc(w.hostHTTPRequest).Export("http_request").
		NewFunctionBuilder().WithFunc(w.hostResultRead).Export("result_read").
		Instantiate(ctx); err != nil {
		return fail(fmt.Errorf("instantiate host functions: %w", err))
	}
	compiled, err := rt.CompileModule(ctx, module)
	if err != nil {
		return fail(fmt.Errorf("compile module: %w", err))
	}
	w.compiled = compiled
	if w.abi, err = inspectModule(compiled); err != nil {
		return fail(err)
	}
	if w.abi == abiReactor {
		inst, err := w.instantiate(ctx)
		if err != nil {
			return fail(fmt.Errorf("start module: %w", err))
		}
		w.idle <- inst
	}
	return w, nil
}

func (w *Wasm) moduleConfig(c *console) wazero.ModuleConfig {
	// No file system, no environment, no arguments: what WASI offers beyond them is the clocks
	// (sleep returns at once), randomness, and stdout and stderr, which are kept as logs.
	return wazero.NewModuleConfig().
		WithName("").
		WithStdout(c.writer("info")).WithStderr(c.writer("warn")).
		WithSysWalltime().WithSysNanotime().
		WithRandSource(rand.Reader)
}

func (w *Wasm) instantiate(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	c := &console{}
	mod, err := w.rt.InstantiateModule(ctx, w.compiled, w.moduleConfig(c).WithStartFunctions("_initialize"))
	if err != nil {
		return nil, describeTrap(ctx, err)
	}
	w.mu.Lock()
	w.stats.instances++
	w.mu.Unlock()
	return &instance{mod: mod, alloc: mod.ExportedFunction("cm_alloc"), call: mod.ExportedFunction("cm_call"), console: c}, nil
}

func (w *Wasm) discard(inst *instance) {
	_ = inst.mod.Close(context.Background())
	w.mu.Lock()
	w.stats.instances--
	w.mu.Unlock()
}

// Call implements Runtime.
func (w *Wasm) Call(ctx context.Context, req *plugin.Request, limits Limits) (*plugin.Response, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, ErrClosed
	}
	w.calls.Add(1)
	w.mu.Unlock()
	defer w.calls.Done()
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		req.TimeoutMs = max(time.Until(dl).Milliseconds(), 1)
	}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	if len(in) > maxRequestBytes {
		return nil, fmt.Errorf("request is %d bytes, over the %d-byte limit for a WebAssembly call", len(in), maxRequestBytes)
	}
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a free instance of plugin %s: %w", w.name, ctx.Err())
	case <-w.closeCh:
		return nil, ErrClosed
	}
	defer func() { <-w.slots }()
	st := &callState{}
	ctx = context.WithValue(ctx, callStateKey{}, st)
	if w.abi == abiCommand {
		return w.callCommand(ctx, in, limits)
	}
	var inst *instance
	select {
	case inst = <-w.idle:
	default:
		if inst, err = w.instantiate(ctx); err != nil {
			return nil, w.failed(fmt.Errorf("%w: %w", ErrCrashed, err))
		}
	}
	resp, err := w.callReactor(ctx, inst, in, limits)
	if err != nil || inst.mod.IsClosed() {
		w.discard(inst)
		return nil, w.failed(err)
	}
	w.idle <- inst
	return resp, nil
}

func (w *Wasm) failed(err error) error {
	if err == nil {
		err = fmt.Errorf("%w: the instance closed itself", ErrCrashed)
	}
	w.mu.Lock()
	w.stats.traps++
	w.stats.lastError = err.Error()
	w.mu.Unlock()
	return err
}

func (w *Wasm) callReactor(ctx context.Context, inst *instance, in []byte, limits Limits) (*plugin.Response, error) {
	inst.console.reset()
	res, err := inst.alloc.Call(ctx, uint64(len(in)))
	if err != nil {
		return nil, fmt.Errorf("%w: cm_alloc: %w", ErrCrashed, describeTrap(ctx, err))
	}
	ptr := uint32(res[0]) //nolint:gosec // a wasm32 address
	if !inst.mod.Memory().Write(ptr, in) {
		return nil, fmt.Errorf("%w: cm_alloc returned %d, outside the module's memory", ErrProtocol, ptr)
	}
	res, err = inst.call.Call(ctx, uint64(ptr), uint64(len(in)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCrashed, describeTrap(ctx, err))
	}
	outPtr, outLen := uint32(res[0]>>32), uint32(res[0]) //nolint:gosec // packed as two 32-bit halves
	if limits.MaxResponseBytes > 0 && int64(outLen) > limits.MaxResponseBytes {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrResponseTooLarge, outLen, limits.MaxResponseBytes)
	}
	view, ok := inst.mod.Memory().Read(outPtr, outLen)
	if !ok {
		return nil, fmt.Errorf("%w: cm_call returned a response outside the module's memory", ErrProtocol)
	}
	return decodeResponse(view, inst.console)
}

func (w *Wasm) callCommand(ctx context.Context, in []byte, limits Limits) (*plugin.Response, error) {
	c := &console{}
	maxOut := limits.MaxResponseBytes
	if maxOut <= 0 {
		maxOut = maxRequestBytes
	}
	out := &boundedBuffer{max: maxOut}
	cfg := w.moduleConfig(c).WithStdin(bytes.NewReader(in)).WithStdout(out)
	mod, err := w.rt.InstantiateModule(ctx, w.compiled, cfg)
	if mod != nil {
		defer func() { _ = mod.Close(context.Background()) }()
	}
	var exit *sys.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 0) {
		return nil, w.failed(fmt.Errorf("%w: %w", ErrCrashed, describeTrap(ctx, err)))
	}
	if out.over {
		return nil, w.failed(fmt.Errorf("%w: over the %d-byte limit", ErrResponseTooLarge, maxOut))
	}
	return decodeResponse(out.buf.Bytes(), c)
}

func decodeResponse(b []byte, c *console) (*plugin.Response, error) {
	var resp plugin.Response
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("%w: the response is not JSON: %w", ErrProtocol, err)
	}
	if logs := c.logs(); len(logs) > 0 {
		resp.Logs = append(logs, resp.Logs...)
	}
	return &resp, nil
}

// describeTrap turns wazero's error for a call that did not return into words: out of time, or the
// trap or exit it reports.
func describeTrap(ctx context.Context, err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("the plugin ran out of time and was stopped: %w", context.DeadlineExceeded)
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("the call was canceled: %w", context.Canceled)
		}
		return fmt.Errorf("the module exited with code %d", exit.ExitCode())
	}
	if ctx.Err() != nil {
		return fmt.Errorf("the plugin ran out of time and was stopped: %w", ctx.Err())
	}
	return err
}

// Close implements Runtime.
func (w *Wasm) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.closeCh)
	w.mu.Unlock()
	done := make(chan struct{})
	go func() { w.calls.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	// Closing the runtime stops the calls still running (CloseOnContextDone).
	return w.rt.Close(context.WithoutCancel(ctx))
}

// Stats describes the runtime for the API.
func (w *Wasm) Stats() RuntimeStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	mode := "reactor"
	if w.abi == abiCommand {
		mode = "command"
	}
	return RuntimeStats{Mode: mode, Instances: w.stats.instances, Failures: w.stats.traps, LastError: w.stats.lastError}
}

// RuntimeStats is what the API shows of a plugin's runtime.
type RuntimeStats struct {
	// Mode is reactor or command for WebAssembly, process for a process.
	Mode string `json:"mode"`
	// Instances counts the live WebAssembly instances; Running says whether a process runs.
	Instances int  `json:"instances,omitempty"`
	Running   bool `json:"running,omitempty"`
	PID       int  `json:"pid,omitempty"`
	Restarts  int  `json:"restarts,omitempty"`
	// InFlight counts a process's calls in flight.
	InFlight int `json:"inFlight,omitempty"`
	// Failures counts calls that failed in the runtime (traps, timeouts, crashes).
	Failures  int64  `json:"failures"`
	LastError string `json:"lastError,omitempty"`
}

// hostHTTPRequest makes an outbound request for the module and keeps the answer for result_read; it
// returns the answer's length.
func (w *Wasm) hostHTTPRequest(ctx context.Context, m api.Module, ptr, size uint32) uint32 {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	if st == nil {
		// Called outside a call (during _initialize): nothing to answer to.
		return 0
	}
	var resp plugin.HTTPResponse
	if size > maxHTTPRequestBytes {
		resp.Error = "the request is over " + strconv.Itoa(maxHTTPRequestBytes) + " bytes"
	} else if b, ok := m.Memory().Read(ptr, size); !ok {
		resp.Error = "the request is outside the module's memory"
	} else {
		st.requests++
		resp = w.fetcher.do(ctx, bytes.Clone(b), st.requests)
	}
	st.pending, _ = json.Marshal(resp)
	return uint32(len(st.pending)) //nolint:gosec // bounded by the fetcher's body limit
}

// hostResultRead copies the answer of the last http_request into the module's memory at ptr.
func (w *Wasm) hostResultRead(ctx context.Context, m api.Module, ptr uint32) {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	if st == nil {
		return
	}
	if !m.Memory().Write(ptr, st.pending) {
		panic(fmt.Errorf("%w: result_read to an address outside the module's memory", ErrProtocol))
	}
	st.pending = nil
}

// console keeps what a module writes to stdout and stderr during a call, bounded, as log lines.
type console struct {
	mu      sync.Mutex
	entries []plugin.Log
	size    int
	partial map[string]*bytes.Buffer
}

func (c *console) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.size, c.partial = nil, 0, nil
}

func (c *console) writer(level string) *consoleWriter { return &consoleWriter{c: c, level: level} }

type consoleWriter struct {
	c     *console
	level string
}

func (cw *consoleWriter) Write(p []byte) (int, error) {
	c := cw.c
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if c.size >= maxConsoleBytes {
		return n, nil
	}
	p = p[:min(len(p), maxConsoleBytes-c.size)]
	c.size += len(p)
	if c.partial == nil {
		c.partial = map[string]*bytes.Buffer{}
	}
	buf := c.partial[cw.level]
	if buf == nil {
		buf = &bytes.Buffer{}
		c.partial[cw.level] = buf
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			buf.Write(p)
			break
		}
		buf.Write(p[:i])
		c.entries = append(c.entries, plugin.Log{Level: cw.level, Message: buf.String()})
		buf.Reset()
		p = p[i+1:]
	}
	return n, nil
}

// logs returns the lines written, the last one even without its newline.
func (c *console) logs() []plugin.Log {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.entries
	for _, level := range []string{"info", "warn"} {
		if buf := c.partial[level]; buf != nil && buf.Len() > 0 {
			out = append(out, plugin.Log{Level: level, Message: buf.String()})
		}
	}
	return out
}

// boundedBuffer keeps at most max bytes and remembers that more came.
type boundedBuffer struct {
	buf  bytes.Buffer
	max  int64
	over bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if int64(b.buf.Len()+len(p)) > b.max {
		b.over = true
		return 0, ErrResponseTooLarge
	}
	return b.buf.Write(p)
}

// shrink closes the idle instances, for a version that left service: new ones are made if it is
// called again.
func (w *Wasm) shrink() {
	for {
		select {
		case inst := <-w.idle:
			w.discard(inst)
		default:
			return
		}
	}
}
