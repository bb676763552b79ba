// Package natsnode holds the NATS node types: nats.publish (core NATS, or JetStream with an
// acknowledgement), nats.request (request and reply) and trigger.nats (a JetStream durable consumer,
// at least once, or a core subscription, at most once), plus the tester of nats credentials.
package natsnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/payload"
)

// CredentialType is the credential type the NATS nodes use.
const CredentialType = "nats"

// Codes of the *node.Error values the NATS nodes return, besides conn.CodeSSRFBlocked and
// conn.CodeConnection and the credential codes of package node.
const (
	// CodeAuthFailed is a user, password or token the server refused (permanent).
	CodeAuthFailed = "auth_failed"
	// CodeInvalidConfig is a configuration the node cannot run with, such as a subject with
	// wildcards to publish to (permanent).
	CodeInvalidConfig = "invalid_config"
	// CodeTimeout is a publish acknowledgement or a reply that did not come within the timeout
	// (retryable).
	CodeTimeout = "timeout"
	// CodeNoResponders is a request nobody subscribes to (retryable: a responder may start).
	CodeNoResponders = "no_responders"
	// CodePayloadTooLarge is a message over the server's max_payload (permanent).
	CodePayloadTooLarge = "payload_too_large"
	// CodeResponseTooLarge is a reply over the size limit (permanent).
	CodeResponseTooLarge = "response_too_large"
	// CodeJetStream is an error of the JetStream API, such as a stream that does not exist or no
	// stream for the subject (permanent unless JetStream is temporarily unavailable).
	CodeJetStream = "jetstream_error"
	// CodeNATSError is any other error the client or server reports (retryable).
	CodeNATSError = "nats_error"
)

// shared is what the node types made by one New share: the deployment's settings and the
// connections by credential.
type shared struct {
	cfg   conn.Config
	conns *conn.Cache[*nats.Conn]

	mu sync.Mutex
	// generation counts, by credential key, the shared connections found closed, so that the next
	// one is opened under a new cache key (the closed one is evicted like any unused entry).
	generation map[string]int
}

func newShared(cfg conn.Config) *shared {
	cfg = cfg.WithDefaults()
	return &shared{cfg: cfg, conns: conn.NewCache(cfg.MaxPools, cfg.Idle, func(nc *nats.Conn) { nc.Close() }), generation: map[string]int{}}
}

// New returns the NATS node types to register: nats.publish, nats.request and trigger.nats. The
// actions share one bounded cache of connections, one per credential.
func New(cfg conn.Config) []node.Node {
	s := newShared(cfg)
	return []node.Node{&Publish{shared: s}, &Request{shared: s}, &Trigger{shared: s}}
}

// Testers returns the credential tester of the nats type.
func Testers(cfg conn.Config) map[string]conn.TestFunc {
	s := &shared{cfg: cfg.WithDefaults()}
	return map[string]conn.TestFunc{CredentialType: s.test}
}

