// Package redisnode holds the Redis node types: redis.command (a fixed set of safe commands on keys,
// hashes, lists and channels) and trigger.redis_stream (a consumer group on a stream, at least once),
// plus the tester of redis credentials.
package redisnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// CredentialType is the credential type the Redis nodes use.
const CredentialType = "redis"

// Codes of the *node.Error values the Redis nodes return, besides conn.CodeSSRFBlocked and
// conn.CodeConnection and the credential codes of package node.
const (
	// CodeAuthFailed is a user name or password the server refused (permanent).
	CodeAuthFailed = "auth_failed"
	// CodeInvalidConfig is a configuration the command cannot run with, such as set without a value
	// (permanent).
	CodeInvalidConfig = "invalid_config"
	// CodeRedisError is an error reply of the server, such as WRONGTYPE or a value that is not an
	// integer (permanent, except the transient replies LOADING, BUSY, TRYAGAIN, MASTERDOWN and
	// READONLY).
	CodeRedisError = "redis_error"
	// CodeTimeout is a command that did not finish within its timeout (retryable).
	CodeTimeout = "timeout"
	// CodeOutputTooLarge is a result over the output size limit (permanent).
	CodeOutputTooLarge = "output_too_large"
)

// poolSize bounds the connections one credential's client keeps open per process.
const poolSize = 8

// shared is what the node types made by one New share: the deployment's settings and the clients by
// credential.
type shared struct {
	cfg     conn.Config
	clients *conn.Cache[*redis.Client]
	// consumer prefixes the consumer names of trigger.redis_stream: unique per process.
	consumer string
}

func newShared(cfg conn.Config) *shared {
	cfg = cfg.WithDefaults()
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "concertmaster"
	}
	return &shared{
		cfg:      cfg,
		clients:  conn.NewCache(cfg.MaxPools, cfg.Idle, func(c *redis.Client) { _ = c.Close() }),
		consumer: host + "-" + strconv.Itoa(os.Getpid()),
	}
}

// New returns the Redis node types to register: redis.command and trigger.redis_stream. They share one
// bounded cache of clients, one per credential.
func New(cfg conn.Config) []node.Node {
	s := newShared(cfg)
	return []node.Node{&Command{shared: s}, &StreamTrigger{shared: s}}
}

// Testers returns the credential tester of the redis type.
func Testers(cfg conn.Config) map[string]conn.TestFunc {
	s := &shared{cfg: cfg.WithDefaults()}
	return map[string]conn.TestFunc{CredentialType: s.test}
}

// credData is the data of a redis credential.
type credData struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"password"`
	Database int    `json:"database"`
	conn.TLSFields
}

func (d *credData) addr() string {
	port := d.Port
	if port == 0 {
		port = 6379
	}
	return net.JoinHostPort(d.Host, strconv.Itoa(port))
}

// options builds the client options of a credential: every connection is dialled through the guard,
// commands honour their context's deadline and are never retried by the client (a retried INCR or
// LPUSH would apply twice; the node's retry policy decides).
func (s *shared) options(c *node.Credential, pool int) (*redis.Options, string, error) {
	var d credData
	if err := c.Decode(&d); err != nil {
		return nil, "", node.Permanent(node.Errorf("invalid_credential", "%s", err.Error()))
	}
	if d.Host == "" {
		return nil, "", node.Permanent(node.Errorf("invalid_credential", "credential %s has no host", c.Name))
	}
	tlsCfg, err := d.TLSConfig(d.Host)
	if err != nil {
		return nil, "", err
	}
	cfg := s.cfg
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := cfg.Dial(ctx, network, addr)
		if err != nil || tlsCfg == nil {
			return nc, err
		}
		tc := tls.Client(nc, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		return tc, nil
	}
	return &redis.Options{
		Addr:                  d.addr(),
		Username:              d.Username,
		Password:              d.Password,
		DB:                    d.Database,
		Dialer:                dial,
		DialTimeout:           cfg.Timeout,
		DialerRetries:         1,
		ReadTimeout:           cfg.Timeout,
		WriteTimeout:          cfg.Timeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		PoolSize:              pool,
		MaxIdleConns:          2,
		ConnMaxIdleTime:       cfg.Idle,
		DisableIdentity:       true,
	}, "Redis at " + d.addr(), nil
}

// open returns a new client for c, checked with a PING so that a wrong password or an unreachable
// server fails here (and is not cached).
func (s *shared) open(ctx context.Context, c *node.Credential, pool int) (*redis.Client, string, error) {
	opts, what, err := s.options(c, pool)
	if err != nil {
		return nil, "", err
	}
	client := redis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, what, classify(what, err)
	}
	return client, what, nil
}

// client returns the shared client of credential c and its release function.
func (s *shared) client(ctx context.Context, c *node.Credential) (*redis.Client, string, func(), error) {
	client, release, err := s.clients.Acquire(ctx, conn.Key(c), func(ctx context.Context) (*redis.Client, error) {
		cl, _, err := s.open(ctx, c, poolSize)
		return cl, err
	})
	if err != nil {
		return nil, "", nil, err
	}
	return client, "Redis at " + client.Options().Addr, release, nil
}

// transientReplies are error replies that retrying may cure.
var transientReplies = []string{"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "READONLY", "CLUSTERDOWN"}

// classify turns an error of the client into a node error. what names the server ("Redis at
// host:6379"); server replies never hold the password.
func classify(what string, err error) error {
	var ne *node.Error
	if errors.As(err, &ne) || node.IsPermanent(err) {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &node.Error{Code: CodeTimeout, Message: what + ": no answer within the timeout"}
	case errors.Is(err, context.Canceled):
		return err
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		prefix, _, _ := strings.Cut(msg, " ")
		switch {
		case prefix == "WRONGPASS" || prefix == "NOAUTH" || prefix == "NOPERM" ||
			strings.Contains(msg, "invalid password") || strings.Contains(msg, "invalid username-password"):
			return node.Permanent(&node.Error{Code: CodeAuthFailed, Message: what + ": authentication failed: " + msg})
		case isTransient(prefix):
			return &node.Error{Code: CodeRedisError, Message: what + ": " + msg}
		default:
			return node.Permanent(&node.Error{Code: CodeRedisError, Message: what + ": " + msg})
		}
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return &node.Error{Code: CodeTimeout, Message: what + ": no answer within the timeout"}
	}
	return conn.ClassifyDial(what, err)
}

func isTransient(prefix string) bool {
	for _, p := range transientReplies {
		if prefix == p {
			return true
		}
	}
	return false
}

// test is the redis credential tester: it connects, authenticates and reads the server's version.
func (s *shared) test(ctx context.Context, c *node.Credential) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	client, what, err := s.open(ctx, c, 1)
	if err != nil {
		return "", err
	}
	defer func() { _ = client.Close() }()
	info, err := client.Info(ctx, "server").Result()
	if err != nil {
		return "", classify(what, err)
	}
	version := "(unknown version)"
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			version = v
		}
	}
	return "Connected to Redis " + version, nil
}

// timeoutOf parses a node's timeout setting; empty means the deployment's default.
func timeoutOf(field, value string, def time.Duration) (time.Duration, error) {
	if value == "" {
		return def, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, node.Permanent(node.Errorf(CodeInvalidConfig, "config.%s: %q is not a positive duration such as 30s", field, value))
	}
	return d, nil
}
