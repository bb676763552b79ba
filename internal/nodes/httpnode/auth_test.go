package httpnode

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

// authBundle is an http.request type with a credential store and a test server.
type authBundle struct {
	*testBundle
	creds *conntest.Credentials
}

func setupAuth(t *testing.T) *authBundle {
	t.Helper()
	return &authBundle{testBundle: setup(t, Config{Policy: loopbackPolicy()}), creds: conntest.NewCredentials()}
}

func (b *authBundle) run(t *testing.T, config map[string]any) (node.Output, error) {
	t.Helper()
	n, err := b.typ.Instantiate(config, false)
	require.NoError(t, err)
	return n.Execute(t.Context(), conntest.Input(b.creds, nil))
}

func (b *authBundle) shared(t *testing.T) *shared {
	t.Helper()
	n, err := b.typ.Instantiate(map[string]any{"url": "http://x"}, false)
	require.NoError(t, err)
	return n.(*Request).shared
}

// echoHeaders runs config against /echo and returns the headers the server got.
func (b *authBundle) echoHeaders(t *testing.T, config map[string]any) map[string]any {
	t.Helper()
	out, err := b.run(t, config)
	require.NoError(t, err)
	return out.Value.(map[string]any)["body"].(map[string]any)["headers"].(map[string]any)
}

func TestCredentialHeaders(t *testing.T) {
	t.Parallel()

	basic := base64.StdEncoding.EncodeToString([]byte("ada:s3cret-pw"))
	tests := []struct {
		name   string
		typ    string
		data   map[string]any
		header string
		value  string
		redact []string // derived values the node must register
	}{
		{name: "Basic", typ: "httpBasic", data: map[string]any{"username": "ada", "password": "s3cret-pw"},
			header: "authorization", value: "Basic " + basic, redact: []string{basic}},
		{name: "Bearer", typ: "httpBearer", data: map[string]any{"token": "tok-secret-1"},
			header: "authorization", value: "Bearer tok-secret-1"},
		{name: "Header", typ: "httpHeader", data: map[string]any{"name": "x-api-key", "value": "key-secret-2"},
			header: "x-api-key", value: "key-secret-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupAuth(t)
			id := b.creds.Add(t, tt.typ, tt.data)
			headers := b.echoHeaders(t, map[string]any{"url": b.srv.URL + "/echo", "credential": id})
			require.Equal(t, tt.value, headers[tt.header])
			for _, v := range tt.redact {
				require.NotContains(t, b.creds.Redactor.String("got "+v), v, "derived secret is registered for redaction")
			}
		})
	}
}

func TestCredentialErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		typ       string
		data      map[string]any
		config    map[string]any
		code      string
		message   string
		noCredent bool
	}{
		{name: "ConflictingHeader", typ: "httpBearer", data: map[string]any{"token": "t"},
			config: map[string]any{"headers": map[string]any{"authorization": "Bearer other"}},
			code:   CodeInvalidConfig, message: "headers sets authorization, which the credential sets too"},
		{name: "ConflictingNamedHeader", typ: "httpHeader", data: map[string]any{"name": "X-Key", "value": "v"},
			config: map[string]any{"headers": map[string]any{"X-KEY": "v2"}},
			code:   CodeInvalidConfig, message: "headers sets X-KEY"},
		{name: "HeaderNameInvalid", typ: "httpHeader", data: map[string]any{"name": "X Key", "value": "v"},
			code: CodeInvalidCredential, message: `header name "X Key" is not valid`},
		{name: "HeaderValueCRLF", typ: "httpHeader", data: map[string]any{"name": "X-Key", "value": "v\r\nX-Evil: 1"},
			code: CodeInvalidCredential, message: "control characters"},
		{name: "Missing", config: map[string]any{"credential": "nope"}, code: node.CodeCredentialNotFound, noCredent: true},
		{name: "WrongType", typ: "postgres", data: map[string]any{"host": "h", "user": "u"},
			code: node.CodeCredentialType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupAuth(t)
			config := map[string]any{"url": b.srv.URL + "/echo"}
			for k, v := range tt.config {
				config[k] = v
			}
			if !tt.noCredent {
				config["credential"] = b.creds.Add(t, tt.typ, tt.data)
			}
			_, err := b.run(t, config)
			ne := requireNodeError(t, err, tt.code, true)
			require.Contains(t, ne.Message, tt.message)
		})
	}

	t.Run("NoVault", func(t *testing.T) {
		t.Parallel()
		b := setupAuth(t)
		n, err := b.typ.Instantiate(map[string]any{"url": b.srv.URL + "/echo", "credential": "c"}, false)
		require.NoError(t, err)
		_, err = n.Execute(t.Context(), &node.Input{})
		require.ErrorIs(t, err, node.ErrNoCredentials)
		require.True(t, node.IsPermanent(err))
	})
}

