package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
)

// resumePath is the route of resume URLs (service.ResumeURL builds them).
const resumePath = "/resume/{tenantId}/{executionId}/{token}"

func (s *Server) registerResume() {
	oapi := s.api.OpenAPI()
	text := &huma.Schema{Type: huma.TypeString, MinLength: ptr(1), MaxLength: ptr(128)}
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		s.mux.HandleFunc(m+" "+resumePath, s.serveResume)
		op := &huma.Operation{
			OperationID: "resume-" + strings.ToLower(m), Method: m, Path: resumePath, Tags: []string{"Webhooks"},
			Summary: m + " resume URL",
			Description: "Resumes the flow.wait nodes in webhook mode that wait in this execution: each outputs {method, headers, query, " +
				"body, receivedAt} (credential headers stored as \"[redacted]\") and the run goes on at once. Workflows read the URL as " +
				"{{ execution.resumeUrl }}; its token is an HMAC of the workspace and execution under the server's secret, so it needs no " +
				"login. A JSON body is parsed, a form body becomes an object, anything else a string.",
			Parameters: []*huma.Param{
				{Name: "tenantId", In: "path", Required: true, Schema: text},
				{Name: "executionId", In: "path", Required: true, Schema: text},
				{Name: "token", In: "path", Required: true, Schema: text},
			},
			Responses: map[string]*huma.Response{
				"200": {Description: "Delivered: the nodes that resume", Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{
					Type: huma.TypeObject, Required: []string{"executionId", "resumed"}, AdditionalProperties: false,
					Properties: map[string]*huma.Schema{
						"executionId": {Type: huma.TypeString},
						"resumed":     {Type: huma.TypeArray, Items: &huma.Schema{Type: huma.TypeString}, Description: "Ids of the nodes that resume"},
					}}}}},
				"400": {Description: "The body does not parse as its Content-Type says (JSON or form)", Content: problemContent(oapi)},
				"404": {Description: "No such resume URL (unknown execution, or a token that does not match)", Content: problemContent(oapi)},
				"409": {Description: "No webhook-mode wait of this execution is waiting now (not reached yet, already resumed, or the execution finished)",
					Content: problemContent(oapi)},
				"413": {Description: "The body is over the webhook size limit", Content: problemContent(oapi)},
				"422": {Description: "A query parameter holds a NUL character or invalid UTF-8", Content: problemContent(oapi)},
			},
		}
		if m == http.MethodPost {
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

func (s *Server) serveResume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := screenWebhookParams(r); err != nil {
		writeProblem(w, err)
		return
	}
	for _, p := range []string{"tenantId", "executionId", "token"} {
		if v := r.PathValue(p); textProblem(v) != "" || len(v) > 128 {
			writeProblem(w, newError(http.StatusNotFound, "no such resume URL"))
			return
		}
	}
	body, ok := s.readWebhookBody(w, r)
	if !ok {
		return
	}
	parsed, err := parseWebhookBody(r.Header.Get("Content-Type"), body)
	if err != nil {
		writeProblem(w, newError(http.StatusBadRequest, err.Error()))
		return
	}
	exec, resumed, err := s.svc.Resume(ctx, service.ResumeRequest{
		TenantID: r.PathValue("tenantId"), ExecutionID: r.PathValue("executionId"), Token: r.PathValue("token"),
		Method: r.Method, Headers: flattenHeader(r.Header), Query: flattenValues(r.URL.Query()), Body: parsed,
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(w, newError(http.StatusNotFound, "no such resume URL"))
		return
	case errors.Is(err, service.ErrNotWaiting):
		writeProblem(w, newError(http.StatusConflict, err.Error()))
		return
	case err != nil:
		var se huma.StatusError
		if errors.As(toProblem(ctx, s.logger, err), &se) {
			writeProblem(w, se)
		}
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"executionId": exec.ID, "resumed": resumed})
}
