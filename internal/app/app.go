// Package app wires ConcertMaster's parts into a running process: the store chosen by the database
// URL, the node registry, the engine, the dispatcher, the service, the HTTP API and the embedded web
// app.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/cache"
	"github.com/concertmaster/concertmaster/internal/cluster"
	"github.com/concertmaster/concertmaster/internal/config"
	"github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/dispatch"
	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/listen"
	"github.com/concertmaster/concertmaster/internal/live"
	"github.com/concertmaster/concertmaster/internal/metrics"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/builtin"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/files"
	"github.com/concertmaster/concertmaster/internal/nodes/httpnode"
	"github.com/concertmaster/concertmaster/internal/nodes/jscode"
	"github.com/concertmaster/concertmaster/internal/pluginhost"
	"github.com/concertmaster/concertmaster/internal/ratelimit"
	"github.com/concertmaster/concertmaster/internal/retention"
	"github.com/concertmaster/concertmaster/internal/schedule"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/store/sqlstore"
	"github.com/concertmaster/concertmaster/internal/store/storepg"
	"github.com/concertmaster/concertmaster/internal/store/storesqlite"
	"github.com/concertmaster/concertmaster/internal/telemetry"
	"github.com/concertmaster/concertmaster/web"
)

// OpenStore opens and migrates the store named by the database URL; it returns how many migrations
// it applied.
func OpenStore(ctx context.Context, databaseURL string, logger *slog.Logger) (*sqlstore.Store, int, error) {
	db, err := config.ParseDatabaseURL(databaseURL)
	if err != nil {
		return nil, 0, err
	}
	var st *sqlstore.Store
	switch db.Driver {
	case "sqlite":
		st, err = storesqlite.Open(storesqlite.Config{Path: db.Path, Logger: logger})
	default:
		st, err = storepg.Open(ctx, storepg.Config{URL: db.URL, Logger: logger})
	}
	if err != nil {
		return nil, 0, err
	}
	n, err := st.Migrate(ctx)
	if err != nil {
		_ = st.Close()
		return nil, n, fmt.Errorf("migrate: %w", err)
	}
	return st, n, nil
}

// builtinConfig configures the built-in node types from cfg.
func builtinConfig(cfg config.Config) builtin.Config {
	return builtin.Config{
		HTTP:  httpnode.Config{Policy: cfg.Policy()},
		Files: files.Config{Dir: cfg.FilesDir, MaxBytes: cfg.FilesMaxBytes},
		Code:  jscode.Config{Timeout: cfg.CodeTimeout, MaxMemory: cfg.CodeMaxMemory},
		Conn:  conn.Config{Policy: cfg.Policy()},
	}
}

// Registry returns the built-in node registry configured from cfg.
func Registry(cfg config.Config) (*node.Registry, error) {
	return builtin.NewRegistry(builtinConfig(cfg))
}

// CredentialTesters returns the credential testers of the built-in integration node types, configured
// from cfg like the nodes (the same outbound guard).
func CredentialTesters(cfg config.Config) map[string]conn.TestFunc {
	return builtin.CredentialTesters(builtinConfig(cfg))
}

