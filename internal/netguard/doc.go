// Package netguard guards outbound connections made on behalf of workflows against server-side request
// forgery (SSRF).
//
// A Policy refuses loopback, private, shared (carrier-grade NAT), link-local, multicast, reserved and
// cloud metadata addresses unless its configuration says otherwise. The check applies to the address
// actually dialled: Policy.DialContext resolves the host itself, checks every address the name resolves
// to, dials the checked address literally so that nothing is resolved twice, and checks the socket
// address once more just before connecting. That closes the usual bypasses: IPv4-mapped IPv6
// ([::ffff:169.254.169.254]), decimal, octal, hexadecimal and short IPv4 spellings (2130706433,
// 0177.0.0.1, 0x7f.0.0.1, 127.1), IPv4 addresses embedded in NAT64, 6to4 and Teredo addresses,
// redirects to a private address and DNS rebinding.
//
// Policy.Transport returns an *http.Transport that dials through the policy and never uses a proxy
// from the environment; Policy.CheckURL refuses URLs that are not plain http or https before any
// request is sent, and is meant for http.Client.CheckRedirect too.
package netguard
