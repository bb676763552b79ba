// Package ainode implements ai.chat, which asks a chat model for a completion over the OpenAI chat
// completions protocol (OpenAI and every service or local server that speaks it), through the
// deployment's outbound guard.
package ainode

import (
	"bytes"
	"context"
	_ "embed" // docs, in chat.md
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// TypeName is the node type's name.
const TypeName node.TypeName = "ai.chat"

//go:embed chat.md
var docs string

// Codes of the *node.Error values Execute returns, beyond conn's ssrf_blocked.
const (
	// CodeAPIStatus is an error answer from the API; Details hold status, and the API's error type,
	// code and message. 408, 429 and 5xx are retryable.
	CodeAPIStatus = "api_status"
	// CodeInvalidJSON is a completion that is not JSON while responseFormat is json.
	CodeInvalidJSON = "invalid_json"
	// CodeInvalidResponse is an answer that is not a chat completion.
	CodeInvalidResponse = "invalid_response"
	// CodeInvalidConfig is a configuration the request cannot be built from.
	CodeInvalidConfig = "invalid_config"
	// CodeOutputTooLarge is a completion larger than the attempt's output limit.
	CodeOutputTooLarge = "output_too_large"
	// CodeRequestFailed is a network failure.
	CodeRequestFailed = "request_failed"
	// CodeResponseTooLarge is an answer over MaxResponseBytes.
	CodeResponseTooLarge = "response_too_large"
	// CodeTimeout is an answer that did not come within the timeout.
	CodeTimeout = "timeout"
)

// Bounds.
const (
	// MaxResponseBytes is the largest API answer the node reads: 8 MiB.
	MaxResponseBytes = 8 << 20
	// maxMessages bounds the messages of one request.
	maxMessages = 1000
	// defaultBaseURL is OpenAI's API.
	defaultBaseURL = "https://api.openai.com/v1"
	// credentialType is the credential the node takes.
	credentialType = "openai"
)

// Response formats.
const (
	formatText = "text"
	formatJSON = "json"
)

type shared struct {
	cfg    conn.Config
	client *http.Client
	schema json.RawMessage
}

func newShared(cfg conn.Config) *shared {
	cfg = cfg.WithDefaults()
	return &shared{
		cfg: cfg,
		client: &http.Client{
			Transport: cfg.Policy.Transport(),
			// An API does not redirect; following one would send the key elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		schema: json.RawMessage(fmt.Sprintf(schemaTemplate, cfg.Timeout.String())),
	}
}

// New returns the ai.chat node type, whose nodes share one HTTP client dialling through cfg's policy.
func New(cfg conn.Config) []node.Node {
	return []node.Node{&Chat{shared: newShared(cfg)}}
}

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Chat is an ai.chat node: its fields are its configuration.
type Chat struct {
	// Credential is the id of an openai credential (API key, base URL, organization).
	Credential string `json:"credential"`
	// Model names the model, such as gpt-4o-mini.
	Model string `json:"model"`
	// Messages is the conversation; Prompt and System are a shortcut for a system and a user message.
	Messages []Message `json:"messages,omitempty"`
	// Prompt is the user message when Messages is empty.
	Prompt string `json:"prompt,omitempty"`
	// System is an optional system message sent before Prompt.
	System string `json:"system,omitempty"`
	// Temperature is the sampling temperature, 0 to 2; nil leaves the API's default.
	Temperature *float64 `json:"temperature,omitempty"`
	// MaxTokens bounds the completion's length in tokens; zero leaves the API's default.
	MaxTokens int `json:"maxTokens,omitempty"`
	// ResponseFormat is text (default) or json (JSON mode; the output holds the parsed value).
	ResponseFormat string `json:"responseFormat,omitempty"`
	// Timeout bounds the request, as a Go duration; empty means the deployment's.
	Timeout string `json:"timeout,omitempty"`

	shared *shared
}

// NodeInfo describes the ai.chat type.
func (c *Chat) NodeInfo() node.Info {
	s := c.shared
	var schema json.RawMessage
	if s != nil {
		schema = s.schema
	}
	return node.Info{
		Type:        TypeName,
		Version:     1,
		Title:       "AI chat",
		Category:    "AI",
		Description: "Asks a chat model (OpenAI or any OpenAI-compatible API) for a completion, as text or as JSON.",
		Icon:        "sparkles",
		Docs:        docs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: messages come from the configuration, through expressions"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Completion", Description: "content, json, model, usage and finishReason"}},
		Schema:      schema,
		New:         func() node.Node { return &Chat{shared: s} },
	}
}

