// Package enginetest builds a complete in-process runtime (SQLite or PostgreSQL store, registry with
// the built-in and test node types, engine, embedded or River dispatcher, event bus, service) for tests, and provides
// instrumented node types that count calls, fail on demand, block and measure concurrency.
package enginetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/dispatch"
	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/builtin"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/httpnode"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/sqlstore"
	"github.com/concertmaster/concertmaster/internal/store/storepg"
	"github.com/concertmaster/concertmaster/internal/store/storesqlite"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// Probe is shared state the test node types report into.
type Probe struct {
	mu       sync.Mutex
	calls    map[string]int
	active   atomic.Int64
	peak     atomic.Int64
	Started  chan string
	Release  chan struct{}
	released sync.Once
}

// NewProbe returns an empty probe.
func NewProbe() *Probe {
	return &Probe{calls: map[string]int{}, Started: make(chan string, 1024), Release: make(chan struct{})}
}

// Calls returns how many times key was executed.
func (p *Probe) Calls(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[key]
}

func (p *Probe) call(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[key]++
	return p.calls[key]
}

// Peak returns the highest number of test.work nodes that ran at once.
func (p *Probe) Peak() int64 { return p.peak.Load() }

// ReleaseAll unblocks every test.block node.
func (p *Probe) ReleaseAll() { p.released.Do(func() { close(p.Release) }) }

// Work counts its calls under Key, optionally sleeps, fails its first Failures calls (permanently
// when Permanent), and outputs its input plus {"calls": n}.
type Work struct {
	Key       string `json:"key"`
	Sleep     string `json:"sleep,omitempty"`
	Failures  int    `json:"failures,omitempty"`
	Permanent bool   `json:"permanent,omitempty"`
	probe     *Probe
}

// NodeInfo describes test.work.
func (w *Work) NodeInfo() node.Info {
	probe := w.probe
	return node.Info{
		Type: "test.work", Title: "Test work", Category: "Test",
		Inputs: []node.PortSpec{{Name: "in"}}, Outputs: []node.PortSpec{{Name: "out"}},
		Schema: json.RawMessage(`{"type":"object","properties":{"key":{"type":"string"},"sleep":{"type":"string"},"failures":{"type":"integer"},"permanent":{"type":"boolean"}},"required":["key"],"additionalProperties":false}`),
		New:    func() node.Node { return &Work{probe: probe} },
	}
}

// Execute does the work.
func (w *Work) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	n := w.probe.call(w.Key)
	cur := w.probe.active.Add(1)
	defer w.probe.active.Add(-1)
	for {
		peak := w.probe.peak.Load()
		if cur <= peak || w.probe.peak.CompareAndSwap(peak, cur) {
			break
		}
	}
	if w.Sleep != "" {
		d, err := time.ParseDuration(w.Sleep)
		if err != nil {
			return node.Output{}, node.Permanent(err)
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return node.Output{}, ctx.Err()
		}
	}
	if n <= w.Failures {
		err := &node.Error{Message: fmt.Sprintf("%s failed on call %d", w.Key, n), Code: "test_failure"}
		if w.Permanent {
			return node.Output{}, node.Permanent(err)
		}
		return node.Output{}, err
	}
	in.Logger.Info("work done", "key", w.Key, "call", n)
	out := map[string]any{"calls": n, "key": w.Key}
	if m, ok := in.Data.(map[string]any); ok {
		for k, v := range m {
			if _, taken := out[k]; !taken {
				out[k] = v
			}
		}
	}
	return node.Out(out), nil
}

// Block announces its Key on Probe.Started and blocks until released or canceled.
type Block struct {
	Key   string `json:"key"`
	probe *Probe
}

// NodeInfo describes test.block.
func (b *Block) NodeInfo() node.Info {
	probe := b.probe
	return node.Info{
		Type: "test.block", Title: "Test block", Category: "Test",
		Inputs: []node.PortSpec{{Name: "in"}}, Outputs: []node.PortSpec{{Name: "out"}},
		Schema: json.RawMessage(`{"type":"object","properties":{"key":{"type":"string"}},"additionalProperties":false}`),
		New:    func() node.Node { return &Block{probe: probe} },
	}
}

// Execute blocks.
func (b *Block) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	b.probe.call(b.Key)
	b.probe.Started <- b.Key
	select {
	case <-b.probe.Release:
		return node.Out(in.Data), nil
	case <-ctx.Done():
		return node.Output{}, ctx.Err()
	}
}

