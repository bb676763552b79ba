package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Until identity lands the server has no login, so any web page a user visits could drive it through
// the user's browser. guard closes the two ways in and tells browsers to keep the rest shut:
//
//   - DNS rebinding: a page on evil.example whose name is made to resolve to 127.0.0.1 reaches the
//     server as a same-origin page and could read every answer. Its requests carry Host: evil.example,
//     so the server answers only the names it is known by (hostPolicy) and refuses the others with 421.
//   - Cross-site requests: a page anywhere can send a POST (a form, fetch without CORS) and change
//     state without reading the answer. State-changing requests that a browser marks as coming from
//     another site (Sec-Fetch-Site, or Origin against Host for browsers without it) are refused with
//     403, through net/http.CrossOriginProtection. Requests without either header come from programs
//     (curl, SDKs), which a page cannot make, and pass. Webhooks are meant to be called from anywhere
//     and are not checked.
//   - Every answer carries security headers: a CSP that allows no script, frame or plugin (the web
//     app and /docs set their own, stricter than the browser default), nosniff, no framing, no
//     referrer, and same-origin opener and resource policies; over TLS, Strict-Transport-Security.
//   - CORS is off unless CM_CORS_ORIGINS lists origins (cors.go); those pass the cross-site check.

// Problem types of the browser guards.
const (
	ProblemMisdirectedRequest = "urn:concertmaster:problem:misdirected-request"
	ProblemForbidden          = "urn:concertmaster:problem:forbidden"
)

// hstsValue is the Strict-Transport-Security of every answer served over TLS.
const hstsValue = "max-age=31536000; includeSubDomains"

// apiCSP is the Content-Security-Policy of every answer that does not set its own: JSON and problem
// documents run nothing and load nothing.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// setSecurityHeaders sets the headers every answer carries; a handler may replace the CSP.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", apiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// guard applies the browser protections described above, before any route.
func (s *Server) guard(next http.Handler) http.Handler {
	hosts := newHostPolicy(s.cfg.ListenAddr, s.cfg.AllowedHosts)
	origins := http.NewCrossOriginProtection()
	for _, o := range s.cfg.CORSOrigins {
		// config.ParseOrigins checked them; one this refuses would only stay untrusted.
		if err := origins.AddTrustedOrigin(o); err != nil {
			s.logger.Warn("CORS origin not trusted by the cross-site guard", "origin", o, "error", err.Error())
		}
	}
	cors := newCORSPolicy(s.cfg.CORSOrigins)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		if r.TLS != nil {
			// Served over TLS: browsers keep to HTTPS for this name (and its subdomains) for a year.
			w.Header().Set("Strict-Transport-Security", hstsValue)
		}
		if host, ok := hosts.allows(r.Host); !ok {
			writeProblem(w, newError(http.StatusMisdirectedRequest, "this server does not answer to the host "+quoteExcerpt(host)+
				" (a defence against DNS rebinding): use its address, localhost or an IP address, or add the name to CM_ALLOWED_HOSTS"))
			return
		}
		if cors.handle(w, r) {
			return
		}
		if !isWebhookPath(r.URL.Path) {
			if err := origins.Check(r); err != nil {
				writeProblem(w, newError(http.StatusForbidden, r.Method+" "+excerpt(r.URL.Path, 200)+" came from a page on another site, "+
					"which may not change this server's state (Sec-Fetch-Site or Origin); send it from the ConcertMaster app or from a program"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isWebhookPath(p string) bool {
	return p == "/hooks" || strings.HasPrefix(p, "/hooks/") || strings.HasPrefix(p, "/resume/")
}

func quoteExcerpt(s string) string { return `"` + excerpt(s, 100) + `"` }

// hostPolicy decides which Host headers the server answers. It always answers IP addresses (a
// rebinding page reaches the server under its own DNS name, never under an address), localhost and
// *.localhost (which browsers resolve to loopback themselves), and the host name of its listen
// address; then the names configured in CM_ALLOWED_HOSTS, as config.ParseAllowedHosts normalises them.
type hostPolicy struct {
	any     bool
	entries []hostEntry
}

// hostEntry is one allowed name: exact or a wildcard suffix (".example.com"), with a port or any.
type hostEntry struct {
	name     string
	wildcard bool
	port     string
}

func newHostPolicy(listenAddr string, allowed []string) *hostPolicy {
	p := &hostPolicy{}
	if host, _, err := net.SplitHostPort(listenAddr); err == nil && host != "" {
		allowed = append([]string{host}, allowed...)
	}
	for _, raw := range allowed {
		e := strings.ToLower(strings.TrimSpace(raw))
		if e == "*" {
			p.any = true
			continue
		}
		name, port := e, ""
		if h, pt, err := net.SplitHostPort(e); err == nil {
			name, port = h, pt
		}
		entry := hostEntry{name: strings.TrimSuffix(name, "."), port: port}
		if rest, ok := strings.CutPrefix(entry.name, "*."); ok {
			entry.name, entry.wildcard = "."+rest, true
		}
		if entry.name != "" {
			p.entries = append(p.entries, entry)
		}
	}
	return p
}

// allows reports whether the server answers to the Host header hostport, and returns its host part.
func (p *hostPolicy) allows(hostport string) (string, bool) {
	host, port := hostport, ""
	if h, pt, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, pt
	}
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")), ".")
	switch {
	case p.any, hostport == "":
		// An HTTP/1.0 request may have no Host: it comes from a program, not a browser.
		return host, true
	case host == "localhost", strings.HasSuffix(host, ".localhost"):
		return host, true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host, true
	}
	for _, e := range p.entries {
		if e.port != "" && e.port != port {
			continue
		}
		if e.wildcard && strings.HasSuffix(host, e.name) && len(host) > len(e.name) || !e.wildcard && host == e.name {
			return host, true
		}
	}
	return host, false
}
