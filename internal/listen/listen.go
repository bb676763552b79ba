// Package listen runs the listening triggers (node.Listener: trigger.amqp, trigger.kafka,
// trigger.mqtt, trigger.nats, trigger.redisStream) of active workflows. A Manager reconciles what runs
// with the store: one Listen per trigger node of every active workflow, started when the workflow is
// activated, restarted when its configuration changes, stopped when it is deactivated or deleted, and
// restarted with a growing backoff when it fails. Every message becomes an execution through
// service.FireMessage, which returns once the execution is durably queued: only then does the trigger
// acknowledge the message, so a crash in between redelivers it (at least once).
package listen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
)

// Store is what the manager reads: the active workflows.
type Store interface {
	ActiveWorkflowsAfter(ctx context.Context, tenantID, id string, limit int) ([]store.Workflow, error)
}

// Firer starts the execution of a message; *service.Service implements it.
type Firer interface {
	FireMessage(ctx context.Context, f service.MessageFire) (*store.Execution, bool, error)
}

// CredentialSource gives a tenant's credentials to its listeners; *service.Credentials implements it.
type CredentialSource interface {
	LoadCredential(ctx context.Context, tenantID, id string) (*node.Credential, error)
}

// Observer counts what listeners do; *metrics.Metrics implements it (optional).
type Observer interface {
	// ListenerMessage counts a message fired (ok) or refused (not ok), by trigger type.
	ListenerMessage(nodeType string, ok bool)
	// ListenerRestart counts a listener that failed and will start again, by trigger type.
	ListenerRestart(nodeType string)
}

// Defaults for Config.
const (
	PollIntervalDefault = 30 * time.Second
	BackoffMinDefault   = time.Second
	BackoffMaxDefault   = time.Minute
	// healthyAfter is how long a listener must run before a failure starts the backoff again from
	// its minimum.
	healthyAfter = time.Minute
)

// Config configures a Manager. Store, Registry and Firer are required.
type Config struct {
	Store       Store
	Registry    *node.Registry
	Firer       Firer
	Credentials CredentialSource
	Observer    Observer
	Logger      *slog.Logger
	// Wake makes the manager reconcile at once (the service signals workflow changes on it).
	Wake <-chan struct{}
	// PollInterval bounds the time between two reconciliations, a safety net for a lost wake-up.
	PollInterval time.Duration
	// BackoffMin and BackoffMax bound the wait before a failed listener starts again.
	BackoffMin, BackoffMax time.Duration
}

// Manager runs the listening triggers of active workflows.
type Manager struct {
	cfg    Config
	logger *slog.Logger

	mu        sync.Mutex
	running   map[string]*listener
	wg        sync.WaitGroup
	cancel    context.CancelFunc
	done      chan struct{}
	reconcile chan struct{}
}

// listener is one running trigger node.
type listener struct {
	key     string
	spec    string
	typ     node.TypeName
	version atomic.Int64
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil || cfg.Registry == nil || cfg.Firer == nil {
		return nil, errors.New("listen: Store, Registry and Firer are required")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = PollIntervalDefault
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = BackoffMinDefault
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = max(BackoffMaxDefault, cfg.BackoffMin)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, logger: logger.With("component", "listen"), running: map[string]*listener{}, reconcile: make(chan struct{}, 1)}, nil
}

// Start reconciles in the background until Stop.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel != nil {
		return errors.New("listen: already started")
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel, m.done = cancel, make(chan struct{})
	go m.loop(ctx)
	return nil
}

// Reconcile asks for a reconciliation now (tests, and callers that changed workflows).
func (m *Manager) Reconcile() {
	select {
	case m.reconcile <- struct{}{}:
	default:
	}
}

func (m *Manager) loop(ctx context.Context) {
	defer close(m.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-m.cfg.Wake:
		case <-m.reconcile:
		}
		if err := m.sync(ctx); err != nil && ctx.Err() == nil {
			m.logger.WarnContext(ctx, "Reading the listening triggers failed; trying again", "error", err.Error())
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(m.cfg.PollInterval)
	}
}

// Stop stops every listener and waits for them to return (or ctx to end).
func (m *Manager) Stop(ctx context.Context) error {
	m.mu.Lock()
	cancel, done := m.cancel, m.done
	m.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	m.mu.Lock()
	for k, l := range m.running {
		l.cancel()
		delete(m.running, k)
	}
	m.mu.Unlock()
	waited := make(chan struct{})
	go func() { m.wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Running returns how many listeners run.
func (m *Manager) Running() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.running)
}

// wanted is a trigger node that should be listening.
type wanted struct {
	tenantID, workflowID, nodeID string
	version                      int
	typ                          node.TypeName
	config                       map[string]any
	spec                         string
}

