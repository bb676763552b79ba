package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/node"
)

type listNodeTypesOutput struct {
	Body struct {
		Items []NodeType `json:"items"`
	}
}

type getNodeTypeInput struct {
	Type string `path:"type" doc:"Node type name, e.g. http.request" maxLength:"128"`
}

type getNodeTypeOutput struct {
	Body NodeType
}

func (s *Server) registerNodeTypes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-node-types", Method: http.MethodGet, Path: "/api/v1/node-types",
		Summary: "List node types", Description: "Every registered node type with its ports, its configuration JSON Schema and its documentation (Markdown).", Tags: []string{"Node types"},
	}, func(ctx context.Context, _ *struct{}) (*listNodeTypesOutput, error) {
		out := &listNodeTypesOutput{}
		out.Body.Items = []NodeType{}
		for _, t := range s.svc.Registry().List() {
			out.Body.Items = append(out.Body.Items, toNodeType(t))
		}
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-node-type", Method: http.MethodGet, Path: "/api/v1/node-types/{type}",
		Summary: "Describe a node type", Description: "One node type with its ports, its configuration JSON Schema and its documentation (Markdown).", Tags: []string{"Node types"}, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *getNodeTypeInput) (*getNodeTypeOutput, error) {
		t, ok := s.svc.Registry().Lookup(node.TypeName(in.Type))
		if !ok {
			return nil, newError(http.StatusNotFound, fmt.Sprintf("node type %q is not registered", in.Type))
		}
		return &getNodeTypeOutput{Body: toNodeType(t)}, nil
	})
}
