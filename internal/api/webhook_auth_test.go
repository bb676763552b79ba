package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

const (
	hookToken  = "tok-5f0c2a9e81d44b7a"
	hookSecret = "sig-0b1e6c7d9a2f4e83"
)

// hookRequest sends a request to a webhook with headers as given (a name may repeat), and checks the
// answer against the OpenAPI document.
func hookRequest(t *testing.T, s *apitest.Server, method, path, body string, headers [][2]string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+path, r)
	require.NoError(t, err)
	for _, kv := range headers {
		req.Header.Add(kv[0], kv[1])
	}
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, s.Validator.Validate(context.Background(), req, resp.StatusCode, resp.Header, b), "the answer is documented: %s", b)
	return resp.StatusCode, resp.Header, string(b)
}

func hmacOf(h func() hash.Hash, secret, body string) []byte {
	m := hmac.New(h, []byte(secret))
	m.Write([]byte(body))
	return m.Sum(nil)
}

// activateHook creates a workflow whose webhook trigger has config, echoing the request's headers
// and body, and activates it.
func activateHook(t *testing.T, s *apitest.Server, name, config string) string {
	t.Helper()
	id := create(t, s, `{"name":"`+name+`","nodes":[
		{"id":"hook","type":"trigger.webhook","config":`+config+`},
		{"id":"echo","type":"data.transform","config":{"expression":"{{ {\"headers\": input.headers, \"body\": input.body} }}"}}],
		"edges":[{"source":"hook","target":"echo"}]}`)["id"].(string)
	resp := s.Do(t, http.MethodPost, "/api/v1/workflows/"+id+"/activate", "", nil)
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	return id
}

func executionsOf(t *testing.T, s *apitest.Server, workflowID string) []store.Execution {
	t.Helper()
	page, err := s.Store.ListExecutions(context.Background(), store.DefaultTenant, store.ListExecutionsParams{WorkflowID: workflowID, Limit: 100})
	require.NoError(t, err)
	return page.Items
}

