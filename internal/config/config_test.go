package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		cfg    Config
		errors []string
	}{
		{name: "Defaults", cfg: Config{}},
		{name: "Postgres", cfg: Config{DatabaseURL: "postgres://u:p@localhost:5432/db?sslmode=disable"}},
		{name: "EveryProblemAtOnce", cfg: Config{Addr: "nope", DatabaseURL: "mysql://u:secret@x/y", Role: "boss", LogFormat: "xml", LogLevel: "loud", Workers: -1, HTTPAllowlist: "10.0.0.0/99"},
			errors: []string{"CM_ADDR", "CM_DATABASE_URL", "--role", "CM_LOG_FORMAT", "CM_LOG_LEVEL", "CM_WORKERS", "CM_HTTP_ALLOWLIST"}},
		{name: "EmptySQLitePath", cfg: Config{DatabaseURL: "sqlite://"}, errors: []string{"needs a file path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.WithDefaults().Validate()
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

func TestParseDatabaseURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		raw    string
		driver string
		path   string
	}{
		{raw: "sqlite://./data/cm.db", driver: "sqlite", path: "./data/cm.db"},
		{raw: "sqlite:///var/lib/cm.db", driver: "sqlite", path: "/var/lib/cm.db"},
		{raw: "sqlite://cm.db?mode=rwc", driver: "sqlite", path: "cm.db"},
		{raw: "postgresql://localhost/db", driver: "postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			db, err := ParseDatabaseURL(tt.raw)
			require.NoError(t, err)
			require.Equal(t, tt.driver, db.Driver)
			require.Equal(t, tt.path, db.Path)
		})
	}
}
