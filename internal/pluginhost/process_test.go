package pluginhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// procBins maps the test plugins of testdata/proc to the binaries TestMain built.
var procBins = map[string]string{}

// serverSecret is put in the test process's environment, as the server has CM_ENCRYPTION_KEY in its
// own: no plugin may see it.
const serverSecret = "server-secret-for-tests"

// buildProcPlugins builds the test process plugins into dir (TestMain, main_test.go); it sets the
// server secret the isolation test looks for.
func buildProcPlugins(dir string) error {
	if err := os.Setenv("CM_ENCRYPTION_KEY", serverSecret); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, name := range []string{"hello", "rogue"} {
		bin := filepath.Join(dir, name)
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./testdata/proc/"+name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("build test plugin %s: %w\n%s", name, err, out)
		}
		procBins[name] = bin
	}
	return nil
}

// logBuffer collects a Process's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type procTestBundle struct {
	dir  string
	logs *logBuffer
	proc *Process
}

// procSetup describes the plugin a test runs.
type procSetup struct {
	// bin is the test plugin to run, hello or rogue; it is linked into the plugin folder as ./bin.
	bin string
	// command defaults to ["./<bin>"].
	command     []string
	concurrency int
	// tuneFunc adjusts the Process before its first call.
	tuneFunc func(p *Process)
}

