package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/secret"
)

// Setting is one configuration setting: its environment variable, its flag, and how its text is
// parsed into a Config and formatted back.
type Setting struct {
	// Env is the environment variable, such as CM_WORKERS.
	Env string
	// Flag is the command-line flag without its dashes, such as workers.
	Flag string
	// Usage says what the setting does, for --help.
	Usage string
	// Kind names the kind of value for --help: string, int, bytes, duration, bool or list.
	Kind string
	// IsBool marks a true/false setting, whose flag may be given without a value (--http-allow-private).
	IsBool bool
	// Secret marks a setting whose value may hold a password; messages show it with the password hidden.
	Secret bool

	// optional settings may be empty.
	optional bool
	parse    func(c *Config, raw string) error
	format   func(c *Config) string
}

// Default returns the setting's default value as text ("" when it is unset by default).
func (s Setting) Default() string {
	d := Default()
	return s.format(&d)
}

// Value returns the setting's value in c as text.
func (s Setting) Value(c Config) string { return s.format(&c) }

// quote returns raw for an error message: quoted, with passwords hidden and long values cut.
func (s Setting) quote(raw string) string {
	if s.Secret && !strings.Contains(raw, "://") {
		// A key or a password, not a URL: nothing of it may show.
		return strconv.Quote("[redacted]")
	}
	if s.Secret {
		raw = redactURL(raw)
	}
	if s.Env == "CM_SENTRY_DSN" {
		// The key is the DSN's user name, which redactURL keeps.
		return strconv.Quote("[redacted]")
	}
	const max = 120
	if len(raw) > max {
		raw = raw[:max] + "…"
	}
	return strconv.Quote(raw)
}