// Runtime is the store, engine, dispatcher and service of one process.
type Runtime struct {
	Store      *sqlstore.Store
	Registry   *node.Registry
	Engine     *engine.Engine
	Dispatcher dispatch.Dispatcher
	// Bus is the process's event hub; with Redis, Cluster feeds it the other processes' events.
	Bus     *event.Hub
	Service *service.Service
	Metrics *metrics.Metrics
	// Pruner applies the retention rules; Start runs it with the workers.
	Pruner *retention.Pruner
	// Scheduler fires the schedule triggers; serve starts it (StartScheduler), whatever its role.
	Scheduler *schedule.Scheduler
	// Listeners run the listening triggers (queues, streams, topics) of active workflows; serve starts
	// them with the scheduler.
	Listeners *listen.Manager
	// Cluster is the Redis link to the other processes (CM_REDIS_URL), nil without one. StartCluster
	// connects it.
	Cluster *cluster.Cluster
	// Caches are the process's hot-read caches (webhook routes, roles, API keys), invalidated by its
	// writes and, through Cluster, by the other processes'.
	Caches *cache.Group
	// Plugins loads the plugins of CM_PLUGIN_DIR and watches it; nil when CM_PLUGIN_DIR=off.
	Plugins *pluginhost.Manager
	Owner   string

	plugins *pluginSet

	redisPrefix string
	redis       bool
	dialect     string
	presence    *presence
	log         *slog.Logger
	// limitHealth is shared by the Redis rate limiters, which log an outage once for all.
	limitHealth *ratelimit.RedisHealth
	// Telemetry is the process's tracing (off unless OTEL_* configures an exporter); Close flushes it.
	Telemetry *telemetry.Provider
	// panics passes the nodes' panics to Sentry (ReportPanicsTo).
	panics *panicSink
}

