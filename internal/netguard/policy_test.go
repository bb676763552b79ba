package netguard

import (
	"net/netip"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		ip     string
		reason string // empty when the address is allowed
	}{
		{name: "Benchmarking", ip: "198.19.255.1", reason: "benchmarking address"},
		{name: "BenchmarkingIPv6", ip: "2001:2::1", reason: "benchmarking address"},
		{name: "Broadcast", ip: "255.255.255.255", reason: "broadcast address"},
		{name: "CGNAT", ip: "100.64.0.1", reason: "shared (carrier-grade NAT) address"},
		{name: "CGNATTop", ip: "100.127.255.254", reason: "shared (carrier-grade NAT) address"},
		{name: "Documentation192", ip: "192.0.2.10", reason: "documentation address"},
		{name: "Documentation198", ip: "198.51.100.10", reason: "documentation address"},
		{name: "Documentation203", ip: "203.0.113.10", reason: "documentation address"},
		{name: "DocumentationIPv6", ip: "2001:db8::1", reason: "documentation address"},
		{name: "IETFProtocolAssignments", ip: "192.0.0.8", reason: "IETF protocol assignment address"},
		{name: "IPv4CompatibleIPv6", ip: "::7f00:1", reason: "reserved address"},
		{name: "IPv4MappedLoopback", ip: "::ffff:127.0.0.1", reason: "loopback address"},
		{name: "IPv4MappedMetadata", ip: "::ffff:169.254.169.254", reason: "cloud metadata endpoint"},
		{name: "IPv4MappedPrivate", ip: "::ffff:10.1.2.3", reason: "private network address"},
		{name: "IPv4MappedPublic", ip: "::ffff:8.8.8.8"},
		{name: "IPv4TranslatedIPv6", ip: "::ffff:0:7f00:1", reason: "reserved address"},
		{name: "LinkLocal", ip: "169.254.1.1", reason: "link-local address"},
		{name: "LinkLocalIPv6", ip: "fe80::1", reason: "link-local address"},
		{name: "LinkLocalIPv6Zone", ip: "fe80::1%eth0", reason: "link-local address"},
		{name: "Loopback", ip: "127.0.0.1", reason: "loopback address"},
		{name: "LoopbackIPv6", ip: "::1", reason: "loopback address"},
		{name: "LoopbackTop", ip: "127.255.255.254", reason: "loopback address"},
		{name: "MetadataAWS", ip: "169.254.169.254", reason: "cloud metadata endpoint"},
		{name: "MetadataAWSIPv6", ip: "fd00:ec2::254", reason: "cloud metadata endpoint"},
		{name: "MetadataAlibaba", ip: "100.100.100.200", reason: "cloud metadata endpoint"},
		{name: "MetadataAzureWireServer", ip: "168.63.129.16", reason: "cloud metadata endpoint"},
		{name: "MetadataAzureWireServerNeighbour", ip: "168.63.129.17"},
		{name: "MetadataECS", ip: "169.254.170.2", reason: "cloud metadata endpoint"},
		{name: "MetadataEKSPodIdentity", ip: "169.254.170.23", reason: "cloud metadata endpoint"},
		{name: "MetadataEKSPodIdentityIPv6", ip: "fd00:ec2::23", reason: "cloud metadata endpoint"},
		{name: "MetadataWireServerMapped", ip: "::ffff:168.63.129.16", reason: "cloud metadata endpoint"},
		{name: "MetadataWireServerNAT64", ip: "64:ff9b::a83f:8110", reason: "cloud metadata endpoint embedded in a NAT64 address"},
		{name: "Multicast", ip: "224.0.0.1", reason: "multicast address"},
		{name: "MulticastIPv6", ip: "ff02::1", reason: "multicast address"},
		{name: "NAT64LocalUse", ip: "64:ff9b:1::a00:1", reason: "local-use NAT64 address"},
		{name: "NAT64Loopback", ip: "64:ff9b::7f00:1", reason: "loopback address embedded in a NAT64 address"},
		{name: "NAT64Metadata", ip: "64:ff9b::a9fe:a9fe", reason: "cloud metadata endpoint embedded in a NAT64 address"},
		{name: "NAT64Public", ip: "64:ff9b::808:808"},
		{name: "Private10", ip: "10.0.0.1", reason: "private network address"},
		{name: "Private172", ip: "172.16.0.1", reason: "private network address"},
		{name: "Private172Top", ip: "172.31.255.255", reason: "private network address"},
		{name: "Private192", ip: "192.168.1.1", reason: "private network address"},
		{name: "Public172", ip: "172.32.0.1"},
		{name: "PublicCloudflare", ip: "1.1.1.1"},
		{name: "PublicGoogle", ip: "8.8.8.8"},
		{name: "PublicIPv6", ip: "2606:4700:4700::1111"},
		{name: "Reserved", ip: "240.0.0.1", reason: "reserved address"},
		{name: "SiteLocalIPv6", ip: "fec0::1", reason: "site-local address"},
		{name: "SixToFourLoopback", ip: "2002:7f00:1::1", reason: "loopback address embedded in a 6to4 address"},
		{name: "SixToFourPublic", ip: "2002:808:808::1"},
		{name: "TeredoPrivate", ip: "2001:0:4136:e378:8000:63bf:f5ff:fffe", reason: "private network address embedded in a Teredo address"},
		{name: "ThisNetwork", ip: "0.1.2.3", reason: "unspecified address"},
		{name: "UniqueLocal", ip: "fd12:3456::1", reason: "unique local (private network) address"},
		{name: "Unspecified", ip: "0.0.0.0", reason: "unspecified address"},
		{name: "UnspecifiedIPv6", ip: "::", reason: "unspecified address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p Policy
			err := p.Check(tt.ip, netip.MustParseAddr(tt.ip))
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			var blocked *BlockedError
			require.ErrorAs(t, err, &blocked)
			require.Equal(t, tt.reason, blocked.Reason)
			require.Equal(t, tt.ip, blocked.Host)
		})
	}
}

