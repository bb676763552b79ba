package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// resolverFunc is a Resolver backed by a function, standing in for DNS.
type resolverFunc func(ctx context.Context, host string) ([]net.IPAddr, error)

func (f resolverFunc) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	return f(ctx, host)
}

// staticResolver answers every name with ips.
func staticResolver(ips ...string) resolverFunc {
	return func(context.Context, string) ([]net.IPAddr, error) {
		out := make([]net.IPAddr, 0, len(ips))
		for _, ip := range ips {
			out = append(out, net.IPAddr{IP: net.ParseIP(ip)})
		}
		return out, nil
	}
}

// failingResolver fails every lookup; it proves that a host was not resolved.
func failingResolver(t *testing.T) resolverFunc {
	return func(_ context.Context, host string) ([]net.IPAddr, error) {
		t.Errorf("unexpected lookup of %q", host)
		return nil, errors.New("unexpected lookup")
	}
}

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, tr *http.Transport, rawURL string) (*http.Response, error) {
	t.Helper()
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil {
		t.Cleanup(func() { _ = resp.Body.Close() })
	}
	return resp, err
}

func TestDialContextRefuses(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		addr     string
		resolver Resolver
		reason   string
		ip       string
	}{
		{name: "Decimal", addr: "2130706433:80", reason: "loopback address", ip: "127.0.0.1"},
		{name: "EmptyHost", addr: ":80", reason: "empty host"},
		{name: "Hex", addr: "0x7f.0.0.1:80", reason: "loopback address", ip: "127.0.0.1"},
		{name: "Malformed", addr: "1.2.3.4.5:80", reason: "malformed IP address"},
		{name: "MappedMetadata", addr: "[::ffff:169.254.169.254]:80", reason: "cloud metadata endpoint", ip: "169.254.169.254"},
		{name: "NameResolvingToMapped", addr: "metadata.example:80", resolver: staticResolver("::ffff:169.254.169.254"), reason: "cloud metadata endpoint", ip: "169.254.169.254"},
		{name: "NameResolvingToMixed", addr: "mixed.example:443", resolver: staticResolver("93.184.215.14", "10.0.0.5"), reason: "private network address", ip: "10.0.0.5"},
		{name: "NameResolvingToPrivate", addr: "api.example.com:443", resolver: staticResolver("10.0.0.5"), reason: "private network address", ip: "10.0.0.5"},
		{name: "Octal", addr: "0177.0.0.1:80", reason: "loopback address", ip: "127.0.0.1"},
		{name: "Short", addr: "127.1:80", reason: "loopback address", ip: "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &Policy{Resolver: tt.resolver}
			if p.Resolver == nil {
				p.Resolver = failingResolver(t)
			}
			conn, err := p.DialContext(t.Context(), "tcp", tt.addr)
			require.Nil(t, conn)
			var blocked *BlockedError
			require.ErrorAs(t, err, &blocked)
			require.Equal(t, tt.reason, blocked.Reason)
			if tt.ip != "" {
				require.Equal(t, tt.ip, blocked.IP.Unmap().String())
			}
		})
	}
}

func TestDialContextErrors(t *testing.T) {
	t.Parallel()

	lookupErr := &net.DNSError{Err: "no such host", Name: "nowhere.example", IsNotFound: true}
	tests := []struct {
		name     string
		network  string
		addr     string
		resolver Resolver
		message  string
	}{
		{name: "BadPort", network: "tcp", addr: "example.com:http", message: `invalid port "http"`},
		{name: "LookupFails", network: "tcp", addr: "nowhere.example:80", resolver: resolverFunc(func(context.Context, string) ([]net.IPAddr, error) { return nil, lookupErr }), message: "lookup nowhere.example: no such host"},
		{name: "MissingPort", network: "tcp", addr: "example.com", message: "missing port"},
		{name: "NoAddressForNetwork", network: "tcp6", addr: "v4only.example:80", resolver: staticResolver("93.184.215.14"), message: "host has no tcp6 address"},
		{name: "NoAddresses", network: "tcp", addr: "empty.example:80", resolver: staticResolver(), message: "no such host"},
		{name: "UDP", network: "udp", addr: "8.8.8.8:53", message: "only tcp is allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &Policy{Resolver: tt.resolver}
			if p.Resolver == nil {
				p.Resolver = failingResolver(t)
			}
			conn, err := p.DialContext(t.Context(), tt.network, tt.addr)
			require.Nil(t, conn)
			require.ErrorContains(t, err, tt.message)
		})
	}
}

func TestDialContextDialsResolvedAddress(t *testing.T) {
	t.Parallel()

	srv := newServer(t)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)

	var lookups atomic.Int32
	p := &Policy{
		Allowlist: []string{"127.0.0.1/32"},
		Resolver: resolverFunc(func(_ context.Context, host string) ([]net.IPAddr, error) {
			lookups.Add(1)
			if host != "service.test" {
				return nil, &net.DNSError{Err: "unexpected host", Name: host}
			}
			return []net.IPAddr{{IP: net.ParseIP("127.0.0.1")}}, nil
		}),
	}
	// service.test does not exist in real DNS: the request only succeeds if the policy dials the address
	// its own resolver returned.
	resp, err := get(t, p.Transport(), "http://service.test:"+port+"/") //nolint:bodyclose // get closes the body at cleanup
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, int32(1), lookups.Load())
}

