package httpnode

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

// graphqlHandler is a tiny GraphQL server: the operation name picks the answer, and "echo" returns
// what the request held.
func graphqlHandler(t *testing.T) http.Handler {
	t.Helper()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Query         string         `json:"query"`
			Variables     map[string]any `json:"variables"`
			OperationName string         `json:"operationName"`
		}
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || json.Unmarshal(body, &req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/graphql-response+json")
		switch req.OperationName {
		case "Echo":
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
				"query": req.Query, "variables": req.Variables, "authorization": r.Header.Get("Authorization"),
				"contentType": r.Header.Get("Content-Type"), "accept": r.Header.Get("Accept"),
			}})
		case "Partial":
			_, _ = io.WriteString(w, `{"data":{"a":1,"b":null},"errors":[{"message":"b failed","path":["b"]},{"message":"again"}]}`)
		case "Invalid":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"errors":[{"message":"Cannot query field \"nope\" on type \"Query\"."}]}`)
		case "Gateway":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html>bad gateway</html>")
		case "NotGraphQL":
			_, _ = io.WriteString(w, `{"hello":"world"}`)
		case "Big":
			_, _ = io.WriteString(w, `{"data":{"s":"`+strings.Repeat("x", 4096)+`"}}`)
		default:
			_, _ = io.WriteString(w, `{"data":null,"errors":[{"message":"unknown operation"}]}`)
		}
	})
}

type graphqlBundle struct {
	srv   *httptest.Server
	typ   *node.Type
	creds *conntest.Credentials
}

func setupGraphQL(t *testing.T, cfg Config) *graphqlBundle {
	t.Helper()
	srv := httptest.NewServer(graphqlHandler(t))
	t.Cleanup(srv.Close)
	reg := node.NewRegistry()
	for _, n := range All(cfg) {
		require.NoError(t, reg.Register(n))
	}
	typ, ok := reg.Lookup(GraphQLTypeName)
	require.True(t, ok)
	return &graphqlBundle{srv: srv, typ: typ, creds: conntest.NewCredentials()}
}

func (b *graphqlBundle) run(t *testing.T, config map[string]any) (node.Output, error) {
	t.Helper()
	if _, ok := config["url"]; !ok {
		config["url"] = b.srv.URL + "/graphql"
	}
	if _, ok := config["query"]; !ok {
		config["query"] = "query Q { a }"
	}
	require.Empty(t, b.typ.ValidateConfig(config, false))
	n, err := b.typ.Instantiate(config, false)
	require.NoError(t, err)
	in := conntest.Input(b.creds, nil)
	in.Limits.MaxOutputBytes = 2048
	return n.Execute(t.Context(), in)
}

func TestGraphQL(t *testing.T) {
	t.Parallel()

	t.Run("BigResponse", func(t *testing.T) {
		t.Parallel()
		b := setupGraphQL(t, Config{Policy: loopbackPolicy()})
		_, err := b.run(t, map[string]any{"operationName": "Big"})
		_ = requireNodeError(t, err, CodeOutputTooLarge, true)
		_, err = b.run(t, map[string]any{"operationName": "Big", "maxResponseBytes": 1000})
		_ = requireNodeError(t, err, CodeResponseTooLarge, true)
	})

	t.Run("Credential", func(t *testing.T) {
		t.Parallel()
		b := setupGraphQL(t, Config{Policy: loopbackPolicy()})
		id := b.creds.Add(t, "httpBearer", map[string]any{"token": "gql-token"})
		out, err := b.run(t, map[string]any{"operationName": "Echo", "credential": id})
		require.NoError(t, err)
		require.Equal(t, "Bearer gql-token", out.Value.(map[string]any)["data"].(map[string]any)["authorization"])

		_, err = b.run(t, map[string]any{"operationName": "Echo", "credential": id, "headers": map[string]any{"Authorization": "x"}})
		_ = requireNodeError(t, err, CodeInvalidConfig, true)
	})

	t.Run("Errors", func(t *testing.T) {
		t.Parallel()
		b := setupGraphQL(t, Config{Policy: loopbackPolicy()})
		_, err := b.run(t, map[string]any{"operationName": "Partial"})
		ne := requireNodeError(t, err, CodeGraphQLErrors, true)
		require.Equal(t, "POST "+b.srv.URL+"/graphql answered with 2 GraphQL errors: b failed", ne.Message)
		details := ne.Details.(map[string]any)
		require.Equal(t, map[string]any{"a": 1.0, "b": nil}, details["data"])
		require.Len(t, details["errors"], 2)
	})

	t.Run("ErrorsNotFailing", func(t *testing.T) {
		t.Parallel()
		b := setupGraphQL(t, Config{Policy: loopbackPolicy()})
		out, err := b.run(t, map[string]any{"operationName": "Partial", "failOnErrors": false})
		require.NoError(t, err)
		v := out.Value.(map[string]any)
		require.Equal(t, map[string]any{"a": 1.0, "b": nil}, v["data"])
		require.Len(t, v["errors"], 2)
	})

	t.Run("HTTPStatusWithErrors", func(t *testing.T) {
		t.Parallel()
		b := setupGraphQL(t, Config{Policy: loopbackPolicy()})
		_, err := b.run(t, map[string]any{"operationName": "Invalid"})
		ne := requireNodeError(t, err, CodeGraphQLErrors, true)
		require.Contains(t, ne.Message, `Cannot query field "nope"`)
	})

	t.Run("HTTPStatusWithoutGraphQL", func(t *testing.T) {
		t.Parallel()
		b := setupGraphQL(t, Config{Policy: loopbackPolicy()})
		_, err := b.run(t, map[string]any{"operationName": "Gateway"})
		ne := requireNodeError(t, err, CodeHTTPStatus, false)
		require.Equal(t, "<html>bad gateway</html>", ne.Details.(map[string]any)["body"])
	})

	t.Run("NotGraphQL", func(t *testing.T) {
		t.Parallel()
		b := setupGraphQL(t, Config{Policy: loopbackPolicy()})
		_, err := b.run(t, map[string]any{"operationName": "NotGraphQL"})
		_ = requireNodeError(t, err, CodeInvalidResponse, true)
	})

	t.Run("Request", func(t *testing.T) {
		t.Parallel()
		b := setupGraphQL(t, Config{Policy: loopbackPolicy()})
		query := "query Echo($id: ID!) { order(id: $id) { id } }"
		out, err := b.run(t, map[string]any{"operationName": "Echo", "query": query, "variables": map[string]any{"id": "o-1\"}"}})
		require.NoError(t, err)
		v := out.Value.(map[string]any)
		require.Equal(t, []any{}, v["errors"])
		require.NotContains(t, v, "extensions")
		require.Equal(t, map[string]any{
			"query": query, "variables": map[string]any{"id": "o-1\"}"}, "authorization": "",
			"contentType": "application/json", "accept": "application/graphql-response+json, application/json",
		}, v["data"])
	})

	t.Run("SSRFBlocked", func(t *testing.T) {
		t.Parallel()
		// The default policy (conntest.StrictConfig's) refuses the loopback server.
		b := setupGraphQL(t, Config{Policy: conntest.StrictConfig().Policy})
		_, err := b.run(t, map[string]any{"operationName": "Echo"})
		_ = requireNodeError(t, err, CodeSSRFBlocked, true)
	})
}

func TestGraphQLValidate(t *testing.T) {
	t.Parallel()

	b := setupGraphQL(t, Config{})
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{name: "BadHeader", config: map[string]any{"url": "https://x", "query": "{a}", "headers": map[string]any{"a b": "c"}}, want: "header name"},
		{name: "BadTimeout", config: map[string]any{"url": "https://x", "query": "{a}", "timeout": "soon"}, want: "timeout"},
		{name: "BadURL", config: map[string]any{"url": "ftp://x", "query": "{a}"}, want: "url must start with"},
		{name: "BlankQuery", config: map[string]any{"url": "https://x", "query": "  "}, want: "query is empty"},
		{name: "NoQuery", config: map[string]any{"url": "https://x"}, want: "query"},
		{name: "UnknownField", config: map[string]any{"url": "https://x", "query": "{a}", "mutation": "x"}, want: "mutation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := b.typ.ValidateConfig(tt.config, false)
			if len(problems) == 0 {
				n, err := b.typ.Instantiate(tt.config, false)
				if err == nil {
					err = n.(node.Validator).Validate()
				}
				require.ErrorContains(t, err, tt.want)
				return
			}
			require.Contains(t, strings.ToLower(jsonString(t, problems)), strings.ToLower(tt.want))
		})
	}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
