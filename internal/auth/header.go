package auth

import (
	"errors"
	"fmt"
	"strings"
)

// MaxAuthorizationLength bounds the Authorization header in bytes; longer ones are refused unread.
const MaxAuthorizationLength = 8 * 1024

// Credential tells what a bearer credential is.
type Credential string

const (
	// CredentialAccessToken is a JWT access token (three dot-separated base64url parts).
	CredentialAccessToken Credential = "access_token"
	// CredentialAPIKey is an API key (cm_ak_…).
	CredentialAPIKey Credential = "api_key"
)

// ErrMalformedAuthorization is matched (errors.Is) by every refusal of ParseAuthorization.
var ErrMalformedAuthorization = errors.New("malformed Authorization header")

// ParseAuthorization parses an Authorization header of the form "Bearer <credential>": the scheme is
// case-insensitive, exactly one space separates it from the credential, and the credential has the
// RFC 6750 token syntax (letters, digits and -._~+/ then optional =), so no space or control character
// anywhere. It tells an access token from an API key by the cm_ak_ prefix; a refresh token (cm_rt_) or
// anything else is refused. It checks the shape only: verifying is the Signer's or the key store's job.
func ParseAuthorization(header string) (kind Credential, credential string, err error) {
	if len(header) > MaxAuthorizationLength {
		return "", "", fmt.Errorf("%w: longer than %d bytes", ErrMalformedAuthorization, MaxAuthorizationLength)
	}
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok {
		return "", "", fmt.Errorf("%w: want \"Bearer <token>\"", ErrMalformedAuthorization)
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return "", "", fmt.Errorf("%w: only the Bearer scheme is supported", ErrMalformedAuthorization)
	}
	if !isToken68(cred) {
		return "", "", fmt.Errorf("%w: the credential has invalid characters or spacing", ErrMalformedAuthorization)
	}
	switch {
	case strings.HasPrefix(cred, KindAPIKey.Prefix()):
		return CredentialAPIKey, cred, nil
	case strings.HasPrefix(cred, KindRefresh.Prefix()):
		return "", "", fmt.Errorf("%w: a refresh token is not a bearer credential", ErrMalformedAuthorization)
	case strings.Count(cred, ".") == 2:
		return CredentialAccessToken, cred, nil
	}
	return "", "", fmt.Errorf("%w: the credential is neither an access token nor an API key", ErrMalformedAuthorization)
}

// isToken68 reports whether s is an RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
// "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0 {
			i++
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
