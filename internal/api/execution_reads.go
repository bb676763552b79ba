package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/store"
)

// Reads of big executions (ADR 0008): node runs page by page, and every stored value whole from an
// endpoint of its own that writes the stored JSON as it is.

type listNodeRunsInput struct {
	ID     string `path:"id" maxLength:"64" doc:"Execution id"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor string `query:"cursor" maxLength:"512" doc:"nextCursor of the previous page, or nodeRunsNextCursor of the execution"`
}

type listNodeRunsOutput struct {
	Body struct {
		Items      []NodeRun `json:"items"`
		NextCursor string    `json:"nextCursor,omitempty"`
	}
}

type nodeRunValueInput struct {
	ID      string `path:"id" maxLength:"64" doc:"Execution id"`
	NodeID  string `path:"nodeId" maxLength:"64" doc:"Node id"`
	Attempt int    `path:"attempt" minimum:"1" maximum:"1000000" doc:"Attempt number, from 1"`
}

// valueChunk bounds each write of a value, so that the string the store returned is written without
// converting it to bytes whole.
const valueChunk = 64 << 10

// streamValue answers with one stored JSON value, written as stored.
func (s *Server) streamValue(ctx context.Context, ref store.ValueRef) (*huma.StreamResponse, error) {
	v, err := s.svc.Store().GetValue(ctx, tenant(ctx), ref)
	if err != nil {
		return nil, toProblem(ctx, s.logger, err)
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		hc.SetHeader("Content-Type", "application/json")
		hc.SetHeader("Content-Length", strconv.Itoa(len(v)))
		hc.SetStatus(http.StatusOK)
		w := hc.BodyWriter()
		for rest := v; len(rest) > 0; {
			n := min(len(rest), valueChunk)
			if _, err := w.Write([]byte(rest[:n])); err != nil {
				return // the client went away; nothing left to tell it
			}
			rest = rest[n:]
		}
	}}, nil
}

// valueResponses documents a value endpoint's answer: any JSON value, with its length.
func valueResponses(what string) map[string]*huma.Response {
	return map[string]*huma.Response{
		"200": {
			Description: what + ", as stored",
			Headers: map[string]*huma.Param{
				"Content-Length": {Description: "Size of the value's JSON text in bytes", Schema: &huma.Schema{Type: huma.TypeInteger}},
			},
			Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{Description: "Any JSON value"}}},
		},
	}
}

func (s *Server) registerExecutionReads(tags []string) {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-execution-node-runs", Method: http.MethodGet, Path: "/api/v1/executions/{id}/node-runs",
		Summary: "List an execution's node runs", Description: "Every attempt of every node, by node id and attempt, paged by cursor. " +
			"Inputs and outputs over 4 KiB come as previews, errors and logs over 8 KiB without their details: the value endpoints return them whole.",
		Tags: tags, Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *listNodeRunsInput) (*listNodeRunsOutput, error) {
		out, err := s.nodeRuns(ctx, in.ID, in.Limit, in.Cursor)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return out, nil
	})

	for _, field := range []store.ValueField{store.ValueInput, store.ValueOutput} {
		huma.Register(s.api, huma.Operation{
			OperationID: "get-execution-" + string(field), Method: http.MethodGet, Path: "/api/v1/executions/{id}/" + string(field),
			Summary: "Get an execution's whole " + string(field), Description: "The execution's " + string(field) + " as stored, however large, " +
				"for when the execution read sent only a preview. 404 when the execution has no " + string(field) + " (yet).",
			Tags: tags, Errors: []int{http.StatusNotFound}, Responses: valueResponses("The execution's " + string(field)),
		}, func(ctx context.Context, in *executionIDInput) (*huma.StreamResponse, error) {
			return s.streamValue(ctx, store.ValueRef{ExecutionID: in.ID, Field: field})
		})
	}

	descriptions := map[store.ValueField]string{
		store.ValueInput:  "The attempt's input (an input kept as a reference to another node's output is that output)",
		store.ValueOutput: "The attempt's output",
		store.ValueLogs:   "The attempt's log entries, an array of {time, level, message, attrs}",
		store.ValueError:  "The attempt's error, {message, code, details}",
	}
	for _, field := range []store.ValueField{store.ValueInput, store.ValueOutput, store.ValueLogs, store.ValueError} {
		huma.Register(s.api, huma.Operation{
			OperationID: "get-node-run-" + string(field), Method: http.MethodGet,
			Path:        "/api/v1/executions/{id}/node-runs/{nodeId}/attempts/{attempt}/" + string(field),
			Summary:     "Get a node run's whole " + string(field),
			Description: descriptions[field] + ", written as stored however large. 404 when the attempt does not exist or has no " + string(field) + ".",
			Tags:        tags, Errors: []int{http.StatusNotFound}, Responses: valueResponses(descriptions[field]),
		}, func(ctx context.Context, in *nodeRunValueInput) (*huma.StreamResponse, error) {
			return s.streamValue(ctx, store.ValueRef{ExecutionID: in.ID, NodeID: in.NodeID, Attempt: in.Attempt, Field: field})
		})
	}
}
