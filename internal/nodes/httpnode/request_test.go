package httpnode

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
)

// resolverFunc is a netguard.Resolver backed by a function, standing in for DNS.
type resolverFunc func(ctx context.Context, host string) ([]net.IPAddr, error)

func (f resolverFunc) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	return f(ctx, host)
}

// staticResolver answers every name with ip.
func staticResolver(ip string) resolverFunc {
	return func(context.Context, string) ([]net.IPAddr, error) {
		return []net.IPAddr{{IP: net.ParseIP(ip)}}, nil
	}
}

// loopbackPolicy allows the test servers on 127.0.0.1 and nothing else private.
func loopbackPolicy() *netguard.Policy {
	return &netguard.Policy{Allowlist: []string{"127.0.0.1/32"}}
}

// newTestHandler serves the endpoints the tests request.
func newTestHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		headers := map[string]string{}
		for name, values := range r.Header {
			headers[strings.ToLower(name)] = strings.Join(values, ",")
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method":   r.Method,
			"path":     r.URL.Path,
			"rawQuery": r.URL.RawQuery,
			"host":     r.Host,
			"headers":  headers,
			"body":     string(body),
		})
	})
	mux.HandleFunc("/content", func(w http.ResponseWriter, r *http.Request) {
		// /content?type=...&body=... answers with that Content-Type and body.
		if ct := r.URL.Query().Get("type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		_, _ = io.WriteString(w, r.URL.Query().Get("body"))
	})
	mux.HandleFunc("/latin1", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=ISO-8859-1")
		_, _ = w.Write([]byte("caf\xe9"))
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, `{"error":"status %d"}`, code)
	})
	mux.HandleFunc("/html-error", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>bad gateway</html>")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("chunked") != "" {
			// Flushing before writing hides the length, so the client has to count.
			w.(http.Flusher).Flush()
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		_, _ = w.Write([]byte(strings.Repeat("x", n)))
	})
	mux.HandleFunc("/block", func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	return mux
}

type testBundle struct {
	srv *httptest.Server
	typ *node.Type
}

// setup starts a test server and registers the node type with cfg; a nil cfg.Policy stays nil, so the
// node uses the default policy.
func setup(t *testing.T, cfg Config) *testBundle {
	t.Helper()
	srv := httptest.NewServer(newTestHandler())
	t.Cleanup(srv.Close)
	proto := New(cfg)
	t.Cleanup(proto.(*Request).shared.client.CloseIdleConnections)
	reg := node.NewRegistry()
	require.NoError(t, reg.Register(proto))
	typ, ok := reg.Lookup(TypeName)
	require.True(t, ok)
	return &testBundle{srv: srv, typ: typ}
}

func (b *testBundle) run(t *testing.T, config map[string]any) (node.Output, error) {
	t.Helper()
	n, err := b.typ.Instantiate(config, false)
	require.NoError(t, err)
	return n.Execute(t.Context(), &node.Input{Data: map[string]any{"unused": true}})
}

// runOK runs config and returns the emitted output object.
func (b *testBundle) runOK(t *testing.T, config map[string]any) map[string]any {
	t.Helper()
	out, err := b.run(t, config)
	require.NoError(t, err)
	require.Equal(t, "out", out.Port)
	value, ok := out.Value.(map[string]any)
	require.True(t, ok, "output is %T", out.Value)
	return value
}

// requireNodeError checks that err is a *node.Error with code and the given permanence.
func requireNodeError(t *testing.T, err error, code string, permanent bool) *node.Error {
	t.Helper()
	var ne *node.Error
	require.ErrorAs(t, err, &ne)
	require.Equal(t, code, ne.Code, "error: %v", err)
	require.Equal(t, permanent, node.IsPermanent(err), "error: %v", err)
	return ne
}

