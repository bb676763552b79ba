package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// ResponseValidator checks answers against the OpenAPI document the server serves: every status,
// header and body of an API answer must be one the document describes.
type ResponseValidator struct {
	doc     *openapi3.T
	router  routers.Router
	problem *openapi3.SchemaRef
}

// NewResponseValidator loads and validates an OpenAPI document (3.0 or 3.1).
func NewResponseValidator(ctx context.Context, document []byte) (*ResponseValidator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	var opts []openapi3.ValidationOption
	if doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.IsOpenAPI31OrLater())
	}
	if err := doc.Validate(ctx, opts...); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	router, err := legacy.NewRouter(doc, opts...)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	problem := doc.Components.Schemas["ErrorModel"]
	if problem == nil {
		return nil, errors.New("the OpenAPI document has no ErrorModel schema")
	}
	return &ResponseValidator{doc: doc, router: router, problem: problem}, nil
}

// genericHeaders are answer headers that describe the transport or the browser policy of every
// answer rather than the API; any other header must be documented on the response.
var genericHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Date": true, "Transfer-Encoding": true, "Connection": true,
	"Keep-Alive": true, "Vary": true, "Content-Security-Policy": true, "X-Content-Type-Options": true,
	"X-Frame-Options": true, "Referrer-Policy": true, "Cross-Origin-Opener-Policy": true,
	"Cross-Origin-Resource-Policy": true, "Permissions-Policy": true, "Strict-Transport-Security": true,
	"Access-Control-Allow-Origin": true, "Access-Control-Expose-Headers": true,
}

// Covers reports whether an answer to this request path must be one the document describes: the
// API under /api/, webhooks under /hooks/, and every documented path. The web app, /docs and the
// OpenAPI documents themselves are not API answers.
func (v *ResponseValidator) Covers(path string) bool {
	if path == "/api" || strings.HasPrefix(path, "/api/") || path == "/hooks" || strings.HasPrefix(path, "/hooks/") {
		return true
	}
	return v.doc.Paths.Find(path) != nil
}

// Validate checks one answer to req. It returns nil when the document describes the answer's status,
// every header that is not generic, and its body.
func (v *ResponseValidator) Validate(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	if !v.Covers(req.URL.Path) {
		return nil
	}
	routed := routable(req)
	head := req.Method == http.MethodHead
	if head {
		// HEAD is GET without a body (RFC 9110): the document lists GET.
		routed = routed.Clone(ctx)
		routed.Method = http.MethodGet
	}
	route, pathParams, err := v.router.FindRoute(routed)
	if err != nil || (len(req.URL.Path) > 1 && strings.HasSuffix(req.URL.Path, "/")) {
		// The router ignores a trailing slash; the server does not: /a/ is another path than /a.
		return v.validateUnrouted(ctx, req, status, header, body)
	}
	if head {
		if responseFor(route, status) == nil {
			return fmt.Errorf("HEAD %s answered %d, which %s does not describe", req.URL.Path, status, route.Operation.OperationID)
		}
		return v.checkHeaders(req, status, header, route)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: routed, PathParams: pathParams, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, input); err != nil {
		return fmt.Errorf("%s %s answered %d, which %s does not describe: %w", req.Method, req.URL.Path, status, route.Operation.OperationID, err)
	}
	if len(responseFor(route, status).Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("%s %s answered %d with a body, which %s documents without one", req.Method, req.URL.Path, status, route.Operation.OperationID)
	}
	return v.checkHeaders(req, status, header, route)
}

// checkHeaders requires every header of an answer that is not generic to be documented on it.
func (v *ResponseValidator) checkHeaders(req *http.Request, status int, header http.Header, route *routers.Route) error {
	resp := responseFor(route, status).Value
	if route.Operation.Responses.Default() != nil && strings.HasPrefix(route.Path, "/hooks/") {
		// A webhook's answer may carry any header an http.respond node set.
		return nil
	}
	for name := range header {
		if !genericHeaders[name] && resp.Headers[name] == nil && !hasHeaderFold(resp.Headers, name) {
			return fmt.Errorf("%s %s answered %d with header %s, which %s does not document", req.Method, req.URL.Path, status, name, route.Operation.OperationID)
		}
	}
	return nil
}

// validateUnrouted checks an answer to a request no operation matches: a 404, or a 405 with Allow
// when the path has operations, as a problem document.
func (v *ResponseValidator) validateUnrouted(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	want := http.StatusNotFound
	if !strings.HasSuffix(req.URL.Path, "/") || req.URL.Path == "/" {
		probe := routable(req).Clone(ctx)
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe.Method = m
			if _, _, err := v.router.FindRoute(probe); err == nil {
				want = http.StatusMethodNotAllowed
				break
			}
		}
	}
	if status != want {
		return fmt.Errorf("%s %s matches no operation and answered %d; it must answer %d", req.Method, req.URL.Path, status, want)
	}
	if want == http.StatusMethodNotAllowed && header.Get("Allow") == "" {
		return fmt.Errorf("%s %s answered 405 without an Allow header", req.Method, req.URL.Path)
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		return fmt.Errorf("%s %s answered %d with Content-Type %q, not a problem document", req.Method, req.URL.Path, status, ct)
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("%s %s answered %d with a body that is not JSON: %w", req.Method, req.URL.Path, status, err)
	}
	opts := []openapi3.SchemaValidationOption{openapi3.VisitAsResponse(), openapi3.MultiErrors()}
	if v.doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.EnableJSONSchema2020())
	}
	if err := v.problem.Value.VisitJSON(value, opts...); err != nil {
		return fmt.Errorf("%s %s answered %d with a body that is not an ErrorModel: %w", req.Method, req.URL.Path, status, err)
	}
	return nil
}

// routable returns req as the document describes it: the path of a webhook is one parameter, slashes
// included (the server reads /hooks/a/b and /hooks/a%2Fb alike). The router matches the decoded path
// segment by segment, so the parameter's slashes are written as %2F for it.
func routable(req *http.Request) *http.Request {
	rest, ok := strings.CutPrefix(req.URL.Path, "/hooks/")
	if !ok || !strings.Contains(rest, "/") {
		return req
	}
	out := req.Clone(req.Context())
	u := *req.URL
	u.Path, u.RawPath = "/hooks/"+strings.ReplaceAll(rest, "/", "%2F"), ""
	out.URL = &u
	return out
}

func hasHeaderFold(headers openapi3.Headers, name string) bool {
	for k := range headers {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// responseFor is the documented answer of route for status: its own, else the operation's default
// (a webhook's answer decided by an http.respond node), else nil.
func responseFor(route *routers.Route, status int) *openapi3.ResponseRef {
	if r := route.Operation.Responses.Status(status); r != nil {
		return r
	}
	return route.Operation.Responses.Default()
}
