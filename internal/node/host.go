package node

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Host is what the engine offers nodes that act on other executions. Every method is scoped to the
// tenant and execution of the attempt it was handed to.
type Host interface {
	// Signal returns the payload delivered to this node (an approval, a resume request), or nil
	// when none has arrived.
	Signal(ctx context.Context) (json.RawMessage, error)
	// StartChild starts a child execution, idempotently: calling it again with the same Key returns
	// the child the first call started.
	StartChild(ctx context.Context, req ChildRequest) (*Child, error)
	// Child returns the child this node started in this execution under key, or nil.
	Child(ctx context.Context, key string) (*Child, error)
	// ResumeURL is the URL that resumes this execution's webhook-mode waits.
	ResumeURL() string
}

// ChildRequest asks for a child execution.
type ChildRequest struct {
	// Key identifies the child among those of this node, e.g. "3/1/0" (node attempt, element,
	// element attempt): the same key always yields the same child.
	Key string
	// WorkflowID and Version name what to run; Version 0 is the latest.
	WorkflowID string
	Version    int
	// Input is the child trigger's data.
	Input any
}

// Child is a child execution as its parent sees it.
type Child struct {
	ID         string          `json:"executionId"`
	WorkflowID string          `json:"workflowId"`
	Status     string          `json:"status"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	ErrorCode  string          `json:"errorCode,omitempty"`
	CreatedAt  time.Time       `json:"createdAt"`
	FinishedAt *time.Time      `json:"finishedAt,omitempty"`
}

// Finished reports whether the child reached a final status.
func (c *Child) Finished() bool {
	switch c.Status {
	case "succeeded", "failed", "canceled":
		return true
	}
	return false
}

// ErrNoHost is returned by nodes that need a Host when the engine runs without one.
var ErrNoHost = errors.New("this node needs the engine's host (signals and child executions), which this runner does not offer")
