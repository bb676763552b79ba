package api_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/live"
)

const (
	listedOrigin   = "https://app.example.com"
	unlistedOrigin = "https://evil.example"
)

// corsRequest sends a request without the owner's token unless auth is set, and returns the answer;
// answers other than preflights are checked against the OpenAPI document.
func corsRequest(t *testing.T, s *apitest.Server, method, path string, headers map[string]string, auth bool) (int, http.Header) {
	t.Helper()
	ctx := context.Background()
	if !auth {
		ctx = apitest.Anonymous(ctx)
	}
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"name":"cors","nodes":[{"id":"start","type":"trigger.manual"}]}`)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, body)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	preflight := method == http.MethodOptions && headers["Access-Control-Request-Method"] != "" && resp.StatusCode == http.StatusNoContent
	if !preflight {
		require.NoError(t, s.Validator.Validate(ctx, req, resp.StatusCode, resp.Header, b), "the answer is documented: %s", b)
	} else {
		require.Empty(t, b, "a preflight's answer has no body")
	}
	return resp.StatusCode, resp.Header
}

func preflight(origin, method string) map[string]string {
	return map[string]string{"Origin": origin, "Access-Control-Request-Method": method,
		"Access-Control-Request-Headers": "authorization, content-type, if-match", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}
}

func crossSite(origin string) map[string]string {
	return map[string]string{"Origin": origin, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}
}

func TestCORS(t *testing.T) {
	t.Parallel()

	type testBundle struct{ on, off *apitest.Server }
	setup := func(t *testing.T) *testBundle {
		t.Helper()
		return &testBundle{
			on: apitest.StartWith(t, enginetest.Options{}, func(c *api.Config) {
				c.CORSOrigins = []string{listedOrigin, "http://localhost:5173"}
			}),
			off: apitest.Start(t, enginetest.Options{}),
		}
	}
	b := setup(t)

	tests := []struct {
		name    string
		off     bool // against the server without CORS
		method  string
		path    string
		headers map[string]string
		auth    bool
		status  int
		// allow is the Access-Control-Allow-Origin wanted ("" for none); preflight: the preflight headers too.
		allow     string
		preflight bool
		vary      bool
	}{
		{name: "PreflightListed", method: http.MethodOptions, path: "/api/v1/workflows", headers: preflight(listedOrigin, "POST"),
			status: http.StatusNoContent, allow: listedOrigin, preflight: true, vary: true},
		{name: "PreflightListedOtherOrigin", method: http.MethodOptions, path: "/api/v1/workflows/x", headers: preflight("http://localhost:5173", "PUT"),
			status: http.StatusNoContent, allow: "http://localhost:5173", preflight: true, vary: true},
		{name: "PreflightUnlisted", method: http.MethodOptions, path: "/api/v1/workflows", headers: preflight(unlistedOrigin, "POST"),
			status: http.StatusMethodNotAllowed, vary: true},
		{name: "PreflightOriginCaseMatters", method: http.MethodOptions, path: "/api/v1/workflows", headers: preflight("https://APP.example.com", "POST"),
			status: http.StatusMethodNotAllowed, vary: true},
		{name: "PreflightOriginWithPath", method: http.MethodOptions, path: "/api/v1/workflows", headers: preflight(listedOrigin+"/", "POST"),
			status: http.StatusMethodNotAllowed, vary: true},
		{name: "PreflightNullOrigin", method: http.MethodOptions, path: "/api/v1/workflows", headers: preflight("null", "POST"),
			status: http.StatusMethodNotAllowed, vary: true},
		{name: "PreflightWhenOff", off: true, method: http.MethodOptions, path: "/api/v1/workflows", headers: preflight(listedOrigin, "POST"),
			status: http.StatusMethodNotAllowed},
		{name: "PreflightOfAWebhook", method: http.MethodOptions, path: "/hooks/orders", headers: preflight(listedOrigin, "POST"),
			status: http.StatusMethodNotAllowed},
		{name: "GetListed", method: http.MethodGet, path: "/api/v1/workflows", headers: crossSite(listedOrigin), auth: true,
			status: http.StatusOK, allow: listedOrigin, vary: true},
		{name: "GetListedWithoutToken", method: http.MethodGet, path: "/api/v1/workflows", headers: crossSite(listedOrigin),
			status: http.StatusUnauthorized, allow: listedOrigin, vary: true},
		{name: "GetUnlisted", method: http.MethodGet, path: "/api/v1/workflows", headers: crossSite(unlistedOrigin), auth: true,
			status: http.StatusOK, vary: true},
		{name: "GetWhenOff", off: true, method: http.MethodGet, path: "/api/v1/workflows", headers: crossSite(listedOrigin), auth: true,
			status: http.StatusOK},
		{name: "PostListedPassesTheCrossSiteGuard", method: http.MethodPost, path: "/api/v1/workflows", headers: crossSite(listedOrigin), auth: true,
			status: http.StatusCreated, allow: listedOrigin, vary: true},
		{name: "PostUnlistedIsRefused", method: http.MethodPost, path: "/api/v1/workflows", headers: crossSite(unlistedOrigin), auth: true,
			status: http.StatusForbidden, vary: true},
		{name: "PostListedWhenOffIsRefused", off: true, method: http.MethodPost, path: "/api/v1/workflows", headers: crossSite(listedOrigin), auth: true,
			status: http.StatusForbidden},
		{name: "HealthIsNotAPI", method: http.MethodGet, path: "/healthz", headers: crossSite(listedOrigin), status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			s := b.on
			if tt.off {
				s = b.off
			}
			status, h := corsRequest(t, s, tt.method, tt.path, tt.headers, tt.auth)
			require.Equal(t, tt.status, status)
			require.Equal(t, tt.allow, h.Get("Access-Control-Allow-Origin"))
			require.Empty(t, h.Values("Access-Control-Allow-Credentials"), "tokens travel in headers, never cookies")
			require.Equal(t, tt.vary, strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin"), "Vary: %v", h.Values("Vary"))
			if tt.preflight {
				require.Equal(t, "GET, POST, PUT, PATCH, DELETE", h.Get("Access-Control-Allow-Methods"))
				require.Equal(t, "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, Last-Event-ID", h.Get("Access-Control-Allow-Headers"))
				require.Equal(t, "3600", h.Get("Access-Control-Max-Age"))
				return
			}
			require.Empty(t, h.Get("Access-Control-Allow-Methods"))
			if tt.allow != "" {
				require.Equal(t, "ETag, Location, Retry-After, WWW-Authenticate, X-Request-ID", h.Get("Access-Control-Expose-Headers"))
			} else {
				require.Empty(t, h.Get("Access-Control-Expose-Headers"))
			}
		})
	}
}

// TestCORSWebSocket: a page of a listed origin may open the live WebSocket; another origin's is
// refused at the handshake.
func TestCORSWebSocket(t *testing.T) {
	t.Parallel()
	s := apitest.StartLive(t, enginetest.Options{}, func(c *live.Config) { c.AllowedOrigins = []string{listedOrigin} },
		func(c *api.Config) { c.CORSOrigins = []string{listedOrigin} })
	url := "ws" + strings.TrimPrefix(s.URL, "http") + "/api/v1/ws"
	// dial returns the handshake's status; the library closes the response body itself.
	dial := func(origin string) (*websocket.Conn, int, error) {
		ctx := apitest.Anonymous(t.Context())
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: s.Client, HTTPHeader: http.Header{"Origin": {origin}}}) //nolint:bodyclose // websocket.Dial closes it
		if resp == nil {
			return c, 0, err
		}
		return c, resp.StatusCode, err
	}
	c, status, err := dial(listedOrigin)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, status)
	_ = c.Close(websocket.StatusNormalClosure, "")

	_, status, err = dial(unlistedOrigin)
	require.Error(t, err)
	require.Equal(t, http.StatusForbidden, status)
}

// TestHSTSUnderTLS: every answer over TLS carries Strict-Transport-Security, webhooks and errors
// included; over plain HTTP none does.
func TestHSTSUnderTLS(t *testing.T) {
	t.Parallel()
	plain := apitest.Start(t, enginetest.Options{})
	ts := httptest.NewTLSServer(plain.API.Handler())
	t.Cleanup(ts.Close)
	client := ts.Client()
	client.Transport.(*http.Transport).TLSClientConfig.MinVersion = tls.VersionTLS12
	for _, path := range []string{"/healthz", "/api/v1/workflows", "/hooks/nothing-here", "/api/v1/nope", "/"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+path, nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, "max-age=31536000; includeSubDomains", resp.Header.Get("Strict-Transport-Security"), path)

		status, h := corsRequest(t, plain, http.MethodGet, path, nil, true)
		require.NotZero(t, status)
		require.Empty(t, h.Get("Strict-Transport-Security"), "plain HTTP: %s", path)
	}
}