// Validate checks what the schema cannot: there is something to send, and the timeout parses.
func (c *Chat) Validate() error {
	var errs []error
	if len(c.Messages) == 0 && c.Prompt == "" {
		errs = append(errs, errors.New("set messages, or prompt (with an optional system)"))
	}
	if len(c.Messages) > maxMessages {
		errs = append(errs, fmt.Errorf("messages holds %d messages, more than %d", len(c.Messages), maxMessages))
	}
	if len(c.Messages) > 0 && (c.Prompt != "" || c.System != "") {
		errs = append(errs, errors.New("set messages or prompt and system, not both"))
	}
	if _, err := parseTimeout(c.Timeout); err != nil && !strings.Contains(c.Timeout, "{{") {
		errs = append(errs, err)
	}
	switch c.ResponseFormat {
	case "", formatText, formatJSON:
	default:
		errs = append(errs, fmt.Errorf("responseFormat %q is not text or json", c.ResponseFormat))
	}
	return errors.Join(errs...)
}

// apiCredential is the openai credential's data.
type apiCredential struct {
	APIKey       string `json:"apiKey"`
	BaseURL      string `json:"baseUrl"`
	Organization string `json:"organization"`
}

// endpoint returns the URL of path under the credential's base URL.
func (a *apiCredential) endpoint(path string) (*url.URL, error) {
	base := a.BaseURL
	if base == "" {
		base = defaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(base, "/") + path)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return nil, node.Permanent(node.Errorf("invalid_credential", "the credential's baseUrl must be an http or https URL without user info"))
	}
	return u, nil
}

func (s *shared) credential(ctx context.Context, creds node.Credentials, id string) (*apiCredential, error) {
	c, err := node.GetCredential(ctx, creds, id, credentialType)
	if err != nil {
		return nil, err
	}
	var a apiCredential
	if err := c.Decode(&a); err != nil {
		return nil, node.Permanent(node.Errorf("invalid_credential", "%v", err))
	}
	if a.APIKey == "" || strings.ContainsAny(a.APIKey, "\r\n") || strings.ContainsAny(a.Organization, "\r\n") {
		return nil, node.Permanent(node.Errorf("invalid_credential", "credential %s: the API key is empty or has line breaks", c.Name))
	}
	return &a, nil
}

// do sends req with the credential's headers and returns the body of a 2xx answer, or a node error.
func (s *shared) do(req *http.Request, a *apiCredential, target string, timeout time.Duration) ([]byte, error) {
	req.Header.Set("Authorization", "Bearer "+a.APIKey)
	if a.Organization != "" {
		req.Header.Set("OpenAI-Organization", a.Organization)
	}
	req.Header.Set("Accept", "application/json")
	if err := s.cfg.Policy.CheckURL(req.URL); err != nil {
		return nil, conn.ClassifyDial(target, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, transportError(target, timeout, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.ContentLength > MaxResponseBytes {
		return nil, tooLarge(target)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, transportError(target, timeout, err)
	}
	if len(body) > MaxResponseBytes {
		return nil, tooLarge(target)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, statusError(target, resp, body)
	}
	return body, nil
}

// Execute sends the chat completion request and emits the first choice.
func (c *Chat) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	s := c.shared
	if s == nil {
		return node.Output{}, node.Permanent(errors.New("ai.chat node was not made by ainode.New"))
	}
	if err := c.Validate(); err != nil {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "%v", err))
	}
	var creds node.Credentials
	var maxOutput int64
	if in != nil {
		creds, maxOutput = in.Credentials, in.Limits.MaxOutputBytes
	}
	a, err := s.credential(ctx, creds, c.Credential)
	if err != nil {
		return node.Output{}, err
	}
	u, err := a.endpoint("/chat/completions")
	if err != nil {
		return node.Output{}, err
	}
	target := "POST " + (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()

	messages := c.Messages
	if len(messages) == 0 {
		if c.System != "" {
			messages = append(messages, Message{Role: "system", Content: c.System})
		}
		messages = append(messages, Message{Role: "user", Content: c.Prompt})
	}
	payload := map[string]any{"model": c.Model, "messages": messages, "stream": false}
	if c.Temperature != nil {
		payload["temperature"] = *c.Temperature
	}
	if c.MaxTokens > 0 {
		payload["max_tokens"] = c.MaxTokens
	}
	if c.ResponseFormat == formatJSON {
		payload["response_format"] = map[string]any{"type": "json_object"}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "encode the request: %v", err))
	}
	timeout, _ := parseTimeout(c.Timeout)
	if timeout == 0 {
		timeout = s.cfg.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "%s: %v", target, err))
	}
	req.Header.Set("Content-Type", "application/json")
	data, err := s.do(req, a, target, timeout)
	if err != nil {
		return node.Output{}, err
	}
	if maxOutput > 0 && int64(len(data)) > maxOutput {
		return node.Output{}, node.Permanent(node.Errorf(CodeOutputTooLarge,
			"%s: the answer (%d bytes) is larger than the output limit of %d bytes", target, len(data), maxOutput))
	}
	return completionOutput(target, data, c.ResponseFormat == formatJSON)
}

