package httpnode

import (
	"context"
	"net/http"
	"time"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
)

// Authorizer applies HTTP credentials (httpBearer, httpBasic, httpHeader, oauth2ClientCredentials) to
// outbound requests made for others than http.request: the requests WebAssembly plugins make through
// the host. OAuth2 access tokens are cached like http.request's. It is safe for concurrent use.
type Authorizer struct{ a *authorizer }

// NewAuthorizer returns an Authorizer whose OAuth2 token requests go through policy.
func NewAuthorizer(policy *netguard.Policy) *Authorizer {
	if policy == nil {
		policy = &netguard.Policy{}
	}
	client := &http.Client{Transport: policy.Transport(), Timeout: tokenTimeout + 5*time.Second}
	return &Authorizer{a: newAuthorizer(client, policy)}
}

// Authorize reads the credential id from creds and returns req with the credential's header set. The
// secrets it derives are registered with creds.Redact; a redirect checked with StripOnRedirect drops
// the header when it leaves the first request's origin.
func (z *Authorizer) Authorize(ctx context.Context, creds node.Credentials, id string, req *http.Request) (*http.Request, error) {
	au, err := z.a.resolve(ctx, creds, id)
	if err != nil {
		return nil, err
	}
	return au.apply(req), nil
}

// StripOnRedirect removes a credential's header set by Authorize from a redirected request that leaves
// the origin of the first one or goes from https to http. Call it from http.Client.CheckRedirect.
func StripOnRedirect(req *http.Request, via []*http.Request) { stripOnRedirect(req, via) }