// NewRuntime builds a runtime; call Start to run its workers.
func NewRuntime(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Runtime, error) {
	// Records logged with a context carry its trace_id, span_id and execution_id.
	logger = telemetry.WrapLogger(logger)
	tel, err := telemetry.Start(ctx, telemetry.Config{Logger: logger})
	if err != nil {
		return nil, err
	}
	built := false
	defer func() {
		if !built {
			_ = tel.Shutdown(context.WithoutCancel(ctx))
		}
	}()
	st, _, err := OpenStore(ctx, cfg.DatabaseURL, logger)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	hub := event.NewHub()
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), service.NewID()[24:])
	// Without Redis the hub is the bus; with it, the cluster hands every event to the hub and to the
	// other processes, and theirs to the hub.
	var bus event.Bus = hub
	var d dispatch.Dispatcher
	// The hot-read caches (ADR 0024) hear the other processes' invalidations through the cluster, and
	// are bypassed while it is down.
	var caches *cache.Group
	cl, err := newCluster(cfg, owner, hub, st, m, logger, func(ref store.ExecutionRef) bool { return d != nil && d.Cancel(ref) },
		func(inv cache.Invalidation) { caches.Receive(inv) })
	if err != nil {
		hub.Close()
		_ = st.Close()
		return nil, err
	}
	if cl != nil {
		bus = cl
		caches = cache.NewGroup(cl)
	} else {
		caches = cache.NewGroup(nil)
	}
	fail := func(err error) (*Runtime, error) {
		if cl != nil {
			_ = cl.Close()
		}
		hub.Close()
		_ = st.Close()
		return nil, err
	}
	reg, err := Registry(cfg)
	if err != nil {
		return fail(err)
	}
	plugins, err := startPlugins(ctx, cfg, reg, logger)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if !built && plugins != nil {
			_ = plugins.close(context.WithoutCancel(ctx))
		}
	}()
	limits := expression.Limits{Cache: expression.NewCache(0)}
	// Resume URLs are signed, and credentials encrypted, with keys derived from the server secret;
	// without a secret (PostgreSQL without CM_SECRET_KEY, where serve refuses to start anyway) resume
	// URLs never match and there is no vault.
	var resumeKey []byte
	var creds *service.Credentials
	var loader engine.CredentialLoader
	if sec, err := LoadSecret(cfg, logger); err == nil {
		resumeKey = sec.Derive("concertmaster resume url")
		vault, err := credential.NewVault(sec.Derive(credential.KeyInfo), st)
		if err != nil {
			return fail(err)
		}
		creds = service.NewCredentials(service.CredentialsConfig{Store: st, Vault: vault, Testers: CredentialTesters(cfg), Logger: logger})
		loader = creds
	}
	panics := &panicSink{}
	eng, err := engine.New(engine.Config{Store: st, Registry: reg, Publisher: bus, Observer: m, Logger: logger, OnPanic: panics.report,
		MaxOutputBytes: cfg.MaxOutputBytes, MaxExecutionBytes: cfg.MaxExecutionBytes, ExpressionLimits: limits,
		DrainTimeout: DrainTimeout(cfg.ShutdownGrace), Credentials: loader, TracerProvider: tel.TracerProvider(), Plugins: plugins.resolver()})
	if err != nil {
		return fail(err)
	}
	// The service signals schedule changes on wake, which the scheduler reads, and on listenWake, which
	// the listening triggers' manager reads: one pending signal is enough, since a pass reads
	// everything. River signals wake too when this process becomes its leader.
	wake := make(chan struct{}, 1)
	listenWake := make(chan struct{}, 1)
	d, err = newDispatcher(ctx, cfg, st, eng, owner, logger, func() { signal(wake) })
	if err != nil {
		return fail(err)
	}
	// On River, the elected leader alone fires schedules and prunes (ADR 0022). It learns of schedules
	// another process changed by looking again every second.
	var leading func() bool
	var schedulePoll time.Duration
	if r, ok := d.(*dispatch.River); ok {
		leading, schedulePoll = r.Leading, time.Second
	}
	svc := service.New(service.Config{Store: st, Registry: reg, Engine: eng, Dispatcher: d, Bus: bus, Logger: logger, Limits: limits,
		PublicURL: cfg.PublicBaseURL(), ResumeKey: resumeKey, Credentials: creds, WaitPollInterval: cfg.WaitPollInterval,
		RemoteCancelFunc: remoteCancel(cl), Caches: caches,
		SchedulesChangedFunc: func() {
			signal(wake)
			signal(listenWake)
		}})
	sched, err := schedule.New(schedule.Config{Store: st, Service: svc, Wake: wake, Leading: leading, PollInterval: schedulePoll, Observer: m, Logger: logger})
	if err != nil {
		return fail(err)
	}
	var credSource listen.CredentialSource
	if creds != nil {
		credSource = creds
	}
	listeners, err := listen.New(listen.Config{Store: st, Registry: reg, Firer: svc, Credentials: credSource, Observer: m, Logger: logger, Wake: listenWake})
	if err != nil {
		return fail(err)
	}
	m.Gauge("concertmaster_listeners_running", "Listening triggers (queues, streams, topics) running in this process.", func() float64 { return float64(listeners.Running()) })
	m.Gauge("concertmaster_dispatch_running", "Executions running in this process.", func() float64 { return float64(d.Running()) })
	m.Gauge("concertmaster_dispatch_queued", "Executions handed to this process's workers and not yet claimed.", func() float64 { return float64(d.Queued()) })
	m.Gauge("concertmaster_live_subscriptions", "Open live event subscriptions.", func() float64 { return float64(hub.Subscribers()) })
	m.QueueDepth(st.QueueDepth)
	cacheMetrics(m, cache.ScopeWebhooks, svc.WebhookCacheStats)
	pruner, err := retention.New(retention.Config{Store: st, MaxAge: cfg.RetentionMaxAge, MaxPerWorkflow: cfg.RetentionMaxPerWorkflow,
		Interval: cfg.RetentionInterval, Leading: leading, Observer: m, Logger: logger})
	if err != nil {
		return fail(err)
	}
	built = true
	return &Runtime{Store: st, Registry: reg, Engine: eng, Dispatcher: d, Bus: hub, Cluster: cl, Service: svc, Metrics: m, Pruner: pruner, Scheduler: sched,
		Listeners: listeners, Caches: caches, Plugins: plugins.manager(), plugins: plugins, panics: panics, Owner: owner, redisPrefix: cfg.RedisPrefix, redis: cl != nil, dialect: st.Dialect(), log: logger, Telemetry: tel}, nil
}

