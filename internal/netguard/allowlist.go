package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ParseAllowlist parses a comma-separated allowlist, such as the value of CM_HTTP_ALLOWLIST. Each
// entry is an exact host name (api.internal.example), a wildcard host name matching every subdomain
// (*.internal.example, which does not match internal.example itself), an IP address (10.0.0.5, fd00::5)
// or a CIDR range (10.0.0.0/8, fd00::/8). Blanks around entries and empty entries are ignored. Entries
// come back normalised: lower case, without a trailing dot, CIDR ranges masked. Every malformed entry is
// reported, each naming the entry and the expected form.
func ParseAllowlist(s string) ([]string, error) {
	var (
		out  []string
		errs []error
	)
	for raw := range strings.SplitSeq(s, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		norm, err := parseAllowlistEntry(entry)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, norm)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func parseAllowlistEntry(entry string) (string, error) {
	e := strings.ToLower(entry)
	if strings.Contains(e, "/") {
		if strings.Contains(e, "://") {
			return "", fmt.Errorf("allowlist entry %q: write a host name, IP address or CIDR range, not a URL", entry)
		}
		pfx, err := netip.ParsePrefix(strings.Trim(e, "[]"))
		if err != nil {
			return "", fmt.Errorf("allowlist entry %q is not a valid CIDR range; want an address and a prefix length, like 10.0.0.0/8 or fd00::/8", entry)
		}
		return normalizePrefix(pfx).String(), nil
	}
	if strings.HasPrefix(e, "[") || strings.Contains(e, ":") {
		addr, err := netip.ParseAddr(strings.Trim(e, "[]"))
		if err != nil || addr.Zone() != "" {
			return "", fmt.Errorf("allowlist entry %q is not a valid IP address; write IPv6 addresses without port or zone, like fd00::5", entry)
		}
		return addr.Unmap().String(), nil
	}
	if addr, err := netip.ParseAddr(e); err == nil {
		return addr.String(), nil
	}
	name, wildcard := strings.CutPrefix(e, "*.")
	name = strings.TrimSuffix(name, ".")
	if _, kind := parseLegacyIPv4(name); kind != hostName {
		return "", fmt.Errorf("allowlist entry %q: write IPv4 addresses in dotted decimal form, like 10.0.0.5", entry)
	}
	if !validHostName(name) {
		return "", fmt.Errorf("allowlist entry %q: want a host name (api.example.com), a wildcard (*.example.com), an IP address or a CIDR range", entry)
	}
	if wildcard {
		return "*." + name, nil
	}
	return name, nil
}

// validHostName reports whether name is a DNS name: dot-separated labels of letters, digits, hyphens
// and underscores, each 1 to 63 bytes long, 253 bytes in all.
func validHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range []byte(label) {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

// normalizePrefix masks pfx and turns an IPv4-mapped IPv6 range into the IPv4 range it maps.
func normalizePrefix(pfx netip.Prefix) netip.Prefix {
	if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
		pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
	}
	return pfx.Masked()
}

// allowlistedAddr reports whether an allowlist entry is exactly one of addrs (which must be unmapped
// and have no zone): a single IP address, or a CIDR range of one address (/32, /128).
func (p *Policy) allowlistedAddr(addrs ...netip.Addr) bool {
	for _, raw := range p.Allowlist {
		e := strings.Trim(strings.ToLower(strings.TrimSpace(raw)), "[]")
		var ip netip.Addr
		if pfx, err := netip.ParsePrefix(e); err == nil {
			pfx = normalizePrefix(pfx)
			if !pfx.IsSingleIP() {
				continue
			}
			ip = pfx.Addr()
		} else if ip, err = netip.ParseAddr(e); err != nil {
			continue
		}
		for _, a := range addrs {
			if ip.Unmap() == a {
				return true
			}
		}
	}
	return false
}

// allowlisted reports whether the allowlist opens name (empty when the host is an IP address) or any
// of addrs, which must be unmapped and have no zone. Entries are parsed as they are matched so that a
// Policy built by hand needs no preparation; an entry that does not parse never matches.
func (p *Policy) allowlisted(name string, addrs ...netip.Addr) bool {
	for _, raw := range p.Allowlist {
		e := strings.ToLower(strings.TrimSpace(raw))
		switch {
		case e == "":
			continue
		case strings.Contains(e, "/"):
			pfx, err := netip.ParsePrefix(strings.Trim(e, "[]"))
			if err != nil {
				continue
			}
			pfx = normalizePrefix(pfx)
			for _, a := range addrs {
				if pfx.Contains(a) {
					return true
				}
			}
		case strings.HasPrefix(e, "*."):
			suffix := strings.TrimSuffix(e[1:], ".")
			if name != "" && len(name) > len(suffix) && strings.HasSuffix(name, suffix) {
				return true
			}
		default:
			if ip, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
				for _, a := range addrs {
					if ip.Unmap() == a {
						return true
					}
				}
				continue
			}
			if name != "" && name == strings.TrimSuffix(e, ".") {
				return true
			}
		}
	}
	return false
}
