package python_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/plugin/plugintest"
	"github.com/concertmaster/concertmaster/pkg/plugin"
	"github.com/concertmaster/concertmaster/pkg/plugin/python"
)

// start copies hello-python's main.py, testdata/probe.py and the helper into a new folder and runs
// `python3 script` there with env.
func start(t *testing.T, script string, env ...string) *plugintest.Process {
	t.Helper()
	_, err := exec.LookPath("python3")
	require.NoError(t, err, "the Python helper's tests need python3 on PATH")
	dir := t.TempDir()
	for name, from := range map[string]string{"main.py": "../../../examples/plugins/hello-python/main.py", "probe.py": "testdata/probe.py"} {
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, python.FileName), python.Source(), 0o600))
	return plugintest.Start(t, dir, env, "python3", script)
}

func config(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// waitStderr waits until the plugin's stderr holds want.
func waitStderr(t *testing.T, p *plugintest.Process, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(p.Stderr(), want) }, plugintest.Timeout, 5*time.Millisecond,
		"stderr never held %q:\n%s", want, p.Stderr())
}

func TestSourceIsTheFile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(python.FileName)
	require.NoError(t, err)
	require.Equal(t, b, python.Source())
}

// TestHelloPython runs examples/plugins/hello-python as the server would: python3 main.py.
func TestHelloPython(t *testing.T) {
	t.Parallel()
	p := start(t, "main.py")
	greet := func(id uint64, cfg any) plugin.Request {
		return plugin.Request{ID: id, Type: "hellopy.greet", Config: config(t, cfg)}
	}

	resp := p.Call(greet(1, map[string]any{"name": " Ada "}))
	require.Nil(t, resp.Error)
	require.JSONEq(t, `{"greeting":"Hello, Ada!"}`, string(resp.Output))
	require.Equal(t, []plugin.Log{{Level: "info", Message: "greeting Ada"}}, resp.Logs)

	// Eight requests in flight at once, answered by id.
	for i := range 8 {
		p.Request(greet(uint64(10+i), map[string]any{"name": fmt.Sprintf("n%d", 10+i)}))
	}
	seen := map[uint64]bool{}
	for range 8 {
		resp := p.Recv()
		require.Nil(t, resp.Error)
		require.JSONEq(t, fmt.Sprintf(`{"greeting":"Hello, n%d!"}`, resp.ID), string(resp.Output))
		seen[resp.ID] = true
	}
	require.Len(t, seen, 8)

	// A handler's exception is an error response, and the plugin keeps serving.
	resp = p.Call(greet(20, map[string]any{}))
	require.Equal(t, &plugin.Error{Message: "name is empty", Code: "invalid_config", Permanent: true}, resp.Error)
	resp = p.Call(greet(21, map[string]any{"name": 5}))
	require.Equal(t, &plugin.Error{Message: "name must be a string", Code: "invalid_config", Permanent: true}, resp.Error)
	resp = p.Call(plugin.Request{ID: 22, Type: "hellopy.greet"})
	require.Equal(t, "name is empty", resp.Error.Message, "no configuration at all")

	// A bad line gets an error answer, and the plugin keeps serving.
	p.Send("{nope")
	resp = p.Recv()
	require.Zero(t, resp.ID)
	require.Equal(t, "invalid_request", resp.Error.Code)
	require.Contains(t, resp.Error.Message, "request is not valid: Expecting property name")
	resp = p.Call(greet(23, map[string]any{"name": "Grace"}))
	require.JSONEq(t, `{"greeting":"Hello, Grace!"}`, string(resp.Output))

	p.CloseStdin()
	require.NoError(t, p.Wait(), "the plugin exits cleanly when its stdin closes")
}

