package netguard

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAllowlist(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		value   string
		want    []string
		message string // expected error substring
	}{
		{name: "BadCIDR", value: "10.0.0.0/33", message: `allowlist entry "10.0.0.0/33" is not a valid CIDR range`},
		{name: "BadCIDRAddress", value: "10.0.0/8", message: `allowlist entry "10.0.0/8" is not a valid CIDR range`},
		{name: "BadIPv6", value: "fd00:::1", message: `allowlist entry "fd00:::1" is not a valid IP address`},
		{name: "BareWildcard", value: "*", message: `allowlist entry "*": want a host name`},
		{name: "Empty", value: ""},
		{name: "EmptyEntries", value: " , ,", want: nil},
		{name: "HostWithPort", value: "example.com:8080", message: `allowlist entry "example.com:8080" is not a valid IP address`},
		{name: "IPSpelling", value: "2130706433", message: "write IPv4 addresses in dotted decimal form"},
		{
			name:  "Mixed",
			value: " api.Example.com , *.internal.example,10.0.0.5, 10.1.2.3/8 ,fd00::/8, [fd00::5], ::ffff:10.0.0.0/104, svc.local. ",
			want:  []string{"api.example.com", "*.internal.example", "10.0.0.5", "10.0.0.0/8", "fd00::/8", "fd00::5", "10.0.0.0/8", "svc.local"},
		},
		{name: "MultipleErrors", value: "10.0.0.0/40,ok.example,bad host", message: `allowlist entry "bad host"`},
		{name: "URL", value: "https://example.com/", message: `allowlist entry "https://example.com/": write a host name, IP address or CIDR range, not a URL`},
		{name: "Zone", value: "fe80::1%eth0", message: `allowlist entry "fe80::1%eth0" is not a valid IP address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAllowlist(tt.value)
			if tt.message != "" {
				require.ErrorContains(t, err, tt.message)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
