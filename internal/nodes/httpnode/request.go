package httpnode

import (
	"bytes"
	"context"
	_ "embed" // docs, in request.md
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/telemetry"
)

// TypeName is the node type's name.
const TypeName node.TypeName = "http.request"

// Defaults for Config.
const (
	// MaxResponseBytesDefault is the response body limit when Config.MaxResponseBytes is zero: 16 MiB.
	MaxResponseBytesDefault int64 = 16 << 20
	// TimeoutDefault is the request timeout when Config.DefaultTimeout is zero.
	TimeoutDefault = 30 * time.Second
)

// docs is the type's documentation (node.Info.Docs).
//
//go:embed request.md
var docs string

// maxRedirects is how many redirects one request follows.
const maxRedirects = 10

// Codes of the *node.Error values Execute returns.
const (
	// CodeHTTPStatus is a response status of 400 or above while failOnStatus is on; the error's Details
	// hold the output the node would have emitted.
	CodeHTTPStatus = "http_status"
	// CodeInvalidJSON is a body that is not JSON while responseType is json.
	CodeInvalidJSON = "invalid_json"
	// CodeInvalidRequest is a configuration the request cannot be built from.
	CodeInvalidRequest = "invalid_request"
	// CodeRequestFailed is a network failure: refused connection, reset, DNS failure and the like.
	CodeRequestFailed = "request_failed"
	// CodeResponseTooLarge is a response body over the size limit.
	CodeResponseTooLarge = "response_too_large"
	// CodeSSRFBlocked is a URL, redirect or address the outbound policy refused.
	CodeSSRFBlocked = "ssrf_blocked"
	// CodeTimeout is a request that did not finish within its timeout.
	CodeTimeout = "timeout"
	// CodeTooManyRedirects is a request redirected more than 10 times.
	CodeTooManyRedirects = "too_many_redirects"
)

// Body types.
const (
	bodyJSON = "json"
	bodyText = "text"
	bodyForm = "form"
	bodyNone = "none"
)

// Response types.
const (
	responseAuto = "auto"
	responseJSON = "json"
	responseText = "text"
)

// Config configures the http.request node type for a deployment.
type Config struct {
	// DefaultTimeout bounds a request whose configuration sets no timeout, from sending it to reading
	// the whole response. Zero or negative means TimeoutDefault (30s).
	DefaultTimeout time.Duration
	// MaxResponseBytes is the largest response body a node reads, in bytes. A node's maxResponseBytes
	// may lower it, never raise it. Zero or negative means MaxResponseBytesDefault (16 MiB).
	MaxResponseBytes int64
	// Policy decides which addresses requests may reach, redirects included. Nil means the zero
	// netguard.Policy, which refuses loopback, private, link-local and cloud metadata addresses.
	Policy *netguard.Policy
}

// shared is what every node made by one New shares. It is immutable.
type shared struct {
	client           *http.Client
	defaultTimeout   time.Duration
	maxResponseBytes int64
	policy           *netguard.Policy
	auth             *authorizer
	schema           json.RawMessage
	graphqlSchema    json.RawMessage
}

var errTooManyRedirects = fmt.Errorf("stopped after %d redirects", maxRedirects)

// New returns the http.request node type to register, for example
// registry.MustRegister(httpnode.New(cfg)). It builds one http.Client, dialling through cfg.Policy,
// that every node of the type shares.
func New(cfg Config) node.Node {
	return &Request{shared: newShared(cfg)}
}

// All returns http.request and graphql.request, sharing one http.Client and one OAuth2 token cache.
func All(cfg Config) []node.Node {
	s := newShared(cfg)
	return []node.Node{&Request{shared: s}, &GraphQL{shared: s}}
}

func newShared(cfg Config) *shared {
	s := &shared{
		defaultTimeout:   cfg.DefaultTimeout,
		maxResponseBytes: cfg.MaxResponseBytes,
		policy:           cfg.Policy,
	}
	if s.defaultTimeout <= 0 {
		s.defaultTimeout = TimeoutDefault
	}
	if s.maxResponseBytes <= 0 {
		s.maxResponseBytes = MaxResponseBytesDefault
	}
	if s.policy == nil {
		s.policy = &netguard.Policy{}
	}
	policy := s.policy
	transport := policy.Transport()
	s.client = &http.Client{
		// Within a traced attempt, each request (each redirect too) gets a client span and carries
		// the trace's traceparent; otherwise the wrapper passes requests straight through.
		Transport: telemetry.Transport(transport),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errTooManyRedirects
			}
			stripOnRedirect(req, via)
			return policy.CheckURL(req.URL)
		},
	}
	// Token requests share the transport but follow no redirect: a token endpoint has no reason to
	// send the client secret elsewhere.
	tokenClient := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.auth = newAuthorizer(tokenClient, policy)
	s.schema = schemaFor(s)
	s.graphqlSchema = graphqlSchemaFor(s)
	return s
}

