package httpnode

import (
	"bytes"
	"context"
	_ "embed" // docs, in graphql.md
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/concertmaster/concertmaster/internal/node"
)

// GraphQLTypeName is the graphql.request type's name.
const GraphQLTypeName node.TypeName = "graphql.request"

//go:embed graphql.md
var graphqlDocs string

// Codes of graphql.request failures beyond http.request's.
const (
	// CodeGraphQLErrors is a response with errors while failOnErrors is on; Details hold data and
	// errors.
	CodeGraphQLErrors = "graphql_errors"
	// CodeInvalidResponse is a response that is not a GraphQL response (no data and no errors).
	CodeInvalidResponse = "invalid_response"
	// CodeOutputTooLarge is a response larger than the attempt's output limit.
	CodeOutputTooLarge = "output_too_large"
)

// GraphQL is a graphql.request node: it posts one GraphQL operation and emits the response's data and
// errors.
type GraphQL struct {
	// URL is the GraphQL endpoint, an absolute http or https URL.
	URL string `json:"url"`
	// Query is the GraphQL document.
	Query string `json:"query"`
	// Variables are the operation's variables.
	Variables map[string]any `json:"variables,omitempty"`
	// OperationName picks an operation when the document holds several.
	OperationName string `json:"operationName,omitempty"`
	// Headers are extra request headers.
	Headers map[string]string `json:"headers,omitempty"`
	// Credential is the id of an HTTP credential (as for http.request); empty means none.
	Credential string `json:"credential,omitempty"`
	// Timeout bounds the whole request, as a Go duration; empty means the deployment's default.
	Timeout string `json:"timeout,omitempty"`
	// FailOnErrors fails the node when the response has errors; nil means true.
	FailOnErrors *bool `json:"failOnErrors,omitempty"`
	// MaxResponseBytes lowers the deployment's response size limit.
	MaxResponseBytes int64 `json:"maxResponseBytes,omitempty"`

	shared *shared
}

// NodeInfo describes the graphql.request type.
func (g *GraphQL) NodeInfo() node.Info {
	s := g.shared
	var schema json.RawMessage
	if s != nil {
		schema = s.graphqlSchema
	}
	return node.Info{
		Type:        GraphQLTypeName,
		Version:     1,
		Title:       "GraphQL request",
		Category:    "HTTP",
		Description: "Sends a GraphQL query or mutation and emits the response's data and errors.",
		Icon:        "waypoints",
		Docs:        graphqlDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: the operation is built from the configuration"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Response", Description: "data and errors"}},
		Schema:      schema,
		New:         func() node.Node { return &GraphQL{shared: s} },
	}
}

// Validate checks the URL, headers, timeout and size limit.
func (g *GraphQL) Validate() error {
	var errs []error
	if _, err := parseURL(g.URL); err != nil && !strings.Contains(g.URL, "{{") {
		errs = append(errs, err)
	}
	if strings.TrimSpace(g.Query) == "" {
		errs = append(errs, errors.New("query is empty"))
	}
	for name, value := range g.Headers {
		if !validHeaderName(name) {
			errs = append(errs, fmt.Errorf("header name %q is not valid", name))
		}
		if !validHeaderValue(value) {
			errs = append(errs, fmt.Errorf("header %q has a value with control characters", name))
		}
	}
	if _, err := parseTimeout(g.Timeout); err != nil && !strings.Contains(g.Timeout, "{{") {
		errs = append(errs, err)
	}
	if g.MaxResponseBytes < 0 {
		errs = append(errs, errors.New("maxResponseBytes must be positive"))
	}
	return errors.Join(errs...)
}

