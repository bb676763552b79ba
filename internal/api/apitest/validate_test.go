package apitest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

// TestResponseValidator shows that the validator every scenario goes through fails on answers the
// document does not describe, and passes those it does.
func TestResponseValidator(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	problem := func(status int, typ string) string {
		return `{"type":"` + typ + `","title":"` + http.StatusText(status) + `","status":` + strconv.Itoa(status) + `}`
	}
	for _, tc := range []struct {
		name, method, path string
		status             int
		header             map[string]string
		body               string
		wantErr            string
	}{
		{name: "Documented", method: "GET", path: "/healthz", status: 200, body: `{"status":"ok"}`,
			header: map[string]string{"Content-Type": "application/json", "X-Request-ID": "1"}},
		{name: "UndocumentedStatus", method: "GET", path: "/healthz", status: 418, body: problem(418, "urn:concertmaster:problem:teapot"),
			header: map[string]string{"Content-Type": "application/problem+json"}, wantErr: "status is not supported"},
		{name: "UndocumentedHeader", method: "GET", path: "/healthz", status: 200, body: `{"status":"ok"}`,
			header: map[string]string{"Content-Type": "application/json", "X-Secret": "1"}, wantErr: "header X-Secret"},
		{name: "BodyBreaksSchema", method: "GET", path: "/healthz", status: 200, body: `{"status":5}`,
			header: map[string]string{"Content-Type": "application/json"}, wantErr: "doesn't match schema"},
		{name: "UndocumentedContentType", method: "GET", path: "/healthz", status: 200, body: `<html>`,
			header: map[string]string{"Content-Type": "text/html"}, wantErr: "text/html"},
		{name: "BodyWhereNoneIsDocumented", method: "DELETE", path: "/api/v1/workflows/x", status: 204, body: `gone`, wantErr: "with a body"},
		{name: "ProblemOfAnotherType", method: "GET", path: "/api/v1/workflows/x", status: 404, body: problem(404, "about:blank"),
			header: map[string]string{"Content-Type": "application/problem+json"}, wantErr: "doesn't match schema"},
		{name: "UnknownPathAnswering200", method: "GET", path: "/api/v1/nothing", status: 200, body: `<html>`,
			header: map[string]string{"Content-Type": "text/html"}, wantErr: "must answer 404"},
		{name: "UnknownPathProblem", method: "GET", path: "/api/v1/nothing", status: 404, body: problem(404, "urn:concertmaster:problem:not-found"),
			header: map[string]string{"Content-Type": "application/problem+json"}},
		{name: "MethodNotAllowedWithoutAllow", method: "PATCH", path: "/api/v1/workflows", status: 405,
			body: problem(405, "urn:concertmaster:problem:method-not-allowed"), header: map[string]string{"Content-Type": "application/problem+json"},
			wantErr: "without an Allow header"},
		{name: "WebhookPathWithSlashes", method: "POST", path: "/hooks/orders/new", status: 202, body: `{"executionId":"e","status":"queued"}`,
			header: map[string]string{"Content-Type": "application/json"}},
		{name: "HeadOfADocumentedGet", method: "HEAD", path: "/healthz", status: 200, header: map[string]string{"Content-Type": "application/json"}},
		{name: "HeadWithUndocumentedStatus", method: "HEAD", path: "/healthz", status: 418, wantErr: "does not describe"},
		{name: "NotTheAPI", method: "GET", path: "/docs", status: 200, body: `<html>`, header: map[string]string{"Content-Type": "text/html"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequestWithContext(context.Background(), tc.method, tc.path, nil)
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			err := s.Validator.Validate(context.Background(), req, tc.status, h, []byte(tc.body))
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.wantErr)
		})
	}
}
