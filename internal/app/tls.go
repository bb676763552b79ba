package app

import (
	"crypto/tls"
	"fmt"

	"github.com/concertmaster/concertmaster/internal/config"
)

// TLSConfig returns the TLS configuration serve listens with, or nil when CM_TLS_CERT_FILE and
// CM_TLS_KEY_FILE are unset (plain HTTP). The certificate and key are read once, at start: restart
// the server to pick up a renewed certificate. TLS 1.2 is the minimum; Go's defaults choose the
// cipher suites and curves.
func TLSConfig(cfg config.Config) (*tls.Config, error) {
	if cfg.TLSCertFile == "" && cfg.TLSKeyFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("load CM_TLS_CERT_FILE %s and CM_TLS_KEY_FILE %s: %w", cfg.TLSCertFile, cfg.TLSKeyFile, err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}