func TestCredentialRedirect(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		name      string
		typ       string
		data      map[string]any
		header    string
		crossKeep bool
	}{
		{name: "Bearer", typ: "httpBearer", data: map[string]any{"token": "tok"}, header: "authorization"},
		{name: "Header", typ: "httpHeader", data: map[string]any{"name": "X-Api-Key", "value": "k"}, header: "x-api-key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupAuth(t)
			other := httptest.NewServer(newTestHandler())
			t.Cleanup(other.Close)
			id := b.creds.Add(t, tt.typ, tt.data)

			same := b.echoHeaders(t, map[string]any{"url": b.srv.URL + "/redirect?to=/echo", "credential": id})
			require.Contains(t, same, tt.header, "a same-origin redirect keeps the credential")

			cross := b.echoHeaders(t, map[string]any{"url": b.srv.URL + "/redirect?to=" + other.URL + "/echo", "credential": id})
			require.NotContains(t, cross, tt.header, "a redirect to another origin drops the credential")
		})
	}
}

// tokenServer is an OAuth2 token endpoint and a protected API in one test server.
type tokenServer struct {
	srv *httptest.Server

	mu        sync.Mutex
	issued    int    // tokens issued
	valid     string // the token the API accepts
	forms     []map[string]string
	basicUser string
	expiresIn int
	fail      int // answer token requests with this status when set

	apiCalls atomic.Int64
	always   atomic.Bool // the API refuses every token
}

func newTokenServer(t *testing.T) *tokenServer {
	t.Helper()
	ts := &tokenServer{expiresIn: 3600}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ts.mu.Lock()
		defer ts.mu.Unlock()
		form := map[string]string{}
		for k := range r.PostForm {
			form[k] = r.PostForm.Get(k)
		}
		ts.forms = append(ts.forms, form)
		if u, p, ok := r.BasicAuth(); ok {
			ts.basicUser = u + ":" + p
		}
		w.Header().Set("Content-Type", "application/json")
		if ts.fail != 0 {
			w.WriteHeader(ts.fail)
			_, _ = fmt.Fprint(w, `{"error":"invalid_client","error_description":"bad secret"}`)
			return
		}
		ts.issued++
		ts.valid = fmt.Sprintf("access-%d", ts.issued)
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": ts.valid, "token_type": "Bearer", "expires_in": ts.expiresIn})
	})
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		ts.apiCalls.Add(1)
		ts.mu.Lock()
		ok := r.Header.Get("Authorization") == "Bearer "+ts.valid && !ts.always.Load()
		ts.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = fmt.Fprint(w, "ok")
	})
	ts.srv = httptest.NewServer(mux)
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tokenServer) revoke() {
	ts.mu.Lock()
	ts.valid = "revoked"
	ts.mu.Unlock()
}

func (ts *tokenServer) setFail(status int) {
	ts.mu.Lock()
	ts.fail = status
	ts.mu.Unlock()
}

// requests returns the basic auth user:password of the last token request and every request's form.
func (ts *tokenServer) requests() (string, []map[string]string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.basicUser, ts.forms
}

func (ts *tokenServer) tokens() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.issued
}

