package identity_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/auth"
	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/secret"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/storesqlite"
)

var cheap = auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

const password = "correct horse battery staple"

type unlimited struct{}

func (unlimited) Allow(context.Context, string, int) (bool, time.Duration, error) {
	return true, 0, nil
}

func newService(tb testing.TB, params *auth.Params) (*identity.Service, store.Store) {
	tb.Helper()
	st, err := storesqlite.Open(storesqlite.Config{Path: filepath.Join(tb.TempDir(), "cm.db")})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = st.Close() })
	_, err = st.Migrate(context.Background())
	require.NoError(tb, err)
	key, err := secret.Generate()
	require.NoError(tb, err)
	sec, err := secret.Parse(key)
	require.NoError(tb, err)
	cfg := identity.Config{Store: st, Secret: sec, PasswordParams: params}
	if _, bench := tb.(*testing.B); bench {
		cfg.LoginPerIP, cfg.LoginPerAccount = unlimited{}, unlimited{}
	}
	id, err := identity.New(cfg)
	require.NoError(tb, err)
	return id, st
}

func TestSetupOnceThenLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	id, st := newService(t, &cheap)
	required, err := id.SetupRequired(ctx)
	require.NoError(t, err)
	require.True(t, required)

	var field *identity.FieldError
	_, err = id.Setup(ctx, identity.SetupParams{Email: "ada@example.com", Password: "password1"})
	require.ErrorAs(t, err, &field)
	require.Equal(t, "/password", field.Pointer)
	_, err = id.Setup(ctx, identity.SetupParams{Email: "not-an-email", Password: password})
	require.ErrorAs(t, err, &field)
	require.Equal(t, "/email", field.Pointer)

	sess, err := id.Setup(ctx, identity.SetupParams{Email: "ada@example.com", Password: password, Name: "Ada", Workspace: "Analytics"})
	require.NoError(t, err)
	require.Equal(t, store.DefaultTenant, sess.TenantID)
	tenant, err := st.GetTenant(ctx, store.DefaultTenant)
	require.NoError(t, err)
	require.Equal(t, "Analytics", tenant.Name)

	_, err = id.Setup(ctx, identity.SetupParams{Email: "eve@example.com", Password: password})
	require.ErrorIs(t, err, store.ErrConflict, "setup happens once")
	created, err := id.Bootstrap(ctx, "eve@example.com", password)
	require.NoError(t, err)
	require.False(t, created, "bootstrap does nothing once a user exists")

	p, err := id.Authenticate(ctx, auth.CredentialAccessToken, sess.AccessToken)
	require.NoError(t, err)
	require.Equal(t, store.RoleOwner, p.Role)
	require.Equal(t, sess.UserID, p.Actor())

	for _, tc := range []identity.LoginParams{
		{Email: "ada@example.com", Password: "wrong password"},
		{Email: "nobody@example.com", Password: password},
		{Email: "ada@example.com", Password: string(make([]byte, auth.MaxPasswordLength+1))},
	} {
		_, err := id.Login(ctx, tc)
		require.ErrorIs(t, err, identity.ErrInvalidCredentials)
	}
	sess, err = id.Login(ctx, identity.LoginParams{Email: "ADA@example.com", Password: password})
	require.NoError(t, err, "e-mails compare without case")

	// A disabled user can neither sign in nor use a token they hold (once the cached role expires
	// in other processes; at once here after a change this process made is not the case for
	// DisableUser, which is a store call: the token fails at its next role read).
	u, err := st.GetUserByEmail(ctx, "ada@example.com")
	require.NoError(t, err)
	_, err = st.CreateUser(ctx, store.User{ID: "second-owner", Email: "bob@example.com", PasswordHash: "x"})
	require.NoError(t, err)
	_, err = st.AddMember(ctx, store.DefaultTenant, "second-owner", store.RoleOwner)
	require.NoError(t, err)
	require.NoError(t, st.DisableUser(ctx, u.ID))
	_, err = id.Login(ctx, identity.LoginParams{Email: "ada@example.com", Password: password})
	require.ErrorIs(t, err, identity.ErrInvalidCredentials)
	_, err = id.Refresh(ctx, sess.RefreshToken)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
}