// Request is an http.request node: its fields are its configuration, after the engine has evaluated
// any {{ expressions }} in it.
type Request struct {
	// Method is the HTTP method; empty means GET.
	Method string `json:"method,omitempty"`
	// URL is the absolute http or https URL to request.
	URL string `json:"url"`
	// Headers are request headers by name. A Host header sets the request's host.
	Headers map[string]string `json:"headers,omitempty"`
	// Query holds query parameters (string, number or boolean values) added to the URL's own; each
	// replaces the URL's parameters of the same name.
	Query map[string]any `json:"query,omitempty"`
	// Body is the request body, any JSON value.
	Body any `json:"body,omitempty"`
	// BodyType is json, text, form or none; empty means json when Body is set and none otherwise.
	BodyType string `json:"bodyType,omitempty"`
	// Timeout bounds the whole request, as a Go duration such as "30s"; empty means the deployment's
	// default.
	Timeout string `json:"timeout,omitempty"`
	// ResponseType is auto, json or text; empty means auto.
	ResponseType string `json:"responseType,omitempty"`
	// FailOnStatus fails the node on a status of 400 or above; nil means true.
	FailOnStatus *bool `json:"failOnStatus,omitempty"`
	// MaxResponseBytes lowers the deployment's response size limit; zero means the limit itself.
	MaxResponseBytes int64 `json:"maxResponseBytes,omitempty"`
	// Credential is the id of an httpBearer, httpBasic, httpHeader or oauth2ClientCredentials
	// credential whose header the request carries; empty means none.
	Credential string `json:"credential,omitempty"`

	shared *shared
}

// NodeInfo describes the http.request type.
func (r *Request) NodeInfo() node.Info {
	s := r.shared
	var schema json.RawMessage
	if s != nil {
		schema = s.schema
	}
	return node.Info{
		Type:        TypeName,
		Version:     1,
		Output:      json.RawMessage(`{"type":"object","properties":{"status":{"type":"integer"},"statusText":{"type":"string"},"headers":{"type":"object"},"body":{},"url":{"type":"string"}}}`),
		Title:       "HTTP request",
		Category:    "HTTP",
		Description: "Sends an HTTP request and emits the response's status, headers and body.",
		Icon:        "globe",
		Docs:        docs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: the request is built from the configuration"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Response", Description: "status, statusText, headers, body and url"}},
		Schema:      schema,
		New:         func() node.Node { return &Request{shared: s} },
	}
}

// Validate checks what the schema cannot: the URL is an absolute http or https URL without
// credentials, header names and values are well formed, the timeout parses, and the body suits the
// body type. Header values are never quoted in errors, since they may hold secrets.
func (r *Request) Validate() error {
	var errs []error
	if _, err := parseURL(r.URL); err != nil && !strings.Contains(r.URL, "{{") {
		errs = append(errs, err)
	}
	for name, value := range r.Headers {
		if !validHeaderName(name) {
			errs = append(errs, fmt.Errorf("header name %q is not valid", name))
		}
		if !validHeaderValue(value) {
			errs = append(errs, fmt.Errorf("header %q has a value with control characters", name))
		}
	}
	for name, value := range r.Query {
		if _, ok := formatScalar(value); !ok {
			errs = append(errs, fmt.Errorf("query parameter %q must be a string, number or boolean", name))
		}
	}
	if _, err := r.timeout(); err != nil && !strings.Contains(r.Timeout, "{{") {
		errs = append(errs, err)
	}
	if _, _, err := r.encodeBody(); err != nil {
		errs = append(errs, err)
	}
	switch r.ResponseType {
	case "", responseAuto, responseJSON, responseText:
	default:
		errs = append(errs, fmt.Errorf("responseType %q is not one of auto, json, text", r.ResponseType))
	}
	if r.MaxResponseBytes < 0 {
		errs = append(errs, errors.New("maxResponseBytes must be positive"))
	}
	return errors.Join(errs...)
}

