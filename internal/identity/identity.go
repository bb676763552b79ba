package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/concertmaster/concertmaster/internal/auth"
	"github.com/concertmaster/concertmaster/internal/cache"
	"github.com/concertmaster/concertmaster/internal/ratelimit"
	"github.com/concertmaster/concertmaster/internal/secret"
	"github.com/concertmaster/concertmaster/internal/store"
)

// Defaults for Config.
const (
	RefreshTTLDefault    = 30 * 24 * time.Hour
	RefreshMaxTTLDefault = 90 * 24 * time.Hour
	TicketTTL            = 30 * time.Second
	// RoleCacheTTL is how long a process may go on using a role (or an API key) after it changed in
	// another process when the invalidation did not reach it (Redis, ADR 0024); normally every
	// process drops its cached copy at once.
	RoleCacheTTL = 5 * time.Second
	// FirstWorkspaceName names the first workspace when setup names none.
	FirstWorkspaceName = "My workspace"
	// MaxEmailLength and MaxNameLength bound what a person types.
	MaxEmailLength = 254
	MaxNameLength  = 200
)

// TicketKeyInfo derives the key that signs stream tickets, distinct from the access tokens' so a
// ticket never works as a bearer token.
const TicketKeyInfo = "concertmaster ticket v1"

// Rules of the default rate limits.
var (
	LoginPerIPRule      = ratelimit.Rule{Rate: 10, Period: time.Minute, Burst: 10}
	LoginPerAccountRule = ratelimit.Rule{Rate: 5, Period: time.Minute, Burst: 10}
	SetupPerIPRule      = ratelimit.Rule{Rate: 5, Period: time.Minute, Burst: 5}
)

// Errors of the identity use cases. The API maps them to statuses (401, 403, 429, 422).
var (
	// ErrInvalidCredentials is a failed sign-in or an unusable refresh token: the message is the same
	// whatever failed.
	ErrInvalidCredentials = errors.New("invalid e-mail or password")
	// ErrUnauthenticated is a missing, malformed, expired or unknown credential.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrForbidden is an authenticated principal asking for what its role or kind may not do.
	ErrForbidden = errors.New("forbidden")
)

// AuthError is a refused credential with the reason the client may read (WWW-Authenticate).
type AuthError struct {
	Reason string
	// Expired tells an expired token from an invalid one (the client refreshes on expired).
	Expired bool
}

func (e *AuthError) Error() string { return e.Reason }

// Is makes AuthError match ErrUnauthenticated.
func (e *AuthError) Is(target error) bool { return target == ErrUnauthenticated }

// ForbiddenError says why a principal may not do something.
type ForbiddenError struct{ Reason string }

func (e *ForbiddenError) Error() string { return e.Reason }

// Is makes ForbiddenError match ErrForbidden.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// RateLimitedError is a request refused by a rate limit.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many attempts: retry in %d s", retrySeconds(e.RetryAfter))
}

func retrySeconds(d time.Duration) int64 { return max(1, int64((d+time.Second-1)/time.Second)) }

// RetryAfterSeconds is the Retry-After value: whole seconds, at least 1.
func (e *RateLimitedError) RetryAfterSeconds() int64 { return retrySeconds(e.RetryAfter) }

// FieldError is a bad field of a request, located by a JSON pointer into its body.
type FieldError struct {
	Pointer string
	Message string
}

func (e *FieldError) Error() string { return e.Message }

// Config configures a Service.
type Config struct {
	Store  store.Store
	Secret *secret.Secret
	// PreviousSecrets still verify access tokens signed before a rotation.
	PreviousSecrets []*secret.Secret
	// AccessTTL is the access tokens' lifetime (default auth.DefaultTokenTTL, 15 min).
	AccessTTL time.Duration
	// RefreshTTL (sliding, default 30 days) and RefreshMaxTTL (absolute, default 90 days) bound a
	// refresh token family.
	RefreshTTL, RefreshMaxTTL time.Duration
	// LoginPerIP, LoginPerAccount and SetupPerIP limit sign-in and setup attempts (defaults: the
	// rules above, in memory).
	LoginPerIP, LoginPerAccount, SetupPerIP ratelimit.Limiter
	// PasswordParams are the argon2id parameters of new hashes (default auth.DefaultParams()).
	PasswordParams *auth.Params
	Logger         *slog.Logger
	Now            func() time.Time
	// Caches is the process's group of hot-read caches and their link to the other processes (ADR
	// 0024), which role and API key changes invalidate. Nil means a group of its own with no link:
	// right for a single process.
	Caches *cache.Group
}

// Service implements the identity use cases. It is safe for concurrent use.
type Service struct {
	cfg     Config
	store   store.Store
	access  *auth.Signer
	tickets *auth.Signer
	logger  *slog.Logger
	now     func() time.Time
	// roles caches "tenant\x00user" → role ("" for no membership), tagged with the tenant and user.
	roles *cache.Cache[store.Role]
	// keys caches an API key's hash → key, tagged with its tenant and id.
	keys *cache.Cache[*cachedKey]
	// usedTickets remembers redeemed tickets until they expire (single use).
	usedTickets *otter.Cache[string, struct{}]

	// release returns the memory of password hashes to the OS once sign-ins pause (releaseDelay).
	releaseMu sync.Mutex
	release   *time.Timer
}

// releaseDelay is how long after the last password hash its memory is handed back to the OS.
const releaseDelay = 2 * time.Second

// hashed notes that a password was hashed or verified: argon2id takes tens of MiB each time, which
// the Go runtime would keep for a while; once sign-ins pause, the service hands it back (one forced
// collection per quiet period, so an idle server stays small).
func (s *Service) hashed() {
	s.releaseMu.Lock()
	defer s.releaseMu.Unlock()
	if s.release != nil {
		s.release.Reset(releaseDelay)
		return
	}
	s.release = time.AfterFunc(releaseDelay, debug.FreeOSMemory)
}

