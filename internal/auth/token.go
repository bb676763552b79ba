package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is the iss claim of every access token, checked on verification.
const Issuer = "concertmaster"

// JWTKeyInfo is the HKDF info the signing key is derived with from the server secret
// (secret.Secret.Derive).
const JWTKeyInfo = "concertmaster jwt v1"

// DefaultTokenTTL is the lifetime of an access token unless SignerConfig says otherwise.
const DefaultTokenTTL = 15 * time.Minute

// DefaultLeeway is the clock skew tolerated on exp and iat between processes.
const DefaultLeeway = 10 * time.Second

// MaxTokenLength bounds an access token in bytes; longer ones are refused before any parsing. Ours are
// about 300 bytes.
const MaxTokenLength = 2048

// MinKeyLength is the minimum length of a signing key in bytes (HS256 wants at least the hash size).
const MinKeyLength = 32

// ErrTokenExpired reports a well-signed access token past its expiry (plus leeway): the client should
// refresh.
var ErrTokenExpired = errors.New("access token expired")

// ErrInvalidToken reports an access token that is malformed, too long, signed with an unknown key or
// algorithm, tampered with, or missing a required claim.
var ErrInvalidToken = errors.New("invalid access token")

// Claims are what an access token says. The role is deliberately absent: it is read per request.
type Claims struct {
	// Subject is the user id, or "apikey:<id>" for an API key (sub).
	Subject string
	// TenantID is the tenant the token acts in (tid).
	TenantID string
	// IssuedAt is when the token was issued (iat), whole seconds; Verify returns it in UTC.
	IssuedAt time.Time
	// ExpiresAt is when the token expires (exp), whole seconds; Verify returns it in UTC.
	ExpiresAt time.Time
	// ID is the token's unique id (jti).
	ID string
}

// jwtClaims is the wire form of Claims.
type jwtClaims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tid"`
}

// SignerConfig configures a Signer.
type SignerConfig struct {
	// Key signs new tokens and verifies them: typically secret.Derive(JWTKeyInfo). At least
	// MinKeyLength bytes.
	Key []byte
	// PreviousKeys still verify tokens (key rotation) but sign nothing.
	PreviousKeys [][]byte
	// TTL is the lifetime of issued tokens; zero means DefaultTokenTTL.
	TTL time.Duration
	// Leeway is the tolerated clock skew; zero means DefaultLeeway, negative means none.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now. Tests inject a fake clock here.
	Now func() time.Time
}

// Signer issues and verifies HS256 access tokens. Its keys are chosen by the kid header. It is safe
// for concurrent use.
type Signer struct {
	kid    string
	key    []byte
	keys   map[string][]byte // by kid, the current key included
	ttl    time.Duration
	now    func() time.Time
	parser *jwt.Parser
}

// KeyID returns the kid of a signing key: the first 8 bytes of its SHA-256, in hex.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// NewSigner builds a Signer from its configuration.
func NewSigner(cfg SignerConfig) (*Signer, error) {
	if len(cfg.Key) < MinKeyLength {
		return nil, fmt.Errorf("signing key of %d bytes: want at least %d", len(cfg.Key), MinKeyLength)
	}
	s := &Signer{
		kid:  KeyID(cfg.Key),
		key:  append([]byte(nil), cfg.Key...),
		keys: make(map[string][]byte, 1+len(cfg.PreviousKeys)),
		ttl:  cfg.TTL,
		now:  cfg.Now,
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTokenTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.keys[s.kid] = s.key
	for i, k := range cfg.PreviousKeys {
		if len(k) < MinKeyLength {
			return nil, fmt.Errorf("previous signing key %d of %d bytes: want at least %d", i, len(k), MinKeyLength)
		}
		id := KeyID(k)
		if _, dup := s.keys[id]; dup {
			continue // the same key given twice, or the previous key equal to the current one
		}
		s.keys[id] = append([]byte(nil), k...)
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	if leeway < 0 {
		leeway = 0
	}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(s.now),
		jwt.WithStrictDecoding(),
	)
	return s, nil
}

// KeyID returns the kid of the current signing key.
func (s *Signer) KeyID() string { return s.kid }

// Issue signs an access token for c with the current key. Subject and TenantID are required; a zero
// IssuedAt means now, a zero ExpiresAt means IssuedAt plus the TTL, an empty ID gets a random one.
// Times are truncated to whole seconds, as JWT carries them.
func (s *Signer) Issue(c Claims) (token string, expires time.Time, err error) {
	if c.Subject == "" || c.TenantID == "" {
		return "", time.Time{}, errors.New("issuing an access token: subject and tenant are required")
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = s.now()
	}
	c.IssuedAt = c.IssuedAt.Truncate(time.Second)
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.IssuedAt.Add(s.ttl)
	}
	c.ExpiresAt = c.ExpiresAt.Truncate(time.Second)
	if !c.ExpiresAt.After(c.IssuedAt) {
		return "", time.Time{}, errors.New("issuing an access token: expiry must be after issue time")
	}
	if c.ID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", time.Time{}, fmt.Errorf("issuing an access token: %w", err)
		}
		c.ID = base64.RawURLEncoding.EncodeToString(b[:])
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   c.Subject,
			IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
			ID:        c.ID,
		},
		TenantID: c.TenantID,
	})
	t.Header["kid"] = s.kid
	signed, err := t.SignedString(s.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing an access token: %w", err)
	}
	if len(signed) > MaxTokenLength {
		return "", time.Time{}, errors.New("issuing an access token: claims too long")
	}
	return signed, c.ExpiresAt, nil
}

// Verify checks an access token and returns its claims. The error is ErrTokenExpired for a
// well-signed token past its expiry, otherwise ErrInvalidToken (wrapping the reason, for logs; the
// reason is not meant for clients). Only HS256 is accepted, with the key named by kid (current or
// previous), iss must be Issuer, and exp, iat, sub and tid are required.
func (s *Signer) Verify(token string) (*Claims, error) {
	if len(token) > MaxTokenLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenLength)
	}
	var wc jwtClaims
	_, err := s.parser.ParseWithClaims(token, &wc, s.keyFor)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, ErrTokenExpired
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	switch {
	case wc.IssuedAt == nil:
		return nil, fmt.Errorf("%w: no iat", ErrInvalidToken)
	case wc.Subject == "":
		return nil, fmt.Errorf("%w: no sub", ErrInvalidToken)
	case wc.TenantID == "":
		return nil, fmt.Errorf("%w: no tid", ErrInvalidToken)
	}
	return &Claims{
		Subject:   wc.Subject,
		TenantID:  wc.TenantID,
		IssuedAt:  wc.IssuedAt.UTC(),
		ExpiresAt: wc.ExpiresAt.UTC(),
		ID:        wc.ID,
	}, nil
}

// keyFor picks the verification key by the kid header.
func (s *Signer) keyFor(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok {
		return nil, errors.New("no kid header")
	}
	key, ok := s.keys[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return key, nil
}
