// Package s3node implements s3.get, s3.put, s3.list and s3.delete over any S3-compatible object store
// (minio-go), and the s3 credential's tester. Every connection dials through the deployment's outbound
// guard; each credential's connection pool (an http.Transport with its TLS settings) is shared through
// a bounded conn.Cache.
package s3node

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// Codes of the *node.Error values the nodes return, beyond conn's ssrf_blocked and connection_failed.
const (
	// CodeNotFound is an object that does not exist (s3.get).
	CodeNotFound = "not_found"
	// CodeBucketNotFound is a bucket that does not exist.
	CodeBucketNotFound = "bucket_not_found"
	// CodeAccessDenied is a request the service refused for the credential (wrong key, no permission).
	CodeAccessDenied = "access_denied"
	// CodeS3Error is any other error answer; Details hold the S3 error code and status. 5xx and
	// SlowDown are retryable.
	CodeS3Error = "s3_error"
	// CodeInvalidConfig is a configuration the request cannot be made from (no bucket, a body that
	// does not suit its encoding).
	CodeInvalidConfig = "invalid_config"
	// CodeObjectTooLarge is an object larger than maxBytes (s3.get) or a body over the put limit.
	CodeObjectTooLarge = "object_too_large"
	// CodeOutputTooLarge is an output over the attempt's output limit.
	CodeOutputTooLarge = "output_too_large"
	// CodeInvalidJSON is an object that is not JSON while as is json.
	CodeInvalidJSON = "invalid_json"
	// CodeTimeout is a request that did not finish within its timeout.
	CodeTimeout = "timeout"
)

const credentialType = "s3"

// Bounds.
const (
	// MaxGetBytes is the largest object s3.get reads: 64 MiB (and the run's output limit).
	MaxGetBytes = 64 << 20
	// MaxPutBytes is the largest body s3.put sends: 64 MiB.
	MaxPutBytes = 64 << 20
	// MaxListKeys is the most keys one s3.list returns (S3's own page limit).
	MaxListKeys = 1000
	// MaxDeleteKeys is the most keys one s3.delete removes.
	MaxDeleteKeys = 1000
)

// s3Credential is the s3 credential's data.
type s3Credential struct {
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	Bucket          string `json:"bucket"`
	PathStyle       bool   `json:"pathStyle"`
	TLS             *bool  `json:"tls"`
	TLSSkipVerify   bool   `json:"tlsSkipVerify"`
}

func decodeCredential(c *node.Credential) (*s3Credential, error) {
	var sc s3Credential
	if err := c.Decode(&sc); err != nil {
		return nil, node.Permanent(node.Errorf("invalid_credential", "%v", err))
	}
	if sc.Endpoint == "" {
		sc.Endpoint = "s3.amazonaws.com"
	}
	if sc.Region == "" {
		sc.Region = "us-east-1"
	}
	if strings.Contains(sc.Endpoint, "/") {
		u, err := url.Parse(sc.Endpoint)
		if err != nil || u.Host == "" || u.User != nil {
			return nil, node.Permanent(node.Errorf("invalid_credential", "credential %s: endpoint must be host[:port]", c.Name))
		}
		sc.Endpoint = u.Host
		if u.Scheme == "http" && sc.TLS == nil {
			off := false
			sc.TLS = &off
		}
	}
	return &sc, nil
}

func (sc *s3Credential) secure() bool { return sc.TLS == nil || *sc.TLS }

// shared is what every node of one New shares: the deployment's settings and the transports by
// credential.
type shared struct {
	cfg        conn.Config
	transports *conn.Cache[*http.Transport]
}

func newShared(cfg conn.Config) *shared {
	cfg = cfg.WithDefaults()
	return &shared{
		cfg:        cfg,
		transports: conn.NewCache(cfg.MaxPools, cfg.Idle, func(t *http.Transport) { t.CloseIdleConnections() }),
	}
}

// transport returns a new transport for a credential: guarded dial, its TLS settings, bounded waits.
func (s *shared) transport(sc *s3Credential) *http.Transport {
	t := s.cfg.Policy.Transport()
	t.DialContext = s.cfg.Dial
	if sc.TLSSkipVerify {
		host, _, err := net.SplitHostPort(sc.Endpoint)
		if err != nil {
			host = sc.Endpoint
		}
		t.TLSClientConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: true} //nolint:gosec // the credential asks for it, documented as test-only
	}
	t.ResponseHeaderTimeout = s.cfg.Timeout
	return t
}

// call is one operation's client: the credential, its bucket, and a minio client whose requests carry
// the operation's context.
type call struct {
	client  *minio.Client
	core    minio.Core
	cred    *s3Credential
	what    string
	release func()
}

// open resolves the credential and returns a client bound to ctx. The caller must call release.
func (s *shared) open(ctx context.Context, creds node.Credentials, id string) (*call, error) {
	c, err := node.GetCredential(ctx, creds, id, credentialType)
	if err != nil {
		return nil, err
	}
	sc, err := decodeCredential(c)
	if err != nil {
		return nil, err
	}
	t, release, err := s.transports.Acquire(ctx, conn.Key(c), func(context.Context) (*http.Transport, error) {
		return s.transport(sc), nil
	})
	if err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupAuto
	if sc.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(sc.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(sc.AccessKeyID, sc.SecretAccessKey, ""),
		Secure:       sc.secure(),
		Transport:    ctxTransport{base: t, ctx: ctx},
		Region:       sc.Region,
		BucketLookup: lookup,
		MaxRetries:   1, // the engine retries per the node's policy
	})
	if err != nil {
		release()
		return nil, node.Permanent(node.Errorf("invalid_credential", "credential %s: %v", c.Name, err))
	}
	return &call{client: client, core: minio.Core{Client: client}, cred: sc, what: "S3 at " + sc.Endpoint, release: release}, nil
}

