package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/clocktest"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

type tokenBundle struct {
	clock  *clocktest.Clock
	signer *Signer
}

func setupSigner(t *testing.T, key []byte, previous ...[]byte) *tokenBundle {
	t.Helper()
	clock := clocktest.New(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	s, err := NewSigner(SignerConfig{Key: key, PreviousKeys: previous, Now: clock.Now})
	require.NoError(t, err)
	return &tokenBundle{clock: clock, signer: s}
}

// craft builds a token with any header and payload, signed with HMAC-hash (nil: an empty signature).
func craft(t *testing.T, header, payload map[string]any, h func() hash.Hash, key []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(payload)
	if h == nil {
		return signing + "."
	}
	mac := hmac.New(h, key)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func validPayload(now time.Time) map[string]any {
	return map[string]any{
		"iss": Issuer, "sub": "user-1", "tid": "tenant-1", "jti": "j1",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
}

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	b := setupSigner(t, testKey(1))
	tok, exp, err := b.signer.Issue(Claims{Subject: "user-1", TenantID: "tenant-1"})
	require.NoError(t, err)
	require.Equal(t, b.clock.Now().Add(DefaultTokenTTL), exp)
	require.Less(t, len(tok), 400)

	c, err := b.signer.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, "user-1", c.Subject)
	require.Equal(t, "tenant-1", c.TenantID)
	require.True(t, c.IssuedAt.Equal(b.clock.Now()))
	require.True(t, c.ExpiresAt.Equal(exp))
	require.Len(t, c.ID, 22)

	// The header names the algorithm and the key.
	head, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(head, &h))
	require.Equal(t, "HS256", h["alg"])
	require.Equal(t, KeyID(testKey(1)), h["kid"])
	require.Len(t, h["kid"], 16)

	// An API key's subject and explicit times and id survive too.
	at := b.clock.Now().Add(-time.Minute)
	tok, _, err = b.signer.Issue(Claims{Subject: "apikey:k1", TenantID: "t2", IssuedAt: at, ExpiresAt: at.Add(2 * time.Minute), ID: "abc"})
	require.NoError(t, err)
	c, err = b.signer.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, Claims{Subject: "apikey:k1", TenantID: "t2", IssuedAt: at, ExpiresAt: at.Add(2 * time.Minute), ID: "abc"}, *c)
}

func TestIssueRefusesIncompleteClaims(t *testing.T) {
	t.Parallel()
	b := setupSigner(t, testKey(1))
	_, _, err := b.signer.Issue(Claims{TenantID: "t"})
	require.Error(t, err)
	_, _, err = b.signer.Issue(Claims{Subject: "u"})
	require.Error(t, err)
	now := b.clock.Now()
	_, _, err = b.signer.Issue(Claims{Subject: "u", TenantID: "t", IssuedAt: now, ExpiresAt: now})
	require.Error(t, err)
}

func TestNewSignerRefusesShortKeys(t *testing.T) {
	t.Parallel()
	_, err := NewSigner(SignerConfig{Key: make([]byte, 16)})
	require.Error(t, err)
	_, err = NewSigner(SignerConfig{Key: testKey(1), PreviousKeys: [][]byte{make([]byte, 8)}})
	require.Error(t, err)
}

func TestVerifyExpired(t *testing.T) {
	t.Parallel()
	b := setupSigner(t, testKey(1))
	tok, _, err := b.signer.Issue(Claims{Subject: "u", TenantID: "t"})
	require.NoError(t, err)

	b.clock.Advance(DefaultTokenTTL + DefaultLeeway - time.Second)
	_, err = b.signer.Verify(tok)
	require.NoError(t, err, "within the leeway")

	b.clock.Advance(2 * time.Second)
	_, err = b.signer.Verify(tok)
	require.ErrorIs(t, err, ErrTokenExpired)
	require.NotErrorIs(t, err, ErrInvalidToken)
}

