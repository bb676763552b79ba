package core

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what older senders (GitHub's X-Hub-Signature) sign with; HMAC does not rely on SHA-1's collision resistance
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
)

// Webhook authentication types.
const (
	// AuthHeader requires a header that carries a shared secret, such as X-Webhook-Token: <secret>.
	AuthHeader = "header"
	// AuthHMAC requires a header that carries an HMAC of the raw body, such as GitHub's
	// X-Hub-Signature-256: sha256=<hex>.
	AuthHMAC = "hmac"
)

// HMAC algorithms and signature encodings.
const (
	HMACSHA1     = "sha1"
	HMACSHA256   = "sha256"
	HMACSHA512   = "sha512"
	EncodingHex  = "hex"
	EncodingB64  = "base64"
	maxSigHeader = 1024
)

// WebhookAuth is a webhook trigger's authentication: a request that does not pass it is refused with
// 401 before anything is created. Secrets are stored in the workflow (the schema marks them writeOnly)
// until the credential vault of a later release.
type WebhookAuth struct {
	// Type is AuthHeader or AuthHMAC.
	Type string `json:"type"`
	// Name is the header that carries the shared secret (type header).
	Name string `json:"name,omitempty"`
	// Value is the shared secret (type header).
	Value string `json:"value,omitempty"`
	// Header is the header that carries the signature (type hmac).
	Header string `json:"header,omitempty"`
	// Secret is the HMAC key (type hmac).
	Secret string `json:"secret,omitempty"`
	// Algorithm is sha256 (default), sha1 or sha512 (type hmac).
	Algorithm string `json:"algorithm,omitempty"`
	// Prefix is text the signature starts with, such as "sha256=" (type hmac; default none).
	Prefix string `json:"prefix,omitempty"`
	// Encoding is how the signature is written: hex (default) or base64 (type hmac).
	Encoding string `json:"encoding,omitempty"`
}

// ErrWebhookUnauthorized is returned for a request that fails its trigger's authentication. The
// reason (missing header, wrong signature…) is in the wrapping AuthError, for the server's log only:
// the caller is told nothing that helps guessing.
var ErrWebhookUnauthorized = errors.New("webhook authentication failed")

// AuthError is a request refused by a trigger's authentication; Reason is for the server's log.
type AuthError struct {
	Reason string
}

func (e *AuthError) Error() string { return "webhook authentication failed: " + e.Reason }

// Is makes errors.Is(err, ErrWebhookUnauthorized) true.
func (e *AuthError) Is(target error) bool { return target == ErrWebhookUnauthorized }

// Authenticate checks a request's header and raw body against the trigger's authentication; a
// trigger without one lets every request through. Comparisons take constant time.
func (w *Webhook) Authenticate(header http.Header, body []byte) error {
	if w == nil || w.Auth == nil {
		return nil
	}
	return w.Auth.Verify(header, body)
}

// Verify checks header and body against a. The shared secret is compared through SHA-256 digests of
// both sides, so that neither its content nor its length shows in the time taken; a signature is
// compared with hmac.Equal after decoding.
func (a *WebhookAuth) Verify(header http.Header, body []byte) error {
	switch a.Type {
	case AuthHeader:
		got, err := single(header, a.Name)
		if err != nil {
			return err
		}
		gd, wd := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(a.Value))
		if subtle.ConstantTimeCompare(gd[:], wd[:]) != 1 {
			return &AuthError{Reason: "the " + a.Name + " header does not match"}
		}
		return nil
	case AuthHMAC:
		got, err := single(header, a.Header)
		if err != nil {
			return err
		}
		if len(got) > maxSigHeader {
			return &AuthError{Reason: fmt.Sprintf("the %s header is over %d bytes", a.Header, maxSigHeader)}
		}
		sig, ok := strings.CutPrefix(got, a.Prefix)
		if !ok {
			return &AuthError{Reason: fmt.Sprintf("the %s header does not start with %q", a.Header, a.Prefix)}
		}
		decoded, err := a.decode(sig)
		if err != nil {
			return &AuthError{Reason: fmt.Sprintf("the %s header is not %s", a.Header, a.encoding())}
		}
		mac := hmac.New(a.hash(), []byte(a.Secret))
		mac.Write(body)
		if !hmac.Equal(decoded, mac.Sum(nil)) {
			return &AuthError{Reason: "the " + a.Header + " signature does not match the body"}
		}
		return nil
	}
	// Validate refuses any other type when the workflow is saved; refuse rather than let through.
	return &AuthError{Reason: fmt.Sprintf("unknown authentication type %q", a.Type)}
}

// single returns the one value of header name: a missing header, an empty one or several are refused.
func single(header http.Header, name string) (string, error) {
	vs := header.Values(name)
	switch {
	case len(vs) == 0 || len(vs) == 1 && vs[0] == "":
		return "", &AuthError{Reason: "the " + name + " header is missing"}
	case len(vs) > 1:
		return "", &AuthError{Reason: fmt.Sprintf("the %s header is sent %d times", name, len(vs))}
	}
	return vs[0], nil
}

func (a *WebhookAuth) hash() func() hash.Hash {
	switch a.Algorithm {
	case HMACSHA1:
		return sha1.New
	case HMACSHA512:
		return sha512.New
	}
	return sha256.New
}

func (a *WebhookAuth) encoding() string {
	if a.Encoding == "" {
		return EncodingHex
	}
	return a.Encoding
}

