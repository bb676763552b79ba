// Package config holds the process configuration: one struct, filled from flags whose defaults come
// from CM_* environment variables, parsed strictly and validated as a whole. Nothing below cmd/ reads
// the environment: cmd/ hands Load a LookupFunc.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/netguard"
)

// Defaults.
const (
	AddrDefault                    = "127.0.0.1:8080"
	DatabaseURLDefault             = "sqlite://./data/concertmaster.db"
	LogFormatDefault               = "text"
	LogLevelDefault                = "info"
	WorkersDefault                 = 64
	MaxOutputBytesDefault          = 16 << 20
	MaxExecutionBytesDefault       = 256 << 20
	LiveMaxClientsDefault          = 10000
	WebhookTimeoutDefault          = 30 * time.Second
	ShutdownGraceDefault           = 15 * time.Second
	RetentionMaxAgeDefault         = 720 * time.Hour
	RetentionMaxPerWorkflowDefault = 10000
	RetentionIntervalDefault       = time.Minute
	AccessTokenTTLDefault          = 15 * time.Minute
	APIRateLimitDefault            = 200
	FilesDirDefault                = "./data/files"
	PluginDirDefault               = "./data/plugins"
	PluginKeepVersionsDefault      = 4
	FilesMaxBytesDefault           = 64 << 20
	CodeTimeoutDefault             = 30 * time.Second
	CodeMaxMemoryDefault           = 64 << 20
	RedisPrefixDefault             = "concertmaster:"
	WaitPollIntervalDefault        = 2 * time.Second
)

// Roles a serving process can take.
const (
	RoleAll = "all"
	RoleAPI = "api"
)

// The dispatchers (Config.Dispatcher).
const (
	DispatcherAuto     = "auto"
	DispatcherRiver    = "river"
	DispatcherEmbedded = "embedded"
)

