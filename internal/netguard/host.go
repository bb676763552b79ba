package netguard

import (
	"net/netip"
	"strconv"
	"strings"
)

// hostKind says how a host string is understood.
type hostKind uint8

const (
	// hostName is a name to resolve.
	hostName hostKind = iota
	// hostIP is an IP address, in any spelling.
	hostIP
	// hostMalformedIP looks like an IP address but is not a valid one, such as 1.2.3.4.5 or 0x1.0.0.256.
	hostMalformedIP
)

// parseHost recognises IP addresses in every spelling that resolvers and browsers accept: standard
// IPv4 and IPv6 (with or without brackets and zone), and the inet_aton forms of IPv4 with one to four
// parts, each decimal, octal (leading 0) or hexadecimal (leading 0x), such as 2130706433, 0177.0.0.1,
// 0x7f.1 and 127.1, optionally with a trailing dot. As in the WHATWG URL standard, a host whose last
// label is numeric is an IPv4 address or else malformed; it is never a name.
func parseHost(host string) (netip.Addr, hostKind) {
	h := host
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		addr, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !addr.Is6() {
			return netip.Addr{}, hostMalformedIP
		}
		return addr, hostIP
	}
	if strings.Contains(h, ":") {
		// Names cannot hold a colon, so this is meant as IPv6.
		addr, err := netip.ParseAddr(h)
		if err != nil {
			return netip.Addr{}, hostMalformedIP
		}
		return addr, hostIP
	}
	if addr, err := netip.ParseAddr(h); err == nil {
		return addr, hostIP
	}
	return parseLegacyIPv4(h)
}

// parseLegacyIPv4 parses the inet_aton spellings of an IPv4 address.
func parseLegacyIPv4(h string) (netip.Addr, hostKind) {
	if len(h) > 1 {
		h = strings.TrimSuffix(h, ".")
	}
	parts := strings.Split(h, ".")
	if !isNumericPart(parts[len(parts)-1]) {
		return netip.Addr{}, hostName
	}
	if len(parts) > 4 {
		return netip.Addr{}, hostMalformedIP
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, hostMalformedIP
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, hostMalformedIP
			}
			v |= n << (8 * (3 - i))
			continue
		}
		// The last part fills every remaining byte.
		if n >= 1<<(8*(4-i)) {
			return netip.Addr{}, hostMalformedIP
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), hostIP
}

// isNumericPart reports whether a label is meant as a number: decimal digits, or 0x followed by
// hexadecimal digits (0x alone counts, as in the WHATWG URL standard).
func isNumericPart(s string) bool {
	if s == "" {
		return false
	}
	if rest, ok := cutHexPrefix(s); ok {
		for _, c := range []byte(rest) {
			if !isHexDigit(c) {
				return false
			}
		}
		return true
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseIPv4Part parses one part of an inet_aton address.
func parseIPv4Part(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := 10
	if rest, ok := cutHexPrefix(s); ok {
		if rest == "" {
			return 0, true
		}
		s, base = rest, 16
	} else if len(s) > 1 && s[0] == '0' {
		s, base = s[1:], 8
	}
	// ParseUint accepts underscores only with base 0, and signs never, so this is strict.
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

func cutHexPrefix(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return s[2:], true
	}
	return s, false
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
