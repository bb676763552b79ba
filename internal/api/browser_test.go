package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/web"
)

// guardRequest is one request for the browser guard tests; Host and headers are sent as given.
type guardRequest struct {
	method, path, host, body string
	headers                  map[string]string
}

// send sends r to s and checks the answer against the OpenAPI document.
func send(t *testing.T, s *apitest.Server, r guardRequest) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(context.Background(), r.method, s.URL+r.path, body)
	require.NoError(t, err)
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.host != "" {
		req.Host = r.host
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, s.Validator.Validate(context.Background(), req, resp.StatusCode, resp.Header, b), "the answer is documented: %s", b)
	return resp.StatusCode, resp.Header, string(b)
}

func TestHostCheck(t *testing.T) {
	t.Parallel()

	type testBundle struct {
		defaults, configured, open *apitest.Server
	}
	setup := func(t *testing.T) *testBundle {
		t.Helper()
		return &testBundle{
			defaults: apitest.StartWith(t, enginetest.Options{}, func(c *api.Config) { c.ListenAddr = "cm.internal:8080" }),
			configured: apitest.StartWith(t, enginetest.Options{}, func(c *api.Config) {
				c.AllowedHosts = []string{"ci.example.com", "*.corp.example", "admin.example:8443"}
			}),
			open: apitest.StartWith(t, enginetest.Options{}, func(c *api.Config) { c.AllowedHosts = []string{"*"} }),
		}
	}
	b := setup(t)

	tests := []struct {
		name   string
		server func(*testBundle) *apitest.Server
		host   string
		want   int
	}{
		{name: "AnyNameWhenOpen", server: func(b *testBundle) *apitest.Server { return b.open }, host: "rebind.attacker.test", want: http.StatusOK},
		{name: "ConfiguredName", server: func(b *testBundle) *apitest.Server { return b.configured }, host: "ci.example.com", want: http.StatusOK},
		{name: "ConfiguredNameAnyPort", server: func(b *testBundle) *apitest.Server { return b.configured }, host: "CI.Example.com.:9999", want: http.StatusOK},
		{name: "ConfiguredNameOtherName", server: func(b *testBundle) *apitest.Server { return b.configured }, host: "ci.example.com.attacker.test", want: http.StatusMisdirectedRequest},
		{name: "ConfiguredPort", server: func(b *testBundle) *apitest.Server { return b.configured }, host: "admin.example:8443", want: http.StatusOK},
		{name: "ConfiguredPortOtherPort", server: func(b *testBundle) *apitest.Server { return b.configured }, host: "admin.example:80", want: http.StatusMisdirectedRequest},
		{name: "ConfiguredPortNoPort", server: func(b *testBundle) *apitest.Server { return b.configured }, host: "admin.example", want: http.StatusMisdirectedRequest},
		{name: "ConfiguredWildcard", server: func(b *testBundle) *apitest.Server { return b.configured }, host: "cm.eu.corp.example", want: http.StatusOK},
		{name: "ConfiguredWildcardApex", server: func(b *testBundle) *apitest.Server { return b.configured }, host: "corp.example", want: http.StatusMisdirectedRequest},
		{name: "ConfiguredWildcardLookalike", server: func(b *testBundle) *apitest.Server { return b.configured }, host: "evilcorp.example", want: http.StatusMisdirectedRequest},
		{name: "IPv4", server: func(b *testBundle) *apitest.Server { return b.defaults }, host: "10.1.2.3:8080", want: http.StatusOK},
		{name: "IPv6", server: func(b *testBundle) *apitest.Server { return b.defaults }, host: "[::1]:8080", want: http.StatusOK},
		{name: "ListenName", server: func(b *testBundle) *apitest.Server { return b.defaults }, host: "cm.internal:8080", want: http.StatusOK},
		{name: "Localhost", server: func(b *testBundle) *apitest.Server { return b.defaults }, host: "localhost:8080", want: http.StatusOK},
		{name: "LocalhostSubdomain", server: func(b *testBundle) *apitest.Server { return b.defaults }, host: "cm.localhost", want: http.StatusOK},
		{name: "LocalhostSuffixTrick", server: func(b *testBundle) *apitest.Server { return b.defaults }, host: "localhost.attacker.test", want: http.StatusMisdirectedRequest},
		{name: "NumericName", server: func(b *testBundle) *apitest.Server { return b.defaults }, host: "2130706433", want: http.StatusMisdirectedRequest},
		{name: "Rebinding", server: func(b *testBundle) *apitest.Server { return b.defaults }, host: "rebind.attacker.test:8080", want: http.StatusMisdirectedRequest},
		{name: "RebindingUnconfigured", server: func(b *testBundle) *apitest.Server { return b.configured }, host: "rebind.attacker.test", want: http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.server(b)
			for _, path := range []string{"/api/v1/workflows", "/healthz", "/hooks/nothing-here"} {
				status, header, body := send(t, s, guardRequest{method: http.MethodGet, path: path, host: tt.host})
				if tt.want == http.StatusOK {
					require.NotEqual(t, http.StatusMisdirectedRequest, status, "%s: %s", path, body)
					continue
				}
				require.Equal(t, tt.want, status, "%s: %s", path, body)
				require.Equal(t, "application/problem+json", header.Get("Content-Type"))
				var p api.ErrorModel
				require.NoError(t, json.Unmarshal([]byte(body), &p))
				require.Equal(t, api.ProblemMisdirectedRequest, p.Type)
				require.Contains(t, p.Detail, "CM_ALLOWED_HOSTS")
			}
		})
	}
}

