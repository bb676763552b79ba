package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// TestTenantIsolation proves, for every operation of the OpenAPI document, that the owner of one
// workspace can neither read, list, change, run, watch nor learn of the objects of another: every
// foreign id answers 404 (never 403), lists hold none of them, and nothing of the other workspace
// changes.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	// Workspace A (the default one) has a workflow, a finished execution, a member and an API key.
	w := s.Save(t, `{"name":"alpha-secret","nodes":[{"id":"start","type":"trigger.manual"},{"id":"set","type":"data.set","config":{"fields":{"x":1}}}],
		"edges":[{"source":"start","target":"set"}]}`)
	exec := s.Env.Run(t, w.ID, `{"card":"4111"}`)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status)
	memberToken := s.AddMember(t, "alpha-member@example.com", "editor")
	memberID := ownerID(t, s, memberToken)
	var key api.APIKey
	r := s.Do(t, http.MethodPost, "/api/v1/api-keys", `{"name":"alpha-key","role":"viewer"}`, nil)
	require.Equal(t, http.StatusCreated, r.Status, r.Body)
	r.JSON(t, &key)

	// Workspace B's owner.
	other, otherTenant := s.OtherTenant(t, "beta-owner@example.com")
	secrets := []string{w.ID, exec.ID, key.ID, memberID, "alpha-secret", "alpha-member@example.com", "4111", "alpha-key"}

	values := map[string]string{"version": "1", "nodeId": "set", "attempt": "1", "userId": memberID, "type": "data.set", "path": "x"}
	bodies := map[string]string{
		"update-workflow":    `{"name":"hijacked","nodes":[{"id":"start","type":"trigger.manual"}]}`,
		"run-workflow":       `{"input":{}}`,
		"update-member":      `{"role":"viewer"}`,
		"pin-output":         `{"data":{"x":1}}`,
		"pin-from-execution": `{"executionId":"` + exec.ID + `"}`,
		"start-test-run":     `{"node":"set","mode":"node","executionId":"` + exec.ID + `"}`,
	}
	for _, op := range operations(t, s) {
		switch op.id {
		case "live-websocket": // internal/live's TestWebSocketAuthentication subscribes across workspaces
			continue
		case "healthz", "readyz", "metrics", "get-setup-status", "setup", "login", "refresh-session", "logout",
			"webhook-get", "webhook-post", "webhook-put", "webhook-patch", "webhook-delete":
			continue // public: nothing of a workspace
		}
		t.Run(op.id, func(t *testing.T) {
			v := map[string]string{}
			for k, x := range values {
				v[k] = x
			}
			switch {
			case strings.HasPrefix(op.path, "/api/v1/workflows/{id}"):
				v["id"] = w.ID
			case strings.HasPrefix(op.path, "/api/v1/executions/{id}"):
				v["id"] = exec.ID
			case strings.HasPrefix(op.path, "/api/v1/api-keys/{id}"):
				v["id"] = key.ID
			case op.id == "evaluate-expression":
				v["id"] = exec.ID
			}
			path := fill(op.path, v)
			body := bodies[op.id]
			if op.id == "evaluate-expression" {
				body = `{"expression":"{{ input }}","executionId":"` + exec.ID + `","nodeId":"set"}`
			}
			if body == "" && op.body {
				body = "{}"
			}
			headers := map[string]string{"Authorization": "Bearer " + other}
			if op.id == "update-workflow" {
				headers["If-Match"] = `"1"`
			}
			code, text := status(t, s, op.method, path, other, body)
			if op.id == "update-workflow" {
				rr := s.Do(t, op.method, path, body, headers)
				code, text = rr.Status, rr.Body
			}
			// A 404 may repeat the id the caller sent; it must say nothing else of A.
			for _, id := range v {
				text = strings.ReplaceAll(text, id, "<id>")
			}
			for _, secret := range secrets {
				require.NotContains(t, text, secret, "%s %s leaks workspace A", op.method, path)
			}
			if strings.Contains(op.path, "{id}") || strings.Contains(op.path, "{userId}") {
				require.Equal(t, http.StatusNotFound, code, "%s %s: %s", op.method, path, text)
			} else {
				require.Less(t, code, 500, text)
			}
		})
	}

	// A planted tenant id is refused, never followed.
	r = s.Do(t, http.MethodPost, "/api/v1/workflows", `{"name":"planted","tenantId":"default","nodes":[{"id":"start","type":"trigger.manual"}]}`, bearer(other))
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Body)
	r = s.Do(t, http.MethodPost, "/api/v1/members", `{"email":"alpha-member@example.com","role":"viewer","tenantId":"default"}`, bearer(other))
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Body)
	r = s.Do(t, http.MethodPost, "/api/v1/auth/switch", `{"tenantId":"default"}`, bearer(other))
	require.Equal(t, http.StatusNotFound, r.Status, "B is no member of A: %s", r.Body)
	r = s.Do(t, http.MethodPost, "/api/v1/auth/login", `{"email":"beta-owner@example.com","password":"`+apitest.MemberPassword+`","tenantId":"default"}`,
		map[string]string{"Authorization": ""})
	require.Equal(t, http.StatusNotFound, r.Status, r.Body)

	// Nothing of A changed.
	got := s.Do(t, http.MethodGet, "/api/v1/workflows/"+w.ID, "", nil)
	require.Equal(t, http.StatusOK, got.Status)
	require.Contains(t, got.Body, "alpha-secret")
	require.Regexp(t, `^"1-[0-9a-f]{16}"$`, got.Header.Get("ETag"))
	require.Contains(t, s.Do(t, http.MethodGet, "/api/v1/executions/"+exec.ID, "", nil).Body, `"status":"succeeded"`)
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodGet, "/api/v1/workflows", "", bearer(key.Key)).Status, "A's key still works")
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodGet, "/api/v1/workflows", "", bearer(memberToken)).Status, "A's member is still in")
	var list struct{ Items []struct{ ID string } }
	s.Do(t, http.MethodGet, "/api/v1/executions", "", nil).JSON(t, &list)
	require.Len(t, list.Items, 1, "B ran nothing in A")
	// B's own workspace holds what B made, and only that.
	var mine struct{ Items []struct{ Name string } }
	s.Do(t, http.MethodGet, "/api/v1/workflows", "", bearer(other)).JSON(t, &mine)
	for _, item := range mine.Items {
		require.NotEqual(t, "alpha-secret", item.Name)
	}
	require.NotEmpty(t, otherTenant)
}
