package api

import (
	"fmt"
	"net/http"
	"path"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/workflow"
)

// probeMethods are the methods tried when telling a 405 from a 404. HEAD is allowed wherever GET is.
var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// isAPIPath reports whether p belongs to the API or the webhooks, whose every answer is a documented
// one, rather than to the web app.
func isAPIPath(p string) bool {
	return p == "/api" || strings.HasPrefix(p, "/api/") || p == "/hooks" || strings.HasPrefix(p, "/hooks/")
}

// screen answers API paths that are not in canonical form ("//", "/./", "/../", also when
// percent-encoded) with a 404 problem, where the mux would redirect to another path: no route, and no
// webhook path (validate refuses empty and dot segments), is ever reached that way.
func (s *Server) screen(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if isAPIPath(p) {
			if c := path.Clean(p); c != p && c+"/" != p {
				writeProblem(w, newError(http.StatusNotFound, "no route for "+r.Method+" "+p+": the path has empty or dot segments"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// fallback serves requests no route matched: 405 with Allow when the path answers other methods,
// 404 under /api/ and /hooks/, and the web app (when there is one) everywhere else.
func (s *Server) fallback(w http.ResponseWriter, r *http.Request) {
	if allowed := s.allowedMethods(r); len(allowed) > 0 {
		allow := strings.Join(allowed, ", ")
		w.Header().Set("Allow", allow)
		writeProblem(w, newError(http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, allow)))
		return
	}
	if s.cfg.UI != nil && !isAPIPath(r.URL.Path) {
		s.cfg.UI.ServeHTTP(w, r)
		return
	}
	writeProblem(w, newError(http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path))
}

// allowedMethods returns the methods a route serves on r's path.
func (s *Server) allowedMethods(r *http.Request) []string {
	var out []string
	probe := *r
	for _, m := range probeMethods {
		probe.Method = m
		if _, pattern := s.mux.Handler(&probe); pattern != "" && pattern != "/" {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	return out
}

// textProblem says what is wrong with a parameter value that no store could hold: a NUL character
// or bytes that are not UTF-8. It returns "" for a good value.
func textProblem(v string) string {
	switch {
	case strings.IndexByte(v, 0) >= 0:
		return "must not contain a NUL character (%00)"
	case !utf8.ValidString(v):
		return "must be valid UTF-8"
	}
	return ""
}

// screenParams is a huma middleware that refuses path, query and header parameters holding a NUL
// character or invalid UTF-8, with a 422 naming the parameter, before any handler sees them.
func (s *Server) screenParams(ctx huma.Context, next func(huma.Context)) {
	for _, p := range ctx.Operation().Parameters {
		var values []string
		switch p.In {
		case "path":
			values = []string{ctx.Param(p.Name)}
		case "query":
			u := ctx.URL()
			values = u.Query()[p.Name]
		case "header":
			if strings.EqualFold(p.Name, "If-None-Match") {
				continue // a malformed If-None-Match is ignored (caching.go): the read answers 200
			}
			values = []string{ctx.Header(p.Name)}
		}
		for _, v := range values {
			if msg := textProblem(v); msg != "" {
				_ = huma.WriteErr(s.api, ctx, http.StatusUnprocessableEntity, p.In+" parameter "+p.Name+" "+msg,
					&ErrorDetail{Location: workflow.Pointer(p.In, p.Name), Message: msg})
				return
			}
		}
	}
	next(ctx)
}

// Descriptions of the answers every operation of a kind can give.
var commonErrors = []struct {
	status int
	desc   string
	when   func(op *huma.Operation) bool
}{
	{http.StatusBadRequest, "The body is not valid JSON", hasBody},
	{http.StatusRequestTimeout, "The body did not arrive in time", hasBody},
	{http.StatusRequestEntityTooLarge, "The body is over this operation's size limit", hasBody},
	{http.StatusUnsupportedMediaType, "The body is not JSON: send Content-Type: application/json", hasJSONBodyOnly},
	{http.StatusUnprocessableEntity, "A parameter or the body is invalid; errors lists each problem with its JSON pointer",
		func(op *huma.Operation) bool { return hasBody(op) || len(op.Parameters) > 0 }},
	{http.StatusForbidden, "A browser sent this request from a page on another site (Sec-Fetch-Site, or Origin against Host): " +
		"state-changing requests are accepted from the ConcertMaster app and from programs only", changesState},
	{http.StatusMisdirectedRequest, "The Host header names neither an address of this server, localhost, nor a name in " +
		"CM_ALLOWED_HOSTS (a defence against DNS rebinding)", func(*huma.Operation) bool { return true }},
	{http.StatusInternalServerError, "Internal error; the detail names the request id to look for in the server log", func(*huma.Operation) bool { return true }},
}

// changesState reports whether the cross-origin check applies to op: a method other than GET, HEAD
// and OPTIONS, outside the webhooks.
func changesState(op *huma.Operation) bool {
	switch op.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return !isWebhookPath(op.Path)
}

func hasBody(op *huma.Operation) bool { return op.RequestBody != nil }

func hasJSONBodyOnly(op *huma.Operation) bool {
	if op.RequestBody == nil {
		return false
	}
	for ct := range op.RequestBody.Content {
		if ct != "application/json" {
			return false
		}
	}
	return true
}

// documentOperation runs as each operation is added to the OpenAPI document: it documents the error
// answers every operation of its kind can give, the X-Request-ID header of every answer, and drops
// huma's catch-all "default" response, so that the document lists every status the server sends.
func documentOperation(oapi *huma.OpenAPI, op *huma.Operation) {
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	for _, e := range commonErrors {
		key := strconv.Itoa(e.status)
		if e.when(op) && op.Responses[key] == nil {
			op.Responses[key] = &huma.Response{Description: e.desc, Content: problemContent(oapi)}
		}
	}
	if a, ok := policy[op.OperationID]; ok && !a.public {
		documentAccess(oapi, op, a)
	}
	if !strings.HasPrefix(op.Path, "/hooks/") {
		// huma's generic error answer; a webhook's default is the answer an http.respond node decides.
		delete(op.Responses, "default")
	}
	for _, resp := range op.Responses {
		if resp.Headers == nil {
			resp.Headers = map[string]*huma.Header{}
		}
		resp.Headers["X-Request-ID"] = &huma.Header{
			Description: "The request's id: the client's X-Request-ID when it sent one of at most 64 bytes, else a new one; the server log carries it",
			Schema:      &huma.Schema{Type: huma.TypeString},
		}
	}
}

// documentAccess documents who may call op and the answers of a refused request.
func documentAccess(oapi *huma.OpenAPI, op *huma.Operation, a access) {
	op.Security = []map[string][]string{{"bearer": {}}}
	who := fmt.Sprintf("Requires the %s role or above", a.min)
	if a.userOnly {
		who += ", signed in as a person (not an API key)"
	}
	if a.ticket {
		who += "; a stream may authenticate with ?ticket= from POST /api/v1/auth/tickets instead of the Authorization header"
	}
	op.Description = strings.TrimSpace(op.Description + " " + who + ".")
	op.Responses["401"] = &huma.Response{Description: "No credential, or a malformed, expired, revoked or unknown one",
		Content: problemContent(oapi), Headers: map[string]*huma.Header{"WWW-Authenticate": {
			Description: `Bearer, with error="invalid_token" and a description`, Schema: &huma.Schema{Type: huma.TypeString}}}}
	forbidden := "The caller's role (or kind: person or API key) may not do this"
	if r := op.Responses["403"]; r != nil {
		forbidden = r.Description + "; or " + strings.ToLower(forbidden[:1]) + forbidden[1:]
	}
	op.Responses["403"] = &huma.Response{Description: forbidden, Content: problemContent(oapi)}
	op.Responses["429"] = &huma.Response{Description: "Too many requests from this caller (CM_API_RATE_LIMIT); Retry-After says when to retry",
		Content: problemContent(oapi), Headers: map[string]*huma.Header{"Retry-After": {Description: "Seconds to wait", Schema: &huma.Schema{Type: huma.TypeInteger}}}}
	if ticket := "ticket"; a.ticket {
		op.Parameters = append(op.Parameters, &huma.Param{Name: ticket, In: "query", Description: "A single-use stream ticket (POST /api/v1/auth/tickets), for clients that cannot send headers",
			Schema: &huma.Schema{Type: huma.TypeString, MaxLength: ptr(2048)}})
	}
}

// problemContent is the content of an error answer: a problem document.
func problemContent(oapi *huma.OpenAPI) map[string]*huma.MediaType {
	schema := oapi.Components.Schemas.Schema(reflect.TypeFor[ErrorModel](), true, "ErrorModel")
	return map[string]*huma.MediaType{"application/problem+json": {Schema: schema}}
}

// alsoAnswers documents another success status of an operation, with the same body and headers as
// its default status.
func (s *Server) alsoAnswers(method, p string, status int, desc string) {
	item := s.api.OpenAPI().Paths[p]
	var op *huma.Operation
	switch method {
	case http.MethodGet:
		op = item.Get
	case http.MethodPost:
		op = item.Post
	default:
		panic("alsoAnswers: unsupported method " + method)
	}
	def := op.Responses[strconv.Itoa(op.DefaultStatus)]
	if def == nil && op.DefaultStatus == 0 {
		def = op.Responses["200"]
	}
	headers := make(map[string]*huma.Header, len(def.Headers))
	for k, v := range def.Headers {
		headers[k] = v
	}
	op.Responses[strconv.Itoa(status)] = &huma.Response{Description: desc, Headers: headers, Content: def.Content}
}
