package app

import (
	"context"
	"net/url"
	"os"
	"time"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/config"
	"github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/telemetry"
)

// NewSentry returns the Sentry reporter CM_SENTRY_DSN configures, or nil without one. Every text
// an event carries passes through a redactor that holds the process's own secrets (the DSN, the
// server secret, the database URL, the bootstrap password), on top of the reporter's rule of sending
// no request data at all.
func NewSentry(cfg config.Config, version string) (*telemetry.Sentry, error) {
	if cfg.SentryDSN == "" {
		return nil, nil
	}
	var r credential.Redactor
	r.Add(cfg.SentryDSN, cfg.SecretKey, cfg.DatabaseURL, cfg.BootstrapPassword)
	for _, raw := range []string{cfg.SentryDSN, cfg.DatabaseURL} {
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			pw, _ := u.User.Password()
			r.Add(u.User.Username(), pw)
		}
	}
	host, _ := os.Hostname()
	return telemetry.NewSentry(telemetry.SentryOptions{DSN: cfg.SentryDSN, Release: version, ServerName: host, Redact: r.String})
}

// errorReporter returns s as an api.ErrorReporter, nil (no reports) when s is nil.
func errorReporter(s *telemetry.Sentry) api.ErrorReporter {
	if s == nil {
		return nil
	}
	return s
}

// deadlineOf returns ctx's deadline, or a few seconds from now when it has none.
func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(5 * time.Second)
}