func TestVerifyExpiredButTamperedIsInvalid(t *testing.T) {
	t.Parallel()
	b := setupSigner(t, testKey(1))
	p := validPayload(b.clock.Now().Add(-time.Hour))
	tok := craft(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": KeyID(testKey(2))}, p, sha256.New, testKey(2))
	_, err := b.signer.Verify(tok)
	require.ErrorIs(t, err, ErrInvalidToken, "expiry is only reported for a good signature")
}

func TestVerifyRefusesBadTokens(t *testing.T) {
	t.Parallel()
	b := setupSigner(t, testKey(1))
	now := b.clock.Now()
	good, _, err := b.signer.Issue(Claims{Subject: "user-1", TenantID: "tenant-1"})
	require.NoError(t, err)
	parts := strings.Split(good, ".")
	kid := KeyID(testKey(1))
	hs256 := map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}

	tamperedPayload := func() string {
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, err)
		raw = bytes.Replace(raw, []byte(`"tenant-1"`), []byte(`"tenant-2"`), 1)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2]
	}
	tamperedSignature := func() string {
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		require.NoError(t, err)
		sig[0] ^= 1
		return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	without := func(claim string) map[string]any {
		p := validPayload(now)
		delete(p, claim)
		return p
	}
	with := func(claim string, v any) map[string]any {
		p := validPayload(now)
		p[claim] = v
		return p
	}

	for name, tok := range map[string]string{
		"empty":              "",
		"garbage":            "not a token",
		"two parts":          parts[0] + "." + parts[1],
		"tampered payload":   tamperedPayload(),
		"tampered signature": tamperedSignature(),
		"no signature":       parts[0] + "." + parts[1] + ".",
		"alg none":           craft(t, map[string]any{"alg": "none", "typ": "JWT", "kid": kid}, validPayload(now), nil, nil),
		"alg None":           craft(t, map[string]any{"alg": "None", "typ": "JWT", "kid": kid}, validPayload(now), nil, nil),
		"alg RS256":          craft(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}, validPayload(now), sha256.New, testKey(1)),
		"alg HS512":          craft(t, map[string]any{"alg": "HS512", "typ": "JWT", "kid": kid}, validPayload(now), sha512.New, testKey(1)),
		"unknown kid":        craft(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": "0011223344556677"}, validPayload(now), sha256.New, testKey(1)),
		"no kid":             craft(t, map[string]any{"alg": "HS256", "typ": "JWT"}, validPayload(now), sha256.New, testKey(1)),
		"numeric kid":        craft(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": 1}, validPayload(now), sha256.New, testKey(1)),
		"wrong key":          craft(t, hs256, validPayload(now), sha256.New, testKey(2)),
		"wrong issuer":       craft(t, hs256, with("iss", "someone"), sha256.New, testKey(1)),
		"no issuer":          craft(t, hs256, without("iss"), sha256.New, testKey(1)),
		"no exp":             craft(t, hs256, without("exp"), sha256.New, testKey(1)),
		"no iat":             craft(t, hs256, without("iat"), sha256.New, testKey(1)),
		"iat in the future":  craft(t, hs256, with("iat", now.Add(time.Hour).Unix()), sha256.New, testKey(1)),
		"no sub":             craft(t, hs256, without("sub"), sha256.New, testKey(1)),
		"no tid":             craft(t, hs256, without("tid"), sha256.New, testKey(1)),
		"tid not a string":   craft(t, hs256, with("tid", 7), sha256.New, testKey(1)),
		"padded":             parts[0] + "=." + parts[1] + "." + parts[2],
		"too long":           craft(t, hs256, with("pad", strings.Repeat("x", MaxTokenLength)), sha256.New, testKey(1)),
	} {
		_, err := b.signer.Verify(tok)
		require.ErrorIs(t, err, ErrInvalidToken, name)
		require.NotErrorIs(t, err, ErrTokenExpired, name)
	}

	// The crafting helper itself makes tokens the Signer accepts, so the refusals above are for the
	// reason each names.
	_, err = b.signer.Verify(craft(t, hs256, validPayload(now), sha256.New, testKey(1)))
	require.NoError(t, err)
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	old := setupSigner(t, testKey(1))
	oldTok, _, err := old.signer.Issue(Claims{Subject: "u", TenantID: "t"})
	require.NoError(t, err)

	rotated := setupSigner(t, testKey(2), testKey(1))
	c, err := rotated.signer.Verify(oldTok)
	require.NoError(t, err, "a token signed with the previous key still verifies")
	require.Equal(t, "u", c.Subject)

	newTok, _, err := rotated.signer.Issue(Claims{Subject: "u", TenantID: "t"})
	require.NoError(t, err)
	require.Equal(t, KeyID(testKey(2)), rotated.signer.KeyID())
	_, err = old.signer.Verify(newTok)
	require.ErrorIs(t, err, ErrInvalidToken, "the old signer does not know the new key")

	dropped := setupSigner(t, testKey(2))
	_, err = dropped.signer.Verify(oldTok)
	require.ErrorIs(t, err, ErrInvalidToken, "once the previous key is dropped its tokens fail")
	_, err = dropped.signer.Verify(newTok)
	require.NoError(t, err)

	// A previous key equal to the current one is harmless.
	same := setupSigner(t, testKey(2), testKey(2))
	_, err = same.signer.Verify(newTok)
	require.NoError(t, err)
}

func TestVerifyConcurrent(t *testing.T) {
	t.Parallel()
	b := setupSigner(t, testKey(1))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				tok, _, err := b.signer.Issue(Claims{Subject: "u", TenantID: "t"})
				if err == nil {
					_, err = b.signer.Verify(tok)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
