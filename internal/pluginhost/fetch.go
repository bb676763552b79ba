package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/httpnode"
	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// Bounds of the outbound requests a WebAssembly plugin makes through the host.
const (
	maxHTTPRequestBytes  = 8 << 20
	maxHTTPResponseBytes = 16 << 20
	maxRequestsPerCall   = 100
	maxRedirects         = 5
	defaultHTTPTimeout   = 30 * time.Second
)

// fetcher makes a WebAssembly plugin's outbound HTTP requests: only to the hosts its manifest lists,
// only through the server's outbound guard (netguard), bounded in count, time and size.
type fetcher struct {
	hosts  []string
	client *http.Client
	auth   *httpnode.Authorizer
}

// callCredentials is what a call's outbound requests may use of the vault: the tenant's credentials,
// and the one credential id the node's configuration names.
type callCredentials struct {
	creds node.Credentials
	id    string
}

type callCredentialsKey struct{}

// withCredentials lets the outbound requests made during the call in ctx use the credential id (the
// node's "credential" field) from creds.
func withCredentials(ctx context.Context, creds node.Credentials, id string) context.Context {
	if creds == nil || id == "" {
		return ctx
	}
	return context.WithValue(ctx, callCredentialsKey{}, &callCredentials{creds: creds, id: id})
}

// newFetcher returns the fetcher of a plugin allowed to reach hosts (nil: none) through policy.
func newFetcher(hosts []string, policy *netguard.Policy) *fetcher {
	f := &fetcher{hosts: hosts}
	if policy == nil {
		policy = &netguard.Policy{}
	}
	f.auth = httpnode.NewAuthorizer(policy)
	f.client = &http.Client{
		Transport: policy.Transport(),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			if !f.allowed(req.URL) {
				return fmt.Errorf("redirect to %s, which is not in the plugin's network.hosts", req.URL.Host)
			}
			httpnode.StripOnRedirect(req, via)
			return nil
		},
	}
	return f
}

// allowed reports whether u's host (and port) matches the allowlist.
func (f *fetcher) allowed(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	for _, h := range f.hosts {
		if h == "*" {
			return true
		}
		name, p, hasPort := strings.Cut(h, ":")
		if hasPort && p != port {
			continue
		}
		if rest, wild := strings.CutPrefix(name, "*."); wild {
			if strings.HasSuffix(host, "."+rest) {
				return true
			}
			continue
		}
		if host == name {
			return true
		}
	}
	return false
}

// do runs one request given as HTTPRequest JSON and answers with an HTTPResponse; problems are told in
// its Error, never as a failure of the call.
func (f *fetcher) do(ctx context.Context, raw []byte, n int) plugin.HTTPResponse {
	if f == nil || len(f.hosts) == 0 {
		return plugin.HTTPResponse{Error: "this plugin has no network access: its plugin.json lists no network.hosts"}
	}
	if n > maxRequestsPerCall {
		return plugin.HTTPResponse{Error: fmt.Sprintf("a call may make at most %d requests", maxRequestsPerCall)}
	}
	var req plugin.HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return plugin.HTTPResponse{Error: "the request is not JSON: " + err.Error()}
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return plugin.HTTPResponse{Error: fmt.Sprintf("%q is not an http or https URL", req.URL)}
	}
	if u.User != nil {
		return plugin.HTTPResponse{Error: "URLs with credentials are refused; send an Authorization header"}
	}
	if !f.allowed(u) {
		return plugin.HTTPResponse{Error: fmt.Sprintf("%s is not in the plugin's network.hosts", u.Host)}
	}
	timeout := defaultHTTPTimeout
	if req.TimeoutMs > 0 {
		timeout = min(timeout, time.Duration(req.TimeoutMs)*time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(ctx, method, u.String(), strings.NewReader(req.Body))
	if err != nil {
		return plugin.HTTPResponse{Error: err.Error()}
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	if req.Credential != "" {
		cc, _ := ctx.Value(callCredentialsKey{}).(*callCredentials)
		if cc == nil || cc.id != req.Credential {
			return plugin.HTTPResponse{Error: "a request may only use the credential the node's configuration names in its credential field"}
		}
		if hr, err = f.auth.Authorize(ctx, cc.creds, cc.id, hr); err != nil {
			return plugin.HTTPResponse{Error: err.Error()}
		}
	}
	res, err := f.client.Do(hr)
	if err != nil {
		return plugin.HTTPResponse{Error: describeFetchError(err)}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxHTTPResponseBytes+1))
	if err != nil {
		return plugin.HTTPResponse{Error: "read the response: " + describeFetchError(err)}
	}
	if len(body) > maxHTTPResponseBytes {
		return plugin.HTTPResponse{Error: fmt.Sprintf("the response body is over %d bytes", maxHTTPResponseBytes)}
	}
	out := plugin.HTTPResponse{Status: res.StatusCode, Headers: make(map[string]string, len(res.Header)), Body: string(body)}
	for k := range res.Header {
		out.Headers[strings.ToLower(k)] = res.Header.Get(k)
	}
	return out
}

func describeFetchError(err error) string {
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		return blocked.Error()
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return "the request timed out"
	}
	return err.Error()
}
