package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/store"
)

func newCredential(tenant, name, typ string, t time.Time) *store.Credential {
	return &store.Credential{TenantID: tenant, ID: NewID(), Name: name, Type: typ, KeyID: "k1",
		Ciphertext: []byte("sealed:" + name), CreatedAt: t, UpdatedAt: t}
}

func testCredentialsCRUD(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant, other := NewID(), NewID()
	now := at(0)
	pg := newCredential(tenant, "prod db", "postgres", now)
	require.NoError(t, s.CreateCredential(ctx, pg))
	require.NoError(t, s.CreateCredential(ctx, newCredential(tenant, "api", "httpBearer", now)))
	// Names are unique per tenant, not across tenants.
	require.ErrorIs(t, s.CreateCredential(ctx, newCredential(tenant, "prod db", "mysql", now)), store.ErrConflict)
	require.NoError(t, s.CreateCredential(ctx, newCredential(other, "prod db", "postgres", now)))

	got, err := s.GetCredential(ctx, tenant, pg.ID)
	require.NoError(t, err)
	require.Equal(t, pg.Name, got.Name)
	require.Equal(t, pg.Ciphertext, got.Ciphertext)
	require.True(t, got.CreatedAt.Equal(now))
	_, err = s.GetCredential(ctx, other, pg.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant does not see it")

	all, err := s.ListCredentials(ctx, tenant, store.ListCredentialsParams{})
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, "api", all[0].Name, "by name")
	onlyPG, err := s.ListCredentials(ctx, tenant, store.ListCredentialsParams{Types: []string{"postgres", "mysql"}})
	require.NoError(t, err)
	require.Len(t, onlyPG, 1)

	// Updates are conditional on the ciphertext read.
	upd := *got
	upd.Name, upd.Ciphertext, upd.UpdatedAt = "prod", []byte("sealed:v2"), at(time.Minute)
	require.NoError(t, s.UpdateCredential(ctx, &upd, got.Ciphertext))
	stale := upd
	stale.Ciphertext = []byte("sealed:v3")
	require.ErrorIs(t, s.UpdateCredential(ctx, &stale, got.Ciphertext), store.ErrConflict)
	clash := upd
	clash.Name, clash.Ciphertext = "api", []byte("sealed:v4")
	require.ErrorIs(t, s.UpdateCredential(ctx, &clash, upd.Ciphertext), store.ErrConflict, "name taken")
	missing := upd
	missing.ID = NewID()
	require.ErrorIs(t, s.UpdateCredential(ctx, &missing, upd.Ciphertext), store.ErrNotFound)

	require.ErrorIs(t, s.DeleteCredential(ctx, other, pg.ID), store.ErrNotFound)
	require.NoError(t, s.DeleteCredential(ctx, tenant, pg.ID))
	require.ErrorIs(t, s.DeleteCredential(ctx, tenant, pg.ID), store.ErrNotFound)
	_, err = s.GetCredential(ctx, tenant, pg.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	require.ErrorIs(t, s.CreateCredential(ctx, newCredential(tenant, "nul\x00name", "postgres", now)), store.ErrInvalidInput)
}

// testCredentialsConcurrentUpdate races updates that all read the same ciphertext: exactly one wins.
func testCredentialsConcurrentUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := newCredential(NewID(), "shared", "httpBearer", at(0))
	require.NoError(t, s.CreateCredential(ctx, c))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Go(func() {
			u := *c
			u.Ciphertext = []byte{byte(i)}
			if err := s.UpdateCredential(ctx, &u, c.Ciphertext); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else {
				require.ErrorIs(t, err, store.ErrConflict)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, wins)
}

// testCredentialVault seals through a credential.Vault over the store: another process (a second
// vault) opens it, a vault under another server secret does not, and rotation keeps everything
// readable.
func testCredentialVault(t *testing.T, s store.Store) {
	ctx := context.Background()
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	v1, err := credential.NewVault(kek, s)
	require.NoError(t, err)
	aad := credential.AAD("t", "c1", "postgres")
	keyID, sealed, err := v1.Seal(ctx, []byte(`{"password":"hunter2!"}`), aad)
	require.NoError(t, err)
	require.False(t, bytes.Contains(sealed, []byte("hunter2!")))

	v2, err := credential.NewVault(kek, s)
	require.NoError(t, err)
	plain, err := v2.Open(ctx, keyID, sealed, aad)
	require.NoError(t, err)
	require.JSONEq(t, `{"password":"hunter2!"}`, string(plain))
	_, err = v2.Open(ctx, keyID, sealed, credential.AAD("t", "c2", "postgres"))
	require.ErrorIs(t, err, credential.ErrUndecryptable, "bound to its row")

	otherKEK := make([]byte, 32)
	_, _ = rand.Read(otherKEK)
	thief, err := credential.NewVault(otherKEK, s)
	require.NoError(t, err)
	_, err = thief.Open(ctx, keyID, sealed, aad)
	require.ErrorIs(t, err, credential.ErrUndecryptable, "a copy of the database without the secret yields nothing")

	// A new data key, also wrapped under the next secret: both secrets open it.
	newID, err := v1.NewDataKey(ctx, otherKEK)
	require.NoError(t, err)
	require.NotEqual(t, keyID, newID)
	k2, sealed2, err := v1.Seal(ctx, []byte("x"), aad)
	require.NoError(t, err)
	require.Equal(t, newID, k2)
	for _, v := range []*credential.Vault{v2, thief} {
		got, err := v.Open(ctx, k2, sealed2, aad)
		require.NoError(t, err)
		require.Equal(t, "x", string(got))
	}
	// v2 learns the new current key on refresh.
	require.NoError(t, v2.Refresh(ctx))
	k3, _, err := v2.Seal(ctx, []byte("y"), aad)
	require.NoError(t, err)
	require.Equal(t, newID, k3)

	keys, err := s.CredentialKeys(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(keys), 3)
}

func testCredentialsAfterAndKeyCleanup(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant := NewID()
	var ids []string
	for i := range 5 {
		c := newCredential(tenant, "c"+string(rune('a'+i)), "httpBearer", at(0))
		c.KeyID = "old-key"
		require.NoError(t, s.CreateCredential(ctx, c))
		ids = append(ids, c.ID)
	}
	var seen []string
	lastT, lastID := tenant, ""
	for {
		page, err := s.CredentialsAfter(ctx, lastT, lastID, 2)
		require.NoError(t, err)
		mine := 0
		for _, c := range page {
			if c.TenantID == tenant {
				seen = append(seen, c.ID)
				mine++
			}
		}
		if len(page) == 0 || mine == 0 {
			break
		}
		lastT, lastID = page[len(page)-1].TenantID, page[len(page)-1].ID
	}
	require.ElementsMatch(t, ids, seen)

	now := at(0)
	require.NoError(t, s.AddCredentialKeys(ctx, []credential.WrappedKey{
		{ID: "old-key", KEKID: "kek-a", Wrapped: []byte{1}, CreatedAt: now},
		{ID: "unused-" + tenant, KEKID: "kek-a", Wrapped: []byte{2}, CreatedAt: now},
		{ID: "unused-" + tenant, KEKID: "kek-b", Wrapped: []byte{3}, CreatedAt: now},
	}))
	n, err := s.DeleteCredentialKeys(ctx, "current-key", "")
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 2, "both wraps of the unused key")
	keys, err := s.CredentialKeys(ctx)
	require.NoError(t, err)
	var names []string
	for _, k := range keys {
		names = append(names, k.ID)
	}
	require.Contains(t, names, "old-key", "still used")
	require.NotContains(t, names, "unused-"+tenant)
}

// testFindAndActiveWorkflows: FindWorkflows searches the current definitions of a tenant's live
// workflows (LIKE metacharacters are literal); ActiveWorkflowsAfter pages through active ones across
// tenants.
func testFindAndActiveWorkflows(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant, other := NewID(), NewID()
	for _, id := range []string{tenant, other} {
		require.NoError(t, s.CreateTenant(ctx, id, "t"))
	}
	mk := func(tenantID, name, cred string) *store.Workflow {
		def := Definition(name)
		def.Nodes[1].Config = map[string]any{"credential": cred, "fields": map[string]any{"a": 1.0}}
		w, err := s.CreateWorkflow(ctx, tenantID, NewID(), def)
		require.NoError(t, err)
		return w
	}
	a := mk(tenant, "a", "cred-1")
	mk(tenant, "b", "cred-2")
	mk(other, "c", "cred-1")
	d := mk(tenant, "d", "cred_1%")
	found, err := s.FindWorkflows(ctx, tenant, "cred-1", 0)
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Equal(t, a.ID, found[0].ID)
	require.Equal(t, "cred-1", found[0].Definition.Nodes[1].Config["credential"])
	found, err = s.FindWorkflows(ctx, tenant, "cred_1%", 0)
	require.NoError(t, err)
	require.Len(t, found, 1, "_ and %% are literal")
	require.Equal(t, d.ID, found[0].ID)
	require.NoError(t, s.DeleteWorkflow(ctx, tenant, a.ID))
	found, err = s.FindWorkflows(ctx, tenant, "cred-1", 0)
	require.NoError(t, err)
	require.Empty(t, found, "deleted workflows use nothing")

	_, err = s.SetWorkflowActive(ctx, tenant, d.ID, true, nil, nil)
	require.NoError(t, err)
	var mine []string
	lastT, lastID := "", ""
	for {
		page, err := s.ActiveWorkflowsAfter(ctx, lastT, lastID, 1)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		for _, w := range page {
			require.True(t, w.Active)
			if w.TenantID == tenant || w.TenantID == other {
				mine = append(mine, w.ID)
				require.NotEmpty(t, w.Definition.Nodes)
			}
		}
		lastT, lastID = page[len(page)-1].TenantID, page[len(page)-1].ID
	}
	require.Equal(t, []string{d.ID}, mine)
}