func TestExecuteRequest(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		config map[string]any // url is relative to the test server
		check  func(t *testing.T, echo map[string]any)
	}{
		{
			name:   "CustomHeaders",
			config: map[string]any{"url": "/echo", "headers": map[string]any{"X-Api-Key": "k1", "accept": "application/xml", "Host": "api.example"}},
			check: func(t *testing.T, echo map[string]any) {
				headers := echo["headers"].(map[string]any)
				require.Equal(t, "k1", headers["x-api-key"])
				require.Equal(t, "application/xml", headers["accept"])
				require.Equal(t, "api.example", echo["host"])
			},
		},
		{
			name:   "DefaultsToGetWithoutBody",
			config: map[string]any{"url": "/echo"},
			check: func(t *testing.T, echo map[string]any) {
				require.Equal(t, "GET", echo["method"])
				require.Equal(t, "", echo["body"])
				require.NotContains(t, echo["headers"], "content-type")
			},
		},
		{
			name: "FormBody",
			config: map[string]any{
				"method": "POST", "url": "/echo", "bodyType": "form",
				"body": map[string]any{"name": "Ada L", "tags": []any{"a", 2}, "ok": true, "none": nil},
			},
			check: func(t *testing.T, echo map[string]any) {
				require.Equal(t, "application/x-www-form-urlencoded", echo["headers"].(map[string]any)["content-type"])
				require.Equal(t, "name=Ada+L&none=&ok=true&tags=a&tags=2", echo["body"])
			},
		},
		{
			name:   "JSONBody",
			config: map[string]any{"method": "POST", "url": "/echo", "body": map[string]any{"a": 1, "b": "<x&y>", "c": []any{true, nil}}},
			check: func(t *testing.T, echo map[string]any) {
				require.Equal(t, "POST", echo["method"])
				require.Equal(t, "application/json", echo["headers"].(map[string]any)["content-type"])
				require.JSONEq(t, `{"a":1,"b":"<x&y>","c":[true,null]}`, echo["body"].(string))
				require.Contains(t, echo["body"], "<x&y>", "HTML characters are not escaped")
			},
		},
		{
			name:   "JSONBodyKeepsContentType",
			config: map[string]any{"method": "PUT", "url": "/echo", "headers": map[string]any{"Content-Type": "application/merge-patch+json"}, "body": map[string]any{"a": nil}},
			check: func(t *testing.T, echo map[string]any) {
				require.Equal(t, "PUT", echo["method"])
				require.Equal(t, "application/merge-patch+json", echo["headers"].(map[string]any)["content-type"])
				require.Equal(t, `{"a":null}`, echo["body"])
			},
		},
		{
			name:   "JSONStringBody",
			config: map[string]any{"method": "POST", "url": "/echo", "body": "hi"},
			check: func(t *testing.T, echo map[string]any) {
				require.Equal(t, `"hi"`, echo["body"])
			},
		},
		{
			name:   "NoneBodyType",
			config: map[string]any{"method": "DELETE", "url": "/echo", "body": map[string]any{"a": 1}, "bodyType": "none"},
			check: func(t *testing.T, echo map[string]any) {
				require.Equal(t, "DELETE", echo["method"])
				require.Equal(t, "", echo["body"])
			},
		},
		{
			name:   "QueryMerge",
			config: map[string]any{"url": "/echo?keep=1&over=old&b=%2F", "query": map[string]any{"over": "new value", "n": 5, "f": 1.5, "flag": true}},
			check: func(t *testing.T, echo map[string]any) {
				// The URL's own parameters keep their order and encoding; the added ones follow, sorted.
				require.Equal(t, "keep=1&b=%2F&f=1.5&flag=true&n=5&over=new+value", echo["rawQuery"])
			},
		},
		{
			name:   "QueryOnURLWithoutQuery",
			config: map[string]any{"url": "/echo", "query": map[string]any{"q": "a&b=c"}},
			check: func(t *testing.T, echo map[string]any) {
				require.Equal(t, "q=a%26b%3Dc", echo["rawQuery"])
			},
		},
		{
			name:   "TextBody",
			config: map[string]any{"method": "PATCH", "url": "/echo", "body": "plain words", "bodyType": "text"},
			check: func(t *testing.T, echo map[string]any) {
				require.Equal(t, "PATCH", echo["method"])
				require.Equal(t, "text/plain; charset=utf-8", echo["headers"].(map[string]any)["content-type"])
				require.Equal(t, "plain words", echo["body"])
			},
		},
		{
			name:   "TextBodyNumber",
			config: map[string]any{"method": "POST", "url": "/echo", "body": 42, "bodyType": "text"},
			check: func(t *testing.T, echo map[string]any) {
				require.Equal(t, "42", echo["body"])
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{Policy: loopbackPolicy()})
			config := map[string]any{}
			for k, v := range tt.config {
				config[k] = v
			}
			config["url"] = b.srv.URL + tt.config["url"].(string)
			out := b.runOK(t, config)
			require.Equal(t, 200, out["status"])
			echo, ok := out["body"].(map[string]any)
			require.True(t, ok, "body is %T", out["body"])
			tt.check(t, echo)
		})
	}
}

