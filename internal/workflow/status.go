package workflow

import "fmt"

// ExecutionStatus is the life-cycle state of an execution. The same lowercase value is stored and
// served in JSON.
type ExecutionStatus string

// The execution states; see docs/state_machine.md.
const (
	ExecutionQueued    ExecutionStatus = "queued"
	ExecutionRunning   ExecutionStatus = "running"
	ExecutionWaiting   ExecutionStatus = "waiting"
	ExecutionSucceeded ExecutionStatus = "succeeded"
	ExecutionFailed    ExecutionStatus = "failed"
	ExecutionCanceled  ExecutionStatus = "canceled"
)

// ExecutionStatuses lists every execution state, in life-cycle order.
var ExecutionStatuses = []ExecutionStatus{
	ExecutionQueued, ExecutionRunning, ExecutionWaiting, ExecutionSucceeded, ExecutionFailed, ExecutionCanceled,
}

var executionTransitions = map[ExecutionStatus][]ExecutionStatus{
	ExecutionQueued:  {ExecutionRunning, ExecutionCanceled},
	ExecutionRunning: {ExecutionWaiting, ExecutionSucceeded, ExecutionFailed, ExecutionCanceled, ExecutionQueued},
	ExecutionWaiting: {ExecutionQueued, ExecutionRunning, ExecutionCanceled, ExecutionFailed},
}

// Valid reports whether s is a known state.
func (s ExecutionStatus) Valid() bool {
	_, ok := executionTransitions[s]
	return ok || s.Terminal()
}

// Terminal reports whether s is final: succeeded, failed or canceled.
func (s ExecutionStatus) Terminal() bool {
	return s == ExecutionSucceeded || s == ExecutionFailed || s == ExecutionCanceled
}

// CanTransition reports whether an execution may move from s to to. Terminal states are final; a
// running execution may go back to queued when its worker gives it up (shutdown, lost lease).
func (s ExecutionStatus) CanTransition(to ExecutionStatus) bool {
	for _, allowed := range executionTransitions[s] {
		if allowed == to {
			return true
		}
	}
	return false
}

// TransitionError reports a move the state machine does not allow.
type TransitionError struct {
	From, To string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("invalid transition from %s to %s", e.From, e.To)
}

// CheckTransition returns a *TransitionError when s may not move to to.
func (s ExecutionStatus) CheckTransition(to ExecutionStatus) error {
	if !s.CanTransition(to) {
		return &TransitionError{From: string(s), To: string(to)}
	}
	return nil
}

// NodeRunStatus is the state of one attempt of one node.
type NodeRunStatus string

// The node-run states; see docs/state_machine.md.
const (
	NodeRunPending   NodeRunStatus = "pending"
	NodeRunRunning   NodeRunStatus = "running"
	NodeRunWaiting   NodeRunStatus = "waiting"
	NodeRunSucceeded NodeRunStatus = "succeeded"
	NodeRunFailed    NodeRunStatus = "failed"
	NodeRunSkipped   NodeRunStatus = "skipped"
	NodeRunCanceled  NodeRunStatus = "canceled"
)

var nodeRunTransitions = map[NodeRunStatus][]NodeRunStatus{
	NodeRunPending: {NodeRunRunning, NodeRunSkipped, NodeRunCanceled},
	NodeRunRunning: {NodeRunWaiting, NodeRunSucceeded, NodeRunFailed, NodeRunCanceled},
	NodeRunWaiting: {NodeRunRunning, NodeRunSucceeded, NodeRunFailed, NodeRunCanceled},
}

// Terminal reports whether s is final for its attempt.
func (s NodeRunStatus) Terminal() bool {
	switch s {
	case NodeRunSucceeded, NodeRunFailed, NodeRunSkipped, NodeRunCanceled:
		return true
	}
	return false
}

// CanTransition reports whether a node attempt may move from s to to.
func (s NodeRunStatus) CanTransition(to NodeRunStatus) bool {
	for _, allowed := range nodeRunTransitions[s] {
		if allowed == to {
			return true
		}
	}
	return false
}

// CheckTransition returns a *TransitionError when s may not move to to.
func (s NodeRunStatus) CheckTransition(to NodeRunStatus) error {
	if !s.CanTransition(to) {
		return &TransitionError{From: string(s), To: string(to)}
	}
	return nil
}