// Settings returns every setting, in the order of the README's configuration table.
func Settings() []Setting {
	return []Setting{
		{
			Env: "CM_ADDR", Kind: "string", Flag: "addr", Usage: "HTTP listen address, host:port",
			parse: func(c *Config, raw string) error {
				if err := checkHostPort(raw); err != nil {
					return err
				}
				c.Addr = raw
				return nil
			},
			format: func(c *Config) string { return c.Addr },
		},
		{ //nolint:gosec // the usage shows the URL's form (user:password@host); it holds no credential
			Env: "CM_DATABASE_URL", Kind: "string", Flag: "database-url", Usage: "store: sqlite://PATH or postgres://user:password@host:5432/db", Secret: true,
			parse: func(c *Config, raw string) error {
				if _, err := parseDatabaseURL(raw); err != nil {
					return err
				}
				c.DatabaseURL = raw
				return nil
			},
			format: func(c *Config) string { return c.DatabaseURL },
		},
		{
			Env: "CM_ROLE", Kind: "string", Flag: "role", Usage: "all (serve and run executions) or api (serve only)",
			parse: func(c *Config, raw string) error {
				if raw != RoleAll && raw != RoleAPI {
					return errors.New("want all or api")
				}
				c.Role = raw
				return nil
			},
			format: func(c *Config) string { return c.Role },
		},
		{ //nolint:gosec // the usage shows the URL's form (user:password@host); it holds no credential
			Env: "CM_REDIS_URL", Kind: "string", Flag: "redis-url", optional: true, Secret: true,
			Usage: "Redis linking the processes of a deployment (events, cancels, rate limits): redis://[user:password@]host:6379[/db] or rediss://…",
			parse: func(c *Config, raw string) error {
				if err := checkRedisURL(raw); err != nil {
					return err
				}
				c.RedisURL = raw
				return nil
			},
			format: func(c *Config) string { return c.RedisURL },
		},
		{
			Env: "CM_REDIS_PREFIX", Kind: "string", Flag: "redis-prefix", Usage: "prefix of the Redis channel and key names, so that deployments may share a server",
			parse: func(c *Config, raw string) error {
				if len(raw) > 100 || strings.ContainsAny(raw, " \t\r\n") {
					return errors.New("want at most 100 characters without spaces")
				}
				c.RedisPrefix = raw
				return nil
			},
			format: func(c *Config) string { return c.RedisPrefix },
		},
		{
			Env: "CM_WAIT_POLL_INTERVAL", Kind: "duration", Flag: "wait-poll-interval",
			Usage: "how often a waiting request (?wait=, a webhook answering on completion) re-reads the store when no event woke it",
			parse: func(c *Config, raw string) (err error) {
				c.WaitPollInterval, err = parseDuration(raw, 10*time.Millisecond)
				return err
			},
			format: func(c *Config) string { return c.WaitPollInterval.String() },
		},
		{
			Env: "CM_DISPATCHER", Kind: "string", Flag: "dispatcher", Usage: "auto, river (PostgreSQL) or embedded: what hands executions to workers",
			parse: func(c *Config, raw string) error {
				if raw != DispatcherAuto && raw != DispatcherRiver && raw != DispatcherEmbedded {
					return errors.New("want auto, river or embedded")
				}
				c.Dispatcher = raw
				return nil
			},
			format: func(c *Config) string { return c.Dispatcher },
		},
		{
			Env: "CM_WORKERS", Kind: "int", Flag: "workers", Usage: "executions a process runs at once",
			parse: func(c *Config, raw string) error {
				n, err := parseInt(raw, 1, 10000)
				c.Workers = int(n)
				return err
			},
			format: func(c *Config) string { return strconv.Itoa(c.Workers) },
		},
		{
			Env: "CM_MAX_OUTPUT_BYTES", Kind: "bytes", Flag: "max-output-bytes", Usage: "largest output one node may produce, in bytes",
			parse: func(c *Config, raw string) (err error) {
				c.MaxOutputBytes, err = parseInt(raw, 1024, math.MaxInt64)
				return err
			},
			format: func(c *Config) string { return strconv.FormatInt(c.MaxOutputBytes, 10) },
		},
		{
			Env: "CM_MAX_EXECUTION_BYTES", Kind: "bytes", Flag: "max-execution-bytes", Usage: "memory budget of one execution, in bytes",
			parse: func(c *Config, raw string) (err error) {
				c.MaxExecutionBytes, err = parseInt(raw, 1<<20, math.MaxInt64)
				return err
			},
			format: func(c *Config) string { return strconv.FormatInt(c.MaxExecutionBytes, 10) },
		},
		{
			Env: "CM_LIVE_MAX_CLIENTS", Kind: "int", Flag: "live-max-clients",
			Usage: "WebSocket connections and SSE streams open at once; more answer 503 (each holds a file descriptor)",
			parse: func(c *Config, raw string) error {
				n, err := parseInt(raw, 1, 1_000_000)
				c.LiveMaxClients = int(n)
				return err
			},
			format: func(c *Config) string { return strconv.Itoa(c.LiveMaxClients) },
		},
		{
			Env: "CM_HTTP_ALLOW_PRIVATE", Kind: "bool", Flag: "http-allow-private", IsBool: true,
			Usage: "let http.request reach loopback, private and link-local addresses (cloud metadata stays blocked)",
			parse: func(c *Config, raw string) (err error) {
				c.HTTPAllowPrivate, err = parseBool(raw)
				return err
			},
			format: func(c *Config) string { return strconv.FormatBool(c.HTTPAllowPrivate) },
		},
		{
			Env: "CM_HTTP_ALLOWLIST", Kind: "list", Flag: "http-allowlist", optional: true,
			Usage: "comma-separated hosts, *.wildcards, IPs and CIDRs http.request may reach even when private",
			parse: func(c *Config, raw string) error {
				if _, err := netguard.ParseAllowlist(raw); err != nil {
					return oneLine(err)
				}
				c.HTTPAllowlist = raw
				return nil
			},
			format: func(c *Config) string { return c.HTTPAllowlist },
		},
		{
			Env: "CM_PLUGIN_DIR", Kind: "string", Flag: "plugin-dir",
			Usage: "folder plugins are loaded from, one folder each, watched for changes (\"off\" loads none)",
			parse: func(c *Config, raw string) error {
				if strings.IndexByte(raw, 0) >= 0 {
					return errors.New("want a directory path or off")
				}
				c.PluginDir = raw
				return nil
			},
			format: func(c *Config) string { return c.PluginDir },
		},
		{
			Env: "CM_PLUGIN_CACHE_DIR", Kind: "string", Flag: "plugin-cache-dir", optional: true,
			Usage: "folder that keeps WebAssembly plugins' compiled code across restarts (default: .cache in CM_PLUGIN_DIR)",
			parse: func(c *Config, raw string) error {
				if strings.IndexByte(raw, 0) >= 0 {
					return errors.New("want a directory path")
				}
				c.PluginCacheDir = raw
				return nil
			},
			format: func(c *Config) string { return c.PluginCacheDir },
		},
		{
			Env: "CM_PLUGIN_KEEP_VERSIONS", Kind: "int", Flag: "plugin-keep-versions",
			Usage: "replaced versions of each plugin kept loaded for the executions that started on them",
			parse: func(c *Config, raw string) (err error) {
				n, err := parseInt(raw, 1, 100)
				c.PluginKeepVersions = int(n)
				return err
			},
			format: func(c *Config) string { return strconv.Itoa(c.PluginKeepVersions) },
		},
		{
			Env: "CM_FILES_DIR", Kind: "string", Flag: "files-dir",
			Usage: "directory file.read, file.write and file.list work in (created with mode 0700 on first use); no path leaves it",
			parse: func(c *Config, raw string) error {
				if strings.IndexByte(raw, 0) >= 0 {
					return errors.New("want a directory path")
				}
				c.FilesDir = raw
				return nil
			},
			format: func(c *Config) string { return c.FilesDir },
		},
		{
			Env: "CM_FILES_MAX_BYTES", Kind: "bytes", Flag: "files-max-bytes", Usage: "largest file file.read reads or file.write writes, in bytes",
			parse: func(c *Config, raw string) (err error) {
				c.FilesMaxBytes, err = parseInt(raw, 1, math.MaxInt64)
				return err
			},
			format: func(c *Config) string { return strconv.FormatInt(c.FilesMaxBytes, 10) },
		},
		{
			Env: "CM_CODE_TIMEOUT", Kind: "duration", Flag: "code-timeout", Usage: "longest one code.javascript run may take when its node sets no shorter timeout",
			parse: func(c *Config, raw string) (err error) {
				c.CodeTimeout, err = parseDuration(raw, 10*time.Millisecond)
				return err
			},
			format: func(c *Config) string { return formatDuration(c.CodeTimeout) },
		},
		{
			Env: "CM_CODE_MAX_MEMORY", Kind: "bytes", Flag: "code-max-memory", Usage: "how much the heap may grow while one code.javascript script runs, in bytes",
			parse: func(c *Config, raw string) (err error) {
				c.CodeMaxMemory, err = parseInt(raw, 1<<20, math.MaxInt64)
				return err
			},
			format: func(c *Config) string { return strconv.FormatInt(c.CodeMaxMemory, 10) },
		},
		{
			Env: "CM_SECRET_KEY", Kind: "string", Flag: "secret-key", optional: true, Secret: true,
			Usage: "server secret (base64 of 32 bytes: openssl rand -base64 32) that signs access tokens; default: secret.key next to the SQLite database, created on first start; required with PostgreSQL, the same in every process",
			parse: func(c *Config, raw string) error {
				if _, err := secret.Parse(raw); err != nil {
					return errors.New("want the base64 encoding of 32 random bytes, such as the output of openssl rand -base64 32")
				}
				c.SecretKey = raw
				return nil
			},
			format: func(c *Config) string { return c.SecretKey },
		},
		{
			Env: "CM_BOOTSTRAP_EMAIL", Kind: "string", Flag: "bootstrap-email", optional: true,
			Usage: "on first start (no user yet), create the owner with this e-mail and CM_BOOTSTRAP_PASSWORD",
			parse: func(c *Config, raw string) error {
				if !strings.Contains(raw, "@") || len(raw) > 254 {
					return errors.New("want an e-mail address")
				}
				c.BootstrapEmail = raw
				return nil
			},
			format: func(c *Config) string { return c.BootstrapEmail },
		},
		{
			Env: "CM_BOOTSTRAP_PASSWORD", Kind: "string", Flag: "bootstrap-password", optional: true, Secret: true,
			Usage: "the first owner's password (with CM_BOOTSTRAP_EMAIL); at least 10 characters and hard to guess",
			parse: func(c *Config, raw string) error {
				c.BootstrapPassword = raw
				return nil
			},
			format: func(c *Config) string { return c.BootstrapPassword },
		},
		{
			Env: "CM_ACCESS_TOKEN_TTL", Kind: "duration", Flag: "access-token-ttl", Usage: "lifetime of access tokens (refresh tokens renew them)",
			parse: func(c *Config, raw string) error {
				d, err := parseDuration(raw, time.Minute)
				if err == nil && d > 24*time.Hour {
					err = errors.New("want at most 24h")
				}
				c.AccessTokenTTL = d
				return err
			},
			format: func(c *Config) string { return formatDuration(c.AccessTokenTTL) },
		},
		{
			Env: "CM_API_RATE_LIMIT", Kind: "int", Flag: "api-rate-limit",
			Usage: "requests per second each access token or API key may make, in bursts of twice that; 0 turns the limit off",
			parse: func(c *Config, raw string) error {
				n, err := parseInt(raw, 0, 1_000_000)
				c.APIRateLimit = int(n)
				return err
			},
			format: func(c *Config) string { return strconv.Itoa(c.APIRateLimit) },
		},
		{
			Env: "CM_ALLOWED_HOSTS", Kind: "list", Flag: "allowed-hosts", optional: true,
			Usage: "comma-separated names the server answers to in the Host header besides its listen address, localhost and IP addresses: names, name:port, *.wildcards, or * for any",
			parse: func(c *Config, raw string) (err error) {
				c.AllowedHosts, err = ParseAllowedHosts(raw)
				return err
			},
			format: func(c *Config) string { return strings.Join(c.AllowedHosts, ",") },
		},
		{
			Env: "CM_PUBLIC_URL", Kind: "string", Flag: "public-url", optional: true,
			Usage: "URL people and systems reach this server at (https://cm.example.com), for the links it hands out such as flow.wait resume URLs; its host is allowed in the Host check; default http://CM_ADDR",
			parse: func(c *Config, raw string) error {
				u, err := url.Parse(raw)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
					return errors.New("want an absolute http or https URL without credentials, query or fragment, such as https://cm.example.com")
				}
				c.PublicURL = strings.TrimSuffix(raw, "/")
				return nil
			},
			format: func(c *Config) string { return c.PublicURL },
		},
		{
			Env: "CM_CORS_ORIGINS", Kind: "list", Flag: "cors-origins", optional: true,
			Usage: "comma-separated origins (https://app.example.com) whose pages may call the API cross-origin; empty keeps CORS off",
			parse: func(c *Config, raw string) (err error) {
				c.CORSOrigins, err = ParseOrigins(raw)
				return err
			},
			format: func(c *Config) string { return strings.Join(c.CORSOrigins, ",") },
		},
		{
			Env: "CM_TLS_CERT_FILE", Kind: "string", Flag: "tls-cert-file", optional: true,
			Usage: "serve HTTPS with this PEM certificate (chain first to last) and CM_TLS_KEY_FILE; every answer then carries HSTS",
			parse: func(c *Config, raw string) error {
				c.TLSCertFile = raw
				return nil
			},
			format: func(c *Config) string { return c.TLSCertFile },
		},
		{
			Env: "CM_TLS_KEY_FILE", Kind: "string", Flag: "tls-key-file", optional: true,
			Usage: "the PEM private key of CM_TLS_CERT_FILE (keep it readable by the server's user only)",
			parse: func(c *Config, raw string) error {
				c.TLSKeyFile = raw
				return nil
			},
			format: func(c *Config) string { return c.TLSKeyFile },
		},
		{
			Env: "CM_WEBHOOK_TIMEOUT", Kind: "duration", Flag: "webhook-timeout", Usage: "how long a webhook answering with the run's output waits before answering 202",
			parse: func(c *Config, raw string) (err error) {
				c.WebhookTimeout, err = parseDuration(raw, time.Millisecond)
				return err
			},
			format: func(c *Config) string { return formatDuration(c.WebhookTimeout) },
		},
		{
			Env: "CM_SHUTDOWN_GRACE", Kind: "duration", Flag: "shutdown-grace", Usage: "how long a graceful shutdown waits for running work",
			parse: func(c *Config, raw string) (err error) {
				c.ShutdownGrace, err = parseDuration(raw, time.Millisecond)
				return err
			},
			format: func(c *Config) string { return formatDuration(c.ShutdownGrace) },
		},
		{
			Env: "CM_RETENTION_MAX_AGE", Kind: "duration", Flag: "retention-max-age", Usage: "how long finished executions are kept (0 keeps them forever)",
			parse: func(c *Config, raw string) (err error) {
				c.RetentionMaxAge, err = parseDuration(raw, 0)
				return err
			},
			format: func(c *Config) string { return formatDuration(c.RetentionMaxAge) },
		},
		{
			Env: "CM_RETENTION_MAX_PER_WORKFLOW", Kind: "int", Flag: "retention-max-per-workflow", Usage: "finished executions kept per workflow, the newest (0 means no cap)",
			parse: func(c *Config, raw string) error {
				n, err := parseInt(raw, 0, math.MaxInt32)
				c.RetentionMaxPerWorkflow = int(n)
				return err
			},
			format: func(c *Config) string { return strconv.Itoa(c.RetentionMaxPerWorkflow) },
		},
		{
			Env: "CM_RETENTION_INTERVAL", Kind: "duration", Flag: "retention-interval", Usage: "how often executions past retention are pruned",
			parse: func(c *Config, raw string) (err error) {
				c.RetentionInterval, err = parseDuration(raw, time.Second)
				return err
			},
			format: func(c *Config) string { return formatDuration(c.RetentionInterval) },
		},
		{
			Env: "CM_LOG_FORMAT", Kind: "string", Flag: "log-format", Usage: "log format: text or json",
			parse: func(c *Config, raw string) error {
				if raw != "text" && raw != "json" {
					return errors.New("want text or json")
				}
				c.LogFormat = raw
				return nil
			},
			format: func(c *Config) string { return c.LogFormat },
		},
		{
			Env: "CM_LOG_LEVEL", Kind: "string", Flag: "log-level", Usage: "log level: debug, info, warn or error",
			parse: func(c *Config, raw string) error {
				if _, err := parseLevel(raw); err != nil {
					return err
				}
				c.LogLevel = raw
				return nil
			},
			format: func(c *Config) string { return c.LogLevel },
		},
		{
			Env: "CM_PPROF_ADDR", Kind: "string", Flag: "pprof-addr", optional: true, Usage: "serve Go's profiling endpoints on this host:port (keep it on loopback)",
			parse: func(c *Config, raw string) error {
				if err := checkHostPort(raw); err != nil {
					return err
				}
				c.PprofAddr = raw
				return nil
			},
			format: func(c *Config) string { return c.PprofAddr },
		},
		{
			Env: "CM_SENTRY_DSN", Kind: "string", Flag: "sentry-dsn", optional: true, Secret: true,
			Usage: "report panics and 5xx answers to this Sentry DSN (https://KEY@HOST/PROJECT); it holds a key: never logged",
			parse: func(c *Config, raw string) error {
				if err := checkSentryDSN(raw); err != nil {
					return err
				}
				c.SentryDSN = raw
				return nil
			},
			format: func(c *Config) string { return c.SentryDSN },
		},
	}
}

