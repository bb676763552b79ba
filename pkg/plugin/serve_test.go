package plugin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// TestMain lets a test run this binary as a process plugin: with CM_PLUGIN_TEST_MAIN=1 it serves
// test.stray through plugin.Main.
func TestMain(m *testing.M) {
	if os.Getenv("CM_PLUGIN_TEST_MAIN") == "1" {
		plugin.Handle("test.stray", func(_ context.Context, _ *plugin.Call) (plugin.Result, error) {
			fmt.Println("a stray line on stdout")
			return plugin.Out("ok"), nil
		})
		plugin.Main()
	}
	os.Exit(m.Run())
}

const waitTimeout = 10 * time.Second

type serveBundle struct {
	mux   *plugin.Mux
	stdin *io.PipeWriter
	resps chan plugin.Response
	done  chan error
}

// setupServe runs ServeProcess on pipes until the test ends.
func setupServe(t *testing.T) *serveBundle {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	b := &serveBundle{mux: plugin.NewMux(), stdin: inW, resps: make(chan plugin.Response, 100), done: make(chan error, 1)}
	go func() {
		err := plugin.ServeProcess(context.Background(), b.mux, inR, outW)
		_ = outW.Close()
		b.done <- err
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			var resp plugin.Response
			if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
				resp = plugin.Response{Error: &plugin.Error{Message: "test: response is not JSON: " + sc.Text()}}
			}
			b.resps <- resp
		}
		close(b.resps)
	}()
	t.Cleanup(func() {
		_ = inW.Close()
		select {
		case err := <-b.done:
			require.NoError(t, err)
		case <-time.After(waitTimeout):
			t.Error("ServeProcess did not return after stdin closed")
		}
	})
	return b
}

func (b *serveBundle) send(t *testing.T, line string) {
	t.Helper()
	_, err := io.WriteString(b.stdin, line+"\n")
	require.NoError(t, err)
}

func (b *serveBundle) request(t *testing.T, req plugin.Request) {
	t.Helper()
	b.send(t, string(encode(t, req)))
}

func (b *serveBundle) recv(t *testing.T) plugin.Response {
	t.Helper()
	select {
	case resp, ok := <-b.resps:
		require.True(t, ok, "stdout closed")
		return resp
	case <-time.After(waitTimeout):
		t.Fatal("no response")
		return plugin.Response{}
	}
}

func echo(_ context.Context, c *plugin.Call) (plugin.Result, error) {
	var v any
	if err := c.DecodeConfig(&v); err != nil {
		return plugin.Result{}, plugin.Permanent(err)
	}
	return plugin.Out(v), nil
}

