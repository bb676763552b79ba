package core_test

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the tests sign as a sender using HMAC-SHA1 does
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/nodes/core"
	"github.com/concertmaster/concertmaster/internal/workflow"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

const (
	testToken  = "token-0123456789abcdef"
	testSecret = "secret-0123456789abcdef"
)

func sign(h func() hash.Hash, secret, body string) []byte {
	m := hmac.New(h, []byte(secret))
	m.Write([]byte(body))
	return m.Sum(nil)
}

func TestWebhookAuthenticate(t *testing.T) {
	t.Parallel()

	body := `{"order":42}`
	sig256 := sign(sha256.New, testSecret, body)
	headerAuth := &core.WebhookAuth{Type: core.AuthHeader, Name: "X-Webhook-Token", Value: testToken}
	github := &core.WebhookAuth{Type: core.AuthHMAC, Header: "X-Hub-Signature-256", Secret: testSecret, Prefix: "sha256="}
	b64 := &core.WebhookAuth{Type: core.AuthHMAC, Header: "X-Signature", Secret: testSecret, Encoding: core.EncodingB64}
	sha1Auth := &core.WebhookAuth{Type: core.AuthHMAC, Header: "X-Hub-Signature", Secret: testSecret, Algorithm: core.HMACSHA1, Prefix: "sha1="}
	sha512Auth := &core.WebhookAuth{Type: core.AuthHMAC, Header: "X-Signature-512", Secret: testSecret, Algorithm: core.HMACSHA512}

	tests := []struct {
		name    string
		auth    *core.WebhookAuth
		headers [][2]string
		body    string
		reason  string // empty: accepted
	}{
		{name: "NoAuth", headers: nil, body: body},
		{name: "HeaderRight", auth: headerAuth, headers: [][2]string{{"X-Webhook-Token", testToken}}, body: body},
		{name: "HeaderNameAnyCase", auth: headerAuth, headers: [][2]string{{"x-webhook-token", testToken}}, body: body},
		{name: "HeaderWrong", auth: headerAuth, headers: [][2]string{{"X-Webhook-Token", testToken + "x"}}, body: body, reason: "does not match"},
		{name: "HeaderPrefixOfSecret", auth: headerAuth, headers: [][2]string{{"X-Webhook-Token", testToken[:10]}}, body: body, reason: "does not match"},
		{name: "HeaderCase", auth: headerAuth, headers: [][2]string{{"X-Webhook-Token", strings.ToUpper(testToken)}}, body: body, reason: "does not match"},
		{name: "HeaderMissing", auth: headerAuth, body: body, reason: "missing"},
		{name: "HeaderEmpty", auth: headerAuth, headers: [][2]string{{"X-Webhook-Token", ""}}, body: body, reason: "missing"},
		{name: "HeaderTwice", auth: headerAuth, headers: [][2]string{{"X-Webhook-Token", testToken}, {"X-Webhook-Token", testToken}}, body: body, reason: "2 times"},
		{name: "HeaderHuge", auth: headerAuth, headers: [][2]string{{"X-Webhook-Token", strings.Repeat("a", 60_000)}}, body: body, reason: "does not match"},
		{name: "HeaderInAnotherHeader", auth: headerAuth, headers: [][2]string{{"Authorization", testToken}}, body: body, reason: "missing"},

		{name: "HMACRight", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(sig256)}}, body: body},
		{name: "HMACUpperHex", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha256=" + strings.ToUpper(hex.EncodeToString(sig256))}}, body: body},
		{name: "HMACEmptyBody", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(sign(sha256.New, testSecret, ""))}}, body: ""},
		{name: "HMACEmptyBodyWrong", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(sig256)}}, body: "", reason: "does not match"},
		{name: "HMACOtherBody", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(sig256)}}, body: body + " ", reason: "does not match"},
		{name: "HMACWrongSecret", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(sign(sha256.New, "another-secret-0123", body))}}, body: body, reason: "does not match"},
		{name: "HMACMissing", auth: github, body: body, reason: "missing"},
		{name: "HMACNoPrefix", auth: github, headers: [][2]string{{"X-Hub-Signature-256", hex.EncodeToString(sig256)}}, body: body, reason: "does not start with"},
		{name: "HMACWrongPrefix", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha1=" + hex.EncodeToString(sig256)}}, body: body, reason: "does not start with"},
		{name: "HMACBase64WhenHex", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha256=" + base64.StdEncoding.EncodeToString(sig256)}}, body: body, reason: "not hex"},
		{name: "HMACTruncated", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(sig256[:16])}}, body: body, reason: "does not match"},
		{name: "HMACPrefixOnly", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha256="}}, body: body, reason: "does not match"},
		{name: "HMACHuge", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha256=" + strings.Repeat("ab", 30_000)}}, body: body, reason: "over 1024 bytes"},
		{name: "HMACTwice", auth: github, headers: [][2]string{{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(sig256)}, {"X-Hub-Signature-256", "sha256=00"}}, body: body, reason: "2 times"},
		{name: "Base64Right", auth: b64, headers: [][2]string{{"X-Signature", base64.StdEncoding.EncodeToString(sig256)}}, body: body},
		{name: "Base64Unpadded", auth: b64, headers: [][2]string{{"X-Signature", base64.RawStdEncoding.EncodeToString(sig256)}}, body: body},
		{name: "Base64HexWhenBase64", auth: b64, headers: [][2]string{{"X-Signature", hex.EncodeToString(sig256)}}, body: body, reason: "does not match"},
		{name: "Base64Garbage", auth: b64, headers: [][2]string{{"X-Signature", "!!not base64!!"}}, body: body, reason: "not base64"},
		{name: "SHA1Right", auth: sha1Auth, headers: [][2]string{{"X-Hub-Signature", "sha1=" + hex.EncodeToString(sign(sha1.New, testSecret, body))}}, body: body},
		{name: "SHA1WithSHA256Signature", auth: sha1Auth, headers: [][2]string{{"X-Hub-Signature", "sha1=" + hex.EncodeToString(sig256)}}, body: body, reason: "does not match"},
		{name: "SHA512Right", auth: sha512Auth, headers: [][2]string{{"X-Signature-512", hex.EncodeToString(sign(sha512.New, testSecret, body))}}, body: body},
		{name: "UnknownType", auth: &core.WebhookAuth{Type: "basic"}, body: body, reason: "unknown authentication type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			h := http.Header{}
			for _, kv := range tt.headers {
				h.Add(kv[0], kv[1])
			}
			wh := &core.Webhook{Path: "x", Auth: tt.auth}
			err := wh.Authenticate(h, []byte(tt.body))
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, core.ErrWebhookUnauthorized)
			var ae *core.AuthError
			require.ErrorAs(t, err, &ae)
			require.Contains(t, ae.Reason, tt.reason)
			require.NotContains(t, err.Error(), testToken, "the reason never quotes the secret")
			require.NotContains(t, err.Error(), testSecret, "the reason never quotes the secret")
		})
	}

	var none *core.Webhook
	require.NoError(t, none.Authenticate(nil, nil), "a route whose trigger has no configuration has no authentication")
}