// checkSentryDSN checks the form of a Sentry DSN; its messages never quote the DSN.
func checkSentryDSN(raw string) error {
	const want = "want https://KEY@HOST/PROJECT"
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User == nil || u.User.Username() == "" {
		return errors.New(want)
	}
	if strings.Trim(u.Path, "/") == "" {
		return errors.New(want + ": the project id is missing")
	}
	return nil
}

// oneLine joins a multi-line error into one line, so that each setting keeps one line of the report.
func oneLine(err error) error {
	return errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
}

func parseInt(raw string, lo, hi int64) (int64, error) {
	want := fmt.Sprintf("want a whole number from %d to %d", lo, hi)
	if hi == math.MaxInt64 || hi == math.MaxInt32 {
		want = fmt.Sprintf("want a whole number of at least %d", lo)
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, errors.New(want)
	}
	return n, nil
}

func parseBool(raw string) (bool, error) {
	switch strings.ToLower(raw) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, errors.New("want true or false")
}

// parseDuration parses a Go duration ("30s", "1h30m"); the value must be at least lo, or exactly 0
// when lo is 0.
func parseDuration(raw string, lo time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, errors.New("want a duration with a unit, such as 30s, 5m or 720h")
	}
	switch {
	case d < 0:
		return 0, errors.New("must not be negative")
	case d < lo:
		return 0, fmt.Errorf("want at least %s", lo)
	}
	return d, nil
}

