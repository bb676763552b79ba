package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// TestWritesAfterCloseFail: a write that arrives after Close (a worker finishing during shutdown)
// fails at once with a clear error instead of waiting forever for a writer that has stopped.
func TestWritesAfterCloseFail(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	require.NoError(t, st.Close())
	require.NoError(t, st.Close(), "closing twice is harmless")
	done := make(chan error, 100)
	go func() {
		for range 100 {
			done <- st.CreateTenant(context.Background(), "late", "Late")
		}
	}()
	for range 100 {
		select {
		case err := <-done:
			require.EqualError(t, err, "store is closed")
		case <-time.After(10 * time.Second):
			t.Fatal("a write after Close never returned")
		}
	}
}

// TestWritesRacingCloseAllReturn: writes in flight when the store closes either commit or fail with
// "store is closed"; none is left waiting.
func TestWritesRacingCloseAllReturn(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	const writers, each = 8, 50
	var committed atomic.Int64
	errc := make(chan error, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := st.CreateTenant(context.Background(), fmt.Sprintf("t-%d-%d", w, i), "T")
				if err == nil {
					committed.Add(1)
				}
				errc <- err
			}
		})
	}
	require.Eventually(t, func() bool { return committed.Load() >= writers }, 10*time.Second, time.Millisecond)
	require.NoError(t, st.Close())
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(20 * time.Second):
		t.Fatal("writes racing Close never returned")
	}
	close(errc)
	for err := range errc {
		if err != nil {
			require.EqualError(t, err, "store is closed")
		}
	}
}

// TestClosedStoreAnswersEveryCallWithAnError: once closed, every method of both stores fails with an
// error that says the store or database is closed; none panics, none hangs, none claims that a row
// is missing (which the API would turn into a 404).
func TestClosedStoreAnswersEveryCallWithAnError(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := b.open(t)
			wf := newWorkflow(t, st)
			newExecution(t, st, wf, "x")
			require.NoError(t, st.Close())

			def := &workflow.Definition{Name: "w"}
			ref := store.ExecutionRef{TenantID: tenant, ID: "x"}
			calls := map[string]func() error{
				"Ping":           func() error { return st.Ping(ctx) },
				"Migrate":        func() error { _, err := st.Migrate(ctx); return err },
				"CreateTenant":   func() error { return st.CreateTenant(ctx, "t", "T") },
				"CreateWorkflow": func() error { _, err := st.CreateWorkflow(ctx, tenant, "w2", def); return err },
				"GetWorkflow":    func() error { _, err := st.GetWorkflow(ctx, tenant, wf); return err },
				"ListWorkflows":  func() error { _, err := st.ListWorkflows(ctx, tenant, store.ListWorkflowsParams{}); return err },
				"UpdateWorkflow": func() error {
					_, err := st.UpdateWorkflow(ctx, tenant, wf, 1, def, nil, nil)
					return err
				},
				"DeleteWorkflow": func() error { return st.DeleteWorkflow(ctx, tenant, wf) },
				"ListWorkflowVersions": func() error {
					_, err := st.ListWorkflowVersions(ctx, tenant, wf, store.ListVersionsParams{})
					return err
				},
				"GetWorkflowVersion": func() error { _, err := st.GetWorkflowVersion(ctx, tenant, wf, 1); return err },
				"SetWorkflowActive":  func() error { _, err := st.SetWorkflowActive(ctx, tenant, wf, true, nil, nil); return err },
				"LookupWebhook":      func() error { _, err := st.LookupWebhook(ctx, "POST", "p"); return err },
				"CreateExecution": func() error {
					_, _, err := st.CreateExecution(ctx, tenant, store.CreateExecutionParams{ID: "y", WorkflowID: wf, WorkflowVersion: 1})
					return err
				},
				"GetExecution":   func() error { _, err := st.GetExecution(ctx, tenant, "x"); return err },
				"ListExecutions": func() error { _, err := st.ListExecutions(ctx, tenant, store.ListExecutionsParams{}); return err },
				"ListNodeRuns":   func() error { _, err := st.ListNodeRuns(ctx, tenant, "x"); return err },
				"GetExecutionPreview": func() error {
					_, err := st.GetExecutionPreview(ctx, tenant, "x", 0)
					return err
				},
				"ListNodeRunSummaries": func() error {
					_, err := st.ListNodeRunSummaries(ctx, tenant, "x", store.ListNodeRunSummariesParams{})
					return err
				},
				"GetValue": func() error {
					_, err := st.GetValue(ctx, tenant, store.ValueRef{ExecutionID: "x", Field: store.ValueInput})
					return err
				},
				"ListEvents": func() error { _, err := st.ListEvents(ctx, tenant, "x", 0, 10); return err },
				"ApplyExecutionUpdate": func() error {
					return st.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: "x", To: workflow.ExecutionRunning})
				},
				"RequestCancel": func() error { _, err := st.RequestCancel(ctx, tenant, "x", store.CancelParams{}); return err },
				"ClaimExecution": func() error {
					_, err := st.ClaimExecution(ctx, ref, "me", time.Minute, false)
					return err
				},
				"ListRunnable": func() error { _, err := st.ListRunnable(ctx, store.RunnableParams{Now: time.Now()}); return err },
				"NextWakeAt":   func() error { _, err := st.NextWakeAt(ctx); return err },
				"RenewLeases": func() error {
					_, err := st.RenewLeases(ctx, []store.Lease{{Ref: ref, Owner: "me"}}, time.Minute)
					return err
				},
			}
			for name, call := range calls {
				err := call()
				require.Error(t, err, name)
				require.NotErrorIs(t, err, store.ErrNotFound, name)
				require.Contains(t, err.Error(), "closed", name)
			}
		})
	}
}
