// Package apitest runs table-driven HTTP scenarios against the real API, served by httptest over a
// real SQLite store, in the PocketBase style: each scenario names a request and what the response
// must (and must not) contain. Every answer a test receives through Server.Do is also checked against
// the OpenAPI document the server serves (ResponseValidator), so that every present and future
// scenario proves the document describes the answer.
package apitest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/auth"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/live"
	"github.com/concertmaster/concertmaster/internal/secret"
)

// Server is a running API over a fresh runtime.
type Server struct {
	*enginetest.Env
	URL    string
	Client *http.Client
	API    *api.Server
	// Live is the API's live gateway.
	Live *live.Gateway
	// Validator checks every answer Do receives; nil in benchmarks, which measure the server alone.
	Validator *ResponseValidator
	// Identity is the server's identity service.
	Identity *identity.Service
	// Token is an access token of the owner of the default tenant (OwnerEmail, OwnerPassword): Do
	// sends it unless the request sets Authorization itself (an empty value sends none).
	Token string
}

// The owner every test server is set up with.
const (
	OwnerEmail    = "owner@example.com"
	OwnerPassword = "correct horse battery staple"
)

// TestPasswordParams are cheap argon2id parameters for tests: the real ones take about 100 ms a hash.
var TestPasswordParams = auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// TestSecret is the server secret of test servers.
func TestSecret(t testing.TB) *secret.Secret {
	t.Helper()
	s, err := secret.Parse("Y29uY2VydG1hc3Rlci10ZXN0LXNlY3JldC0zMmJ5dGU=")
	require.NoError(t, err)
	return s
}

// Start starts an API server for one test.
func Start(t testing.TB, opts enginetest.Options) *Server {
	t.Helper()
	return StartWith(t, opts, nil)
}

// StartWith starts an API server for one test, letting configure change the API's configuration
// (such as its UI handler) before the server starts.
func StartWith(t testing.TB, opts enginetest.Options, configure func(*api.Config)) *Server {
	t.Helper()
	return StartLive(t, opts, nil, configure)
}

// StartLive is StartWith with a say in the live gateway's configuration (buffers, timeouts, limits).
func StartLive(t testing.TB, opts enginetest.Options, configureLive func(*live.Config), configure func(*api.Config)) *Server {
	t.Helper()
	env := enginetest.Start(t, opts)
	lc := live.Config{Store: env.Store, Bus: env.Bus, Problem: api.WriteProblem, Version: "test"}
	if configureLive != nil {
		configureLive(&lc)
	}
	id, err := identity.New(identity.Config{Store: env.Store, Secret: TestSecret(t), PasswordParams: &TestPasswordParams,
		LoginPerIP: unlimited{}, LoginPerAccount: unlimited{}, SetupPerIP: unlimited{}})
	require.NoError(t, err)
	cfg := api.Config{Service: env.Service, Version: "test", WebhookTimeout: 5 * time.Second, Live: live.New(lc), Identity: id}
	if configure != nil {
		configure(&cfg)
	}
	a := api.New(cfg)
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		// Live streams end first: an open stream would hold the test server's Close.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if cfg.Live != nil {
			_ = cfg.Live.Shutdown(ctx)
		}
		ts.Close()
	})
	s := &Server{Env: env, URL: ts.URL, API: a, Live: cfg.Live, Identity: id}
	sess, err := id.Setup(context.Background(), identity.SetupParams{Email: OwnerEmail, Password: OwnerPassword, Name: "Owner"})
	require.NoError(t, err)
	s.Token = sess.AccessToken
	client := *ts.Client()
	client.Transport = &bearer{next: ts.Client().Transport, server: s}
	s.Client = &client
	if _, bench := t.(*testing.B); !bench {
		doc := s.Do(t, http.MethodGet, "/openapi.json", "", nil)
		require.Equal(t, http.StatusOK, doc.Status, doc.Body)
		v, err := NewResponseValidator(context.Background(), []byte(doc.Body))
		require.NoError(t, err)
		s.Validator = v
	}
	return s
}

type anonymousKey struct{}

// Anonymous marks a request's context so that Server.Client sends it without the owner's token.
func Anonymous(ctx context.Context) context.Context {
	return context.WithValue(ctx, anonymousKey{}, true)
}

// bearer sends the server's token with every request that carries no Authorization header and is
// not marked Anonymous.
type bearer struct {
	next   http.RoundTripper
	server *Server
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" && r.Context().Value(anonymousKey{}) == nil && b.server.Token != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+b.server.Token)
	}
	return b.next.RoundTrip(r)
}

// unlimited is a rate limiter that allows everything: the tests of the limits configure their own.
type unlimited struct{}

func (unlimited) Allow(context.Context, string, int) (bool, time.Duration, error) {
	return true, 0, nil
}