func setupProcess(tb testing.TB, s procSetup) *procTestBundle {
	tb.Helper()
	dir := tb.TempDir()
	if s.bin != "" {
		require.NoError(tb, os.Symlink(procBins[s.bin], filepath.Join(dir, s.bin)))
	}
	command := s.command
	if command == nil {
		command = []string{"./" + s.bin}
	}
	spec := map[string]any{"command": command}
	if s.concurrency > 0 {
		spec["concurrency"] = s.concurrency
	}
	raw, err := json.Marshal(map[string]any{
		"name": "proc-test", "version": "1.2.3", "kind": "process", "process": spec,
		"nodes": []any{map[string]any{"type": "hello.greet", "title": "Greet"}},
	})
	require.NoError(tb, err)
	m, err := plugin.ParseManifest(raw)
	require.NoError(tb, err)
	logs := &logBuffer{}
	p := NewProcess(dir, m, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if s.tuneFunc != nil {
		s.tuneFunc(p)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return &procTestBundle{dir: dir, logs: logs, proc: p}
}

// call runs one request of type typ with config, bounded by timeout.
func (b *procTestBundle) call(typ, config string, timeout time.Duration, limits Limits) (*plugin.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req := &plugin.Request{Type: typ}
	if config != "" {
		req.Config = json.RawMessage(config)
	}
	return b.proc.Call(ctx, req, limits)
}

// callOK runs one request that must succeed and returns its output.
func (b *procTestBundle) callOK(tb testing.TB, typ, config string) string {
	tb.Helper()
	resp, err := b.call(typ, config, 10*time.Second, Limits{})
	require.NoError(tb, err)
	require.Nil(tb, resp.Error)
	return string(resp.Output)
}

// processGone reports whether no process has id pid any longer.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

const (
	waitFor  = 10 * time.Second
	pollTick = 5 * time.Millisecond
)

func TestProcess(t *testing.T) {
	t.Parallel()

	t.Run("CancelAnswered", func(t *testing.T) {
		t.Parallel()
		b := setupProcess(t, procSetup{bin: "hello", concurrency: 1})
		b.callOK(t, "hello.greet", `{"name":"a"}`)
		firstPID := b.proc.Stats().PID

		start := time.Now()
		_, err := b.call("test.block", "", 100*time.Millisecond, Limits{})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), time.Second)
		// The plugin answers the cancel; the answer frees the slot and is dropped.
		require.Eventually(t, func() bool { return b.proc.Stats().InFlight == 0 }, waitFor, pollTick)
		require.Equal(t, "1", b.callOK(t, "test.cancels", ""))
		require.Contains(t, b.logs.String(), "block: canceled")
		st := b.proc.Stats()
		require.Equal(t, firstPID, st.PID)
		require.Zero(t, st.Restarts)
	})

	t.Run("CancelWhileWaitingForSlot", func(t *testing.T) {
		t.Parallel()
		b := setupProcess(t, procSetup{bin: "hello", concurrency: 1})
		done := make(chan error, 1)
		go func() {
			_, err := b.call("test.wait", `{"ms":1000}`, 10*time.Second, Limits{})
			done <- err
		}()
		require.Eventually(t, func() bool { return b.proc.Stats().InFlight == 1 }, waitFor, pollTick)
		start := time.Now()
		_, err := b.call("hello.greet", `{"name":"a"}`, 50*time.Millisecond, Limits{})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorContains(t, err, "call slots")
		require.Less(t, time.Since(start), 900*time.Millisecond)
		require.NoError(t, <-done)
	})

	t.Run("CloseCutsCallsAtDeadline", func(t *testing.T) {
		t.Parallel()
		const stopGrace = 200 * time.Millisecond
		b := setupProcess(t, procSetup{bin: "hello", tuneFunc: func(p *Process) { p.stopGrace = stopGrace }})
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := b.call("test.block", "", time.Minute, Limits{})
				errs <- err
			}()
		}
		require.Eventually(t, func() bool { return b.proc.Stats().InFlight == 2 }, waitFor, pollTick)
		pid := b.proc.Stats().PID

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := b.proc.Close(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		for range 2 {
			require.ErrorIs(t, <-errs, ErrClosed)
		}
		// The blocked handlers keep the plugin from exiting when its stdin closes: SIGTERM ends it.
		require.Less(t, time.Since(start), 100*time.Millisecond+2*stopGrace+2*time.Second)
		require.True(t, processGone(pid))
		require.Contains(t, b.logs.String(), "force=false")
		require.NotContains(t, b.logs.String(), "force=true")
	})

	t.Run("CloseKillsStubbornPlugin", func(t *testing.T) {
		t.Parallel()
		const stopGrace = 200 * time.Millisecond
		b := setupProcess(t, procSetup{bin: "rogue", command: []string{"./rogue", "-stubborn"},
			tuneFunc: func(p *Process) { p.stopGrace = stopGrace }})
		require.JSONEq(t, `"echo"`, b.callOK(t, "rogue.echo", ""))
		pid := b.proc.Stats().PID

		start := time.Now()
		require.NoError(t, b.proc.Close(context.Background()))
		// It ignores the end of its stdin and SIGTERM: only SIGKILL, after both graces, ends it.
		require.GreaterOrEqual(t, time.Since(start), 2*stopGrace)
		require.True(t, processGone(pid))
		require.Contains(t, b.logs.String(), "force=true")
		require.False(t, b.proc.Stats().Running)
	})

	t.Run("CloseWaitsForCallsInFlight", func(t *testing.T) {
		t.Parallel()
		b := setupProcess(t, procSetup{bin: "hello"})
		type result struct {
			out string
			err error
		}
		results := make(chan result, 3)
		for range 3 {
			go func() {
				resp, err := b.call("test.wait", `{"ms":300}`, 10*time.Second, Limits{})
				if err != nil {
					results <- result{err: err}
					return
				}
				results <- result{out: string(resp.Output)}
			}()
		}
		require.Eventually(t, func() bool { return b.proc.Stats().InFlight == 3 }, waitFor, pollTick)
		pid := b.proc.Stats().PID

		closed := make(chan error, 1)
		go func() { closed <- b.proc.Close(context.Background()) }()
		require.Eventually(t, func() bool {
			_, err := b.call("hello.greet", `{"name":"late"}`, time.Second, Limits{})
			return errors.Is(err, ErrClosed)
		}, waitFor, pollTick)
		for range 3 {
			r := <-results
			require.NoError(t, r.err)
			require.JSONEq(t, `"waited"`, r.out)
		}
		require.NoError(t, <-closed)
		require.True(t, processGone(pid))
		require.Contains(t, b.logs.String(), "Plugin process stopped")
		require.NotContains(t, b.logs.String(), "force=")
		require.NoError(t, b.proc.Close(context.Background()), "Close is idempotent")
	})

	t.Run("ConcurrencyBounded", func(t *testing.T) {
		t.Parallel()
		const concurrency, calls = 4, 64
		b := setupProcess(t, procSetup{bin: "hello", concurrency: concurrency})
		var (
			wg         sync.WaitGroup
			mu         sync.Mutex
			maxPlugin  int
			maxStats   int
			errs       []error
			sampleDone = make(chan struct{})
			sampled    = make(chan struct{})
		)
		go func() {
			defer close(sampled)
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-sampleDone:
					return
				case <-tick.C:
				}
				n := b.proc.Stats().InFlight
				mu.Lock()
				maxStats = max(maxStats, n)
				mu.Unlock()
			}
		}()
		for range calls {
			wg.Go(func() {
				resp, err := b.call("test.concurrent", fmt.Sprintf(`{"want":%d}`, concurrency), 30*time.Second, Limits{})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				var seen int
				if err := json.Unmarshal(resp.Output, &seen); err != nil {
					errs = append(errs, err)
					return
				}
				maxPlugin = max(maxPlugin, seen)
			})
		}
		wg.Wait()
		close(sampleDone)
		<-sampled
		require.Empty(t, errs)
		// The plugin holds each call until 4 are in flight: it saw 4, and never more.
		require.Equal(t, concurrency, maxPlugin)
		require.LessOrEqual(t, maxStats, concurrency)
		require.Zero(t, b.proc.Stats().Restarts)
	})

	t.Run("Crash", func(t *testing.T) {
		t.Parallel()
		b := setupProcess(t, procSetup{bin: "hello"})
		b.callOK(t, "hello.greet", `{"name":"a"}`)
		pid := b.proc.Stats().PID

		_, err := b.call("test.crash", "", 10*time.Second, Limits{})
		require.ErrorIs(t, err, ErrCrashed)
		require.ErrorContains(t, err, "exit status 3")
		require.ErrorContains(t, err, "crash: about to exit")
		// The first restart after a crash is immediate.
		require.JSONEq(t, `{"greeting":"Hello, b!"}`, b.callOK(t, "hello.greet", `{"name":"b"}`))
		st := b.proc.Stats()
		require.NotEqual(t, pid, st.PID)
		require.Equal(t, 1, st.Restarts)
		require.Contains(t, st.LastError, "exit status 3")
		require.True(t, processGone(pid))
	})

	t.Run("CrashLoopBacksOff", func(t *testing.T) {
		t.Parallel()
		b := setupProcess(t, procSetup{bin: "rogue", command: []string{"./rogue", "-exit-at-start"}})
		var crashed, restarting int
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); <-tick.C {
			start := time.Now()
			_, err := b.call("rogue.echo", "", time.Second, Limits{})
			require.Less(t, time.Since(start), 900*time.Millisecond, "a crash loop must not hold a call")
			switch {
			case errors.Is(err, ErrRestarting):
				restarting++
				require.ErrorContains(t, err, "next start in")
				require.ErrorContains(t, err, "exit status 2")
			case errors.Is(err, ErrCrashed):
				crashed++
			default:
				require.Failf(t, "unexpected result", "%v", err)
			}
		}
		// Starts at 0, 0, 0.1, 0.3, 0.7 and 1.5 s: the backoff, not the callers, sets the pace.
		starts, err := os.ReadFile(filepath.Join(b.dir, "starts"))
		require.NoError(t, err)
		n := strings.Count(string(starts), "\n")
		require.GreaterOrEqual(t, n, 3)
		require.LessOrEqual(t, n, 8)
		require.Equal(t, n, crashed)
		require.Greater(t, restarting, 20)
		require.Contains(t, b.proc.Stats().LastError, "rogue: refusing to start")
	})

	t.Run("EnvironmentIsolated", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, serverSecret, os.Getenv("CM_ENCRYPTION_KEY"))
		b := setupProcess(t, procSetup{bin: "hello", concurrency: 3})
		var env map[string]string
		require.NoError(t, json.Unmarshal([]byte(b.callOK(t, "test.env", "")), &env))
		require.NotContains(t, env, "CM_ENCRYPTION_KEY")
		require.Equal(t, "proc-test", env["CM_PLUGIN_NAME"])
		require.Equal(t, "1.2.3", env["CM_PLUGIN_VERSION"])
		require.Equal(t, "3", env["CM_PLUGIN_CONCURRENCY"])
		require.Equal(t, os.Getenv("PATH"), env["PATH"])
		allowed := append([]string{"CM_PLUGIN_NAME", "CM_PLUGIN_VERSION", "CM_PLUGIN_CONCURRENCY"}, processEnvPassed...)
		for k := range env {
			require.Contains(t, allowed, k)
		}
	})

	t.Run("Hang", func(t *testing.T) {
		t.Parallel()
		const grace = 300 * time.Millisecond
		b := setupProcess(t, procSetup{bin: "rogue", tuneFunc: func(p *Process) { p.cancelGrace = grace }})
		b.callOK(t, "rogue.echo", "")
		pid := b.proc.Stats().PID

		start := time.Now()
		_, err := b.call("rogue.hang", "", 100*time.Millisecond, Limits{})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 900*time.Millisecond)
		// The call keeps its slot until the grace ends: the process is then killed as hung.
		require.Equal(t, 1, b.proc.Stats().InFlight)
		require.Eventually(t, func() bool { return strings.Contains(b.logs.String(), "cancel 2 received") }, waitFor, pollTick)
		require.Eventually(t, func() bool { return b.proc.Stats().InFlight == 0 }, waitFor, pollTick)
		require.GreaterOrEqual(t, time.Since(start), grace)
		require.True(t, processGone(pid))
		require.Contains(t, b.proc.Stats().LastError, "stopped as hung")

		require.JSONEq(t, `"echo"`, b.callOK(t, "rogue.echo", ""))
		st := b.proc.Stats()
		require.NotEqual(t, pid, st.PID)
		require.Equal(t, 1, st.Restarts)
	})

	t.Run("HelloRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setupProcess(t, procSetup{bin: "hello"})
		require.False(t, b.proc.Stats().Running, "nothing starts before the first call")
		resp, err := b.call("hello.greet", `{"name":"Ada"}`, 10*time.Second, Limits{MaxResponseBytes: 1 << 10})
		require.NoError(t, err)
		require.JSONEq(t, `{"greeting":"Hello, Ada!"}`, string(resp.Output))
		require.Equal(t, []plugin.Log{{Level: "info", Message: "greeting Ada"}}, resp.Logs)
		require.Nil(t, resp.Error)

		// A handler's error comes back in the response, not as a failure of the runtime.
		resp, err = b.call("no.such", "", 10*time.Second, Limits{})
		require.NoError(t, err)
		require.Equal(t, "unknown_type", resp.Error.Code)

		st := b.proc.Stats()
		require.True(t, st.Running)
		require.Positive(t, st.PID)
		require.Zero(t, st.Restarts)
		require.Zero(t, st.InFlight)
		require.Empty(t, st.LastError)
		require.Contains(t, b.logs.String(), "plugin=proc-test")
	})

	t.Run("ProtocolBroken", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			name, typ, want string
		}{
			{"Garbage", "rogue.garbage", `is not a JSON response`},
			{"WrongID", "rogue.wrongid", `which is no call in flight`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				b := setupProcess(t, procSetup{bin: "rogue"})
				hung := make(chan error, 1)
				go func() {
					_, err := b.call("rogue.hang", "", time.Minute, Limits{})
					hung <- err
				}()
				require.Eventually(t, func() bool { return b.proc.Stats().InFlight == 1 }, waitFor, pollTick)
				pid := b.proc.Stats().PID

				_, err := b.call(tt.typ, "", 10*time.Second, Limits{})
				require.ErrorIs(t, err, ErrProtocol)
				require.ErrorContains(t, err, tt.want)
				// The process is broken: every call in flight fails with it.
				require.ErrorIs(t, <-hung, ErrProtocol)
				require.JSONEq(t, `"echo"`, b.callOK(t, "rogue.echo", ""))
				require.NotEqual(t, pid, b.proc.Stats().PID)
				require.True(t, processGone(pid))
			})
		}
	})

	t.Run("ResponseOverCallLimit", func(t *testing.T) {
		t.Parallel()
		b := setupProcess(t, procSetup{bin: "rogue"})
		hung := make(chan error, 1)
		go func() {
			_, err := b.call("rogue.hang", "", 300*time.Millisecond, Limits{})
			hung <- err
		}()
		require.Eventually(t, func() bool { return b.proc.Stats().InFlight == 1 }, waitFor, pollTick)
		pid := b.proc.Stats().PID
		// The hung call takes answers of 64 MiB: a whole 100 kB answer over its own call's limit fails
		// that call only.
		_, err := b.call("rogue.flood", `{"bytes":100000,"newline":true}`, 10*time.Second, Limits{MaxResponseBytes: 1000})
		require.ErrorIs(t, err, ErrResponseTooLarge)
		require.ErrorContains(t, err, "over the call's 1000-byte limit")
		require.JSONEq(t, `"echo"`, b.callOK(t, "rogue.echo", ""))
		require.Equal(t, pid, b.proc.Stats().PID)
		require.ErrorIs(t, <-hung, context.DeadlineExceeded)
	})

	t.Run("StartFails", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			name    string
			command []string
			want    string
		}{
			{"LeavesFolder", []string{"../rogue"}, "leaves the plugin folder"},
			{"Missing", []string{"./missing"}, "no such file or directory"},
			{"NotInPath", []string{"concertmaster-no-such-plugin"}, "executable file not found"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				b := setupProcess(t, procSetup{command: tt.command, tuneFunc: func(p *Process) { p.backoffMin = time.Minute }})
				_, err := b.call("hello.greet", "", time.Second, Limits{})
				require.ErrorContains(t, err, tt.want)
				_, err = b.call("hello.greet", "", time.Second, Limits{})
				require.ErrorContains(t, err, tt.want)
				// Two failures in a row: the next start waits.
				_, err = b.call("hello.greet", "", time.Second, Limits{})
				require.ErrorIs(t, err, ErrRestarting)
				require.ErrorContains(t, err, tt.want)
				require.Contains(t, b.proc.Stats().LastError, tt.want)
			})
		}
	})

	t.Run("StderrRateBounded", func(t *testing.T) {
		t.Parallel()
		b := setupProcess(t, procSetup{bin: "rogue", tuneFunc: func(p *Process) { p.stderrPerSecond = 3 }})
		// Each hang logs two lines on stderr (the request, its cancel): 8 for the 4 slots, all within
		// a second or so, over 3 a second.
		for range 4 {
			_, err := b.call("rogue.hang", "", time.Millisecond, Limits{})
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}
		b.proc.mu.Lock()
		in := b.proc.inst
		b.proc.mu.Unlock()
		require.Eventually(t, func() bool {
			in.tail.mu.Lock()
			defer in.tail.mu.Unlock()
			return len(in.tail.lines) == 8
		}, waitFor, pollTick)
		// The count of dropped lines is logged when the next second starts, or when stderr ends. Close
		// does not wait for the canceled calls' answers.
		require.NoError(t, b.proc.Close(context.Background()))
		logs := b.logs.String()
		require.Contains(t, logs, "Plugin stderr lines dropped")
		require.Less(t, strings.Count(logs, `msg="Plugin stderr"`), 8)
	})
}

