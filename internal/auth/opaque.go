package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// OpaqueKind tells what an opaque secret is for; it is the secret's prefix without "cm_" and "_".
type OpaqueKind string

const (
	// KindRefresh is a refresh token: cm_rt_….
	KindRefresh OpaqueKind = "rt"
	// KindAPIKey is an API key: cm_ak_….
	KindAPIKey OpaqueKind = "ak"
)

// opaqueRandomBytes is the entropy of an opaque secret.
const opaqueRandomBytes = 32

// OpaqueLength is the length of every opaque secret: "cm_xx_" and the 43 base64url characters of 32
// bytes.
const OpaqueLength = len("cm_xx_") + (opaqueRandomBytes*8+5)/6

// Prefix returns the prefix of the kind's secrets, e.g. "cm_rt_".
func (k OpaqueKind) Prefix() string { return "cm_" + string(k) + "_" }

func (k OpaqueKind) valid() bool { return k == KindRefresh || k == KindAPIKey }

// NewOpaque returns a new opaque secret of the kind (prefix and base64url of 32 random bytes), to be
// shown once, and its SHA-256 in hex, to be stored and looked up by.
func NewOpaque(kind OpaqueKind) (plain, hash string, err error) {
	if !kind.valid() {
		return "", "", fmt.Errorf("unknown opaque secret kind %q", kind)
	}
	var b [opaqueRandomBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("reading random bytes: %w", err)
	}
	plain = kind.Prefix() + base64.RawURLEncoding.EncodeToString(b[:])
	return plain, hashHex(plain), nil
}

// HashOpaque checks that plain has the exact form NewOpaque makes (known prefix, exact length,
// canonical base64url of 32 bytes) and returns its SHA-256 in hex and its kind. ok is false for
// anything else, without hashing it.
func HashOpaque(plain string) (hash string, kind OpaqueKind, ok bool) {
	if len(plain) != OpaqueLength {
		return "", "", false
	}
	switch {
	case strings.HasPrefix(plain, KindRefresh.Prefix()):
		kind = KindRefresh
	case strings.HasPrefix(plain, KindAPIKey.Prefix()):
		kind = KindAPIKey
	default:
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(plain[len(kind.Prefix()):])
	if err != nil || len(raw) != opaqueRandomBytes {
		return "", "", false
	}
	return hashHex(plain), kind, true
}

// EqualHash compares two hashes from HashOpaque in constant time.
func EqualHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
