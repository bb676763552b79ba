// Package pluginhost loads plugins from a folder and runs their node types: WebAssembly modules in a
// wazero sandbox and trusted processes over the JSON line protocol of pkg/plugin. A Manager watches the
// folder and swaps plugin versions in the node registry while executions run (docs/plugins.md,
// ADR 0025).
package pluginhost

import (
	"context"
	"errors"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// Runtime runs the calls of one loaded plugin version. It is safe for concurrent use.
type Runtime interface {
	// Call runs one request. ctx bounds it: when ctx ends the call returns ctx's error (wrapped)
	// promptly, whatever the plugin does. An error is a failure of the plugin or its runtime (a trap, a
	// crash, a timeout, an answer that breaks the protocol or the limits); a handler's own error comes
	// back as Response.Error with a nil error.
	Call(ctx context.Context, req *plugin.Request, limits Limits) (*plugin.Response, error)
	// Close stops the runtime: new calls fail with ErrClosed, calls in flight may finish until ctx ends,
	// then whatever is left is stopped hard. It is idempotent.
	Close(ctx context.Context) error
}

// Limits bound one call.
type Limits struct {
	// MaxResponseBytes caps the size of the plugin's encoded response; a larger answer fails the call
	// with ErrResponseTooLarge before it is read whole.
	MaxResponseBytes int64
}

// Errors a Runtime's Call wraps.
var (
	// ErrClosed is returned by calls to a runtime that was closed.
	ErrClosed = errors.New("plugin runtime is closed")
	// ErrResponseTooLarge is an answer over Limits.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("plugin response is too large")
	// ErrProtocol is an answer that breaks the protocol (not JSON, unknown request id, bad ABI).
	ErrProtocol = errors.New("plugin broke the protocol")
	// ErrCrashed is a plugin that ended while calls were in flight (a WebAssembly trap or exit, a
	// process that died).
	ErrCrashed = errors.New("plugin crashed")
)