// Big outputs a string of Size bytes.
type Big struct {
	Size int `json:"size"`
}

// NodeInfo describes test.big.
func (*Big) NodeInfo() node.Info {
	return node.Info{
		Type: "test.big", Title: "Test big output", Category: "Test",
		Inputs: []node.PortSpec{{Name: "in"}}, Outputs: []node.PortSpec{{Name: "out"}},
		Schema: json.RawMessage(`{"type":"object","properties":{"size":{"type":"integer"}},"additionalProperties":false}`),
		New:    func() node.Node { return &Big{} },
	}
}

// Execute builds the string.
func (b *Big) Execute(context.Context, *node.Input) (node.Output, error) {
	return node.Out(string(make([]byte, b.Size))), nil
}

// Options tune Start.
type Options struct {
	// Path is the SQLite file; empty means a new file in t.TempDir().
	Path string
	// PostgresURL, when set, puts the store in a fresh schema of this PostgreSQL database instead.
	PostgresURL string
	// Embedded keeps the embedded dispatcher on PostgreSQL, where River dispatches by default (as in
	// the product).
	Embedded bool
	// SweepInterval is the River leader's sweep interval (default: the dispatcher's).
	SweepInterval    time.Duration
	SuspendThreshold time.Duration
	MaxOutputBytes   int64
	Owner            string
	Takeover         bool
	Workers          int
	Lease            time.Duration
	// NoDispatcher leaves the dispatcher stopped, for tests that drive claims themselves.
	NoDispatcher bool
	// DrainTimeout, CrashLimit and MaxExecutionBytes configure the engine (zero: its defaults).
	DrainTimeout      time.Duration
	CrashLimit        int
	MaxExecutionBytes int64
	// CredentialTesters check credentials by type (POST /credentials/{id}/test).
	CredentialTesters map[string]conn.TestFunc
	// Logger receives the engine's, the dispatcher's and the service's logs (default: discarded).
	Logger *slog.Logger
	// TracerProvider makes the engine's spans (default: none).
	TracerProvider trace.TracerProvider
	// Observer receives the engine's metrics callbacks (default: none).
	Observer engine.Observer
	// OnPanic is the engine's (engine.Config.OnPanic).
	OnPanic func(ctx context.Context, nodeType string, value any)
}

// Env is a running runtime.
type Env struct {
	Store      *sqlstore.Store
	Registry   *node.Registry
	Engine     *engine.Engine
	Dispatcher dispatch.Dispatcher
	Bus        *event.Hub
	Service    *service.Service
	Probe      *Probe
	Path       string
	// PostgresURL is the URL of the test's own PostgreSQL schema, when it runs on PostgreSQL.
	PostgresURL string
	// Credentials is the credential vault, under a random key.
	Credentials *service.Credentials
}