func TestWebhookAuthRedactsTheSharedSecretHeader(t *testing.T) {
	t.Parallel()
	wh := &core.Webhook{Path: "x", Auth: &core.WebhookAuth{Type: core.AuthHeader, Name: "X-Shared", Value: testToken}}
	got := wh.Redact(map[string]any{"x-shared": testToken, "x-hub-signature-256": "sha256=ab"})
	require.Equal(t, map[string]any{"x-shared": core.Redacted, "x-hub-signature-256": "sha256=ab"}, got)
}

// TestWebhookAuthConfig checks that each bad authentication setting is reported at its own field.
func TestWebhookAuthConfig(t *testing.T) {
	t.Parallel()

	const long = "0123456789abcdef"
	tests := []struct {
		name     string
		auth     map[string]any
		location string
		message  string
	}{
		{name: "HeaderOK", auth: map[string]any{"type": "header", "name": "X-Webhook-Token", "value": long}},
		{name: "HMACOK", auth: map[string]any{"type": "hmac", "header": "X-Signature-256", "secret": long, "algorithm": "sha512", "prefix": "v1=", "encoding": "base64"}},
		{name: "NoType", auth: map[string]any{}, location: "/auth/type", message: "type is required"},
		{name: "UnknownType", auth: map[string]any{"type": "basic"}, location: "/auth/type", message: "one of 'header', 'hmac'"},
		{name: "HeaderWithoutValue", auth: map[string]any{"type": "header", "name": "X-T"}, location: "/auth/value", message: "value is required"},
		{name: "HeaderWithoutName", auth: map[string]any{"type": "header", "value": long}, location: "/auth/name", message: "name is required"},
		{name: "HeaderShortValue", auth: map[string]any{"type": "header", "name": "X-T", "value": "short"}, location: "/auth/value", message: "minLength"},
		{name: "HeaderBadName", auth: map[string]any{"type": "header", "name": "X Token", "value": long}, location: "/auth/name", message: "pattern"},
		{name: "HeaderWithSecret", auth: map[string]any{"type": "header", "name": "X-T", "value": long, "secret": long}, location: "/auth/secret", message: "secret is not used with the other settings here"},
		{name: "HMACWithoutSecret", auth: map[string]any{"type": "hmac", "header": "X-S"}, location: "/auth/secret", message: "secret is required"},
		{name: "HMACWithValue", auth: map[string]any{"type": "hmac", "header": "X-S", "secret": long, "value": long}, location: "/auth/value", message: "value is not used"},
		{name: "HMACBadAlgorithm", auth: map[string]any{"type": "hmac", "header": "X-S", "secret": long, "algorithm": "md5"}, location: "/auth/algorithm", message: "one of"},
		{name: "HMACBadEncoding", auth: map[string]any{"type": "hmac", "header": "X-S", "secret": long, "encoding": "base32"}, location: "/auth/encoding", message: "one of"},
		{name: "UnknownField", auth: map[string]any{"type": "hmac", "header": "X-S", "secret": long, "tolerance": 300.0}, location: "/auth/tolerance", message: "unknown property"},
		{name: "SecretExpression", auth: map[string]any{"type": "hmac", "header": "X-S", "secret": "{{ vars.secret }}" + long}, location: "/auth", message: "secret cannot hold {{ expressions }}"},
		{name: "ValueExpression", auth: map[string]any{"type": "header", "name": "X-T", "value": "{{ vars.token }}" + long}, location: "/auth", message: "value cannot hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			def := &workflow.Definition{Name: "auth", Nodes: []workflow.Node{{ID: "hook", Type: "trigger.webhook",
				Config: map[string]any{"path": "x", "auth": tt.auth}}}}
			_, err := validate.Compile(def, registry(t), validate.Options{})
			if tt.location == "" {
				require.NoError(t, err)
				return
			}
			var verrs workflow.ValidationErrors
			require.ErrorAs(t, err, &verrs)
			require.Len(t, verrs, 1, "%v", verrs)
			require.Equal(t, "/nodes/0/config"+tt.location, verrs[0].Pointer)
			require.Contains(t, verrs[0].Message, tt.message)
		})
	}
}

// TestWebhookSchemaMarksSecretsWriteOnly checks that the secrets are marked for the editor and the
// API's readers.
func TestWebhookSchemaMarksSecretsWriteOnly(t *testing.T) {
	t.Parallel()
	nt, ok := registry(t).Lookup("trigger.webhook")
	require.True(t, ok)
	var schema struct {
		Required   []string `json:"required"`
		Properties struct {
			Auth struct {
				Properties map[string]struct {
					WriteOnly bool `json:"writeOnly"`
					Title     string
				} `json:"properties"`
			} `json:"auth"`
		} `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(nt.Info.Schema, &schema))
	require.NotContains(t, schema.Required, "path", "a draft may leave the path empty")
	props := schema.Properties.Auth.Properties
	require.True(t, props["value"].WriteOnly)
	require.True(t, props["secret"].WriteOnly)
	for name, p := range props {
		require.NotEmpty(t, p.Title, name)
		if name != "value" && name != "secret" {
			require.False(t, p.WriteOnly, name)
		}
	}
}