func TestCheckInvalidAddress(t *testing.T) {
	t.Parallel()

	var p Policy
	var blocked *BlockedError
	require.ErrorAs(t, p.Check("x", netip.Addr{}), &blocked)
	require.Equal(t, "invalid IP address", blocked.Reason)
}

func TestCheckAllowPrivate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		ip      string
		allowed bool
	}{
		{name: "LinkLocal", ip: "169.254.1.1", allowed: true},
		{name: "Loopback", ip: "127.0.0.1", allowed: true},
		{name: "LoopbackIPv6", ip: "::1", allowed: true},
		{name: "MetadataAWS", ip: "169.254.169.254"},
		{name: "MetadataAWSIPv6", ip: "fd00:ec2::254"},
		{name: "MetadataAlibaba", ip: "100.100.100.200"},
		{name: "MetadataAzureWireServer", ip: "168.63.129.16"},
		{name: "MetadataECS", ip: "169.254.170.2"},
		{name: "MetadataEKSPodIdentity", ip: "169.254.170.23"},
		{name: "MetadataEKSPodIdentityIPv6", ip: "fd00:ec2::23"},
		{name: "MetadataMapped", ip: "::ffff:169.254.169.254"},
		{name: "MetadataNAT64", ip: "64:ff9b::a9fe:a9fe"},
		{name: "UniqueLocalNextToEKS", ip: "fd00:ec2::24", allowed: true},
		{name: "Private", ip: "10.0.0.1", allowed: true},
		{name: "Public", ip: "8.8.8.8", allowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &Policy{AllowPrivate: true}
			err := p.Check(tt.ip, netip.MustParseAddr(tt.ip))
			if tt.allowed {
				require.NoError(t, err)
				return
			}
			var blocked *BlockedError
			require.ErrorAs(t, err, &blocked)
			require.Contains(t, blocked.Reason, reasonMetadata)
			require.NotContains(t, err.Error(), "CM_HTTP_ALLOW_PRIVATE", "AllowPrivate does not open metadata endpoints")
		})
	}
}

