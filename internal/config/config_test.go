package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// envFrom returns a LookupFunc over a map of environment variables.
func envFrom(env map[string]string) LookupFunc {
	return EnvLookup(func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(envFrom(nil))
	require.NoError(t, err)
	require.Equal(t, Default(), c)
	require.Equal(t, int64(268435456), c.MaxExecutionBytes)
	require.Equal(t, 720*time.Hour, c.RetentionMaxAge)
	require.Equal(t, 10000, c.RetentionMaxPerWorkflow)
	require.Equal(t, time.Minute, c.RetentionInterval)
	require.Empty(t, c.AllowedHosts)
	require.NoError(t, c.Validate())
}

// TestLoad sets each setting to good and bad values through its variable.
func TestLoad(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
		// errors are the expected lines of the error, in order; none means the load succeeds.
		errors []string
	}{
		{name: "AddrBadPort", env: map[string]string{"CM_ADDR": "127.0.0.1:http"}, errors: []string{`CM_ADDR="127.0.0.1:http": the port must be a number from 0 to 65535`}},
		{name: "AddrBadHost", env: map[string]string{"CM_ADDR": "exa mple:80"}, errors: []string{`CM_ADDR="exa mple:80": "exa mple" is neither a host name nor an IP address`}},
		{name: "AddrIPv6", env: map[string]string{"CM_ADDR": "[::1]:9000"}, check: func(t *testing.T, c Config) { require.Equal(t, "[::1]:9000", c.Addr) }},
		{name: "AddrNoPort", env: map[string]string{"CM_ADDR": "localhost"}, errors: []string{`CM_ADDR="localhost": want host:port, such as 127.0.0.1:8080 or :8080`}},
		{name: "AddrPortTooBig", env: map[string]string{"CM_ADDR": ":65536"}, errors: []string{`CM_ADDR=":65536": the port must be a number from 0 to 65535`}},
		{name: "AddrAllInterfaces", env: map[string]string{"CM_ADDR": ":8080"}, check: func(t *testing.T, c Config) { require.Equal(t, ":8080", c.Addr) }},
		{name: "AllowedHosts", env: map[string]string{"CM_ALLOWED_HOSTS": " CI.Example.com. , *.corp.example:8443,,[FD00::1]:80,10.0.0.1"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, []string{"ci.example.com", "*.corp.example:8443", "[fd00::1]:80", "10.0.0.1"}, c.AllowedHosts)
			}},
		{name: "AllowedHostsAny", env: map[string]string{"CM_ALLOWED_HOSTS": "*"}, check: func(t *testing.T, c Config) { require.Equal(t, []string{"*"}, c.AllowedHosts) }},
		{name: "AllowedHostsBad", env: map[string]string{"CM_ALLOWED_HOSTS": "https://ci.example.com,ok.example,a b,host:0,fe80::1%eth0"},
			errors: []string{`CM_ALLOWED_HOSTS="https://ci.example.com,ok.example,a b,host:0,fe80::1%eth0": "https://ci.example.com", "a b", "host:0", "fe80::1%eth0": want host names (ci.example.com), name:port, *.wildcards or *`}},
		{name: "AllowedHostsTooMany", env: map[string]string{"CM_ALLOWED_HOSTS": strings.Repeat("a.example,", 101)},
			errors: []string{`: 101 entries: at most 100`}},
		{name: "CORSOrigins", env: map[string]string{"CM_CORS_ORIGINS": " https://App.Example.com/ , http://localhost:5173,https://app.example.com:443,http://[::1]:8080,https://app.example.com"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, []string{"https://app.example.com", "http://localhost:5173", "http://[::1]:8080"}, c.CORSOrigins)
			}},
		{name: "CORSOriginsBad", env: map[string]string{"CM_CORS_ORIGINS": "*,null,app.example.com,https://*.example.com,ftp://x.example,https://x.example/app,https://u@x.example,https://x.example:0"},
			errors: []string{`…": "*", "null", "app.example.com", "https://*.example.com", "ftp://x.example", "https://x.example/app", "https://u@x.example", "https://x.example:0": ` +
				`want origins such as https://app.example.com or http://localhost:5173 (scheme, host, optional port; no path, no wildcard)`}},
		{name: "SentryDSN", env: map[string]string{"CM_SENTRY_DSN": "https://0123abcd@o1.ingest.example.com/42"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "https://0123abcd@o1.ingest.example.com/42", c.SentryDSN)
			}},
		{name: "SecretKeyNotShown", env: map[string]string{"CM_SECRET_KEY": "not-base64-SECRETVALUE"},
			errors: []string{`CM_SECRET_KEY="[redacted]": want the base64 encoding of 32 random bytes`}},
		{name: "SentryDSNNoKey", env: map[string]string{"CM_SENTRY_DSN": "https://o1.ingest.example.com/42"},
			errors: []string{`CM_SENTRY_DSN="[redacted]": want https://KEY@HOST/PROJECT`}},
		{name: "SentryDSNNoProject", env: map[string]string{"CM_SENTRY_DSN": "https://secretkey@o1.ingest.example.com"},
			errors: []string{`CM_SENTRY_DSN="[redacted]": want https://KEY@HOST/PROJECT: the project id is missing`}},
		{name: "SentryDSNNotURL", env: map[string]string{"CM_SENTRY_DSN": "secret-key-only"},
			errors: []string{`CM_SENTRY_DSN="[redacted]": want https://KEY@HOST/PROJECT`}},
		{name: "TLSBoth", env: map[string]string{"CM_TLS_CERT_FILE": "/etc/cm/cert.pem", "CM_TLS_KEY_FILE": "/etc/cm/key.pem"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "/etc/cm/cert.pem", c.TLSCertFile)
				require.Equal(t, "/etc/cm/key.pem", c.TLSKeyFile)
			}},
		{name: "TLSCertWithoutKey", env: map[string]string{"CM_TLS_CERT_FILE": "/etc/cm/cert.pem"},
			errors: []string{"CM_TLS_CERT_FILE and CM_TLS_KEY_FILE go together: set both to serve HTTPS, or neither"}},
		{name: "TLSKeyWithoutCert", env: map[string]string{"CM_TLS_KEY_FILE": "/etc/cm/key.pem"},
			errors: []string{"CM_TLS_CERT_FILE and CM_TLS_KEY_FILE go together: set both to serve HTTPS, or neither"}},
		{name: "DatabaseURLPostgres", env: map[string]string{"CM_DATABASE_URL": "postgres://u:p@localhost:5432/db?sslmode=disable"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "postgres://u:p@localhost:5432/db?sslmode=disable", c.DatabaseURL)
			}},
		{name: "DatabaseURLEmptySQLitePath", env: map[string]string{"CM_DATABASE_URL": "sqlite://"},
			errors: []string{`CM_DATABASE_URL="sqlite://": sqlite:// needs a file path, such as sqlite://./data/concertmaster.db`}},
		{name: "DatabaseURLUnknownScheme", env: map[string]string{"CM_DATABASE_URL": "mysql://u:secret@x/y"},
			errors: []string{`CM_DATABASE_URL="mysql://u:xxxxx@x/y": want sqlite://PATH or postgres://user:password@host:5432/db`}},
		{name: "DatabaseURLUnparsable", env: map[string]string{"CM_DATABASE_URL": "postgres://u:sec%ret@x/y"},
			errors: []string{`CM_DATABASE_URL="[redacted]": not a valid URL; percent-encode special characters in the user name and password`}},
		{name: "EmptyIsUnset", env: map[string]string{"CM_WORKERS": "", "CM_ADDR": ""}, check: func(t *testing.T, c Config) { require.Equal(t, Default(), c) }},
		{name: "HTTPAllowPrivate", env: map[string]string{"CM_HTTP_ALLOW_PRIVATE": "TRUE"}, check: func(t *testing.T, c Config) { require.True(t, c.HTTPAllowPrivate) }},
		{name: "HTTPAllowPrivateBad", env: map[string]string{"CM_HTTP_ALLOW_PRIVATE": "maybe"}, errors: []string{`CM_HTTP_ALLOW_PRIVATE="maybe": want true or false`}},
		{name: "HTTPAllowPrivateOff", env: map[string]string{"CM_HTTP_ALLOW_PRIVATE": "0"}, check: func(t *testing.T, c Config) { require.False(t, c.HTTPAllowPrivate) }},
		{name: "HTTPAllowlist", env: map[string]string{"CM_HTTP_ALLOWLIST": "10.0.0.0/8, *.internal"}, check: func(t *testing.T, c Config) {
			require.Equal(t, "10.0.0.0/8, *.internal", c.HTTPAllowlist)
			require.Equal(t, []string{"10.0.0.0/8", "*.internal"}, c.Policy().Allowlist)
		}},
		{name: "HTTPAllowlistBad", env: map[string]string{"CM_HTTP_ALLOWLIST": "10.0.0.0/99,http://x"},
			errors: []string{`CM_HTTP_ALLOWLIST="10.0.0.0/99,http://x": allowlist entry "10.0.0.0/99" is not a valid CIDR range; want an address and a prefix length, like 10.0.0.0/8 or fd00::/8; allowlist entry "http://x": write a host name, IP address or CIDR range, not a URL`}},
		{name: "LogFormatBad", env: map[string]string{"CM_LOG_FORMAT": "xml"}, errors: []string{`CM_LOG_FORMAT="xml": want text or json`}},
		{name: "LogLevelBad", env: map[string]string{"CM_LOG_LEVEL": "loud"}, errors: []string{`CM_LOG_LEVEL="loud": want debug, info, warn or error`}},
		{name: "LogLevelDebug", env: map[string]string{"CM_LOG_LEVEL": "debug", "CM_LOG_FORMAT": "json"}, check: func(t *testing.T, c Config) {
			require.Equal(t, "debug", c.LogLevel)
			require.Equal(t, "json", c.LogFormat)
		}},
		{name: "MaxExecutionBytes", env: map[string]string{"CM_MAX_EXECUTION_BYTES": "1048576", "CM_MAX_OUTPUT_BYTES": "1024"}, check: func(t *testing.T, c Config) {
			require.Equal(t, int64(1<<20), c.MaxExecutionBytes)
			require.Equal(t, int64(1024), c.MaxOutputBytes)
		}},
		{name: "MaxExecutionBytesBelowOutput", env: map[string]string{"CM_MAX_EXECUTION_BYTES": "2097152"},
			errors: []string{"CM_MAX_EXECUTION_BYTES (2097152) is smaller than CM_MAX_OUTPUT_BYTES (16777216): one output must fit in an execution's budget"}},
		{name: "MaxExecutionBytesTooSmall", env: map[string]string{"CM_MAX_EXECUTION_BYTES": "1000"}, errors: []string{`CM_MAX_EXECUTION_BYTES="1000": want a whole number of at least 1048576`}},
		{name: "MaxExecutionBytesWithUnit", env: map[string]string{"CM_MAX_EXECUTION_BYTES": "256MiB"}, errors: []string{`CM_MAX_EXECUTION_BYTES="256MiB": want a whole number of at least 1048576`}},
		{name: "MaxOutputBytesOverflow", env: map[string]string{"CM_MAX_OUTPUT_BYTES": "99999999999999999999"}, errors: []string{`CM_MAX_OUTPUT_BYTES="99999999999999999999": want a whole number of at least 1024`}},
		{name: "MaxOutputBytesTooSmall", env: map[string]string{"CM_MAX_OUTPUT_BYTES": "12"}, errors: []string{`CM_MAX_OUTPUT_BYTES="12": want a whole number of at least 1024`}},
		{name: "PprofAddr", env: map[string]string{"CM_PPROF_ADDR": "127.0.0.1:6060"}, check: func(t *testing.T, c Config) { require.Equal(t, "127.0.0.1:6060", c.PprofAddr) }},
		{name: "PprofAddrBad", env: map[string]string{"CM_PPROF_ADDR": "6060"}, errors: []string{`CM_PPROF_ADDR="6060": want host:port, such as 127.0.0.1:8080 or :8080`}},
		{name: "RetentionKeepForever", env: map[string]string{"CM_RETENTION_MAX_AGE": "0", "CM_RETENTION_MAX_PER_WORKFLOW": "0"}, check: func(t *testing.T, c Config) {
			require.Zero(t, c.RetentionMaxAge)
			require.Zero(t, c.RetentionMaxPerWorkflow)
		}},
		{name: "RetentionIntervalNoUnit", env: map[string]string{"CM_RETENTION_INTERVAL": "60"}, errors: []string{`CM_RETENTION_INTERVAL="60": want a duration with a unit, such as 30s, 5m or 720h`}},
		{name: "RetentionIntervalTooShort", env: map[string]string{"CM_RETENTION_INTERVAL": "10ms"}, errors: []string{`CM_RETENTION_INTERVAL="10ms": want at least 1s`}},
		{name: "RetentionIntervalZero", env: map[string]string{"CM_RETENTION_INTERVAL": "0"}, errors: []string{`CM_RETENTION_INTERVAL="0": want at least 1s`}},
		{name: "RetentionMaxAge", env: map[string]string{"CM_RETENTION_MAX_AGE": "168h"}, check: func(t *testing.T, c Config) { require.Equal(t, 168*time.Hour, c.RetentionMaxAge) }},
		{name: "RetentionMaxAgeNegative", env: map[string]string{"CM_RETENTION_MAX_AGE": "-1h"}, errors: []string{`CM_RETENTION_MAX_AGE="-1h": must not be negative`}},
		{name: "RetentionMaxPerWorkflowBad", env: map[string]string{"CM_RETENTION_MAX_PER_WORKFLOW": "-5"}, errors: []string{`CM_RETENTION_MAX_PER_WORKFLOW="-5": want a whole number of at least 0`}},
		{name: "RetentionMaxPerWorkflowFloat", env: map[string]string{"CM_RETENTION_MAX_PER_WORKFLOW": "1e4"}, errors: []string{`CM_RETENTION_MAX_PER_WORKFLOW="1e4": want a whole number of at least 0`}},
		{name: "RoleAPI", env: map[string]string{"CM_ROLE": "api"}, check: func(t *testing.T, c Config) { require.Equal(t, RoleAPI, c.Role) }},
		{name: "RoleBad", env: map[string]string{"CM_ROLE": "boss"}, errors: []string{`CM_ROLE="boss": want all or api`}},
		{name: "ShutdownGrace", env: map[string]string{"CM_SHUTDOWN_GRACE": "1m30s"}, check: func(t *testing.T, c Config) { require.Equal(t, 90*time.Second, c.ShutdownGrace) }},
		{name: "ShutdownGraceZero", env: map[string]string{"CM_SHUTDOWN_GRACE": "0s"}, errors: []string{`CM_SHUTDOWN_GRACE="0s": want at least 1ms`}},
		{name: "WebhookTimeoutBad", env: map[string]string{"CM_WEBHOOK_TIMEOUT": "x"}, errors: []string{`CM_WEBHOOK_TIMEOUT="x": want a duration with a unit, such as 30s, 5m or 720h`}},
		{name: "WebhookTimeoutNegative", env: map[string]string{"CM_WEBHOOK_TIMEOUT": "-5s"}, errors: []string{`CM_WEBHOOK_TIMEOUT="-5s": must not be negative`}},
		{name: "Workers", env: map[string]string{"CM_WORKERS": "8"}, check: func(t *testing.T, c Config) { require.Equal(t, 8, c.Workers) }},
		{name: "WorkersBad", env: map[string]string{"CM_WORKERS": "abc"}, errors: []string{`CM_WORKERS="abc": want a whole number from 1 to 10000`}},
		{name: "WorkersSpaces", env: map[string]string{"CM_WORKERS": " 8"}, errors: []string{`CM_WORKERS=" 8": want a whole number from 1 to 10000`}},
		{name: "WorkersTooMany", env: map[string]string{"CM_WORKERS": "10001"}, errors: []string{`CM_WORKERS="10001": want a whole number from 1 to 10000`}},
		{name: "WorkersZero", env: map[string]string{"CM_WORKERS": "0"}, errors: []string{`CM_WORKERS="0": want a whole number from 1 to 10000`}},
		{name: "EveryProblemAtOnce", env: map[string]string{"CM_WORKERS": "abc", "CM_WEBHOOK_TIMEOUT": "x", "CM_HTTP_ALLOW_PRIVATE": "maybe", "CM_ROLE": "boss"},
			errors: []string{
				`CM_ROLE="boss": want all or api`,
				`CM_WORKERS="abc": want a whole number from 1 to 10000`,
				`CM_HTTP_ALLOW_PRIVATE="maybe": want true or false`,
				`CM_WEBHOOK_TIMEOUT="x": want a duration with a unit, such as 30s, 5m or 720h`,
			}},
		{name: "LongValueCut", env: map[string]string{"CM_LOG_FORMAT": strings.Repeat("x", 1000)}, errors: []string{`CM_LOG_FORMAT="` + strings.Repeat("x", 120) + `…": want text or json`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(envFrom(tt.env))
			if len(tt.errors) == 0 {
				require.NoError(t, err)
				require.NoError(t, c.Validate(), "what Load returns is valid")
				tt.check(t, c)
				return
			}
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tt.errors), "one line per problem: %s", err)
			for i, want := range tt.errors {
				require.Contains(t, lines[i], want)
			}
			require.NotContains(t, err.Error(), "secret", "passwords are never shown")
			require.NotContains(t, err.Error(), "sec%ret", "passwords are never shown")
		})
	}
}

