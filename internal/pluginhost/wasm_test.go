package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/pkg/plugin"
)

func newEvil(t testing.TB, extra map[string]any, policy *netguard.Policy) *Wasm {
	t.Helper()
	p := writePlugin(t, t.TempDir(), "evil", evilManifest(extra), "evil")
	b, problems, err := readBundle(p)
	require.NoError(t, err)
	require.Empty(t, problems)
	var hosts []string
	if b.manifest.Network != nil {
		hosts = b.manifest.Network.Hosts
	}
	w, err := NewWasm(context.Background(), b.manifest, b.module, WasmOptions{Cache: sharedCache, Fetch: newFetcher(hosts, policy)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	return w
}

// sharedCache keeps compiled modules for every test of the package and, on disk, for later runs and
// other packages' tests (a Go-built module takes ~40 s to compile under -race).
var sharedCache = CompilationCache(filepath.Join(os.TempDir(), "concertmaster-test-wazero-cache"))

// callLimit is the response limit of the calls the tests make.
const callLimit = 64 << 10

func call(t testing.TB, w *Wasm, typ string, config any) (*plugin.Response, error) {
	t.Helper()
	cfg, _ := json.Marshal(config)
	return w.Call(context.Background(), &plugin.Request{Type: typ, Config: cfg, Input: json.RawMessage(`{"n":1}`)}, Limits{MaxResponseBytes: callLimit})
}

func output(t testing.TB, resp *plugin.Response) map[string]any {
	t.Helper()
	require.Nil(t, resp.Error)
	var out map[string]any
	require.NoError(t, json.Unmarshal(resp.Output, &out))
	return out
}

func TestWasmHello(t *testing.T) {
	t.Parallel()
	p := writePlugin(t, t.TempDir(), "hello", map[string]any{"name": "hello-wasm", "version": "1.0.0",
		"nodes": []any{map[string]any{"type": "hello.greet", "title": "Greet"}}}, "hello")
	b, problems, err := readBundle(p)
	require.NoError(t, err)
	require.Empty(t, problems)
	w, err := NewWasm(context.Background(), b.manifest, b.module, WasmOptions{Cache: sharedCache})
	require.NoError(t, err)
	defer func() { _ = w.Close(context.Background()) }()
	resp, err := call(t, w, "hello.greet", map[string]any{"name": "Ada"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"greeting": "Hello, Ada!"}, output(t, resp))
	require.Equal(t, []plugin.Log{{Level: "info", Message: "greeting Ada"}}, resp.Logs)
	resp, err = call(t, w, "hello.greet", map[string]any{"name": " "})
	require.NoError(t, err)
	require.Equal(t, &plugin.Error{Message: "name is empty", Permanent: true}, resp.Error)
	resp, err = call(t, w, "hello.nope", nil)
	require.NoError(t, err)
	require.True(t, resp.Error.Permanent)
	require.Contains(t, resp.Error.Message, "no handler")
}

// TestWasmAttacks runs the misbehaving module: each attack fails its call (or is contained) and the
// next call on the same runtime works.
func TestWasmAttacks(t *testing.T) {
	t.Parallel()
	w := newEvil(t, nil, nil)
	tests := []struct {
		name   string
		typ    string
		config any
		err    error
		check  func(t *testing.T, resp *plugin.Response)
	}{
		{name: "LoopsForever", typ: "evil.loop", err: context.DeadlineExceeded},
		{name: "AllocatesWithoutEnd", typ: "evil.alloc", err: ErrCrashed},
		{name: "Traps", typ: "evil.trap", err: ErrCrashed},
		{name: "Panics", typ: "evil.panic", check: func(t *testing.T, resp *plugin.Response) {
			require.Contains(t, resp.Error.Message, "handler panics")
		}},
		{name: "OpensFiles", typ: "evil.file", check: func(t *testing.T, resp *plugin.Response) {
			require.NotContains(t, output(t, resp), "read")
		}},
		{name: "OpensSockets", typ: "evil.socket", check: func(t *testing.T, resp *plugin.Response) {
			require.NotContains(t, output(t, resp), "connected")
		}},
		{name: "ReadsTheEnvironment", typ: "evil.env", check: func(t *testing.T, resp *plugin.Response) {
			out := output(t, resp)
			require.Empty(t, out["environ"])
			require.Empty(t, out["home"])
		}},
		{name: "AnswersTooMuch", typ: "evil.big", config: map[string]any{"size": callLimit + 1}, err: ErrResponseTooLarge},
		{name: "FloodsStdout", typ: "evil.print", check: func(t *testing.T, resp *plugin.Response) {
			size := 0
			for _, l := range resp.Logs {
				size += len(l.Message)
			}
			require.LessOrEqual(t, size, maxConsoleBytes)
			require.NotEmpty(t, resp.Logs)
		}},
		{name: "FetchesWithoutNetwork", typ: "evil.fetch", config: map[string]any{"url": "http://example.com/"}, check: func(t *testing.T, resp *plugin.Response) {
			require.Contains(t, output(t, resp)["error"], "no network access")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			resp, err := call(t, w, tt.typ, tt.config)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			} else {
				require.NoError(t, err)
				tt.check(t, resp)
			}
			require.Less(t, time.Since(start), 30*time.Second, "the call ends: its deadline is 5 s")
			// The runtime still serves.
			resp, err = call(t, w, "evil.echo", nil)
			require.NoError(t, err)
			require.Equal(t, map[string]any{"n": float64(1)}, output(t, resp)["input"])
		})
	}
	require.GreaterOrEqual(t, w.Stats().Failures, int64(3))
}

func TestWasmFetch(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("pong " + r.URL.Path)) }))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	allowed := newEvil(t, map[string]any{"network": map[string]any{"hosts": []string{host}}}, &netguard.Policy{AllowPrivate: true})
	resp, err := call(t, allowed, "evil.fetch", map[string]any{"url": srv.URL + "/ping"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"status": float64(200), "body": "pong /ping"}, output(t, resp))

	resp, err = call(t, allowed, "evil.fetch", map[string]any{"url": "http://other.example/"})
	require.NoError(t, err)
	require.Contains(t, output(t, resp)["error"], "not in the plugin's network.hosts")

	guarded := newEvil(t, map[string]any{"network": map[string]any{"hosts": []string{"*"}}}, &netguard.Policy{})
	resp, err = call(t, guarded, "evil.fetch", map[string]any{"url": srv.URL + "/ping"})
	require.NoError(t, err)
	require.Contains(t, output(t, resp)["error"], "CM_HTTP_ALLOW_PRIVATE", "the server's outbound guard applies to plugins too")
}