// Execute sends the request and emits {status, statusText, headers, body, url}. It does not read
// in's data: the configuration holds everything the request needs, and in.Credentials the credential.
func (r *Request) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	s := r.shared
	if s == nil {
		return node.Output{}, node.Permanent(errors.New("http.request node was not made by httpnode.New"))
	}
	u, err := parseURL(r.URL)
	if err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: CodeInvalidRequest, Message: err.Error()})
	}
	if err := mergeQuery(u, r.Query); err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: CodeInvalidRequest, Message: err.Error()})
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	target := describe(method, u)
	if err := s.policy.CheckURL(u); err != nil {
		return node.Output{}, blockedError(target, err)
	}
	body, contentType, err := r.encodeBody()
	if err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: CodeInvalidRequest, Message: err.Error()})
	}
	timeout, err := r.timeout()
	if err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: CodeInvalidRequest, Message: err.Error()})
	}
	if timeout == 0 {
		timeout = s.defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var creds node.Credentials
	if in != nil {
		creds = in.Credentials
	}
	resp, err := s.send(ctx, creds, r.Credential, r.Headers, target, timeout, func(ctx context.Context) (*http.Request, error) {
		var bodyReader io.Reader
		if body != nil {
			bodyReader = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bodyReader)
		if err != nil {
			return nil, node.Permanent(&node.Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("%s: %v", target, err)})
		}
		for name, value := range r.Headers {
			if strings.EqualFold(name, "Host") {
				req.Host = value
				continue
			}
			req.Header.Set(name, value)
		}
		if contentType != "" && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", contentType)
		}
		return req, nil
	})
	if err != nil {
		return node.Output{}, err
	}
	defer func() { _ = resp.Body.Close() }()

	// The response may come from a redirect target: describe that.
	target = describe(resp.Request.Method, resp.Request.URL)
	limit := s.maxResponseBytes
	if r.MaxResponseBytes > 0 && r.MaxResponseBytes < limit {
		limit = r.MaxResponseBytes
	}
	if resp.ContentLength > limit && resp.Request.Method != http.MethodHead {
		return node.Output{}, tooLargeError(target, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return node.Output{}, transportError(target, timeout, err)
	}
	if int64(len(data)) > limit {
		return node.Output{}, tooLargeError(target, limit)
	}

	status := statusText(resp)
	failOnStatus := r.FailOnStatus == nil || *r.FailOnStatus
	failing := failOnStatus && resp.StatusCode >= http.StatusBadRequest
	contentTypeHeader := resp.Header.Get("Content-Type")
	decoded, err := decodeBody(data, contentTypeHeader, r.ResponseType)
	if err != nil {
		if !failing {
			return node.Output{}, node.Permanent(&node.Error{
				Code:    CodeInvalidJSON,
				Message: fmt.Sprintf("%s answered %d %s with a body that is not valid JSON: %v", target, resp.StatusCode, status, err),
			})
		}
		// The status says more than the body: report it, with the body as text.
		decoded = decodeText(data, contentTypeHeader)
	}
	out := map[string]any{
		"status":     resp.StatusCode,
		"statusText": status,
		"headers":    responseHeaders(resp.Header),
		"body":       decoded,
		"url":        resp.Request.URL.String(),
	}
	if failing {
		e := &node.Error{
			Code:    CodeHTTPStatus,
			Message: fmt.Sprintf("%s answered %d %s", target, resp.StatusCode, status),
			Details: out,
		}
		if retryableStatus(resp.StatusCode) {
			return node.Output{}, e
		}
		return node.Output{}, node.Permanent(e)
	}
	return node.Out(out), nil
}

// send resolves the credential credID (empty: none), builds the request with build, adds the
// credential's header and sends it. When an OAuth2 access token is refused with 401, it gets a new
// token and sends the request once more.
func (s *shared) send(ctx context.Context, creds node.Credentials, credID string, headers map[string]string,
	target string, timeout time.Duration, build func(context.Context) (*http.Request, error),
) (*http.Response, error) {
	au, err := s.auth.resolve(ctx, creds, credID)
	if err != nil {
		return nil, err
	}
	if au != nil {
		if err := au.conflict(headers); err != nil {
			return nil, err
		}
	}
	req, err := build(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(au.apply(req))
	if err != nil {
		return nil, transportError(target, timeout, err)
	}
	if resp.StatusCode != http.StatusUnauthorized || au == nil || au.oauth == nil {
		return resp, nil
	}
	// The token may have been revoked or expired early: get a new one and try once more.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if err := s.auth.refresh(ctx, creds, au); err != nil {
		return nil, err
	}
	req, err = build(ctx)
	if err != nil {
		return nil, err
	}
	resp, err = s.client.Do(au.apply(req))
	if err != nil {
		return nil, transportError(target, timeout, err)
	}
	return resp, nil
}

