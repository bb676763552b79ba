package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
)

func TestClaimAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	require.Empty(t, store.ClaimAudit(ctx), "a context without entries has none")

	one := store.WithAudit(ctx, store.AuditEntry{Action: "a"})
	require.Equal(t, "a", store.ClaimAudit(one)[0].Action)
	require.Empty(t, store.ClaimAudit(one), "claimed once")

	outer := store.WithAudit(ctx, store.AuditEntry{Action: "outer"})
	inner := store.WithAudit(outer, store.AuditEntry{Action: "inner1"}, store.AuditEntry{Action: "inner2"})
	got := store.ClaimAudit(inner)
	require.Len(t, got, 3)
	require.Equal(t, []string{"outer", "inner1", "inner2"}, []string{got[0].Action, got[1].Action, got[2].Action})
	require.Empty(t, store.ClaimAudit(outer), "the outer entries went with the inner ones")

	// An outer context claimed first keeps its entries from a later inner claim.
	outer = store.WithAudit(ctx, store.AuditEntry{Action: "outer"})
	inner = store.WithAudit(outer, store.AuditEntry{Action: "inner"})
	require.Len(t, store.ClaimAudit(outer), 1)
	got = store.ClaimAudit(inner)
	require.Len(t, got, 1)
	require.Equal(t, "inner", got[0].Action)
}

func TestClaimAuditConcurrent(t *testing.T) {
	t.Parallel()
	ctx := store.WithAudit(context.Background(), store.AuditEntry{Action: "once"})
	var claimed atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if len(store.ClaimAudit(ctx)) > 0 {
				claimed.Add(1)
			}
		})
	}
	wg.Wait()
	require.Equal(t, int32(1), claimed.Load())
}

func TestRole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		role, min store.Role
		want      bool
	}{
		{store.RoleOwner, store.RoleAdmin, true},
		{store.RoleAdmin, store.RoleAdmin, true},
		{store.RoleEditor, store.RoleAdmin, false},
		{store.RoleViewer, store.RoleEditor, false},
		{store.RoleViewer, store.RoleViewer, true},
		{store.Role("root"), store.RoleViewer, false},
		{store.Role(""), store.RoleViewer, false},
	} {
		require.Equal(t, tc.want, tc.role.AtLeast(tc.min), "%q at least %q", tc.role, tc.min)
	}
	require.False(t, store.Role("Owner").Valid(), "roles are lower-case")
}
