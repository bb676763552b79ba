package workflow

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// nodeRunStatuses lists every node-run state; the package keeps no such list.
var nodeRunStatuses = []NodeRunStatus{
	NodeRunPending, NodeRunRunning, NodeRunWaiting, NodeRunSucceeded, NodeRunFailed, NodeRunSkipped, NodeRunCanceled,
}

// allowedExecutionTransitions is the execution state machine as docs/state_machine.md draws it,
// written out independently of the table in status.go.
var allowedExecutionTransitions = []struct{ from, to ExecutionStatus }{
	{ExecutionQueued, ExecutionRunning},
	{ExecutionQueued, ExecutionCanceled},
	{ExecutionRunning, ExecutionWaiting},
	{ExecutionRunning, ExecutionSucceeded},
	{ExecutionRunning, ExecutionFailed},
	{ExecutionRunning, ExecutionCanceled},
	{ExecutionRunning, ExecutionQueued},
	{ExecutionWaiting, ExecutionQueued},
	{ExecutionWaiting, ExecutionRunning},
	{ExecutionWaiting, ExecutionCanceled},
	{ExecutionWaiting, ExecutionFailed},
}

// allowedNodeRunTransitions is the node-run state machine, written out independently.
var allowedNodeRunTransitions = []struct{ from, to NodeRunStatus }{
	{NodeRunPending, NodeRunRunning},
	{NodeRunPending, NodeRunSkipped},
	{NodeRunPending, NodeRunCanceled},
	{NodeRunRunning, NodeRunWaiting},
	{NodeRunRunning, NodeRunSucceeded},
	{NodeRunRunning, NodeRunFailed},
	{NodeRunRunning, NodeRunCanceled},
	{NodeRunWaiting, NodeRunRunning},
	{NodeRunWaiting, NodeRunSucceeded},
	{NodeRunWaiting, NodeRunFailed},
	{NodeRunWaiting, NodeRunCanceled},
}

func TestExecutionStatusTransitions(t *testing.T) {
	t.Parallel()

	for _, tt := range allowedExecutionTransitions {
		t.Run("Allowed"+camel(string(tt.from))+"To"+camel(string(tt.to)), func(t *testing.T) {
			t.Parallel()

			require.True(t, tt.from.CanTransition(tt.to))
			require.NoError(t, tt.from.CheckTransition(tt.to))
		})
	}

	refused := []struct {
		name     string
		from, to ExecutionStatus
	}{
		{name: "CanceledToQueued", from: ExecutionCanceled, to: ExecutionQueued},
		{name: "FailedToRunning", from: ExecutionFailed, to: ExecutionRunning},
		{name: "QueuedToFailed", from: ExecutionQueued, to: ExecutionFailed},
		{name: "QueuedToQueued", from: ExecutionQueued, to: ExecutionQueued},
		{name: "QueuedToSucceeded", from: ExecutionQueued, to: ExecutionSucceeded},
		{name: "QueuedToWaiting", from: ExecutionQueued, to: ExecutionWaiting},
		{name: "RunningToRunning", from: ExecutionRunning, to: ExecutionRunning},
		{name: "RunningToUnknown", from: ExecutionRunning, to: "paused"},
		{name: "SucceededToFailed", from: ExecutionSucceeded, to: ExecutionFailed},
		{name: "SucceededToRunning", from: ExecutionSucceeded, to: ExecutionRunning},
		{name: "UnknownToRunning", from: "paused", to: ExecutionRunning},
		{name: "WaitingToSucceeded", from: ExecutionWaiting, to: ExecutionSucceeded},
	}
	for _, tt := range refused {
		t.Run("Refused"+tt.name, func(t *testing.T) {
			t.Parallel()

			require.False(t, tt.from.CanTransition(tt.to))
			err := tt.from.CheckTransition(tt.to)
			var terr *TransitionError
			require.ErrorAs(t, err, &terr)
			require.Equal(t, &TransitionError{From: string(tt.from), To: string(tt.to)}, terr)
			require.EqualError(t, err, fmt.Sprintf("invalid transition from %s to %s", tt.from, tt.to))
		})
	}
}

func TestExecutionStatusTransitionMatrix(t *testing.T) {
	t.Parallel()

	for _, from := range ExecutionStatuses {
		for _, to := range ExecutionStatuses {
			want := slices.Contains(allowedExecutionTransitions, struct{ from, to ExecutionStatus }{from, to})
			require.Equal(t, want, from.CanTransition(to), "%s → %s", from, to)
			if from.Terminal() {
				require.False(t, from.CanTransition(to), "terminal %s must be final", from)
			}
		}
	}
}

