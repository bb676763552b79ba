package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// Policy decides which addresses outbound connections may reach. The zero Policy refuses every
// non-public address; a nil *Policy behaves like the zero Policy. A Policy must not be changed once it
// is in use; it is then safe for concurrent use.
type Policy struct {
	// AllowPrivate opens every refused address except cloud metadata endpoints, which only an
	// Allowlist entry naming the very address opens. It is meant for development and for deployments whose workflows must reach
	// internal services (CM_HTTP_ALLOW_PRIVATE).
	AllowPrivate bool
	// Allowlist lists hosts and addresses that may be reached even when they are private: exact host
	// names, wildcard host names (*.internal.example), IP addresses and CIDR ranges, as parsed by
	// ParseAllowlist (CM_HTTP_ALLOWLIST). A host name entry trusts whatever its DNS answers. A cloud
	// metadata endpoint is opened only by an entry that is its address (169.254.169.254), never by a
	// range, a wildcard or a host name, so that a broad entry such as 169.254.0.0/16 or a name whose DNS
	// is turned against the server cannot expose instance credentials.
	Allowlist []string
	// Resolver resolves host names before they are checked and dialled. Nil means
	// net.DefaultResolver.
	Resolver Resolver
}

// Resolver resolves a host name to IP addresses. *net.Resolver implements it; tests inject fakes to
// simulate DNS answers such as rebinding.
type Resolver interface {
	// LookupIPAddr returns the addresses of host.
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Hints appended to BlockedError messages, naming the configuration that lifts the refusal.
const (
	hintPrivate  = "set CM_HTTP_ALLOW_PRIVATE=true or add the host to CM_HTTP_ALLOWLIST"
	hintMetadata = "to reach it on purpose, add the address itself to CM_HTTP_ALLOWLIST (ranges and host names do not open metadata endpoints)"
)

// BlockedError is a connection or URL the policy refused.
type BlockedError struct {
	// Host is the host as requested: a name, or an address in the spelling given.
	Host string
	// IP is the refused address, or the zero Addr when the host or URL itself was refused.
	IP netip.Addr
	// Reason says why, such as "loopback address" or "cloud metadata endpoint".
	Reason string

	hint string
}

// Error says what was refused, why, and which setting would allow it, for example
// "refused to connect to 127.0.0.1 (loopback address): set CM_HTTP_ALLOW_PRIVATE=true or add the host
// to CM_HTTP_ALLOWLIST".
func (e *BlockedError) Error() string {
	var b strings.Builder
	b.WriteString("refused to connect")
	switch {
	case e.IP.IsValid() && (e.Host == "" || e.Host == e.IP.String()):
		fmt.Fprintf(&b, " to %s (%s)", e.IP, e.Reason)
	case e.IP.IsValid():
		fmt.Fprintf(&b, " to %s at %s (%s)", e.Host, e.IP, e.Reason)
	case e.Host != "":
		fmt.Fprintf(&b, " to %s: %s", e.Host, e.Reason)
	default:
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	if e.hint != "" {
		b.WriteString(": ")
		b.WriteString(e.hint)
	}
	return b.String()
}

func (p *Policy) orZero() *Policy {
	if p == nil {
		return &Policy{}
	}
	return p
}

// Check reports whether host may be reached at ip. host is the name the address was obtained for, or
// the address as written; it is matched against the Allowlist's host name entries unless it is itself
// an IP address. ip is unmapped first, and an IPv4 address embedded in a NAT64, 6to4 or Teredo address
// is checked too. The error is a *BlockedError.
func (p *Policy) Check(host string, ip netip.Addr) error {
	p = p.orZero()
	if !ip.IsValid() {
		return &BlockedError{Host: host, Reason: "invalid IP address"}
	}
	addr := ip.WithZone("").Unmap()
	reported := ip.WithZone("")
	name := ""
	if _, kind := parseHost(host); kind == hostName {
		name = strings.TrimSuffix(strings.ToLower(host), ".")
	}

	r, blocked := classify(addr)
	inner, kind, embedded := embeddedIPv4(addr)
	if !blocked && embedded {
		if ir, ok := classify(inner); ok {
			r, blocked = ir, true
			r.reason = fmt.Sprintf("%s embedded in a %s address", ir.reason, kind)
		}
	}
	if !blocked {
		return nil
	}
	allowAddrs := []netip.Addr{addr}
	if embedded {
		allowAddrs = append(allowAddrs, inner)
	}
	if r.metadata {
		if p.allowlistedAddr(allowAddrs...) {
			return nil
		}
		return &BlockedError{Host: host, IP: reported, Reason: r.reason, hint: hintMetadata}
	}
	if p.AllowPrivate || p.allowlisted(name, allowAddrs...) {
		return nil
	}
	return &BlockedError{Host: host, IP: reported, Reason: r.reason, hint: hintPrivate}
}

// CheckHost checks host without resolving it: an IP address in any spelling (2130706433, 0x7f.1,
// [::ffff:127.0.0.1]) is checked as that address, and a malformed numeric host (1.2.3.4.5) or an empty
// host is refused. A name passes: it is checked, address by address, when it is dialled. The error is a
// *BlockedError.
func (p *Policy) CheckHost(host string) error {
	p = p.orZero()
	if host == "" {
		return &BlockedError{Reason: "empty host"}
	}
	addr, kind := parseHost(host)
	switch kind {
	case hostIP:
		return p.Check(host, addr)
	case hostMalformedIP:
		return &BlockedError{Host: host, Reason: "malformed IP address"}
	}
	return nil
}

// CheckURL refuses a URL that is not http or https, that carries user credentials (which would be
// echoed wherever the URL is shown; send them in an Authorization header instead), or whose host is
// empty or refused by CheckHost. It does no I/O; use it before sending a request and in
// http.Client.CheckRedirect. The error is a *BlockedError.
func (p *Policy) CheckURL(u *url.URL) error {
	p = p.orZero()
	if u == nil {
		return &BlockedError{Reason: "no URL"}
	}
	if !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") {
		return &BlockedError{Host: u.Host, Reason: fmt.Sprintf("URL scheme %q is not allowed; use http or https", u.Scheme)}
	}
	if u.User != nil {
		return &BlockedError{Host: u.Host, Reason: "URL contains user credentials; send them in an Authorization header instead"}
	}
	host := u.Hostname()
	if host == "" {
		return &BlockedError{Reason: "URL has no host"}
	}
	return p.CheckHost(host)
}
