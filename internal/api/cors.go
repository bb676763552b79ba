package api

import (
	"net/http"
	"strconv"
	"strings"
)

// CORS (CM_CORS_ORIGINS) is off by default: only the server's own pages and programs reach the API.
// Listed origins, compared exactly as browsers send them, may call /api/ from their pages:
//
//   - A preflight (OPTIONS with Access-Control-Request-Method) is answered 204 before any other
//     check (it carries no credentials), with the methods, the request headers the API reads and how
//     long the browser may cache the answer.
//   - Other requests get Access-Control-Allow-Origin and the response headers a client reads
//     (ETag for If-Match, Location, Retry-After, WWW-Authenticate, X-Request-ID).
//   - No Access-Control-Allow-Credentials: tokens travel in the Authorization header, never in
//     cookies a browser would attach by itself (the refresh cookie stays same-site).
//   - Listed origins pass the cross-site guard of browser.go; their WebSocket handshakes are accepted
//     by the live gateway.
//
// Unlisted origins get no CORS header at all. Every /api/ answer says Vary: Origin once CORS is on, so
// that a cache never hands one origin's answer to another.

// CORS values.
const (
	corsAllowMethods  = "GET, POST, PUT, PATCH, DELETE"
	corsAllowHeaders  = "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, Last-Event-ID"
	corsExposeHeaders = "ETag, Location, Retry-After, WWW-Authenticate, X-Request-ID"
	// CORSMaxAge is how long a browser may reuse a preflight's answer (browsers cap it: Chromium at
	// 2 hours, Firefox at 24).
	CORSMaxAge = 3600
)

// corsPolicy holds the listed origins.
type corsPolicy struct {
	origins map[string]bool
}

func newCORSPolicy(origins []string) *corsPolicy {
	p := &corsPolicy{origins: make(map[string]bool, len(origins))}
	for _, o := range origins {
		p.origins[o] = true
	}
	return p
}

// handle sets the CORS headers of the answer to r. It reports true when it answered r itself: a
// preflight from a listed origin.
func (p *corsPolicy) handle(w http.ResponseWriter, r *http.Request) bool {
	if len(p.origins) == 0 || !isRESTPath(r.URL.Path) {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !p.origins[origin] {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", strconv.Itoa(CORSMaxAge))
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	return false
}

func isRESTPath(p string) bool { return p == "/api" || strings.HasPrefix(p, "/api/") }
