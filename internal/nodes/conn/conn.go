// Package conn is what the integration node types (databases, queues, object storage, e-mail) share:
// the deployment's outbound settings, a bounded cache of connection pools keyed by credential, and the
// TLS configuration a credential asks for.
package conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
)

// Defaults for Config.
const (
	TimeoutDefault  = 30 * time.Second
	MaxPoolsDefault = 64
	IdleDefault     = 5 * time.Minute
)

// Config is the deployment's settings for outbound connections of integration nodes.
type Config struct {
	// Policy decides which addresses may be dialled (CM_HTTP_ALLOW_PRIVATE, CM_HTTP_ALLOWLIST); nil
	// refuses every private, loopback and metadata address.
	Policy *netguard.Policy
	// Timeout bounds one call (a query, a publish, a request) when the node sets none; zero means
	// TimeoutDefault.
	Timeout time.Duration
	// MaxPools bounds the connection pools kept open per node family; zero means MaxPoolsDefault.
	MaxPools int
	// Idle closes a pool unused for this long; zero means IdleDefault.
	Idle time.Duration
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Policy == nil {
		c.Policy = &netguard.Policy{}
	}
	if c.Timeout <= 0 {
		c.Timeout = TimeoutDefault
	}
	if c.MaxPools <= 0 {
		c.MaxPools = MaxPoolsDefault
	}
	if c.Idle <= 0 {
		c.Idle = IdleDefault
	}
	return c
}

// Dial dials through the policy: every address a name resolves to is checked before connecting.
func (c Config) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	p := c.Policy
	if p == nil {
		p = &netguard.Policy{}
	}
	return p.DialContext(ctx, network, addr)
}

// CodeSSRFBlocked is the node error code of a connection the policy refused, as for http.request.
const CodeSSRFBlocked = "ssrf_blocked"

// CodeConnection is the node error code of a connection that failed (refused, reset, DNS, TLS,
// authentication).
const CodeConnection = "connection_failed"

// ClassifyDial turns a connection error into a node error: ssrf_blocked (permanent) when the policy
// refused the address, connection_failed (retryable) otherwise. what names the system ("PostgreSQL
// at db:5432").
func ClassifyDial(what string, err error) error {
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		return node.Permanent(&node.Error{Code: CodeSSRFBlocked, Message: fmt.Sprintf("%s: %s", what, blocked.Error())})
	}
	return &node.Error{Code: CodeConnection, Message: fmt.Sprintf("%s: %s", what, err.Error())}
}

// TLSFields are the TLS fields credential types share.
type TLSFields struct {
	TLS           bool   `json:"tls"`
	TLSSkipVerify bool   `json:"tlsSkipVerify"`
	TLSCA         string `json:"tlsCA"` //nolint:tagliatelle // the credential field's name (credential.fCA)
}

