package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// TestRunnableHook checks that every write making an execution runnable tells the hook, inside its
// transaction: a park until a wake-up time, a signal waking it, a hand-back to the queue; and that a
// failing hook rolls the write back.
func TestRunnableHook(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _ := b.fresh(t)
			_, err := st.Migrate(ctx)
			require.NoError(t, err)
			type call struct {
				id string
				at time.Time
			}
			var mu sync.Mutex
			var calls []call
			var fail error
			st.OnRunnable(func(_ context.Context, tx store.Tx, ref store.ExecutionRef, at time.Time) error {
				if tx == nil {
					return errors.New("no transaction")
				}
				mu.Lock()
				defer mu.Unlock()
				if fail != nil {
					return fail
				}
				calls = append(calls, call{ref.ID, at})
				return nil
			})
			last := func() call {
				mu.Lock()
				defer mu.Unlock()
				require.NotEmpty(t, calls)
				return calls[len(calls)-1]
			}
			wf := newWorkflow(t, st)
			newExecution(t, st, wf, "e1")
			ref := store.ExecutionRef{TenantID: tenant, ID: "e1"}
			running := []workflow.ExecutionStatus{workflow.ExecutionRunning}

			_, err = st.ClaimExecution(ctx, ref, "w/1", time.Minute, false)
			require.NoError(t, err)
			wake := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
			require.NoError(t, st.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: "e1", Owner: "w/1",
				From: running, To: workflow.ExecutionWaiting, WakeAt: &wake, ReleaseLease: true}))
			require.Equal(t, call{"e1", wake}, last(), "parking schedules the wake-up")

			before := time.Now()
			require.NoError(t, st.WakeExecution(ctx, tenant, "e1"))
			require.Equal(t, "e1", last().id, "a wake makes it due at once")
			require.WithinDuration(t, before, last().at, time.Minute)

			_, err = st.ClaimExecution(ctx, ref, "w/2", time.Minute, false)
			require.NoError(t, err)
			count := func() int {
				mu.Lock()
				defer mu.Unlock()
				return len(calls)
			}
			n := count()
			require.NoError(t, st.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: "e1", Owner: "w/2", From: running,
				NodeRuns: []store.NodeRun{{NodeID: "start", Attempt: 1, Status: workflow.NodeRunRunning}}}))
			require.Equal(t, n, count(), "a step that leaves it running enqueues nothing")

			mu.Lock()
			fail = errors.New("queue down")
			mu.Unlock()
			err = st.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: "e1", Owner: "w/2",
				From: running, To: workflow.ExecutionQueued, ReleaseLease: true})
			require.ErrorContains(t, err, "queue down")
			got, err := st.GetExecution(ctx, tenant, "e1")
			require.NoError(t, err)
			require.Equal(t, workflow.ExecutionRunning, got.Status, "a failing hook rolls the hand-back back")

			mu.Lock()
			fail = nil
			mu.Unlock()
			require.NoError(t, st.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: "e1", Owner: "w/2",
				From: running, To: workflow.ExecutionQueued, ReleaseLease: true}))
			require.Equal(t, "e1", last().id, "a hand-back enqueues it again")
		})
	}
}
