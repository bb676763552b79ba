package storetest

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
)

// NewUser creates a user with a unique e-mail and returns it.
func NewUser(t *testing.T, s store.Store, name string) *store.User {
	t.Helper()
	id := NewID()
	u, err := s.CreateUser(context.Background(), store.User{ID: id, Email: name + "-" + id + "@example.com", Name: name, PasswordHash: "$argon2id$hash-of-" + name})
	require.NoError(t, err)
	return u
}

// NewTenant creates a tenant and returns its id.
func NewTenant(t *testing.T, s store.Store) string {
	t.Helper()
	id := "tenant-" + NewID()
	require.NoError(t, s.CreateTenant(context.Background(), id, "Tenant "+id))
	return id
}

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	n, err := s.CountUsers(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "first run: no user exists")

	id := NewID()
	u, err := s.CreateUser(ctx, store.User{ID: id, Email: "Éva.Owner@Example.com", Name: "Éva", PasswordHash: "h1"})
	require.NoError(t, err)
	require.Equal(t, "Éva.Owner@Example.com", u.Email, "the e-mail is kept as given")
	require.False(t, u.CreatedAt.IsZero())

	for _, tc := range []struct {
		name string
		user store.User
		want error
	}{
		{"same e-mail in other case", store.User{ID: NewID(), Email: "éva.owner@example.COM"}, store.ErrConflict},
		{"same id", store.User{ID: id, Email: "other@example.com"}, store.ErrConflict},
		{"no e-mail", store.User{ID: NewID()}, store.ErrInvalidInput},
		{"no id", store.User{Email: "x@example.com"}, store.ErrInvalidInput},
	} {
		_, err := s.CreateUser(ctx, tc.user)
		require.ErrorIs(t, err, tc.want, tc.name)
	}

	got, err := s.GetUser(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "h1", got.PasswordHash)
	require.Nil(t, got.DisabledAt)
	got, err = s.GetUserByEmail(ctx, "ÉVA.OWNER@example.com")
	require.NoError(t, err)
	require.Equal(t, id, got.ID)
	_, err = s.GetUserByEmail(ctx, "nobody@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetUser(ctx, NewID())
	require.ErrorIs(t, err, store.ErrNotFound)

	name, hash := "Éva B.", "h2"
	got, err = s.UpdateUser(ctx, id, store.UserUpdate{Name: &name})
	require.NoError(t, err)
	require.Equal(t, "Éva B.", got.Name)
	require.Equal(t, "h1", got.PasswordHash, "a field left nil stays")
	got, err = s.UpdateUser(ctx, id, store.UserUpdate{PasswordHash: &hash})
	require.NoError(t, err)
	require.Equal(t, "Éva B.", got.Name)
	require.Equal(t, "h2", got.PasswordHash)
	_, err = s.UpdateUser(ctx, NewID(), store.UserUpdate{Name: &name})
	require.ErrorIs(t, err, store.ErrNotFound)

	// Disabling revokes the user's refresh tokens.
	family := NewID()
	require.NoError(t, s.CreateRefreshToken(ctx, store.RefreshToken{FamilyID: family, Hash: "rt-" + family, UserID: id,
		TenantID: store.DefaultTenant, ExpiresAt: time.Now().Add(time.Hour)}))
	require.NoError(t, s.DisableUser(ctx, id))
	require.NoError(t, s.DisableUser(ctx, id), "disabling twice changes nothing")
	require.ErrorIs(t, s.DisableUser(ctx, NewID()), store.ErrNotFound)
	got, err = s.GetUser(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, got.DisabledAt)
	_, err = s.RotateRefreshToken(ctx, "rt-"+family, "rt2-"+family, time.Now().Add(time.Hour))
	require.ErrorIs(t, err, store.ErrTokenRevoked)

	NewUser(t, s, "second")
	n, err = s.CountUsers(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func testMemberships(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant := NewTenant(t, s)
	a, b, c := NewUser(t, s, "alice"), NewUser(t, s, "bob"), NewUser(t, s, "carol")

	_, err := s.AddMember(ctx, tenant, a.ID, store.RoleOwner)
	require.NoError(t, err)
	for _, tc := range []struct {
		name         string
		tenant, user string
		role         store.Role
		want         error
	}{
		{"already a member", tenant, a.ID, store.RoleViewer, store.ErrConflict},
		{"unknown user", tenant, NewID(), store.RoleViewer, store.ErrNotFound},
		{"unknown tenant", "tenant-" + NewID(), b.ID, store.RoleViewer, store.ErrNotFound},
		{"no such role", tenant, b.ID, store.Role("root"), store.ErrInvalidInput},
		{"empty role", tenant, b.ID, store.Role(""), store.ErrInvalidInput},
	} {
		_, err := s.AddMember(ctx, tc.tenant, tc.user, tc.role)
		require.ErrorIs(t, err, tc.want, tc.name)
	}

	// The last owner can be neither demoted nor removed; the refusal says why.
	_, err = s.SetMemberRole(ctx, tenant, a.ID, store.RoleAdmin)
	require.ErrorIs(t, err, store.ErrLastOwner)
	require.ErrorIs(t, err, store.ErrConflict)
	require.Contains(t, err.Error(), "at least one owner")
	require.ErrorIs(t, s.RemoveMember(ctx, tenant, a.ID), store.ErrLastOwner)
	m, err := s.GetMembership(ctx, tenant, a.ID)
	require.NoError(t, err)
	require.Equal(t, store.RoleOwner, m.Role, "a refused change changes nothing")
	_, err = s.SetMemberRole(ctx, tenant, a.ID, store.RoleOwner)
	require.NoError(t, err, "an owner staying owner is no demotion")

	_, err = s.AddMember(ctx, tenant, b.ID, store.RoleEditor)
	require.NoError(t, err)
	m, err = s.SetMemberRole(ctx, tenant, b.ID, store.RoleOwner)
	require.NoError(t, err)
	require.Equal(t, store.RoleOwner, m.Role)
	m, err = s.SetMemberRole(ctx, tenant, a.ID, store.RoleViewer)
	require.NoError(t, err, "another owner remains")
	require.Equal(t, store.RoleViewer, m.Role)
	require.ErrorIs(t, s.RemoveMember(ctx, tenant, b.ID), store.ErrLastOwner)
	_, err = s.SetMemberRole(ctx, tenant, c.ID, store.RoleViewer)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.SetMemberRole(ctx, tenant, a.ID, store.Role("superuser"))
	require.ErrorIs(t, err, store.ErrInvalidInput)

	_, err = s.AddMember(ctx, tenant, c.ID, store.RoleAdmin)
	require.NoError(t, err)

	// A disabled owner counts for no tenant: the last owner who is not disabled can be neither
	// disabled nor demoted, and a disabled owner leaves freely.
	d := NewUser(t, s, "dave")
	_, err = s.AddMember(ctx, tenant, d.ID, store.RoleOwner)
	require.NoError(t, err)
	require.NoError(t, s.DisableUser(ctx, d.ID), "bob is still an owner")
	err = s.DisableUser(ctx, b.ID)
	require.ErrorIs(t, err, store.ErrLastOwner)
	require.Contains(t, err.Error(), tenant)
	got, err := s.GetUser(ctx, b.ID)
	require.NoError(t, err)
	require.Nil(t, got.DisabledAt, "a refused disable changes nothing")
	_, err = s.SetMemberRole(ctx, tenant, b.ID, store.RoleAdmin)
	require.ErrorIs(t, err, store.ErrLastOwner, "dave is disabled")
	require.NoError(t, s.RemoveMember(ctx, tenant, d.ID))

	// Members by e-mail, paged.
	var emails []string
	cursor := ""
	for range 4 {
		page, err := s.ListMembers(ctx, tenant, store.ListMembersParams{Limit: 1, Cursor: cursor})
		require.NoError(t, err)
		for _, m := range page.Items {
			emails = append(emails, m.Email)
			require.Equal(t, tenant, m.TenantID)
			require.NotEmpty(t, m.Name)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	require.Equal(t, []string{a.Email, b.Email, c.Email}, emails)
	_, err = s.ListMembers(ctx, tenant, store.ListMembersParams{Cursor: "nonsense"})
	require.ErrorIs(t, err, store.ErrBadCursor)

	// A user's tenants, with their role in each.
	_, err = s.AddMember(ctx, store.DefaultTenant, a.ID, store.RoleEditor)
	require.NoError(t, err)
	tenants, err := s.ListUserTenants(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, tenants, 2)
	require.Equal(t, store.DefaultTenant, tenants[0].TenantID)
	require.Equal(t, "Default", tenants[0].TenantName)
	require.Equal(t, store.RoleEditor, tenants[0].Role)
	require.Equal(t, tenant, tenants[1].TenantID)
	require.Equal(t, store.RoleViewer, tenants[1].Role)

	// Tenant scoping: the other tenant knows none of them.
	_, err = s.GetMembership(ctx, store.DefaultTenant, b.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.RemoveMember(ctx, store.DefaultTenant, c.ID), store.ErrNotFound)
	page, err := s.ListMembers(ctx, store.DefaultTenant, store.ListMembersParams{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)

	// Removing a member revokes their refresh tokens of that tenant only.
	here, there := NewID(), NewID()
	exp := time.Now().Add(time.Hour)
	require.NoError(t, s.CreateRefreshToken(ctx, store.RefreshToken{FamilyID: here, Hash: "h-" + here, UserID: a.ID, TenantID: tenant, ExpiresAt: exp}))
	require.NoError(t, s.CreateRefreshToken(ctx, store.RefreshToken{FamilyID: there, Hash: "h-" + there, UserID: a.ID, TenantID: store.DefaultTenant, ExpiresAt: exp}))
	require.NoError(t, s.RemoveMember(ctx, tenant, a.ID))
	_, err = s.GetMembership(ctx, tenant, a.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.RotateRefreshToken(ctx, "h-"+here, "h2-"+here, exp)
	require.ErrorIs(t, err, store.ErrTokenRevoked)
	_, err = s.RotateRefreshToken(ctx, "h-"+there, "h2-"+there, exp)
	require.NoError(t, err)
}

// testLastOwnerConcurrent races two changes that would each be allowed alone but together leave
// no owner: exactly one must win.
func testLastOwnerConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	ops := []struct {
		name string
		fn   func(tenant, a, b string) (errA, errB error)
	}{
		{"both demote themselves", func(tenant, a, b string) (error, error) {
			return race(func() error { _, err := s.SetMemberRole(ctx, tenant, a, store.RoleAdmin); return err },
				func() error { _, err := s.SetMemberRole(ctx, tenant, b, store.RoleViewer); return err })
		}},
		{"both leave", func(tenant, a, b string) (error, error) {
			return race(func() error { return s.RemoveMember(ctx, tenant, a) }, func() error { return s.RemoveMember(ctx, tenant, b) })
		}},
		{"one leaves, one is demoted", func(tenant, a, b string) (error, error) {
			return race(func() error { return s.RemoveMember(ctx, tenant, a) },
				func() error { _, err := s.SetMemberRole(ctx, tenant, b, store.RoleEditor); return err })
		}},
		{"one is disabled, one leaves", func(tenant, a, b string) (error, error) {
			return race(func() error { return s.DisableUser(ctx, a) }, func() error { return s.RemoveMember(ctx, tenant, b) })
		}},
	}
	for _, op := range ops {
		for range 8 {
			tenant := NewTenant(t, s)
			a, b := NewUser(t, s, "a"), NewUser(t, s, "b")
			for _, u := range []*store.User{a, b} {
				_, err := s.AddMember(ctx, tenant, u.ID, store.RoleOwner)
				require.NoError(t, err)
			}
			errA, errB := op.fn(tenant, a.ID, b.ID)
			require.True(t, (errA == nil) != (errB == nil), "%s: exactly one wins: %v, %v", op.name, errA, errB)
			require.ErrorIs(t, errors.Join(errA, errB), store.ErrLastOwner, op.name)
			owners := 0
			page, err := s.ListMembers(ctx, tenant, store.ListMembersParams{})
			require.NoError(t, err)
			for _, m := range page.Items {
				if m.Role == store.RoleOwner && !m.Disabled {
					owners++
				}
			}
			require.Equal(t, 1, owners, op.name)
		}
	}
}

// race runs f and g at the same time and returns their errors.
func race(f, g func() error) (error, error) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	var errF, errG error
	wg.Add(2)
	go func() { defer wg.Done(); <-start; errF = f() }()
	go func() { defer wg.Done(); <-start; errG = g() }()
	close(start)
	wg.Wait()
	return errF, errG
}

func testRefreshTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "rt")
	now := time.Now().UTC()
	famExp := now.Add(24 * time.Hour).Truncate(time.Microsecond)
	family := NewID()
	first := store.RefreshToken{FamilyID: family, Hash: "h1-" + family, UserID: u.ID, TenantID: store.DefaultTenant,
		ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: &famExp}
	require.NoError(t, s.CreateRefreshToken(ctx, first))
	require.ErrorIs(t, s.CreateRefreshToken(ctx, first), store.ErrConflict)
	dup := first
	dup.FamilyID = NewID()
	require.ErrorIs(t, s.CreateRefreshToken(ctx, dup), store.ErrConflict, "a hash is stored once")
	noExp := first
	noExp.FamilyID, noExp.Hash, noExp.ExpiresAt = NewID(), "x", time.Time{}
	require.ErrorIs(t, s.CreateRefreshToken(ctx, noExp), store.ErrInvalidInput)
	for _, orphan := range []store.RefreshToken{
		{FamilyID: NewID(), Hash: "o1-" + family, UserID: NewID(), TenantID: store.DefaultTenant, ExpiresAt: now.Add(time.Hour)},
		{FamilyID: NewID(), Hash: "o2-" + family, UserID: u.ID, TenantID: "tenant-" + NewID(), ExpiresAt: now.Add(time.Hour)},
	} {
		require.ErrorIs(t, s.CreateRefreshToken(ctx, orphan), store.ErrNotFound)
	}

	got, err := s.GetRefreshToken(ctx, first.Hash)
	require.NoError(t, err)
	require.Equal(t, family, got.FamilyID)
	require.Equal(t, u.ID, got.UserID)
	require.Equal(t, store.DefaultTenant, got.TenantID)
	require.Nil(t, got.UsedAt)
	require.Nil(t, got.RevokedAt)
	require.True(t, famExp.Equal(*got.FamilyExpiresAt))

	second, err := s.RotateRefreshToken(ctx, first.Hash, "h2-"+family, now.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, family, second.FamilyID)
	require.Equal(t, u.ID, second.UserID)
	got, err = s.GetRefreshToken(ctx, first.Hash)
	require.NoError(t, err)
	require.NotNil(t, got.UsedAt, "a rotated token is marked used")
	third, err := s.RotateRefreshToken(ctx, second.Hash, "h3-"+family, now.Add(48*time.Hour))
	require.NoError(t, err)
	require.True(t, famExp.Equal(third.ExpiresAt), "no token outlives its family: %v", third.ExpiresAt)

	// Replaying a rotated token revokes the whole family, the current token too.
	_, err = s.RotateRefreshToken(ctx, first.Hash, "h4-"+family, now.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrTokenReused)
	got, err = s.GetRefreshToken(ctx, third.Hash)
	require.NoError(t, err)
	require.NotNil(t, got.RevokedAt)
	_, err = s.RotateRefreshToken(ctx, third.Hash, "h5-"+family, now.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrTokenRevoked)
	_, err = s.GetRefreshToken(ctx, "h4-"+family)
	require.ErrorIs(t, err, store.ErrNotFound, "a refused rotation stores nothing")
	_, err = s.RotateRefreshToken(ctx, "unknown", "h6", now.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.RotateRefreshToken(ctx, third.Hash, "", now.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrInvalidInput)

	// Expiry: of the token (sliding) and of its family (absolute).
	past := now.Add(-time.Minute)
	expired := NewID()
	require.NoError(t, s.CreateRefreshToken(ctx, store.RefreshToken{FamilyID: expired, Hash: "h-" + expired, UserID: u.ID,
		TenantID: store.DefaultTenant, ExpiresAt: past}))
	_, err = s.RotateRefreshToken(ctx, "h-"+expired, "h2-"+expired, now.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrTokenExpired)
	got, err = s.GetRefreshToken(ctx, "h-"+expired)
	require.NoError(t, err)
	require.Nil(t, got.UsedAt, "an expired token is not marked used")
	oldFamily := NewID()
	require.NoError(t, s.CreateRefreshToken(ctx, store.RefreshToken{FamilyID: oldFamily, Hash: "h-" + oldFamily, UserID: u.ID,
		TenantID: store.DefaultTenant, ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: &past}))
	_, err = s.RotateRefreshToken(ctx, "h-"+oldFamily, "h2-"+oldFamily, now.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrTokenExpired)

	// Logout revokes the family.
	live := NewID()
	require.NoError(t, s.CreateRefreshToken(ctx, store.RefreshToken{FamilyID: live, Hash: "h-" + live, UserID: u.ID,
		TenantID: store.DefaultTenant, ExpiresAt: now.Add(time.Hour)}))
	require.NoError(t, s.RevokeRefreshFamily(ctx, live))
	require.NoError(t, s.RevokeRefreshFamily(ctx, live), "revoking twice changes nothing")
	require.ErrorIs(t, s.RevokeRefreshFamily(ctx, NewID()), store.ErrNotFound)
	_, err = s.RotateRefreshToken(ctx, "h-"+live, "h2-"+live, now.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrTokenRevoked)

	// Purging deletes expired tokens and the families they leave empty.
	n, err := s.PurgeRefreshTokens(ctx, now)
	require.NoError(t, err)
	require.Equal(t, 2, n, "the tokens that expired before now: one by its own expiry, one capped by its family's")
	for _, family := range []string{expired, oldFamily} {
		_, err = s.GetRefreshToken(ctx, "h-"+family)
		require.ErrorIs(t, err, store.ErrNotFound)
		require.ErrorIs(t, s.RevokeRefreshFamily(ctx, family), store.ErrNotFound, "an emptied family goes too")
	}
	for _, hash := range []string{first.Hash, third.Hash, "h-" + live} {
		_, err = s.GetRefreshToken(ctx, hash)
		require.NoError(t, err, "a token that has not expired stays, used or revoked")
	}
}

// testRotateConcurrent rotates one token twice at the same time: exactly one rotation succeeds, the
// other is a reuse, and the family ends revoked.
func testRotateConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := NewUser(t, s, "race")
	for i := range 10 {
		family := NewID()
		exp := time.Now().Add(time.Hour)
		require.NoError(t, s.CreateRefreshToken(ctx, store.RefreshToken{FamilyID: family, Hash: "h-" + family, UserID: u.ID,
			TenantID: store.DefaultTenant, ExpiresAt: exp}))
		var a, b *store.RefreshToken
		errA, errB := race(func() (err error) { a, err = s.RotateRefreshToken(ctx, "h-"+family, "a-"+family, exp); return err },
			func() (err error) { b, err = s.RotateRefreshToken(ctx, "h-"+family, "b-"+family, exp); return err })
		require.True(t, (errA == nil) != (errB == nil), "round %d: exactly one wins: %v, %v", i, errA, errB)
		require.ErrorIs(t, errors.Join(errA, errB), store.ErrTokenReused)
		winner := a
		if winner == nil {
			winner = b
		}
		require.NotNil(t, winner)
		got, err := s.GetRefreshToken(ctx, winner.Hash)
		require.NoError(t, err)
		require.NotNil(t, got.RevokedAt, "round %d: the family ends revoked", i)
		_, err = s.RotateRefreshToken(ctx, winner.Hash, "c-"+family, exp)
		require.ErrorIs(t, err, store.ErrTokenRevoked)
	}
}

func testAPIKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	other := NewTenant(t, s)
	hour := time.Now().Add(time.Hour)
	past := time.Now().Add(-time.Minute)
	var ids, hashes []string
	for i, k := range []store.APIKey{
		{Name: "ci", Role: store.RoleEditor},
		{Name: "expiring", Role: store.RoleViewer, ExpiresAt: &hour},
		{Name: "expired", Role: store.RoleViewer, ExpiresAt: &past},
		{Name: "revoked", Role: store.RoleAdmin},
	} {
		k.TenantID, k.ID, k.Hash, k.CreatedBy = tenant, NewID(), fmt.Sprintf("hash-%d-%s", i, NewID()), "user-1"
		got, err := s.CreateAPIKey(ctx, k)
		require.NoError(t, err)
		require.False(t, got.CreatedAt.IsZero())
		ids, hashes = append(ids, k.ID), append(hashes, k.Hash)
	}
	first, err := s.ListAPIKeys(ctx, tenant, store.ListAPIKeysParams{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, ids[0], first.Items[0].ID)
	require.Empty(t, first.Items[0].Hash, "lists never hold hashes")
	require.NoError(t, s.RevokeAPIKey(ctx, tenant, ids[3]))
	require.ErrorIs(t, s.RevokeAPIKey(ctx, tenant, ids[3]), store.ErrNotFound, "revoked already")

	for _, tc := range []struct {
		name string
		key  store.APIKey
		want error
	}{
		{"same id", store.APIKey{TenantID: tenant, ID: ids[0], Name: "x", Role: store.RoleViewer, Hash: "fresh-" + NewID()}, store.ErrConflict},
		{"same hash in another tenant", store.APIKey{TenantID: other, ID: NewID(), Name: "x", Role: store.RoleViewer, Hash: hashes[0]}, store.ErrConflict},
		{"another tenant's key", store.APIKey{TenantID: other, ID: NewID(), Name: "x", Role: store.RoleViewer, Hash: "h-" + NewID()}, nil},
		{"no role", store.APIKey{TenantID: tenant, ID: NewID(), Name: "x", Hash: "h-" + NewID()}, store.ErrInvalidInput},
		{"no name", store.APIKey{TenantID: tenant, ID: NewID(), Role: store.RoleViewer, Hash: "h-" + NewID()}, store.ErrInvalidInput},
		{"no hash", store.APIKey{TenantID: tenant, ID: NewID(), Name: "x", Role: store.RoleViewer}, store.ErrInvalidInput},
		{"unknown tenant", store.APIKey{TenantID: "tenant-" + NewID(), ID: NewID(), Name: "x", Role: store.RoleViewer, Hash: "h-" + NewID()}, store.ErrNotFound},
	} {
		_, err := s.CreateAPIKey(ctx, tc.key)
		if tc.want == nil {
			require.NoError(t, err, tc.name)
			continue
		}
		require.ErrorIs(t, err, tc.want, tc.name)
	}

	// Looked up by hash, across tenants, only while usable.
	page, err := s.ListAPIKeys(ctx, tenant, store.ListAPIKeysParams{IncludeRevoked: true, Limit: 500})
	require.NoError(t, err)
	require.Len(t, page.Items, 4)
	require.NotNil(t, page.Items[3].RevokedAt)
	for i, want := range []error{nil, nil, store.ErrNotFound, store.ErrNotFound} {
		k := hashes[i]
		got, err := s.GetAPIKeyByHash(ctx, k)
		if want != nil {
			require.ErrorIs(t, err, want, "key %d", i)
			continue
		}
		require.NoError(t, err, "key %d", i)
		require.Equal(t, ids[i], got.ID)
		require.Equal(t, tenant, got.TenantID)
		require.Equal(t, k, got.Hash)
	}
	_, err = s.GetAPIKeyByHash(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	// Paging, without revoked keys by default.
	var listed []string
	cursor := ""
	for range 5 {
		p, err := s.ListAPIKeys(ctx, tenant, store.ListAPIKeysParams{Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		for _, k := range p.Items {
			listed = append(listed, k.ID)
			require.Empty(t, k.Hash)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	require.Equal(t, ids[:3], listed)

	// Last used: written at most once a minute.
	at := time.Now().UTC()
	for _, tc := range []struct {
		at    time.Time
		wrote bool
	}{{at, true}, {at.Add(30 * time.Second), false}, {at.Add(59 * time.Second), false}, {at.Add(61 * time.Second), true}, {at.Add(62 * time.Second), false}} {
		wrote, err := s.TouchAPIKey(ctx, tenant, ids[0], tc.at)
		require.NoError(t, err)
		require.Equal(t, tc.wrote, wrote, "touch at +%v", tc.at.Sub(at))
	}
	p, err := s.ListAPIKeys(ctx, tenant, store.ListAPIKeysParams{Limit: 1})
	require.NoError(t, err)
	require.NotNil(t, p.Items[0].LastUsedAt)
	require.True(t, at.Add(61*time.Second).Truncate(time.Microsecond).Equal(*p.Items[0].LastUsedAt))

	// Tenant scoping.
	_, err = s.TouchAPIKey(ctx, other, ids[0], at)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.RevokeAPIKey(ctx, other, ids[0]), store.ErrNotFound)
	p, err = s.ListAPIKeys(ctx, other, store.ListAPIKeysParams{IncludeRevoked: true})
	require.NoError(t, err)
	require.Len(t, p.Items, 1, "only the other tenant's own key")
	_, err = s.ListAPIKeys(ctx, tenant, store.ListAPIKeysParams{Cursor: "bad!"})
	require.ErrorIs(t, err, store.ErrBadCursor)
}

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	other := NewTenant(t, s)
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	var entries []store.AuditEntry
	for i := range 6 {
		actor := "user-a"
		if i%2 == 1 {
			actor = "apikey:k1"
		}
		entries = append(entries, store.AuditEntry{TenantID: tenant, Time: base.Add(time.Duration(i) * time.Minute), Actor: actor,
			Action: []string{"auth.login", "workflow.updated", "workflow.deleted"}[i%3], TargetType: "workflow", TargetID: fmt.Sprintf("wf-%d", i%2),
			IP: "192.0.2.1", UserAgent: "test/1", Details: json.RawMessage(fmt.Sprintf(`{"n":%d,"note":"a\u0000b"}`, i))})
	}
	require.NoError(t, s.AppendAudit(ctx, entries...))
	require.NoError(t, s.AppendAudit(ctx, store.AuditEntry{TenantID: other, Actor: "user-b", Action: "auth.login"}))
	require.NoError(t, s.AppendAudit(ctx, store.AuditEntry{Actor: "anonymous", Action: "auth.login_failed", IP: "198.51.100.7"}),
		"a server-wide event belongs to no tenant")

	all, err := s.ListAudit(ctx, tenant, store.ListAuditParams{})
	require.NoError(t, err)
	require.Len(t, all.Items, 6)
	require.True(t, entries[5].Time.Equal(all.Items[0].Time), "newest first")
	require.NotEmpty(t, all.Items[0].ID, "the store assigns ids")
	require.Equal(t, "192.0.2.1", all.Items[0].IP)
	require.Equal(t, "test/1", all.Items[0].UserAgent)
	require.JSONEq(t, `{"n":5,"note":"a\u0000b"}`, string(all.Items[0].Details))

	for _, tc := range []struct {
		name   string
		params store.ListAuditParams
		want   []int // indexes into entries, in listed order
	}{
		{"actor", store.ListAuditParams{Actor: "apikey:k1"}, []int{5, 3, 1}},
		{"action", store.ListAuditParams{Action: "workflow.updated"}, []int{4, 1}},
		{"target", store.ListAuditParams{TargetType: "workflow", TargetID: "wf-0"}, []int{4, 2, 0}},
		{"time range", store.ListAuditParams{Since: base.Add(2 * time.Minute), Until: base.Add(4 * time.Minute)}, []int{3, 2}},
		{"ascending", store.ListAuditParams{Ascending: true, Actor: "user-a"}, []int{0, 2, 4}},
		{"nothing matches", store.ListAuditParams{Actor: "user-b"}, nil},
	} {
		page, err := s.ListAudit(ctx, tenant, tc.params)
		require.NoError(t, err, tc.name)
		var got []int
		for _, e := range page.Items {
			for i, want := range entries {
				if want.Time.Equal(e.Time) {
					got = append(got, i)
				}
			}
		}
		require.Equal(t, tc.want, got, tc.name)
	}

	// Cursor paging both ways, and the export iterator over pages.
	for _, asc := range []bool{false, true} {
		var got []time.Time
		cursor := ""
		for range 10 {
			page, err := s.ListAudit(ctx, tenant, store.ListAuditParams{Limit: 4, Cursor: cursor, Ascending: asc})
			require.NoError(t, err)
			for _, e := range page.Items {
				got = append(got, e.Time)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		require.Len(t, got, 6)
		for i := 1; i < len(got); i++ {
			require.Equal(t, asc, got[i].After(got[i-1]), "ascending=%v", asc)
		}
		var exported []store.AuditEntry
		for e, err := range store.AuditEntries(ctx, s, tenant, store.ListAuditParams{Limit: 4, Ascending: asc}) {
			require.NoError(t, err)
			exported = append(exported, e)
		}
		require.Len(t, exported, 6)
		require.True(t, got[0].Equal(exported[0].Time))
	}
	for e, err := range store.AuditEntries(ctx, s, tenant, store.ListAuditParams{Cursor: "bad!"}) {
		require.ErrorIs(t, err, store.ErrBadCursor)
		require.Empty(t, e.ID)
	}

	// Tenant scoping.
	page, err := s.ListAudit(ctx, other, store.ListAuditParams{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, "user-b", page.Items[0].Actor)
	page, err = s.ListAudit(ctx, "", store.ListAuditParams{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, "auth.login_failed", page.Items[0].Action)

	// Refusals.
	for _, bad := range []store.AuditEntry{
		{TenantID: tenant, Actor: "a"},
		{TenantID: tenant, Action: "x"},
		{TenantID: tenant, Actor: "a", Action: "x", Details: json.RawMessage(`{"open":`)},
		{TenantID: tenant, Actor: "a\x00", Action: "x"},
	} {
		require.ErrorIs(t, s.AppendAudit(ctx, bad), store.ErrInvalidInput)
	}
	_, err = s.ListAudit(ctx, tenant, store.ListAuditParams{Actor: "\xff"})
	require.ErrorIs(t, err, store.ErrInvalidInput)
}

// testAuditWithWrite checks that entries WithAudit attaches commit with the next write, roll back
// with it, and are written once.
func testAuditWithWrite(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	wf := NewID()
	_, err := s.CreateWorkflow(ctx, tenant, wf, Definition("audited"))
	require.NoError(t, err)
	entry := func(action string) store.AuditEntry {
		return store.AuditEntry{TenantID: tenant, Actor: "user-a", Action: action, TargetType: "workflow", TargetID: wf,
			Details: json.RawMessage(`{"before":1,"after":2}`)}
	}
	actions := func() []string {
		t.Helper()
		var out []string
		for e, err := range store.AuditEntries(ctx, s, tenant, store.ListAuditParams{TargetID: wf, Ascending: true}) {
			require.NoError(t, err)
			out = append(out, e.Action)
		}
		return out
	}

	saved := store.WithAudit(ctx, entry("workflow.updated"))
	_, err = s.UpdateWorkflow(saved, tenant, wf, 1, Definition("audited v2"), nil, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"workflow.updated"}, actions(), "committed with the change")
	_, err = s.SetWorkflowActive(saved, tenant, wf, true, nil, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"workflow.updated"}, actions(), "a second write with the context writes nothing more")

	stale := store.WithAudit(ctx, entry("workflow.stale"))
	_, err = s.UpdateWorkflow(stale, tenant, wf, 1, Definition("stale"), nil, nil)
	require.ErrorIs(t, err, store.ErrVersionMismatch)
	require.Equal(t, []string{"workflow.updated"}, actions(), "rolled back with the change")
	_, err = s.SetWorkflowActive(stale, tenant, wf, false, nil, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"workflow.updated"}, actions(), "the failed write consumed them")

	// Nested: the outer entries go with the inner ones, in order, once.
	nested := store.WithAudit(store.WithAudit(ctx, entry("outer")), entry("inner"))
	require.NoError(t, s.AppendAudit(nested, entry("appended")))
	require.Equal(t, []string{"workflow.updated", "appended", "outer", "inner"}, actions(), "one transaction")

	// A write that finds its change already made records nothing: an idempotent repeat of a run or
	// of a cancel request, a refresh token reuse (whose revocation still commits).
	run := store.CreateExecutionParams{ID: NewID(), WorkflowID: wf, WorkflowVersion: 2, TriggerKind: store.TriggerManual,
		IdempotencyKey: "run-1", RequestHash: "h"}
	_, created, err := s.CreateExecution(store.WithAudit(ctx, entry("execution.started")), tenant, run)
	require.NoError(t, err)
	require.True(t, created)
	repeat := run
	repeat.ID = NewID()
	_, created, err = s.CreateExecution(store.WithAudit(ctx, entry("execution.started again")), tenant, repeat)
	require.NoError(t, err)
	require.False(t, created)
	cancel := store.CancelParams{IdempotencyKey: "cancel-1"}
	_, err = s.RequestCancel(store.WithAudit(ctx, entry("execution.canceled")), tenant, run.ID, cancel)
	require.NoError(t, err)
	_, err = s.RequestCancel(store.WithAudit(ctx, entry("execution.canceled again")), tenant, run.ID, cancel)
	require.NoError(t, err)
	u := NewUser(t, s, "audited")
	family := NewID()
	exp := time.Now().Add(time.Hour)
	require.NoError(t, s.CreateRefreshToken(ctx, store.RefreshToken{FamilyID: family, Hash: "h-" + family, UserID: u.ID, TenantID: tenant, ExpiresAt: exp}))
	_, err = s.RotateRefreshToken(store.WithAudit(ctx, entry("auth.refresh")), "h-"+family, "h2-"+family, exp)
	require.NoError(t, err)
	_, err = s.RotateRefreshToken(store.WithAudit(ctx, entry("auth.refresh again")), "h-"+family, "h3-"+family, exp)
	require.ErrorIs(t, err, store.ErrTokenReused)
	rt, err := s.GetRefreshToken(ctx, "h2-"+family)
	require.NoError(t, err)
	require.NotNil(t, rt.RevokedAt, "the reuse revoked the family")
	require.Equal(t, []string{"workflow.updated", "appended", "outer", "inner", "execution.started", "execution.canceled", "auth.refresh"}, actions())

	// A bad entry refuses the write it rides on: nothing changes.
	bad := store.WithAudit(ctx, store.AuditEntry{TenantID: tenant, Actor: "user-a"})
	_, err = s.UpdateWorkflow(bad, tenant, wf, 2, Definition("never"), nil, nil)
	require.ErrorIs(t, err, store.ErrInvalidInput)
	w, err := s.GetWorkflow(ctx, tenant, wf)
	require.NoError(t, err)
	require.Equal(t, 2, w.Version)

	// Concurrent writes, some failing: on SQLite they share group-commit transactions, and a
	// failure re-runs each write alone. Every successful write's entry is there exactly once, and
	// no failed write's.
	const n = 16
	ids := make([]string, n)
	for i := range ids {
		ids[i] = NewID()
		_, err := s.CreateWorkflow(ctx, tenant, ids[i], Definition("batch"))
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			version := 1 + i%2 // odd ones name a stale version
			c := store.WithAudit(ctx, store.AuditEntry{TenantID: tenant, Actor: "batch", Action: "workflow.updated", TargetID: ids[i]})
			_, errs[i] = s.UpdateWorkflow(c, tenant, ids[i], version, Definition("batch v2"), nil, nil)
		}()
	}
	close(start)
	wg.Wait()
	page, err := s.ListAudit(ctx, tenant, store.ListAuditParams{Actor: "batch", Limit: 500})
	require.NoError(t, err)
	got := map[string]int{}
	for _, e := range page.Items {
		got[e.TargetID]++
	}
	for i := range n {
		if i%2 == 0 {
			require.NoError(t, errs[i])
			require.Equal(t, 1, got[ids[i]], "write %d", i)
		} else {
			require.ErrorIs(t, errs[i], store.ErrVersionMismatch)
			require.Zero(t, got[ids[i]], "write %d", i)
		}
	}
}

// testWebhookCrossTenant checks that webhook paths are unique across the server and that a clash
// with another tenant's route reveals nothing of it.
func testWebhookCrossTenant(t *testing.T, s store.Store) {
	ctx := context.Background()
	other := NewTenant(t, s)
	mine := NewID()
	_, err := s.CreateWorkflow(ctx, store.DefaultTenant, mine, Definition("mine"))
	require.NoError(t, err)
	route := store.WebhookRoute{Method: "POST", Path: "shared/" + NewID(), NodeID: "hook", Respond: "onCompletion"}
	_, err = s.SetWorkflowActive(ctx, store.DefaultTenant, mine, true, []store.WebhookRoute{route}, nil)
	require.NoError(t, err)

	theirs := NewID()
	_, err = s.CreateWorkflow(ctx, other, theirs, Definition("theirs"))
	require.NoError(t, err)
	check := func(err error) {
		t.Helper()
		require.ErrorIs(t, err, store.ErrConflict)
		var conflict *store.RouteConflictError
		require.ErrorAs(t, err, &conflict)
		require.Empty(t, conflict.WorkflowID, "the other tenant's workflow stays unnamed")
		require.NotContains(t, err.Error(), mine)
		require.NotContains(t, err.Error(), store.DefaultTenant)
		require.Contains(t, err.Error(), "already in use")
	}
	_, err = s.SetWorkflowActive(ctx, other, theirs, true, []store.WebhookRoute{route}, nil)
	check(err)
	_, err = s.SetWorkflowActive(ctx, other, theirs, true, nil, nil)
	require.NoError(t, err)
	_, err = s.UpdateWorkflow(ctx, other, theirs, 1, Definition("theirs v2"), []store.WebhookRoute{route}, nil)
	check(err)
	w, err := s.GetWorkflow(ctx, other, theirs)
	require.NoError(t, err)
	require.Equal(t, 1, w.Version, "a refused save changes nothing")
	got, err := s.LookupWebhook(ctx, route.Method, route.Path)
	require.NoError(t, err)
	require.Equal(t, mine, got.WorkflowID)
}

// testIdentityText checks that the identity methods refuse text no store can hold.
func testIdentityText(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, bad := range []string{"a\x00b", "a\xffb"} {
		checks := []error{
			func() error { _, err := s.CreateUser(ctx, store.User{ID: NewID(), Email: bad}); return err }(),
			func() error { _, err := s.CreateUser(ctx, store.User{ID: bad, Email: "x@example.com"}); return err }(),
			func() error { _, err := s.GetUser(ctx, bad); return err }(),
			func() error { _, err := s.GetUserByEmail(ctx, bad); return err }(),
			func() error { _, err := s.UpdateUser(ctx, NewID(), store.UserUpdate{Name: &bad}); return err }(),
			s.DisableUser(ctx, bad),
			func() error { _, err := s.AddMember(ctx, store.DefaultTenant, bad, store.RoleViewer); return err }(),
			func() error { _, err := s.GetMembership(ctx, bad, NewID()); return err }(),
			func() error { _, err := s.SetMemberRole(ctx, store.DefaultTenant, bad, store.RoleViewer); return err }(),
			s.RemoveMember(ctx, bad, NewID()),
			func() error { _, err := s.ListMembers(ctx, bad, store.ListMembersParams{}); return err }(),
			func() error { _, err := s.ListUserTenants(ctx, bad); return err }(),
			s.CreateRefreshToken(ctx, store.RefreshToken{FamilyID: NewID(), Hash: bad, UserID: "u", TenantID: "t", ExpiresAt: time.Now()}),
			func() error { _, err := s.GetRefreshToken(ctx, bad); return err }(),
			func() error { _, err := s.RotateRefreshToken(ctx, bad, "new", time.Now()); return err }(),
			s.RevokeRefreshFamily(ctx, bad),
			func() error {
				_, err := s.CreateAPIKey(ctx, store.APIKey{TenantID: store.DefaultTenant, ID: NewID(), Name: bad, Role: store.RoleViewer, Hash: "h"})
				return err
			}(),
			func() error { _, err := s.GetAPIKeyByHash(ctx, bad); return err }(),
			func() error { _, err := s.ListAPIKeys(ctx, bad, store.ListAPIKeysParams{}); return err }(),
			s.RevokeAPIKey(ctx, store.DefaultTenant, bad),
			func() error { _, err := s.TouchAPIKey(ctx, store.DefaultTenant, bad, time.Now()); return err }(),
			s.AppendAudit(ctx, store.AuditEntry{TenantID: store.DefaultTenant, Actor: "a", Action: "x", UserAgent: bad}),
			func() error {
				_, err := s.ListAudit(ctx, store.DefaultTenant, store.ListAuditParams{TargetID: bad})
				return err
			}(),
		}
		for i, err := range checks {
			require.ErrorIs(t, err, store.ErrInvalidInput, "check %d with %q", i, bad)
		}
	}
	// Cursors that decode to a NUL character or invalid UTF-8 are bad cursors.
	for _, cursor := range []string{base64.RawURLEncoding.EncodeToString([]byte("e|x\x00y")), base64.RawURLEncoding.EncodeToString([]byte("1|\xff"))} {
		_, err := s.ListMembers(ctx, store.DefaultTenant, store.ListMembersParams{Cursor: cursor})
		require.ErrorIs(t, err, store.ErrBadCursor)
		_, err = s.ListAPIKeys(ctx, store.DefaultTenant, store.ListAPIKeysParams{Cursor: cursor})
		require.ErrorIs(t, err, store.ErrBadCursor)
		_, err = s.ListAudit(ctx, store.DefaultTenant, store.ListAuditParams{Cursor: cursor})
		require.ErrorIs(t, err, store.ErrBadCursor)
	}
}

// RequireAuditAppendOnly checks that the database behind s refuses to change or delete audit
// entries: db is another connection to the same database (the store's own writer may be busy).
func RequireAuditAppendOnly(t *testing.T, s store.Store, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.AppendAudit(ctx, store.AuditEntry{TenantID: store.DefaultTenant, Actor: "user-a", Action: "auth.login"}))
	_, err := db.ExecContext(ctx, `UPDATE audit_log SET actor = 'someone else'`)
	require.ErrorContains(t, err, "append-only")
	_, err = db.ExecContext(ctx, `DELETE FROM audit_log`)
	require.ErrorContains(t, err, "append-only")
	page, err := s.ListAudit(ctx, store.DefaultTenant, store.ListAuditParams{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, "user-a", page.Items[0].Actor)
}

func testFirstUserAndTenants(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.CreateFirstUser(ctx, store.User{ID: NewID(), Email: "x@example.com"}, "no-such-tenant", "W")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.CreateFirstUser(ctx, store.User{ID: NewID(), Email: "x@example.com"}, store.DefaultTenant, "")
	require.ErrorIs(t, err, store.ErrInvalidInput)

	// Concurrent first runs: exactly one wins; the others are conflicts and leave nothing behind.
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			_, errs[i] = s.CreateFirstUser(ctx, store.User{ID: NewID(), Email: fmt.Sprintf("owner%d@example.com", i), PasswordHash: "h"},
				store.DefaultTenant, fmt.Sprintf("Workspace %d", i))
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, won, "two first users")
			won = i
			continue
		}
		require.ErrorIs(t, err, store.ErrConflict)
	}
	require.NotEqual(t, -1, won, "no first user")
	n, err := s.CountUsers(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	tenant, err := s.GetTenant(ctx, store.DefaultTenant)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("Workspace %d", won), tenant.Name)
	owner, err := s.GetUserByEmail(ctx, fmt.Sprintf("owner%d@example.com", won))
	require.NoError(t, err)
	m, err := s.GetMembership(ctx, store.DefaultTenant, owner.ID)
	require.NoError(t, err)
	require.Equal(t, store.RoleOwner, m.Role)

	_, err = s.GetTenant(ctx, "no-such-tenant")
	require.ErrorIs(t, err, store.ErrNotFound)
	id := "tenant-" + NewID()
	created, err := s.CreateTenantWithOwner(ctx, id, "Second", owner.ID)
	require.NoError(t, err)
	require.Equal(t, "Second", created.Name)
	m, err = s.GetMembership(ctx, id, owner.ID)
	require.NoError(t, err)
	require.Equal(t, store.RoleOwner, m.Role)
	_, err = s.CreateTenantWithOwner(ctx, id, "Again", owner.ID)
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.CreateTenantWithOwner(ctx, "tenant-"+NewID(), "Orphan", "no-such-user")
	require.ErrorIs(t, err, store.ErrNotFound)
	tenants, err := s.ListUserTenants(ctx, owner.ID)
	require.NoError(t, err)
	require.Len(t, tenants, 2)
}
