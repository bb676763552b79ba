package mqttnode

import (
	"context"
	_ "embed" // docs, in publish.md
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/payload"
)

// PublishType is the name of the publishing node type.
const PublishType node.TypeName = "mqtt.publish"

//go:embed publish.md
var publishDocs string

// Publish is an mqtt.publish node: its fields are its configuration, after the engine has evaluated
// any {{ expressions }} in it.
type Publish struct {
	// Credential is the id of an mqtt credential.
	Credential string `json:"credential"`
	// Topic is the topic to publish to (no wildcards).
	Topic string `json:"topic"`
	// Payload is the message: any JSON value, encoded per PayloadType.
	Payload any `json:"payload,omitempty"`
	// PayloadType is auto (a string as text, anything else as JSON), json or text.
	PayloadType string `json:"payloadType,omitempty"`
	// QoS is 0, 1 or 2; nil means 1.
	QoS *int `json:"qos,omitempty"`
	// Retain asks the broker to keep the message for future subscribers.
	Retain bool `json:"retain,omitempty"`
	// ContentType overrides the content type the payload type implies (an MQTT 5 property).
	ContentType string `json:"contentType,omitempty"`
	// UserProperties are MQTT 5 user properties of the message.
	UserProperties map[string]string `json:"userProperties,omitempty"`
	// MessageExpiry is the message's lifetime in seconds; zero means none.
	MessageExpiry int64 `json:"messageExpiry,omitempty"`
	// Timeout bounds connecting and the broker's acknowledgement; empty means the deployment's.
	Timeout string `json:"timeout,omitempty"`
	// MaxMessageBytes refuses a larger encoded payload; zero means MaxMessageBytesLimit.
	MaxMessageBytes int64 `json:"maxMessageBytes,omitempty"`

	shared *shared
}

// NodeInfo describes the mqtt.publish type.
func (p *Publish) NodeInfo() node.Info {
	s := p.shared
	return node.Info{
		Type:        PublishType,
		Version:     1,
		Title:       "MQTT publish",
		Category:    "Messaging",
		Description: "Publishes a message to an MQTT topic at QoS 0, 1 or 2, waiting for the broker's acknowledgement.",
		Icon:        "radio",
		Docs:        publishDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: the message is built from the configuration"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Published", Description: "topic, qos, retain, bytes and the broker's reasonCode"}},
		Schema:      json.RawMessage(publishSchema),
		New:         func() node.Node { return &Publish{shared: s} },
	}
}

// Validate checks the topic, QoS, payload type, timeout and size limit.
func (p *Publish) Validate() error {
	var errs []error
	if !strings.Contains(p.Topic, "{{") && strings.ContainsAny(p.Topic, "+#") {
		errs = append(errs, fmt.Errorf("topic %q has a wildcard (+ or #): publish to one topic", p.Topic))
	}
	if p.QoS != nil && (*p.QoS < 0 || *p.QoS > 2) {
		errs = append(errs, fmt.Errorf("qos must be 0, 1 or 2, not %d", *p.QoS))
	}
	switch p.PayloadType {
	case "", payload.TypeAuto, payload.TypeJSON, payload.TypeText:
	default:
		errs = append(errs, fmt.Errorf("payloadType %q is not one of auto, json, text", p.PayloadType))
	}
	if _, err := parseTimeout(p.Timeout, time.Second); err != nil && !strings.Contains(p.Timeout, "{{") {
		errs = append(errs, err)
	}
	if p.MaxMessageBytes < 0 || p.MaxMessageBytes > MaxMessageBytesLimit {
		errs = append(errs, fmt.Errorf("maxMessageBytes must be between 1 and %d", MaxMessageBytesLimit))
	}
	if p.MessageExpiry < 0 || p.MessageExpiry > 1<<32-1 {
		errs = append(errs, errors.New("messageExpiry must be between 0 and 4294967295 seconds"))
	}
	return errors.Join(errs...)
}

// Execute publishes the message and, at QoS 1 and 2, waits for the broker's acknowledgement.
func (p *Publish) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	s := p.shared
	if err := p.Validate(); err != nil {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "%s", err.Error()))
	}
	if p.Topic == "" {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "topic is empty"))
	}
	timeout, err := parseTimeout(p.Timeout, s.cfg.Timeout)
	if err != nil {
		return node.Output{}, err
	}
	body, contentType, err := payload.Encode(p.Payload, p.PayloadType)
	if err != nil {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "payload: %s", err.Error()))
	}
	maxBytes := p.MaxMessageBytes
	if maxBytes <= 0 || maxBytes > MaxMessageBytesLimit {
		maxBytes = MaxMessageBytesLimit
	}
	if int64(len(body)) > maxBytes {
		return node.Output{}, node.Permanent(node.Errorf(CodeMessageTooLarge, "the payload is %d bytes, over the limit of %d (maxMessageBytes)", len(body), maxBytes))
	}
	if p.ContentType != "" {
		contentType = p.ContentType
	}
	qos := 1
	if p.QoS != nil {
		qos = *p.QoS
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
		if _, err := c.get(ctx, timeout); err != nil {
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		return node.Output{}, err
	}
	defer release()
	pc, err := cl.get(ctx, timeout)
	if err != nil {
		return node.Output{}, err
	}
	props := &paho.PublishProperties{ContentType: contentType}
	if contentType == payload.ContentTypeText || payload.IsJSON(contentType) {
		utf8 := byte(1)
		props.PayloadFormat = &utf8
	}
	if p.MessageExpiry > 0 {
		exp := uint32(p.MessageExpiry) //nolint:gosec // Validate bounds it to 32 bits
		props.MessageExpiry = &exp
	}
	for k, v := range p.UserProperties {
		props.User.Add(k, v)
	}
	msg := &paho.Publish{QoS: byte(qos), Retain: p.Retain, Topic: p.Topic, Payload: body, Properties: props}
	pr, err := pc.Publish(ctx, msg)
	what := d.what()
	switch {
	case pr != nil && pr.ReasonCode >= 0x80:
		reason := ""
		if pr.Properties != nil {
			reason = pr.Properties.ReasonString
		}
		return node.Output{}, reasonError(what, "the publish was", pr.ReasonCode, reason)
	case err != nil && ctx.Err() != nil:
		cl.drop(pc) // the acknowledgement may still come: do not leave it to the next publish
		return node.Output{}, &node.Error{Code: CodeTimeout, Message: what + ": no acknowledgement within the timeout (the message may have been published)"}
	case err != nil && errors.Is(err, paho.ErrInvalidArguments):
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "%s: %s", what, err.Error()))
	case err != nil:
		cl.drop(pc)
		return node.Output{}, &node.Error{Code: conn.CodeConnection, Message: fmt.Sprintf("%s: %s", what, err.Error())}
	}
	out := map[string]any{"topic": p.Topic, "qos": qos, "retain": p.Retain, "bytes": len(body), "reasonCode": 0}
	if pr != nil {
		out["reasonCode"] = int(pr.ReasonCode)
	}
	return node.Out(out), nil
}

var _ node.Validator = (*Publish)(nil)
