package ainode

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

const testKey = "sk-test-secret-key"

// fakeAPI speaks the chat completions protocol; the model name picks the answer.
type fakeAPI struct {
	srv *httptest.Server

	mu      sync.Mutex
	bodies  []map[string]any
	headers []http.Header
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testKey {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"m1"},{"id":"m2"}]}`)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.headers = append(f.headers, r.Header.Clone())
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testKey {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)
			return
		}
		complete := func(content string) {
			c, _ := json.Marshal(content)
			_, _ = fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","model":"%s-2026","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}`,
				body["model"], c)
		}
		switch body["model"] {
		case "echo":
			complete("hello there")
		case "json-ok":
			complete(`{"category": "billing"}`)
		case "json-fenced":
			complete("```json\n{\"a\": [1, 2]}\n```")
		case "json-bad":
			complete("Sure! The category is billing.")
		case "big":
			complete(strings.Repeat("x", 4096))
		case "garbage":
			_, _ = io.WriteString(w, `{"hello":"world"}`)
		case "rate":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`)
		case "down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "unknown":
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"message":"The model unknown does not exist","type":"invalid_request_error","code":"model_not_found"}}`)
		case "slow":
			<-r.Context().Done()
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) last() (map[string]any, http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[len(f.bodies)-1], f.headers[len(f.headers)-1]
}

type testBundle struct {
	api   *fakeAPI
	typ   *node.Type
	creds *conntest.Credentials
	cred  string
}

func setup(t *testing.T, cfg conn.Config) *testBundle {
	t.Helper()
	api := newFakeAPI(t)
	reg := node.NewRegistry()
	for _, n := range New(cfg) {
		require.NoError(t, reg.Register(n))
	}
	typ, ok := reg.Lookup(TypeName)
	require.True(t, ok)
	creds := conntest.NewCredentials()
	id := creds.Add(t, "openai", map[string]any{"apiKey": testKey, "baseUrl": api.srv.URL + "/v1/", "organization": "org-1"})
	return &testBundle{api: api, typ: typ, creds: creds, cred: id}
}

func (b *testBundle) run(t *testing.T, config map[string]any) (node.Output, error) {
	t.Helper()
	if _, ok := config["credential"]; !ok {
		config["credential"] = b.cred
	}
	n, err := b.typ.Instantiate(config, false)
	require.NoError(t, err)
	in := conntest.Input(b.creds, nil)
	in.Limits.MaxOutputBytes = 2048
	return n.Execute(t.Context(), in)
}

func requireNodeError(t *testing.T, err error, code string, permanent bool) *node.Error {
	t.Helper()
	var ne *node.Error
	require.ErrorAs(t, err, &ne)
	require.Equal(t, code, ne.Code, "error: %v", err)
	require.Equal(t, permanent, node.IsPermanent(err), "error: %v", err)
	require.NotContains(t, err.Error(), testKey)
	return ne
}

