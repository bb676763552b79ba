package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// cliHome is the environment of a CLI command with a home of its own, where login keeps its sessions.
func cliHome(t *testing.T) (env map[string]string, store *credentialStore) {
	t.Helper()
	dir := t.TempDir()
	env = map[string]string{"HOME": dir, "XDG_CONFIG_HOME": filepath.Join(dir, ".config")}
	store, err := openCredentials(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, ".config", "concertmaster", "credentials.json"), store.path)
	return env, store
}

// stored returns the session stored for server, failing when there is none.
func stored(t *testing.T, store *credentialStore, server string) credential {
	t.Helper()
	c, err := store.get(server)
	require.NoError(t, err)
	require.NotNil(t, c, "a session is stored for %s", server)
	return *c
}

// refreshWith presents a refresh token to the server and returns the status.
func (s *server) refreshWith(t *testing.T, token string) int {
	t.Helper()
	code, err := apiCall(s.url, "", http.MethodPost, "/api/v1/auth/refresh", `{"refreshToken":"`+token+`"}`, nil)
	require.NoError(t, err)
	return code
}

// TestLoginWatchLogout signs in with the CLI against the real server, watches with the stored
// session — fresh, refused (the server answers 401 and watch renews it) and expired (renewed before
// it is sent) —, then signs out: the refresh token is revoked and watch says it is not signed in.
func TestLoginWatchLogout(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "cm.db"))
	t.Cleanup(func() { _ = s.stop(t, syscall.SIGTERM) })
	env, store := cliHome(t)
	wf := s.do(t, http.MethodPost, "/api/v1/workflows", delayWorkflow("quick", "10ms"))["id"].(string)
	runID := func() string {
		return s.do(t, http.MethodPost, "/api/v1/workflows/"+wf+"/executions?wait=30s", `{}`)["id"].(string)
	}
	watch := func(t *testing.T) *command {
		t.Helper()
		c := startCommand(t.Context(), env, nil, "watch", runID(), "--server", s.url)
		require.Equal(t, 0, c.wait(t), c.errOut.String())
		require.Regexp(t, `execution\.finished  succeeded in `, c.out.String())
		return c
	}

	// Not signed in yet.
	c := startCommand(t.Context(), env, nil, "watch", "--all", "--server", s.url)
	require.Equal(t, 2, c.wait(t))
	require.Contains(t, c.errOut.String(), "not signed in to "+s.url+": run concertmaster login or set CM_API_KEY")

	// A wrong password is refused, and nothing is stored.
	c = startCommand(t.Context(), env, strings.NewReader("not-the-password-at-all\n"), "login", "--server", s.url, "--email", testEmail, "--password-stdin")
	require.Equal(t, 1, c.wait(t))
	require.Contains(t, c.errOut.String(), "invalid e-mail or password")
	_, err := os.Stat(store.path)
	require.ErrorIs(t, err, os.ErrNotExist)

	c = startCommand(t.Context(), env, strings.NewReader(testPassword+"\n"), "login", "--server", strings.TrimPrefix(s.url, "http://")+"/", "--email", testEmail, "--password-stdin")
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Contains(t, c.out.String(), "Signed in to "+s.url+" as "+testEmail+`, in workspace "My workspace" (default, owner).`)
	first := stored(t, store, s.url)
	require.Equal(t, "default", first.TenantID)
	require.True(t, strings.HasPrefix(first.RefreshToken, "cm_rt_"))
	require.WithinDuration(t, time.Now().Add(15*time.Minute), first.ExpiresAt, time.Minute)
	require.NotContains(t, c.out.String()+c.errOut.String(), first.AccessToken, "tokens are never printed")
	require.NotContains(t, c.out.String()+c.errOut.String(), first.RefreshToken)
	fi, err := os.Stat(store.path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the credentials file is its owner's only")
	di, err := os.Stat(filepath.Dir(store.path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	t.Run("StoredToken", func(t *testing.T) {
		c := watch(t)
		require.Equal(t, first, stored(t, store, s.url), "a fresh token is used as it is")
		require.NotContains(t, c.out.String()+c.errOut.String(), first.AccessToken)
	})
	t.Run("RefusedTokenIsRenewed", func(t *testing.T) {
		bad := first
		bad.AccessToken = "eyJhbGciOiJIUzI1NiJ9.e30.tampered"
		require.NoError(t, store.put(bad))
		watch(t)
		renewed := stored(t, store, s.url)
		require.NotEqual(t, bad.AccessToken, renewed.AccessToken)
		require.NotEqual(t, first.RefreshToken, renewed.RefreshToken, "the refresh token rotated")
		require.Equal(t, http.StatusUnauthorized, s.refreshWith(t, "cm_rt_"+strings.Repeat("x", 43)), "control: an unknown refresh token")
	})
	t.Run("ExpiredTokenIsRenewedFirst", func(t *testing.T) {
		before := stored(t, store, s.url)
		expired := before
		expired.ExpiresAt = time.Now().Add(-time.Minute)
		require.NoError(t, store.put(expired))
		watch(t)
		after := stored(t, store, s.url)
		require.NotEqual(t, before.RefreshToken, after.RefreshToken)
		require.True(t, after.ExpiresAt.After(time.Now().Add(10*time.Minute)))
	})

	last := stored(t, store, s.url)
	c = startCommand(t.Context(), env, nil, "logout", "--server", s.url)
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Contains(t, c.out.String(), "Signed out of "+s.url)
	require.Equal(t, http.StatusUnauthorized, s.refreshWith(t, last.RefreshToken), "logout revoked the session")
	c2, err := store.get(s.url)
	require.NoError(t, err)
	require.Nil(t, c2, "the session is forgotten")
	c = startCommand(t.Context(), env, nil, "watch", "--all", "--server", s.url)
	require.Equal(t, 2, c.wait(t))
	require.Contains(t, c.errOut.String(), "not signed in to "+s.url)
	c = startCommand(t.Context(), env, nil, "logout", "--server", s.url)
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Contains(t, c.out.String(), "Not signed in to "+s.url)
}

// TestLoginUsage: what login refuses before it asks the server.
func TestLoginUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{name: "NoEmail", args: []string{"login", "--password-stdin"}, want: "give --email"},
		{name: "EmptyPassword", stdin: "\n", args: []string{"login", "--email", "a@example.com", "--password-stdin"}, want: "no password given"},
		{name: "NothingOnStdin", args: []string{"login", "--email", "a@example.com"}, want: "no password given"},
		{name: "BadServer", args: []string{"login", "--email", "a@example.com", "--server", "ftp://x"}, want: "use an http:// or https:// URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env, _ := cliHome(t)
			c := startCommand(t.Context(), env, strings.NewReader(tc.stdin), tc.args...)
			require.Equal(t, 2, c.wait(t), c.errOut.String())
			require.Contains(t, c.errOut.String(), tc.want)
		})
	}
}