// credData is the data of a nats credential.
type credData struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"password"`
	Token    string `json:"token"`
	conn.TLSFields
}

// guardDialer dials every address, the first and those the server advertises for reconnects,
// through the outbound guard.
type guardDialer struct {
	cfg     conn.Config
	timeout time.Duration
}

// Dial implements nats.CustomDialer.
func (d guardDialer) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	return d.cfg.Dial(ctx, network, addr)
}

// connect opens a connection for credential c. A shared connection reconnects by itself and refuses
// publishes while it is away (no buffering that could lose them); a listener's does not reconnect:
// Listen returns and the host restarts it.
func (s *shared) connect(ctx context.Context, c *node.Credential, reconnect bool) (*nats.Conn, string, error) {
	var d credData
	if err := c.Decode(&d); err != nil {
		return nil, "", node.Permanent(node.Errorf("invalid_credential", "%s", err.Error()))
	}
	if d.Host == "" {
		return nil, "", node.Permanent(node.Errorf("invalid_credential", "credential %s has no host", c.Name))
	}
	port := d.Port
	if port == 0 {
		port = 4222
	}
	addr := net.JoinHostPort(d.Host, strconv.Itoa(port))
	what := "NATS at " + addr
	timeout := s.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	opts := []nats.Option{
		nats.Name("concertmaster"),
		nats.SetCustomDialer(guardDialer{cfg: s.cfg, timeout: timeout}),
		nats.SkipHostLookup(),
		nats.Timeout(timeout),
		nats.NoCallbacksAfterClientClose(),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}),
	}
	if reconnect {
		opts = append(opts, nats.MaxReconnects(-1), nats.ReconnectWait(time.Second), nats.ReconnectBufSize(-1))
	} else {
		opts = append(opts, nats.NoReconnect())
	}
	if d.Username != "" || d.Password != "" {
		opts = append(opts, nats.UserInfo(d.Username, d.Password))
	}
	if d.Token != "" {
		opts = append(opts, nats.Token(d.Token))
	}
	tlsCfg, err := d.TLSConfig(d.Host)
	if err != nil {
		return nil, "", err
	}
	if tlsCfg != nil {
		opts = append(opts, nats.Secure(tlsCfg))
	}
	nc, err := nats.Connect("nats://"+addr, opts...)
	if err != nil {
		return nil, what, classify(what, err)
	}
	return nc, what, nil
}

// conn returns the shared connection of credential c and its release function. A shared connection
// reconnects by itself; one the client closed for good (the server refused a reconnection) is
// replaced by a new one.
func (s *shared) conn(ctx context.Context, c *node.Credential) (*nats.Conn, string, func(), error) {
	base := conn.Key(c)
	for {
		s.mu.Lock()
		key := base + "#" + strconv.Itoa(s.generation[base])
		s.mu.Unlock()
		nc, release, err := s.conns.Acquire(ctx, key, func(ctx context.Context) (*nats.Conn, error) {
			nc, _, err := s.connect(ctx, c, true)
			return nc, err
		})
		if err != nil {
			return nil, "", nil, err
		}
		if !nc.IsClosed() {
			return nc, "NATS at " + nc.ConnectedUrlRedacted(), release, nil
		}
		release()
		s.mu.Lock()
		if s.generation[base] == generationOf(key) {
			s.generation[base]++
		}
		s.mu.Unlock()
	}
}

// generationOf returns the generation a cache key of conn carries.
func generationOf(key string) int {
	i := strings.LastIndexByte(key, '#')
	n, _ := strconv.Atoi(key[i+1:])
	return n
}

// classify turns an error of the client into a node error. what names the server; the client's
// errors never hold the password.
func classify(what string, err error) error {
	var ne *node.Error
	if errors.As(err, &ne) || node.IsPermanent(err) {
		return err
	}
	msg := err.Error()
	lower := strings.ToLower(msg)
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout), errors.Is(err, jetstream.ErrNoStreamResponse):
		return &node.Error{Code: CodeTimeout, Message: what + ": no answer within the timeout"}
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked),
		strings.Contains(lower, "authorization violation"), strings.Contains(lower, "authentication"):
		return node.Permanent(&node.Error{Code: CodeAuthFailed, Message: what + ": authentication failed: " + msg})
	case errors.Is(err, nats.ErrNoResponders):
		return &node.Error{Code: CodeNoResponders, Message: what + ": no responders for the request"}
	case errors.Is(err, nats.ErrMaxPayload):
		return node.Permanent(&node.Error{Code: CodePayloadTooLarge, Message: what + ": " + msg})
	case errors.Is(err, nats.ErrBadSubject), errors.Is(err, nats.ErrBadHeaderMsg):
		return node.Permanent(&node.Error{Code: CodeInvalidConfig, Message: what + ": " + msg})
	}
	var jerr jetstream.JetStreamError
	if errors.As(err, &jerr) {
		if api := jerr.APIError(); api != nil && api.Code >= 500 {
			return &node.Error{Code: CodeJetStream, Message: what + ": " + msg}
		}
		return node.Permanent(&node.Error{Code: CodeJetStream, Message: what + ": " + msg})
	}
	var nerr net.Error
	if errors.As(err, &nerr) || errors.Is(err, nats.ErrNoServers) || isDialError(err) {
		return conn.ClassifyDial(what, err)
	}
	return &node.Error{Code: CodeNATSError, Message: what + ": " + msg}
}

// isDialError reports whether err comes from dialling (the guard's refusal included).
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || strings.Contains(err.Error(), "refused to connect")
}

// test is the nats credential tester: it connects, authenticates and asks whether JetStream is
// enabled.
func (s *shared) test(ctx context.Context, c *node.Credential) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	nc, what, err := s.connect(ctx, c, false)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	msg := fmt.Sprintf("Connected to NATS %s at %s", nc.ConnectedServerVersion(), nc.ConnectedAddr())
	js, err := jetstream.New(nc)
	if err != nil {
		return "", classify(what, err)
	}
	switch _, err := js.AccountInfo(ctx); {
	case err == nil:
		return msg + ", JetStream available", nil
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return msg + ", JetStream not enabled (nats.publish with jetstream and trigger.nats in JetStream mode will fail)", nil
	default:
		return msg + ", JetStream not available: " + err.Error(), nil
	}
}

// timeoutOf parses a node's timeout setting; empty means def.
func timeoutOf(field, value string, def time.Duration) (time.Duration, error) {
	if value == "" {
		return def, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("config.%s: %q is not a positive duration such as 30s", field, value)
	}
	return d, nil
}

// encodePayload turns a configured payload into the message body: a string as is, nothing as an
// empty body, any other JSON value as JSON.
func encodePayload(v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(t), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, node.Permanent(node.Errorf(CodeInvalidConfig, "config.payload cannot be encoded as JSON: %s", err.Error()))
	}
	return b, nil
}

// received returns the output of a received message: its subject, its body decoded as the queue
// nodes decode bodies (JSON when the Content-Type header says JSON or, without one, when it parses;
// text when it is UTF-8; base64 otherwise), how (encoding), and its headers.
func received(subject string, body []byte, h nats.Header) map[string]any {
	data, encoding := payload.Decode(h.Get("Content-Type"), body)
	return map[string]any{"subject": subject, "data": data, "encoding": encoding, "headers": headersOut(h)}
}

// headersOut returns message headers as output: by name, several values joined by ", ".
func headersOut(h nats.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k, vs := range h {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// checkSubject checks a subject to publish or send a request to: tokens separated by dots, none
// empty, no whitespace, and no wildcard unless wildcards is true (a subscription's filter).
func checkSubject(field, subject string, wildcards bool) error {
	if subject == "" {
		return fmt.Errorf("config.%s is required", field)
	}
	if strings.Contains(subject, "{{") {
		return nil
	}
	if len(subject) > 1024 {
		return fmt.Errorf("config.%s is longer than 1024 bytes", field)
	}
	if strings.ContainsAny(subject, " \t\r\n\x00") {
		return fmt.Errorf("config.%s: %q holds whitespace", field, subject)
	}
	tokens := strings.Split(subject, ".")
	for i, tok := range tokens {
		switch {
		case tok == "":
			return fmt.Errorf("config.%s: %q has an empty token", field, subject)
		case (tok == "*" || tok == ">") && !wildcards:
			return fmt.Errorf("config.%s: %q has a wildcard; messages go to a concrete subject", field, subject)
		case tok == ">" && i != len(tokens)-1:
			return fmt.Errorf("config.%s: %q has > before its last token", field, subject)
		}
	}
	return nil
}

// checkHeaders checks header names and values.
func checkHeaders(h map[string]string) error {
	for name, value := range h {
		if name == "" || strings.ContainsAny(name, ": \t\r\n") {
			return fmt.Errorf("config.headers: %q is not a valid header name", name)
		}
		if strings.ContainsAny(value, "\r\n") {
			return fmt.Errorf("config.headers: the value of %q holds a line break", name)
		}
	}
	return nil
}
