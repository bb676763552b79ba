package identity_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/auth"
	"github.com/concertmaster/concertmaster/internal/cache"
	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/secret"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/storesqlite"
)

// peerLink hands what one process signals to the other's cache group, as Redis does between
// processes (internal/cluster tests the real link).
type peerLink struct{ peer *cache.Group }

func (l *peerLink) SignalInvalidate(inv cache.Invalidation) {
	if l.peer != nil {
		l.peer.Receive(inv)
	}
}

func (l *peerLink) Up() bool { return true }

// twoProcesses returns two identity services over one store and secret, each with its own caches;
// linked, each one's changes reach the other's caches.
func twoProcesses(t *testing.T, linked bool) (a, b *identity.Service) {
	t.Helper()
	st, err := storesqlite.Open(storesqlite.Config{Path: filepath.Join(t.TempDir(), "cm.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	_, err = st.Migrate(context.Background())
	require.NoError(t, err)
	key, err := secret.Generate()
	require.NoError(t, err)
	sec, err := secret.Parse(key)
	require.NoError(t, err)
	la, lb := &peerLink{}, &peerLink{}
	ga, gb := cache.NewGroup(la), cache.NewGroup(lb)
	if linked {
		la.peer, lb.peer = gb, ga
	}
	a, err = identity.New(identity.Config{Store: st, Secret: sec, PasswordParams: &cheap, Caches: ga})
	require.NoError(t, err)
	b, err = identity.New(identity.Config{Store: st, Secret: sec, PasswordParams: &cheap, Caches: gb})
	require.NoError(t, err)
	return a, b
}

// TestChangesReachTheOtherProcessAtOnce: a role change, a removal and a key revocation made in
// process A apply to process B's very next request, although B had them cached. Unlinked (the
// control), B goes on with its cached copies until RoleCacheTTL.
func TestChangesReachTheOtherProcessAtOnce(t *testing.T) {
	t.Parallel()
	for _, linked := range []bool{true, false} {
		t.Run(map[bool]string{true: "Linked", false: "Unlinked"}[linked], func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			a, b := twoProcesses(t, linked)
			sess, err := a.Setup(ctx, identity.SetupParams{Email: "ada@example.com", Password: password})
			require.NoError(t, err)
			owner, err := a.Authenticate(ctx, auth.CredentialAccessToken, sess.AccessToken)
			require.NoError(t, err)
			m, err := a.AddMember(ctx, owner, identity.AddMemberParams{Email: "bob@example.com", Role: store.RoleEditor, Password: password})
			require.NoError(t, err)
			bob, err := a.Login(ctx, identity.LoginParams{Email: "bob@example.com", Password: password})
			require.NoError(t, err)
			_, plain, err := a.CreateAPIKey(ctx, owner, identity.CreateAPIKeyParams{Name: "ci", Role: store.RoleEditor})
			require.NoError(t, err)

			// B reads and caches bob's role and the key.
			p, err := b.Authenticate(ctx, auth.CredentialAccessToken, bob.AccessToken)
			require.NoError(t, err)
			require.Equal(t, store.RoleEditor, p.Role)
			_, err = b.Authenticate(ctx, auth.CredentialAPIKey, plain)
			require.NoError(t, err)

			_, err = a.SetMemberRole(ctx, owner, m.UserID, store.RoleViewer)
			require.NoError(t, err)
			p, err = b.Authenticate(ctx, auth.CredentialAccessToken, bob.AccessToken)
			require.NoError(t, err)
			if !linked {
				require.Equal(t, store.RoleEditor, p.Role, "the control: unlinked, B serves its cached role")
				require.Positive(t, b.RoleCacheStats().Hits)
				return
			}
			require.Equal(t, store.RoleViewer, p.Role)

			require.NoError(t, a.RemoveMember(ctx, owner, m.UserID))
			_, err = b.Authenticate(ctx, auth.CredentialAccessToken, bob.AccessToken)
			require.ErrorIs(t, err, identity.ErrUnauthenticated)

			page, err := a.ListAPIKeys(ctx, owner, store.ListAPIKeysParams{})
			require.NoError(t, err)
			require.Len(t, page.Items, 1)
			require.NoError(t, a.RevokeAPIKey(ctx, owner, page.Items[0].ID))
			_, err = b.Authenticate(ctx, auth.CredentialAPIKey, plain)
			require.ErrorIs(t, err, identity.ErrUnauthenticated)
			require.Positive(t, b.APIKeyCacheStats().Invalidations)
		})
	}
}
