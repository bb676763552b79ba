package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/store"
)

// TestWebhookSecretsAreNeverStored sends a webhook with credentials in its headers and checks that no
// credential reaches the store or any answer: the webhook's own answer (the run's output echoes the
// headers), every read of the execution, and the database file itself.
func TestWebhookSecretsAreNeverStored(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	id := create(t, s, `{"name":"secrets","nodes":[
		{"id":"hook","type":"trigger.webhook","config":{"path":"secrets","redactHeaders":["X-Shop-Key"]}},
		{"id":"echo","type":"data.transform","config":{"expression":"{{ input.headers }}"}}],
		"edges":[{"source":"hook","target":"echo"}]}`)["id"].(string)
	resp := s.Do(t, http.MethodPost, "/api/v1/workflows/"+id+"/activate", "", nil)
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)

	secrets := map[string]string{
		"Authorization":       "Bearer secret-authorization",
		"Proxy-Authorization": "Basic secret-proxy",
		"Cookie":              "sid=secret-cookie",
		"X-Api-Key":           "secret-api-key",
		"X-Auth-Token":        "secret-auth-token",
		"X-Csrf-Token":        "secret-csrf",
		"X-Gitlab-Token":      "secret-gitlab",
		"X-Shop-Key":          "secret-shop-key", // redacted by the trigger's redactHeaders
	}
	headers := map[string]string{"X-Plain": "visible-value"}
	for k, v := range secrets {
		headers[k] = v
	}
	hook := s.Do(t, http.MethodPost, "/hooks/secrets", `{"order":1}`, headers)
	require.Equal(t, http.StatusOK, hook.Status, hook.Body)
	require.Contains(t, hook.Body, `"x-plain":"visible-value"`, "other headers are kept")
	for name := range secrets {
		require.Contains(t, hook.Body, `"`+strings.ToLower(name)+`":"[redacted]"`, "the header's name stays, its value is redacted")
	}
	execID := hook.Header.Get("X-Execution-ID")
	require.NotEmpty(t, execID)

	noSecret := func(where, body string) {
		t.Helper()
		require.NotContains(t, body, "secret-", "%s carries a credential: %s", where, body)
	}
	noSecret("the webhook's answer", hook.Body)

	// Every read of the execution, and of the retry that reuses its input.
	retry := s.Do(t, http.MethodPost, "/api/v1/executions/"+execID+"/retry", "", nil)
	reads := []string{"/api/v1/executions/" + execID, "/api/v1/executions?workflowId=" + id, "/api/v1/executions/" + execID + "/events"}
	for p, item := range s.API.OpenAPI().Paths {
		if strings.HasPrefix(p, "/api/v1/executions/{id}/") && item.Get != nil && strings.Count(p, "{") == 1 {
			reads = append(reads, strings.Replace(p, "{id}", execID, 1))
		}
	}
	for _, read := range reads {
		r := s.Do(t, http.MethodGet, read, "", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", read, r.Body)
		noSecret(read, r.Body)
	}
	require.Less(t, retry.Status, 500, retry.Body)

	// The store.
	ctx := context.Background()
	exec, err := s.Store.GetExecution(ctx, store.DefaultTenant, execID)
	require.NoError(t, err)
	require.Contains(t, string(exec.Input), `"authorization":"[redacted]"`)
	noSecret("the stored input", string(exec.Input))
	runs, err := s.Store.ListNodeRuns(ctx, store.DefaultTenant, execID)
	require.NoError(t, err)
	require.NotEmpty(t, runs)
	for _, run := range runs {
		noSecret("node run "+run.NodeID, string(run.Input)+string(run.Output))
		for _, field := range []string{"input", "output"} {
			read := fmt.Sprintf("/api/v1/executions/%s/node-runs/%s/attempts/%d/%s", execID, run.NodeID, run.Attempt, field)
			r := s.Do(t, http.MethodGet, read, "", nil)
			require.Equal(t, http.StatusOK, r.Status, "%s: %s", read, r.Body)
			noSecret(read, r.Body)
		}
	}
	// The database file and its write-ahead log, byte for byte.
	var raw []byte
	for _, f := range []string{s.Path, s.Path + "-wal"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		raw = append(raw, b...)
	}
	require.True(t, bytes.Contains(raw, []byte("visible-value")), "the database holds the request: the check below looks at the right files")
	require.False(t, bytes.Contains(raw, []byte("secret-")), "the database holds a credential")
}

// TestWebhookRedactHeadersIsValidated: a bad redactHeaders entry is refused with the JSON pointer of
// the entry.
func TestWebhookRedactHeadersIsValidated(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	s.Run(t, []apitest.Scenario{
		{Name: "NotAHeaderName", Method: http.MethodPost, URL: "/api/v1/workflows",
			Body:           `{"name":"x","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"x","redactHeaders":["ok","x api key"]}}]}`,
			ExpectedStatus: http.StatusUnprocessableEntity, ExpectedContent: []string{`"location":"/nodes/0/config/redactHeaders/1"`}},
		{Name: "NotAList", Method: http.MethodPost, URL: "/api/v1/workflows",
			Body:           `{"name":"x","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"x","redactHeaders":"x-api-key"}}]}`,
			ExpectedStatus: http.StatusUnprocessableEntity, ExpectedContent: []string{`"location":"/nodes/0/config/redactHeaders"`}},
	})
}