// decode reads a signature in the configured encoding: hex in either case, or standard base64 with
// or without its padding.
func (a *WebhookAuth) decode(sig string) ([]byte, error) {
	if a.encoding() == EncodingB64 {
		return base64.RawStdEncoding.DecodeString(strings.TrimRight(sig, "="))
	}
	return hex.DecodeString(sig)
}

// Validate checks what the schema cannot: the authentication settings hold no {{ expression }},
// since they are checked before any run exists to evaluate one. The error names auth (not the field
// inside it), since an error at a field holding a template would be taken for one about a value only
// known at run time.
func (w *Webhook) Validate() error {
	if w.Auth == nil {
		return nil
	}
	for _, f := range []struct{ name, value string }{
		{"name", w.Auth.Name}, {"value", w.Auth.Value}, {"header", w.Auth.Header}, {"secret", w.Auth.Secret}, {"prefix", w.Auth.Prefix},
	} {
		if strings.Contains(f.value, "{{") {
			return fmt.Errorf("auth: %s cannot hold {{ expressions }}: authentication is checked before the run starts, so write the value itself", f.name)
		}
	}
	return nil
}

// webhookSchema is trigger.webhook's configuration schema. The secrets (auth.value, auth.secret) are
// writeOnly: stored in the workflow for now, they are meant to be entered, not shown back.
const webhookSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "path": {"type": "string", "title": "Path",
      "description": "The URL path after /hooks/, e.g. orders/new (slashes around it are ignored). Paths are unique across the server. It may be left empty while the workflow is a draft (the editor fills in a random, unguessable one); a workflow whose webhook has no path cannot be activated.",
      "maxLength": 200, "pattern": "^(/?[A-Za-z0-9_-][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*/?)?$", "examples": ["orders/new", "h/3q9v7k2m8x4w1z6c"]},
    "method": {"type": "string", "title": "Method", "description": "The HTTP method the trigger listens to", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"], "default": "POST"},
    "respond": {"type": "string", "title": "Respond", "description": "onCompletion answers with the run's output (202 with the execution id when it outlasts CM_WEBHOOK_TIMEOUT); immediately answers 202 with the execution id at once", "enum": ["onCompletion", "immediately"], "default": "onCompletion"},
    "redactHeaders": {"type": "array", "title": "Redact headers", "description": "Request headers whose values are stored as [redacted], on top of those always redacted: any header whose name contains auth, cookie, token, secret, passw, api-key, apikey, session or credential (Authorization, Cookie, X-Api-Key…), and the header of a shared-secret check", "maxItems": 50, "uniqueItems": true,
      "items": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[A-Za-z0-9!#$%&'*+.^_|~-]+$"}},
    "auth": {
      "type": "object", "title": "Authentication",
      "description": "What a request must carry to start the workflow; without it anyone who knows the path can. A request that fails the check answers 401 before anything is created. The secrets are stored in the workflow (write-only: enter them, they are not meant to be shown back) until the credential vault of a later release.",
      "additionalProperties": false,
      "required": ["type"],
      "properties": {
        "type": {"type": "string", "title": "Type", "enum": ["header", "hmac"],
          "description": "header: a header carries a shared secret. hmac: a header carries an HMAC of the raw body (GitHub, Shopify, Slack-style senders)."},
        "name": {"type": "string", "title": "Header name", "description": "type header: the header that carries the secret; its value is always stored as [redacted]",
          "minLength": 1, "maxLength": 100, "pattern": "^[A-Za-z0-9!#$%&'*+.^_|~-]+$", "examples": ["X-Webhook-Token"]},
        "value": {"type": "string", "title": "Secret value", "description": "type header: the secret the header must carry, exactly; at least 16 characters (e.g. openssl rand -hex 32)",
          "minLength": 16, "maxLength": 1024, "writeOnly": true},
        "header": {"type": "string", "title": "Signature header", "description": "type hmac: the header that carries the signature",
          "minLength": 1, "maxLength": 100, "pattern": "^[A-Za-z0-9!#$%&'*+.^_|~-]+$", "examples": ["X-Hub-Signature-256", "X-Signature-256"]},
        "secret": {"type": "string", "title": "Signing secret", "description": "type hmac: the key the sender signs the body with; at least 16 characters",
          "minLength": 16, "maxLength": 1024, "writeOnly": true},
        "algorithm": {"type": "string", "title": "Algorithm", "description": "type hmac: the hash of the HMAC (sha1 only for senders that offer nothing better)",
          "enum": ["sha256", "sha1", "sha512"], "default": "sha256"},
        "prefix": {"type": "string", "title": "Signature prefix", "description": "type hmac: text the header's value starts with before the signature, such as sha256= for GitHub",
          "maxLength": 50, "examples": ["sha256="]},
        "encoding": {"type": "string", "title": "Signature encoding", "description": "type hmac: hex (either case) or base64 (standard alphabet, padding optional)",
          "enum": ["hex", "base64"], "default": "hex"}
      },
      "allOf": [
        {"if": {"properties": {"type": {"const": "header"}}, "required": ["type"]},
         "then": {"required": ["name", "value"], "properties": {"header": false, "secret": false, "algorithm": false, "prefix": false, "encoding": false}}},
        {"if": {"properties": {"type": {"const": "hmac"}}, "required": ["type"]},
         "then": {"required": ["header", "secret"], "properties": {"name": false, "value": false}}}
      ],
      "examples": [
        {"type": "header", "name": "X-Webhook-Token", "value": "a-long-random-shared-secret"},
        {"type": "hmac", "header": "X-Hub-Signature-256", "secret": "a-long-random-signing-secret", "algorithm": "sha256", "prefix": "sha256=", "encoding": "hex"}
      ]
    }
  }
}`
