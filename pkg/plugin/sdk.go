package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// Handler runs one node attempt. Return an error to fail it; wrap it with Permanent when retrying
// cannot help.
type Handler func(ctx context.Context, c *Call) (Result, error)

// Call is one node attempt as a handler sees it.
type Call struct {
	// Type is the node type being run.
	Type string
	// Config is the node's configuration, its expressions evaluated.
	Config json.RawMessage
	// Input is the value on the node's input port.
	Input json.RawMessage
	// Execution identifies the run; its fields are empty when the server sent none.
	Execution Execution

	mu   sync.Mutex
	logs []Log
}

// DecodeConfig unmarshals the configuration into v.
func (c *Call) DecodeConfig(v any) error {
	if len(c.Config) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Config, v); err != nil {
		return fmt.Errorf("decode configuration: %w", err)
	}
	return nil
}

// DecodeInput unmarshals the input into v.
func (c *Call) DecodeInput(v any) error {
	if len(c.Input) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Input, v); err != nil {
		return fmt.Errorf("decode input: %w", err)
	}
	return nil
}

// maxLogs bounds the messages one call records; the server bounds them again.
const maxLogs = 100

// Log records a message with the node run. Level is debug, info, warn or error.
func (c *Call) Log(level, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.logs) >= maxLogs {
		return
	}
	c.logs = append(c.logs, Log{Level: level, Message: fmt.Sprintf(format, args...)})
}

// Result is what a handler emits: Output on Port ("out" when empty).
type Result struct {
	Port   string
	Output any
}

// Out emits v on the default port, "out".
func Out(v any) Result { return Result{Output: v} }

// Emit emits v on port.
func Emit(port string, v any) Result { return Result{Port: port, Output: v} }

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot fix.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// CodedError is an error with a machine-readable code the server records with the node run.
type CodedError struct {
	Code    string
	Message string
}

func (e *CodedError) Error() string { return e.Message }

// Mux holds a plugin's handlers by node type. Most plugins use the default one through Handle and Main.
type Mux struct {
	mu       sync.RWMutex
	handlers map[string]Handler
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{handlers: map[string]Handler{}} }

// Handle registers h for node type typ, replacing any earlier handler.
func (m *Mux) Handle(typ string, h Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handlers[typ] = h
}

// Serve runs one request and returns its response; it never panics.
func (m *Mux) Serve(ctx context.Context, req *Request) (resp *Response) {
	resp = &Response{ID: req.ID}
	c := &Call{Type: req.Type, Config: req.Config, Input: req.Input}
	if req.Execution != nil {
		c.Execution = *req.Execution
	}
	defer func() {
		if r := recover(); r != nil {
			resp = &Response{ID: req.ID, Logs: c.takeLogs(), Error: &Error{Message: fmt.Sprintf("plugin handler panicked: %v", r), Code: "plugin_panic"}}
		}
	}()
	m.mu.RLock()
	h := m.handlers[req.Type]
	m.mu.RUnlock()
	if h == nil {
		resp.Error = &Error{Message: fmt.Sprintf("%v: %s", ErrNoHandler, req.Type), Code: "unknown_type", Permanent: true}
		return resp
	}
	res, err := h(ctx, c)
	resp.Logs = c.takeLogs()
	if err != nil {
		resp.Error = errorOf(err)
		return resp
	}
	out, err := marshal(res.Output)
	if err != nil {
		resp.Error = &Error{Message: "encode output: " + err.Error(), Code: "invalid_output", Permanent: true}
		return resp
	}
	resp.Output, resp.Port = out, res.Port
	return resp
}

// marshal is json.Marshal without HTML escaping: the server reads the JSON, no browser does, and
// text such as XML or HTML stays as short as it is.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (c *Call) takeLogs() []Log {
	c.mu.Lock()
	defer c.mu.Unlock()
	logs := c.logs
	c.logs = nil
	return logs
}

func errorOf(err error) *Error {
	e := &Error{Message: err.Error()}
	var p permanentError
	e.Permanent = errors.As(err, &p)
	var coded *CodedError
	if errors.As(err, &coded) {
		e.Code = coded.Code
	}
	return e
}

// defaultMux is the registry Handle fills and Main serves: a plugin binary's one registry, filled in
// init so that a WebAssembly reactor, which never runs main, has its handlers too.
var defaultMux = NewMux()

// Handle registers h for node type typ in the plugin's handlers. Call it from init.
func Handle(typ string, h Handler) { defaultMux.Handle(typ, h) }
