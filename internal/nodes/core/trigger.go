package core

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/concertmaster/concertmaster/internal/node"
)

// Manual starts an execution by hand or from the API; its output is the run's input.
type Manual struct{}

// NodeInfo describes trigger.manual.
func (*Manual) NodeInfo() node.Info {
	return node.Info{
		Type: "trigger.manual", Pure: true, Title: "Manual trigger", Category: "Triggers", Icon: "play",
		Description: "Starts the workflow by hand or through the API. Its output is the input given to the run.",
		Docs:        docsManual,
		Outputs:     portOut,
		Schema:      json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{}}`),
		New:         func() node.Node { return &Manual{} },
	}
}

// Execute passes the trigger data through.
func (*Manual) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	return node.Out(in.Data), nil
}

// Webhook respond modes.
const (
	RespondOnCompletion = "onCompletion"
	RespondImmediately  = "immediately"
)

// WebhookPathPattern is the pattern a webhook path matches: URL-safe segments separated by "/".
var WebhookPathPattern = regexp.MustCompile(`^/?[A-Za-z0-9_-][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*/?$`)

// Webhook starts an execution when a request reaches /hooks/{path}.
type Webhook struct {
	// Path is the URL path after /hooks/. It may be empty while the workflow is a draft (the editor
	// fills a random one); activation refuses an empty path.
	Path    string `json:"path,omitempty"`
	Method  string `json:"method,omitempty"`
	Respond string `json:"respond,omitempty"`
	// Auth, when set, is the check a request must pass before anything is created (webhook_auth.go).
	Auth *WebhookAuth `json:"auth,omitempty"`
	// RedactHeaders names request headers whose values are replaced by "[redacted]" before the request
	// is stored, on top of the sensitive ones every webhook redacts (see SensitiveHeader).
	RedactHeaders []string `json:"redactHeaders,omitempty"`
}

// Redacted replaces the value of a sensitive header in a webhook's output.
const Redacted = "[redacted]"

// SensitiveHeader reports whether a request header, by its name, carries credentials that a webhook
// never stores: a name that contains auth, cookie, token, secret, passw, api-key, apikey, session or
// credential, in any case. Signature headers (X-Hub-Signature-256, Stripe-Signature) are kept: they are
// derived from a secret but do not reveal it, and workflows may need them.
func SensitiveHeader(name string) bool {
	name = strings.ToLower(name)
	// Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key, X-Auth-Token, X-Csrf-Token,
	// X-Gitlab-Token, X-Amz-Security-Token, X-Session-Id, X-Client-Secret…
	for _, part := range [...]string{"auth", "cookie", "token", "secret", "passw", "api-key", "apikey", "session", "credential"} {
		if strings.Contains(name, part) {
			return true
		}
	}
	return false
}

// Redact returns headers (lower-case names, as a webhook's output carries them) with the value
// of every sensitive header, and of every header named in w.RedactHeaders, replaced by Redacted. The
// names stay, so that a workflow can still tell that a header was sent. headers is not modified.
func (w *Webhook) Redact(headers map[string]any) map[string]any {
	out := make(map[string]any, len(headers))
	for name, v := range headers {
		if SensitiveHeader(name) || w.redactsExtra(name) {
			v = Redacted
		}
		out[name] = v
	}
	return out
}

func (w *Webhook) redactsExtra(name string) bool {
	if w == nil {
		return false
	}
	if w.Auth != nil && w.Auth.Type == AuthHeader && strings.EqualFold(w.Auth.Name, name) {
		// The shared secret itself.
		return true
	}
	for _, extra := range w.RedactHeaders {
		if strings.EqualFold(extra, name) {
			return true
		}
	}
	return false
}

// NodeInfo describes trigger.webhook.
func (*Webhook) NodeInfo() node.Info {
	return node.Info{
		Type: "trigger.webhook", Pure: true, Title: "Webhook", Category: "Triggers", Icon: "webhook",
		Output: json.RawMessage(`{"type":"object","properties":{"method":{"type":"string"},"path":{"type":"string"},"headers":{"type":"object"},"query":{"type":"object"},"body":{}}}`),
		Description: "Starts the workflow when an HTTP request reaches /hooks/{path} while the workflow is active. " +
			"Its output is the request (method, path, headers, query and body), with the headers that carry credentials stored as [redacted].",
		Docs:    docsWebhook,
		Outputs: portOut,
		Schema:  json.RawMessage(webhookSchema),
		New:     func() node.Node { return &Webhook{} },
	}
}

// HTTPMethod returns the configured method, POST by default.
func (w *Webhook) HTTPMethod() string {
	if w.Method == "" {
		return "POST"
	}
	return strings.ToUpper(w.Method)
}

// RespondMode returns the configured respond mode, onCompletion by default.
func (w *Webhook) RespondMode() string {
	if w.Respond == "" {
		return RespondOnCompletion
	}
	return w.Respond
}

// Execute passes the request through.
func (*Webhook) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	return node.Out(in.Data), nil
}

var (
	_ node.Validator = (*Webhook)(nil)
	_ node.Node      = (*Manual)(nil)
	_ node.Node      = (*Webhook)(nil)
)