func TestWasmConcurrentCallsShareBoundedInstances(t *testing.T) {
	t.Parallel()
	w := newEvil(t, nil, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := w.Call(context.Background(), &plugin.Request{Type: "evil.echo", Input: json.RawMessage([]byte(`{"i":` + string(rune('0'+i%10)) + `}`))}, Limits{MaxResponseBytes: 1 << 20})
			if err == nil && resp.Error != nil {
				err = errors.New(resp.Error.Message)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.LessOrEqual(t, w.Stats().Instances, 4)
}

func TestWasmCloseRefusesNewCalls(t *testing.T) {
	t.Parallel()
	w := newEvil(t, nil, nil)
	done := make(chan error, 1)
	go func() {
		_, err := call(t, w, "evil.loop", nil)
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.NoError(t, w.Close(ctx))
	_, err := call(t, w, "evil.echo", nil)
	require.ErrorIs(t, err, ErrClosed)
	select {
	case err := <-done:
		require.Error(t, err, "closing the runtime stops a call that runs forever")
	case <-time.After(10 * time.Second):
		t.Fatal("the looping call did not end when the runtime closed")
	}
}

// vault is the tenant's credentials as an attempt sees them: here one bearer token.
type vault struct {
	mu       sync.Mutex
	redacted []string
}

func (v *vault) Get(_ context.Context, id string, types ...string) (*node.Credential, error) {
	if id != "api" {
		return nil, node.Errorf(node.CodeCredentialNotFound, "credential %s not found", id)
	}
	return &node.Credential{ID: id, Name: "API", Type: "httpBearer", Data: map[string]any{"token": "s3cret"}, Secrets: []string{"s3cret"}}, nil
}

func (v *vault) Redact(values ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.redacted = append(v.redacted, values...)
}

// TestWasmFetchWithCredential: the host sets the header of the credential the node's configuration
// names; the plugin never holds the secret and cannot use another credential.
func TestWasmFetchWithCredential(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("auth=" + r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	dir := t.TempDir()
	man := evilManifest(map[string]any{"network": map[string]any{"hosts": []string{strings.TrimPrefix(srv.URL, "http://")}}})
	writePlugin(t, dir, "evil", man, "evil")
	reg := node.NewRegistry()
	m, err := NewManager(Config{Dir: dir, Registry: reg, Cache: sharedCache, Policy: &netguard.Policy{AllowPrivate: true}})
	require.NoError(t, err)
	defer func() { _ = m.Close(context.Background()) }()
	require.NoError(t, m.Reload(context.Background()))
	typ, ok := reg.Lookup("evil.fetch")
	require.True(t, ok, "%+v", m.List())
	v := &vault{}
	run := func(config map[string]any) map[string]any {
		t.Helper()
		n, err := typ.Instantiate(config, false)
		require.NoError(t, err)
		out, err := n.Execute(context.Background(), &node.Input{Credentials: v})
		require.NoError(t, err)
		return out.Value.(map[string]any)
	}
	out := run(map[string]any{"url": srv.URL, "credential": "api", "useCredential": "api"})
	require.Equal(t, "auth=Bearer s3cret", out["body"])
	require.Contains(t, v.redacted, "Bearer s3cret", "the header's value is redacted from what the attempt outputs")

	out = run(map[string]any{"url": srv.URL, "credential": "api", "useCredential": "other"})
	require.Contains(t, out["error"], "only use the credential the node's configuration names")
	out = run(map[string]any{"url": srv.URL, "useCredential": "api"})
	require.Contains(t, out["error"], "only use the credential the node's configuration names")
}
