package mqttnode

import (
	"context"
	"crypto/sha256"
	_ "embed" // docs, in trigger.md
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session/state"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/payload"
)

// TriggerType is the name of the subscribing trigger type.
const TriggerType node.TypeName = "trigger.mqtt"

//go:embed trigger.md
var triggerDocs string

// Timing of trigger.mqtt.
const (
	// ackInterval is how often the client sends the acknowledgements made (in order, as MQTT
	// requires); a stopping trigger waits two of them so that they reach the broker.
	ackInterval = 20 * time.Millisecond
	// fireAttempts is how many times a message is handed to env.Fire, with fireBackoff doubling
	// between attempts, before the trigger gives up and returns an error: MQTT has no negative
	// acknowledgement, so the message is redelivered when the trigger reconnects.
	fireAttempts = 3
	fireBackoff  = 50 * time.Millisecond
	keepAlive    = 30
)

// Trigger is a trigger.mqtt node: its fields are its saved configuration.
type Trigger struct {
	// Credential is the id of an mqtt credential.
	Credential string `json:"credential"`
	// Topic is the topic filter to subscribe to (+ and # wildcards allowed).
	Topic string `json:"topic"`
	// QoS is the subscription's QoS, 0 or 1; nil means 1.
	QoS *int `json:"qos,omitempty"`
	// ShareGroup, when set, subscribes to $share/<group>/<topic>.
	ShareGroup string `json:"shareGroup,omitempty"`
	// SessionExpiry is how long the broker keeps the session while the trigger is away, as a Go
	// duration; empty means SessionExpiryDefault.
	SessionExpiry string `json:"sessionExpiry,omitempty"`
	// MaxMessageBytes is the largest payload received; zero means TriggerMaxMessageBytesDefault.
	MaxMessageBytes int64 `json:"maxMessageBytes,omitempty"`
	// DedupeKey is evaluated by the host (ListenEnv.Fire), not by the node.
	DedupeKey string `json:"dedupeKey,omitempty"`

	shared *shared
}

// NodeInfo describes the trigger.mqtt type.
func (t *Trigger) NodeInfo() node.Info {
	s := t.shared
	return node.Info{
		Type:        TriggerType,
		Version:     1,
		Title:       "MQTT trigger",
		Category:    "Triggers",
		Description: "Starts an execution for every message published to an MQTT topic filter, with a persistent session so that none is missed while it is away.",
		Icon:        "radio-tower",
		Docs:        triggerDocs,
		Outputs: []node.PortSpec{{Name: "out", Title: "Message",
			Description: "topic, payload, qos, retain, contentType, responseTopic, correlationData and userProperties"}},
		Schema: json.RawMessage(triggerSchema),
		New:    func() node.Node { return &Trigger{shared: s} },
	}
}

// Validate checks the topic filter, QoS, share group, session expiry and size limit.
func (t *Trigger) Validate() error {
	var errs []error
	if t.QoS != nil && *t.QoS != 0 && *t.QoS != 1 {
		errs = append(errs, fmt.Errorf("qos must be 0 or 1, not %d", *t.QoS))
	}
	if strings.ContainsAny(t.ShareGroup, "/+#") {
		errs = append(errs, fmt.Errorf("shareGroup %q must not contain /, + or #", t.ShareGroup))
	}
	if strings.HasPrefix(t.Topic, "$share/") {
		errs = append(errs, errors.New("topic: set the share group in shareGroup, not as a $share/ prefix"))
	}
	if _, err := t.sessionExpiry(); err != nil {
		errs = append(errs, err)
	}
	if t.MaxMessageBytes < 0 || t.MaxMessageBytes > MaxMessageBytesLimit {
		errs = append(errs, fmt.Errorf("maxMessageBytes must be between 1 and %d", MaxMessageBytesLimit))
	}
	return errors.Join(errs...)
}

func (t *Trigger) sessionExpiry() (time.Duration, error) {
	if t.SessionExpiry == "" {
		return SessionExpiryDefault, nil
	}
	d, err := time.ParseDuration(t.SessionExpiry)
	if err != nil || d < time.Second || d > 1<<32*time.Second-time.Second {
		return 0, fmt.Errorf("sessionExpiry %q is not a duration between 1s and 136 years, such as 24h", t.SessionExpiry)
	}
	return d, nil
}

func (t *Trigger) maxMessageBytes() int64 {
	if t.MaxMessageBytes <= 0 {
		return TriggerMaxMessageBytesDefault
	}
	return min(t.MaxMessageBytes, MaxMessageBytesLimit)
}

// Execute emits the message the execution was started with.
func (t *Trigger) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	return node.Out(in.Data), nil
}

