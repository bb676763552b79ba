package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync"

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
	ContentType  string `header:"Content-Type" doc:"application/json"`
	// Body is the encoded ListNodeTypesOutputBody, kept per catalogue (nodeTypeList): the catalogue
	// is some 300 kB of JSON that would otherwise be encoded again for every request.
	Body []byte
}

// ListNodeTypesOutputBody is the catalogue of node types.
type ListNodeTypesOutputBody struct {
	Items []NodeType `json:"items"`
}

// nodeTypeList keeps the encoded catalogue of the last ETag asked for.
type nodeTypeList struct {
	mu   sync.Mutex
	etag string
	body []byte
}

// encoded returns the catalogue types encoded, from the copy kept for etag when there is one.
func (c *nodeTypeList) encoded(etag string, types []*node.Type) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.etag == etag && c.body != nil {
		return c.body, nil
	}
	list := ListNodeTypesOutputBody{Items: make([]NodeType, 0, len(types))}
	for _, t := range types {
		list.Items = append(list.Items, toNodeType(t))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(list); err != nil {
		return nil, fmt.Errorf("encode node types: %w", err)
	}
	c.etag, c.body = etag, buf.Bytes()
	return c.body, nil
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
	// The body is written as encoded bytes: its schema is declared here, as huma would have derived it.
	listSchema := s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[ListNodeTypesOutputBody](), true, "")
	huma.Register(s.api, cacheable(huma.Operation{
		OperationID: "list-node-types", Method: http.MethodGet, Path: "/api/v1/node-types",
		Summary: "List node types", Description: "Every registered node type with its ports, its configuration JSON Schema and its documentation (Markdown). " +
			"Answers an ETag, and 304 to a matching If-None-Match.", Tags: []string{"Node types"},
		Responses: map[string]*huma.Response{"200": {Content: map[string]*huma.MediaType{"application/json": {Schema: listSchema}}}},
	}), func(ctx context.Context, in *listNodeTypesInput) (*listNodeTypesOutput, error) {
		types := s.svc.Registry().List()
		out := &listNodeTypesOutput{Status: http.StatusOK, ETag: s.nodeTypeTags.listETag(types), CacheControl: cacheRevalidate}
		if in.notModified(out.ETag) {
			out.Status = http.StatusNotModified
			return out, nil
		}
		body, err := s.nodeTypeList.encoded(out.ETag, types)
		if err != nil {
			return nil, err
		}
		out.ContentType, out.Body = "application/json", body
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