// TestWebhookAuthentication sends right, wrong, missing, malformed and oversized credentials to
// webhooks that require a shared-secret header or an HMAC of the body, on a real server: every
// refusal is the same 401 problem, quotes no secret, and creates nothing.
func TestWebhookAuthentication(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	workflows := map[string]string{
		"header": activateHook(t, s, "header", `{"path":"auth/header","auth":{"type":"header","name":"X-Shared","value":"`+hookToken+`"}}`),
		"hmac": activateHook(t, s, "hmac", `{"path":"auth/hmac","auth":{"type":"hmac","header":"X-Signature-256","secret":"`+hookSecret+
			`","algorithm":"sha256","prefix":"sha256=","encoding":"hex"}}`),
		"b64": activateHook(t, s, "b64", `{"path":"auth/b64","auth":{"type":"hmac","header":"X-Signature","secret":"`+hookSecret+
			`","algorithm":"sha512","encoding":"base64"}}`),
		"open": activateHook(t, s, "open", `{"path":"auth/open"}`),
	}

	const body = `{"order":42}`
	sig := "sha256=" + hex.EncodeToString(hmacOf(sha256.New, hookSecret, body))
	sig512 := base64.StdEncoding.EncodeToString(hmacOf(sha512.New, hookSecret, body))
	tests := []struct {
		name     string
		hook     string
		body     string
		headers  [][2]string
		want     int
		contains string
	}{
		{name: "OpenNeedsNothing", hook: "open", body: body, want: http.StatusOK},
		{name: "HeaderRight", hook: "header", body: body, headers: [][2]string{{"X-Shared", hookToken}}, want: http.StatusOK, contains: `"x-shared":"[redacted]"`},
		{name: "HeaderWrong", hook: "header", body: body, headers: [][2]string{{"X-Shared", hookToken + "0"}}, want: http.StatusUnauthorized},
		{name: "HeaderMissing", hook: "header", body: body, want: http.StatusUnauthorized},
		{name: "HeaderEmpty", hook: "header", body: body, headers: [][2]string{{"X-Shared", ""}}, want: http.StatusUnauthorized},
		{name: "HeaderTwice", hook: "header", body: body, headers: [][2]string{{"X-Shared", hookToken}, {"X-Shared", hookToken}}, want: http.StatusUnauthorized},
		{name: "HeaderAsBearer", hook: "header", body: body, headers: [][2]string{{"Authorization", "Bearer " + hookToken}}, want: http.StatusUnauthorized},
		{name: "HeaderHuge", hook: "header", body: body, headers: [][2]string{{"X-Shared", strings.Repeat("x", 48<<10)}}, want: http.StatusUnauthorized},
		{name: "HeaderRightEmptyBody", hook: "header", headers: [][2]string{{"X-Shared", hookToken}}, want: http.StatusOK, contains: `"body":null`},
		{name: "HeaderWrongBadJSON", hook: "header", body: `{"order":`, headers: [][2]string{{"X-Shared", "nope"}}, want: http.StatusUnauthorized},
		{name: "HeaderRightBadJSON", hook: "header", body: `{"order":`, headers: [][2]string{{"X-Shared", hookToken}}, want: http.StatusBadRequest},

		{name: "HMACRight", hook: "hmac", body: body, headers: [][2]string{{"X-Signature-256", sig}}, want: http.StatusOK, contains: `"order":42`},
		{name: "HMACWrong", hook: "hmac", body: body, headers: [][2]string{{"X-Signature-256", "sha256=" + hex.EncodeToString(hmacOf(sha256.New, "wrong-secret-000000", body))}}, want: http.StatusUnauthorized},
		{name: "HMACOfAnotherBody", hook: "hmac", body: `{"order":43}`, headers: [][2]string{{"X-Signature-256", sig}}, want: http.StatusUnauthorized},
		{name: "HMACMissing", hook: "hmac", body: body, want: http.StatusUnauthorized},
		{name: "HMACWithoutPrefix", hook: "hmac", body: body, headers: [][2]string{{"X-Signature-256", strings.TrimPrefix(sig, "sha256=")}}, want: http.StatusUnauthorized},
		{name: "HMACWrongPrefix", hook: "hmac", body: body, headers: [][2]string{{"X-Signature-256", "sha1=" + strings.TrimPrefix(sig, "sha256=")}}, want: http.StatusUnauthorized},
		{name: "HMACWrongEncoding", hook: "hmac", body: body, headers: [][2]string{{"X-Signature-256", "sha256=" + base64.StdEncoding.EncodeToString(hmacOf(sha256.New, hookSecret, body))}}, want: http.StatusUnauthorized},
		{name: "HMACHuge", hook: "hmac", body: body, headers: [][2]string{{"X-Signature-256", "sha256=" + strings.Repeat("ab", 24<<10)}}, want: http.StatusUnauthorized},
		{name: "HMACEmptyBody", hook: "hmac", headers: [][2]string{{"X-Signature-256", "sha256=" + hex.EncodeToString(hmacOf(sha256.New, hookSecret, ""))}}, want: http.StatusOK},
		{name: "HMACEmptyBodyWithBodysSignature", hook: "hmac", headers: [][2]string{{"X-Signature-256", sig}}, want: http.StatusUnauthorized},
		{name: "HMACUnsignedBadJSON", hook: "hmac", body: `{"order":`, want: http.StatusUnauthorized},
		{name: "HMACSignedBadJSON", hook: "hmac", body: `{"order":`,
			headers: [][2]string{{"X-Signature-256", "sha256=" + hex.EncodeToString(hmacOf(sha256.New, hookSecret, `{"order":`))}}, want: http.StatusBadRequest},
		{name: "Base64Right", hook: "b64", body: body, headers: [][2]string{{"X-Signature", sig512}}, want: http.StatusOK},
		{name: "Base64Unpadded", hook: "b64", body: body, headers: [][2]string{{"X-Signature", strings.TrimRight(sig512, "=")}}, want: http.StatusOK},
		{name: "Base64AsHex", hook: "b64", body: body, headers: [][2]string{{"X-Signature", hex.EncodeToString(hmacOf(sha512.New, hookSecret, body))}}, want: http.StatusUnauthorized},
		{name: "Base64SHA256", hook: "b64", body: body, headers: [][2]string{{"X-Signature", base64.StdEncoding.EncodeToString(hmacOf(sha256.New, hookSecret, body))}}, want: http.StatusUnauthorized},
	}
	accepted := map[string]int{}
	for _, tt := range tests {
		if tt.want == http.StatusOK {
			accepted[tt.hook]++
		}
	}
	t.Run("Requests", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()

				headers := tt.headers
				if tt.body != "" {
					headers = append([][2]string{{"Content-Type", "application/json"}}, headers...)
				}
				status, header, got := hookRequest(t, s, http.MethodPost, "/hooks/auth/"+tt.hook, tt.body, headers)
				require.Equal(t, tt.want, status, got)
				require.NotContains(t, got, hookToken)
				require.NotContains(t, got, hookSecret)
				if tt.contains != "" {
					require.Contains(t, got, tt.contains)
				}
				if status != http.StatusUnauthorized {
					return
				}
				require.Equal(t, "application/problem+json", header.Get("Content-Type"))
				var p struct{ Type, Detail string }
				require.NoError(t, json.Unmarshal([]byte(got), &p))
				require.Equal(t, "urn:concertmaster:problem:unauthorized", p.Type)
				require.Equal(t, "this webhook requires authentication: the request does not carry the secret or the signature it expects", p.Detail,
					"every refusal says the same, whatever the reason")
				require.Empty(t, header.Get("X-Execution-ID"))
			})
		}
	})
	for hook, id := range workflows {
		execs := executionsOf(t, s, id)
		require.Len(t, execs, accepted[hook], "%s: only the accepted requests created executions", hook)
		for _, e := range execs {
			require.NotContains(t, string(e.Input), hookToken, "the shared secret is never stored")
		}
	}
}