func TestHelper(t *testing.T) {
	t.Parallel()

	t.Run("CancelIsDelivered", func(t *testing.T) {
		t.Parallel()
		p := start(t, "probe.py")
		p.Request(plugin.Request{ID: 1, Type: "probe.wait_cancel"})
		waitStderr(t, p, "waiting for cancel 1")
		p.Send(`{"id":999,"cancel":true}`) // unknown: ignored
		p.Send(`{"id":1,"cancel":true}`)
		resp := p.Recv()
		require.Equal(t, uint64(1), resp.ID)
		require.JSONEq(t, `{"canceled":true}`, string(resp.Output))
		require.Equal(t, []plugin.Log{{Level: "info", Message: "waiting"}}, resp.Logs)
	})

	t.Run("CanceledBeforeItStarted", func(t *testing.T) {
		t.Parallel()
		p := start(t, "probe.py", "CM_PLUGIN_CONCURRENCY=1")
		p.Request(plugin.Request{ID: 1, Type: "probe.wait_cancel"})
		waitStderr(t, p, "waiting for cancel 1")
		p.Request(plugin.Request{ID: 2, Type: "probe.echo", Config: json.RawMessage(`"queued"`)})
		p.Send(`{"id":2,"cancel":true}`)
		p.Send(`{"id":1,"cancel":true}`)
		resp := p.Recv()
		require.Equal(t, uint64(1), resp.ID)
		require.JSONEq(t, `{"canceled":true}`, string(resp.Output))
		resp = p.Recv()
		require.Equal(t, uint64(2), resp.ID)
		require.Equal(t, &plugin.Error{Message: "request was canceled before it started", Code: "canceled"}, resp.Error)
	})

	t.Run("ConcurrencyFromTheEnvironment", func(t *testing.T) {
		t.Parallel()
		p := start(t, "probe.py", "CM_PLUGIN_CONCURRENCY=8")
		for i := range 8 { // each waits until all eight run at once
			p.Request(plugin.Request{ID: uint64(i + 1), Type: "probe.barrier", Config: json.RawMessage(`{"n":8,"waitMs":20000}`)})
		}
		seen := map[uint64]bool{}
		for range 8 {
			resp := p.Recv()
			require.Nil(t, resp.Error)
			require.JSONEq(t, `{"peak":8}`, string(resp.Output))
			seen[resp.ID] = true
		}
		require.Len(t, seen, 8)
	})

	t.Run("ConcurrencyIsBounded", func(t *testing.T) {
		t.Parallel()
		p := start(t, "probe.py", "CM_PLUGIN_CONCURRENCY=2")
		for i := range 4 {
			p.Request(plugin.Request{ID: uint64(i + 1), Type: "probe.barrier", Config: json.RawMessage(`{"n":4,"waitMs":300}`)})
		}
		for range 4 {
			resp := p.Recv()
			require.JSONEq(t, `{"peak":2}`, string(resp.Output), "no more than 2 run at once")
		}
	})

	t.Run("EmitLogsAndFields", func(t *testing.T) {
		t.Parallel()
		p := start(t, "probe.py")
		resp := p.Call(plugin.Request{
			ID: 1, Type: "probe.emit", Input: json.RawMessage(`{"score":90}`), TimeoutMs: 1500,
			Execution: &plugin.Execution{ExecutionID: "e1", NodeID: "score"},
		})
		require.Nil(t, resp.Error)
		require.Equal(t, "high", resp.Port)
		require.JSONEq(t, `{"input":{"score":90},"timeoutMs":1500}`, string(resp.Output))
		require.Len(t, resp.Logs, 100, "logs are bounded")
		require.Equal(t, plugin.Log{Level: "debug", Message: "line 99 of score"}, resp.Logs[99])
	})

	t.Run("EndOfInputWaitsForRunningRequests", func(t *testing.T) {
		t.Parallel()
		p := start(t, "probe.py")
		p.Request(plugin.Request{ID: 1, Type: "probe.barrier", Config: json.RawMessage(`{"n":2,"waitMs":300}`)})
		p.CloseStdin()
		resp := p.Recv()
		require.Equal(t, uint64(1), resp.ID)
		require.JSONEq(t, `{"peak":1}`, string(resp.Output))
		require.NoError(t, p.Wait())
	})

	t.Run("ExceptionsBecomeErrors", func(t *testing.T) {
		t.Parallel()
		p := start(t, "probe.py")
		tests := []struct {
			typ  string
			want *plugin.Error
		}{
			{"probe.boom", &plugin.Error{Message: "KeyError: 'missing'"}},
			{"probe.coded", &plugin.Error{Message: "slow down", Code: "rate_limited"}},
			{"probe.exit", &plugin.Error{Message: "SystemExit: 3"}},
			{"probe.nope", &plugin.Error{Message: "no handler for this node type: probe.nope", Code: "unknown_type", Permanent: true}},
		}
		for i, tt := range tests {
			resp := p.Call(plugin.Request{ID: uint64(i + 1), Type: tt.typ})
			require.Equal(t, tt.want, resp.Error, tt.typ)
			require.Nil(t, resp.Output)
		}
		require.Contains(t, p.Stderr(), "Traceback", "an unexpected exception's traceback is logged")
		resp := p.Call(plugin.Request{ID: 9, Type: "probe.echo", Config: json.RawMessage(`{"still":"serving"}`)})
		require.JSONEq(t, `{"still":"serving"}`, string(resp.Output))
	})

	t.Run("GarbageIsAnsweredWithAnError", func(t *testing.T) {
		t.Parallel()
		p := start(t, "probe.py")
		tests := []struct {
			line    string
			id      uint64
			message string
		}{
			{"hello?", 0, "request is not valid: Expecting value"},
			{"[1, 2]", 0, "request is not valid: not a JSON object"},
			{`{"id":-1,"type":"probe.echo"}`, 0, "id must be a whole number"},
			{`{"id":"7","type":"probe.echo"}`, 0, "id must be a whole number"},
			{`{"id":3,"type":"probe.echo","config":NaN}`, 0, "request is not valid: NaN is not JSON"},
			{`{"id":7,"type":5}`, 7, "request is not valid: type must be a string"},
			{`{"id":8,"type":"probe.echo","execution":[]}`, 8, "execution must be a JSON object"},
			{"\xff\xfe", 0, "request is not valid"},
			{strings.Repeat("[", 100_000), 0, "request is not valid"},
		}
		for _, tt := range tests {
			p.Send("")
			p.Send(tt.line)
			resp := p.Recv()
			require.Equal(t, tt.id, resp.ID, tt.line)
			require.Equal(t, "invalid_request", resp.Error.Code, tt.line)
			require.True(t, resp.Error.Permanent)
			require.Contains(t, resp.Error.Message, tt.message, tt.line)
		}
		resp := p.Call(plugin.Request{ID: 10, Type: "probe.echo", Config: json.RawMessage(`"still serving"`)})
		require.JSONEq(t, `"still serving"`, string(resp.Output))
	})

	t.Run("LineTooLong", func(t *testing.T) {
		t.Parallel()
		p := start(t, "probe.py")
		chunk := strings.Repeat("x", 1<<20)
		_, err := io.WriteString(p, `{"id":1,"type":"probe.echo","config":"`)
		require.NoError(t, err)
		for written := 0; written <= plugin.MaxLineBytes; written += len(chunk) {
			_, err := io.WriteString(p, chunk)
			require.NoError(t, err)
		}
		p.Send(`"}`)
		resp := p.Recv()
		require.Equal(t, &plugin.Error{Message: "request line is over 67108864 bytes", Code: "invalid_request", Permanent: true}, resp.Error)
		resp = p.Call(plugin.Request{ID: 2, Type: "probe.echo", Config: json.RawMessage(`"next"`)})
		require.JSONEq(t, `"next"`, string(resp.Output))
	})

	t.Run("OutputThatIsNotJSON", func(t *testing.T) {
		t.Parallel()
		p := start(t, "probe.py")
		resp := p.Call(plugin.Request{ID: 1, Type: "probe.nan"})
		require.Equal(t, "invalid_output", resp.Error.Code)
		require.True(t, resp.Error.Permanent)
		require.Contains(t, resp.Error.Message, "encode output: Out of range float values are not JSON compliant")
		require.Equal(t, []plugin.Log{{Level: "warn", Message: "about to return NaN"}}, resp.Logs)
		resp = p.Call(plugin.Request{ID: 2, Type: "probe.set"})
		require.Equal(t, "invalid_output", resp.Error.Code)
		require.Contains(t, resp.Error.Message, "not JSON serializable")
	})

	t.Run("StdoutIsKeptForTheProtocol", func(t *testing.T) {
		t.Parallel()
		p := start(t, "probe.py")
		resp := p.Call(plugin.Request{ID: 1, Type: "probe.print"}) // Recv fails on any other line
		require.JSONEq(t, `"printed"`, string(resp.Output))
		waitStderr(t, p, "a child process")
		require.Contains(t, p.Stderr(), "print() in a handler")
		require.Contains(t, p.Stderr(), "os.write(1) in a handler")
	})
}

// BenchmarkHelloPythonRoundTrip measures one hellopy.greet request answered by python3 main.py,
// sequentially over the pipes: p50 and p95 in microseconds.
func BenchmarkHelloPythonRoundTrip(b *testing.B) {
	_, err := exec.LookPath("python3")
	require.NoError(b, err)
	dir := b.TempDir()
	src, err := os.ReadFile("../../../examples/plugins/hello-python/main.py")
	require.NoError(b, err)
	require.NoError(b, os.WriteFile(filepath.Join(dir, "main.py"), src, 0o600))
	require.NoError(b, os.WriteFile(filepath.Join(dir, python.FileName), python.Source(), 0o600))
	p := plugintest.Start(b, dir, nil, "python3", "main.py")
	cfg := json.RawMessage(`{"name":"Ada"}`)
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		resp := p.Call(plugin.Request{ID: uint64(i + 1), Type: "hellopy.greet", Config: cfg})
		times = append(times, time.Since(start))
		if resp.Error != nil {
			b.Fatal(resp.Error.Message)
		}
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds()), "p95-µs")
}