func TestServeProcess(t *testing.T) {
	t.Parallel()

	t.Run("AnswersInTheOrderRequestsFinish", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		release := make(chan struct{})
		b.mux.Handle("test.slow", func(_ context.Context, _ *plugin.Call) (plugin.Result, error) {
			<-release
			return plugin.Out("slow"), nil
		})
		b.mux.Handle("test.echo", echo)
		b.request(t, plugin.Request{ID: 1, Type: "test.slow"})
		b.request(t, plugin.Request{ID: 2, Type: "test.echo", Config: json.RawMessage(`"fast"`)})
		resp := b.recv(t)
		require.Equal(t, uint64(2), resp.ID)
		require.JSONEq(t, `"fast"`, string(resp.Output))
		close(release)
		resp = b.recv(t)
		require.Equal(t, uint64(1), resp.ID)
		require.JSONEq(t, `"slow"`, string(resp.Output))
	})

	t.Run("BlankLinesAreSkipped", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		b.mux.Handle("test.echo", echo)
		b.send(t, "")
		b.send(t, " \t\r")
		b.request(t, plugin.Request{ID: 3, Type: "test.echo", Config: json.RawMessage(`1`)})
		require.Equal(t, uint64(3), b.recv(t).ID)
	})

	t.Run("CancelCancelsTheHandlersContext", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		started := make(chan struct{})
		b.mux.Handle("test.wait", func(ctx context.Context, _ *plugin.Call) (plugin.Result, error) {
			close(started)
			<-ctx.Done()
			return plugin.Result{}, fmt.Errorf("stopped: %w", ctx.Err())
		})
		b.request(t, plugin.Request{ID: 9, Type: "test.wait"})
		<-started
		b.send(t, `{"id":123,"cancel":true}`) // no such request: ignored
		b.send(t, `{"id":9,"cancel":true}`)
		resp := b.recv(t)
		require.Equal(t, uint64(9), resp.ID)
		require.Equal(t, &plugin.Error{Message: "stopped: context canceled"}, resp.Error)
	})

	t.Run("ConcurrentRequestsAnsweredByID", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		const n = 8
		var arrived atomic.Int32
		all := make(chan struct{})
		b.mux.Handle("test.barrier", func(ctx context.Context, c *plugin.Call) (plugin.Result, error) {
			if arrived.Add(1) == n {
				close(all)
			}
			select { // every request waits for all n: they can only finish if they run at once
			case <-all:
			case <-ctx.Done():
				return plugin.Result{}, ctx.Err()
			}
			var cfg struct{ N int }
			if err := c.DecodeConfig(&cfg); err != nil {
				return plugin.Result{}, err
			}
			return plugin.Out(map[string]int{"n": cfg.N}), nil
		})
		for i := 1; i <= n; i++ {
			b.request(t, plugin.Request{ID: uint64(i), Type: "test.barrier", Config: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i*10))})
		}
		seen := map[uint64]bool{}
		for range n {
			resp := b.recv(t)
			require.Nil(t, resp.Error)
			require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, resp.ID*10), string(resp.Output))
			seen[resp.ID] = true
		}
		require.Len(t, seen, n)
	})

	t.Run("EndOfInputWaitsForRunningRequests", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		started, release := make(chan struct{}), make(chan struct{})
		b.mux.Handle("test.slow", func(_ context.Context, _ *plugin.Call) (plugin.Result, error) {
			close(started)
			<-release
			return plugin.Out("done"), nil
		})
		b.request(t, plugin.Request{ID: 4, Type: "test.slow"})
		<-started
		require.NoError(t, b.stdin.Close())
		select {
		case err := <-b.done:
			t.Fatalf("ServeProcess returned (%v) while a request ran", err)
		case <-time.After(50 * time.Millisecond): // a short look for a wrong early return, not a wait for work
		}
		close(release)
		resp := b.recv(t)
		require.Equal(t, uint64(4), resp.ID)
		require.JSONEq(t, `"done"`, string(resp.Output))
		select {
		case err := <-b.done:
			require.NoError(t, err)
			b.done <- err // for the cleanup
		case <-time.After(waitTimeout):
			t.Fatal("ServeProcess did not return")
		}
	})

	t.Run("ErrorsMapToErrorFields", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		tests := []struct {
			name string
			err  error
			want *plugin.Error
		}{
			{"Coded", &plugin.CodedError{Code: "rate_limited", Message: "slow down"}, &plugin.Error{Message: "slow down", Code: "rate_limited"}},
			{"CodedPermanent", plugin.Permanent(fmt.Errorf("call api: %w", &plugin.CodedError{Code: "invalid_input", Message: "no id"})),
				&plugin.Error{Message: "call api: no id", Code: "invalid_input", Permanent: true}},
			{"Permanent", plugin.Permanent(errors.New("name is empty")), &plugin.Error{Message: "name is empty", Permanent: true}},
			{"PermanentWrapped", fmt.Errorf("greet: %w", plugin.Permanent(errors.New("name is empty"))), &plugin.Error{Message: "greet: name is empty", Permanent: true}},
			{"Plain", errors.New("try again"), &plugin.Error{Message: "try again"}},
		}
		for i, tt := range tests {
			b.mux.Handle("test."+strings.ToLower(tt.name), func(context.Context, *plugin.Call) (plugin.Result, error) {
				return plugin.Result{}, tt.err
			})
			b.request(t, plugin.Request{ID: uint64(i + 1), Type: "test." + strings.ToLower(tt.name)})
		}
		got := map[uint64]*plugin.Error{}
		for range tests {
			resp := b.recv(t)
			require.Empty(t, resp.Output)
			got[resp.ID] = resp.Error
		}
		for i, tt := range tests {
			require.Equal(t, tt.want, got[uint64(i+1)], tt.name)
		}
		require.Nil(t, plugin.Permanent(nil))
	})

	t.Run("GarbageIsAnsweredWithAnError", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		b.mux.Handle("test.echo", echo)
		b.send(t, "hello?")
		resp := b.recv(t)
		require.Zero(t, resp.ID)
		require.Equal(t, "invalid_request", resp.Error.Code)
		require.True(t, resp.Error.Permanent)
		require.Contains(t, resp.Error.Message, "request is not valid: invalid character 'h'")

		b.send(t, `{"id":7,"type":["not","a","string"]}`)
		resp = b.recv(t)
		require.Equal(t, uint64(7), resp.ID, "the id is answered when it could be read")
		require.Equal(t, "invalid_request", resp.Error.Code)

		b.request(t, plugin.Request{ID: 8, Type: "test.echo", Config: json.RawMessage(`"still serving"`)})
		resp = b.recv(t)
		require.Equal(t, uint64(8), resp.ID)
		require.JSONEq(t, `"still serving"`, string(resp.Output))
	})

	t.Run("LineTooLongIsAnsweredAndSkipped", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		b.mux.Handle("test.echo", echo)
		chunk := []byte(`{"id":1,"type":"test.echo","config":"` + strings.Repeat("x", 1<<20))
		for written := 0; written <= plugin.MaxLineBytes; written += len(chunk) {
			_, err := b.stdin.Write(chunk)
			require.NoError(t, err)
		}
		b.send(t, `"}`)
		resp := b.recv(t)
		require.Zero(t, resp.ID)
		require.Equal(t, &plugin.Error{Message: "request line is over 67108864 bytes", Code: "invalid_request", Permanent: true}, resp.Error)

		b.request(t, plugin.Request{ID: 2, Type: "test.echo", Config: json.RawMessage(`"next"`)})
		require.Equal(t, uint64(2), b.recv(t).ID)
	})

	t.Run("LogsAndPorts", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		b.mux.Handle("test.route", func(_ context.Context, c *plugin.Call) (plugin.Result, error) {
			var in struct{ Score int }
			if err := c.DecodeInput(&in); err != nil {
				return plugin.Result{}, plugin.Permanent(err)
			}
			for i := range 150 {
				c.Log("debug", "line %d of %s", i, c.Execution.NodeID)
			}
			return plugin.Emit("high", in), nil
		})
		b.request(t, plugin.Request{ID: 1, Type: "test.route", Input: json.RawMessage(`{"score":90}`), Execution: &plugin.Execution{NodeID: "score"}})
		resp := b.recv(t)
		require.Nil(t, resp.Error)
		require.Equal(t, "high", resp.Port)
		require.JSONEq(t, `{"Score":90}`, string(resp.Output))
		require.Len(t, resp.Logs, 100, "logs are bounded")
		require.Equal(t, plugin.Log{Level: "debug", Message: "line 0 of score"}, resp.Logs[0])
		require.Equal(t, plugin.Log{Level: "debug", Message: "line 99 of score"}, resp.Logs[99])

		b.request(t, plugin.Request{ID: 2, Type: "test.route", Input: json.RawMessage(`[]`)})
		resp = b.recv(t)
		require.True(t, resp.Error.Permanent)
		require.Contains(t, resp.Error.Message, "decode input: json: cannot unmarshal array")
	})

	t.Run("OutputThatIsNotJSON", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		b.mux.Handle("test.chan", func(context.Context, *plugin.Call) (plugin.Result, error) {
			return plugin.Out(make(chan int)), nil
		})
		b.request(t, plugin.Request{ID: 1, Type: "test.chan"})
		resp := b.recv(t)
		require.Equal(t, "invalid_output", resp.Error.Code)
		require.True(t, resp.Error.Permanent)
	})

	t.Run("PanicBecomesAnError", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		b.mux.Handle("test.panic", func(_ context.Context, c *plugin.Call) (plugin.Result, error) {
			c.Log("info", "about to fail")
			panic("out of coffee")
		})
		b.mux.Handle("test.echo", echo)
		b.request(t, plugin.Request{ID: 5, Type: "test.panic"})
		resp := b.recv(t)
		require.Equal(t, uint64(5), resp.ID)
		require.Equal(t, "plugin_panic", resp.Error.Code)
		require.Contains(t, resp.Error.Message, "plugin handler panicked: out of coffee")
		require.Equal(t, []plugin.Log{{Level: "info", Message: "about to fail"}}, resp.Logs)

		b.request(t, plugin.Request{ID: 6, Type: "test.echo", Config: json.RawMessage(`true`)})
		require.Equal(t, uint64(6), b.recv(t).ID, "the plugin keeps serving")
	})

	t.Run("UnknownTypeIsPermanent", func(t *testing.T) {
		t.Parallel()
		b := setupServe(t)
		b.request(t, plugin.Request{ID: 1, Type: "test.nope"})
		resp := b.recv(t)
		require.Equal(t, &plugin.Error{Message: "no handler for this node type: test.nope", Code: "unknown_type", Permanent: true}, resp.Error)
	})
}