// TestWebhookAuthOtherMethods: a GET trigger (no body) checks its header too, and an HMAC GET signs
// the empty body.
func TestWebhookAuthOtherMethods(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	activateHook(t, s, "get", `{"path":"auth/get","method":"GET","auth":{"type":"header","name":"X-Webhook-Token","value":"`+hookToken+`"}}`)
	status, _, body := hookRequest(t, s, http.MethodGet, "/hooks/auth/get", "", nil)
	require.Equal(t, http.StatusUnauthorized, status, body)
	status, _, body = hookRequest(t, s, http.MethodGet, "/hooks/auth/get", "", [][2]string{{"X-Webhook-Token", hookToken}})
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `"x-webhook-token":"[redacted]"`)
}

// TestWebhookPathRequiredToActivate: a draft may leave its webhook's path empty; activating it, or
// saving an active workflow without one, answers 422 at the trigger's config path.
func TestWebhookPathRequiredToActivate(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	const draft = `{"name":"draft","nodes":[{"id":"start","type":"trigger.manual"},{"id":"hook","type":"trigger.webhook","config":{}}]}`
	id := create(t, s, draft)["id"].(string)

	checkRefusal := func(resp *apitest.Response) {
		t.Helper()
		require.Equal(t, http.StatusUnprocessableEntity, resp.Status, resp.Body)
		var p struct {
			Errors []workflow.ValidationError `json:"errors"`
		}
		resp.JSON(t, &p)
		require.Len(t, p.Errors, 1, resp.Body)
		require.Equal(t, "/nodes/1/config/path", p.Errors[0].Pointer)
		require.Contains(t, p.Errors[0].Message, "webhook trigger hook has no path")
	}
	checkRefusal(s.Do(t, http.MethodPost, "/api/v1/workflows/"+id+"/activate", "", nil))
	w, err := s.Store.GetWorkflow(context.Background(), store.DefaultTenant, id)
	require.NoError(t, err)
	require.False(t, w.Active, "a refused activation changes nothing")

	// An empty path is a draft's: saving an inactive workflow without one is fine.
	resp := s.Do(t, http.MethodPut, "/api/v1/workflows/"+id, strings.Replace(draft, `"config":{}`, `"config":{"path":""}`, 1), map[string]string{"If-Match": `"1"`})
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	withPath := strings.Replace(draft, `"config":{}`, `"config":{"path":"drafts/`+id+`"}`, 1)
	resp = s.Do(t, http.MethodPut, "/api/v1/workflows/"+id, withPath, map[string]string{"If-Match": `"2"`})
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	resp = s.Do(t, http.MethodPost, "/api/v1/workflows/"+id+"/activate", "", nil)
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)

	// Saving the active workflow without the path is refused, and the route stays.
	checkRefusal(s.Do(t, http.MethodPut, "/api/v1/workflows/"+id, draft, map[string]string{"If-Match": `"3"`}))
	route, err := s.Store.LookupWebhook(context.Background(), http.MethodPost, "drafts/"+id)
	require.NoError(t, err)
	require.Equal(t, 3, route.Version)
}

