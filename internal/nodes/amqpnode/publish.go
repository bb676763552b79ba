package amqpnode

import (
	"context"
	_ "embed" // docs, in publish.md
	"encoding/json"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/payload"
)

// PublishType is the name of the publishing node type.
const PublishType node.TypeName = "amqp.publish"

//go:embed publish.md
var publishDocs string

// Publish is an amqp.publish node: its fields are its configuration, after the engine has evaluated
// any {{ expressions }} in it.
type Publish struct {
	// Credential is the id of an amqp credential.
	Credential string `json:"credential"`
	// Exchange is the exchange to publish to; empty means the default exchange, which routes by queue
	// name.
	Exchange string `json:"exchange,omitempty"`
	// RoutingKey is the message's routing key (the queue name on the default exchange).
	RoutingKey string `json:"routingKey,omitempty"`
	// Body is the message: any JSON value, encoded per BodyType.
	Body any `json:"body,omitempty"`
	// BodyType is auto (a string as text, anything else as JSON), json or text; empty means auto.
	BodyType string `json:"bodyType,omitempty"`
	// ContentType overrides the content type the body type implies.
	ContentType string `json:"contentType,omitempty"`
	// Headers are the message's headers (strings, numbers, booleans, arrays and objects of them).
	Headers map[string]any `json:"headers,omitempty"`
	// Persistent asks the broker to write the message to disk (delivery mode 2); nil means true.
	Persistent *bool `json:"persistent,omitempty"`
	// Mandatory fails the publish when no queue is bound to receive the message.
	Mandatory bool `json:"mandatory,omitempty"`
	// MessageID and CorrelationID set the message's properties of those names.
	MessageID     string `json:"messageId,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
	// Timeout bounds the connection and the wait for the broker's confirm, as a Go duration; empty
	// means the deployment's default.
	Timeout string `json:"timeout,omitempty"`
	// MaxMessageBytes refuses a larger encoded body; zero means MaxMessageBytesLimit.
	MaxMessageBytes int64 `json:"maxMessageBytes,omitempty"`

	shared *shared
}

// NodeInfo describes the amqp.publish type.
func (p *Publish) NodeInfo() node.Info {
	s := p.shared
	return node.Info{
		Type:        PublishType,
		Version:     1,
		Title:       "AMQP publish",
		Category:    "Messaging",
		Description: "Publishes a message to a RabbitMQ (AMQP 0-9-1) exchange and waits for the broker to confirm it.",
		Icon:        "rabbit",
		Docs:        publishDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: the message is built from the configuration"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Published", Description: "exchange, routingKey, messageId, contentType and bytes of the confirmed message"}},
		Schema:      json.RawMessage(publishSchema),
		New:         func() node.Node { return &Publish{shared: s} },
	}
}

// Validate checks the timeout, the body type and the size limit.
func (p *Publish) Validate() error {
	var errs []error
	if _, err := parseTimeout(p.Timeout, time.Second); err != nil && !isTemplate(p.Timeout) {
		errs = append(errs, err)
	}
	switch p.BodyType {
	case "", payload.TypeAuto, payload.TypeJSON, payload.TypeText:
	default:
		errs = append(errs, fmt.Errorf("bodyType %q is not one of auto, json, text", p.BodyType))
	}
	if p.MaxMessageBytes < 0 || p.MaxMessageBytes > MaxMessageBytesLimit {
		errs = append(errs, fmt.Errorf("maxMessageBytes must be between 1 and %d", MaxMessageBytesLimit))
	}
	return errors.Join(errs...)
}

func isTemplate(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '{' && s[i+1] == '{' {
			return true
		}
	}
	return false
}

// Execute publishes the message and waits for the broker's confirm.
func (p *Publish) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	s := p.shared
	timeout, err := parseTimeout(p.Timeout, s.cfg.Timeout)
	if err != nil {
		return node.Output{}, err
	}
	body, contentType, err := payload.Encode(p.Body, p.BodyType)
	if err != nil {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "body: %s", err.Error()))
	}
	maxBytes := p.MaxMessageBytes
	if maxBytes <= 0 || maxBytes > MaxMessageBytesLimit {
		maxBytes = MaxMessageBytesLimit
	}
	if int64(len(body)) > maxBytes {
		return node.Output{}, node.Permanent(node.Errorf(CodeMessageTooLarge, "the body is %d bytes, over the limit of %d (maxMessageBytes)", len(body), maxBytes))
	}
	if p.ContentType != "" {
		contentType = p.ContentType
	}
	headers := amqp.Table{}
	for k, v := range p.Headers {
		headers[k] = tableValue(v)
	}
	if err := headers.Validate(); err != nil {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "headers: %s", err.Error()))
	}
	cred, err := node.GetCredential(ctx, in.Credentials, p.Credential, CredentialType)
	if err != nil {
		return node.Output{}, err
	}
	d, err := readCredential(cred)
	if err != nil {
		return node.Output{}, err
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl, release, err := s.cache.Acquire(ctx, conn.Key(cred), func(ctx context.Context) (*client, error) {
		c := &client{cfg: s.cfg, cred: d}
		if _, err := c.connection(ctx, timeout); err != nil {
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		return node.Output{}, timeoutOr(ctx, d, err)
	}
	defer release()
	pc, err := cl.channel(ctx, timeout)
	if err != nil {
		return node.Output{}, timeoutOr(ctx, d, err)
	}
	mode := amqp.Persistent
	if p.Persistent != nil && !*p.Persistent {
		mode = amqp.Transient
	}
	msg := amqp.Publishing{Headers: headers, ContentType: contentType, DeliveryMode: mode, Body: body,
		MessageId: p.MessageID, CorrelationId: p.CorrelationID, Timestamp: time.Now().UTC()}
	if len(headers) == 0 {
		msg.Headers = nil
	}
	drainReturns(pc)
	if err := p.publish(ctx, cl, pc, msg); err != nil {
		return node.Output{}, timeoutOr(ctx, d, err)
	}
	out := map[string]any{"exchange": p.Exchange, "routingKey": p.RoutingKey, "contentType": contentType, "bytes": len(body)}
	if p.MessageID != "" {
		out["messageId"] = p.MessageID
	}
	return node.Out(out), nil
}

// publish sends msg on pc and waits for the broker's confirm, a return (mandatory) or the channel's
// close. pc goes back to the pool only when its state is known.
func (p *Publish) publish(ctx context.Context, cl *client, pc *pubChannel, msg amqp.Publishing) error {
	what := cl.cred.what()
	dc, err := pc.ch.PublishWithDeferredConfirmWithContext(ctx, p.Exchange, p.RoutingKey, p.Mandatory, false, msg)
	if err != nil {
		if pc.conn.IsClosed() {
			cl.dropConnection(pc.conn)
		}
		cl.release(pc)
		return classify(what, err)
	}
	select {
	case <-dc.Done():
	case e, ok := <-pc.closes:
		cl.release(pc)
		return closedError(what, e, ok, pc, cl)
	case <-ctx.Done():
		// A late confirm or return would be taken for the next publish's: the channel is not reused.
		_ = pc.ch.Close()
		return ctx.Err()
	}
	if !dc.Acked() {
		select {
		case e, ok := <-pc.closes:
			cl.release(pc)
			return closedError(what, e, ok, pc, cl)
		default:
		}
		cl.release(pc)
		return &node.Error{Code: CodeNacked, Message: what + ": the broker did not accept the message (negative acknowledgement)"}
	}
	select {
	case r, ok := <-pc.returns:
		cl.release(pc)
		if ok {
			return node.Permanent(&node.Error{Code: CodeUnroutable,
				Message: fmt.Sprintf("%s: the message was returned: %s (no queue is bound to exchange %q with routing key %q)", what, r.ReplyText, r.Exchange, r.RoutingKey),
				Details: map[string]any{"replyCode": r.ReplyCode, "replyText": r.ReplyText}})
		}
	default:
		cl.release(pc)
	}
	return nil
}

// closedError is the error of a channel that closed while a publish waited.
func closedError(what string, e *amqp.Error, ok bool, pc *pubChannel, cl *client) error {
	if pc.conn.IsClosed() {
		cl.dropConnection(pc.conn)
	}
	if !ok || e == nil {
		return &node.Error{Code: conn.CodeConnection, Message: what + ": the channel closed before the broker confirmed the message"}
	}
	return classify(what, e)
}

// drainReturns drops returns left over from an earlier publish on the channel.
func drainReturns(pc *pubChannel) {
	for {
		select {
		case _, ok := <-pc.returns:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// timeoutOr turns a context deadline into a timeout error, and passes other errors on.
func timeoutOr(ctx context.Context, d *credentialData, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &node.Error{Code: CodeTimeout, Message: d.what() + ": the broker did not confirm the message within the timeout"}
		}
		return err
	}
	return err
}

var (
	_ node.Validator = (*Publish)(nil)
)