// formatDuration writes d as Go does, without zero minutes and seconds: 720h, 1m, 1h30m.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// checkHostPort checks a listen address: an optional host and a port from 0 to 65535.
func checkHostPort(raw string) error {
	host, port, err := net.SplitHostPort(raw)
	if err != nil {
		return errors.New("want host:port, such as 127.0.0.1:8080 or :8080")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return errors.New("the port must be a number from 0 to 65535")
	}
	if host != "" && !validHostName(strings.ToLower(host)) {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%q is neither a host name nor an IP address", host)
		}
	}
	return nil
}

// maxOrigins bounds CM_CORS_ORIGINS.
const maxOrigins = 100

// ParseOrigins parses a comma-separated CM_CORS_ORIGINS value: each entry is an origin as browsers
// send it in the Origin header, scheme://host[:port] with http or https and nothing after the host
// (a trailing slash is dropped). Entries come back lower case without a default port (:443 for https,
// :80 for http), as browsers serialise them, so that they compare exactly. Wildcards, "null" and "*"
// are refused: CORS is opened to named sites only. Blanks and empty entries are ignored; every
// malformed entry is reported.
func ParseOrigins(s string) ([]string, error) {
	var out, bad []string
	seen := map[string]bool{}
	for raw := range strings.SplitSeq(s, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		norm, ok := parseOrigin(entry)
		if !ok {
			bad = append(bad, strconv.Quote(entry))
			continue
		}
		if !seen[norm] {
			seen[norm] = true
			out = append(out, norm)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: want origins such as https://app.example.com or http://localhost:5173 (scheme, host, optional port; no path, no wildcard)",
			strings.Join(bad, ", "))
	}
	if len(out) > maxOrigins {
		return nil, fmt.Errorf("%d entries: at most %d", len(out), maxOrigins)
	}
	return out, nil
}

