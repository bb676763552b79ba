package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/app"
	vault "github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/secret"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/sqlstore"
)

// openVault opens the database with the server secret given in base64 and returns the credential use
// cases over it.
func openVault(t *testing.T, dbURL, key string) (*service.Credentials, *sqlstore.Store) {
	t.Helper()
	st, _, err := app.OpenStore(context.Background(), dbURL, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	sec, err := secret.Parse(key)
	require.NoError(t, err)
	v, err := vault.NewVault(sec.Derive(vault.KeyInfo), st)
	require.NoError(t, err)
	return service.NewCredentials(service.CredentialsConfig{Store: st, Vault: v}), st
}

func TestCredentialsRotateKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbURL := "sqlite://" + filepath.Join(dir, "cm.db")
	oldKey, err := secret.Generate()
	require.NoError(t, err)
	env := map[string]string{"CM_DATABASE_URL": dbURL, "CM_SECRET_KEY": oldKey}

	creds, st := openVault(t, dbURL, oldKey)
	ctx := context.Background()
	a, err := creds.Create(ctx, store.DefaultTenant, "a", "httpBearer", map[string]any{"token": "token-a-123"})
	require.NoError(t, err)
	b, err := creds.Create(ctx, store.DefaultTenant, "b", "postgres", map[string]any{"url": "postgres://u:pw-b-456@h/db"})
	require.NoError(t, err)
	before, err := st.GetCredential(ctx, store.DefaultTenant, a.ID)
	require.NoError(t, err)
	require.NoError(t, st.Close())

	// Rotate under the same secret: every credential under a new data key, the old key removed.
	c := startCommand(ctx, env, strings.NewReader(""), "credentials", "rotate-key", "--settle", "1ms")
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Regexp(t, `^New data key [0-9a-f-]{36}: 2 credentials re-encrypted, 1 old data keys removed\.\n$`, c.out.String())
	creds, st = openVault(t, dbURL, oldKey)
	after, err := st.GetCredential(ctx, store.DefaultTenant, a.ID)
	require.NoError(t, err)
	require.NotEqual(t, before.KeyID, after.KeyID)
	got, err := creds.LoadCredential(ctx, store.DefaultTenant, b.ID)
	require.NoError(t, err)
	require.Equal(t, "pw-b-456", got.Data["password"])
	require.NoError(t, st.Close())

	// Change the server secret: both secrets open everything until the old one is retired.
	next := filepath.Join(dir, "next.key")
	c = startCommand(ctx, env, strings.NewReader(""), "credentials", "rotate-key", "--settle", "0", "--new-secret-file", next)
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	info, err := os.Stat(next)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	content, err := os.ReadFile(next)
	require.NoError(t, err)
	newKey := strings.TrimSpace(string(content))
	for _, key := range []string{oldKey, newKey} {
		creds, st := openVault(t, dbURL, key)
		got, err := creds.LoadCredential(ctx, store.DefaultTenant, a.ID)
		require.NoError(t, err)
		require.Equal(t, "token-a-123", got.Data["token"])
		require.NoError(t, st.Close())
	}

	env["CM_SECRET_KEY"] = newKey
	c = startCommand(ctx, env, strings.NewReader(""), "credentials", "rotate-key", "--settle", "1ms", "--retire-other-secrets")
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Contains(t, c.out.String(), "only this secret opens the credentials now")
	creds, st = openVault(t, dbURL, oldKey)
	_, err = creds.LoadCredential(ctx, store.DefaultTenant, a.ID)
	require.ErrorContains(t, err, "cannot be decrypted", "the old secret opens nothing")
	require.NoError(t, st.Close())
	creds, _ = openVault(t, dbURL, newKey)
	got, err = creds.LoadCredential(ctx, store.DefaultTenant, a.ID)
	require.NoError(t, err)
	require.Equal(t, "token-a-123", got.Data["token"])

	c = startCommand(ctx, env, strings.NewReader(""), "credentials", "rotate-key", "--settle", "-1s")
	require.Equal(t, 2, c.wait(t))
}
