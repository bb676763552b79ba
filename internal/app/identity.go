package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/concertmaster/concertmaster/internal/config"
	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/ratelimit"
	"github.com/concertmaster/concertmaster/internal/secret"
	"github.com/concertmaster/concertmaster/internal/store"
)

// LoadSecret returns the server secret: CM_SECRET_KEY, else secret.key next to the SQLite database
// (created on first start). PostgreSQL mode needs CM_SECRET_KEY, the same in every process.
func LoadSecret(cfg config.Config, logger *slog.Logger) (*secret.Secret, error) {
	dir := ""
	if cfg.SecretKey == "" {
		db, err := config.ParseDatabaseURL(cfg.DatabaseURL)
		if err != nil {
			return nil, err
		}
		if db.Driver != "sqlite" {
			return nil, fmt.Errorf("set CM_SECRET_KEY (openssl rand -base64 32), the same in every process: with PostgreSQL there is no data directory to keep %s in", secret.FileName)
		}
		dir = filepath.Dir(db.Path)
	}
	s, err := secret.Load(cfg.SecretKey, dir, logger)
	if err != nil {
		return nil, fmt.Errorf("server secret: %w", err)
	}
	return s, nil
}

// NewIdentity builds the identity service over st with the server secret, and creates the first
// owner from CM_BOOTSTRAP_EMAIL and CM_BOOTSTRAP_PASSWORD when no user exists yet.
func NewIdentity(ctx context.Context, cfg config.Config, st store.Store, logger *slog.Logger) (*identity.Service, error) {
	sec, err := LoadSecret(cfg, logger)
	if err != nil {
		return nil, err
	}
	id, err := identity.New(identity.Config{Store: st, Secret: sec, AccessTTL: cfg.AccessTokenTTL, Logger: logger})
	if err != nil {
		return nil, err
	}
	if cfg.BootstrapEmail != "" || cfg.BootstrapPassword != "" {
		if cfg.BootstrapEmail == "" || cfg.BootstrapPassword == "" {
			return nil, fmt.Errorf("set both CM_BOOTSTRAP_EMAIL and CM_BOOTSTRAP_PASSWORD, or neither")
		}
		created, err := id.Bootstrap(ctx, cfg.BootstrapEmail, cfg.BootstrapPassword)
		if err != nil {
			return nil, fmt.Errorf("bootstrap the first owner (CM_BOOTSTRAP_EMAIL): %w", err)
		}
		if created {
			logger.Info("Created the first owner from CM_BOOTSTRAP_EMAIL", "email", cfg.BootstrapEmail)
		}
	} else if required, err := id.SetupRequired(ctx); err == nil && required {
		logger.Warn("No user exists yet: open the web app to create the owner, or run concertmaster admin create-user")
	}
	return id, nil
}

// APIRateLimit returns the per-principal request limit of cfg, nil when it is off.
func APIRateLimit(cfg config.Config) (ratelimit.Limiter, error) {
	if cfg.APIRateLimit <= 0 {
		return nil, nil
	}
	return ratelimit.NewMemory(ratelimit.Rule{Rate: cfg.APIRateLimit, Period: time.Second, Burst: 2 * cfg.APIRateLimit}, ratelimit.MemoryConfig{})
}
