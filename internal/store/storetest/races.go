package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// The race tests below run many rounds of goroutines racing on one execution, over the store's own
// connection pool (several connections on PostgreSQL). Each checks an invariant after every round,
// so that a window of a few microseconds shows up within the rounds.

const raceRounds = 60

// testRaceClaims races eight claims of one queued execution: exactly one wins, and the winner's
// lease is the one the row holds.
func testRaceClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	for round := range raceRounds {
		exec := NewExecution(t, s, tenant)
		ref := store.ExecutionRef{TenantID: tenant, ID: exec.ID}
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 8 {
			wg.Go(func() {
				<-start
				owner := fmt.Sprintf("w%d", i)
				_, err := s.ClaimExecution(ctx, ref, owner, time.Minute, false)
				if err == nil {
					wins.Add(1)
					winner.Store(owner)
					return
				}
				if !errors.Is(err, store.ErrConflict) {
					t.Errorf("round %d: claim: %v", round, err)
				}
			})
		}
		close(start)
		wg.Wait()
		require.EqualValues(t, 1, wins.Load(), "round %d: exactly one claim wins", round)
		got, err := s.GetExecution(ctx, tenant, exec.ID)
		require.NoError(t, err)
		require.Equal(t, winner.Load(), got.LeaseOwner, "round %d", round)
	}
}

// testRaceTakeoverFencing has the owner of an expired lease go on writing node runs and events
// while another worker claims the execution. Once the claim has returned, no write of the old owner
// may commit: the new owner numbers its events on from what its claim read, and its first event
// must not collide with one the old owner slipped in.
func testRaceTakeoverFencing(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	late := 0
	for round := range raceRounds {
		exec := NewExecution(t, s, tenant)
		ref := store.ExecutionRef{TenantID: tenant, ID: exec.ID}
		old, err := s.ClaimExecution(ctx, ref, "old", -time.Second, false)
		require.NoError(t, err)

		claimed := make(chan *store.Execution, 1)
		var wg sync.WaitGroup
		var afterClaim atomic.Int32
		wg.Go(func() {
			seq := old.LastSeq
			for i := 0; ; i++ {
				select {
				case <-claimed:
					// Writes that start after the claim has returned must all fail.
					for range 3 {
						err := s.ApplyExecutionUpdate(ctx, tenant, nodeStep(exec.ID, "old", seq+1, i))
						if err == nil {
							afterClaim.Add(1)
						} else if !errors.Is(err, store.ErrConflict) {
							t.Errorf("round %d: old owner's write: %v", round, err)
						}
					}
					return
				default:
				}
				err := s.ApplyExecutionUpdate(ctx, tenant, nodeStep(exec.ID, "old", seq+1, i))
				switch {
				case err == nil:
					seq++
				case errors.Is(err, store.ErrConflict):
				default:
					// A unique violation here means the old owner wrote after the new one.
					t.Errorf("round %d: old owner's write: %v", round, err)
				}
			}
		})
		time.Sleep(time.Duration(round%5) * 100 * time.Microsecond)
		next, err := s.ClaimExecution(ctx, ref, "new", time.Minute, false)
		require.NoError(t, err, "round %d: the expired lease is claimable", round)
		// The new owner writes straight away, numbering on from what its claim read.
		err = s.ApplyExecutionUpdate(ctx, tenant, nodeStep(exec.ID, "new", next.LastSeq+1, 0))
		claimed <- next
		wg.Wait()
		require.NoError(t, err, "round %d: the new owner's first write collided with the old owner's", round)
		require.Zero(t, afterClaim.Load(), "round %d: the old owner wrote after losing its lease", round)
		got, err := s.GetExecution(ctx, tenant, exec.ID)
		require.NoError(t, err)
		if got.LastSeq != next.LastSeq+1 {
			late++
		}
	}
	require.Zero(t, late, "rounds where the old owner's events landed after the new owner's claim")
}

// nodeStep is a node-only step (a node run and its event) written as owner.
func nodeStep(executionID, owner string, seq int64, i int) *store.ExecutionUpdate {
	now := time.Now()
	node := fmt.Sprintf("%s-%d", owner, i)
	return &store.ExecutionUpdate{ExecutionID: executionID, Owner: owner,
		NodeRuns: []store.NodeRun{{NodeID: node, Attempt: 1, Status: workflow.NodeRunRunning, StartedAt: &now}},
		Events:   []store.Event{{Seq: seq, Type: "node.started", NodeID: node, Attempt: 1, Time: now}}}
}