// clientID is the trigger's client id: the credential's prefix and a hash of the tenant, workflow
// and node, the same on every connection so that the broker resumes the session.
func clientID(prefix string, env node.ListenEnv) string {
	h := sha256.Sum256([]byte(env.TenantID + "\x00" + env.WorkflowID + "\x00" + env.NodeID))
	return prefix + "-" + hex.EncodeToString(h[:8])
}

// Listen subscribes and fires one execution per message until ctx is done. A QoS 1 message is
// acknowledged once env.Fire returned nil; when Fire keeps failing, Listen returns an error without
// acknowledging it, and the broker sends it again when the trigger reconnects to its session.
// Listen returns nil when ctx is done, and an error when the connection is lost.
func (t *Trigger) Listen(ctx context.Context, env node.ListenEnv) error {
	if err := t.Validate(); err != nil {
		return node.Permanent(node.Errorf(CodeInvalidConfig, "%s", err.Error()))
	}
	if t.Topic == "" {
		return node.Permanent(node.Errorf(CodeInvalidConfig, "topic is empty"))
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cred, err := node.GetCredential(ctx, env.Credentials, t.Credential, CredentialType)
	if err != nil {
		return err
	}
	d, err := readCredential(cred)
	if err != nil {
		return err
	}
	expiry, _ := t.sessionExpiry()
	qos := 1
	if t.QoS != nil {
		qos = *t.QoS
	}
	what := d.what()

	// The library hands messages to one callback at a time; it passes them on to this loop, and
	// blocks (so the broker stops sending) while the loop is busy.
	msgs := make(chan *paho.Publish, ReceiveMaximum)
	stop := make(chan struct{})
	lost := make(chan error, 1)
	report := func(err error) {
		select {
		case lost <- err:
		default:
		}
	}
	id := clientID(d.clientPrefix(), env)
	// The trigger's own session state, so that it can acknowledge messages the client's ack
	// tracker missed (see ack).
	sess := state.NewInMemory()
	defer func() { _ = sess.Close() }()
	cc := paho.ClientConfig{
		ClientID:                   id,
		Session:                    sess,
		EnableManualAcknowledgment: true,
		SendAcksInterval:           ackInterval,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			select {
			case msgs <- pr.Packet:
			case <-stop:
			}
			return true, nil
		}},
		OnClientError: func(err error) { report(err) },
		OnServerDisconnect: func(dc *paho.Disconnect) {
			reason := ""
			if dc.Properties != nil {
				reason = dc.Properties.ReasonString
			}
			report(fmt.Errorf("the broker disconnected with reason code 0x%02X %s", dc.ReasonCode, reason))
		},
	}
	exp := uint32(expiry / time.Second) //nolint:gosec // sessionExpiry checks the duration fits in 32 bits
	recvMax := uint16(ReceiveMaximum)
	maxPacket := uint32(t.maxMessageBytes() + 64<<10) //nolint:gosec // at most 16 MiB + 64 KiB, room for the topic and properties
	pc, _, err := dial(ctx, t.shared.cfg, d, t.shared.cfg.Timeout, cc, &paho.Connect{ClientID: id, CleanStart: false, KeepAlive: keepAlive,
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &exp, ReceiveMaximum: &recvMax, MaximumPacketSize: &maxPacket}})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer func() {
		close(stop)
		_ = pc.Disconnect(&paho.Disconnect{ReasonCode: 0})
		<-pc.Done()
	}()

	filter := t.Topic
	if t.ShareGroup != "" {
		filter = "$share/" + t.ShareGroup + "/" + t.Topic
	}
	// The broker resends the session's messages as soon as the connection is up, before the
	// subscription is acknowledged: the loop below consumes them while the subscription goes on.
	subscribed := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, t.shared.cfg.Timeout)
		defer cancel()
		sa, err := pc.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: byte(qos)}}}) //nolint:gosec // qos is 0 or 1 (Validate)
		subscribed <- t.subscribeError(ctx, what, filter, sa, err)
	}()

	for {
		select {
		case <-ctx.Done():
			t.flushAcks()
			return nil
		case err := <-subscribed:
			if err != nil {
				return err
			}
			subscribed = nil
			logger.InfoContext(ctx, "Subscribed to MQTT topic", slog.String("topic", filter), slog.String("broker", d.addr()), slog.String("client_id", id))
		case err := <-lost:
			if ctx.Err() != nil {
				return nil
			}
			return &node.Error{Code: conn.CodeConnection, Message: fmt.Sprintf("%s: connection lost: %s", what, err.Error())}
		case <-pc.Done():
			if ctx.Err() != nil {
				return nil
			}
			return &node.Error{Code: conn.CodeConnection, Message: what + ": connection lost"}
		case pb := <-msgs:
			if err := t.handle(ctx, env, logger, ackFunc(pc, sess), pb); err != nil {
				t.flushAcks()
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// subscribeError is the error of a subscription: a refusal in the SUBACK, or a failure to get one.
func (t *Trigger) subscribeError(ctx context.Context, what, filter string, sa *paho.Suback, err error) error {
	if sa != nil {
		for _, code := range sa.Reasons {
			if code >= 0x80 {
				return reasonError(what, fmt.Sprintf("the subscription to %q was", filter), code, "")
			}
		}
	}
	if err == nil || ctx.Err() != nil {
		return nil //nolint:nilerr // a subscription cut short by the trigger's stop is no failure
	}
	switch {
	case errors.Is(err, paho.ErrInvalidArguments):
		return node.Permanent(node.Errorf(CodeInvalidConfig, "%s: %s", what, err.Error()))
	case errors.Is(err, context.DeadlineExceeded):
		return &node.Error{Code: CodeTimeout, Message: fmt.Sprintf("%s: the subscription to %q was not acknowledged within the timeout", what, filter)}
	}
	return &node.Error{Code: conn.CodeConnection, Message: fmt.Sprintf("%s: subscribe: %s", what, err.Error())}
}

// flushAcks gives the client time to send the acknowledgements made, which it sends in batches.
func (t *Trigger) flushAcks() { time.Sleep(3 * ackInterval) }

// handle fires one message and acknowledges it, or returns an error when it could not be fired.
func (t *Trigger) handle(ctx context.Context, env node.ListenEnv, logger *slog.Logger, ack func(*paho.Publish) error, pb *paho.Publish) error {
	if int64(len(pb.Payload)) > t.maxMessageBytes() {
		// The broker should not have sent it (maximum packet size); drop it rather than block the session.
		logger.WarnContext(ctx, "MQTT message over maxMessageBytes dropped", slog.String("topic", pb.Topic), slog.Int("bytes", len(pb.Payload)))
		return ack(pb)
	}
	data := Message(pb)
	backoff := fireBackoff
	for attempt := 1; ; attempt++ {
		err := env.Fire(ctx, data)
		if err == nil {
			return ack(pb)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt == fireAttempts {
			return &node.Error{Code: "fire_failed", Message: fmt.Sprintf("the execution for a message on %s could not be started after %d attempts (the broker sends it again on reconnect): %s", pb.Topic, fireAttempts, err.Error())}
		}
		logger.WarnContext(ctx, "Execution could not be started; retrying", slog.String("topic", pb.Topic), slog.Int("attempt", attempt), slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// ackFunc returns the function that acknowledges a message. The client sends acknowledgements in
// the order messages arrived, through a tracker; but messages the broker resends at once on
// reconnecting can reach the tracker before the client resets it, and it then no longer knows them
// (ErrPacketNotFound). Those are the first messages of the connection, handled first, so
// acknowledging them straight through the session keeps the order.
func ackFunc(pc *paho.Client, sess *state.State) func(*paho.Publish) error {
	return func(pb *paho.Publish) error {
		err := pc.Ack(pb)
		if errors.Is(err, paho.ErrPacketNotFound) {
			err = sess.Ack(pb.Packet())
		}
		if err != nil {
			return &node.Error{Code: conn.CodeConnection, Message: "acknowledge: " + err.Error()}
		}
		return nil
	}
}

// Message is the trigger's output for a received PUBLISH: topic, payload (decoded as the content
// type or payload format says), payloadEncoding, qos, retain, contentType, responseTopic,
// correlationData and userProperties.
func Message(pb *paho.Publish) map[string]any {
	contentType, responseTopic, correlation := "", "", ""
	users := map[string]any{}
	if p := pb.Properties; p != nil {
		contentType, responseTopic = p.ContentType, p.ResponseTopic
		if len(p.CorrelationData) > 0 {
			correlation, _ = payload.JSONValue(p.CorrelationData).(string)
		}
		for _, u := range p.User {
			users[u.Key] = u.Value
		}
	}
	body, enc := payload.Decode(contentType, pb.Payload)
	return map[string]any{
		"topic":           pb.Topic,
		"payload":         body,
		"payloadEncoding": enc,
		"qos":             int(pb.QoS),
		"retain":          pb.Retain,
		"contentType":     contentType,
		"responseTopic":   responseTopic,
		"correlationData": correlation,
		"userProperties":  users,
	}
}

var (
	_ node.Listener  = (*Trigger)(nil)
	_ node.Validator = (*Trigger)(nil)
)
