package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/core"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// webhookMethods are the methods a webhook trigger may listen on.
var webhookMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// MaxWebhookPathBytes bounds the path after /hooks/ (the trigger's path setting has the same limit).
const MaxWebhookPathBytes = 200

func (s *Server) registerWebhooks() {
	oapi := s.api.OpenAPI()
	executionID := map[string]*huma.Header{"X-Execution-ID": {Description: "The execution the request started", Schema: &huma.Schema{Type: huma.TypeString}}}
	for _, m := range webhookMethods {
		s.mux.HandleFunc(m+" /hooks/{path...}", s.serveWebhook)
		op := &huma.Operation{
			OperationID: "webhook-" + strings.ToLower(m), Method: m, Path: "/hooks/{path}", Tags: []string{"Webhooks"},
			Summary: m + " webhook",
			Description: "Starts the active workflow whose trigger.webhook listens on this method and path. The trigger's output is " +
				"{method, path, headers, query, body}; the values of headers that carry credentials (Authorization, Cookie, X-Api-Key, " +
				"any name with auth, token, secret…) and of those the trigger lists in redactHeaders are stored as \"[redacted]\". " +
				"A JSON body is parsed, a form body becomes an object, anything else a string. " +
				"A trigger with auth first checks the request, before parsing the body or creating anything: a header carrying a shared " +
				"secret (compared in constant time; its value is stored as \"[redacted]\"), or an HMAC (sha256, sha1 or sha512; hex or " +
				"base64; an optional prefix such as sha256=) of the raw body as sent, in the header the trigger names (GitHub's " +
				"X-Hub-Signature-256 style); a request that fails answers 401. " +
				"With respond=onCompletion the answer is the run's output (200), or a problem with the error when it fails (502); when " +
				"an http.respond node runs first, its status, headers and body answer at once while the run goes on; with " +
				"respond=immediately, or when the run outlasts the webhook timeout, it is 202 with the execution id.",
			Parameters: []*huma.Param{{Name: "path", In: "path", Required: true,
				Description: "The trigger's path, such as orders/new. A path of several segments is one parameter: a client that " +
					"percent-encodes its slashes (orders%2Fnew) and one that sends them as they are (/hooks/orders/new) reach the same trigger.",
				Schema: &huma.Schema{Type: huma.TypeString, MinLength: ptr(1), MaxLength: ptr(MaxWebhookPathBytes),
					Pattern: core.WebhookPathPattern.String(), Examples: []any{"orders/new"}}}},
			Responses: map[string]*huma.Response{
				"default": {Description: "The answer an http.respond node decided: its status (200–599), headers and body", Headers: executionID,
					Content: map[string]*huma.MediaType{"*/*": {Schema: &huma.Schema{}}}},
				"200": {Description: "The run succeeded: its output", Headers: executionID,
					Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{}}}},
				"202": {Description: "Accepted: the run goes on (respond=immediately, or it outlasted the webhook timeout)",
					Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{
						Type: huma.TypeObject, Required: []string{"executionId", "status"}, AdditionalProperties: false,
						Properties: map[string]*huma.Schema{
							"executionId": {Type: huma.TypeString, Description: "The execution the request started"},
							"status": {Type: huma.TypeString, Description: "Its status when the answer was sent",
								Enum: []any{"queued", "running", "waiting", "succeeded", "failed", "canceled"}},
						}}}}},
				"400": {Description: "The body does not parse as its Content-Type says (JSON or form)", Content: problemContent(oapi)},
				"401": {Description: "The trigger requires authentication (a shared-secret header, or an HMAC signature of the raw body) " +
					"and the request does not carry it: the header is missing, sent twice, not in the expected prefix or encoding, or wrong. " +
					"The answer is the same whatever the reason; nothing was created.", Content: problemContent(oapi)},
				"404": {Description: "No active workflow listens on this method and path", Content: problemContent(oapi)},
				"408": {Description: "The body did not arrive in time", Content: problemContent(oapi)},
				"413": {Description: "The body is over the webhook size limit", Content: problemContent(oapi)},
				"422": {Description: "The path or a query parameter holds a NUL character or invalid UTF-8", Content: problemContent(oapi)},
				"502": {Description: "The run failed or was canceled: an execution-failed problem whose instance is the execution", Headers: executionID,
					Content: problemContent(oapi)},
			},
		}
		if m != http.MethodGet && m != http.MethodDelete {
			op.RequestBody = &huma.RequestBody{Description: "Any body: JSON is parsed, a form becomes an object, anything else is kept as text",
				Content: map[string]*huma.MediaType{
					"application/json":                  {Schema: &huma.Schema{}},
					"application/x-www-form-urlencoded": {Schema: &huma.Schema{Type: huma.TypeObject}},
					"*/*":                               {Schema: &huma.Schema{Type: huma.TypeString}},
				}}
		}
		oapi.AddOperation(op)
	}
}

