package api

import (
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/concertmaster/concertmaster/internal/live"
)

// Live endpoints (docs/live.md): the WebSocket, and Server-Sent Events of an execution (on its
// events resource, chosen by Accept), of a workflow's executions and of every execution.

const liveProtocol = " The protocol is documented in docs/live.md."

func (s *Server) registerLive() {
	oapi := s.api.OpenAPI()
	tags := []string{"Live"}
	busy := &huma.Response{Description: "The server holds its maximum of live clients (CM_LIVE_MAX_CLIENTS) or is shutting down; Retry-After says when to retry",
		Content: problemContent(oapi)}
	eventStream := map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{Type: huma.TypeString,
		Description: "Server-Sent Events: `retry: 2000` first, then per event `id`, `event` (the event type) and `data` (the event message " +
			"as JSON); `: heartbeat` comments every 15 s; `event: resync` when the client fell behind (the stream then ends and EventSource resumes)."}}}
	lastEventID := &huma.Param{Name: "Last-Event-ID", In: "header", Description: "The id of the last event received: the stream resumes right after it",
		Schema: &huma.Schema{Type: huma.TypeString, MaxLength: ptr(128)}}
	since := &huma.Param{Name: "since", In: "query", Description: "Replay the execution-level events at or after this time first; without it the stream starts live",
		Schema: &huma.Schema{Type: huma.TypeString, Format: "date-time"}}

	// broadResponses are the answers of the workflow and all-executions streams, with extra ones.
	broadResponses := func(extra map[string]*huma.Response) map[string]*huma.Response {
		r := map[string]*huma.Response{
			"200": {Description: "The stream", Content: eventStream},
			"400": {Description: "since or Last-Event-ID is malformed", Content: problemContent(oapi)},
			"503": busy,
		}
		maps.Copy(r, extra)
		return r
	}

	s.mux.HandleFunc("GET /api/v1/ws", s.serveWebSocket)
	oapi.AddOperation(&huma.Operation{
		OperationID: "live-websocket", Method: http.MethodGet, Path: "/api/v1/ws", Tags: tags,
		Summary: "Open the live WebSocket",
		Description: "Upgrades to a WebSocket carrying JSON messages: subscribe to one execution (every event, replayed from afterSeq or since, " +
			"then live), to one workflow's executions or to every execution (execution-level events, live or from since); each event exactly " +
			"once and in order, `resync` when the client falls behind, pings every 20 s." + liveProtocol,
		Responses: map[string]*huma.Response{
			"101": {Description: "Switching protocols: the connection is a WebSocket"},
			"400": {Description: "Not a WebSocket handshake", Content: problemContent(oapi)},
			"403": {Description: "The handshake came from a page of another origin", Content: problemContent(oapi)},
			"503": busy,
		},
	})

	s.mux.HandleFunc("GET /api/v1/workflows/{id}/events", s.protect("stream-workflow-events", s.serveWorkflowEvents))
	oapi.AddOperation(&huma.Operation{
		OperationID: "stream-workflow-events", Method: http.MethodGet, Path: "/api/v1/workflows/{id}/events", Tags: tags,
		Summary:     "Stream a workflow's executions (SSE)",
		Description: "The execution-level events (queued, started, waiting, finished …) of every execution of the workflow, as Server-Sent Events." + liveProtocol,
		Parameters: []*huma.Param{{Name: "id", In: "path", Required: true, Description: "Workflow id", Schema: &huma.Schema{Type: huma.TypeString, MaxLength: ptr(64)}},
			since, lastEventID},
		Responses: broadResponses(map[string]*huma.Response{
			"404": {Description: "No such workflow", Content: problemContent(oapi)},
			"422": {Description: "The id holds a NUL character or invalid UTF-8, or is over 64 bytes", Content: problemContent(oapi)},
		}),
	})

	s.mux.HandleFunc("GET /api/v1/events", s.protect("stream-events", s.serveAllEvents))
	oapi.AddOperation(&huma.Operation{
		OperationID: "stream-events", Method: http.MethodGet, Path: "/api/v1/events", Tags: tags,
		Summary:     "Stream every execution (SSE)",
		Description: "The execution-level events of every execution, as Server-Sent Events." + liveProtocol,
		Parameters:  []*huma.Param{since, lastEventID},
		Responses:   broadResponses(nil),
	})

	// The execution's event log answers as a stream to Accept: text/event-stream.
	op := oapi.Paths["/api/v1/executions/{id}/events"].Get
	op.Description += " With Accept: text/event-stream it streams instead, as Server-Sent Events whose id is the sequence number: the log " +
		"after Last-Event-ID (or after), then live, ending after execution.finished; once the client has every event of a finished " +
		"execution it answers 204." + liveProtocol
	op.Parameters = append(op.Parameters, lastEventID)
	op.Responses["200"].Content["text/event-stream"] = eventStream["text/event-stream"]
	op.Responses["204"] = &huma.Response{Description: "The execution has finished and the client has all its events (Last-Event-ID): EventSource stops"}
	op.Responses["503"] = busy
}

