package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
)

// testPins checks pinned outputs: upsert, order, tenant scoping, the per-workflow bound (also under
// concurrent writers), deletion and a deleted workflow.
func testPins(t *testing.T, s store.Store) {
	ctx := store.WithActor(context.Background(), "user-1")
	const tenant = store.DefaultTenant
	w, err := s.CreateWorkflow(ctx, tenant, NewID(), Definition("pinned"))
	require.NoError(t, err)

	pins, err := s.ListPins(ctx, tenant, w.ID)
	require.NoError(t, err)
	require.Empty(t, pins)

	require.NoError(t, s.PutPins(ctx, tenant, w.ID, []store.Pin{
		{NodeID: "set", Port: "out", Data: json.RawMessage(`{"a":1}`)},
		{NodeID: "start", Port: "out", Data: json.RawMessage(`[1,"two"]`)},
	}))
	pins, err = s.ListPins(ctx, tenant, w.ID)
	require.NoError(t, err)
	require.Len(t, pins, 2)
	require.Equal(t, "set", pins[0].NodeID, "by node id")
	require.JSONEq(t, `{"a":1}`, string(pins[0].Data))
	require.Equal(t, "user-1", pins[0].UpdatedBy)
	require.False(t, pins[0].UpdatedAt.IsZero())
	require.Equal(t, w.ID, pins[0].WorkflowID)

	// A second pin of the same node replaces the first.
	require.NoError(t, s.PutPins(store.WithActor(ctx, "user-2"), tenant, w.ID, []store.Pin{{NodeID: "set", Port: "error", Data: json.RawMessage(`"x"`)}}))
	pins, err = s.ListPins(ctx, tenant, w.ID)
	require.NoError(t, err)
	require.Len(t, pins, 2)
	require.Equal(t, "error", pins[0].Port)
	require.JSONEq(t, `"x"`, string(pins[0].Data))
	require.Equal(t, "user-2", pins[0].UpdatedBy)

	// Another tenant sees nothing and cannot write to this workflow.
	other := "other-" + NewID()
	require.NoError(t, s.CreateTenant(ctx, other, "Other"))
	pins, err = s.ListPins(ctx, other, w.ID)
	require.NoError(t, err)
	require.Empty(t, pins)
	require.ErrorIs(t, s.PutPins(ctx, other, w.ID, []store.Pin{{NodeID: "set", Port: "out", Data: json.RawMessage(`1`)}}), store.ErrNotFound)
	require.ErrorIs(t, s.DeletePin(ctx, other, w.ID, "set"), store.ErrNotFound)

	require.ErrorIs(t, s.PutPins(ctx, tenant, w.ID, []store.Pin{{NodeID: "set", Port: "out", Data: json.RawMessage(`{`)}}), store.ErrInvalidInput)

	// The bound holds for one write and for concurrent writers together.
	many := make([]store.Pin, store.MaxPins-1)
	for i := range many {
		many[i] = store.Pin{NodeID: fmt.Sprintf("n%03d", i), Port: "out", Data: json.RawMessage(`1`)}
	}
	require.ErrorIs(t, s.PutPins(ctx, tenant, w.ID, many), store.ErrTooManyPins, "2 + 99 > 100")
	pins, err = s.ListPins(ctx, tenant, w.ID)
	require.NoError(t, err)
	require.Len(t, pins, 2, "a refused write leaves nothing behind")
	require.NoError(t, s.PutPins(ctx, tenant, w.ID, many[:97]))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.PutPins(ctx, tenant, w.ID, []store.Pin{{NodeID: fmt.Sprintf("c%d", i), Port: "out", Data: json.RawMessage(`1`)}})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, store.ErrTooManyPins)
		}
	}
	require.Equal(t, 1, ok, "only one of the concurrent writers fits")
	pins, err = s.ListPins(ctx, tenant, w.ID)
	require.NoError(t, err)
	require.Len(t, pins, store.MaxPins)

	require.NoError(t, s.DeletePin(ctx, tenant, w.ID, "set"))
	require.ErrorIs(t, s.DeletePin(ctx, tenant, w.ID, "set"), store.ErrNotFound)

	// Deleting the workflow drops its pins.
	require.NoError(t, s.DeleteWorkflow(ctx, tenant, w.ID))
	pins, err = s.ListPins(ctx, tenant, w.ID)
	require.NoError(t, err)
	require.Empty(t, pins)
	require.ErrorIs(t, s.PutPins(ctx, tenant, w.ID, []store.Pin{{NodeID: "set", Port: "out", Data: json.RawMessage(`1`)}}), store.ErrNotFound)
}