// Start builds and starts a runtime; everything stops when the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	path := opts.Path
	if path == "" {
		path = filepath.Join(t.TempDir(), "cm.db")
	}
	var st *sqlstore.Store
	var err error
	var pgURL string
	if opts.PostgresURL != "" {
		st, pgURL = OpenPostgresSchemaURL(t, opts.PostgresURL)
	} else {
		st, err = storesqlite.Open(storesqlite.Config{Path: path})
		require.NoError(t, err)
	}
	_, err = st.Migrate(context.Background())
	require.NoError(t, err)

	probe := NewProbe()
	reg, err := builtin.NewRegistry(builtin.Config{HTTP: httpnode.Config{Policy: &netguard.Policy{AllowPrivate: true}},
		Conn: conn.Config{Policy: &netguard.Policy{AllowPrivate: true}}})
	require.NoError(t, err)
	reg.MustRegister(&Work{probe: probe}, &Block{probe: probe}, &Big{}, &Leak{})

	bus := event.NewHub()
	limits := expression.Limits{Cache: expression.NewCache(0)}
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	vault, err := credential.NewVault(kek, st)
	require.NoError(t, err)
	creds := service.NewCredentials(service.CredentialsConfig{Store: st, Vault: vault, Testers: opts.CredentialTesters, Logger: opts.Logger})
	eng, err := engine.New(engine.Config{Store: st, Registry: reg, Publisher: bus, SuspendThreshold: opts.SuspendThreshold, Credentials: creds, Logger: opts.Logger,
		MaxOutputBytes: opts.MaxOutputBytes, ExpressionLimits: limits,
		// The product's 250 ms wall-clock budget per evaluation fails trivial expressions when a
		// loaded two-core machine runs every package under -race; internal/expression tests the
		// budget itself.
		ExpressionBudget: expression.Budget{Timeout: 10 * time.Second},
		DrainTimeout:     opts.DrainTimeout, CrashLimit: opts.CrashLimit, MaxExecutionBytes: opts.MaxExecutionBytes,
		TracerProvider: opts.TracerProvider, Observer: opts.Observer, OnPanic: opts.OnPanic})
	require.NoError(t, err)
	owner := opts.Owner
	if owner == "" {
		owner = "test-" + service.NewID()
	}
	var d dispatch.Dispatcher
	if pgURL != "" && !opts.Embedded {
		require.NoError(t, dispatch.MigrateRiver(context.Background(), st.DB()))
		pool, err := pgxpool.New(context.Background(), pgURL)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		rd, err := dispatch.NewRiver(dispatch.RiverConfig{DB: st.DB(), Pool: pool, Store: st, Runner: eng, Owner: owner, Logger: opts.Logger,
			Workers: opts.Workers, Lease: opts.Lease, SweepInterval: opts.SweepInterval})
		require.NoError(t, err)
		st.OnRunnable(rd.EnqueueAt)
		d = rd
	} else {
		d, err = dispatch.NewEmbedded(dispatch.EmbeddedConfig{Store: st, Runner: eng, Owner: owner, Takeover: opts.Takeover, Logger: opts.Logger,
			Workers: opts.Workers, Lease: opts.Lease, PollInterval: 50 * time.Millisecond})
		require.NoError(t, err)
	}
	svc := service.New(service.Config{Store: st, Registry: reg, Engine: eng, Dispatcher: d, Bus: bus, Limits: limits,
		PublicURL: "http://cm.test", ResumeKey: []byte("enginetest resume key"), Credentials: creds, Logger: opts.Logger})
	env := &Env{Store: st, Registry: reg, Engine: eng, Dispatcher: d, Bus: bus, Service: svc, Probe: probe, Path: path, PostgresURL: pgURL, Credentials: creds}
	if !opts.NoDispatcher {
		require.NoError(t, d.Start(context.Background()))
	}
	t.Cleanup(func() {
		probe.ReleaseAll()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Stop(ctx)
		_ = st.Close()
		bus.Close()
	})
	return env
}

// OpenPostgresSchema opens a store in a new schema of the database at base; the schema is dropped
// when the test ends.
func OpenPostgresSchema(t testing.TB, base string) *sqlstore.Store {
	t.Helper()
	st, _ := OpenPostgresSchemaURL(t, base)
	return st
}

// OpenPostgresSchemaURL is OpenPostgresSchema that also returns the URL of the schema.
func OpenPostgresSchemaURL(t testing.TB, base string) (*sqlstore.Store, string) {
	t.Helper()
	ctx := context.Background()
	schema := "cmtest_" + strings.ReplaceAll(service.NewID(), "-", "")[16:]
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err, "PostgreSQL at %s must be reachable", base)
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	st, err := storepg.Open(ctx, storepg.Config{URL: u.String()})
	require.NoError(t, err)
	return st, u.String()
}

// Save validates and saves a definition given as JSON.
func (e *Env) Save(t testing.TB, defJSON string) *store.Workflow {
	t.Helper()
	def, err := workflow.DecodeBytes([]byte(defJSON))
	require.NoError(t, err)
	w, err := e.Service.CreateWorkflow(context.Background(), store.DefaultTenant, def)
	require.NoError(t, err)
	return w
}

// Run starts the workflow with input and waits for it to finish.
func (e *Env) Run(t testing.TB, workflowID string, input string) *store.Execution {
	t.Helper()
	exec := e.Start(t, workflowID, input)
	return e.Wait(t, exec.ID)
}

// Start starts the workflow with input.
func (e *Env) Start(t testing.TB, workflowID string, input string) *store.Execution {
	t.Helper()
	exec, _, err := e.Service.StartExecution(context.Background(), store.DefaultTenant, service.StartParams{WorkflowID: workflowID, Input: json.RawMessage(input)})
	require.NoError(t, err)
	return exec
}

// Wait waits up to 20s for the execution to finish.
func (e *Env) Wait(t testing.TB, id string) *store.Execution {
	t.Helper()
	exec, finished, err := e.Service.WaitExecution(context.Background(), store.DefaultTenant, id, 20*time.Second)
	require.NoError(t, err)
	require.True(t, finished, "execution %s did not finish; status %s", id, exec.Status)
	return exec
}

