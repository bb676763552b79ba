// Package httpnode implements the http.request node type, which sends one HTTP request and emits the
// response's status, headers and decoded body.
//
// Every request goes through a netguard.Policy: the URL is checked before sending, each redirect is
// checked before it is followed, and every connection is checked against the address actually dialled,
// so workflows cannot reach loopback, private, link-local or cloud metadata addresses unless the
// deployment allows it. All nodes made from one New share a single http.Client and its connection
// pool.
//
// Failures are *node.Error values with a stable Code (see the Code constants). Those that retrying
// cannot fix, such as a refused address, a 404 or an oversized response, are marked node.Permanent;
// network errors, timeouts, 5xx, 408, 425 and 429 answers are left retryable.
package httpnode
