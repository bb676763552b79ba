package natsnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/concertmaster/concertmaster/internal/node"
)

// Modes of trigger.nats.
const (
	modeJetStream = "jetstream"
	modeCore      = "core"
)

// Defaults and bounds of trigger.nats.
const (
	// AckWaitDefault is how long the server waits for an acknowledgement before redelivering.
	AckWaitDefault = 30 * time.Second
	// MaxAckPendingDefault bounds the messages delivered and not yet acknowledged.
	MaxAckPendingDefault = 100
	// MaxAckPendingLimit is the largest maxAckPending.
	MaxAckPendingLimit = 10000
	// fetchBatch is the most messages one pull asks for.
	fetchBatch = 16
	// fetchWait is how long one pull waits for messages, so that a stopped listener returns within
	// about this long.
	fetchWait = time.Second
	// nakDelay is how long a message whose execution could not be queued waits before redelivery.
	nakDelay = time.Second
	// ackTimeout bounds the acknowledgement that follows a fire, which runs even when the listener is
	// being stopped.
	ackTimeout = 5 * time.Second
	// coreBuffer bounds the messages a core subscription holds before the slow-consumer limit drops
	// them.
	coreBuffer = 1024
)

// Trigger is a trigger.nats node: while its workflow is active it consumes a JetStream durable
// consumer (at least once) or, in core mode, a plain subscription (at most once), and starts one
// execution per message.
type Trigger struct {
	// Credential is the id of a nats credential.
	Credential string `json:"credential"`
	// Mode is jetstream (default) or core.
	Mode string `json:"mode,omitempty"`
	// Stream is the JetStream stream to consume (jetstream mode).
	Stream string `json:"stream,omitempty"`
	// Subject filters the stream's subjects (jetstream, optional) or is the subject subscribed to
	// (core, required); wildcards are allowed.
	Subject string `json:"subject,omitempty"`
	// Durable names the durable consumer (jetstream).
	Durable string `json:"durable,omitempty"`
	// DeliverPolicy is where a new consumer starts: all (default) or new (jetstream).
	DeliverPolicy string `json:"deliverPolicy,omitempty"`
	// AckWait is how long the server waits for an acknowledgement before redelivering (jetstream);
	// empty means AckWaitDefault.
	AckWait string `json:"ackWait,omitempty"`
	// MaxAckPending bounds the messages delivered and not acknowledged (jetstream); zero means
	// MaxAckPendingDefault.
	MaxAckPending int `json:"maxAckPending,omitempty"`
	// Queue is the queue group of a core subscription: each message goes to one member.
	Queue string `json:"queue,omitempty"`
	// DedupeKey is evaluated by the host for each message (see node.ListenEnv.Fire).
	DedupeKey string `json:"dedupeKey,omitempty"`

	shared *shared
}

// NodeInfo describes the trigger.nats type.
func (t *Trigger) NodeInfo() node.Info {
	s := t.shared
	return node.Info{
		Type:        TriggerType,
		Version:     1,
		Title:       "NATS",
		Category:    "Triggers",
		Description: "Starts one execution per message of a NATS JetStream durable consumer (acknowledged once the execution is queued), or of a core NATS subscription (at most once).",
		Icon:        "radio-tower",
		Docs:        triggerDocs,
		Outputs:     []node.PortSpec{{Name: "out", Title: "Message", Description: "subject, data, headers, and the stream position with JetStream"}},
		Schema:      json.RawMessage(triggerSchema),
		New:         func() node.Node { return &Trigger{shared: s} },
	}
}

func (t *Trigger) mode() string {
	if t.Mode == "" {
		return modeJetStream
	}
	return t.Mode
}

// Validate checks the fields of the mode.
func (t *Trigger) Validate() error {
	var errs []error
	switch t.mode() {
	case modeJetStream:
		if t.Stream == "" {
			errs = append(errs, errors.New("config.stream is required in jetstream mode"))
		}
		if t.Durable == "" {
			errs = append(errs, errors.New("config.durable is required in jetstream mode"))
		}
		if t.Subject != "" {
			if err := checkSubject("subject", t.Subject, true); err != nil {
				errs = append(errs, err)
			}
		}
		if t.Queue != "" {
			errs = append(errs, errors.New("config.queue only applies in core mode"))
		}
	case modeCore:
		if err := checkSubject("subject", t.Subject, true); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("config.mode: %q is not jetstream or core", t.Mode))
	}
	if t.DeliverPolicy != "" && t.DeliverPolicy != "all" && t.DeliverPolicy != "new" {
		errs = append(errs, fmt.Errorf("config.deliverPolicy: %q is not all or new", t.DeliverPolicy))
	}
	if d, err := timeoutOf("ackWait", t.AckWait, AckWaitDefault); err != nil || d < time.Second {
		errs = append(errs, fmt.Errorf("config.ackWait: %q is not a duration of at least 1s", t.AckWait))
	}
	if t.MaxAckPending < 0 || t.MaxAckPending > MaxAckPendingLimit {
		errs = append(errs, fmt.Errorf("config.maxAckPending must be between 1 and %d", MaxAckPendingLimit))
	}
	return errors.Join(errs...)
}

// Execute emits the message that started the execution.
func (t *Trigger) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	return node.Out(in.Data), nil
}