// WaitStatus polls until the execution has the status, failing after 20s.
func (e *Env) WaitStatus(t testing.TB, id string, status workflow.ExecutionStatus) *store.Execution {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		exec, err := e.Store.GetExecution(context.Background(), store.DefaultTenant, id)
		require.NoError(t, err)
		if exec.Status == status {
			return exec
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s is %s, want %s", id, exec.Status, status)
		}
		sub := e.Bus.Subscribe(event.Filter{TenantID: store.DefaultTenant, ExecutionID: id}, 16)
		select {
		case <-sub.C:
		case <-time.After(100 * time.Millisecond):
		}
		sub.Close()
	}
}

// Runs returns the latest attempt of each node run, by node id.
func (e *Env) Runs(t testing.TB, executionID string) map[string]store.NodeRun {
	t.Helper()
	runs, err := e.Store.ListNodeRuns(context.Background(), store.DefaultTenant, executionID)
	require.NoError(t, err)
	out := map[string]store.NodeRun{}
	for _, r := range runs {
		if prev, ok := out[r.NodeID]; !ok || r.Attempt > prev.Attempt {
			out[r.NodeID] = r
		}
	}
	return out
}

// Events returns the execution's event types in order.
func (e *Env) Events(t testing.TB, executionID string) []store.Event {
	t.Helper()
	evs, err := e.Store.ListEvents(context.Background(), store.DefaultTenant, executionID, 0, 1000)
	require.NoError(t, err)
	return evs
}

// Output decodes an execution's output.
func Output(t testing.TB, exec *store.Execution) any {
	t.Helper()
	var v any
	if len(exec.Output) > 0 {
		require.NoError(t, json.Unmarshal(exec.Output, &v))
	}
	return v
}

// ErrTest is a generic test error.
var ErrTest = errors.New("test error")

// Leak is a node that tries to leak a credential's secrets everywhere the engine records something:
// its output (the secret as is, URL- and base64-encoded, and as a map key), its logs and, when Fail is
// set, its error message and details. Tests use it to prove the engine scrubs them.
type Leak struct {
	Credential string `json:"credential"`
	Fail       bool   `json:"fail,omitempty"`
	// Derive makes the node derive a secret from the credential's first one (it reverses it, as an
	// access token stands for a client secret without containing it), register it with
	// Credentials.Redact, and leak it too.
	Derive bool `json:"derive,omitempty"`
}

// NodeInfo describes test.leak.
func (*Leak) NodeInfo() node.Info {
	return node.Info{
		Type: "test.leak", Title: "Test leak", Category: "Test",
		Inputs: []node.PortSpec{{Name: "in"}}, Outputs: []node.PortSpec{{Name: "out"}},
		Schema: json.RawMessage(`{"type":"object","properties":{"credential":{"type":"string","x-credentialTypes":["httpBearer","httpBasic","postgres"]},"fail":{"type":"boolean"},"derive":{"type":"boolean"}},"required":["credential"],"additionalProperties":false}`),
		New:    func() node.Node { return &Leak{} },
	}
}

// Execute leaks.
func (l *Leak) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	c, err := node.GetCredential(ctx, in.Credentials, l.Credential)
	if err != nil {
		return node.Output{}, err
	}
	secrets := append([]string(nil), c.Secrets...)
	if l.Derive && len(secrets) > 0 {
		r := []rune(secrets[0])
		slices.Reverse(r)
		in.Credentials.Redact(string(r))
		secrets = append(secrets, string(r))
	}
	out := map[string]any{"data": c.Data}
	for i, s := range secrets {
		in.Logger.Info("leaking "+s, "secret", s, "nested", map[string]any{"s": s})
		out[fmt.Sprintf("plain%d", i)] = "before " + s + " after"
		out[fmt.Sprintf("url%d", i)] = url.QueryEscape(s)
		out[fmt.Sprintf("b64_%d", i)] = base64.StdEncoding.EncodeToString([]byte(s))
		out[s] = "as a key"
		out[fmt.Sprintf("list%d", i)] = []any{s, map[string]any{"deep": s}}
	}
	if l.Fail {
		return node.Output{}, node.Permanent(&node.Error{Code: "leak", Message: "failed with " + strings.Join(secrets, ","), Details: out})
	}
	return node.Out(out), nil
}
