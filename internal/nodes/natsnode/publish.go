package natsnode

import (
	"context"
	_ "embed" // docs, in publish.md and request.md
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/concertmaster/concertmaster/internal/node"
)

// Names of the node types.
const (
	PublishType node.TypeName = "nats.publish"
	RequestType node.TypeName = "nats.request"
	TriggerType node.TypeName = "trigger.nats"
)

var (
	//go:embed publish.md
	publishDocs string
	//go:embed request.md
	requestDocs string
	//go:embed trigger.md
	triggerDocs string
)

// maxBytesDefault bounds a reply when neither the node nor the attempt sets a limit.
const maxBytesDefault int64 = 16 << 20

// message is what nats.publish and nats.request send.
type message struct {
	// Credential is the id of a nats credential.
	Credential string `json:"credential"`
	// Subject is the subject to send to, without wildcards.
	Subject string `json:"subject"`
	// Payload is the body: a string as is, any other JSON value as JSON; nothing sends an empty
	// body.
	Payload any `json:"payload,omitempty"`
	// Headers are NATS headers by name.
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout bounds the call, as a Go duration; empty means the deployment's default.
	Timeout string `json:"timeout,omitempty"`
}

func (m *message) validate() error {
	var errs []error
	if err := checkSubject("subject", m.Subject, false); err != nil {
		errs = append(errs, err)
	}
	if err := checkHeaders(m.Headers); err != nil {
		errs = append(errs, err)
	}
	if _, err := timeoutOf("timeout", m.Timeout, time.Second); err != nil && !isTemplate(m.Timeout) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func isTemplate(s string) bool { return strings.Contains(s, "{{") }

// prepare checks the configuration, acquires the credential's connection and builds the message. The
// caller must call release.
func (m *message) prepare(ctx context.Context, s *shared, in *node.Input, typ node.TypeName) (nc *nats.Conn, msg *nats.Msg, what string, release func(), err error) {
	if err := m.validate(); err != nil {
		return nil, nil, "", nil, node.Permanent(&node.Error{Code: CodeInvalidConfig, Message: err.Error()})
	}
	if s == nil {
		return nil, nil, "", nil, node.Permanent(fmt.Errorf("%s was not created by natsnode.New", typ))
	}
	cred, err := node.GetCredential(ctx, in.Credentials, m.Credential, CredentialType)
	if err != nil {
		return nil, nil, "", nil, err
	}
	body, err := encodePayload(m.Payload)
	if err != nil {
		return nil, nil, "", nil, err
	}
	nc, what, release, err = s.conn(ctx, cred)
	if err != nil {
		return nil, nil, "", nil, err
	}
	if max := nc.MaxPayload(); int64(len(body)) > max {
		release()
		return nil, nil, "", nil, node.Permanent(node.Errorf(CodePayloadTooLarge, "%s: the payload is %d bytes, more than the server's limit of %d", what, len(body), max))
	}
	msg = &nats.Msg{Subject: m.Subject, Data: body}
	if len(m.Headers) > 0 {
		msg.Header = nats.Header{}
		for k, v := range m.Headers {
			msg.Header.Set(k, v)
		}
	}
	return nc, msg, what, release, nil
}

// Publish is a nats.publish node: it sends one message, on core NATS or, with JetStream on, to the
// stream that captures its subject, waiting for the stream's acknowledgement.
type Publish struct {
	message
	// JetStream publishes through JetStream and waits for the stream's acknowledgement.
	JetStream bool `json:"jetstream,omitempty"`
	// MessageID is sent as Nats-Msg-Id: the stream drops a second message with the same id within
	// its duplicates window (JetStream only).
	MessageID string `json:"messageId,omitempty"`

	shared *shared
}

// NodeInfo describes the nats.publish type.
func (p *Publish) NodeInfo() node.Info {
	s := p.shared
	return node.Info{
		Type:        PublishType,
		Version:     1,
		Title:       "NATS publish",
		Category:    "Messaging",
		Description: "Publishes a message to a NATS subject; with JetStream, waits until a stream has stored it.",
		Icon:        "send",
		Docs:        publishDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: the message is built from the configuration"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Published", Description: "subject and bytes, plus stream and sequence with JetStream"}},
		Schema:      json.RawMessage(publishSchema),
		New:         func() node.Node { return &Publish{shared: s} },
	}
}