func ptr[T any](v T) *T { return &v }

func (s *Server) serveWebhook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := screenWebhookParams(r); err != nil {
		writeProblem(w, err)
		return
	}
	body, ok := s.readWebhookBody(w, r)
	if !ok {
		return
	}
	// The trigger's authentication runs before the body is even parsed: a caller without the secret
	// learns nothing about what the workflow accepts, and nothing is created for it.
	target, err := s.svc.OpenWebhook(ctx, r.Method, r.PathValue("path"), r.Header, body)
	if err != nil {
		s.webhookProblem(w, r, err)
		return
	}
	parsed, err := parseWebhookBody(r.Header.Get("Content-Type"), body)
	if err != nil {
		writeProblem(w, newError(http.StatusBadRequest, err.Error()))
		return
	}
	req := service.WebhookRequest{
		Method: r.Method, Path: r.PathValue("path"), Headers: flattenHeader(r.Header), Query: flattenValues(r.URL.Query()), Body: parsed,
	}
	outcome, err := s.svc.RunWebhook(ctx, target, req, s.cfg.WebhookTimeout)
	if err != nil {
		s.webhookProblem(w, r, err)
		return
	}
	done, respond, finished := outcome.Exec, outcome.Respond, outcome.Finished
	if respond == core.RespondImmediately {
		writeJSON(w, http.StatusAccepted, map[string]any{"executionId": done.ID, "status": done.Status})
		return
	}
	if outcome.Response != nil {
		writeNodeResponse(w, done.ID, outcome.Response)
		return
	}
	switch {
	case !finished:
		writeJSON(w, http.StatusAccepted, map[string]any{"executionId": done.ID, "status": done.Status})
	case done.Status == workflow.ExecutionSucceeded:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Execution-ID", done.ID)
		w.WriteHeader(http.StatusOK)
		out := done.Output
		if len(out) == 0 {
			out = json.RawMessage("null")
		}
		_, _ = w.Write(out) //nolint:gosec // JSON the run produced, sent as application/json with nosniff and a CSP that runs nothing
	default:
		msg := "the workflow run " + string(done.Status)
		if done.Error != nil {
			msg += ": " + done.Error.Message
		}
		w.Header().Set("X-Execution-ID", done.ID)
		writeProblem(w, &ErrorModel{Type: ProblemExecutionFailed, Title: "Workflow run " + string(done.Status), Status: http.StatusBadGateway,
			Detail: msg, Instance: "/api/v1/executions/" + done.ID})
	}
}

// readWebhookBody reads a webhook's (or a resume request's) body within the size limit, answering
// the problem itself when it cannot.
func (s *Server) readWebhookBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxWebhookBytes))
	if err == nil {
		return body, true
	}
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		writeProblem(w, newError(http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook body is over the %d-byte limit", s.cfg.MaxWebhookBytes)))
	case errors.As(err, &netErr) && netErr.Timeout():
		writeProblem(w, newError(http.StatusRequestTimeout, "the webhook body did not arrive in time"))
	default:
		writeProblem(w, newError(http.StatusBadRequest, "read webhook body: "+err.Error()))
	}
	return nil, false
}