// Scenario is one request and its expectations.
type Scenario struct {
	Name    string
	Method  string
	URL     string
	Body    string
	Headers map[string]string
	// ExpectedStatus is the status code the response must have.
	ExpectedStatus int
	// ExpectedContent are substrings the body must contain; NotExpectedContent must not.
	ExpectedContent    []string
	NotExpectedContent []string
	// ExpectedHeaders must match exactly; ExpectedHeaderPatterns are regular expressions the
	// headers must match (such as an ETag whose hash the test does not compute).
	ExpectedHeaders        map[string]string
	ExpectedHeaderPatterns map[string]string
}

// Response is a decoded response.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(r.Body), v), "body: %s", r.Body)
}

// Do sends a request.
func (s *Server) Do(t testing.TB, method, url, body string, headers map[string]string) *Response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+url, r)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if v == "" && http.CanonicalHeaderKey(k) == "Authorization" {
			req = req.WithContext(Anonymous(req.Context()))
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if s.Validator != nil {
		require.NoError(t, s.Validator.Validate(context.Background(), req, resp.StatusCode, resp.Header, b), "body: %s", excerpt(b))
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func excerpt(b []byte) string {
	if len(b) > 2048 {
		return string(b[:2048]) + "…"
	}
	return string(b)
}

// Run runs the scenarios in order (they may depend on each other's effects).
func (s *Server) Run(t *testing.T, scenarios []Scenario) {
	t.Helper()
	for _, sc := range scenarios {
		resp := s.Do(t, sc.Method, sc.URL, sc.Body, sc.Headers)
		require.Equal(t, sc.ExpectedStatus, resp.Status, "%s: body %s", sc.Name, resp.Body)
		for _, want := range sc.ExpectedContent {
			require.Contains(t, resp.Body, want, sc.Name)
		}
		for _, unwanted := range sc.NotExpectedContent {
			require.NotContains(t, resp.Body, unwanted, sc.Name)
		}
		for k, v := range sc.ExpectedHeaders {
			require.Equal(t, v, resp.Header.Get(k), "%s: header %s", sc.Name, k)
		}
		for k, pattern := range sc.ExpectedHeaderPatterns {
			require.Regexp(t, pattern, resp.Header.Get(k), "%s: header %s", sc.Name, k)
		}
		if resp.Status >= 400 {
			require.Contains(t, resp.Header.Get("Content-Type"), "application/problem+json", sc.Name)
		}
		if sc.ExpectedStatus < 500 {
			require.Less(t, resp.Status, 500, "%s: no 5xx for any input", sc.Name)
		}
	}
}

// Login signs in through the API and returns the session's body (accessToken, refreshToken …).
// tenantID may be empty (the user's first workspace).
func (s *Server) Login(t testing.TB, email, password, tenantID string) api.TokenPair {
	t.Helper()
	body, err := json.Marshal(map[string]string{"email": email, "password": password, "tenantId": tenantID})
	require.NoError(t, err)
	r := s.Do(t, http.MethodPost, "/api/v1/auth/login", string(body), map[string]string{"Authorization": ""})
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	var pair api.TokenPair
	r.JSON(t, &pair)
	return pair
}

// MemberPassword is the password of the users AddMember creates.
const MemberPassword = "purple monkey dishwasher 42"

// AddMember creates a user with a role in the owner's workspace and returns their access token.
func (s *Server) AddMember(t testing.TB, email string, role string) string {
	t.Helper()
	body, err := json.Marshal(map[string]string{"email": email, "role": role, "password": MemberPassword})
	require.NoError(t, err)
	r := s.Do(t, http.MethodPost, "/api/v1/members", string(body), nil)
	require.Equal(t, http.StatusCreated, r.Status, r.Body)
	return s.Login(t, email, MemberPassword, "").AccessToken
}

// OtherTenant creates a user who owns a workspace of their own (and belongs to no other), and
// returns their access token there and the workspace's id.
func (s *Server) OtherTenant(t testing.TB, email string) (token, tenantID string) {
	t.Helper()
	// The user starts as a viewer of the owner's workspace, creates their own and leaves the first.
	first := s.AddMember(t, email, "viewer")
	r := s.Do(t, http.MethodPost, "/api/v1/tenants", `{"name":"Other"}`, map[string]string{"Authorization": "Bearer " + first})
	require.Equal(t, http.StatusCreated, r.Status, r.Body)
	var ws api.Workspace
	r.JSON(t, &ws)
	pair := s.Login(t, email, MemberPassword, ws.ID)
	var me api.Me
	s.Do(t, http.MethodGet, "/api/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + pair.AccessToken}).JSON(t, &me)
	for _, m := range me.Tenants {
		if m.ID != ws.ID {
			rm := s.Do(t, http.MethodDelete, "/api/v1/members/"+me.User.ID, "", nil)
			require.Equal(t, http.StatusNoContent, rm.Status, rm.Body)
		}
	}
	return pair.AccessToken, ws.ID
}