func TestExecuteResponse(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name         string
		path         string
		method       string
		responseType string
		body         any
	}{
		{name: "AutoEmpty", path: "/empty", body: nil},
		{name: "AutoInvalidJSONFallsBackToText", path: "/content?type=application/json&body=not+json", body: "not json"},
		{name: "AutoJSON", path: `/content?type=application/json&body={"x":1,"list":[1,"a",null]}`, body: map[string]any{"x": 1.0, "list": []any{1.0, "a", nil}}},
		{name: "AutoJSONCharset", path: "/content?type=application/json%3B+charset=utf-8&body=[true]", body: []any{true}},
		{name: "AutoNoContentType", path: "/content?body=hello", body: "hello"},
		{name: "AutoProblemJSON", path: `/content?type=application/problem%2Bjson&body={"title":"t"}`, body: map[string]any{"title": "t"}},
		{name: "AutoText", path: "/content?type=text/plain&body=hello", body: "hello"},
		{name: "AutoTextThatLooksLikeJSON", path: "/content?type=text/plain&body={}", body: "{}"},
		{name: "Head", path: "/big?n=100000", method: "HEAD", body: nil},
		{name: "JSONEmpty", path: "/empty", responseType: "json", body: nil},
		{name: "JSONForced", path: "/content?type=text/plain&body=[1,2]", responseType: "json", body: []any{1.0, 2.0}},
		{name: "Latin1Charset", path: "/latin1", body: "café"},
		{name: "TextEmpty", path: "/empty", responseType: "text", body: ""},
		{name: "TextForced", path: `/content?type=application/json&body={"x":1}`, responseType: "text", body: `{"x":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{Policy: loopbackPolicy(), MaxResponseBytes: 1024})
			config := map[string]any{"url": b.srv.URL + tt.path}
			if tt.responseType != "" {
				config["responseType"] = tt.responseType
			}
			if tt.method != "" {
				config["method"] = tt.method
			}
			out := b.runOK(t, config)
			require.Equal(t, tt.body, out["body"])
		})
	}
}

func TestExecuteOutput(t *testing.T) {
	t.Parallel()

	b := setup(t, Config{Policy: loopbackPolicy()})
	target := b.srv.URL + "/content?type=text/plain&body=hi"
	out := b.runOK(t, map[string]any{"url": target})
	require.Equal(t, 200, out["status"])
	require.Equal(t, "OK", out["statusText"])
	require.Equal(t, "hi", out["body"])
	require.Equal(t, target, out["url"])
	headers, ok := out["headers"].(map[string]any)
	require.True(t, ok)
	require.Equal(t, "text/plain", headers["content-type"])
	require.Equal(t, "a, b", headers["x-multi"])
	require.Equal(t, "2", headers["content-length"])

	// The output is plain JSON.
	_, err := json.Marshal(out)
	require.NoError(t, err)
}

func TestExecuteInvalidJSON(t *testing.T) {
	t.Parallel()

	b := setup(t, Config{Policy: loopbackPolicy()})
	_, err := b.run(t, map[string]any{"url": b.srv.URL + "/content?type=text/plain&body=nope", "responseType": "json"})
	ne := requireNodeError(t, err, CodeInvalidJSON, true)
	require.Contains(t, ne.Message, "answered 200 OK with a body that is not valid JSON")
}

func TestExecuteStatus(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name         string
		path         string
		failOnStatus any // nil leaves it unset
		code         int
		permanent    bool
		succeeds     bool
	}{
		{name: "BadGatewayWithHTMLBody", path: "/html-error", code: 502},
		{name: "BadRequest", path: "/status/400", code: 400, permanent: true},
		{name: "Conflict", path: "/status/409", code: 409, permanent: true},
		{name: "FailOnStatusFalse", path: "/status/404", failOnStatus: false, code: 404, succeeds: true},
		{name: "FailOnStatusTrue", path: "/status/404", failOnStatus: true, code: 404, permanent: true},
		{name: "InternalServerError", path: "/status/500", code: 500},
		{name: "NotFound", path: "/status/404", code: 404, permanent: true},
		{name: "Redirect304NotFailing", path: "/status/304", code: 304, succeeds: true},
		{name: "RequestTimeout", path: "/status/408", code: 408},
		{name: "ServiceUnavailable", path: "/status/503", code: 503},
		{name: "TooEarly", path: "/status/425", code: 425},
		{name: "TooManyRequests", path: "/status/429", code: 429},
		{name: "Unauthorized", path: "/status/401", code: 401, permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{Policy: loopbackPolicy()})
			config := map[string]any{"url": b.srv.URL + tt.path}
			if tt.failOnStatus != nil {
				config["failOnStatus"] = tt.failOnStatus
			}
			out, err := b.run(t, config)
			if tt.succeeds {
				require.NoError(t, err)
				require.Equal(t, tt.code, out.Value.(map[string]any)["status"])
				return
			}
			ne := requireNodeError(t, err, CodeHTTPStatus, tt.permanent)
			require.Equal(t, fmt.Sprintf("GET %s%s answered %d %s", b.srv.URL, tt.path, tt.code, http.StatusText(tt.code)), ne.Message)
			details, ok := ne.Details.(map[string]any)
			require.True(t, ok)
			require.Equal(t, tt.code, details["status"])
			require.NotNil(t, details["body"])
		})
	}
}

func TestExecuteTimeout(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		cfg    Config
		config map[string]any
	}{
		{name: "ConfigTimeout", config: map[string]any{"timeout": "50ms"}},
		{name: "DefaultTimeout", cfg: Config{DefaultTimeout: 50 * time.Millisecond}, config: map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.Policy = loopbackPolicy()
			b := setup(t, cfg)
			config := map[string]any{"url": b.srv.URL + "/block"}
			for k, v := range tt.config {
				config[k] = v
			}
			_, err := b.run(t, config)
			ne := requireNodeError(t, err, CodeTimeout, false)
			require.Equal(t, "GET "+b.srv.URL+"/block: no complete response within 50ms", ne.Message)
		})
	}
}

func TestExecuteResponseTooLarge(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		path    string
		limit   any // the node's maxResponseBytes; nil leaves it unset
		message string
	}{
		{name: "ChunkedOverServerLimit", path: "/big?n=1025&chunked=1", message: "limit of 1 KiB (1024 bytes)"},
		{name: "ChunkedWithinLimit", path: "/big?n=1024&chunked=1"},
		{name: "LengthOverServerLimit", path: "/big?n=2048", message: "limit of 1 KiB (1024 bytes)"},
		{name: "NodeLimitCappedByServer", path: "/big?n=2048", limit: 1 << 30, message: "limit of 1 KiB (1024 bytes)"},
		{name: "NodeLimitExact", path: "/big?n=10", limit: 10},
		{name: "NodeLimitOver", path: "/big?n=11", limit: 10, message: "limit of 10 bytes"},
		{name: "NodeLimitOverChunked", path: "/big?n=11&chunked=1", limit: 10, message: "limit of 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{Policy: loopbackPolicy(), MaxResponseBytes: 1024})
			config := map[string]any{"url": b.srv.URL + tt.path}
			if tt.limit != nil {
				config["maxResponseBytes"] = tt.limit
			}
			out, err := b.run(t, config)
			if tt.message == "" {
				require.NoError(t, err)
				require.Equal(t, 200, out.Value.(map[string]any)["status"])
				return
			}
			ne := requireNodeError(t, err, CodeResponseTooLarge, true)
			require.Contains(t, ne.Message, tt.message)
			require.Contains(t, ne.Message, "maxResponseBytes")
		})
	}
}

func TestExecuteRedirect(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		to       func(port string) string
		resolver netguard.Resolver
		code     string // empty when the redirect is followed
		reason   string
	}{
		{name: "Followed", to: func(string) string { return "/echo" }},
		{
			name:     "FollowedToAllowedName",
			to:       func(port string) string { return "http://api.test:" + port + "/echo" },
			resolver: staticResolver("127.0.0.1"),
		},
		{name: "ToBlockedLiteral", to: func(port string) string { return "http://127.0.0.2:" + port + "/echo" }, code: CodeSSRFBlocked, reason: "loopback address"},
		{
			// The name passes the URL check; the address it resolves to is refused when dialled.
			name:     "ToBlockedResolvedName",
			to:       func(port string) string { return "http://internal.test:" + port + "/echo" },
			resolver: staticResolver("127.0.0.2"),
			code:     CodeSSRFBlocked,
			reason:   "loopback address",
		},
		{name: "ToFileScheme", to: func(string) string { return "file:///etc/passwd" }, code: CodeSSRFBlocked, reason: `URL scheme "file" is not allowed; use http or https`},
		{name: "ToMetadata", to: func(string) string { return "http://169.254.169.254/latest/meta-data/" }, code: CodeSSRFBlocked, reason: "cloud metadata endpoint"},
		{name: "TooMany", to: func(string) string { return "/loop" }, code: CodeTooManyRedirects},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			policy := loopbackPolicy()
			policy.Resolver = tt.resolver
			b := setup(t, Config{Policy: policy})
			_, port, err := net.SplitHostPort(b.srv.Listener.Addr().String())
			require.NoError(t, err)
			target := tt.to(port)
			out, err := b.run(t, map[string]any{"url": b.srv.URL + "/redirect?to=" + url.QueryEscape(target)})
			if tt.code == "" {
				require.NoError(t, err)
				value := out.Value.(map[string]any)
				require.Equal(t, 200, value["status"])
				require.True(t, strings.HasSuffix(value["url"].(string), "/echo"), "final URL %s", value["url"])
				require.Equal(t, "/echo", value["body"].(map[string]any)["path"])
				return
			}
			ne := requireNodeError(t, err, tt.code, true)
			if tt.reason != "" {
				require.Equal(t, tt.reason, ne.Details.(map[string]any)["reason"])
			}
		})
	}
}

func TestExecuteSSRF(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		url    func(srvURL, port string) string
		policy *netguard.Policy
		reason string
	}{
		{name: "DecimalHost", url: func(_, port string) string { return "http://2130706433:" + port + "/echo" }, reason: "loopback address"},
		{name: "HexHost", url: func(_, port string) string { return "http://0x7f.0.0.1:" + port + "/echo" }, reason: "loopback address"},
		{name: "MappedMetadata", url: func(string, string) string { return "http://[::ffff:169.254.169.254]/latest/meta-data/" }, reason: "cloud metadata endpoint"},
		{name: "Metadata", url: func(string, string) string { return "http://169.254.169.254/latest/meta-data/" }, reason: "cloud metadata endpoint"},
		{name: "MetadataDespiteAllowPrivate", url: func(string, string) string { return "http://169.254.169.254/" }, policy: &netguard.Policy{AllowPrivate: true}, reason: "cloud metadata endpoint"},
		{name: "NameResolvingToPrivate", url: func(string, string) string { return "http://internal.example/" }, policy: &netguard.Policy{Resolver: staticResolver("10.1.2.3")}, reason: "private network address"},
		{name: "OctalHost", url: func(_, port string) string { return "http://0177.0.0.1:" + port + "/echo" }, reason: "loopback address"},
		{name: "ServerOnLoopback", url: func(srvURL, _ string) string { return srvURL + "/echo" }, reason: "loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Config{Policy: tt.policy})
			_, port, err := net.SplitHostPort(b.srv.Listener.Addr().String())
			require.NoError(t, err)
			_, err = b.run(t, map[string]any{"url": tt.url(b.srv.URL, port)})
			ne := requireNodeError(t, err, CodeSSRFBlocked, true)
			require.Contains(t, ne.Message, "refused to connect")
			require.Equal(t, tt.reason, ne.Details.(map[string]any)["reason"])
		})
	}
}

func TestExecuteNetworkError(t *testing.T) {
	t.Parallel()

	b := setup(t, Config{Policy: loopbackPolicy()})
	// A port that was just released refuses connections.
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	_, err := b.run(t, map[string]any{
		"url":     closedURL + "/x?api_key=k3y",
		"headers": map[string]any{"Authorization": "Bearer s3cret", "Cookie": "session=c00kie"},
	})
	ne := requireNodeError(t, err, CodeRequestFailed, false)
	require.True(t, strings.HasPrefix(ne.Message, "GET "+closedURL+"/x: "), ne.Message)
	for _, secret := range []string{"s3cret", "c00kie", "k3y"} {
		require.NotContains(t, ne.Message, secret)
	}
}

func TestExecuteDoesNotEchoSecrets(t *testing.T) {
	t.Parallel()

	b := setup(t, Config{Policy: loopbackPolicy()})
	_, err := b.run(t, map[string]any{
		"url":     b.srv.URL + "/status/401?api_key=k3y",
		"headers": map[string]any{"Authorization": "Bearer s3cret", "Cookie": "session=c00kie"},
	})
	ne := requireNodeError(t, err, CodeHTTPStatus, true)
	require.Equal(t, "GET "+b.srv.URL+"/status/401 answered 401 Unauthorized", ne.Message)
	for _, secret := range []string{"s3cret", "c00kie", "k3y"} {
		require.NotContains(t, err.Error(), secret)
	}
}

func TestExecuteCanceled(t *testing.T) {
	t.Parallel()

	b := setup(t, Config{Policy: loopbackPolicy()})
	n, err := b.typ.Instantiate(map[string]any{"url": b.srv.URL + "/echo"}, false)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = n.Execute(ctx, &node.Input{})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, node.IsPermanent(err))
}

func TestExecuteSharesClientAndKeepsInput(t *testing.T) {
	t.Parallel()

	b := setup(t, Config{Policy: loopbackPolicy()})
	first := b.typ.Info.New().(*Request)
	second := b.typ.Info.New().(*Request)
	require.NotSame(t, first, second)
	require.Same(t, first.shared, second.shared)
	require.NotNil(t, first.shared.client)

	config := map[string]any{"method": "POST", "url": b.srv.URL + "/echo", "body": map[string]any{"n": 1}}
	data := map[string]any{"items": []any{map[string]any{"id": 1.0}}}
	in := &node.Input{Data: data, Trigger: map[string]any{"t": "x"}}

	const workers = 8
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		n, err := b.typ.Instantiate(config, false)
		require.NoError(t, err)
		require.Same(t, first.shared, n.(*Request).shared)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := n.Execute(t.Context(), in)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, map[string]any{"items": []any{map[string]any{"id": 1.0}}}, data)
	require.Equal(t, map[string]any{"n": 1}, config["body"])
}

func TestExecuteWithoutNew(t *testing.T) {
	t.Parallel()

	_, err := (&Request{URL: "http://example.com/"}).Execute(t.Context(), &node.Input{})
	require.True(t, node.IsPermanent(err))
	require.ErrorContains(t, err, "not made by httpnode.New")
}