type cachedKey struct {
	key *store.APIKey
	// touched is when this process last recorded the key's use (Unix nanoseconds).
	touched atomic.Int64
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Secret == nil {
		return nil, errors.New("identity: a store and a secret are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = RefreshTTLDefault
	}
	if cfg.RefreshMaxTTL <= 0 {
		cfg.RefreshMaxTTL = RefreshMaxTTLDefault
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var previous, previousTickets [][]byte
	for _, p := range cfg.PreviousSecrets {
		previous = append(previous, p.Derive(auth.JWTKeyInfo))
		previousTickets = append(previousTickets, p.Derive(TicketKeyInfo))
	}
	access, err := auth.NewSigner(auth.SignerConfig{Key: cfg.Secret.Derive(auth.JWTKeyInfo), PreviousKeys: previous, TTL: cfg.AccessTTL, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("identity: access tokens: %w", err)
	}
	tickets, err := auth.NewSigner(auth.SignerConfig{Key: cfg.Secret.Derive(TicketKeyInfo), PreviousKeys: previousTickets, TTL: TicketTTL, Leeway: -1, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("identity: tickets: %w", err)
	}
	limiter := func(l *ratelimit.Limiter, rule ratelimit.Rule) error {
		if *l != nil {
			return nil
		}
		m, err := ratelimit.NewMemory(rule, ratelimit.MemoryConfig{Now: cfg.Now})
		if err != nil {
			return err
		}
		*l = m
		return nil
	}
	for _, l := range []struct {
		l    *ratelimit.Limiter
		rule ratelimit.Rule
	}{{&cfg.LoginPerIP, LoginPerIPRule}, {&cfg.LoginPerAccount, LoginPerAccountRule}, {&cfg.SetupPerIP, SetupPerIPRule}} {
		if err := limiter(l.l, l.rule); err != nil {
			return nil, fmt.Errorf("identity: rate limits: %w", err)
		}
	}
	s := &Service{cfg: cfg, store: cfg.Store, access: access, tickets: tickets, logger: logger.With("component", "identity"), now: cfg.Now}
	if cfg.Caches == nil {
		s.cfg.Caches = cache.NewGroup(nil)
	}
	s.roles = cache.New[store.Role](s.cfg.Caches, cache.Config{Scope: cache.ScopeRoles, MaxEntries: 100_000, TTL: RoleCacheTTL})
	s.keys = cache.New[*cachedKey](s.cfg.Caches, cache.Config{Scope: cache.ScopeAPIKeys, MaxEntries: 10_000, TTL: RoleCacheTTL})
	s.usedTickets = otter.Must(&otter.Options[string, struct{}]{MaximumSize: 100_000, ExpiryCalculator: otter.ExpiryWriting[string, struct{}](TicketTTL + time.Minute)})
	return s, nil
}

// AccessTTL is the lifetime of the access tokens the service issues.
func (s *Service) AccessTTL() time.Duration {
	if s.cfg.AccessTTL > 0 {
		return s.cfg.AccessTTL
	}
	return auth.DefaultTokenTTL
}

func roleKey(tenantID, userID string) string { return tenantID + "\x00" + userID }

// forgetRole drops the cached role of a member after a change, here and in the other processes.
func (s *Service) forgetRole(tenantID, userID string) {
	s.cfg.Caches.Changed(cache.Invalidation{Scope: cache.ScopeRoles, TenantID: tenantID, Key: userID})
}

// RoleCacheStats returns the counters of the role cache.
func (s *Service) RoleCacheStats() cache.Stats { return s.roles.Stats() }

// APIKeyCacheStats returns the counters of the API key cache.
func (s *Service) APIKeyCacheStats() cache.Stats { return s.keys.Stats() }

// accountKey is the rate limit key of an e-mail: a hash, so that the limiter's keys stay short and
// hold no address.
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return "acct:" + hex.EncodeToString(sum[:12])
}

// allow spends one unit of key on l, failing closed on a limiter error.
func allow(ctx context.Context, l ratelimit.Limiter, key string) error {
	ok, retry, err := l.Allow(ctx, key, 1)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if !ok {
		return &RateLimitedError{RetryAfter: retry}
	}
	return nil
}

func ipKey(ip string) string {
	if len(ip) > 58 {
		ip = ip[:58]
	}
	return "ip:" + ip
}

func checkEmail(email string) error {
	at := strings.LastIndexByte(email, '@')
	switch {
	case len(email) > MaxEmailLength:
		return &FieldError{Pointer: "/email", Message: fmt.Sprintf("e-mail is longer than %d characters", MaxEmailLength)}
	case at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n\x00"):
		return &FieldError{Pointer: "/email", Message: "e-mail must look like name@example.com"}
	}
	return nil
}

func checkName(pointer, name string) error {
	if len(name) > MaxNameLength || strings.ContainsRune(name, 0) {
		return &FieldError{Pointer: pointer, Message: fmt.Sprintf("must be at most %d characters, without NUL", MaxNameLength)}
	}
	return nil
}

// hashPassword checks a new password's strength and hashes it. pointer locates it in the request.
func (s *Service) hashPassword(pointer, password string, userInputs ...string) (string, error) {
	if err := auth.CheckStrength(password, userInputs...); err != nil {
		return "", &FieldError{Pointer: pointer, Message: err.Error()}
	}
	var (
		h   string
		err error
	)
	if s.cfg.PasswordParams != nil {
		h, err = auth.HashPasswordWith(*s.cfg.PasswordParams, password)
	} else {
		h, err = auth.HashPassword(password)
	}
	s.hashed()
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}