// sync reads the active workflows and starts, restarts and stops listeners to match.
func (m *Manager) sync(ctx context.Context) error {
	want := map[string]wanted{}
	lastTenant, lastID := "", ""
	for {
		page, err := m.cfg.Store.ActiveWorkflowsAfter(ctx, lastTenant, lastID, 200)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		for _, w := range page {
			lastTenant, lastID = w.TenantID, w.ID
			for _, n := range w.Definition.Nodes {
				t, ok := m.cfg.Registry.Lookup(node.TypeName(n.Type))
				if !ok {
					continue
				}
				if _, listens := t.Info.New().(node.Listener); !listens {
					continue
				}
				// A credential's fingerprint is part of the spec: updating it restarts the listener.
				fingerprint := ""
				if id, _ := n.Config["credential"].(string); id != "" && m.cfg.Credentials != nil {
					if c, err := m.cfg.Credentials.LoadCredential(ctx, w.TenantID, id); err == nil {
						fingerprint = c.Fingerprint
					}
				}
				spec, _ := json.Marshal(map[string]any{"type": n.Type, "config": n.Config, "credential": fingerprint})
				sum := sha256.Sum256(spec)
				key := w.TenantID + "/" + w.ID + "/" + n.ID
				want[key] = wanted{tenantID: w.TenantID, workflowID: w.ID, nodeID: n.ID, version: w.Version,
					typ: node.TypeName(n.Type), config: n.Config, spec: hex.EncodeToString(sum[:])}
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, l := range m.running {
		w, ok := want[key]
		if ok && w.spec == l.spec {
			l.version.Store(int64(w.version))
			continue
		}
		l.cancel()
		delete(m.running, key)
	}
	for key, w := range want {
		if _, ok := m.running[key]; ok {
			continue
		}
		if err := m.startLocked(ctx, key, w); err != nil {
			m.logger.ErrorContext(ctx, "Listening trigger cannot start", "workflow_id", w.workflowID, "node_id", w.nodeID, "type", string(w.typ), "error", err.Error())
		}
	}
	return nil
}

// startLocked starts one listener; m.mu is held.
func (m *Manager) startLocked(ctx context.Context, key string, w wanted) error {
	t, ok := m.cfg.Registry.Lookup(w.typ)
	if !ok {
		return fmt.Errorf("node type %s is not registered", w.typ)
	}
	inst, err := t.Instantiate(w.config, false)
	if err != nil {
		return err
	}
	ln, ok := inst.(node.Listener)
	if !ok {
		return fmt.Errorf("node type %s does not listen", w.typ)
	}
	dedupe, _ := w.config["dedupeKey"].(string)
	lctx, cancel := context.WithCancel(ctx)
	l := &listener{key: key, spec: w.spec, typ: w.typ, cancel: cancel, done: make(chan struct{})}
	l.version.Store(int64(w.version))
	m.running[key] = l
	logger := m.logger.With("tenant_id", w.tenantID, "workflow_id", w.workflowID, "node_id", w.nodeID, "type", string(w.typ))
	env := node.ListenEnv{
		TenantID: w.tenantID, WorkflowID: w.workflowID, Version: w.version, NodeID: w.nodeID, Logger: logger,
		Credentials: &tenantCredentials{src: m.cfg.Credentials, tenantID: w.tenantID},
		Fire: func(ctx context.Context, data any) error {
			_, _, err := m.cfg.Firer.FireMessage(ctx, service.MessageFire{TenantID: w.tenantID, WorkflowID: w.workflowID,
				Version: int(l.version.Load()), NodeID: w.nodeID, Data: data, DedupeKey: dedupe})
			if m.cfg.Observer != nil {
				m.cfg.Observer.ListenerMessage(string(w.typ), err == nil)
			}
			return err
		},
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(l.done)
		m.run(lctx, ln, env, logger, string(w.typ))
	}()
	return nil
}

// run runs Listen until ctx ends, starting it again after a failure with a backoff that doubles up to
// BackoffMax (with jitter) and starts over once a run lasted healthyAfter.
func (m *Manager) run(ctx context.Context, ln node.Listener, env node.ListenEnv, logger *slog.Logger, typ string) {
	backoff := m.cfg.BackoffMin
	logger.InfoContext(ctx, "Listening trigger started")
	defer logger.InfoContext(context.WithoutCancel(ctx), "Listening trigger stopped")
	for {
		started := time.Now()
		err := listenOnce(ctx, ln, env)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > healthyAfter {
			backoff = m.cfg.BackoffMin
		}
		msg := "listener returned"
		if err != nil {
			msg = err.Error()
		}
		wait := backoff/2 + rand.N(backoff/2+1) //nolint:gosec // jitter, not a secret
		logger.WarnContext(ctx, "Listening trigger failed; starting it again", "error", msg, "retry_in", wait.String())
		if m.cfg.Observer != nil {
			m.cfg.Observer.ListenerRestart(typ)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, m.cfg.BackoffMax)
	}
}

// listenOnce calls Listen, turning a panic into an error so that one bad trigger cannot stop the
// server.
func listenOnce(ctx context.Context, ln node.Listener, env node.ListenEnv) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("listener panicked: %v", p)
		}
	}()
	return ln.Listen(ctx, env)
}

// tenantCredentials is a listener's node.Credentials. Listeners' own logs are not redacted (they go to
// the server log, which must never hold data), so Redact has nothing to do.
type tenantCredentials struct {
	src      CredentialSource
	tenantID string
}

func (c *tenantCredentials) Get(ctx context.Context, id string, types ...string) (*node.Credential, error) {
	if c.src == nil {
		return nil, node.ErrNoCredentials
	}
	cred, err := c.src.LoadCredential(ctx, c.tenantID, id)
	if err != nil {
		return nil, err
	}
	if len(types) > 0 {
		ok := false
		for _, t := range types {
			ok = ok || t == cred.Type
		}
		if !ok {
			return nil, node.Permanent(node.Errorf(node.CodeCredentialType, "credential %q is of type %s; this trigger takes %v", cred.Name, cred.Type, types))
		}
	}
	return cred, nil
}

func (c *tenantCredentials) Redact(...string) {}