// TestWatchAPIKeyRefused: a key the server does not know ends watch with 2 and says which
// credential was refused.
func TestWatchAPIKeyRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "cm.db"))
	t.Cleanup(func() { _ = s.stop(t, syscall.SIGTERM) })
	c := startCommand(t.Context(), map[string]string{apiKeyEnv: "cm_ak_" + strings.Repeat("A", 43)}, nil, "watch", "--all", "--server", s.url)
	require.Equal(t, 2, c.wait(t), c.errOut.String())
	require.Contains(t, c.errOut.String(), "the server refused CM_API_KEY: the server refused the token (401)")
}

// TestWatchRenewsOnTokenExpiredClose: when the server closes the socket with 4001 (the access token
// expired), watch renews the session (POST /api/v1/auth/refresh, the new pair stored) and resumes
// after the last event with the fresh token; a session whose refresh is refused ends watch with 2
// and is forgotten.
func TestWatchRenewsOnTokenExpiredClose(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	var refreshes atomic.Int32
	var conns atomic.Int32
	url := scriptedServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path == "/api/v1/auth/refresh" {
			var body struct {
				RefreshToken string `json:"refreshToken"`
			}
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body.RefreshToken != "cm_rt_one" {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"status":401,"detail":"the refresh token is not valid"}`))
				return
			}
			refreshes.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"accessToken":"at-two","refreshToken":"cm_rt_two","tokenType":"Bearer","expiresIn":900,"tenantId":"t1"}`))
			return
		}
		switch conns.Add(1) {
		case 1:
			p := acceptAs(t, w, r, "at-one")
			if p == nil {
				return
			}
			sub := p.subscribe()
			p.send(`{"type":"subscribed","subscription":"`+sub["id"].(string)+`"}`, ev("execution.queued", "e1", 1, t0, ""))
			_ = p.c.Close(websocket.StatusCode(4001), "token expired")
		default:
			p := acceptAs(t, w, r, "at-two")
			if p == nil {
				return
			}
			defer p.close()
			sub := p.subscribe()
			require.InDelta(t, 1, sub["afterSeq"], 0)
			p.send(`{"type":"subscribed","subscription":"`+sub["id"].(string)+`"}`,
				ev("execution.finished", "e1", 2, t0, `{"status":"succeeded","durationMs":5}`))
			p.wait()
		}
	})
	env, store := cliHome(t)
	require.NoError(t, store.put(credential{Server: url, AccessToken: "at-one", RefreshToken: "cm_rt_one", ExpiresAt: time.Now().Add(time.Hour), TenantID: "t1"}))
	c := startCommand(t.Context(), env, nil, "watch", "e1", "--server", url, "--json")
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Equal(t, []string{"1 execution.queued", "2 execution.finished"}, eventKeys(jsonLines(t, c.out.String()), "e1"))
	require.Contains(t, c.errOut.String(), "the server closed the connection: token expired (4001); reconnecting in")
	require.Equal(t, int32(1), refreshes.Load())
	got := stored(t, store, url)
	require.Equal(t, "at-two", got.AccessToken)
	require.Equal(t, "cm_rt_two", got.RefreshToken, "the rotated refresh token is stored")

	// The next renewal presents cm_rt_two, which this server refuses: the session has ended.
	got.ExpiresAt = time.Now().Add(-time.Second)
	require.NoError(t, store.put(got))
	c = startCommand(t.Context(), env, nil, "watch", "e1", "--server", url)
	require.Equal(t, 2, c.wait(t), c.errOut.String())
	require.Contains(t, c.errOut.String(), "the session on "+url+" has ended")
	require.Contains(t, c.errOut.String(), "run concertmaster login")
	gone, err := store.get(url)
	require.NoError(t, err)
	require.Nil(t, gone)
}