func TestLoadFlagWinsAndIsNamed(t *testing.T) {
	t.Parallel()
	env := envFrom(map[string]string{"CM_WORKERS": "8", "CM_LOG_LEVEL": "debug"})
	flags := map[string]string{"workers": "abc", "log-level": "warn"}
	lookup := func(s Setting) (string, string, bool) {
		if v, ok := flags[s.Flag]; ok {
			return v, "--" + s.Flag, true
		}
		return env(s)
	}
	_, err := Load(lookup)
	require.EqualError(t, err, `--workers="abc": want a whole number from 1 to 10000`)

	flags["workers"] = "4"
	c, err := Load(lookup)
	require.NoError(t, err)
	require.Equal(t, 4, c.Workers)
	require.Equal(t, "warn", c.LogLevel)
}

func TestValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		cfg    Config
		errors []string
	}{
		{name: "Defaults", cfg: Default()},
		{name: "WithDefaults", cfg: Config{}.WithDefaults()},
		{name: "EveryProblemAtOnce", cfg: Config{Addr: "nope", DatabaseURL: "mysql://u:secret@x/y", Role: "boss", LogFormat: "xml", LogLevel: "loud", Workers: -1, HTTPAllowlist: "10.0.0.0/99"}.WithDefaults(),
			errors: []string{"CM_ADDR", "CM_DATABASE_URL", "CM_ROLE", "CM_WORKERS", "CM_HTTP_ALLOWLIST", "CM_LOG_FORMAT", "CM_LOG_LEVEL"}},
		{name: "Empty", cfg: Config{}, errors: []string{"CM_ADDR is empty", "CM_WORKERS=\"0\"", "CM_WEBHOOK_TIMEOUT=\"0s\""}},
		{name: "ExecutionBudgetBelowOutput", cfg: Config{MaxExecutionBytes: 2 << 20}.WithDefaults(), errors: []string{"CM_MAX_EXECUTION_BYTES (2097152) is smaller than CM_MAX_OUTPUT_BYTES"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if len(tt.errors) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.errors {
				require.Contains(t, err.Error(), want)
			}
			require.NotContains(t, err.Error(), "secret", "passwords are redacted")
		})
	}
}

