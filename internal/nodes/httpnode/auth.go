package httpnode

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// CredentialTypes are the credential types http.request and graphql.request accept in "credential".
var CredentialTypes = []string{credBearer, credBasic, credHeader, credOAuth2}

// Credential type names.
const (
	credBearer = "httpBearer"
	credBasic  = "httpBasic"
	credHeader = "httpHeader"
	credOAuth2 = "oauth2ClientCredentials" //nolint:gosec // a type name, not a credential
)

// Codes of credential failures.
const (
	// CodeInvalidConfig is a configuration that conflicts with its credential, such as a header the
	// credential sets too.
	CodeInvalidConfig = "invalid_config"
	// CodeInvalidCredential is a credential whose data cannot make a request (a header name with
	// spaces, a token URL that is not http or https).
	CodeInvalidCredential = "invalid_credential" //nolint:gosec // an error code, not a credential
	// CodeOAuth2Token is a token endpoint that refused to issue an access token, or answered with
	// something that is not one.
	CodeOAuth2Token = "oauth2_token_failed" //nolint:gosec // an error code, not a credential
)

// Token cache bounds.
const (
	// maxTokens bounds how many access tokens are cached, one per credential version.
	maxTokens = 256
	// tokenMargin is how long before its expiry a cached token is replaced.
	tokenMargin = 30 * time.Second
	// tokenMaxAge is how long a token without an expiry (no expires_in) is reused.
	tokenMaxAge = time.Hour
	// tokenTimeout bounds a token request when the attempt's own deadline is later.
	tokenTimeout = 30 * time.Second
)

// authKey is the request context key under which the name of the header a credential set is kept, so
// that redirects to another origin drop it.
type authKey struct{}

// authorizer applies credentials to requests and keeps OAuth2 access tokens. It is shared by every
// node of one New.
type authorizer struct {
	// client sends token requests, through the same guarded transport as the requests themselves.
	client *http.Client
	policy *netguard.Policy
	tokens *tokenCache
}

func newAuthorizer(client *http.Client, policy *netguard.Policy) *authorizer {
	return &authorizer{client: client, policy: policy, tokens: newTokenCache(maxTokens)}
}

// auth is a credential resolved for one attempt: the header to send, and for OAuth2 how to get a
// fresh token after a 401.
type auth struct {
	header string
	value  string
	// oauth is set for oauth2ClientCredentials credentials.
	oauth *oauthCred
}

type oauthCred struct {
	key   string
	host  string
	cfg   clientcredentials.Config
	token string
}

// resolve reads the credential id (empty: none) and returns the header it adds. OAuth2 credentials
// get an access token, from the cache or the token endpoint. Derived secrets are registered with
// creds.Redact.
func (a *authorizer) resolve(ctx context.Context, creds node.Credentials, id string) (*auth, error) {
	if id == "" {
		return nil, nil
	}
	c, err := node.GetCredential(ctx, creds, id, CredentialTypes...)
	if err != nil {
		return nil, err
	}
	switch c.Type {
	case credBearer:
		var d struct {
			Token string `json:"token"`
		}
		if err := c.Decode(&d); err != nil {
			return nil, invalidCredential(c, err.Error())
		}
		if d.Token == "" || !validHeaderValue(d.Token) {
			return nil, invalidCredential(c, "the token is empty or has control characters")
		}
		creds.Redact("Bearer " + d.Token)
		return &auth{header: "Authorization", value: "Bearer " + d.Token}, nil
	case credBasic:
		var d struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := c.Decode(&d); err != nil {
			return nil, invalidCredential(c, err.Error())
		}
		if strings.Contains(d.Username, ":") {
			return nil, invalidCredential(c, "the user name contains a colon, which basic auth cannot send")
		}
		encoded := base64.StdEncoding.EncodeToString([]byte(d.Username + ":" + d.Password))
		creds.Redact(encoded, "Basic "+encoded)
		return &auth{header: "Authorization", value: "Basic " + encoded}, nil
	case credHeader:
		var d struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		}
		if err := c.Decode(&d); err != nil {
			return nil, invalidCredential(c, err.Error())
		}
		if !validHeaderName(d.Name) {
			return nil, invalidCredential(c, fmt.Sprintf("header name %q is not valid", d.Name))
		}
		if !validHeaderValue(d.Value) {
			return nil, invalidCredential(c, "the header value has control characters")
		}
		if strings.EqualFold(d.Name, "Host") || strings.EqualFold(d.Name, "Content-Length") {
			return nil, invalidCredential(c, fmt.Sprintf("header %s cannot carry a credential", d.Name))
		}
		return &auth{header: http.CanonicalHeaderKey(d.Name), value: d.Value}, nil
	case credOAuth2:
		oc, err := a.oauthConfig(c)
		if err != nil {
			return nil, err
		}
		tok, err := a.token(ctx, oc, "")
		if err != nil {
			return nil, err
		}
		creds.Redact(tok)
		oc.token = tok
		return &auth{header: "Authorization", value: "Bearer " + tok, oauth: oc}, nil
	}
	return nil, invalidCredential(c, "unsupported credential type "+c.Type)
}