func TestProcessBackoff(t *testing.T) {
	t.Parallel()
	p := &Process{backoffMin: 100 * time.Millisecond, backoffMax: 10 * time.Second}
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{
		{1, 0},
		{2, 100 * time.Millisecond},
		{3, 200 * time.Millisecond},
		{4, 400 * time.Millisecond},
		{8, 6400 * time.Millisecond},
		{9, 10 * time.Second},
		{1000, 10 * time.Second},
	} {
		t.Run(fmt.Sprint(tt.failures), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, p.backoff(tt.failures))
		})
	}
}

// TestProcessFloodBoundsMemory is not parallel: it measures the heap the test process allocates while
// a plugin writes 100 MB lines, which other tests would blur. Parallel tests wait for it.
func TestProcessFloodBoundsMemory(t *testing.T) {
	const limit = 1 << 20
	for _, tt := range []struct {
		name, config string
	}{
		{"Endless", `{"bytes":0}`},
		{"HundredMegabyteLine", `{"bytes":100000000,"newline":true}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := setupProcess(t, procSetup{bin: "rogue"})
			b.callOK(t, "rogue.echo", "")
			pid := b.proc.Stats().PID

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := b.call("rogue.flood", tt.config, 30*time.Second, Limits{MaxResponseBytes: limit})
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, ErrResponseTooLarge)
			require.ErrorContains(t, err, "the process was stopped")
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "reading the flood allocated more than 16 MiB")

			require.JSONEq(t, `"echo"`, b.callOK(t, "rogue.echo", ""))
			require.NotEqual(t, pid, b.proc.Stats().PID)
			require.True(t, processGone(pid))
		})
	}
}

// TestProcessNoGoroutineLeak is not parallel: it counts the goroutines of the test process. It runs a
// plugin through its failures, closes it, and expects the count back where it started.
func TestProcessNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Logf("goroutines at start: %d", base)
	func() {
		b := setupProcess(t, procSetup{bin: "rogue", tuneFunc: func(p *Process) {
			p.backoffMin, p.backoffMax = 0, 0
			p.cancelGrace = 100 * time.Millisecond
			p.stopGrace = 100 * time.Millisecond
		}})
		b.callOK(t, "rogue.echo", "")
		_, err := b.call("rogue.garbage", "", 10*time.Second, Limits{})
		require.ErrorIs(t, err, ErrProtocol)
		_, err = b.call("rogue.flood", `{"bytes":0}`, 10*time.Second, Limits{MaxResponseBytes: 1 << 16})
		require.ErrorIs(t, err, ErrResponseTooLarge)
		_, err = b.call("rogue.hang", "", 50*time.Millisecond, Limits{})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Eventually(t, func() bool { return b.proc.Stats().InFlight == 0 }, waitFor, pollTick)
		go func() { _, _ = b.call("rogue.hang", "", time.Minute, Limits{}) }()
		require.Eventually(t, func() bool { return b.proc.Stats().InFlight == 1 }, waitFor, pollTick)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, b.proc.Close(ctx), context.DeadlineExceeded)
		require.Equal(t, 3, b.proc.Stats().Restarts)
	}()
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(waitFor); n > base && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(pollTick)
	}
	if n > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after:\n%s", base, n, buf[:runtime.Stack(buf, true)])
	}
}

// BenchmarkProcessRoundTrip measures a hello.greet call through a warm process plugin, one at a time.
func BenchmarkProcessRoundTrip(b *testing.B) {
	tb := setupProcess(b, procSetup{bin: "hello", concurrency: 1})
	tb.callOK(b, "hello.greet", `{"name":"warm"}`)
	req := &plugin.Request{Type: "hello.greet", Config: json.RawMessage(`{"name":"Ada"}`)}
	ctx := context.Background()
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		resp, err := tb.proc.Call(ctx, req, Limits{MaxResponseBytes: 1 << 10})
		took = append(took, time.Since(start))
		if err != nil || resp.Error != nil {
			b.Fatalf("call: %v %v", err, resp)
		}
	}
	slices.Sort(took)
	quantile := func(q float64) float64 {
		return float64(took[int(q*float64(len(took)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(quantile(0.50), "p50-µs")
	b.ReportMetric(quantile(0.95), "p95-µs")
}