// Listen consumes until ctx is done. In jetstream mode it creates the durable consumer, or updates
// it to the configuration (keeping where it started), pulls messages and acknowledges each once its
// execution is queued, or negatively acknowledges it for redelivery. It returns an error when the
// connection is lost; the host restarts it.
func (t *Trigger) Listen(ctx context.Context, env node.ListenEnv) error {
	if err := t.Validate(); err != nil {
		return node.Permanent(&node.Error{Code: CodeInvalidConfig, Message: err.Error()})
	}
	if t.shared == nil {
		return node.Permanent(errors.New("trigger.nats was not created by natsnode.New"))
	}
	cred, err := node.GetCredential(ctx, env.Credentials, t.Credential, CredentialType)
	if err != nil {
		return err
	}
	connCtx, cancel := context.WithTimeout(ctx, t.shared.cfg.Timeout)
	nc, what, err := t.shared.connect(connCtx, cred, false)
	cancel()
	if err != nil {
		return err
	}
	defer nc.Close()
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if t.mode() == modeCore {
		err = t.listenCore(ctx, env, nc, what, log)
	} else {
		err = t.listenJetStream(ctx, env, nc, what, log)
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// consumer creates the durable consumer or updates it to the configuration. A consumer's deliver
// policy cannot change, so an existing consumer keeps its own.
func (t *Trigger) consumer(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	ackWait, _ := timeoutOf("ackWait", t.AckWait, AckWaitDefault)
	maxPending := t.MaxAckPending
	if maxPending == 0 {
		maxPending = MaxAckPendingDefault
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       t.Durable,
		Description:   "ConcertMaster trigger.nats",
		FilterSubject: t.Subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: maxPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if t.DeliverPolicy == "new" {
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	existing, err := js.Consumer(ctx, t.Stream, t.Durable)
	switch {
	case err == nil:
		old := existing.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = old.DeliverPolicy, old.OptStartSeq, old.OptStartTime
		return js.UpdateConsumer(ctx, t.Stream, cfg)
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return js.CreateOrUpdateConsumer(ctx, t.Stream, cfg)
	default:
		return nil, err
	}
}

func (t *Trigger) listenJetStream(ctx context.Context, env node.ListenEnv, nc *nats.Conn, what string, log *slog.Logger) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return classify(what, err)
	}
	cons, err := t.consumer(ctx, js)
	if err != nil {
		return classify(what, fmt.Errorf("consumer %s on stream %s: %w", t.Durable, t.Stream, err))
	}
	batch := fetchBatch
	if t.MaxAckPending > 0 {
		batch = min(batch, t.MaxAckPending)
	}
	for ctx.Err() == nil {
		msgs, err := cons.Fetch(batch, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			return classify(what, fmt.Errorf("fetch from %s: %w", t.Durable, err))
		}
		for msg := range msgs.Messages() {
			if err := t.handle(ctx, env, msg, log); err != nil {
				return classify(what, err)
			}
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return classify(what, fmt.Errorf("fetch from %s: %w", t.Durable, err))
		}
		if nc.IsClosed() {
			return classify(what, nats.ErrConnectionClosed)
		}
	}
	return nil
}

// handle fires one JetStream message; it acknowledges the message once the execution is queued, and
// asks for a redelivery when it could not be.
func (t *Trigger) handle(ctx context.Context, env node.ListenEnv, msg jetstream.Msg, log *slog.Logger) error {
	data := received(msg.Subject(), msg.Data(), msg.Headers())
	if md, err := msg.Metadata(); err == nil {
		data["stream"], data["sequence"], data["deliveries"] = md.Stream, md.Sequence.Stream, md.NumDelivered
		data["timestamp"] = md.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	if err := env.Fire(ctx, data); err != nil {
		if ctx.Err() == nil {
			log.WarnContext(ctx, "NATS message not queued; it will be redelivered",
				slog.String("subject", msg.Subject()), slog.String("error", err.Error()))
		}
		// Redelivered after nakDelay, or after ackWait if the nak is lost.
		_ = msg.NakWithDelay(nakDelay)
		return nil
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		return fmt.Errorf("acknowledge: %w", err)
	}
	return nil
}

// listenCore subscribes on core NATS: a message that arrives while no execution can be queued, or
// while the listener is down, is lost (at most once).
func (t *Trigger) listenCore(ctx context.Context, env node.ListenEnv, nc *nats.Conn, what string, log *slog.Logger) error {
	ch := make(chan *nats.Msg, coreBuffer)
	var sub *nats.Subscription
	var err error
	if t.Queue != "" {
		sub, err = nc.ChanQueueSubscribe(t.Subject, t.Queue, ch)
	} else {
		sub, err = nc.ChanSubscribe(t.Subject, ch)
	}
	if err != nil {
		return classify(what, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	// The round trip makes sure the server has the subscription. (FlushWithContext needs a deadline,
	// which ctx has not.)
	if err := nc.FlushTimeout(t.shared.cfg.Timeout); err != nil {
		return classify(what, err)
	}
	check := time.NewTicker(fetchWait)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-check.C:
			if nc.IsClosed() {
				return classify(what, nats.ErrConnectionClosed)
			}
		case msg := <-ch:
			data := received(msg.Subject, msg.Data, msg.Header)
			if err := env.Fire(ctx, data); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "NATS message dropped: its execution could not be queued (core mode is at most once)",
					slog.String("subject", msg.Subject), slog.String("error", err.Error()))
			}
		}
	}
}

var (
	_ node.Node      = (*Trigger)(nil)
	_ node.Validator = (*Trigger)(nil)
	_ node.Listener  = (*Trigger)(nil)
)