// streamExecutionEvents is the middleware that answers list-execution-events with a stream when the
// client accepts text/event-stream. (huma applies a middleware to the operations registered after it.)
func (s *Server) streamExecutionEvents(ctx huma.Context, next func(huma.Context)) {
	if ctx.Operation().OperationID != "list-execution-events" || !acceptsEventStream(ctx.Header("Accept")) {
		next(ctx)
		return
	}
	r, w := humago.Unwrap(ctx)
	s.serveExecutionEvents(w, r.WithContext(ctx.Context()))
}

// acceptsEventStream reports whether an Accept header asks for Server-Sent Events.
func acceptsEventStream(accept string) bool {
	return strings.Contains(strings.ToLower(accept), "text/event-stream")
}

func (s *Server) liveOff(w http.ResponseWriter) bool {
	if s.cfg.Live == nil {
		writeProblem(w, newError(http.StatusServiceUnavailable, "live updates are not enabled on this server"))
		return true
	}
	return false
}

func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if s.liveOff(w) {
		return
	}
	if r.Header.Get("Authorization") == "" {
		s.cfg.Live.ServeWS(w, r, nil, s.wsAuthenticator)
		return
	}
	p, err := s.check(r, "live-websocket")
	if err != nil {
		s.writeAuthError(w, r, err)
		return
	}
	s.cfg.Live.ServeWS(w, r, &live.Access{TenantID: p.TenantID, ExpiresAt: p.ExpiresAt}, nil)
}

func (s *Server) serveExecutionEvents(w http.ResponseWriter, r *http.Request) {
	if s.liveOff(w) {
		return
	}
	spec := live.Spec{ExecutionID: r.PathValue("id")}
	for _, v := range []struct{ name, value string }{{"after", r.URL.Query().Get("after")}, {"Last-Event-ID", r.Header.Get("Last-Event-ID")}} {
		if v.value == "" {
			continue
		}
		n, err := strconv.ParseInt(v.value, 10, 64)
		if err != nil || n < 0 {
			writeProblem(w, newError(http.StatusBadRequest, v.name+" must be a sequence number (0 or more) of this execution's events"))
			return
		}
		spec.AfterSeq = max(spec.AfterSeq, n)
	}
	s.cfg.Live.ServeSSE(w, r, tenant(r.Context()), spec)
}

func (s *Server) serveWorkflowEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if msg := textProblem(id); msg != "" || len(id) > 64 {
		if msg == "" {
			msg = "must be at most 64 bytes"
		}
		writeProblem(w, newError(http.StatusUnprocessableEntity, "path parameter id "+msg))
		return
	}
	s.serveBroad(w, r, id)
}

func (s *Server) serveAllEvents(w http.ResponseWriter, r *http.Request) { s.serveBroad(w, r, "") }

// serveBroad streams the execution-level events of a workflow's executions, or of every one.
func (s *Server) serveBroad(w http.ResponseWriter, r *http.Request, workflowID string) {
	if s.liveOff(w) {
		return
	}
	spec := live.Spec{WorkflowID: workflowID}
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeProblem(w, newError(http.StatusBadRequest, "since must be a time such as 2026-11-30T21:00:00Z (RFC 3339)"))
			return
		}
		spec.Since = &t
	}
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		c, err := live.ParseCursor(v)
		if err != nil {
			writeProblem(w, newError(http.StatusBadRequest, "Last-Event-ID is "+err.Error()+": send the id of the last event this stream sent"))
			return
		}
		spec.After, spec.Since = c, nil
	}
	s.cfg.Live.ServeSSE(w, r, tenant(r.Context()), spec)
}
