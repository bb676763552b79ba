package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

type healthOutput struct {
	Body struct {
		Status  string `json:"status" example:"ok"`
		Version string `json:"version,omitempty"`
	}
}

func (s *Server) registerHealth() {
	tags := []string{"Operations"}
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz",
		Summary: "Liveness", Description: "Answers 200 while the process serves requests.", Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Status, out.Body.Version = "ok", s.cfg.Version
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz",
		Summary: "Readiness", Description: "Answers 200 when the store answers and the workers run, 503 otherwise.", Tags: tags,
		Errors: []int{http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		if s.cfg.Ready != nil {
			if err := s.cfg.Ready.Ready(ctx); err != nil {
				return nil, newError(http.StatusServiceUnavailable, "not ready: "+err.Error())
			}
		}
		out := &healthOutput{}
		out.Body.Status, out.Body.Version = "ready", s.cfg.Version
		return out, nil
	})
	s.api.OpenAPI().AddOperation(&huma.Operation{
		OperationID: "metrics", Method: http.MethodGet, Path: "/metrics", Tags: tags,
		Summary:     "Prometheus metrics",
		Description: "Metrics in the Prometheus text format: HTTP requests, executions, node runs, queue depth and live subscriptions.",
		Responses: map[string]*huma.Response{"200": {Description: "Metrics", Content: map[string]*huma.MediaType{
			"text/plain": {Schema: &huma.Schema{Type: huma.TypeString}},
		}}},
	})
}
