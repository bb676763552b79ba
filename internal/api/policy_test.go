package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

// operation is one operation of the served OpenAPI document.
type operation struct {
	id, method, path string
	security         bool
	body             bool
}

// operations reads every operation of the document the server serves.
func operations(t *testing.T, s *apitest.Server) []operation {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Security    []map[string][]string `json:"security"`
			RequestBody json.RawMessage       `json:"requestBody"`
		} `json:"paths"`
	}
	s.Do(t, http.MethodGet, "/openapi.json", "", nil).JSON(t, &doc)
	var ops []operation
	for p, item := range doc.Paths {
		for m, op := range item {
			ops = append(ops, operation{id: op.OperationID, method: strings.ToUpper(m), path: p, security: len(op.Security) > 0, body: len(op.RequestBody) > 0})
		}
	}
	require.Greater(t, len(ops), 40)
	return ops
}

// fill replaces the path's parameters with values.
func fill(path string, values map[string]string) string {
	for k, v := range values {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	return path
}

// status sends a request and returns its status without reading a stream to its end.
func status(t *testing.T, s *apitest.Server, method, path, token string, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, r)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	} else {
		req = req.WithContext(apitest.Anonymous(ctx))
	}
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") == "text/event-stream" {
		return resp.StatusCode, ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b)
}

// minRole is the least role each operation takes, as the document says it (the policy table is
// the code's; this test holds the two to each other and to the server's behaviour).
func minRole(t *testing.T, s *apitest.Server, op operation) string {
	t.Helper()
	var doc map[string]any
	s.Do(t, http.MethodGet, "/openapi.json", "", nil).JSON(t, &doc)
	desc := doc["paths"].(map[string]any)[op.path].(map[string]any)[strings.ToLower(op.method)].(map[string]any)["description"].(string)
	for _, r := range []string{"viewer", "editor", "admin", "owner"} {
		if strings.Contains(desc, "Requires the "+r+" role") {
			return r
		}
	}
	t.Fatalf("%s documents no role: %s", op.id, desc)
	return ""
}

// TestPolicyCoversEveryOperation walks every operation of the OpenAPI document: each one is either
// public by the policy table or needs a credential, and a caller one role below its minimum is
// refused while its minimum role gets past the policy.
func TestPolicyCoversEveryOperation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	tokens := map[string]string{
		"viewer": s.AddMember(t, "viewer@example.com", "viewer"),
		"editor": s.AddMember(t, "editor@example.com", "editor"),
		"admin":  s.AddMember(t, "admin@example.com", "admin"),
		"owner":  s.Token,
	}
	r := s.Do(t, http.MethodPost, "/api/v1/api-keys", `{"name":"robot","role":"owner"}`, nil)
	require.Equal(t, http.StatusCreated, r.Status, r.Body)
	var key struct{ Key string }
	r.JSON(t, &key)
	below := map[string]string{"editor": "viewer", "admin": "editor", "owner": "admin"}
	public := map[string]bool{"healthz": true, "readyz": true, "metrics": true, "get-setup-status": true, "setup": true, "login": true,
		"refresh-session": true, "logout": true, "webhook-get": true, "webhook-post": true, "webhook-put": true, "webhook-patch": true,
		"webhook-delete": true, "resume-get": true, "resume-post": true}
	ids := map[string]string{"id": "00000000-0000-0000-0000-000000000000", "version": "1", "nodeId": "n", "attempt": "1",
		"type": "data.set", "userId": "00000000-0000-0000-0000-000000000000", "path": "nothing"}

	ops := operations(t, s)
	documented := map[string]bool{}
	for _, op := range ops {
		documented[op.id] = true
	}
	for _, id := range api.PolicyIDs() {
		require.True(t, documented[id], "the policy table names %s, which the document does not have", id)
	}
	for _, op := range ops {
		t.Run(op.id, func(t *testing.T) {
			require.NotEmpty(t, op.id, "%s %s has no operation id", op.method, op.path)
			path := fill(op.path, ids)
			body := ""
			if op.body {
				body = "{}"
			}
			if public[op.id] {
				require.False(t, op.security, "a public operation documents no security")
				return
			}
			require.True(t, op.security, "%s is not public: it must document its bearer security", op.id)
			if op.id == "live-websocket" {
				return // authenticated by its first message: internal/live's TestWebSocketAuthentication
			}
			code, msg := status(t, s, op.method, path, "", body)
			require.Equal(t, http.StatusUnauthorized, code, "without a credential: %s", msg)
			code, msg = status(t, s, op.method, path, "nope.nope.nope", body)
			require.Equal(t, http.StatusUnauthorized, code, "with a forged token: %s", msg)

			min := minRole(t, s, op)
			if lower, ok := below[min]; ok {
				code, msg = status(t, s, op.method, path, tokens[lower], body)
				require.Equal(t, http.StatusForbidden, code, "%s may not call %s: %s", lower, op.id, msg)
			}
			code, msg = status(t, s, op.method, path, tokens[min], body)
			require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, code, "%s may call %s: %s", min, op.id, msg)
			// An owner API key passes every policy but the people-only ones.
			code, msg = status(t, s, op.method, path, key.Key, body)
			if code == http.StatusForbidden {
				require.Contains(t, msg, "not API keys", op.id)
			} else {
				require.NotEqual(t, http.StatusUnauthorized, code, msg)
			}
		})
	}
}
