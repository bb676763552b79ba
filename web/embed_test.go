package web

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	built := fstest.MapFS{
		"index.html":         {Data: []byte("<html>app</html>")},
		"assets/app-1a2b.js": {Data: []byte("console.log(1)")},
		"favicon.svg":        {Data: []byte("<svg/>")},
	}
	tests := []struct {
		name        string
		fsys        fstest.MapFS
		method      string
		path        string
		accept      string
		status      int
		body        string
		cache       string
		contentType string
	}{
		{name: "Index", fsys: built, path: "/", status: 200, body: "<html>app</html>", cache: "no-cache"},
		{name: "ClientRouteFallsBackToIndex", fsys: built, path: "/workflows/0193/edit", accept: "text/html", status: 200, body: "<html>app</html>", cache: "no-cache"},
		{name: "HashedAssetIsImmutable", fsys: built, path: "/assets/app-1a2b.js", status: 200, body: "console.log(1)", cache: "public, max-age=31536000, immutable"},
		{name: "OtherFileRevalidates", fsys: built, path: "/favicon.svg", status: 200, cache: "no-cache"},
		{name: "MissingAssetIs404", fsys: built, path: "/assets/gone.js", accept: "text/html", status: 404},
		{name: "NonHTMLMissIs404", fsys: built, path: "/nope.json", accept: "application/json", status: 404},
		{name: "PostIsRefused", fsys: built, method: "POST", path: "/", status: 405},
		{name: "NotBuiltExplains", fsys: fstest.MapFS{".gitkeep": {}}, path: "/", status: 200, body: "make run"},
		{name: "NotBuiltOtherPath", fsys: fstest.MapFS{}, path: "/workflows", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req := httptest.NewRequestWithContext(t.Context(), method, tt.path, nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			rec := httptest.NewRecorder()
			Handler(tt.fsys).ServeHTTP(rec, req)
			require.Equal(t, tt.status, rec.Code)
			if tt.body != "" {
				require.Contains(t, rec.Body.String(), tt.body)
			}
			if tt.cache != "" {
				require.Equal(t, tt.cache, rec.Header().Get("Cache-Control"))
			}
			if tt.status == http.StatusOK {
				csp := rec.Header().Get("Content-Security-Policy")
				require.NotEmpty(t, csp, "every page has a policy")
				require.Contains(t, csp, "frame-ancestors 'none'")
				require.NotContains(t, csp, "unsafe-eval")
				if tt.name != "NotBuiltExplains" {
					requireAppCSP(t, csp, rec.Body.String())
				}
			}
		})
	}
}

// requireAppCSP checks a response's policy: AppCSP for a file, PageCSP with a fresh nonce for a page,
// whose HTML then carries the same nonce.
func requireAppCSP(t *testing.T, csp, body string) {
	t.Helper()
	if csp == AppCSP {
		return
	}
	m := regexp.MustCompile(`'nonce-([A-Za-z0-9+/]{22}==)'`).FindStringSubmatch(csp)
	require.NotNil(t, m, "a page's policy carries a nonce: %s", csp)
	require.Equal(t, PageCSP(m[1]), csp)
	require.Contains(t, body, `<meta name="csp-nonce" content="`+m[1]+`">`)
}

func TestPageNonceIsFreshEachTime(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{"index.html": {Data: []byte("<!doctype html><html><head><title>x</title></head><body></body></html>")}}
	seen := map[string]bool{}
	for range 3 {
		rec := httptest.NewRecorder()
		Handler(fsys).ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/workflows", nil))
		csp := rec.Header().Get("Content-Security-Policy")
		requireAppCSP(t, csp, rec.Body.String())
		require.NotContains(t, csp, "script-src 'self' 'nonce", "scripts never take the nonce")
		require.False(t, seen[csp], "each page view gets its own nonce")
		seen[csp] = true
		require.True(t, strings.Index(rec.Body.String(), "csp-nonce") < strings.Index(rec.Body.String(), "</head>"), "the nonce sits in the head")
	}
}

// TestHandlerCompresses: a client that accepts gzip gets scripts gzip-compressed, with the same
// bytes once decompressed; one that does not gets them as they are.
func TestHandlerCompresses(t *testing.T) {
	t.Parallel()
	script := strings.Repeat("console.log('ConcertMaster');\n", 200)
	fsys := fstest.MapFS{"index.html": {Data: []byte("<html>app</html>")}, "assets/app-1a2b.js": {Data: []byte(script)}}
	h := Handler(fsys)

	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/assets/app-1a2b.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
	require.Less(t, rec.Body.Len(), len(script)/5)
	zr, err := gzip.NewReader(rec.Body)
	require.NoError(t, err)
	got, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, script, string(got))
	require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))

	req = httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/assets/app-1a2b.js", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Empty(t, rec.Header().Get("Content-Encoding"))
	require.Equal(t, script, rec.Body.String())
}