func TestSettingsAreComplete(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	seenEnv, seenFlag := map[string]bool{}, map[string]bool{}
	for _, s := range Settings() {
		require.True(t, strings.HasPrefix(s.Env, "CM_"), s.Env)
		require.False(t, seenEnv[s.Env] || seenFlag[s.Flag], "duplicate setting %s", s.Env)
		seenEnv[s.Env], seenFlag[s.Flag] = true, true
		require.NotEmpty(t, s.Usage, s.Env)
		require.Contains(t, []string{"string", "int", "bytes", "duration", "bool", "list"}, s.Kind, s.Env)
		require.Contains(t, string(readme), "`"+s.Env+"`", "the README's configuration table has a row for %s", s.Env)
		require.Contains(t, string(readme), "`--"+s.Flag+"`", "the README's configuration table names --%s", s.Flag)
		// The default round-trips through the parser.
		d := Default()
		require.Equal(t, s.Default(), s.Value(d))
		if s.Default() != "" {
			var c Config
			require.NoError(t, s.parse(&c, s.Default()), s.Env)
			require.Equal(t, s.Default(), s.Value(c), s.Env)
		}
	}
	require.True(t, KnownEnv("CM_WORKERS"))
	require.False(t, KnownEnv("CM_WORKER"))
}

func TestUnknownEnv(t *testing.T) {
	t.Parallel()
	got := UnknownEnv([]string{"CM_WORKER=4", "CM_WORKERS=4", "CM_TEST_DATABASE_URL=postgres://x", "CM_E2E_BASE_URL=http://x", "CM_CHAOS_BIN=bin/x", "CM_API_URL=x", "CM_API_KEY=cm_ak_x", "HOME=/root", "CM_ADRR=:1", "CM_=x"})
	require.Equal(t, []string{"CM_WORKER", "CM_ADRR", "CM_"}, got)
}

func TestParseDatabaseURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		raw    string
		driver string
		path   string
		err    string
	}{
		{raw: "sqlite://./data/cm.db", driver: "sqlite", path: "./data/cm.db"},
		{raw: "sqlite:///var/lib/cm.db", driver: "sqlite", path: "/var/lib/cm.db"},
		{raw: "sqlite://cm.db?mode=rwc", driver: "sqlite", path: "cm.db"},
		{raw: "postgresql://localhost/db", driver: "postgres"},
		{raw: "mysql://u:secret@h/db", err: `CM_DATABASE_URL "mysql://u:xxxxx@h/db": want sqlite://PATH or postgres://user:password@host:5432/db`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			db, err := ParseDatabaseURL(tt.raw)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.driver, db.Driver)
			require.Equal(t, tt.path, db.Path)
		})
	}
}

func TestParseLevel(t *testing.T) {
	t.Parallel()
	_, err := ParseLevel("loud")
	require.EqualError(t, err, `CM_LOG_LEVEL "loud": want debug, info, warn or error`)
	l, err := ParseLevel("warn")
	require.NoError(t, err)
	require.Equal(t, "WARN", l.String())
}