// Config is the whole process configuration. Each field names its environment variable and flag;
// Settings describes them all.
type Config struct {
	// SecretKey is the server secret, base64 of 32 bytes (CM_SECRET_KEY): it signs access tokens.
	// Empty means the file secret.key next to the SQLite database, created on first start; PostgreSQL
	// mode needs it set, the same in every process.
	SecretKey string
	// BootstrapEmail and BootstrapPassword create the first owner on first start (CM_BOOTSTRAP_EMAIL,
	// CM_BOOTSTRAP_PASSWORD), for automation; once a user exists they are ignored.
	BootstrapEmail, BootstrapPassword string
	// AccessTokenTTL is the lifetime of access tokens (CM_ACCESS_TOKEN_TTL; default 15m).
	AccessTokenTTL time.Duration
	// APIRateLimit is how many requests per second each token or API key may make, with bursts of
	// twice that (CM_API_RATE_LIMIT; default 200; 0 turns the limit off).
	APIRateLimit int
	// Addr is the HTTP listen address (CM_ADDR, --addr; default 127.0.0.1:8080).
	Addr string
	// PublicURL is the URL the server is reached at, for links it hands out (CM_PUBLIC_URL; default
	// http://Addr).
	PublicURL string
	// AllowedHosts lists the extra names the server answers to in the Host header (CM_ALLOWED_HOSTS,
	// --allowed-hosts, comma-separated): host names (ci.example.com), host:port pairs, wildcards
	// (*.example.com) or "*" (no Host check). Empty means only the listen address, localhost and IP
	// addresses, which is the defence against DNS rebinding. Entries are lower case.
	AllowedHosts []string
	// CORSOrigins are the origins whose pages may call the API cross-origin (CM_CORS_ORIGINS,
	// --cors-origins, comma-separated, as ParseOrigins normalises them). Empty, the default, keeps
	// CORS off: only the server's own pages and programs reach the API.
	CORSOrigins []string
	// DatabaseURL picks and configures the store (CM_DATABASE_URL, --database-url): sqlite://PATH
	// (default sqlite://./data/concertmaster.db) or postgres://….
	DatabaseURL string
	// PluginDir is the folder plugins are loaded from and watched in (CM_PLUGIN_DIR, --plugin-dir;
	// default ./data/plugins); "off" loads none (docs/plugins.md).
	PluginDir string
	// PluginCacheDir keeps the compiled code of WebAssembly plugins across restarts
	// (CM_PLUGIN_CACHE_DIR; default the .cache folder of PluginDir when that exists).
	PluginCacheDir string
	// PluginKeepVersions is how many replaced versions of each plugin stay loaded for the executions
	// that started on them (CM_PLUGIN_KEEP_VERSIONS; default 4).
	PluginKeepVersions int
	// FilesDir is the directory file.read, file.write and file.list work in (CM_FILES_DIR,
	// --files-dir; default ./data/files, created with mode 0700 on first use). No path leaves it.
	FilesDir string
	// FilesMaxBytes caps a file those nodes read or write, in bytes (CM_FILES_MAX_BYTES,
	// --files-max-bytes; default 64 MiB). Reads are also capped by MaxOutputBytes.
	FilesMaxBytes int64
	// HTTPAllowPrivate lets http.request reach loopback, private and link-local addresses
	// (CM_HTTP_ALLOW_PRIVATE, --http-allow-private; default false). Cloud metadata addresses stay
	// blocked.
	HTTPAllowPrivate bool
	// HTTPAllowlist lists hosts, *.wildcards, IPs and CIDRs http.request may reach even when private
	// (CM_HTTP_ALLOWLIST, --http-allowlist, comma-separated).
	HTTPAllowlist string
	// CodeTimeout bounds one run of a code.javascript node whose node sets no shorter timeout
	// (CM_CODE_TIMEOUT, --code-timeout; default 30s, at least 10ms).
	CodeTimeout time.Duration
	// CodeMaxMemory is how much the heap may grow while one code.javascript script runs, in bytes
	// (CM_CODE_MAX_MEMORY, --code-max-memory; default 64 MiB, at least 1 MiB).
	CodeMaxMemory int64
	// LogFormat is "text" or "json" (CM_LOG_FORMAT, --log-format; default text).
	LogFormat string
	// LogLevel is debug, info, warn or error (CM_LOG_LEVEL, --log-level; default info).
	LogLevel string
	// MaxExecutionBytes is the memory budget of one execution, in bytes: the outputs it holds plus what
	// its running evaluations build (CM_MAX_EXECUTION_BYTES, --max-execution-bytes; default 256 MiB).
	// It is at least MaxOutputBytes.
	MaxExecutionBytes int64
	// LiveMaxClients caps the WebSocket connections and SSE streams open at once (docs/live.md).
	LiveMaxClients int
	// MaxOutputBytes caps one node output, in bytes (CM_MAX_OUTPUT_BYTES, --max-output-bytes; default
	// 16 MiB, at least 1024).
	MaxOutputBytes int64
	// PprofAddr, when set, serves Go's profiling endpoints on this address (CM_PPROF_ADDR,
	// --pprof-addr; default off). Keep it on a loopback address.
	PprofAddr string
	// SentryDSN, when set, sends recovered panics and 5xx answers to Sentry (CM_SENTRY_DSN,
	// --sentry-dsn; default off). It holds a key: it is never logged.
	SentryDSN string
	// RetentionInterval is how often the pruner deletes executions past retention
	// (CM_RETENTION_INTERVAL, --retention-interval; default 1m, at least 1s).
	RetentionInterval time.Duration
	// RetentionMaxAge is how long a finished execution is kept (CM_RETENTION_MAX_AGE,
	// --retention-max-age; default 720h). The special value 0 keeps executions forever.
	RetentionMaxAge time.Duration
	// RetentionMaxPerWorkflow is how many finished executions are kept per workflow, the newest
	// (CM_RETENTION_MAX_PER_WORKFLOW, --retention-max-per-workflow; default 10000). The special value 0
	// means no cap.
	RetentionMaxPerWorkflow int
	// RedisURL links the processes of a deployment through Redis (CM_REDIS_URL, --redis-url;
	// redis:// or rediss://): execution events reach every API process at once, cancels reach the
	// process running the execution, rate limits are shared (ADR 0018). Empty (the default) keeps a
	// process on its own; several API processes on one database then refuse to start.
	RedisURL string
	// RedisPrefix starts every Redis channel and key name (CM_REDIS_PREFIX, --redis-prefix; default
	// "concertmaster:").
	RedisPrefix string
	// Role is "all" (API and workers, default) or "api" (no workers) (CM_ROLE, --role).
	Role string
	// Dispatcher chooses what hands executions to workers (CM_DISPATCHER, --dispatcher): "river"
	// (River jobs in PostgreSQL), "embedded" (the in-process queue over the executions table, the only
	// choice on SQLite) or "auto" (default: river on PostgreSQL, embedded on SQLite).
	Dispatcher string
	// ShutdownGrace bounds a graceful shutdown (CM_SHUTDOWN_GRACE, --shutdown-grace; default 15s).
	ShutdownGrace time.Duration
	// TLSCertFile and TLSKeyFile, both set, make serve listen with TLS (CM_TLS_CERT_FILE,
	// CM_TLS_KEY_FILE, --tls-cert-file, --tls-key-file): PEM files, the certificate chain first to
	// last. Both empty (the default) serves plain HTTP; one without the other is refused.
	TLSCertFile, TLSKeyFile string
	// WebhookTimeout bounds how long a webhook answering on completion waits (CM_WEBHOOK_TIMEOUT,
	// --webhook-timeout; default 30s).
	WebhookTimeout time.Duration
	// WaitPollInterval is how often a waiting request re-reads the store when no event woke it: the
	// only way it learns of runs in other processes without Redis (CM_WAIT_POLL_INTERVAL,
	// --wait-poll-interval; default 2s, at least 10ms).
	WaitPollInterval time.Duration
	// Workers is the number of executions a process runs at once (CM_WORKERS, --workers; default 64,
	// 1 to 10000).
	Workers int
}

