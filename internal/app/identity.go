package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/concertmaster/concertmaster/internal/cache"
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
//
// limits, when set, are the sign-in and setup limiters (shared through Redis); nil means the
// identity service's in-memory defaults. caches is the process's group of hot-read caches (nil: one
// of its own).
func NewIdentity(ctx context.Context, cfg config.Config, st store.Store, logger *slog.Logger, limits *IdentityLimits, caches *cache.Group) (*identity.Service, error) {
	sec, err := LoadSecret(cfg, logger)
	if err != nil {
		return nil, err
	}
	icfg := identity.Config{Store: st, Secret: sec, AccessTTL: cfg.AccessTokenTTL, Logger: logger, Caches: caches}
	if limits != nil {
		icfg.LoginPerIP, icfg.LoginPerAccount, icfg.SetupPerIP = limits.LoginPerIP, limits.LoginPerAccount, limits.SetupPerIP
	}
	id, err := identity.New(icfg)
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

// IdentityLimits are the sign-in and setup limiters of the identity service.
type IdentityLimits struct {
	LoginPerIP, LoginPerAccount, SetupPerIP ratelimit.Limiter
}

// APIRateLimit returns the per-principal request limit of cfg, nil when it is off.
func APIRateLimit(cfg config.Config) (ratelimit.Limiter, error) {
	if cfg.APIRateLimit <= 0 {
		return nil, nil
	}
	return ratelimit.NewMemory(apiRule(cfg), ratelimit.MemoryConfig{})
}

func apiRule(cfg config.Config) ratelimit.Rule {
	return ratelimit.Rule{Rate: cfg.APIRateLimit, Period: time.Second, Burst: 2 * cfg.APIRateLimit}
}

// RateLimits returns the API limiter (nil when CM_API_RATE_LIMIT is 0) and the identity limiters of
// the runtime: counted in Redis, shared by every process, when it has a Redis link (each falling back
// to a per-process count while Redis is unreachable), in memory otherwise.
func (rt *Runtime) RateLimits(cfg config.Config) (ratelimit.Limiter, *IdentityLimits, error) {
	var api ratelimit.Limiter
	if cfg.APIRateLimit > 0 {
		l, err := rt.limiter(apiRule(cfg), "api")
		if err != nil {
			return nil, nil, err
		}
		api = l
	}
	var id IdentityLimits
	for _, l := range []struct {
		dst  *ratelimit.Limiter
		rule ratelimit.Rule
		name string
	}{
		{&id.LoginPerIP, identity.LoginPerIPRule, "login-ip"},
		{&id.LoginPerAccount, identity.LoginPerAccountRule, "login-account"},
		{&id.SetupPerIP, identity.SetupPerIPRule, "setup-ip"},
	} {
		lim, err := rt.limiter(l.rule, l.name)
		if err != nil {
			return nil, nil, err
		}
		*l.dst = lim
	}
	return api, &id, nil
}