// testRaceCancelClaim races a cancel with a claim of a queued execution. Either the cancel wins (the
// execution is canceled and the claim fails) or the claim does (the execution runs with its cancel
// requested); never a running execution whose log says it was canceled.
func testRaceCancelClaim(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	for round := range raceRounds {
		exec := NewExecution(t, s, tenant)
		ref := store.ExecutionRef{TenantID: tenant, ID: exec.ID}
		var claimErr, cancelErr error
		var canceled *store.Execution
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			_, claimErr = s.ClaimExecution(ctx, ref, "w", time.Minute, false)
		})
		wg.Go(func() {
			<-start
			canceled, cancelErr = s.RequestCancel(ctx, tenant, exec.ID, store.CancelParams{NodeIDs: []string{"start", "set"}})
		})
		close(start)
		wg.Wait()
		require.NoError(t, cancelErr, "round %d", round)
		got, err := s.GetExecution(ctx, tenant, exec.ID)
		require.NoError(t, err)
		events, err := s.ListEvents(ctx, tenant, exec.ID, 0, 0)
		require.NoError(t, err)
		finished := events[len(events)-1].Type == "execution.finished"
		if claimErr == nil {
			require.Equal(t, workflow.ExecutionRunning, got.Status, "round %d: the claim won", round)
			require.True(t, got.CancelRequested, "round %d: the cancel reaches the worker", round)
			require.Equal(t, workflow.ExecutionRunning, canceled.Status, "round %d: the cancel answers with what it did", round)
			require.False(t, finished, "round %d: a running execution's log does not say it finished", round)
		} else {
			require.ErrorIs(t, claimErr, store.ErrConflict, "round %d", round)
			require.Equal(t, workflow.ExecutionCanceled, got.Status, "round %d: the cancel won", round)
			require.True(t, finished, "round %d", round)
		}
	}
}

// testRaceRenewTakeover has a worker renew its leases while another takes the execution over: the
// renewal reports the lease lost rather than extending someone else's, and cancel requests reach
// only the owner.
func testRaceRenewTakeover(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	for round := range raceRounds / 2 {
		exec := NewExecution(t, s, tenant)
		ref := store.ExecutionRef{TenantID: tenant, ID: exec.ID}
		_, err := s.ClaimExecution(ctx, ref, "a", time.Minute, false)
		require.NoError(t, err)
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			for range 5 {
				if _, err := s.RenewLeases(ctx, []store.Lease{{Ref: ref, Owner: "a"}}, time.Minute); err != nil {
					t.Errorf("round %d: renew: %v", round, err)
					return
				}
			}
		})
		wg.Go(func() {
			<-start
			_, err := s.ClaimExecution(ctx, ref, "b", time.Minute, true)
			if err != nil {
				t.Errorf("round %d: takeover: %v", round, err)
			}
		})
		close(start)
		wg.Wait()
		got, err := s.GetExecution(ctx, tenant, exec.ID)
		require.NoError(t, err)
		require.Equal(t, "b", got.LeaseOwner, "round %d", round)
		res, err := s.RenewLeases(ctx, []store.Lease{{Ref: ref, Owner: "a"}}, time.Minute)
		require.NoError(t, err)
		require.Equal(t, []store.ExecutionRef{ref}, res.Lost, "round %d: the old owner learns it lost the lease", round)
		_, err = s.RequestCancel(ctx, tenant, exec.ID, store.CancelParams{})
		require.NoError(t, err)
		res, err = s.RenewLeases(ctx, []store.Lease{{Ref: ref, Owner: "a"}, {Ref: ref, Owner: "b"}}, time.Minute)
		require.NoError(t, err)
		require.Equal(t, []store.ExecutionRef{ref}, res.Lost, "round %d", round)
		require.Equal(t, []store.ExecutionRef{ref}, res.Cancel, "round %d: the cancel goes to the owner once", round)
	}
}

// testNodeRunStartAndEndInOneStep writes an attempt's start and end in one step, as the engine does
// for pure nodes: the end's state wins and the start's input and time are kept.
func testNodeRunStartAndEndInOneStep(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	exec := NewExecution(t, s, tenant)
	_, err := s.ClaimExecution(ctx, store.ExecutionRef{TenantID: tenant, ID: exec.ID}, "w/1", time.Minute, false)
	require.NoError(t, err)
	start := time.Now().UTC().Truncate(time.Millisecond)
	end := start.Add(time.Millisecond)
	require.NoError(t, s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: exec.ID, Owner: "w/1",
		NodeRuns: []store.NodeRun{
			{NodeID: "a", Attempt: 1, Status: workflow.NodeRunRunning, Input: []byte(`{"in":1}`), StartedAt: &start},
			{NodeID: "b", Attempt: 1, Status: workflow.NodeRunRunning, InputFrom: "a", StartedAt: &start},
			{NodeID: "a", Attempt: 1, Status: workflow.NodeRunSucceeded, Output: []byte(`{"out":1}`), Port: "out", FinishedAt: &end},
			{NodeID: "b", Attempt: 1, Status: workflow.NodeRunSucceeded, Output: []byte(`{"out":2}`), Port: "out", FinishedAt: &end},
		}}))
	runs, err := s.ListNodeRuns(ctx, tenant, exec.ID)
	require.NoError(t, err)
	require.Len(t, runs, 2)
	a, b := runs[0], runs[1]
	require.Equal(t, workflow.NodeRunSucceeded, a.Status)
	require.JSONEq(t, `{"in":1}`, string(a.Input))
	require.JSONEq(t, `{"out":1}`, string(a.Output))
	require.WithinDuration(t, start, *a.StartedAt, time.Millisecond)
	require.WithinDuration(t, end, *a.FinishedAt, time.Millisecond)
	require.Equal(t, "a", b.InputFrom)
	require.NotNil(t, b.StartedAt)
	require.Equal(t, workflow.NodeRunSucceeded, b.Status)
}
