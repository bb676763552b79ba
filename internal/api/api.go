// Package api is ConcertMaster's REST API: huma operations under /api/v1 (one file per resource),
// webhooks under /hooks/, health and metrics, with the OpenAPI 3.1 document at /openapi.json and a
// reference at /docs. Errors are RFC 9457 problems (errors.go).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/live"
	"github.com/concertmaster/concertmaster/internal/ratelimit"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/telemetry"
)

// Defaults for Config.
const (
	MaxWorkflowBytesDefault = 4 << 20
	MaxInputBytesDefault    = 8 << 20
	MaxWebhookBytesDefault  = 8 << 20
	MaxWaitDefault          = 5 * time.Minute
	WebhookTimeoutDefault   = 30 * time.Second
)

// Readiness reports whether the process is ready to serve.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Config configures the API.
type Config struct {
	Service *service.Service
	Logger  *slog.Logger
	// Version is reported in the OpenAPI document and /healthz.
	Version string
	// Metrics observes requests (optional).
	Metrics RequestObserver
	// MetricsHandler serves /metrics (optional).
	MetricsHandler http.Handler
	// Ready backs /readyz (optional).
	Ready Readiness
	// MaxWorkflowBytes caps a workflow body (default 4 MiB); MaxInputBytes caps a run request (8 MiB);
	// MaxWebhookBytes caps a webhook body (8 MiB).
	MaxWorkflowBytes, MaxInputBytes, MaxWebhookBytes int64
	// MaxWait caps ?wait= on run requests (default 5m).
	MaxWait time.Duration
	// WebhookTimeout bounds how long a webhook with respond=onCompletion waits (default 30s).
	WebhookTimeout time.Duration
	// UI serves the web app for every other path (optional).
	UI http.Handler
	// ListenAddr is the address the server listens on (CM_ADDR); its host name, when it is one, is
	// a Host the server answers to.
	ListenAddr string
	// AllowedHosts are the other names the server answers to in the Host header (CM_ALLOWED_HOSTS, as
	// config.ParseAllowedHosts returns them; "*" turns the check off). IP addresses, localhost and
	// *.localhost are always answered. See browser.go.
	AllowedHosts []string
	// CORSOrigins are the origins whose pages may call /api/ cross-origin (CM_CORS_ORIGINS, as
	// config.ParseOrigins returns them); empty keeps CORS off. See cors.go.
	CORSOrigins []string
	// Live serves the WebSocket and Server-Sent Events endpoints (docs/live.md); without it they
	// answer 503.
	Live *live.Gateway
	// Identity authenticates requests and serves the identity routes (docs/security.md). Without
	// it every operation that is not public is refused.
	Identity *identity.Service
	// APIRateLimit, when set, limits the requests of each principal (token or API key): 429 with
	// Retry-After beyond it.
	APIRateLimit ratelimit.Limiter
	// PreviewBytes is the size of the input and output previews in execution reads (default
	// store.PreviewBytesDefault, 4 KiB); values up to it are sent whole.
	PreviewBytes int
	// TracerProvider makes a server span for each request (continuing the caller's traceparent);
	// nil makes none (docs/observability.md).
	TracerProvider trace.TracerProvider
	// Errors is told about recovered panics and 5xx answers (Sentry); nil reports nothing.
	Errors ErrorReporter
	// Plugins serves /api/v1/plugins; nil lists none (CM_PLUGIN_DIR=off).
	Plugins Plugins
}

// ErrorReporter reports failed requests; *telemetry.Sentry is one.
type ErrorReporter interface {
	Report(ctx context.Context, r telemetry.ErrorReport)
}

// RequestObserver records one HTTP request, by route pattern.
type RequestObserver interface {
	ObserveRequest(route, method string, status int, d time.Duration)
}

// Server holds the API's handlers.
type Server struct {
	cfg    Config
	svc    *service.Service
	logger *slog.Logger
	api    huma.API
	mux    *http.ServeMux
	// nodeTypeTags caches the content hashes behind the node types' ETags.
	nodeTypeTags nodeTypeTags
	// nodeTypeList keeps the encoded catalogue of node types.
	nodeTypeList nodeTypeList
	// tracer is nil when tracing is off.
	tracer trace.Tracer
}