func TestChat(t *testing.T) {
	t.Parallel()

	t.Run("APIErrors", func(t *testing.T) {
		t.Parallel()
		b := setup(t, conntest.Config())
		tests := []struct {
			model     string
			status    int
			permanent bool
			message   string
		}{
			{model: "down", status: 503},
			{model: "rate", status: 429, message: "Rate limit reached"},
			{model: "unknown", status: 404, permanent: true, message: "The model unknown does not exist"},
		}
		for _, tt := range tests {
			_, err := b.run(t, map[string]any{"model": tt.model, "prompt": "hi"})
			ne := requireNodeError(t, err, CodeAPIStatus, tt.permanent)
			require.Equal(t, tt.status, ne.Details.(map[string]any)["status"])
			require.Contains(t, ne.Message, tt.message)
		}
		_, err := b.run(t, map[string]any{"model": "rate", "prompt": "hi"})
		ne := requireNodeError(t, err, CodeAPIStatus, false)
		require.Equal(t, map[string]any{"status": 429, "message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded", "retryAfter": "7"}, ne.Details)
	})

	t.Run("BadKey", func(t *testing.T) {
		t.Parallel()
		b := setup(t, conntest.Config())
		id := b.creds.Add(t, "openai", map[string]any{"apiKey": "sk-wrong", "baseUrl": b.api.srv.URL + "/v1"})
		_, err := b.run(t, map[string]any{"credential": id, "model": "echo", "prompt": "hi"})
		ne := requireNodeError(t, err, CodeAPIStatus, true)
		require.Equal(t, 401, ne.Details.(map[string]any)["status"])
		require.Equal(t, "invalid_api_key", ne.Details.(map[string]any)["code"])
	})

	t.Run("InvalidResponse", func(t *testing.T) {
		t.Parallel()
		b := setup(t, conntest.Config())
		_, err := b.run(t, map[string]any{"model": "garbage", "prompt": "hi"})
		_ = requireNodeError(t, err, CodeInvalidResponse, true)
	})

	t.Run("JSON", func(t *testing.T) {
		t.Parallel()
		b := setup(t, conntest.Config())
		out, err := b.run(t, map[string]any{"model": "json-ok", "prompt": "classify", "responseFormat": "json"})
		require.NoError(t, err)
		require.Equal(t, map[string]any{"category": "billing"}, out.Value.(map[string]any)["json"])
		body, _ := b.api.last()
		require.Equal(t, map[string]any{"type": "json_object"}, body["response_format"])

		out, err = b.run(t, map[string]any{"model": "json-fenced", "prompt": "x", "responseFormat": "json"})
		require.NoError(t, err)
		require.Equal(t, map[string]any{"a": []any{1.0, 2.0}}, out.Value.(map[string]any)["json"])

		_, err = b.run(t, map[string]any{"model": "json-bad", "prompt": "x", "responseFormat": "json"})
		ne := requireNodeError(t, err, CodeInvalidJSON, true)
		require.Equal(t, "Sure! The category is billing.", ne.Details.(map[string]any)["content"])
	})

	t.Run("Messages", func(t *testing.T) {
		t.Parallel()
		b := setup(t, conntest.Config())
		msgs := []any{
			map[string]any{"role": "system", "content": "be brief"},
			map[string]any{"role": "user", "content": "hi"},
			map[string]any{"role": "assistant", "content": "hello"},
			map[string]any{"role": "user", "content": "again"},
		}
		_, err := b.run(t, map[string]any{"model": "echo", "messages": msgs})
		require.NoError(t, err)
		body, _ := b.api.last()
		require.Equal(t, msgs, body["messages"])
		require.NotContains(t, body, "temperature")
		require.NotContains(t, body, "max_tokens")
		require.NotContains(t, body, "response_format")
	})

	t.Run("OutputTooLarge", func(t *testing.T) {
		t.Parallel()
		b := setup(t, conntest.Config())
		_, err := b.run(t, map[string]any{"model": "big", "prompt": "hi"})
		_ = requireNodeError(t, err, CodeOutputTooLarge, true)
	})

	t.Run("Prompt", func(t *testing.T) {
		t.Parallel()
		b := setup(t, conntest.Config())
		out, err := b.run(t, map[string]any{"model": "echo", "prompt": "Say hi", "system": "You are terse.", "temperature": 0.2, "maxTokens": 50})
		require.NoError(t, err)
		require.Equal(t, map[string]any{
			"content": "hello there", "model": "echo-2026", "finishReason": "stop",
			"usage": map[string]any{"promptTokens": 12.0, "completionTokens": 5.0, "totalTokens": 17.0},
		}, out.Value)
		body, headers := b.api.last()
		require.Equal(t, map[string]any{
			"model": "echo", "stream": false, "temperature": 0.2, "max_tokens": 50.0,
			"messages": []any{map[string]any{"role": "system", "content": "You are terse."}, map[string]any{"role": "user", "content": "Say hi"}},
		}, body, "no tools, no stream")
		require.Equal(t, "Bearer "+testKey, headers.Get("Authorization"))
		require.Equal(t, "org-1", headers.Get("OpenAI-Organization"))
		require.Equal(t, "application/json", headers.Get("Content-Type"))
	})

	t.Run("SSRFBlocked", func(t *testing.T) {
		t.Parallel()
		b := setup(t, conntest.StrictConfig())
		_, err := b.run(t, map[string]any{"model": "echo", "prompt": "hi"})
		_ = requireNodeError(t, err, conn.CodeSSRFBlocked, true)
		b.api.mu.Lock()
		defer b.api.mu.Unlock()
		require.Empty(t, b.api.bodies, "nothing reached the server")
	})

	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		b := setup(t, conntest.Config())
		_, err := b.run(t, map[string]any{"model": "slow", "prompt": "hi", "timeout": "100ms"})
		ne := requireNodeError(t, err, CodeTimeout, false)
		require.Contains(t, ne.Message, "no complete answer within 100ms")
	})
}

func TestChatConfig(t *testing.T) {
	t.Parallel()

	b := setup(t, conntest.Config())
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{name: "BadRole", config: map[string]any{"model": "m", "messages": []any{map[string]any{"role": "tool", "content": "x"}}}, want: "role"},
		{name: "Both", config: map[string]any{"model": "m", "prompt": "p", "messages": []any{map[string]any{"role": "user", "content": "x"}}}, want: "not both"},
		{name: "Neither", config: map[string]any{"model": "m"}, want: "set messages, or prompt"},
		{name: "NoModel", config: map[string]any{"prompt": "p"}, want: "model"},
		{name: "Temperature", config: map[string]any{"model": "m", "prompt": "p", "temperature": 3}, want: "temperature"},
		{name: "Tools", config: map[string]any{"model": "m", "prompt": "p", "tools": []any{}}, want: "tools"},
		{name: "UnknownFormat", config: map[string]any{"model": "m", "prompt": "p", "responseFormat": "xml"}, want: "responseFormat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.config["credential"] = "c"
			problems := b.typ.ValidateConfig(tt.config, false)
			if len(problems) > 0 {
				text, err := json.Marshal(problems)
				require.NoError(t, err)
				require.Contains(t, string(text), tt.want)
				return
			}
			_, err := b.typ.Instantiate(tt.config, false)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestTesters(t *testing.T) {
	t.Parallel()

	api := newFakeAPI(t)
	creds := conntest.NewCredentials()
	get := func(key string) *node.Credential {
		c, err := creds.Get(t.Context(), creds.Add(t, "openai", map[string]any{"apiKey": key, "baseUrl": api.srv.URL + "/v1"}))
		require.NoError(t, err)
		return c
	}
	test := Testers(conntest.Config())["openai"]
	msg, err := test(t.Context(), get(testKey))
	require.NoError(t, err)
	require.Equal(t, "Connected to "+strings.TrimPrefix(api.srv.URL, "http://")+": the API key lists 2 models", msg)

	_, err = test(t.Context(), get("sk-wrong"))
	require.ErrorContains(t, err, "answered 401 Unauthorized: Incorrect API key provided")

	_, err = Testers(conntest.StrictConfig())["openai"](t.Context(), get(testKey))
	var ne *node.Error
	require.ErrorAs(t, err, &ne)
	require.Equal(t, conn.CodeSSRFBlocked, ne.Code)
}