func TestDialContextRebinding(t *testing.T) {
	t.Parallel()

	srv := newServer(t)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)

	// The first answer is allowed; every later one points at another loopback address, as a rebinding
	// DNS server would once the name has been vetted.
	var lookups atomic.Int32
	p := &Policy{
		Allowlist: []string{"127.0.0.1/32"},
		Resolver: resolverFunc(func(context.Context, string) ([]net.IPAddr, error) {
			if lookups.Add(1) == 1 {
				return []net.IPAddr{{IP: net.ParseIP("127.0.0.1")}}, nil
			}
			return []net.IPAddr{{IP: net.ParseIP("127.0.0.2")}}, nil
		}),
	}
	tr := p.Transport()
	tr.DisableKeepAlives = true
	target := "http://rebind.test:" + port + "/"

	resp, err := get(t, tr, target) //nolint:bodyclose // get closes the body at cleanup
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	_, err = get(t, tr, target) //nolint:bodyclose // get closes the body at cleanup
	var blocked *BlockedError
	require.ErrorAs(t, err, &blocked)
	require.Equal(t, "rebind.test", blocked.Host)
	require.Equal(t, netip.MustParseAddr("127.0.0.2"), blocked.IP)
	require.Equal(t, int32(2), lookups.Load())
}

func TestTransport(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		policy *Policy
		reason string // empty when the request succeeds
	}{
		{name: "AllowPrivate", policy: &Policy{AllowPrivate: true}},
		{name: "AllowlistCIDR", policy: &Policy{Allowlist: []string{"127.0.0.0/8"}}},
		{name: "AllowlistIP", policy: &Policy{Allowlist: []string{"127.0.0.1"}}},
		{name: "Default", policy: &Policy{}, reason: "loopback address"},
		{name: "NilPolicy", policy: nil, reason: "loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			tr := tt.policy.Transport()
			require.Nil(t, tr.Proxy, "environment proxies must never be used")
			require.True(t, tr.ForceAttemptHTTP2)

			resp, err := get(t, tr, srv.URL) //nolint:bodyclose // get closes the body at cleanup
			if tt.reason == "" {
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				return
			}
			var blocked *BlockedError
			require.ErrorAs(t, err, &blocked)
			require.Equal(t, tt.reason, blocked.Reason)
			require.True(t, strings.HasPrefix(srv.URL, "http://"+blocked.Host+":"))
		})
	}
}

func TestControl(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		host    string
		address string
		policy  *Policy
		reason  string // empty when allowed
	}{
		{name: "AllowlistedHost", host: "db.internal.example", address: "10.0.0.5:5432", policy: &Policy{Allowlist: []string{"db.internal.example"}}},
		{name: "Garbage", host: "x", address: "not-an-address", policy: &Policy{}, reason: `unrecognised socket address "not-an-address"`},
		{name: "Loopback", host: "example.com", address: "127.0.0.1:80", policy: &Policy{}, reason: "loopback address"},
		{name: "MappedIPv6", host: "example.com", address: "[::ffff:10.0.0.1]:80", policy: &Policy{}, reason: "private network address"},
		{name: "Public", host: "example.com", address: "93.184.215.14:443", policy: &Policy{}},
		{name: "ZonedLinkLocal", host: "example.com", address: "[fe80::1%lo]:80", policy: &Policy{}, reason: "link-local address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.policy.control(tt.host)("tcp", tt.address, nil)
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			var blocked *BlockedError
			require.ErrorAs(t, err, &blocked)
			require.Equal(t, tt.reason, blocked.Reason)
		})
	}
}

func TestDialContextFallsBack(t *testing.T) {
	t.Parallel()

	srv := newServer(t)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)

	// Nothing listens on 127.0.0.3, so the first address refuses the connection and the second is
	// tried.
	p := &Policy{AllowPrivate: true, Resolver: staticResolver("127.0.0.3", "127.0.0.1")}
	resp, err := get(t, p.Transport(), "http://two.test:"+port+"/") //nolint:bodyclose // get closes the body at cleanup
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestPartialDeadline(t *testing.T) {
	t.Parallel()

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		remaining time.Duration
		addrs     int
		want      time.Duration
	}{
		{name: "EqualShare", remaining: 30 * time.Second, addrs: 3, want: 10 * time.Second},
		{name: "LastAddressGetsAll", remaining: 7 * time.Second, addrs: 1, want: 7 * time.Second},
		{name: "MinimumShare", remaining: 4 * time.Second, addrs: 4, want: 2 * time.Second},
		{name: "NeverPastDeadline", remaining: time.Second, addrs: 4, want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, now.Add(tt.want), partialDeadline(now, now.Add(tt.remaining), tt.addrs))
		})
	}
}
