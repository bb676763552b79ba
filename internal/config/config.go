// Package config holds the process configuration: one struct, filled from flags whose defaults come
// from CM_* environment variables, validated as a whole. Nothing below cmd/ reads the environment.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/netguard"
)

// Defaults.
const (
	AddrDefault           = "127.0.0.1:8080"
	DatabaseURLDefault    = "sqlite://./data/concertmaster.db"
	LogFormatDefault      = "text"
	LogLevelDefault       = "info"
	WorkersDefault        = 64
	MaxOutputBytesDefault = 16 << 20
	// MaxExecutionBytesDefault is the memory budget of one execution: 256 MiB.
	MaxExecutionBytesDefault = 256 << 20
	WebhookTimeoutDefault = 30 * time.Second
	ShutdownGraceDefault  = 15 * time.Second
)

// Roles a serving process can take.
const (
	RoleAll = "all"
	RoleAPI = "api"
)

// Config is the whole process configuration.
type Config struct {
	// Addr is the HTTP listen address (CM_ADDR, --addr; default 127.0.0.1:8080).
	Addr string
	// DatabaseURL picks and configures the store (CM_DATABASE_URL, --database-url): sqlite://PATH
	// (default sqlite://./data/concertmaster.db) or postgres://….
	DatabaseURL string
	// Role is "all" (API and workers, default) or "api" (no workers) (--role).
	Role string
	// LogFormat is "text" or "json" (CM_LOG_FORMAT); LogLevel is debug, info, warn or error (CM_LOG_LEVEL).
	LogFormat, LogLevel string
	// Workers is the number of executions a process runs at once (CM_WORKERS; default 64).
	Workers int
	// MaxOutputBytes caps one node output, in bytes (CM_MAX_OUTPUT_BYTES; default 16 MiB).
	MaxOutputBytes int64
	// MaxExecutionBytes is the memory budget of one execution, in bytes (CM_MAX_EXECUTION_BYTES;
	// default 256 MiB): the outputs it holds plus what its running nodes build.
	MaxExecutionBytes int64
	// HTTPAllowPrivate lets http.request reach loopback, private and link-local addresses
	// (CM_HTTP_ALLOW_PRIVATE; default false). Cloud metadata addresses stay blocked.
	HTTPAllowPrivate bool
	// HTTPAllowlist lists hosts, *.wildcards, IPs and CIDRs http.request may reach even when private
	// (CM_HTTP_ALLOWLIST, comma-separated).
	HTTPAllowlist string
	// WebhookTimeout bounds how long a webhook answering on completion waits (CM_WEBHOOK_TIMEOUT; default 30s).
	WebhookTimeout time.Duration
	// ShutdownGrace bounds a graceful shutdown (CM_SHUTDOWN_GRACE; default 15s).
	ShutdownGrace time.Duration
}

// WithDefaults fills zero fields with their defaults.
func (c Config) WithDefaults() Config {
	c.Addr = cmp.Or(c.Addr, AddrDefault)
	c.DatabaseURL = cmp.Or(c.DatabaseURL, DatabaseURLDefault)
	c.Role = cmp.Or(c.Role, RoleAll)
	c.LogFormat = cmp.Or(c.LogFormat, LogFormatDefault)
	c.LogLevel = cmp.Or(c.LogLevel, LogLevelDefault)
	c.Workers = cmp.Or(c.Workers, WorkersDefault)
	c.MaxOutputBytes = cmp.Or(c.MaxOutputBytes, MaxOutputBytesDefault)
	c.MaxExecutionBytes = cmp.Or(c.MaxExecutionBytes, MaxExecutionBytesDefault)
	c.WebhookTimeout = cmp.Or(c.WebhookTimeout, WebhookTimeoutDefault)
	c.ShutdownGrace = cmp.Or(c.ShutdownGrace, ShutdownGraceDefault)
	return c
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("CM_ADDR %q: want host:port, such as 127.0.0.1:8080", c.Addr))
	}
	if _, err := ParseDatabaseURL(c.DatabaseURL); err != nil {
		errs = append(errs, err)
	}
	if c.Role != RoleAll && c.Role != RoleAPI {
		errs = append(errs, fmt.Errorf("--role %q: want all or api", c.Role))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("CM_LOG_FORMAT %q: want text or json", c.LogFormat))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.Workers < 1 || c.Workers > 10000 {
		errs = append(errs, fmt.Errorf("CM_WORKERS %d: want 1 to 10000", c.Workers))
	}
	if c.MaxOutputBytes < 1024 {
		errs = append(errs, fmt.Errorf("CM_MAX_OUTPUT_BYTES %d: want at least 1024", c.MaxOutputBytes))
	}
	if c.MaxExecutionBytes < c.MaxOutputBytes {
		errs = append(errs, fmt.Errorf("CM_MAX_EXECUTION_BYTES %d: want at least CM_MAX_OUTPUT_BYTES (%d)", c.MaxExecutionBytes, c.MaxOutputBytes))
	}
	if _, err := netguard.ParseAllowlist(c.HTTPAllowlist); err != nil {
		errs = append(errs, fmt.Errorf("CM_HTTP_ALLOWLIST: %w", err))
	}
	if c.WebhookTimeout < 0 || c.ShutdownGrace < 0 {
		errs = append(errs, errors.New("CM_WEBHOOK_TIMEOUT and CM_SHUTDOWN_GRACE must not be negative"))
	}
	return errors.Join(errs...)
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
	switch {
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return Database{}, fmt.Errorf("CM_DATABASE_URL %q: sqlite:// needs a file path, such as sqlite://./data/concertmaster.db", raw)
		}
		return Database{Driver: "sqlite", Path: path}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return Database{}, fmt.Errorf("CM_DATABASE_URL: not a valid URL: %w", err)
		}
		return Database{Driver: "postgres", URL: raw}, nil
	}
	return Database{}, fmt.Errorf("CM_DATABASE_URL %q: want sqlite://PATH or postgres://…", redact(raw))
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = url.User(u.User.Username())
	return u.String()
}

// ParseLevel parses a log level name.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("CM_LOG_LEVEL %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// Policy returns the outbound request policy for http.request.
func (c Config) Policy() *netguard.Policy {
	list, _ := netguard.ParseAllowlist(c.HTTPAllowlist)
	return &netguard.Policy{AllowPrivate: c.HTTPAllowPrivate, Allowlist: list}
}