// TestWebhookPathClashAcrossTenants: webhook paths are unique across the server. Activating or
// saving a workflow whose path another tenant's active workflow holds is a 409 that names neither
// that tenant nor its workflow, and the other tenant's webhook keeps working.
func TestWebhookPathClashAcrossTenants(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	ctx := context.Background()
	other := "tenant-acme-" + strings.ToLower(t.Name()[:4])
	require.NoError(t, s.Store.CreateTenant(ctx, other, "Acme Secret Projects"))
	def := &workflow.Definition{Name: "acme payroll hook", Nodes: []workflow.Node{
		{ID: "hook", Type: "trigger.webhook", Config: map[string]any{"path": "shared/payments"}}}}
	theirs, err := s.Service.CreateWorkflow(ctx, other, def)
	require.NoError(t, err)
	_, err = s.Service.SetActive(ctx, other, theirs.ID, true)
	require.NoError(t, err)

	checkClash := func(resp *apitest.Response) {
		t.Helper()
		require.Equal(t, http.StatusConflict, resp.Status, resp.Body)
		require.Contains(t, resp.Body, "already in use")
		for _, secret := range []string{other, theirs.ID, "Acme", "acme", "payroll"} {
			require.NotContains(t, resp.Body, secret, "the clash reveals nothing of the other tenant")
		}
	}
	const mine = `{"name":"mine","nodes":[{"id":"hook","type":"trigger.webhook","config":{"path":"shared/payments"}}]}`
	id := create(t, s, mine)["id"].(string)
	checkClash(s.Do(t, http.MethodPost, "/api/v1/workflows/"+id+"/activate", "", nil))

	// An active workflow saved with the taken path.
	id2 := create(t, s, strings.Replace(mine, "shared/payments", "mine/payments", 1))["id"].(string)
	resp := s.Do(t, http.MethodPost, "/api/v1/workflows/"+id2+"/activate", "", nil)
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	checkClash(s.Do(t, http.MethodPut, "/api/v1/workflows/"+id2, mine, map[string]string{"If-Match": `"1"`}))
	// The path with slashes around it is the same path.
	checkClash(s.Do(t, http.MethodPut, "/api/v1/workflows/"+id2, strings.Replace(mine, "shared/payments", "/shared/payments/", 1), map[string]string{"If-Match": `"1"`}))

	route, err := s.Store.LookupWebhook(ctx, http.MethodPost, "shared/payments")
	require.NoError(t, err)
	require.Equal(t, theirs.ID, route.WorkflowID, "the other tenant keeps its path")
	route, err = s.Store.LookupWebhook(ctx, http.MethodPost, "mine/payments")
	require.NoError(t, err)
	require.Equal(t, id2, route.WorkflowID, "a refused save keeps the route of the current version")
	require.Equal(t, 1, route.Version)
}