// TLSConfig returns the TLS configuration the fields ask for, for serverName, or nil when TLS is off.
func (f TLSFields) TLSConfig(serverName string) (*tls.Config, error) {
	if !f.TLS {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if f.TLSSkipVerify {
		cfg.InsecureSkipVerify = true //nolint:gosec // the credential asks for it, documented as test-only
	}
	if f.TLSCA != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(f.TLSCA)) {
			return nil, node.Permanent(node.Errorf("invalid_credential", "the credential's CA certificate is not valid PEM"))
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Cache keeps connection pools (or clients) of type T by key, typically a credential's id and
// fingerprint, so that runs share them. It holds at most max entries: the least recently used one
// that no attempt holds is closed to make room, and entries unused for longer than idle are closed.
type Cache[T any] struct {
	max   int
	idle  time.Duration
	close func(T)
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]*entry[T]
	closed  bool
}

type entry[T any] struct {
	value    T
	err      error
	ready    chan struct{}
	refs     int
	lastUsed time.Time
	evicted  bool
}

// NewCache returns a cache of at most max entries (MaxPoolsDefault when zero) that closes values
// with closeFunc.
func NewCache[T any](max int, idle time.Duration, closeFunc func(T)) *Cache[T] {
	if max <= 0 {
		max = MaxPoolsDefault
	}
	if idle <= 0 {
		idle = IdleDefault
	}
	return &Cache[T]{max: max, idle: idle, close: closeFunc, now: time.Now, entries: map[string]*entry[T]{}}
}

// ErrClosed is returned by Acquire after Close.
var ErrClosed = errors.New("connection cache closed")

// Acquire returns the value for key, opening it with open when there is none (one open per key at a
// time; others wait for it). The caller must call release when done with the value. An open that fails
// is not cached.
func (c *Cache[T]) Acquire(ctx context.Context, key string, open func(ctx context.Context) (T, error)) (value T, release func(), err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return value, nil, ErrClosed
	}
	c.sweepLocked()
	e, ok := c.entries[key]
	if !ok {
		e = &entry[T]{ready: make(chan struct{})}
		c.entries[key] = e
		e.refs++
		c.makeRoomLocked(key)
		c.mu.Unlock()
		e.value, e.err = open(ctx)
		close(e.ready)
		if e.err != nil {
			c.mu.Lock()
			if c.entries[key] == e {
				delete(c.entries, key)
			}
			c.mu.Unlock()
			return value, nil, e.err
		}
	} else {
		e.refs++
		c.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			c.release(key, e)
			return value, nil, ctx.Err()
		}
		if e.err != nil {
			c.release(key, e)
			return value, nil, e.err
		}
	}
	var once sync.Once
	return e.value, func() { once.Do(func() { c.release(key, e) }) }, nil
}

func (c *Cache[T]) release(key string, e *entry[T]) {
	c.mu.Lock()
	e.refs--
	e.lastUsed = c.now()
	closeNow := e.refs == 0 && e.evicted && e.err == nil
	c.mu.Unlock()
	if closeNow {
		c.closeValue(e)
	}
}

func (c *Cache[T]) closeValue(e *entry[T]) {
	<-e.ready
	if e.err == nil && c.close != nil {
		c.close(e.value)
	}
}

// sweepLocked closes entries idle for longer than c.idle.
func (c *Cache[T]) sweepLocked() {
	now := c.now()
	for k, e := range c.entries {
		if e.refs == 0 && !e.lastUsed.IsZero() && now.Sub(e.lastUsed) > c.idle {
			delete(c.entries, k)
			e.evicted = true
			go c.closeValue(e)
		}
	}
}

// makeRoomLocked evicts least recently used entries until the cache holds at most max; entries in use
// are closed when their last holder releases them.
func (c *Cache[T]) makeRoomLocked(keep string) {
	for len(c.entries) > c.max {
		var oldestKey string
		var oldest *entry[T]
		for k, e := range c.entries {
			if k == keep {
				continue
			}
			if oldest == nil || e.lastUsed.Before(oldest.lastUsed) {
				oldestKey, oldest = k, e
			}
		}
		if oldest == nil {
			return
		}
		delete(c.entries, oldestKey)
		oldest.evicted = true
		if oldest.refs == 0 {
			go c.closeValue(oldest)
		}
	}
}

// Len reports how many entries the cache holds.
func (c *Cache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Close closes every entry no attempt holds (the others when released) and refuses new acquisitions.
func (c *Cache[T]) Close() {
	c.mu.Lock()
	c.closed = true
	var idle []*entry[T]
	for k, e := range c.entries {
		delete(c.entries, k)
		e.evicted = true
		if e.refs == 0 {
			idle = append(idle, e)
		}
	}
	c.mu.Unlock()
	for _, e := range idle {
		c.closeValue(e)
	}
}

// Key returns the cache key of a credential: its id and fingerprint, so that an updated credential
// gets a new pool.
func Key(c *node.Credential) string { return c.ID + "/" + c.Fingerprint }

// TestFunc checks that a credential works (connects, authenticates, answers) and says so in a short
// message for the person who saved it, such as "Connected to PostgreSQL 16.4 as app". It must honour
// ctx and bound its own time; its errors are shown to the user as they are, so they must not quote
// the credential's secrets.
type TestFunc func(ctx context.Context, c *node.Credential) (message string, err error)
