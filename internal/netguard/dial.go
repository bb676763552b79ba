package netguard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// Dial and transport timeouts.
const (
	dialTimeout         = 30 * time.Second
	minDialAttempt      = 2 * time.Second
	dialKeepAlive       = 30 * time.Second
	idleConnTimeout     = 90 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	expectContinue      = time.Second
	maxIdleConns        = 100
	maxIdleConnsPerHost = 16
	maxResponseHeader   = 1 << 20
)

// DialContext connects to addr ("host:port") over TCP if the policy allows it. It resolves the host
// itself (an IP address in any spelling counts as that address), refuses the connection if any of the
// resolved addresses is refused, then dials the checked addresses literally, in order, so nothing is
// resolved twice. A net.Dialer Control hook checks the socket address once more just before
// connecting. A refusal is a *BlockedError. DialContext has the signature of
// http.Transport.DialContext.
func (p *Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	p = p.orZero()
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("dial %s %s: only tcp is allowed", network, addr)
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dial %s: invalid port %q", addr, portText)
	}
	candidates, err := p.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	for _, ip := range candidates {
		if err := p.Check(host, ip); err != nil {
			return nil, err
		}
	}

	usable := candidates[:0:0]
	for _, ip := range candidates {
		if network == "tcp4" && !ip.Is4() || network == "tcp6" && !ip.Is6() {
			continue
		}
		usable = append(usable, ip)
	}
	if len(usable) == 0 {
		return nil, fmt.Errorf("dial %s %s: host has no %s address", network, addr, network)
	}

	// As net.Dialer does for several addresses, share the time left among the addresses still to try,
	// so that one unreachable address does not use it all.
	deadline := time.Now().Add(dialTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dialer := &net.Dialer{KeepAlive: dialKeepAlive, Control: p.control(host)}
	var firstErr error
	for i, ip := range usable {
		attemptCtx, cancel := context.WithDeadline(ctx, partialDeadline(time.Now(), deadline, len(usable)-i))
		conn, err := dialer.DialContext(attemptCtx, network, netip.AddrPortFrom(ip, uint16(port)).String())
		cancel()
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// partialDeadline returns the deadline for one of addrsRemaining connection attempts: an equal share
// of the time left, but at least minDialAttempt unless the overall deadline comes sooner.
func partialDeadline(now, deadline time.Time, addrsRemaining int) time.Time {
	timeRemaining := deadline.Sub(now)
	share := timeRemaining / time.Duration(addrsRemaining)
	if share < minDialAttempt {
		share = min(minDialAttempt, timeRemaining)
	}
	return now.Add(share)
}

// resolve returns the addresses of host, unmapped, keeping IPv6 zones.
func (p *Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if host == "" {
		// Dialling an empty host reaches the local machine.
		return nil, &BlockedError{Reason: "empty host"}
	}
	addr, kind := parseHost(host)
	switch kind {
	case hostIP:
		return []netip.Addr{unmapKeepZone(addr)}, nil
	case hostMalformedIP:
		return nil, &BlockedError{Host: host, Reason: "malformed IP address"}
	}
	var r Resolver = net.DefaultResolver
	if p.Resolver != nil {
		r = p.Resolver
	}
	ipAddrs, err := r.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(ipAddrs))
	for _, ia := range ipAddrs {
		a, ok := netip.AddrFromSlice(ia.IP)
		if !ok {
			return nil, &BlockedError{Host: host, Reason: fmt.Sprintf("resolver returned an invalid address %q", ia.IP)}
		}
		out = append(out, unmapKeepZone(a.WithZone(ia.Zone)))
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

func unmapKeepZone(a netip.Addr) netip.Addr {
	if a.Is4In6() {
		return a.Unmap()
	}
	return a
}

// control returns a net.Dialer Control hook that checks the raw socket address just before the
// connection is made, as defence in depth against any path that would dial an unchecked address.
func (p *Policy) control(host string) func(network, address string, c syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &BlockedError{Host: host, Reason: fmt.Sprintf("unrecognised socket address %q", address)}
		}
		return p.Check(host, ap.Addr())
	}
}

// Transport returns a new *http.Transport that dials through DialContext. It never uses a proxy (a
// proxy from the environment would dial on the policy's behalf), allows HTTP/2, and bounds the TLS
// handshake (10s), idle connections (90s) and response headers (1 MiB). Share one Transport among
// requests so that connections are pooled.
func (p *Policy) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            p.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		ExpectContinueTimeout:  expectContinue,
		MaxResponseHeaderBytes: maxResponseHeader,
	}
}

var _ Resolver = (*net.Resolver)(nil)