// refresh replaces the access token after the target answered 401 with it: the cached token is
// dropped (unless another attempt already replaced it) and a new one is requested.
func (a *authorizer) refresh(ctx context.Context, creds node.Credentials, au *auth) error {
	tok, err := a.token(ctx, au.oauth, au.oauth.token)
	if err != nil {
		return err
	}
	creds.Redact(tok)
	au.oauth.token = tok
	au.value = "Bearer " + tok
	return nil
}

// oauthConfig reads an oauth2ClientCredentials credential.
func (a *authorizer) oauthConfig(c *node.Credential) (*oauthCred, error) {
	var d struct {
		TokenURL     string   `json:"tokenUrl"`
		ClientID     string   `json:"clientId"`
		ClientSecret string   `json:"clientSecret"`
		Scopes       []string `json:"scopes"`
		Audience     string   `json:"audience"`
		AuthStyle    string   `json:"authStyle"`
	}
	if err := c.Decode(&d); err != nil {
		return nil, invalidCredential(c, err.Error())
	}
	u, err := parseURL(d.TokenURL)
	if err != nil {
		return nil, invalidCredential(c, "tokenUrl: "+err.Error())
	}
	if d.ClientID == "" {
		return nil, invalidCredential(c, "clientId is empty")
	}
	cfg := clientcredentials.Config{
		ClientID: d.ClientID, ClientSecret: d.ClientSecret, TokenURL: u.String(), Scopes: d.Scopes,
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	switch d.AuthStyle {
	case "", "header":
	case "body":
		cfg.AuthStyle = oauth2.AuthStyleInParams
	default:
		return nil, invalidCredential(c, fmt.Sprintf("authStyle %q is not header or body", d.AuthStyle))
	}
	if d.Audience != "" {
		cfg.EndpointParams = url.Values{"audience": {d.Audience}}
	}
	return &oauthCred{key: conn.Key(c), host: u.Host, cfg: cfg}, nil
}

// token returns a valid access token for oc, from the cache unless the cached one is stale (the one
// the target just refused).
func (a *authorizer) token(ctx context.Context, oc *oauthCred, stale string) (string, error) {
	e := a.tokens.entry(oc.key)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := a.tokens.now()
	if e.token != "" && e.token != stale && now.Before(e.validUntil) {
		return e.token, nil
	}
	tok, err := a.fetch(ctx, oc)
	if err != nil {
		return "", err
	}
	e.token = tok.AccessToken
	e.validUntil = validUntil(now, tok.Expiry)
	return tok.AccessToken, nil
}

// validUntil is when a token fetched at now that expires at expiry stops being reused: shortly before
// its expiry (30s, or half its lifetime when that is shorter), or after an hour when it has none.
func validUntil(now, expiry time.Time) time.Time {
	if expiry.IsZero() {
		return now.Add(tokenMaxAge)
	}
	margin := min(tokenMargin, expiry.Sub(now)/2)
	return expiry.Add(-margin)
}

// fetch asks the token endpoint for a new access token.
func (a *authorizer) fetch(ctx context.Context, oc *oauthCred) (*oauth2.Token, error) {
	u, err := url.Parse(oc.cfg.TokenURL)
	if err != nil {
		return nil, node.Permanent(node.Errorf(CodeInvalidCredential, "the credential's tokenUrl is not valid"))
	}
	target := "token request to " + describe(http.MethodPost, u)
	if err := a.policy.CheckURL(u); err != nil {
		return nil, blockedError(target, err)
	}
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, a.client)
	tok, err := oc.cfg.Token(ctx)
	if err != nil {
		return nil, tokenError(target, err)
	}
	if tok.AccessToken == "" {
		return nil, node.Permanent(node.Errorf(CodeOAuth2Token, "%s: the answer holds no access_token", target))
	}
	if !validHeaderValue(tok.AccessToken) {
		return nil, node.Permanent(node.Errorf(CodeOAuth2Token, "%s: the access token has control characters", target))
	}
	return tok, nil
}