// Default returns the configuration with every setting at its default.
func Default() Config {
	return Config{
		Addr:                    AddrDefault,
		AccessTokenTTL:          AccessTokenTTLDefault,
		APIRateLimit:            APIRateLimitDefault,
		CodeTimeout:             CodeTimeoutDefault,
		CodeMaxMemory:           CodeMaxMemoryDefault,
		DatabaseURL:             DatabaseURLDefault,
		FilesDir:                FilesDirDefault,
		PluginDir:               PluginDirDefault,
		PluginKeepVersions:      PluginKeepVersionsDefault,
		FilesMaxBytes:           FilesMaxBytesDefault,
		LogFormat:               LogFormatDefault,
		LogLevel:                LogLevelDefault,
		MaxExecutionBytes:       MaxExecutionBytesDefault,
		LiveMaxClients:          LiveMaxClientsDefault,
		MaxOutputBytes:          MaxOutputBytesDefault,
		RetentionInterval:       RetentionIntervalDefault,
		RetentionMaxAge:         RetentionMaxAgeDefault,
		RetentionMaxPerWorkflow: RetentionMaxPerWorkflowDefault,
		RedisPrefix:             RedisPrefixDefault,
		Role:                    RoleAll,
		Dispatcher:              DispatcherAuto,
		WaitPollInterval:        WaitPollIntervalDefault,
		ShutdownGrace:           ShutdownGraceDefault,
		WebhookTimeout:          WebhookTimeoutDefault,
		Workers:                 WorkersDefault,
	}
}