func TestOAuth2ClientCredentials(t *testing.T) {
	t.Parallel()

	setupOAuth := func(t *testing.T, extra map[string]any) (*authBundle, *tokenServer, map[string]any) {
		t.Helper()
		b := setupAuth(t)
		ts := newTokenServer(t)
		data := map[string]any{"tokenUrl": ts.srv.URL + "/token", "clientId": "cid", "clientSecret": "csecret"}
		for k, v := range extra {
			data[k] = v
		}
		id := b.creds.Add(t, "oauth2ClientCredentials", data)
		return b, ts, map[string]any{"url": ts.srv.URL + "/api", "credential": id}
	}

	t.Run("AuthStyleBody", func(t *testing.T) {
		t.Parallel()
		b, ts, config := setupOAuth(t, map[string]any{"authStyle": "body", "scopes": []any{"read", "write"}, "audience": "https://api"})
		_, err := b.run(t, config)
		require.NoError(t, err)
		basicUser, forms := ts.requests()
		require.Empty(t, basicUser)
		require.Equal(t, map[string]string{
			"grant_type": "client_credentials", "client_id": "cid", "client_secret": "csecret",
			"scope": "read write", "audience": "https://api",
		}, forms[0])
	})

	t.Run("CachesToken", func(t *testing.T) {
		t.Parallel()
		b, ts, config := setupOAuth(t, nil)
		for range 3 {
			out, err := b.run(t, config)
			require.NoError(t, err)
			require.Equal(t, "ok", out.Value.(map[string]any)["body"])
		}
		require.Equal(t, 1, ts.tokens(), "one token serves every run until it expires")
		basicUser, forms := ts.requests()
		require.Equal(t, "cid:csecret", basicUser, "client_secret_basic by default")
		require.Equal(t, map[string]string{"grant_type": "client_credentials"}, forms[0])
		require.NotContains(t, b.creds.Redactor.String("token access-1"), "access-1", "the access token is redacted")
	})

	t.Run("ConcurrentRunsShareOneToken", func(t *testing.T) {
		t.Parallel()
		b, ts, config := setupOAuth(t, nil)
		n, err := b.typ.Instantiate(config, false)
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Go(func() {
				_, err := n.Execute(t.Context(), conntest.Input(b.creds, nil))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, 1, ts.tokens(), "one token request while the others wait for it")
	})

	t.Run("RefreshesBeforeExpiry", func(t *testing.T) {
		t.Parallel()
		b, ts, config := setupOAuth(t, nil)
		cache := b.shared(t).auth.tokens
		now := time.Now()
		cache.now = func() time.Time { return now }
		_, err := b.run(t, config)
		require.NoError(t, err)
		now = now.Add(3600*time.Second - 40*time.Second)
		_, err = b.run(t, config)
		require.NoError(t, err)
		require.Equal(t, 1, ts.tokens(), "still valid 40s before expiry")
		now = now.Add(20 * time.Second)
		_, err = b.run(t, config)
		require.NoError(t, err)
		require.Equal(t, 2, ts.tokens(), "replaced within 30s of expiry")
	})

	t.Run("RetriesOnceAfter401", func(t *testing.T) {
		t.Parallel()
		b, ts, config := setupOAuth(t, nil)
		_, err := b.run(t, config)
		require.NoError(t, err)
		ts.revoke()
		out, err := b.run(t, config)
		require.NoError(t, err)
		require.Equal(t, 200, out.Value.(map[string]any)["status"])
		require.Equal(t, 2, ts.tokens())
		require.EqualValues(t, 3, ts.apiCalls.Load())
	})

	t.Run("StillUnauthorized", func(t *testing.T) {
		t.Parallel()
		b, ts, config := setupOAuth(t, nil)
		ts.always.Store(true)
		_, err := b.run(t, config)
		ne := requireNodeError(t, err, CodeHTTPStatus, true)
		require.Contains(t, ne.Message, "answered 401")
		require.EqualValues(t, 2, ts.apiCalls.Load(), "one retry, not a loop")
		require.Equal(t, 2, ts.tokens())
	})

	t.Run("TokenRefused", func(t *testing.T) {
		t.Parallel()
		b, ts, config := setupOAuth(t, nil)
		ts.setFail(http.StatusUnauthorized)
		_, err := b.run(t, config)
		ne := requireNodeError(t, err, CodeOAuth2Token, true)
		require.Equal(t, fmt.Sprintf("token request to POST %s/token answered 401: invalid_client (bad secret)", ts.srv.URL), ne.Message)
		require.NotContains(t, ne.Message, "csecret")
		require.Zero(t, ts.apiCalls.Load())
	})

	t.Run("TokenUnavailable", func(t *testing.T) {
		t.Parallel()
		b, ts, config := setupOAuth(t, nil)
		ts.setFail(http.StatusServiceUnavailable)
		_, err := b.run(t, config)
		_ = requireNodeError(t, err, CodeOAuth2Token, false)
	})

	t.Run("TokenURLGuarded", func(t *testing.T) {
		t.Parallel()
		// The default policy refuses loopback: the token URL is checked like the request's.
		b := &authBundle{testBundle: setup(t, Config{}), creds: conntest.NewCredentials()}
		ts := newTokenServer(t)
		id := b.creds.Add(t, "oauth2ClientCredentials", map[string]any{"tokenUrl": ts.srv.URL + "/token", "clientId": "c", "clientSecret": "s"})
		_, err := b.run(t, map[string]any{"url": "https://api.example.com/", "credential": id})
		ne := requireNodeError(t, err, CodeSSRFBlocked, true)
		require.Contains(t, ne.Message, "token request to POST "+ts.srv.URL+"/token")
		require.Zero(t, ts.tokens())
	})
}

func TestTokenCacheBounded(t *testing.T) {
	t.Parallel()

	c := newTokenCache(2)
	now := time.Now()
	c.now = func() time.Time { now = now.Add(time.Second); return now }
	for i := range 5 {
		c.entry(fmt.Sprintf("cred-%d/1", i))
	}
	require.Equal(t, 2, c.len())
	c.entry("cred-3/1") // most recently used survives
	c.entry("cred-9/1")
	require.Equal(t, 2, c.len())
	_, ok := c.entries["cred-3/1"]
	require.True(t, ok)
}

func TestValidUntil(t *testing.T) {
	t.Parallel()

	now := time.Unix(1_000_000, 0)
	require.Equal(t, now.Add(time.Hour), validUntil(now, time.Time{}))
	require.Equal(t, now.Add(3570*time.Second), validUntil(now, now.Add(3600*time.Second)))
	require.Equal(t, now.Add(10*time.Second), validUntil(now, now.Add(20*time.Second)), "short-lived tokens keep half their life")
}

func TestTesters(t *testing.T) {
	t.Parallel()

	ts := newTokenServer(t)
	creds := conntest.NewCredentials()
	testers := Testers(conntest.Config())
	require.ElementsMatch(t, CredentialTypes, keys(testers))
	get := func(typ string, data map[string]any) *node.Credential {
		c, err := creds.Get(t.Context(), creds.Add(t, typ, data))
		require.NoError(t, err)
		return c
	}

	msg, err := testers["httpBearer"](t.Context(), get("httpBearer", map[string]any{"token": "t"}))
	require.NoError(t, err)
	require.Equal(t, "Stored; it is checked when a request uses it", msg)

	_, err = testers["httpHeader"](t.Context(), get("httpHeader", map[string]any{"name": "bad name", "value": "v"}))
	require.ErrorContains(t, err, "is not valid")

	oauth := get("oauth2ClientCredentials", map[string]any{"tokenUrl": ts.srv.URL + "/token", "clientId": "c", "clientSecret": "s"})
	msg, err = testers["oauth2ClientCredentials"](t.Context(), oauth)
	require.NoError(t, err)
	require.Regexp(t, `^Got an access token from 127\.0\.0\.1:\d+, expires in 3[56]\d\ds$`, msg)

	ts.setFail(http.StatusBadRequest)
	_, err = testers["oauth2ClientCredentials"](t.Context(), oauth)
	require.ErrorContains(t, err, "answered 400: invalid_client")

	strict := Testers(conntest.StrictConfig())
	_, err = strict["oauth2ClientCredentials"](t.Context(), oauth)
	var ne *node.Error
	require.ErrorAs(t, err, &ne)
	require.Equal(t, conn.CodeSSRFBlocked, ne.Code)
	require.False(t, strings.Contains(err.Error(), "s"+"ecret"))
}

// BenchmarkRequestCredential measures what a credential adds to a request against a local server:
// none, a bearer token, and OAuth2 client credentials with the token cached (one token request in
// total).
func BenchmarkRequestCredential(b *testing.B) {
	var tokens atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, _ *http.Request) {
		tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, `{"access_token":"bench-token","token_type":"Bearer","expires_in":3600}`)
	})
	mux.HandleFunc("/api", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprint(w, "ok") })
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	reg := node.NewRegistry()
	if err := reg.Register(New(Config{Policy: loopbackPolicy()})); err != nil {
		b.Fatal(err)
	}
	typ, _ := reg.Lookup(TypeName)
	creds := conntest.NewCredentials()
	ids := map[string]string{
		"None":   "",
		"Bearer": creds.Add(b, "httpBearer", map[string]any{"token": "t"}),
		"OAuth2": creds.Add(b, "oauth2ClientCredentials", map[string]any{"tokenUrl": srv.URL + "/token", "clientId": "c", "clientSecret": "s"}),
	}
	for _, name := range []string{"None", "Bearer", "OAuth2"} {
		b.Run(name, func(b *testing.B) {
			config := map[string]any{"url": srv.URL + "/api"}
			if ids[name] != "" {
				config["credential"] = ids[name]
			}
			n, err := typ.Instantiate(config, false)
			if err != nil {
				b.Fatal(err)
			}
			in := conntest.Input(creds, nil)
			for b.Loop() {
				if _, err := n.Execute(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if tokens.Load() != 1 {
		b.Fatalf("%d token requests, want 1", tokens.Load())
	}
}