// tokenError classifies a failed token request: the endpoint's refusal (4xx) is permanent, with its
// OAuth2 error code; 429, 5xx and network failures may pass on a later attempt.
func tokenError(target string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		msg := fmt.Sprintf("%s answered %d", target, status)
		if re.ErrorCode != "" {
			msg += ": " + re.ErrorCode
			if re.ErrorDescription != "" {
				msg += " (" + re.ErrorDescription + ")"
			}
		}
		e := &node.Error{Code: CodeOAuth2Token, Message: msg, Details: map[string]any{"status": status}}
		if status != 0 && retryableStatus(status) {
			return e
		}
		return node.Permanent(e)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return transportError(target, tokenTimeout, ue)
	}
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		return blockedError(target, blocked)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return transportError(target, tokenTimeout, err)
	}
	// Parse failures of the answer ("oauth2: cannot parse json", "server response missing
	// access_token") are what the endpoint sent: retrying will not change them.
	return node.Permanent(node.Errorf(CodeOAuth2Token, "%s: %v", target, err))
}

func invalidCredential(c *node.Credential, msg string) error {
	return node.Permanent(node.Errorf(CodeInvalidCredential, "credential %s (%s): %s", c.Name, c.Type, msg))
}

// conflict checks that the configuration's headers do not set the header the credential sets.
func (au *auth) conflict(headers map[string]string) error {
	for name := range headers {
		if strings.EqualFold(name, au.header) {
			return node.Permanent(node.Errorf(CodeInvalidConfig,
				"headers sets %s, which the credential sets too: remove it from headers or the credential from the node", name))
		}
	}
	return nil
}

// apply sets the credential's header on req and records it in the request's context, so that a
// redirect to another origin drops it.
func (au *auth) apply(req *http.Request) *http.Request {
	if au == nil {
		return req
	}
	req = req.WithContext(context.WithValue(req.Context(), authKey{}, au.header))
	req.Header.Set(au.header, au.value)
	return req
}

// stripOnRedirect removes the credential's header from a redirected request that leaves the origin
// of the first one, or downgrades from https to http: a credential goes only where it was sent.
func stripOnRedirect(req *http.Request, via []*http.Request) {
	name, ok := req.Context().Value(authKey{}).(string)
	if !ok || len(via) == 0 {
		return
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		req.Header.Del(name)
	}
}

// tokenCache keeps access tokens by credential key (id and fingerprint), at most max of them.
type tokenCache struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*tokenEntry
}

type tokenEntry struct {
	mu         sync.Mutex // held while a token is fetched, so that one attempt fetches at a time
	token      string
	validUntil time.Time
	lastUsed   time.Time
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, now: time.Now, entries: map[string]*tokenEntry{}}
}

// entry returns key's entry, making room when the cache is full: expired entries go first, then the
// least recently used.
func (c *tokenCache) entry(key string) *tokenEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if e, ok := c.entries[key]; ok {
		e.lastUsed = now
		return e
	}
	if len(c.entries) >= c.max {
		var oldestKey string
		var oldest *tokenEntry
		for k, e := range c.entries {
			if oldest == nil || e.lastUsed.Before(oldest.lastUsed) {
				oldestKey, oldest = k, e
			}
		}
		delete(c.entries, oldestKey)
	}
	e := &tokenEntry{lastUsed: now}
	c.entries[key] = e
	return e
}

// len reports how many tokens the cache holds.
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Testers returns the credential testers of the HTTP credential types. Bearer, basic and header
// credentials have nothing to connect to until a request uses them; an OAuth2 client credentials
// credential is tested by getting an access token through the policy of cfg.
func Testers(cfg conn.Config) map[string]conn.TestFunc {
	cfg = cfg.WithDefaults()
	client := &http.Client{
		Transport: cfg.Policy.Transport(),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // token endpoints do not redirect; never follow with a secret
		},
	}
	a := newAuthorizer(client, cfg.Policy)
	stored := func(ctx context.Context, c *node.Credential) (string, error) {
		if _, err := a.resolve(ctx, discard{c}, c.ID); err != nil {
			return "", err
		}
		return "Stored; it is checked when a request uses it", nil
	}
	return map[string]conn.TestFunc{
		credBearer: stored,
		credBasic:  stored,
		credHeader: stored,
		credOAuth2: func(ctx context.Context, c *node.Credential) (string, error) {
			oc, err := a.oauthConfig(c)
			if err != nil {
				return "", err
			}
			ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			defer cancel()
			tok, err := a.fetch(ctx, oc)
			if err != nil {
				return "", err
			}
			msg := "Got an access token from " + oc.host
			if !tok.Expiry.IsZero() {
				msg += fmt.Sprintf(", expires in %ds", int(time.Until(tok.Expiry).Round(time.Second).Seconds()))
			}
			return msg, nil
		},
	}
}

// discard is a node.Credentials over one credential that drops what it is asked to redact: a
// tester's result is a message that holds no derived secret.
type discard struct{ c *node.Credential }

func (d discard) Get(context.Context, string, ...string) (*node.Credential, error) { return d.c, nil }
func (discard) Redact(...string)                                                   {}