func TestCrossOriginCheck(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	wf := create(t, s, `{"name":"hooked","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"in","respond":"immediately"}}]}`)["id"].(string)
	status, _, body := send(t, s, guardRequest{method: http.MethodPost, path: "/api/v1/workflows/" + wf + "/activate"})
	require.Equal(t, http.StatusOK, status, body)
	host := strings.TrimPrefix(s.URL, "http://")

	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers map[string]string
		want    int
	}{
		{name: "BodylessPostCrossSite", method: http.MethodPost, path: "/api/v1/workflows/" + wf + "/deactivate",
			headers: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://attacker.test"}, want: http.StatusForbidden},
		{name: "CreateCrossSite", method: http.MethodPost, path: "/api/v1/workflows", body: `{"name":"planted","nodes":[]}`,
			headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: http.StatusForbidden},
		{name: "DeleteSameSite", method: http.MethodDelete, path: "/api/v1/workflows/" + wf,
			headers: map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://other.example"}, want: http.StatusForbidden},
		{name: "GetCrossSite", method: http.MethodGet, path: "/api/v1/workflows/" + wf,
			headers: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://attacker.test"}, want: http.StatusOK},
		{name: "OldBrowserOtherOrigin", method: http.MethodPost, path: "/api/v1/workflows/validate", body: `{"name":"x","nodes":[]}`,
			headers: map[string]string{"Origin": "https://attacker.test"}, want: http.StatusForbidden},
		{name: "OldBrowserSameOrigin", method: http.MethodPost, path: "/api/v1/workflows/validate", body: `{"name":"x","nodes":[]}`,
			headers: map[string]string{"Origin": "http://" + host}, want: http.StatusOK},
		{name: "Program", method: http.MethodPost, path: "/api/v1/workflows/validate", body: `{"name":"x","nodes":[]}`, want: http.StatusOK},
		{name: "PutCrossSite", method: http.MethodPut, path: "/api/v1/workflows/" + wf, body: `{"name":"x","nodes":[]}`,
			headers: map[string]string{"Sec-Fetch-Site": "cross-site", "If-Match": `"1"`}, want: http.StatusForbidden},
		{name: "SameOrigin", method: http.MethodPost, path: "/api/v1/workflows/validate", body: `{"name":"x","nodes":[]}`,
			headers: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://attacker.test"}, want: http.StatusOK},
		{name: "UserTyped", method: http.MethodPost, path: "/api/v1/workflows/validate", body: `{"name":"x","nodes":[]}`,
			headers: map[string]string{"Sec-Fetch-Site": "none"}, want: http.StatusOK},
		{name: "WebhookCrossSite", method: http.MethodPost, path: "/hooks/in", body: `{}`,
			headers: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.example"}, want: http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, header, body := send(t, s, guardRequest{method: tt.method, path: tt.path, body: tt.body, headers: tt.headers})
			require.Equal(t, tt.want, status, body)
			if tt.want == http.StatusForbidden {
				require.Equal(t, "application/problem+json", header.Get("Content-Type"))
				require.Contains(t, body, api.ProblemForbidden)
				require.Contains(t, body, "another site")
			}
		})
	}

	// Nothing a refused request asked for happened.
	status, _, body = send(t, s, guardRequest{method: http.MethodGet, path: "/api/v1/workflows/" + wf})
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `"active":true`)
	require.Contains(t, body, `"name":"hooked"`)
	status, _, body = send(t, s, guardRequest{method: http.MethodGet, path: "/api/v1/workflows?name=planted"})
	require.Equal(t, http.StatusOK, status)
	require.NotContains(t, body, "planted")
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := apitest.StartWith(t, enginetest.Options{}, func(c *api.Config) { c.UI = web.Handler(web.FS()) })

	tests := []struct {
		name string
		req  guardRequest
		csp  string
	}{
		{name: "API", req: guardRequest{method: http.MethodGet, path: "/api/v1/workflows"}},
		{name: "App", req: guardRequest{method: http.MethodGet, path: "/", headers: map[string]string{"Accept": "text/html"}}, csp: "app"},
		{name: "Docs", req: guardRequest{method: http.MethodGet, path: "/docs"}, csp: "docs"},
		{name: "Misdirected", req: guardRequest{method: http.MethodGet, path: "/api/v1/workflows", host: "rebind.attacker.test"}},
		{name: "NotFound", req: guardRequest{method: http.MethodGet, path: "/api/v1/nope"}},
		{name: "OpenAPI", req: guardRequest{method: http.MethodGet, path: "/openapi.json"}},
		{name: "Webhook", req: guardRequest{method: http.MethodPost, path: "/hooks/none", body: "{}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, h, _ := send(t, s, tt.req)
			require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			require.Equal(t, "DENY", h.Get("X-Frame-Options"))
			require.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
			require.Equal(t, "same-origin", h.Get("Cross-Origin-Opener-Policy"))
			require.Equal(t, "same-origin", h.Get("Cross-Origin-Resource-Policy"))
			csp := h.Get("Content-Security-Policy")
			require.Contains(t, csp, "frame-ancestors 'none'")
			require.NotContains(t, csp, "unsafe-eval")
			switch tt.csp {
			case "app":
				if web.Built(web.FS()) && csp != web.AppCSP {
					nonce := regexp.MustCompile(`'nonce-([^']+)'`).FindStringSubmatch(csp)
					require.NotNil(t, nonce, csp)
					require.Equal(t, web.PageCSP(nonce[1]), csp)
				}
			case "docs":
				require.Contains(t, csp, "script-src 'sha256-")
				require.NotContains(t, csp, "script-src 'unsafe-inline'")
			default:
				require.Contains(t, csp, "default-src 'none'")
			}
		})
	}
}