func TestExecutionStatusTerminalAndValid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name         string
		status       ExecutionStatus
		wantTerminal bool
		wantValid    bool
	}{
		{name: "Canceled", status: ExecutionCanceled, wantTerminal: true, wantValid: true},
		{name: "Empty", status: "", wantTerminal: false, wantValid: false},
		{name: "Failed", status: ExecutionFailed, wantTerminal: true, wantValid: true},
		{name: "Queued", status: ExecutionQueued, wantTerminal: false, wantValid: true},
		{name: "Running", status: ExecutionRunning, wantTerminal: false, wantValid: true},
		{name: "Succeeded", status: ExecutionSucceeded, wantTerminal: true, wantValid: true},
		{name: "Unknown", status: "Running", wantTerminal: false, wantValid: false},
		{name: "Waiting", status: ExecutionWaiting, wantTerminal: false, wantValid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.wantTerminal, tt.status.Terminal())
			require.Equal(t, tt.wantValid, tt.status.Valid())
		})
	}
}

func TestExecutionStatusesListsEveryState(t *testing.T) {
	t.Parallel()

	require.Len(t, ExecutionStatuses, 6)
	for _, s := range ExecutionStatuses {
		require.True(t, s.Valid(), s)
	}
}

func TestNodeRunStatusTransitions(t *testing.T) {
	t.Parallel()

	for _, tt := range allowedNodeRunTransitions {
		t.Run("Allowed"+camel(string(tt.from))+"To"+camel(string(tt.to)), func(t *testing.T) {
			t.Parallel()

			require.True(t, tt.from.CanTransition(tt.to))
			require.NoError(t, tt.from.CheckTransition(tt.to))
		})
	}

	refused := []struct {
		name     string
		from, to NodeRunStatus
	}{
		{name: "CanceledToRunning", from: NodeRunCanceled, to: NodeRunRunning},
		{name: "FailedToRunning", from: NodeRunFailed, to: NodeRunRunning},
		{name: "PendingToSucceeded", from: NodeRunPending, to: NodeRunSucceeded},
		{name: "PendingToWaiting", from: NodeRunPending, to: NodeRunWaiting},
		{name: "RunningToPending", from: NodeRunRunning, to: NodeRunPending},
		{name: "RunningToSkipped", from: NodeRunRunning, to: NodeRunSkipped},
		{name: "SkippedToRunning", from: NodeRunSkipped, to: NodeRunRunning},
		{name: "SucceededToFailed", from: NodeRunSucceeded, to: NodeRunFailed},
		{name: "UnknownToRunning", from: "queued", to: NodeRunRunning},
		{name: "WaitingToSkipped", from: NodeRunWaiting, to: NodeRunSkipped},
		{name: "WaitingToWaiting", from: NodeRunWaiting, to: NodeRunWaiting},
	}
	for _, tt := range refused {
		t.Run("Refused"+tt.name, func(t *testing.T) {
			t.Parallel()

			require.False(t, tt.from.CanTransition(tt.to))
			var terr *TransitionError
			require.ErrorAs(t, tt.from.CheckTransition(tt.to), &terr)
			require.Equal(t, &TransitionError{From: string(tt.from), To: string(tt.to)}, terr)
		})
	}
}

func TestNodeRunStatusTransitionMatrix(t *testing.T) {
	t.Parallel()

	for _, from := range nodeRunStatuses {
		for _, to := range nodeRunStatuses {
			want := slices.Contains(allowedNodeRunTransitions, struct{ from, to NodeRunStatus }{from, to})
			require.Equal(t, want, from.CanTransition(to), "%s → %s", from, to)
			if from.Terminal() {
				require.False(t, from.CanTransition(to), "terminal %s must be final", from)
			}
		}
	}
}

func TestNodeRunStatusTerminal(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		status NodeRunStatus
		want   bool
	}{
		{name: "Canceled", status: NodeRunCanceled, want: true},
		{name: "Failed", status: NodeRunFailed, want: true},
		{name: "Pending", status: NodeRunPending, want: false},
		{name: "Running", status: NodeRunRunning, want: false},
		{name: "Skipped", status: NodeRunSkipped, want: true},
		{name: "Succeeded", status: NodeRunSucceeded, want: true},
		{name: "Unknown", status: "done", want: false},
		{name: "Waiting", status: NodeRunWaiting, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.want, tt.status.Terminal())
		})
	}
}

// camel returns a state name with its first letter in upper case, for subtest names.
func camel(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