// WithDefaults fills zero fields with their defaults. RetentionMaxAge and RetentionMaxPerWorkflow are
// left alone, since their zero value is meaningful (keep forever, no cap): start from Default to get
// their defaults.
func (c Config) WithDefaults() Config {
	c.Addr = cmp.Or(c.Addr, AddrDefault)
	c.AccessTokenTTL = cmp.Or(c.AccessTokenTTL, AccessTokenTTLDefault)
	c.DatabaseURL = cmp.Or(c.DatabaseURL, DatabaseURLDefault)
	c.FilesDir = cmp.Or(c.FilesDir, FilesDirDefault)
	c.PluginDir = cmp.Or(c.PluginDir, PluginDirDefault)
	c.PluginKeepVersions = cmp.Or(c.PluginKeepVersions, PluginKeepVersionsDefault)
	c.FilesMaxBytes = cmp.Or(c.FilesMaxBytes, FilesMaxBytesDefault)
	c.Role = cmp.Or(c.Role, RoleAll)
	c.Dispatcher = cmp.Or(c.Dispatcher, DispatcherAuto)
	c.RedisPrefix = cmp.Or(c.RedisPrefix, RedisPrefixDefault)
	c.WaitPollInterval = cmp.Or(c.WaitPollInterval, WaitPollIntervalDefault)
	c.LogFormat = cmp.Or(c.LogFormat, LogFormatDefault)
	c.LogLevel = cmp.Or(c.LogLevel, LogLevelDefault)
	c.Workers = cmp.Or(c.Workers, WorkersDefault)
	c.MaxOutputBytes = cmp.Or(c.MaxOutputBytes, MaxOutputBytesDefault)
	c.MaxExecutionBytes = cmp.Or(c.MaxExecutionBytes, MaxExecutionBytesDefault)
	c.LiveMaxClients = cmp.Or(c.LiveMaxClients, LiveMaxClientsDefault)
	c.WebhookTimeout = cmp.Or(c.WebhookTimeout, WebhookTimeoutDefault)
	c.ShutdownGrace = cmp.Or(c.ShutdownGrace, ShutdownGraceDefault)
	c.RetentionInterval = cmp.Or(c.RetentionInterval, RetentionIntervalDefault)
	c.CodeTimeout = cmp.Or(c.CodeTimeout, CodeTimeoutDefault)
	c.CodeMaxMemory = cmp.Or(c.CodeMaxMemory, CodeMaxMemoryDefault)
	return c
}

// LookupFunc returns the raw value of setting s and where it came from ("--workers" or
// "CM_WORKERS"); ok is false when s is not set. An empty value counts as not set.
type LookupFunc func(s Setting) (raw, origin string, ok bool)

// EnvLookup reads settings from environment variables through lookupEnv (os.LookupEnv in cmd/).
func EnvLookup(lookupEnv func(name string) (string, bool)) LookupFunc {
	return func(s Setting) (string, string, bool) {
		v, ok := lookupEnv(s.Env)
		return v, s.Env, ok && v != ""
	}
}

// Load builds the configuration from lookup: every setting that is set is parsed strictly, the others
// keep their defaults, and the whole is checked. The error reports every problem, one per line, each
// naming the variable or flag and the bad value, such as `CM_WORKERS="abc": want a whole number from
// 1 to 10000`.
func Load(lookup LookupFunc) (Config, error) {
	c := Default()
	var errs []error
	for _, s := range Settings() {
		raw, origin, ok := lookup(s)
		if !ok || raw == "" {
			continue
		}
		if err := s.parse(&c, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s=%s: %w", origin, s.quote(raw), err))
		}
	}
	if len(errs) == 0 {
		errs = append(errs, c.crossCheck()...)
	}
	return c, errors.Join(errs...)
}

// Validate reports every problem of a configuration built in code, each naming the variable; Load
// already checks what it returns.
func (c Config) Validate() error {
	var errs []error
	for _, s := range Settings() {
		var scratch Config
		raw := s.format(&c)
		if raw == "" {
			if s.optional {
				continue
			}
			errs = append(errs, fmt.Errorf("%s is empty", s.Env))
			continue
		}
		if err := s.parse(&scratch, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s=%s: %w", s.Env, s.quote(raw), err))
		}
	}
	if len(errs) == 0 {
		errs = append(errs, c.crossCheck()...)
	}
	return errors.Join(errs...)
}