func parseOrigin(entry string) (string, bool) {
	if len(entry) > 300 {
		return "", false
	}
	scheme, rest, ok := strings.Cut(strings.ToLower(entry), "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return "", false
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" || strings.ContainsAny(rest, "/?#@*\\ ") {
		return "", false
	}
	host, port := rest, ""
	if h, p, err := net.SplitHostPort(rest); err == nil {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return "", false
		}
		host, port = h, p
	} else if strings.HasPrefix(rest, "[") {
		host = strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return "", false
		}
		host = addr.String()
		if addr.Is6() {
			host = "[" + host + "]"
		}
	} else if !validHostName(host) {
		return "", false
	}
	if port == "443" && scheme == "https" || port == "80" && scheme == "http" {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, true
}

// maxAllowedHosts bounds CM_ALLOWED_HOSTS.
const maxAllowedHosts = 100

// ParseAllowedHosts parses a comma-separated CM_ALLOWED_HOSTS value. Each entry is a host name
// (ci.example.com), a host name or IP address with a port (ci.example.com:8443, [fd00::1]:8080), a
// wildcard matching every subdomain (*.example.com, optionally with a port), or "*", which turns the
// Host check off. Blanks and empty entries are ignored; entries come back lower case, without a
// trailing dot, IPv6 addresses in brackets. Every malformed entry is reported.
func ParseAllowedHosts(s string) ([]string, error) {
	var out, bad []string
	for raw := range strings.SplitSeq(s, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		norm, ok := parseAllowedHost(entry)
		if !ok {
			bad = append(bad, strconv.Quote(entry))
			continue
		}
		out = append(out, norm)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: want host names (ci.example.com), name:port, *.wildcards or *", strings.Join(bad, ", "))
	}
	if len(out) > maxAllowedHosts {
		return nil, fmt.Errorf("%d entries: at most %d", len(out), maxAllowedHosts)
	}
	return out, nil
}

func parseAllowedHost(entry string) (string, bool) {
	e := strings.ToLower(entry)
	if e == "*" {
		return e, true
	}
	if len(e) > 300 || strings.Contains(e, "/") {
		return "", false
	}
	host, port := e, ""
	if h, p, err := net.SplitHostPort(e); err == nil {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return "", false
		}
		host, port = h, ":"+p
	} else if strings.HasPrefix(e, "[") {
		host = strings.TrimSuffix(strings.TrimPrefix(e, "["), "]")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return "", false
		}
		if addr.Is6() && !addr.Is4In6() {
			return "[" + addr.String() + "]" + port, true
		}
		return addr.Unmap().String() + port, true
	}
	name, wildcard := strings.CutPrefix(host, "*.")
	name = strings.TrimSuffix(name, ".")
	if !validHostName(name) {
		return "", false
	}
	if wildcard {
		name = "*." + name
	}
	return name + port, true
}

// validHostName reports whether name (lower case) is a DNS name: dot-separated labels of letters,
// digits, hyphens and underscores, each 1 to 63 bytes long, 253 bytes in all.
func validHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range []byte(label) {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}
