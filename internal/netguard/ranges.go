package netguard

import "net/netip"

// blockedRange is an address range the policy refuses, with the reason shown to users.
type blockedRange struct {
	prefix netip.Prefix
	reason string
	// metadata marks cloud metadata and credential endpoints, which neither AllowPrivate nor an
	// allowlist range or host name opens: only an allowlist entry naming the address itself does.
	metadata bool
}

const reasonMetadata = "cloud metadata endpoint"

// blockedRanges is read-only. The first matching range wins, so narrower ranges come first.
var blockedRanges = []blockedRange{
	// Cloud metadata and credential endpoints: AWS, GCP, Azure, Oracle and DigitalOcean
	// (169.254.169.254), AWS ECS task metadata (169.254.170.2), AWS EKS Pod Identity (169.254.170.23,
	// fd00:ec2::23), AWS over IPv6 (fd00:ec2::254), Azure WireServer (168.63.129.16, a public address
	// that only answers from inside Azure, where it hands out VM configuration and extension
	// settings), Alibaba Cloud (100.100.100.200).
	{prefix: netip.MustParsePrefix("169.254.169.254/32"), reason: reasonMetadata, metadata: true},
	{prefix: netip.MustParsePrefix("169.254.170.2/32"), reason: reasonMetadata, metadata: true},
	{prefix: netip.MustParsePrefix("169.254.170.23/32"), reason: reasonMetadata, metadata: true},
	{prefix: netip.MustParsePrefix("168.63.129.16/32"), reason: reasonMetadata, metadata: true},
	{prefix: netip.MustParsePrefix("100.100.100.200/32"), reason: reasonMetadata, metadata: true},
	{prefix: netip.MustParsePrefix("fd00:ec2::23/128"), reason: reasonMetadata, metadata: true},
	{prefix: netip.MustParsePrefix("fd00:ec2::254/128"), reason: reasonMetadata, metadata: true},

	// IPv4.
	{prefix: netip.MustParsePrefix("0.0.0.0/8"), reason: "unspecified address"},
	{prefix: netip.MustParsePrefix("10.0.0.0/8"), reason: "private network address"},
	{prefix: netip.MustParsePrefix("100.64.0.0/10"), reason: "shared (carrier-grade NAT) address"},
	{prefix: netip.MustParsePrefix("127.0.0.0/8"), reason: "loopback address"},
	{prefix: netip.MustParsePrefix("169.254.0.0/16"), reason: "link-local address"},
	{prefix: netip.MustParsePrefix("172.16.0.0/12"), reason: "private network address"},
	{prefix: netip.MustParsePrefix("192.0.0.0/24"), reason: "IETF protocol assignment address"},
	{prefix: netip.MustParsePrefix("192.0.2.0/24"), reason: "documentation address"},
	{prefix: netip.MustParsePrefix("192.168.0.0/16"), reason: "private network address"},
	{prefix: netip.MustParsePrefix("198.18.0.0/15"), reason: "benchmarking address"},
	{prefix: netip.MustParsePrefix("198.51.100.0/24"), reason: "documentation address"},
	{prefix: netip.MustParsePrefix("203.0.113.0/24"), reason: "documentation address"},
	{prefix: netip.MustParsePrefix("224.0.0.0/4"), reason: "multicast address"},
	{prefix: netip.MustParsePrefix("255.255.255.255/32"), reason: "broadcast address"},
	{prefix: netip.MustParsePrefix("240.0.0.0/4"), reason: "reserved address"},

	// IPv6. IPv4-mapped addresses (::ffff:0:0/96) never get here: they are unmapped first.
	{prefix: netip.MustParsePrefix("::/128"), reason: "unspecified address"},
	{prefix: netip.MustParsePrefix("::1/128"), reason: "loopback address"},
	{prefix: netip.MustParsePrefix("::/96"), reason: "reserved address"},           // IPv4-compatible, deprecated
	{prefix: netip.MustParsePrefix("::ffff:0:0:0/96"), reason: "reserved address"}, // IPv4-translated
	{prefix: netip.MustParsePrefix("64:ff9b:1::/48"), reason: "local-use NAT64 address"},
	{prefix: netip.MustParsePrefix("100::/64"), reason: "discard-only address"},
	{prefix: netip.MustParsePrefix("2001:2::/48"), reason: "benchmarking address"},
	{prefix: netip.MustParsePrefix("2001:db8::/32"), reason: "documentation address"},
	{prefix: netip.MustParsePrefix("3fff::/20"), reason: "documentation address"},
	{prefix: netip.MustParsePrefix("fc00::/7"), reason: "unique local (private network) address"},
	{prefix: netip.MustParsePrefix("fe80::/10"), reason: "link-local address"},
	{prefix: netip.MustParsePrefix("fec0::/10"), reason: "site-local address"},
	{prefix: netip.MustParsePrefix("ff00::/8"), reason: "multicast address"},
}

var (
	prefixNAT64  = netip.MustParsePrefix("64:ff9b::/96")
	prefix6to4   = netip.MustParsePrefix("2002::/16")
	prefixTeredo = netip.MustParsePrefix("2001::/32")
)

// classify returns the range that blocks addr, which must be unmapped and have no zone.
func classify(addr netip.Addr) (blockedRange, bool) {
	for _, r := range blockedRanges {
		if r.prefix.Contains(addr) {
			return r, true
		}
	}
	return blockedRange{}, false
}

// embeddedIPv4 returns the IPv4 address that an IPv6 transition address carries: NAT64
// (64:ff9b::/96), 6to4 (2002::/16) or Teredo (2001::/32, whose client address is stored inverted).
// kind names the transition mechanism for messages.
func embeddedIPv4(addr netip.Addr) (v4 netip.Addr, kind string, ok bool) {
	if !addr.Is6() {
		return netip.Addr{}, "", false
	}
	b := addr.As16()
	switch {
	case prefixNAT64.Contains(addr):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), "NAT64", true
	case prefix6to4.Contains(addr):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), "6to4", true
	case prefixTeredo.Contains(addr):
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), "Teredo", true
	}
	return netip.Addr{}, "", false
}