func TestCheckAllowlist(t *testing.T) {
	t.Parallel()

	allowlist := []string{"db.internal.example", "*.svc.example", "10.9.8.7", "192.168.0.0/16", "fd00:1::/32", "169.254.169.254", " Upper.Example. ",
		"169.254.0.0/16", "fd00:ec2::/32", "168.63.129.16/32", "metadata.example", "*.metadata.example"}
	tests := []struct {
		name    string
		host    string
		ip      string
		allowed bool
	}{
		{name: "CIDR", host: "192.168.4.4", ip: "192.168.4.4", allowed: true},
		{name: "CIDRForName", host: "printer.lan", ip: "192.168.4.4", allowed: true},
		{name: "CIDRIPv6", host: "fd00:1::5", ip: "fd00:1::5", allowed: true},
		{name: "CIDRMapped", host: "::ffff:192.168.4.4", ip: "::ffff:192.168.4.4", allowed: true},
		{name: "CIDRNAT64", host: "64:ff9b::c0a8:404", ip: "64:ff9b::c0a8:404", allowed: true},
		{name: "CIDROutside", host: "10.0.0.1", ip: "10.0.0.1"},
		{name: "ExactHost", host: "db.internal.example", ip: "10.0.0.1", allowed: true},
		{name: "ExactHostCase", host: "DB.Internal.Example.", ip: "10.0.0.1", allowed: true},
		{name: "ExactHostNormalisedEntry", host: "upper.example", ip: "10.0.0.1", allowed: true},
		{name: "ExactHostOtherName", host: "cache.internal.example", ip: "10.0.0.1"},
		{name: "ExactHostSubdomain", host: "x.db.internal.example", ip: "10.0.0.1"},
		{name: "HostEntryDoesNotMatchIPSpelling", host: "167772161", ip: "10.0.0.1"},
		{name: "IP", host: "10.9.8.7", ip: "10.9.8.7", allowed: true},
		{name: "IPForName", host: "legacy.example", ip: "10.9.8.7", allowed: true},
		{name: "MetadataByIP", host: "169.254.169.254", ip: "169.254.169.254", allowed: true},
		{name: "MetadataByIPForName", host: "imds.example", ip: "169.254.169.254", allowed: true},
		{name: "MetadataBySingleAddressRange", host: "168.63.129.16", ip: "168.63.129.16", allowed: true},
		{name: "MetadataNotByHostName", host: "metadata.example", ip: "169.254.170.23"},
		{name: "MetadataNotByRange", host: "169.254.170.2", ip: "169.254.170.2"},
		{name: "MetadataNotByRangeIPv6", host: "fd00:ec2::23", ip: "fd00:ec2::23"},
		{name: "MetadataNotByWildcard", host: "a.metadata.example", ip: "100.100.100.200"},
		{name: "RangeStillOpensLinkLocal", host: "169.254.1.1", ip: "169.254.1.1", allowed: true},
		{name: "Wildcard", host: "api.svc.example", ip: "10.0.0.1", allowed: true},
		{name: "WildcardApex", host: "svc.example", ip: "10.0.0.1"},
		{name: "WildcardDeep", host: "a.b.svc.example", ip: "10.0.0.1", allowed: true},
		{name: "WildcardLookalike", host: "evilsvc.example", ip: "10.0.0.1"},
		{name: "WildcardSuffixTrick", host: "svc.example.attacker.test", ip: "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &Policy{Allowlist: allowlist}
			err := p.Check(tt.host, netip.MustParseAddr(tt.ip))
			if tt.allowed {
				require.NoError(t, err)
				return
			}
			var blocked *BlockedError
			require.ErrorAs(t, err, &blocked)
		})
	}
}

// TestCheckAllowlistMetadata: only an entry naming the address itself opens a metadata endpoint, even
// with AllowPrivate and an allowlist that opens everything else.
func TestCheckAllowlistMetadata(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		allowlist []string
		host      string
		ip        string
		allowed   bool
	}{
		{name: "AnyIPv4", allowlist: []string{"0.0.0.0/0"}, host: "169.254.169.254", ip: "169.254.169.254"},
		{name: "AnyIPv6", allowlist: []string{"::/0"}, host: "fd00:ec2::254", ip: "fd00:ec2::254"},
		{name: "AnyOpensTheRest", allowlist: []string{"0.0.0.0/0"}, host: "169.254.170.24", ip: "169.254.170.24", allowed: true},
		{name: "ExactIPv6", allowlist: []string{"fd00:ec2::23"}, host: "fd00:ec2::23", ip: "fd00:ec2::23", allowed: true},
		{name: "ExactOnlyThatOne", allowlist: []string{"169.254.170.2"}, host: "169.254.170.23", ip: "169.254.170.23"},
		{name: "HostName", allowlist: []string{"metadata.google.internal"}, host: "metadata.google.internal", ip: "169.254.169.254"},
		{name: "MappedEntry", allowlist: []string{"::ffff:168.63.129.16"}, host: "168.63.129.16", ip: "168.63.129.16", allowed: true},
		{name: "Wildcard", allowlist: []string{"*.internal"}, host: "metadata.internal", ip: "100.100.100.200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &Policy{AllowPrivate: true, Allowlist: tt.allowlist}
			err := p.Check(tt.host, netip.MustParseAddr(tt.ip))
			if tt.allowed {
				require.NoError(t, err)
				return
			}
			var blocked *BlockedError
			require.ErrorAs(t, err, &blocked)
			require.Equal(t, reasonMetadata, blocked.Reason)
			require.Contains(t, err.Error(), "add the address itself to CM_HTTP_ALLOWLIST")
		})
	}
}

