// Package apitest runs table-driven HTTP scenarios against the real API, served by httptest over a
// real SQLite store, in the PocketBase style: each scenario names a request and what the response
// must (and must not) contain. Every answer a test receives through Server.Do is also checked against
// the OpenAPI document the server serves (ResponseValidator), so that every present and future
// scenario proves the document describes the answer.
package apitest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/live"
)

// Server is a running API over a fresh runtime.
type Server struct {
	*enginetest.Env
	URL    string
	Client *http.Client
	API    *api.Server
	// Live is the API's live gateway.
	Live *live.Gateway
	// Validator checks every answer Do receives; nil in benchmarks, which measure the server alone.
	Validator *ResponseValidator
}

// Start starts an API server for one test.
func Start(t testing.TB, opts enginetest.Options) *Server {
	t.Helper()
	return StartWith(t, opts, nil)
}

// StartWith starts an API server for one test, letting configure change the API's configuration
// (such as its UI handler) before the server starts.
func StartWith(t testing.TB, opts enginetest.Options, configure func(*api.Config)) *Server {
	t.Helper()
	return StartLive(t, opts, nil, configure)
}

// StartLive is StartWith with a say in the live gateway's configuration (buffers, timeouts, limits).
func StartLive(t testing.TB, opts enginetest.Options, configureLive func(*live.Config), configure func(*api.Config)) *Server {
	t.Helper()
	env := enginetest.Start(t, opts)
	lc := live.Config{Store: env.Store, Bus: env.Bus, Problem: api.WriteProblem, Version: "test"}
	if configureLive != nil {
		configureLive(&lc)
	}
	cfg := api.Config{Service: env.Service, Version: "test", WebhookTimeout: 5 * time.Second, Live: live.New(lc)}
	if configure != nil {
		configure(&cfg)
	}
	a := api.New(cfg)
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		// Live streams end first: an open stream would hold the test server's Close.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if cfg.Live != nil {
			_ = cfg.Live.Shutdown(ctx)
		}
		ts.Close()
	})
	s := &Server{Env: env, URL: ts.URL, Client: ts.Client(), API: a, Live: cfg.Live}
	if _, bench := t.(*testing.B); !bench {
		doc := s.Do(t, http.MethodGet, "/openapi.json", "", nil)
		require.Equal(t, http.StatusOK, doc.Status, doc.Body)
		v, err := NewResponseValidator(context.Background(), []byte(doc.Body))
		require.NoError(t, err)
		s.Validator = v
	}
	return s
}

// Scenario is one request and its expectations.
type Scenario struct {
	Name    string
	Method  string
	URL     string
	Body    string
	Headers map[string]string
	// ExpectedStatus is the status code the response must have.
	ExpectedStatus int
	// ExpectedContent are substrings the body must contain; NotExpectedContent must not.
	ExpectedContent    []string
	NotExpectedContent []string
	// ExpectedHeaders must match exactly.
	ExpectedHeaders map[string]string
}

// Response is a decoded response.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(r.Body), v), "body: %s", r.Body)
}

// Do sends a request.
func (s *Server) Do(t testing.TB, method, url, body string, headers map[string]string) *Response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+url, r)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if s.Validator != nil {
		require.NoError(t, s.Validator.Validate(context.Background(), req, resp.StatusCode, resp.Header, b), "body: %s", excerpt(b))
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func excerpt(b []byte) string {
	if len(b) > 2048 {
		return string(b[:2048]) + "…"
	}
	return string(b)
}

// Run runs the scenarios in order (they may depend on each other's effects).
func (s *Server) Run(t *testing.T, scenarios []Scenario) {
	t.Helper()
	for _, sc := range scenarios {
		resp := s.Do(t, sc.Method, sc.URL, sc.Body, sc.Headers)
		require.Equal(t, sc.ExpectedStatus, resp.Status, "%s: body %s", sc.Name, resp.Body)
		for _, want := range sc.ExpectedContent {
			require.Contains(t, resp.Body, want, sc.Name)
		}
		for _, unwanted := range sc.NotExpectedContent {
			require.NotContains(t, resp.Body, unwanted, sc.Name)
		}
		for k, v := range sc.ExpectedHeaders {
			require.Equal(t, v, resp.Header.Get(k), "%s: header %s", sc.Name, k)
		}
		if resp.Status >= 400 {
			require.Contains(t, resp.Header.Get("Content-Type"), "application/problem+json", sc.Name)
		}
		if sc.ExpectedStatus < 500 {
			require.Less(t, resp.Status, 500, "%s: no 5xx for any input", sc.Name)
		}
	}
}
