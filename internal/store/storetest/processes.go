package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
)

// testProcesses: a heartbeat registers a process and lists the others; a repeated one refreshes the
// row and keeps its start time; a process that stopped heartbeating is pruned once stale; removal
// forgets it; bad input is refused.
func testProcesses(t *testing.T, s store.Store) {
	ctx := context.Background()
	const stale = time.Minute
	others, err := s.HeartbeatProcess(ctx, store.Process{ID: "a", Role: store.ProcessRoleAPI}, stale)
	require.NoError(t, err)
	require.Empty(t, others)

	others, err = s.HeartbeatProcess(ctx, store.Process{ID: "b", Role: store.ProcessRoleWorker, Redis: true}, stale)
	require.NoError(t, err)
	require.Len(t, others, 1)
	a := others[0]
	require.Equal(t, store.Process{ID: "a", Role: store.ProcessRoleAPI, StartedAt: a.StartedAt, HeartbeatAt: a.HeartbeatAt}, a)
	require.False(t, a.StartedAt.IsZero())
	require.False(t, a.HeartbeatAt.Before(a.StartedAt))

	// A second heartbeat of a moves its heartbeat on (by the database's clock), keeps its start and
	// takes its new Redis flag.
	time.Sleep(2 * time.Millisecond)
	others, err = s.HeartbeatProcess(ctx, store.Process{ID: "a", Role: store.ProcessRoleAPI, Redis: true}, stale)
	require.NoError(t, err)
	require.Len(t, others, 1)
	require.Equal(t, "b", others[0].ID)
	require.True(t, others[0].Redis)
	others, err = s.HeartbeatProcess(ctx, store.Process{ID: "b", Role: store.ProcessRoleWorker, Redis: true}, stale)
	require.NoError(t, err)
	require.Len(t, others, 1)
	require.True(t, others[0].Redis)
	require.True(t, others[0].HeartbeatAt.After(a.HeartbeatAt), "the heartbeat moved on")
	require.True(t, others[0].StartedAt.Equal(a.StartedAt), "the start time stays")

	// With a tiny staleness, the rows of processes that did not heartbeat since are pruned.
	time.Sleep(20 * time.Millisecond)
	others, err = s.HeartbeatProcess(ctx, store.Process{ID: "c", Role: store.ProcessRoleAPI}, 10*time.Millisecond)
	require.NoError(t, err)
	require.Empty(t, others, "a and b are stale")

	_, err = s.HeartbeatProcess(ctx, store.Process{ID: "d", Role: store.ProcessRoleAPI}, stale)
	require.NoError(t, err)
	require.NoError(t, s.RemoveProcess(ctx, "c"))
	require.NoError(t, s.RemoveProcess(ctx, "unknown"))
	others, err = s.HeartbeatProcess(ctx, store.Process{ID: "d", Role: store.ProcessRoleAPI}, stale)
	require.NoError(t, err)
	require.Empty(t, others, "c removed itself")

	for _, p := range []store.Process{{Role: store.ProcessRoleAPI}, {ID: "e", Role: "boss"}, {ID: "e\x00", Role: store.ProcessRoleAPI}} {
		_, err := s.HeartbeatProcess(ctx, p, stale)
		require.ErrorIs(t, err, store.ErrInvalidInput, "%+v", p)
	}
	_, err = s.HeartbeatProcess(ctx, store.Process{ID: "e", Role: store.ProcessRoleAPI}, 0)
	require.ErrorIs(t, err, store.ErrInvalidInput)
}