// Validate checks the subject, the headers and the timeout.
func (p *Publish) Validate() error {
	err := p.validate()
	if p.MessageID != "" && !p.JetStream {
		err = errors.Join(err, errors.New("config.messageId only applies with jetstream on"))
	}
	return err
}

// Execute publishes the message.
func (p *Publish) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	if err := p.Validate(); err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: CodeInvalidConfig, Message: err.Error()})
	}
	timeout, _ := timeoutOf("timeout", p.Timeout, p.defaultTimeout())
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, msg, what, release, err := p.prepare(ctx, p.shared, in, PublishType)
	if err != nil {
		return node.Output{}, err
	}
	defer release()
	out := map[string]any{"subject": msg.Subject, "bytes": len(msg.Data)}
	if !p.JetStream {
		if err := nc.PublishMsg(msg); err != nil {
			return node.Output{}, classify(what, err)
		}
		// The round trip makes sure the server has the message (or says why not).
		if err := nc.FlushWithContext(ctx); err != nil {
			return node.Output{}, classify(what, err)
		}
		return node.Out(out), nil
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return node.Output{}, classify(what, err)
	}
	var opts []jetstream.PublishOpt
	if p.MessageID != "" {
		opts = append(opts, jetstream.WithMsgID(p.MessageID))
	}
	ack, err := js.PublishMsg(ctx, msg, opts...)
	if errors.Is(err, jetstream.ErrNoStreamResponse) && ctx.Err() == nil {
		return node.Output{}, &node.Error{Code: CodeJetStream, Message: fmt.Sprintf("%s: no stream captures the subject %s", what, msg.Subject)}
	}
	if err != nil {
		return node.Output{}, classify(what, err)
	}
	out["stream"], out["sequence"], out["duplicate"] = ack.Stream, ack.Sequence, ack.Duplicate
	return node.Out(out), nil
}

func (p *Publish) defaultTimeout() time.Duration {
	if p.shared == nil {
		return 0
	}
	return p.shared.cfg.Timeout
}

// Request is a nats.request node: it sends a request and waits for the first reply.
type Request struct {
	message
	// MaxResponseBytes lowers the largest reply accepted; zero means the output limit.
	MaxResponseBytes int64 `json:"maxResponseBytes,omitempty"`

	shared *shared
}

// NodeInfo describes the nats.request type.
func (r *Request) NodeInfo() node.Info {
	s := r.shared
	return node.Info{
		Type:        RequestType,
		Version:     1,
		Title:       "NATS request",
		Category:    "Messaging",
		Description: "Sends a request to a NATS subject and outputs the first reply, decoded as JSON when it is JSON.",
		Icon:        "arrow-left-right",
		Docs:        requestDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: the request is built from the configuration"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Reply", Description: "subject, data, headers and bytes of the reply"}},
		Schema:      json.RawMessage(requestSchema),
		New:         func() node.Node { return &Request{shared: s} },
	}
}

// Validate checks the subject, the headers and the timeout.
func (r *Request) Validate() error {
	err := r.validate()
	if r.MaxResponseBytes < 0 {
		err = errors.Join(err, errors.New("config.maxResponseBytes must be positive"))
	}
	return err
}

// Execute sends the request and waits for the reply.
func (r *Request) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	if err := r.Validate(); err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: CodeInvalidConfig, Message: err.Error()})
	}
	var def time.Duration
	if r.shared != nil {
		def = r.shared.cfg.Timeout
	}
	timeout, _ := timeoutOf("timeout", r.Timeout, def)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, msg, what, release, err := r.prepare(ctx, r.shared, in, RequestType)
	if err != nil {
		return node.Output{}, err
	}
	defer release()
	reply, err := nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		return node.Output{}, classify(what, err)
	}
	limit := in.Limits.MaxOutputBytes
	if limit <= 0 {
		limit = maxBytesDefault
	}
	if r.MaxResponseBytes > 0 {
		limit = min(limit, r.MaxResponseBytes)
	}
	if int64(len(reply.Data)) > limit {
		return node.Output{}, node.Permanent(node.Errorf(CodeResponseTooLarge, "%s: the reply to %s is %d bytes, more than the limit of %d", what, msg.Subject, len(reply.Data), limit))
	}
	out := received(msg.Subject, reply.Data, reply.Header)
	out["bytes"] = len(reply.Data)
	return node.Out(out), nil
}

var (
	_ node.Node      = (*Publish)(nil)
	_ node.Validator = (*Publish)(nil)
	_ node.Node      = (*Request)(nil)
	_ node.Validator = (*Request)(nil)
)