// newDispatcher builds the dispatcher cfg.Dispatcher names: River on PostgreSQL unless told otherwise
// (its tables are migrated first, and the store tells it of every execution that becomes runnable),
// the embedded one on SQLite.
func newDispatcher(ctx context.Context, cfg config.Config, st *sqlstore.Store, eng *engine.Engine, owner string, logger *slog.Logger, onLead func()) (dispatch.Dispatcher, error) {
	kind := cfg.Dispatcher
	if kind == "" || kind == config.DispatcherAuto {
		kind = config.DispatcherEmbedded
		if st.Dialect() == "postgres" {
			kind = config.DispatcherRiver
		}
	}
	if kind == config.DispatcherEmbedded {
		return dispatch.NewEmbedded(dispatch.EmbeddedConfig{
			Store: st, Runner: eng, Owner: owner, Workers: cfg.Workers, Logger: logger,
			// A SQLite database belongs to one process, which takes over what its predecessor left running.
			Takeover: st.Dialect() == "sqlite",
		})
	}
	if st.Dialect() != "postgres" {
		return nil, errors.New("CM_DISPATCHER=river needs PostgreSQL (CM_DATABASE_URL=postgres://…); SQLite uses the embedded dispatcher")
	}
	if err := dispatch.MigrateRiver(ctx, st.DB()); err != nil {
		return nil, err
	}
	db, err := config.ParseDatabaseURL(cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	pool, err := storepg.OpenPool(ctx, db.URL, 8)
	if err != nil {
		return nil, err
	}
	d, err := dispatch.NewRiver(dispatch.RiverConfig{DB: st.DB(), Pool: pool, Store: st, Runner: eng, Owner: owner,
		Workers: cfg.Workers, Logger: logger, OnStop: pool.Close, OnLead: onLead})
	if err != nil {
		pool.Close()
		return nil, err
	}
	st.OnRunnable(d.EnqueueAt)
	return d, nil
}

// panicSink passes the panics of nodes to the Sentry reporter the process sets up (ReportPanicsTo).
type panicSink struct {
	to atomic.Pointer[telemetry.Sentry]
}

func (p *panicSink) report(ctx context.Context, nodeType string, value any) {
	p.to.Load().ReportNodePanic(ctx, nodeType, value)
}

// ReportPanicsTo sends the panics of nodes this runtime runs to s (nil: nowhere). serve and worker
// call it with the reporter CM_SENTRY_DSN configures.
func (rt *Runtime) ReportPanicsTo(s *telemetry.Sentry) { rt.panics.to.Store(s) }

// signal leaves one pending signal on c, if there is none yet.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// DrainTimeout is how long running attempts may finish during a shutdown of the given grace: three
// quarters of it, so that their results and the hand-back are written before the grace runs out.
func DrainTimeout(grace time.Duration) time.Duration {
	return max(grace*3/4, 100*time.Millisecond)
}

// Start runs the workers and the retention pruner.
func (rt *Runtime) Start(ctx context.Context) error {
	if err := rt.Dispatcher.Start(ctx); err != nil {
		return err
	}
	return rt.Pruner.Start(ctx)
}

// StartScheduler runs the scheduler, which fires the schedule triggers of active workflows. serve
// runs it in every process (a race between processes on one database is harmless: each fire time
// starts one run); worker processes do not. On River only the elected leader's scheduler fires.
func (rt *Runtime) StartScheduler(ctx context.Context) error {
	if err := rt.Scheduler.Start(ctx); err != nil {
		return err
	}
	return rt.Listeners.Start(ctx)
}

// Leads reports whether this runtime's processes elect a leader to fire schedules and prune (River):
// a worker process then runs the scheduler too, in case it is the one elected.
func (rt *Runtime) Leads() bool {
	_, ok := rt.Dispatcher.(*dispatch.River)
	return ok
}

// StartCluster connects the Redis link, if there is one, in the background: with events, the other
// processes' events reach this process's hub (API processes); without, only their cancel signals do
// (workers).
func (rt *Runtime) StartCluster(events bool) {
	if rt.Cluster != nil {
		rt.Cluster.Start(events)
	}
}

// Register records this process in the store's processes table and keeps it there until Close (on
// PostgreSQL; a SQLite database belongs to one process). An API process refuses to start next to
// another API process unless both have Redis (ADR 0018).
func (rt *Runtime) Register(ctx context.Context, role string) error {
	if rt.dialect == "sqlite" || rt.presence != nil {
		return nil
	}
	p, err := startPresence(ctx, rt.Store, store.Process{ID: rt.Owner, Role: role, Redis: rt.redis}, rt.log)
	if err != nil {
		return err
	}
	rt.presence = p
	return nil
}

// closeLink stops the presence heartbeat and the Redis link, which outlive the workers (a cancel
// signal may still arrive for a draining run) but not the store.
func (rt *Runtime) closeLink(ctx context.Context) error {
	rt.presence.stop(ctx)
	if rt.Cluster != nil {
		return rt.Cluster.Close()
	}
	return nil
}

// Close stops the scheduler, the pruner, the workers and the Redis link, and closes the store.
func (rt *Runtime) Close(ctx context.Context) error {
	// Plugins stop after the dispatcher: the runs it lets finish may call them.
	err := errors.Join(rt.Listeners.Stop(ctx), rt.Scheduler.Stop(ctx), rt.Pruner.Stop(ctx), rt.Dispatcher.Stop(ctx), rt.plugins.close(ctx), rt.closeLink(ctx), rt.Store.Close())
	rt.Bus.Close()
	// Last: the spans of the runs that just stopped are exported too.
	return errors.Join(err, rt.Telemetry.Shutdown(ctx))
}

// Server is a serving process.
type Server struct {
	cfg     config.Config
	logger  *slog.Logger
	rt      *Runtime
	http    *http.Server
	api     *api.Server
	live    *live.Gateway
	workers bool
	// sentry reports panics and 5xx answers; nil without CM_SENTRY_DSN.
	sentry *telemetry.Sentry
}

// NewServer builds a server for cfg.
func NewServer(ctx context.Context, cfg config.Config, version string, logger *slog.Logger) (*Server, error) {
	tlsConfig, err := TLSConfig(cfg)
	if err != nil {
		return nil, err
	}
	rt, err := NewRuntime(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	limit, idLimits, err := rt.RateLimits(cfg)
	if err != nil {
		_ = rt.Close(context.Background())
		return nil, err
	}
	id, err := NewIdentity(ctx, cfg, rt.Store, logger, idLimits, rt.Caches)
	if err != nil {
		_ = rt.Close(context.Background())
		return nil, err
	}
	cacheMetrics(rt.Metrics, cache.ScopeRoles, id.RoleCacheStats)
	cacheMetrics(rt.Metrics, cache.ScopeAPIKeys, id.APIKeyCacheStats)
	logger = telemetry.WrapLogger(logger)
	sentry, err := NewSentry(cfg, version)
	if err != nil {
		_ = rt.Close(context.Background())
		return nil, err
	}
	rt.ReportPanicsTo(sentry)
	s := &Server{cfg: cfg, logger: logger, rt: rt, workers: cfg.Role == config.RoleAll, sentry: sentry}
	s.live = live.New(live.Config{Store: rt.Store, Bus: rt.Bus, Observer: rt.Metrics, Logger: logger, Problem: api.WriteProblem,
		MaxClients: cfg.LiveMaxClients, Version: version, AllowedOrigins: cfg.CORSOrigins})
	s.api = api.New(api.Config{Live: s.live, Identity: id, APIRateLimit: limit,
		Service: rt.Service, Logger: logger, Version: version, Metrics: rt.Metrics, MetricsHandler: rt.Metrics.Handler(),
		Ready: s, WebhookTimeout: cfg.WebhookTimeout, UI: web.Handler(web.FS()),
		ListenAddr: cfg.Addr, AllowedHosts: publicHosts(cfg), CORSOrigins: cfg.CORSOrigins,
		TracerProvider: rt.Telemetry.TracerProvider(), Errors: errorReporter(sentry), Plugins: rt.plugins.api(),
	})
	s.http = &http.Server{
		Addr:              cfg.Addr,
		Handler:           s.api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		// An Authorization header, a webhook's signature or the cookies of a proxy fit easily; more
		// answers 431.
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:      tlsConfig,
	}
	return s, nil
}

// Runtime returns the server's runtime.
func (s *Server) Runtime() *Runtime { return s.rt }

// API returns the HTTP API.
func (s *Server) API() *api.Server { return s.api }

// Ready implements api.Readiness.
func (s *Server) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.rt.Store.Ping(ctx)
}

// Run serves until ctx ends, then shuts down gracefully: no new requests, running executions handed
// back to the queue, the store closed.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		_ = s.rt.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.rt.Register(ctx, store.ProcessRoleAPI); err != nil {
		_ = s.rt.Close(context.Background())
		return err
	}
	s.rt.StartCluster(true)
	if s.workers {
		if err := s.rt.Start(ctx); err != nil {
			return err
		}
	}
	if err := s.rt.StartScheduler(ctx); err != nil {
		return err
	}
	scheme := "http://"
	if s.http.TLSConfig != nil {
		scheme = "https://"
	}
	s.logger.Info("ConcertMaster is serving", "addr", scheme+ln.Addr().String(), "store", s.rt.Store.Dialect(), "role", s.cfg.Role, "workers", s.cfg.Workers)
	errc := make(chan error, 1)
	go func() {
		if s.http.TLSConfig != nil {
			// The certificate is in TLSConfig; ServeTLS adds HTTP/2.
			errc <- s.http.ServeTLS(ln, "", "")
			return
		}
		errc <- s.http.Serve(ln)
	}()
	select {
	case err := <-errc:
		_ = s.rt.Close(context.Background())
		s.sentry.Close(2 * time.Second)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.logger.Info("Shutting down", "grace", s.cfg.ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	// Requests in flight (a webhook waiting for its run) and running executions drain together: the
	// dispatcher claims nothing new, running attempts may finish and their results are saved, the
	// rest is handed back to the queue; then the store closes.
	// Live clients are told at once (WebSocket close 1001, SSE streams end) and reconnect to the next
	// process, resuming from the log; their connections would otherwise hold Shutdown for the whole grace.
	lerr := s.live.Shutdown(sctx)
	herrc := make(chan error, 1)
	go func() { herrc <- s.http.Shutdown(sctx) }()
	// Listening triggers stop first: a message they hold unacknowledged is redelivered to the next
	// process.
	ierr := s.rt.Listeners.Stop(sctx)
	serr := s.rt.Scheduler.Stop(sctx)
	perr := s.rt.Pruner.Stop(sctx)
	derr := s.rt.Dispatcher.Stop(sctx)
	herr := <-herrc
	cerr := s.rt.closeLink(sctx)
	s.rt.Bus.Close()
	// Spans and error reports of the last requests and runs are sent before the process exits.
	terr := s.rt.Telemetry.Shutdown(sctx)
	s.sentry.Close(time.Until(deadlineOf(sctx)))
	return errors.Join(lerr, herr, ierr, serr, perr, derr, cerr, s.rt.Store.Close(), terr)
}

var (
	_ retention.Observer = (*metrics.Metrics)(nil)
	_ schedule.Observer  = (*metrics.Metrics)(nil)
	_ listen.Observer    = (*metrics.Metrics)(nil)
)

// publicHosts is CM_ALLOWED_HOSTS plus the host of CM_PUBLIC_URL, so that the links the server hands
// out reach it.
func publicHosts(cfg config.Config) []string {
	hosts := cfg.AllowedHosts
	if cfg.PublicURL == "" {
		return hosts
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Host != "" {
		hosts = append(slices.Clone(hosts), strings.ToLower(u.Host))
	}
	return hosts
}
