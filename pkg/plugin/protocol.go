package plugin

import "encoding/json"

// Request asks a plugin to run one node attempt.
type Request struct {
	// ID numbers the request on a process plugin's stdin; the response carries it back. It is zero for
	// WebAssembly calls, which are one at a time per instance.
	ID uint64 `json:"id,omitempty"`
	// Cancel, on a process plugin's stdin, asks the plugin to stop working on request ID: the server no
	// longer waits for it. Every other field is empty then.
	Cancel bool `json:"cancel,omitempty"`
	// Type is the node type to run, such as "hello.greet".
	Type string `json:"type,omitempty"`
	// Config is the node's configuration with its expressions evaluated.
	Config json.RawMessage `json:"config,omitempty"`
	// Input is the value on the node's input port.
	Input json.RawMessage `json:"input,omitempty"`
	// Execution identifies the run.
	Execution *Execution `json:"execution,omitempty"`
	// TimeoutMs is how long the server waits for the answer, in milliseconds.
	TimeoutMs int64 `json:"timeoutMs,omitempty"`
}

// Execution identifies the run a request belongs to.
type Execution struct {
	ExecutionID     string `json:"executionId"`
	WorkflowID      string `json:"workflowId"`
	WorkflowVersion int    `json:"workflowVersion"`
	NodeID          string `json:"nodeId"`
	Attempt         int    `json:"attempt"`
}

// Response is a plugin's answer to one Request.
type Response struct {
	// ID repeats the request's ID (process plugins).
	ID uint64 `json:"id,omitempty"`
	// Output is the node's output value; null when absent.
	Output json.RawMessage `json:"output,omitempty"`
	// Port is the output port; empty means "out".
	Port string `json:"port,omitempty"`
	// Logs are recorded with the node run, in order.
	Logs []Log `json:"logs,omitempty"`
	// Error, when set, fails the attempt.
	Error *Error `json:"error,omitempty"`
}

// Log is one message a plugin recorded while it ran.
type Log struct {
	// Level is debug, info, warn or error.
	Level   string `json:"level"`
	Message string `json:"message"`
}

// Error is why an attempt failed.
type Error struct {
	Message string `json:"message"`
	// Code is a short machine-readable reason, such as "invalid_input".
	Code string `json:"code,omitempty"`
	// Permanent says that retrying cannot help: the node's remaining attempts are skipped.
	Permanent bool `json:"permanent,omitempty"`
}

// HTTPRequest is an outbound HTTP request a WebAssembly plugin asks the host to make.
type HTTPRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is sent as is.
	Body string `json:"body,omitempty"`
	// TimeoutMs bounds the request; the host caps it at the call's own deadline.
	TimeoutMs int64 `json:"timeoutMs,omitempty"`
	// Credential, when set, must be the credential the node's configuration names in its
	// "credential" field: the host reads it from the server's vault and sets its header (a bearer
	// token, basic auth, an API key header, an OAuth2 access token) on the request. The plugin never
	// sees the secret. Only WebAssembly plugins' requests carry credentials.
	Credential string `json:"credential,omitempty"`
}

// HTTPResponse is the host's answer to an HTTPRequest. Error is set, and the rest empty, when the request
// could not be made (refused by the plugin's network allowlist or the server's outbound guard, timed out,
// or its answer was too large).
type HTTPResponse struct {
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	Error   string            `json:"error,omitempty"`
}
