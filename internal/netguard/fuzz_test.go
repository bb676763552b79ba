package netguard

import (
	"net"
	"net/netip"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzCheckHost(f *testing.F) {
	for _, seed := range []string{
		"", ".", "example.com", "127.0.0.1", "127.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001",
		"0x", "0x.0x", "08.1", "1.2.3.4.5", "4294967296", "127.0.0.1.", "[::1]", "::ffff:127.0.0.1",
		"[::ffff:169.254.169.254]", "fe80::1%eth0", "64:ff9b::7f00:1", "2002:7f00:1::", "[", "]", "[]",
		"0251.0376.0251.0376", "999999999999999999999999", "1.2.3.4.example.com",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, host string) {
		var p Policy
		err := p.CheckHost(host)

		addr, kind := parseHost(host)
		switch kind {
		case hostIP:
			require.True(t, addr.IsValid())
			a := addr.WithZone("").Unmap()
			if a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast() {
				require.Error(t, err, "%q means %s", host, a)
			}
		case hostMalformedIP:
			require.Error(t, err)
		case hostName:
			if host != "" {
				require.NoError(t, err)
			}
		}
		// Whatever the standard library takes for an IP address must be recognised as that address.
		if ip := net.ParseIP(host); ip != nil {
			require.Equal(t, hostIP, kind)
			want, ok := netip.AddrFromSlice(ip)
			require.True(t, ok)
			require.Equal(t, want.Unmap(), addr.Unmap())
		}

		_ = (&Policy{AllowPrivate: true, Allowlist: []string{host, "*." + host}}).CheckHost(host)
		if u, perr := url.Parse("http://" + host + "/"); perr == nil {
			_ = p.CheckURL(u)
		}
	})
}

func FuzzParseAllowlist(f *testing.F) {
	for _, seed := range []string{"", "a.example,*.b.example", "10.0.0.0/8, fd00::/8", "10.0.0.0/33", "[::1]", "*", "2130706433"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		entries, err := ParseAllowlist(s)
		if err != nil {
			require.Nil(t, entries)
			return
		}
		// Normalised entries parse to themselves.
		for _, e := range entries {
			again, err := ParseAllowlist(e)
			require.NoError(t, err, "entry %q", e)
			require.Equal(t, []string{e}, again)
		}
		p := &Policy{Allowlist: entries}
		_ = p.Check("example.com", netip.MustParseAddr("10.0.0.1"))
	})
}