func TestServeProcessReadError(t *testing.T) {
	t.Parallel()
	r, w := io.Pipe()
	w.CloseWithError(errors.New("stdin broke"))
	err := plugin.ServeProcess(context.Background(), plugin.NewMux(), r, io.Discard)
	require.EqualError(t, err, "read requests: stdin broke")
}

// TestMainKeepsStdoutForTheProtocol runs this test binary as a process plugin whose handler prints to
// stdout: the line goes to stderr, and stdout holds only the response.
func TestMainKeepsStdoutForTheProtocol(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CM_PLUGIN_TEST_MAIN=1")
	cmd.Stdin = strings.NewReader(`{"id":1,"type":"test.stray"}` + "\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	require.JSONEq(t, `{"id":1,"output":"ok"}`, string(out))
	require.Contains(t, stderr.String(), "a stray line on stdout")
}

func TestServeProcessLastLineWithoutNewline(t *testing.T) {
	t.Parallel()
	mux := plugin.NewMux()
	mux.Handle("test.echo", echo)
	var out strings.Builder
	in := "\r\n" + `{"id":1,"type":"test.echo","config":"a"}` + "\r\n" + `{"id":2,"type":"test.echo","config":"b"}`
	require.NoError(t, plugin.ServeProcess(context.Background(), mux, strings.NewReader(in), &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	require.ElementsMatch(t, []string{`{"id":1,"output":"a"}`, `{"id":2,"output":"b"}`}, lines)
}