// completion is the part of a chat completion the node reads.
type completion struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"` //nolint:tagliatelle // the protocol's name
	} `json:"choices"`
	Usage map[string]any `json:"usage"`
}

func completionOutput(target string, data []byte, wantJSON bool) (node.Output, error) {
	var cp completion
	if err := json.Unmarshal(data, &cp); err != nil || len(cp.Choices) == 0 {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidResponse, "%s: the answer is not a chat completion with choices", target))
	}
	choice := cp.Choices[0]
	content := ""
	if choice.Message.Content != nil {
		content = *choice.Message.Content
	}
	usage := map[string]any{}
	for _, k := range []string{"prompt_tokens", "completion_tokens", "total_tokens"} {
		if v, ok := cp.Usage[k]; ok {
			usage[camel(k)] = v
		}
	}
	out := map[string]any{"content": content, "model": cp.Model, "usage": usage, "finishReason": choice.FinishReason}
	if choice.Message.Refusal != nil && *choice.Message.Refusal != "" {
		out["refusal"] = *choice.Message.Refusal
	}
	if wantJSON {
		v, ok := parseJSON(content)
		if !ok {
			return node.Output{}, node.Permanent(&node.Error{
				Code:    CodeInvalidJSON,
				Message: fmt.Sprintf("%s: the model answered with text that is not JSON (finish reason %q)", target, choice.FinishReason),
				Details: out,
			})
		}
		out["json"] = v
	}
	return node.Out(out), nil
}

// parseJSON parses a completion as JSON, also when the model wrapped it in a Markdown code fence.
func parseJSON(content string) (any, bool) {
	s := strings.TrimSpace(content)
	if rest, ok := strings.CutPrefix(s, "```"); ok {
		rest = strings.TrimPrefix(rest, "json")
		if body, ok := strings.CutSuffix(strings.TrimSpace(rest), "```"); ok {
			s = strings.TrimSpace(body)
		}
	}
	if s == "" {
		return nil, false
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, false
	}
	return v, true
}

func camel(snake string) string {
	parts := strings.Split(snake, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

// statusError turns an error answer into api_status, with the API's error type, code and message.
func statusError(target string, resp *http.Response, body []byte) error {
	var apiErr struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &apiErr)
	details := map[string]any{"status": resp.StatusCode}
	msg := fmt.Sprintf("%s answered %d %s", target, resp.StatusCode, http.StatusText(resp.StatusCode))
	if m := apiErr.Error.Message; m != "" {
		if len(m) > 500 {
			m = m[:500] + "…"
		}
		msg += ": " + m
		details["message"] = m
	}
	if apiErr.Error.Type != "" {
		details["type"] = apiErr.Error.Type
	}
	if apiErr.Error.Code != nil {
		details["code"] = apiErr.Error.Code
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		details["retryAfter"] = ra
	}
	e := &node.Error{Code: CodeAPIStatus, Message: msg, Details: details}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return e
	}
	return node.Permanent(e)
}

func transportError(target string, timeout time.Duration, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var blocked *netguard.BlockedError
	var netErr net.Error
	switch {
	case errors.As(err, &blocked):
		return conn.ClassifyDial(target, blocked)
	case errors.Is(err, context.DeadlineExceeded):
		return node.Errorf(CodeTimeout, "%s: no complete answer within %s", target, timeout)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", target, err)
	case errors.As(err, &netErr) && netErr.Timeout():
		return node.Errorf(CodeTimeout, "%s: %v", target, err)
	}
	return node.Errorf(CodeRequestFailed, "%s: %v", target, err)
}

func tooLarge(target string) error {
	return node.Permanent(node.Errorf(CodeResponseTooLarge, "%s: the answer is larger than %d bytes", target, MaxResponseBytes))
}

func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("timeout %q is not a positive duration such as 30s or 2m", s)
	}
	return d, nil
}

// Testers returns the tester of openai credentials: it lists the models (GET {baseUrl}/models).
func Testers(cfg conn.Config) map[string]conn.TestFunc {
	s := newShared(cfg)
	return map[string]conn.TestFunc{credentialType: func(ctx context.Context, c *node.Credential) (string, error) {
		var a apiCredential
		if err := c.Decode(&a); err != nil {
			return "", err
		}
		if a.APIKey == "" {
			return "", errors.New("the API key is empty")
		}
		u, err := a.endpoint("/models")
		if err != nil {
			return "", err
		}
		ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return "", err
		}
		target := "GET " + (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
		data, err := s.do(req, &a, target, s.cfg.Timeout)
		if err != nil {
			return "", err
		}
		var list struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(data, &list); err != nil {
			return "", fmt.Errorf("%s: the answer is not a model list", target)
		}
		return fmt.Sprintf("Connected to %s: the API key lists %d models", u.Host, len(list.Data)), nil
	}}
}

var (
	_ node.Node      = (*Chat)(nil)
	_ node.Validator = (*Chat)(nil)
)