// Execute posts the operation and emits {data, errors}.
func (g *GraphQL) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	s := g.shared
	if s == nil {
		return node.Output{}, node.Permanent(errors.New("graphql.request node was not made by httpnode.All"))
	}
	u, err := parseURL(g.URL)
	if err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: CodeInvalidRequest, Message: err.Error()})
	}
	target := describe(http.MethodPost, u)
	if err := s.policy.CheckURL(u); err != nil {
		return node.Output{}, blockedError(target, err)
	}
	payload := map[string]any{"query": g.Query}
	if len(g.Variables) > 0 {
		payload["variables"] = g.Variables
	}
	if g.OperationName != "" {
		payload["operationName"] = g.OperationName
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(payload); err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: CodeInvalidRequest, Message: "encode variables as JSON: " + err.Error()})
	}
	body := buf.Bytes()
	timeout, err := parseTimeout(g.Timeout)
	if err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: CodeInvalidRequest, Message: err.Error()})
	}
	if timeout == 0 {
		timeout = s.defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var creds node.Credentials
	var maxOutput int64
	if in != nil {
		creds, maxOutput = in.Credentials, in.Limits.MaxOutputBytes
	}
	resp, err := s.send(ctx, creds, g.Credential, g.Headers, target, timeout, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
		if err != nil {
			return nil, node.Permanent(&node.Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("%s: %v", target, err)})
		}
		for name, value := range g.Headers {
			if strings.EqualFold(name, "Host") {
				req.Host = value
				continue
			}
			req.Header.Set(name, value)
		}
		if req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "application/graphql-response+json, application/json")
		}
		return req, nil
	})
	if err != nil {
		return node.Output{}, err
	}
	defer func() { _ = resp.Body.Close() }()

	target = describe(http.MethodPost, resp.Request.URL)
	limit := s.maxResponseBytes
	if g.MaxResponseBytes > 0 && g.MaxResponseBytes < limit {
		limit = g.MaxResponseBytes
	}
	if resp.ContentLength > limit {
		return node.Output{}, tooLargeError(target, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return node.Output{}, transportError(target, timeout, err)
	}
	if int64(len(data)) > limit {
		return node.Output{}, tooLargeError(target, limit)
	}
	if maxOutput > 0 && int64(len(data)) > maxOutput {
		return node.Output{}, node.Permanent(node.Errorf(CodeOutputTooLarge,
			"%s: the response (%d bytes) is larger than the output limit of %d bytes", target, len(data), maxOutput))
	}
	return graphqlOutput(target, resp, data, g.FailOnErrors == nil || *g.FailOnErrors)
}

// graphqlOutput reads a GraphQL response (GraphQL over HTTP: a JSON object with data, errors or
// both, also on 4xx answers).
func graphqlOutput(target string, resp *http.Response, data []byte, failOnErrors bool) (node.Output, error) {
	var gr map[string]any
	isGraphQL := json.Unmarshal(data, &gr) == nil && gr != nil
	if isGraphQL {
		_, hasData := gr["data"]
		_, hasErrors := gr["errors"]
		isGraphQL = hasData || hasErrors
	}
	status := statusText(resp)
	if !isGraphQL {
		if resp.StatusCode >= http.StatusBadRequest {
			e := &node.Error{
				Code:    CodeHTTPStatus,
				Message: fmt.Sprintf("%s answered %d %s", target, resp.StatusCode, status),
				Details: map[string]any{"status": resp.StatusCode, "body": decodeText(data, resp.Header.Get("Content-Type"))},
			}
			if retryableStatus(resp.StatusCode) {
				return node.Output{}, e
			}
			return node.Output{}, node.Permanent(e)
		}
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidResponse,
			"%s answered %d %s with a body that is not a GraphQL response (a JSON object with data or errors)", target, resp.StatusCode, status))
	}
	errs, _ := gr["errors"].([]any)
	if errs == nil {
		errs = []any{}
	}
	out := map[string]any{"data": gr["data"], "errors": errs}
	if ext, ok := gr["extensions"]; ok {
		out["extensions"] = ext
	}
	if len(errs) > 0 && failOnErrors {
		msg := fmt.Sprintf("%s answered with %d GraphQL error", target, len(errs))
		if len(errs) > 1 {
			msg += "s"
		}
		if first, ok := errs[0].(map[string]any); ok {
			if m, ok := first["message"].(string); ok {
				msg += ": " + m
			}
		}
		e := &node.Error{Code: CodeGraphQLErrors, Message: msg, Details: out}
		if resp.StatusCode >= http.StatusBadRequest && retryableStatus(resp.StatusCode) {
			return node.Output{}, e
		}
		return node.Output{}, node.Permanent(e)
	}
	if len(errs) == 0 && resp.StatusCode >= http.StatusBadRequest {
		e := &node.Error{Code: CodeHTTPStatus, Message: fmt.Sprintf("%s answered %d %s", target, resp.StatusCode, status), Details: out}
		if retryableStatus(resp.StatusCode) {
			return node.Output{}, e
		}
		return node.Output{}, node.Permanent(e)
	}
	return node.Out(out), nil
}

var (
	_ node.Node      = (*GraphQL)(nil)
	_ node.Validator = (*GraphQL)(nil)
)