// bucket returns the node's bucket, or the credential's.
func (c *call) bucket(b string) (string, error) {
	if b == "" {
		b = c.cred.Bucket
	}
	if b == "" {
		return "", node.Permanent(node.Errorf(CodeInvalidConfig, "bucket is not set, and the credential has no default bucket"))
	}
	return b, nil
}

// ctxTransport sends every request with ctx, so that calls of minio-go that take no context (such
// as Core.ListObjectsV2) still honour the attempt's timeout and cancel.
type ctxTransport struct {
	base http.RoundTripper
	ctx  context.Context //nolint:containedctx // the operation's context, for one call only
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(req.WithContext(t.ctx))
}

// classify turns a minio-go error into a node error about object (bucket/key, or "" for the bucket).
func (c *call) classify(ctx context.Context, object string, err error) error {
	what := c.what
	if object != "" {
		what += ": " + object
	}
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		return conn.ClassifyDial(c.what, blocked)
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return node.Errorf(CodeTimeout, "%s: no answer within the timeout", what)
		}
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	resp := minio.ToErrorResponse(err)
	if resp.Code == "" && resp.StatusCode == 0 {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return conn.ClassifyDial(c.what, err)
	}
	details := map[string]any{"code": resp.Code, "status": resp.StatusCode}
	msg := resp.Message
	if msg == "" {
		msg = resp.Code
	}
	switch resp.Code {
	case "NoSuchKey":
		return node.Permanent(&node.Error{Code: CodeNotFound, Message: fmt.Sprintf("%s does not exist", what), Details: details})
	case "NoSuchBucket":
		return node.Permanent(&node.Error{Code: CodeBucketNotFound, Message: fmt.Sprintf("%s: the bucket does not exist", what), Details: details})
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "AccountProblem":
		return node.Permanent(&node.Error{Code: CodeAccessDenied, Message: fmt.Sprintf("%s: %s", what, msg), Details: details})
	}
	e := &node.Error{Code: CodeS3Error, Message: fmt.Sprintf("%s: %s", what, msg), Details: details}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.Code == "SlowDown" || resp.Code == "RequestTimeout" {
		return e
	}
	return node.Permanent(e)
}

// timeout parses a node's timeout, or returns the deployment's.
func (s *shared) timeout(v string) (time.Duration, error) {
	if v == "" {
		return s.cfg.Timeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, node.Permanent(node.Errorf(CodeInvalidConfig, "timeout %q is not a positive duration such as 30s", v))
	}
	return d, nil
}

func parseTimeoutOK(v string) error {
	if v == "" || strings.Contains(v, "{{") {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("timeout %q is not a positive duration such as 30s", v)
	}
	return nil
}

// New returns s3.get, s3.put, s3.list and s3.delete, sharing one transport per credential.
func New(cfg conn.Config) []node.Node {
	s := newShared(cfg)
	return []node.Node{&Get{shared: s}, &Put{shared: s}, &List{shared: s}, &Delete{shared: s}}
}

// Testers returns the s3 credential's tester: it checks the default bucket exists (HEAD bucket), or
// lists the buckets when the credential names none.
func Testers(cfg conn.Config) map[string]conn.TestFunc {
	s := newShared(cfg)
	return map[string]conn.TestFunc{credentialType: func(ctx context.Context, c *node.Credential) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
		creds := single{c}
		cl, err := s.open(ctx, creds, c.ID)
		if err != nil {
			return "", err
		}
		defer cl.release()
		if b := cl.cred.Bucket; b != "" {
			ok, err := cl.client.BucketExists(ctx, b)
			if err != nil {
				return "", cl.classify(ctx, b, err)
			}
			if !ok {
				return "", node.Errorf(CodeBucketNotFound, "%s: bucket %s does not exist", cl.what, b)
			}
			return fmt.Sprintf("Connected to %s: bucket %s exists", cl.cred.Endpoint, b), nil
		}
		buckets, err := cl.client.ListBuckets(ctx)
		if err != nil {
			return "", cl.classify(ctx, "", err)
		}
		return fmt.Sprintf("Connected to %s: the key lists %d buckets", cl.cred.Endpoint, len(buckets)), nil
	}}
}

// single is a node.Credentials over one credential, for the tester.
type single struct{ c *node.Credential }

func (s single) Get(context.Context, string, ...string) (*node.Credential, error) { return s.c, nil }
func (single) Redact(...string)                                                   {}

// schemaProp returns a schema fragment shared by the four types.
func schemaProps(timeout string) map[string]any {
	return map[string]any{
		"credential": map[string]any{
			"title": "Credential", "type": "string", "minLength": 1, "x-credentialTypes": []string{"s3"},
			"description": "An s3 credential: the endpoint (empty for Amazon S3), region, access key and secret, and a default bucket.",
			"examples":    []string{"cred_s3"},
		},
		"bucket": map[string]any{
			"title": "Bucket", "type": "string", "maxLength": 255,
			"description": "The bucket; the credential's default bucket when not set.",
			"examples":    []string{"reports"},
		},
		"timeout": map[string]any{
			"title": "Timeout", "type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, "default": timeout,
			"description": "Longest time the request may take, as a duration such as 30s.",
			"examples":    []string{"60s"},
		},
	}
}

func schemaFor(title, description string, required []string, props map[string]any) json.RawMessage {
	s := map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, "description": description,
		"type": "object", "additionalProperties": false, "required": required, "properties": props,
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // built from constants
	}
	return b
}
