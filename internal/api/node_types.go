package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/node"
)

type listNodeTypesInput struct {
	ConditionalRead
}

type listNodeTypesOutput struct {
	Status       int
	ETag         string `header:"ETag" doc:"The catalogue's entity tag, for If-None-Match: it changes when a type is registered, removed or changed"`
	CacheControl string `header:"Cache-Control" doc:"private, no-cache: a copy may be kept but is revalidated every time"`
	Body         struct {
		Items []NodeType `json:"items"`
	}
}

type getNodeTypeInput struct {
	Type string `path:"type" doc:"Node type name, e.g. http.request" maxLength:"128"`
	ConditionalRead
}

type getNodeTypeOutput struct {
	Status       int
	ETag         string `header:"ETag" doc:"The type's entity tag, for If-None-Match"`
	CacheControl string `header:"Cache-Control" doc:"private, no-cache: a copy may be kept but is revalidated every time"`
	Body         NodeType
}

func (s *Server) registerNodeTypes() {
	huma.Register(s.api, cacheable(huma.Operation{
		OperationID: "list-node-types", Method: http.MethodGet, Path: "/api/v1/node-types",
		Summary: "List node types", Description: "Every registered node type with its ports, its configuration JSON Schema and its documentation (Markdown). " +
			"Answers an ETag, and 304 to a matching If-None-Match.", Tags: []string{"Node types"},
	}), func(ctx context.Context, in *listNodeTypesInput) (*listNodeTypesOutput, error) {
		types := s.svc.Registry().List()
		out := &listNodeTypesOutput{Status: http.StatusOK, ETag: s.nodeTypeTags.listETag(types), CacheControl: cacheRevalidate}
		if in.notModified(out.ETag) {
			out.Status = http.StatusNotModified
			return out, nil
		}
		out.Body.Items = make([]NodeType, 0, len(types))
		for _, t := range types {
			out.Body.Items = append(out.Body.Items, toNodeType(t))
		}
		return out, nil
	})
	huma.Register(s.api, cacheable(huma.Operation{
		OperationID: "get-node-type", Method: http.MethodGet, Path: "/api/v1/node-types/{type}",
		Summary: "Describe a node type", Description: "One node type with its ports, its configuration JSON Schema and its documentation (Markdown). " +
			"Answers an ETag, and 304 to a matching If-None-Match.", Tags: []string{"Node types"}, Errors: []int{http.StatusNotFound},
	}), func(ctx context.Context, in *getNodeTypeInput) (*getNodeTypeOutput, error) {
		t, ok := s.svc.Registry().Lookup(node.TypeName(in.Type))
		if !ok {
			return nil, newError(http.StatusNotFound, fmt.Sprintf("node type %q is not registered", in.Type))
		}
		out := &getNodeTypeOutput{Status: http.StatusOK, ETag: s.nodeTypeTags.etag(t), CacheControl: cacheRevalidate}
		if in.notModified(out.ETag) {
			out.Status = http.StatusNotModified
			return out, nil
		}
		out.Body = toNodeType(t)
		return out, nil
	})
}