// webhookProblem answers a webhook request that could not start a run. A request refused by the
// trigger's authentication gets the same 401 whatever the reason (missing header, bad encoding,
// wrong signature), which goes to the log only.
func (s *Server) webhookProblem(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	var authErr *core.AuthError
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(w, newError(http.StatusNotFound, fmt.Sprintf("no active workflow listens on %s /hooks/%s", r.Method, service.NormalizePath(r.PathValue("path")))))
		return
	case errors.Is(err, core.ErrWebhookUnauthorized):
		reason := "unknown"
		if errors.As(err, &authErr) {
			reason = authErr.Reason
		}
		s.logger.InfoContext(ctx, "Webhook request refused", "request_id", RequestID(ctx), "method", r.Method,
			"webhook_path", excerpt(service.NormalizePath(r.PathValue("path")), MaxWebhookPathBytes), "reason", reason)
		writeProblem(w, newError(http.StatusUnauthorized, webhookUnauthorized))
		return
	}
	var se huma.StatusError
	if errors.As(toProblem(ctx, s.logger, err), &se) {
		writeProblem(w, se)
	}
}

// webhookUnauthorized is the detail of every webhook request refused by its trigger's authentication.
const webhookUnauthorized = "this webhook requires authentication: the request does not carry the secret or the signature it expects"

// screenWebhookParams refuses a webhook path or query parameter that holds a NUL character or invalid
// UTF-8, as screenParams does for the API's operations.
func screenWebhookParams(r *http.Request) huma.StatusError {
	if msg := textProblem(r.PathValue("path")); msg != "" {
		return newError(http.StatusUnprocessableEntity, "the webhook path "+msg, &ErrorDetail{Location: "/path/path", Message: msg})
	}
	for k, vs := range r.URL.Query() {
		for _, v := range append([]string{k}, vs...) {
			if msg := textProblem(v); msg != "" {
				return newError(http.StatusUnprocessableEntity, "query parameter "+k+" "+msg, &ErrorDetail{Location: workflow.Pointer("query", k), Message: msg})
			}
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// parseWebhookBody decodes JSON and forms; any other body is kept as text.
func parseWebhookBody(contentType string, body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		var v any
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("webhook body is not valid JSON: %w", err)
		}
		if dec.More() {
			return nil, errors.New("webhook body is not valid JSON: unexpected data after the value")
		}
		return v, nil
	case mt == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("webhook form body is malformed: %w", err)
		}
		return flattenValues(vals), nil
	}
	return string(body), nil
}

func flattenHeader(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}

func flattenValues(v url.Values) map[string]any {
	out := make(map[string]any, len(v))
	for k, vals := range v {
		if len(vals) == 1 {
			out[k] = vals[0]
			continue
		}
		arr := make([]any, len(vals))
		for i, x := range vals {
			arr[i] = x
		}
		out[k] = arr
	}
	return out
}

// responseHeaderDenied lists headers an http.respond node may not set, on top of those its Validate
// refuses: the server's security headers and CORS stay the server's.
func responseHeaderDenied(name string) bool {
	switch strings.ToLower(name) {
	case "content-security-policy", "content-security-policy-report-only", "x-content-type-options", "x-frame-options",
		"strict-transport-security", "referrer-policy", "cross-origin-opener-policy", "cross-origin-resource-policy",
		"cross-origin-embedder-policy", "permissions-policy", "x-execution-id",
		"connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "te", "trailer", "set-cookie", "date":
		return true
	}
	return strings.HasPrefix(strings.ToLower(name), "access-control-")
}

// writeNodeResponse answers a webhook with what an http.respond node decided: a string body as it is
// (text/plain unless the node set a Content-Type), anything else as JSON.
func writeNodeResponse(w http.ResponseWriter, executionID string, resp *node.Response) {
	h := w.Header()
	for name, v := range resp.Headers {
		if responseHeaderDenied(name) || strings.ContainsAny(v, "\r\n\x00") || !validHeaderName(name) {
			continue
		}
		h.Set(name, v)
	}
	h.Set("X-Execution-ID", executionID)
	var body []byte
	if str, ok := resp.Body.(string); ok {
		body = []byte(str)
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
	} else {
		b, err := json.Marshal(resp.Body)
		if err != nil {
			b = []byte("null")
		}
		body = b
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
	}
	status := resp.Status
	if status < 200 || status > 599 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(body) //nolint:gosec // the workflow's answer, under a CSP that runs nothing and with nosniff
}

func validHeaderName(name string) bool {
	if name == "" || len(name) > 100 {
		return false
	}
	for _, c := range name {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !letter && !strings.ContainsRune("!#$%&'*+.^_|~-", c) {
			return false
		}
	}
	return true
}