// parseURL parses an absolute http or https URL without credentials.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("url is not valid: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("url must start with http:// or https://")
	case u.User != nil:
		return nil, errors.New("url must not contain credentials; send them in a header such as Authorization")
	case u.Hostname() == "":
		return nil, errors.New("url has no host")
	}
	return u, nil
}

// mergeQuery adds params to u's query. The URL's own parameters keep their order and encoding,
// except those params replaces; the added ones follow, sorted by name.
func mergeQuery(u *url.URL, params map[string]any) error {
	if len(params) == 0 {
		return nil
	}
	added := url.Values{}
	for name, value := range params {
		text, ok := formatScalar(value)
		if !ok {
			return fmt.Errorf("query parameter %q must be a string, number or boolean", name)
		}
		added.Set(name, text)
	}
	var kept []string
	for pair := range strings.SplitSeq(u.RawQuery, "&") {
		if pair == "" {
			continue
		}
		rawName, _, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			name = rawName
		}
		if _, replaced := added[name]; !replaced {
			kept = append(kept, pair)
		}
	}
	kept = append(kept, added.Encode())
	u.RawQuery = strings.Join(kept, "&")
	u.ForceQuery = false
	return nil
}

// timeout returns the configured timeout, or zero when none is set.
func (r *Request) timeout() (time.Duration, error) { return parseTimeout(r.Timeout) }

// parseTimeout parses a timeout setting; empty is zero.
func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("timeout %q is not a positive duration such as 500ms, 30s or 1m30s", s)
	}
	return d, nil
}

// describe returns "METHOD scheme://host/path" for messages: the query and fragment are left out,
// since they often carry keys.
func describe(method string, u *url.URL) string {
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return method + " " + shown.String()
}

func statusText(resp *http.Response) string {
	if text, ok := strings.CutPrefix(resp.Status, strconv.Itoa(resp.StatusCode)+" "); ok && text != "" {
		return text
	}
	return http.StatusText(resp.StatusCode)
}

// retryableStatus reports whether a failing status may succeed on a later attempt.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= http.StatusInternalServerError
}

// responseHeaders returns the headers with lower-case names, several values joined by ", ".
func responseHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for name, values := range h {
		out[strings.ToLower(name)] = strings.Join(values, ", ")
	}
	return out
}

// blockedError turns a policy refusal into a permanent ssrf_blocked failure.
func blockedError(target string, err error) error {
	e := &node.Error{Code: CodeSSRFBlocked, Message: fmt.Sprintf("%s: %v", target, err)}
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		details := map[string]any{"host": blocked.Host, "reason": blocked.Reason}
		if blocked.IP.IsValid() {
			details["ip"] = blocked.IP.String()
		}
		e.Details = details
	}
	return node.Permanent(e)
}

// transportError classifies an error from sending the request or reading the response.
func transportError(target string, timeout time.Duration, err error) error {
	// *url.Error repeats the full URL, query included; keep only its cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var blocked *netguard.BlockedError
	var netErr net.Error
	switch {
	case errors.As(err, &blocked):
		return blockedError(target, blocked)
	case errors.Is(err, errTooManyRedirects):
		return node.Permanent(&node.Error{Code: CodeTooManyRedirects, Message: fmt.Sprintf("%s: %v", target, err)})
	case errors.Is(err, context.DeadlineExceeded):
		return &node.Error{Code: CodeTimeout, Message: fmt.Sprintf("%s: no complete response within %s", target, timeout)}
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", target, err)
	case errors.As(err, &netErr) && netErr.Timeout():
		return &node.Error{Code: CodeTimeout, Message: fmt.Sprintf("%s: %v", target, err)}
	}
	return &node.Error{Code: CodeRequestFailed, Message: fmt.Sprintf("%s: %v", target, err)}
}

func tooLargeError(target string, limit int64) error {
	return node.Permanent(&node.Error{
		Code: CodeResponseTooLarge,
		Message: fmt.Sprintf("%s: response body is larger than the limit of %s; raise maxResponseBytes or request less data",
			target, formatBytes(limit)),
	})
}

// formatBytes writes n in the largest binary unit that divides it, with the exact count.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB (%d bytes)", n>>20, n)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB (%d bytes)", n>>10, n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// validHeaderName reports whether name is an HTTP token (RFC 9110, section 5.6.2).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether value has no control characters other than tab.
func validHeaderValue(value string) bool {
	for _, c := range []byte(value) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

var (
	_ node.Node      = (*Request)(nil)
	_ node.Validator = (*Request)(nil)
)
