package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/app"
	"github.com/concertmaster/concertmaster/internal/config"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost and its key to dir, and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "concertmaster test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// serve starts a real server on a loopback listener with cfg and returns its address; it stops when
// the test ends.
func serve(t *testing.T, cfg config.Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := app.NewServer(ctx, cfg, "test", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return ln.Addr().String()
}

func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DatabaseURL = "sqlite://" + filepath.Join(t.TempDir(), "cm.db")
	cfg.Workers = 2
	cfg.ShutdownGrace = 5 * time.Second
	return cfg
}

// answer is what the tests read of a response.
type answer struct {
	StatusCode int
	Header     http.Header
	Proto      string
	TLS        *tls.ConnectionState
}

func get(t *testing.T, client *http.Client, url string, header http.Header) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return answer{StatusCode: resp.StatusCode, Header: resp.Header, Proto: resp.Proto, TLS: resp.TLS}
}

// TestServeTLS starts serve with a certificate on a real listener: it answers HTTPS (HTTP/2 too)
// with HSTS, refuses plain HTTP on the same port, and refuses oversized headers with 431.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	var pool *x509.CertPool
	cfg.TLSCertFile, cfg.TLSKeyFile, pool = selfSigned(t, t.TempDir())
	addr := serve(t, cfg)

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}}
	resp := get(t, client, "https://"+addr+"/healthz", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "HTTP/2.0", resp.Proto)
	require.NotNil(t, resp.TLS)
	require.Equal(t, "max-age=31536000; includeSubDomains", resp.Header.Get("Strict-Transport-Security"))
	resp = get(t, client, "https://localhost:"+strings.Split(addr, ":")[1]+"/api/v1/workflows", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "max-age=31536000; includeSubDomains", resp.Header.Get("Strict-Transport-Security"), "errors carry it too")

	http1 := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	resp = get(t, http1, "https://"+addr+"/api/v1/workflows", http.Header{"Authorization": {"Bearer " + strings.Repeat("a", 80<<10)}})
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode, "an oversized Authorization header")

	resp = get(t, &http.Client{Timeout: 10 * time.Second}, "http://"+addr+"/healthz", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP to the TLS port")
	require.Empty(t, resp.Header.Get("Strict-Transport-Security"))

	// A client that does not trust the certificate cannot talk to it.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+addr+"/healthz", nil)
	require.NoError(t, err)
	untrusted, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err == nil {
		untrusted.Body.Close()
	}
	require.ErrorContains(t, err, "certificate")
}

// TestServePlainLimits: without TLS there is no HSTS, and the header limit holds the same.
func TestServePlainLimits(t *testing.T) {
	t.Parallel()
	addr := serve(t, testConfig(t))
	client := &http.Client{Timeout: 10 * time.Second}
	resp := get(t, client, "http://"+addr+"/healthz", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Strict-Transport-Security"))
	resp = get(t, client, "http://"+addr+"/api/v1/workflows", http.Header{"Authorization": {"Bearer " + strings.Repeat("a", 60<<10)}})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a 60 KiB header is within the limit")
	resp = get(t, client, "http://"+addr+"/api/v1/workflows", http.Header{"Authorization": {"Bearer " + strings.Repeat("a", 80<<10)}})
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}

func TestTLSConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, _ := selfSigned(t, dir)
	_, otherKey, _ := selfSigned(t, t.TempDir())
	garbage := filepath.Join(dir, "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("not a pem file"), 0o600))

	tests := []struct {
		name       string
		cert, key  string
		wantErr    string
		wantConfig bool
	}{
		{name: "Neither"},
		{name: "Both", cert: certFile, key: keyFile, wantConfig: true},
		{name: "MissingCert", cert: filepath.Join(dir, "nope.pem"), key: keyFile, wantErr: "no such file"},
		{name: "KeyOfAnotherCertificate", cert: certFile, key: otherKey, wantErr: "private key does not match public key"},
		{name: "NotPEM", cert: garbage, key: keyFile, wantErr: "failed to find any PEM data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := config.Default()
			cfg.TLSCertFile, cfg.TLSKeyFile = tt.cert, tt.key
			got, err := app.TLSConfig(cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.ErrorContains(t, err, "CM_TLS_CERT_FILE")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantConfig, got != nil)
			if got != nil {
				require.Equal(t, uint16(tls.VersionTLS12), got.MinVersion)
				require.Len(t, got.Certificates, 1)
			}
		})
	}
}