// New builds the API and registers every route.
func New(cfg Config) *Server {
	if cfg.MaxWorkflowBytes <= 0 {
		cfg.MaxWorkflowBytes = MaxWorkflowBytesDefault
	}
	if cfg.MaxInputBytes <= 0 {
		cfg.MaxInputBytes = MaxInputBytesDefault
	}
	if cfg.MaxWebhookBytes <= 0 {
		cfg.MaxWebhookBytes = MaxWebhookBytesDefault
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = MaxWaitDefault
	}
	if cfg.WebhookTimeout <= 0 {
		cfg.WebhookTimeout = WebhookTimeoutDefault
	}
	if cfg.PreviewBytes <= 0 {
		cfg.PreviewBytes = store.PreviewBytesDefault
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	hc := huma.DefaultConfig("ConcertMaster API", cfg.Version)
	hc.CreateHooks = nil // no $schema links in bodies: responses round-trip into requests unchanged
	hc.OpenAPIPath = "/openapi"
	hc.DocsPath = ""
	hc.SchemasPath = ""
	hc.Info.Description = "Build, run and inspect workflows. Errors are RFC 9457 problem documents whose `errors[].location` is the JSON pointer of each bad field."
	hc.Tags = []*huma.Tag{
		{Name: "Workflows", Description: "Workflows and their versions"},
		{Name: "Executions", Description: "Runs of workflows"},
		{Name: "Node types", Description: "The registry of node types"},
		{Name: "Webhooks", Description: "Requests that start workflows"},
		{Name: "Credentials", Description: "Secrets nodes connect with, encrypted at rest and never returned (docs/credentials.md)"},
		{Name: "Identity", Description: "Setup, sign-in, sessions, workspaces, members, API keys and the audit log (docs/security.md)"},
		{Name: "Live", Description: "Execution events as they happen: WebSocket and Server-Sent Events (docs/live.md)"},
		{Name: "Operations", Description: "Health and metrics"},
	}
	hc.Info.Description += " A path that exists answers a method it does not serve with 405 and an Allow header; an unknown path " +
		"under /api/ or /hooks/ answers 404. Both are problem documents too."
	hc.Info.Description += " Every operation but the public ones needs Authorization: Bearer with an access token or an API key (docs/security.md). The server also guards against web pages driving it through a browser: a Host header " +
		"that is not an address of the server, localhost or a name in CM_ALLOWED_HOSTS answers 421, and a state-changing request a " +
		"browser sends from a page on another site (Sec-Fetch-Site, Origin) answers 403; webhooks are exempt from the latter. Every " +
		"answer carries Content-Security-Policy, X-Content-Type-Options: nosniff, X-Frame-Options: DENY, Referrer-Policy: no-referrer, " +
		"Cross-Origin-Opener-Policy and Cross-Origin-Resource-Policy: same-origin."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{"bearer": {Type: "http", Scheme: "bearer",
		Description: "An access token (JWT from POST /api/v1/auth/login) or an API key (cm_ak_…)"}}
	hc.OnAddOperation = append(hc.OnAddOperation, documentOperation)
	s := &Server{cfg: cfg, svc: cfg.Service, logger: logger.With("component", "api"), mux: mux, tracer: telemetry.Tracer(cfg.TracerProvider)}
	s.api = humago.New(mux, hc)
	s.api.UseMiddleware(s.screenParams, s.authorize, s.streamExecutionEvents)
	s.registerIdentity()
	s.registerNodeTypes()
	s.registerPlugins()
	s.registerWorkflows()
	s.registerWorkflowTags()
	s.registerPins()
	s.registerSchedules()
	s.registerCredentials()
	s.registerTemplates()
	s.registerExpressions()
	s.registerExecutions()
	s.registerLive()
	s.registerHealth()
	s.registerWebhooks()
	s.registerResume()
	mux.HandleFunc("GET /docs", serveDocs)
	if cfg.MetricsHandler != nil {
		mux.Handle("GET /metrics", cfg.MetricsHandler)
	}
	mux.HandleFunc("/", s.fallback)
	return s
}

// OpenAPI returns the OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// Handler returns the root handler with request ids, logging, metrics, panic recovery and the browser
// guards (Host and cross-origin checks, security headers).
func (s *Server) Handler() http.Handler { return s.middleware(s.guard(s.screen(s.mux))) }