// crossCheck checks the rules that involve several settings.
func (c Config) crossCheck() []error {
	var errs []error
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("CM_TLS_CERT_FILE and CM_TLS_KEY_FILE go together: set both to serve HTTPS, or neither"))
	}
	if c.MaxExecutionBytes < c.MaxOutputBytes {
		errs = append(errs, fmt.Errorf("CM_MAX_EXECUTION_BYTES (%d) is smaller than CM_MAX_OUTPUT_BYTES (%d): one output must fit in an execution's budget",
			c.MaxExecutionBytes, c.MaxOutputBytes))
	}
	return errs
}

// KnownEnv reports whether name is a setting's environment variable.
func KnownEnv(name string) bool {
	for _, s := range Settings() {
		if s.Env == name {
			return true
		}
	}
	return false
}

// UnknownEnv returns the CM_* variables of environ ("NAME=value" pairs, as os.Environ returns them)
// that name no setting, such as a misspelt CM_WORKER, so that they can be reported. Variables read by
// the test suites (CM_TEST_*, CM_E2E_*, CM_CHAOS_*: make test-chaos) and the clients of a server (CM_API_URL: the web development
// server and `concertmaster watch`; CM_API_KEY: the CLI's API key) are not settings and are left out.
func UnknownEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "CM_") || strings.HasPrefix(name, "CM_TEST_") || strings.HasPrefix(name, "CM_E2E_") ||
			strings.HasPrefix(name, "CM_CHAOS_") || name == "CM_API_URL" || name == "CM_API_KEY" || KnownEnv(name) {
			continue
		}
		out = append(out, name)
	}
	return out
}

// Database is a parsed CM_DATABASE_URL.
type Database struct {
	// Driver is "sqlite" or "postgres".
	Driver string
	// Path is the SQLite file; URL is the PostgreSQL connection URL.
	Path, URL string
}

// ParseDatabaseURL recognises sqlite://PATH (relative or absolute: sqlite:///var/lib/cm.db) and
// postgres:// or postgresql:// URLs.
func ParseDatabaseURL(raw string) (Database, error) {
	db, err := parseDatabaseURL(raw)
	if err != nil {
		return Database{}, fmt.Errorf("CM_DATABASE_URL %q: %w", redactURL(raw), err)
	}
	return db, nil
}

func parseDatabaseURL(raw string) (Database, error) {
	switch {
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return Database{}, errors.New("sqlite:// needs a file path, such as sqlite://./data/concertmaster.db")
		}
		return Database{Driver: "sqlite", Path: path}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		// url.Parse's error quotes the whole URL, password included: say what is wrong without it.
		if _, err := url.Parse(raw); err != nil {
			return Database{}, errors.New("not a valid URL; percent-encode special characters in the user name and password")
		}
		return Database{Driver: "postgres", URL: raw}, nil
	}
	return Database{}, errors.New("want sqlite://PATH or postgres://user:password@host:5432/db")
}

// checkRedisURL checks a CM_REDIS_URL without quoting it (it may hold a password).
func checkRedisURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" || u.Opaque != "" {
		return errors.New("want redis://[user:password@]host:6379[/db] or rediss://… (percent-encode special characters in the password)")
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 || n > 1000 {
			return errors.New("the path must be a database number, such as /0")
		}
	}
	return nil
}

// redactURL hides the password of a URL; a value that does not parse as a URL is hidden whole when it
// looks like it may hold credentials.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "[redacted]"
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// ParseLevel parses a log level name.
func ParseLevel(s string) (slog.Level, error) {
	l, err := parseLevel(s)
	if err != nil {
		return 0, fmt.Errorf("CM_LOG_LEVEL %q: %w", s, err)
	}
	return l, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, errors.New("want debug, info, warn or error")
	}
	return l, nil
}

// PublicBaseURL is CM_PUBLIC_URL, or http(s)://CM_ADDR when unset (a wildcard listen address is
// named localhost).
func (c Config) PublicBaseURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	scheme := "http"
	if c.TLSCertFile != "" {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return scheme + "://" + c.Addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Policy returns the outbound request policy for http.request.
func (c Config) Policy() *netguard.Policy {
	list, _ := netguard.ParseAllowlist(c.HTTPAllowlist)
	return &netguard.Policy{AllowPrivate: c.HTTPAllowPrivate, Allowlist: list}
}