func TestCheckHost(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		host   string
		ip     string // the address the host means; empty for a name or a malformed host
		reason string // empty when allowed
	}{
		{name: "Bracketed", host: "[::1]", ip: "::1", reason: "loopback address"},
		{name: "BracketedIPv4", host: "[127.0.0.1]", reason: "malformed IP address"},
		{name: "BracketedMapped", host: "[::ffff:169.254.169.254]", ip: "::ffff:169.254.169.254", reason: "cloud metadata endpoint"},
		{name: "BracketedMappedHex", host: "[::ffff:a9fe:a9fe]", ip: "::ffff:169.254.169.254", reason: "cloud metadata endpoint"},
		{name: "Decimal", host: "2130706433", ip: "127.0.0.1", reason: "loopback address"},
		{name: "DecimalMetadata", host: "2852039166", ip: "169.254.169.254", reason: "cloud metadata endpoint"},
		{name: "DecimalPublic", host: "134744072", ip: "8.8.8.8"},
		{name: "DecimalZero", host: "0", ip: "0.0.0.0", reason: "unspecified address"},
		{name: "Empty", host: "", reason: "empty host"},
		{name: "Hex", host: "0x7f000001", ip: "127.0.0.1", reason: "loopback address"},
		{name: "HexDotted", host: "0x7f.0.0.1", ip: "127.0.0.1", reason: "loopback address"},
		{name: "HexDottedMetadata", host: "0xa9.0xfe.0xa9.0xfe", ip: "169.254.169.254", reason: "cloud metadata endpoint"},
		{name: "HexEmpty", host: "0x.0x.0x.0x", ip: "0.0.0.0", reason: "unspecified address"},
		{name: "HexUpper", host: "0X7F.0X1", ip: "127.0.0.1", reason: "loopback address"},
		{name: "IPv6Zone", host: "fe80::1%eth0", ip: "fe80::1%eth0", reason: "link-local address"},
		{name: "MalformedEightInOctal", host: "08.0.0.1", reason: "malformed IP address"},
		{name: "MalformedFiveParts", host: "1.2.3.4.5", reason: "malformed IP address"},
		{name: "MalformedIPv6", host: "::g", reason: "malformed IP address"},
		{name: "MalformedLabelBeforeNumber", host: "example.0x10", reason: "malformed IP address"},
		{name: "MalformedOverflow", host: "4294967296", reason: "malformed IP address"},
		{name: "MalformedPartOverflow", host: "256.0.0.1", reason: "malformed IP address"},
		{name: "MalformedShortOverflow", host: "127.16777216", reason: "malformed IP address"},
		{name: "MappedUnbracketed", host: "::ffff:127.0.0.1", ip: "::ffff:127.0.0.1", reason: "loopback address"},
		{name: "MixedSpelling", host: "0177.0x0.1", ip: "127.0.0.1", reason: "loopback address"},
		{name: "Name", host: "example.com"},
		{name: "NameEndingInLetters", host: "1.2.3.4.example.com"},
		{name: "NameWithHexLookalike", host: "0xdeadbeef.example"},
		{name: "Octal", host: "0177.0.0.1", ip: "127.0.0.1", reason: "loopback address"},
		{name: "OctalMetadata", host: "0251.0376.0251.0376", ip: "169.254.169.254", reason: "cloud metadata endpoint"},
		{name: "OctalWhole", host: "017700000001", ip: "127.0.0.1", reason: "loopback address"},
		{name: "ShortThreeParts", host: "127.0.1", ip: "127.0.0.1", reason: "loopback address"},
		{name: "ShortTwoParts", host: "127.1", ip: "127.0.0.1", reason: "loopback address"},
		{name: "ShortTwoPartsPrivate", host: "10.65535", ip: "10.0.255.255", reason: "private network address"},
		{name: "Standard", host: "127.0.0.1", ip: "127.0.0.1", reason: "loopback address"},
		{name: "TrailingDot", host: "127.0.0.1.", ip: "127.0.0.1", reason: "loopback address"},
		{name: "TrailingDotDecimal", host: "2130706433.", ip: "127.0.0.1", reason: "loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, kind := parseHost(tt.host)
			if tt.ip != "" {
				require.Equal(t, hostIP, kind)
				require.Equal(t, netip.MustParseAddr(tt.ip), addr)
			} else {
				require.NotEqual(t, hostIP, kind)
			}

			var p Policy
			err := p.CheckHost(tt.host)
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

func TestCheckURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		url    string
		reason string // empty when allowed
	}{
		{name: "DecimalHost", url: "http://2130706433/", reason: "loopback address"},
		{name: "EmptyHost", url: "http:///path", reason: "URL has no host"},
		{name: "FTPScheme", url: "ftp://example.com/x", reason: `URL scheme "ftp" is not allowed; use http or https`},
		{name: "FileScheme", url: "file:///etc/passwd", reason: `URL scheme "file" is not allowed; use http or https`},
		{name: "GopherScheme", url: "gopher://127.0.0.1:6379/_FLUSHALL", reason: `URL scheme "gopher" is not allowed; use http or https`},
		{name: "HTTP", url: "http://example.com/a?b=c"},
		{name: "HTTPS", url: "https://example.com:8443/"},
		{name: "HTTPSUpperScheme", url: "HTTPS://example.com/"},
		{name: "HexHost", url: "http://0x7f.0.0.1/", reason: "loopback address"},
		{name: "MappedMetadata", url: "http://[::ffff:169.254.169.254]/latest/meta-data/", reason: "cloud metadata endpoint"},
		{name: "Metadata", url: "http://169.254.169.254/latest/meta-data/", reason: "cloud metadata endpoint"},
		{name: "OctalHost", url: "http://0177.0.0.1/", reason: "loopback address"},
		{name: "Opaque", url: "http:example.com", reason: "URL has no host"},
		{name: "PublicIP", url: "http://93.184.215.14/"},
		{name: "ShortHost", url: "http://127.1:8080/", reason: "loopback address"},
		{name: "UserInfo", url: "http://user:pass@example.com/", reason: "URL contains user credentials; send them in an Authorization header instead"},
		{name: "UserInfoTrick", url: "http://169.254.169.254@example.com/", reason: "URL contains user credentials; send them in an Authorization header instead"},
		{name: "ZoneLinkLocal", url: "http://[fe80::1%25eth0]/", reason: "link-local address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tt.url)
			require.NoError(t, err)
			var p Policy
			err = p.CheckURL(u)
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

func TestBlockedErrorMessage(t *testing.T) {
	t.Parallel()

	var p Policy
	tests := []struct {
		name    string
		err     error
		message string
	}{
		{
			name:    "HostName",
			err:     p.Check("api.example.com", netip.MustParseAddr("10.0.0.5")),
			message: "refused to connect to api.example.com at 10.0.0.5 (private network address): set CM_HTTP_ALLOW_PRIVATE=true or add the host to CM_HTTP_ALLOWLIST",
		},
		{
			name:    "IP",
			err:     p.Check("127.0.0.1", netip.MustParseAddr("127.0.0.1")),
			message: "refused to connect to 127.0.0.1 (loopback address): set CM_HTTP_ALLOW_PRIVATE=true or add the host to CM_HTTP_ALLOWLIST",
		},
		{
			name:    "IPSpelling",
			err:     p.CheckHost("2130706433"),
			message: "refused to connect to 2130706433 at 127.0.0.1 (loopback address): set CM_HTTP_ALLOW_PRIVATE=true or add the host to CM_HTTP_ALLOWLIST",
		},
		{
			name:    "Malformed",
			err:     p.CheckHost("1.2.3.4.5"),
			message: "refused to connect to 1.2.3.4.5: malformed IP address",
		},
		{
			name:    "Metadata",
			err:     (&Policy{AllowPrivate: true}).CheckHost("169.254.169.254"),
			message: "refused to connect to 169.254.169.254 (cloud metadata endpoint): to reach it on purpose, add the address itself to CM_HTTP_ALLOWLIST (ranges and host names do not open metadata endpoints)",
		},
		{
			name:    "NilPolicy",
			err:     (*Policy)(nil).CheckHost("::1"),
			message: "refused to connect to ::1 (loopback address): set CM_HTTP_ALLOW_PRIVATE=true or add the host to CM_HTTP_ALLOWLIST",
		},
		{
			name:    "NoHost",
			err:     p.CheckURL(&url.URL{Scheme: "http"}),
			message: "refused to connect: URL has no host",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.EqualError(t, tt.err, tt.message)
		})
	}
}