func TestTicketsAreSingleUseAndNoBearerTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	id, _ := newService(t, &cheap)
	sess, err := id.Setup(ctx, identity.SetupParams{Email: "ada@example.com", Password: password})
	require.NoError(t, err)
	p, err := id.Authenticate(ctx, auth.CredentialAccessToken, sess.AccessToken)
	require.NoError(t, err)
	ticket, err := id.IssueTicket(p)
	require.NoError(t, err)

	_, err = id.Authenticate(ctx, auth.CredentialAccessToken, ticket)
	require.ErrorIs(t, err, identity.ErrUnauthenticated, "a ticket is no access token")
	_, err = id.RedeemTicket(ctx, sess.AccessToken)
	require.ErrorIs(t, err, identity.ErrUnauthenticated, "an access token is no ticket")

	got, err := id.RedeemTicket(ctx, ticket)
	require.NoError(t, err)
	require.Equal(t, p.UserID, got.UserID)
	_, err = id.RedeemTicket(ctx, ticket)
	require.ErrorIs(t, err, identity.ErrUnauthenticated, "single use")

	_, err = id.IssueTicket(&identity.Principal{TenantID: "default", APIKeyID: "k", Role: store.RoleOwner})
	require.ErrorIs(t, err, identity.ErrForbidden, "API keys send headers")
}

func TestAPIKeyRoleIsCappedAndRevocationIsImmediate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	id, _ := newService(t, &cheap)
	sess, err := id.Setup(ctx, identity.SetupParams{Email: "ada@example.com", Password: password})
	require.NoError(t, err)
	owner, err := id.Authenticate(ctx, auth.CredentialAccessToken, sess.AccessToken)
	require.NoError(t, err)
	k, plain, err := id.CreateAPIKey(ctx, owner, identity.CreateAPIKeyParams{Name: "ci", Role: store.RoleAdmin})
	require.NoError(t, err)
	require.Empty(t, k.Hash)
	p, err := id.Authenticate(ctx, auth.CredentialAPIKey, plain)
	require.NoError(t, err)
	require.Equal(t, "apikey:"+k.ID, p.Actor())
	_, _, err = id.CreateAPIKey(ctx, p, identity.CreateAPIKeyParams{Name: "escalate", Role: store.RoleOwner})
	require.ErrorIs(t, err, identity.ErrForbidden, "an admin key cannot mint an owner key")
	require.NoError(t, id.RevokeAPIKey(ctx, owner, k.ID))
	_, err = id.Authenticate(ctx, auth.CredentialAPIKey, plain)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
}

func TestAuditEntriesCarryActorAndOrigin(t *testing.T) {
	t.Parallel()
	ctx := identity.WithOrigin(context.Background(), identity.Origin{IP: "192.0.2.7", UserAgent: "test"})
	id, st := newService(t, &cheap)
	_, err := id.Setup(ctx, identity.SetupParams{Email: "ada@example.com", Password: password})
	require.NoError(t, err)
	_, _ = id.Login(ctx, identity.LoginParams{Email: "ada@example.com", Password: "nope nope nope"})
	page, err := st.ListAudit(ctx, store.DefaultTenant, store.ListAuditParams{Ascending: true})
	require.NoError(t, err)
	var actions []string
	for _, e := range page.Items {
		actions = append(actions, e.Action)
		require.Equal(t, "192.0.2.7", e.IP)
		require.NotEmpty(t, e.Actor)
	}
	require.Equal(t, []string{"auth.setup", "auth.login"}, actions)
	failed, err := st.ListAudit(ctx, "", store.ListAuditParams{Action: "auth.login_failed"})
	require.NoError(t, err)
	require.Len(t, failed.Items, 1, "a failed sign-in is a server-wide event")
}

// BenchmarkLogin measures a sign-in with the real argon2id parameters, through the store: the
// figure of issue 8 (login p95 between 50 and 250 ms).
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	id, _ := newService(b, nil)
	if _, err := id.Setup(ctx, identity.SetupParams{Email: "ada@example.com", Password: password}); err != nil {
		b.Fatal(err)
	}
	var ds []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := id.Login(ctx, identity.LoginParams{Email: "ada@example.com", Password: password}); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	fmt.Printf("figure: login (argon2id verify + refresh token + audit, SQLite): p50 %.1f ms, p95 %.1f ms over %d logins — target p95 50–250 ms\n",
		ms(ds[len(ds)/2]), ms(ds[(len(ds)*95+99)/100-1]), len(ds))
}

// BenchmarkAuthenticate measures what auth adds to every request: verifying the access token and
// reading the (cached) role.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	id, _ := newService(b, &cheap)
	sess, err := id.Setup(ctx, identity.SetupParams{Email: "ada@example.com", Password: password})
	if err != nil {
		b.Fatal(err)
	}
	header := "Bearer " + sess.AccessToken
	b.ReportAllocs()
	for b.Loop() {
		if _, err := id.AuthenticateHeader(ctx, header); err != nil {
			b.Fatal(err)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