// TestAdminCreateUser creates the first user (the owner of the first workspace) and a second one
// with a role on the database directly, refuses bad input with 2 and the reason, and the users sign
// in to a server started on that database afterwards.
func TestAdminCreateUser(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "cm.db")
	env := map[string]string{"CM_DATABASE_URL": "sqlite://" + db}
	create := func(stdin string, args ...string) *command {
		return startCommand(context.Background(), env, strings.NewReader(stdin), append([]string{"admin", "create-user", "--password-stdin"}, args...)...)
	}

	c := create("short\n", "--email", testEmail)
	require.Equal(t, 2, c.wait(t))
	require.Contains(t, c.errOut.String(), "password is too short: use at least 10 characters")
	c = create("password1234\n", "--email", testEmail)
	require.Equal(t, 2, c.wait(t))
	require.Contains(t, c.errOut.String(), "password is too easy to guess")
	c = create(testPassword+"\n", "--email", testEmail, "--role", "viewer")
	require.Equal(t, 2, c.wait(t))
	require.Contains(t, c.errOut.String(), "--role: the first user is the owner")

	c = create(testPassword+"\n", "--email", testEmail, "--name", "Ada", "--workspace-name", "Analytics")
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Regexp(t, `^Created user [0-9a-f-]{36} \(owner@example\.com\): owner of workspace "Analytics" \(default\)\.\n$`, c.out.String())

	for _, tc := range []struct {
		args []string
		want string
	}{
		{args: []string{"--email", "not-an-address"}, want: "--email: e-mail must look like name@example.com"},
		{args: []string{"--email", strings.ToUpper(testEmail)}, want: "a user with this e-mail already exists"},
		{args: []string{"--email", "bo@example.com", "--role", "boss"}, want: `--role "boss": want owner, admin, editor or viewer`},
		{args: []string{"--email", "bo@example.com", "--workspace-id", "nope"}, want: `--workspace-id "nope": there is no such workspace`},
		{args: []string{"--password-stdin"}, want: "give --email"},
	} {
		c = create("Pebble-harbor-violet-27\n", tc.args...)
		require.Equal(t, 2, c.wait(t), "%v: %s", tc.args, c.errOut)
		require.Contains(t, c.errOut.String(), tc.want)
	}
	c = create("Pebble-harbor-violet-27\n", "--email", "bo@example.com", "--role", "viewer")
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Regexp(t, `^Created user [0-9a-f-]{36} \(bo@example\.com\): viewer of workspace "Analytics" \(default\)\.\n$`, c.out.String())
	c = create("Pebble-harbor-violet-28\n", "--email", "cy@example.com")
	require.Equal(t, 0, c.wait(t), c.errOut.String())
	require.Contains(t, c.out.String(), "editor of workspace", "later users are editors by default")

	// A server on that database, without a bootstrap owner: the users sign in, with their roles.
	s := startServer(t, db, "CM_BOOTSTRAP_EMAIL=", "CM_BOOTSTRAP_PASSWORD=")
	require.NotContains(t, s.log(), "Created the first owner")
	t.Cleanup(func() { _ = s.stop(t, syscall.SIGTERM) })
	for _, u := range []struct{ email, password, role string }{
		{testEmail, testPassword, "owner"}, {"bo@example.com", "Pebble-harbor-violet-27", "viewer"},
	} {
		var pair struct{ AccessToken string }
		code, err := apiCall(s.url, "", http.MethodPost, "/api/v1/auth/login", `{"email":"`+u.email+`","password":"`+u.password+`"}`, &pair)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code, u.email)
		var me struct {
			Role   string
			Tenant struct{ Name string }
		}
		require.Equal(t, http.StatusOK, (&server{url: s.url, token: pair.AccessToken}).call(t, http.MethodGet, "/api/v1/auth/me", "", &me))
		require.Equal(t, u.role, me.Role, u.email)
		require.Equal(t, "Analytics", me.Tenant.Name)
	}
}
