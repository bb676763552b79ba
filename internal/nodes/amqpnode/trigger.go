package amqpnode

import (
	"context"
	_ "embed" // docs, in trigger.md
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/payload"
)

// TriggerType is the name of the consuming trigger type.
const TriggerType node.TypeName = "trigger.amqp"

//go:embed trigger.md
var triggerDocs string

// Declare modes of trigger.amqp.
const (
	declarePassive = "passive"
	declareDurable = "durable"
)

// Backoff after env.Fire failed, so that a failing store does not spin through the queue.
const (
	fireBackoffMin = 50 * time.Millisecond
	fireBackoffMax = 5 * time.Second
)

// Trigger is a trigger.amqp node: its fields are its saved configuration.
type Trigger struct {
	// Credential is the id of an amqp credential.
	Credential string `json:"credential"`
	// Queue is the queue to consume.
	Queue string `json:"queue"`
	// Declare is passive (check the queue exists) or durable (declare it); empty means passive.
	Declare string `json:"declare,omitempty"`
	// Exchange, when set, is bound to the queue with BindingKey before consuming.
	Exchange   string `json:"exchange,omitempty"`
	BindingKey string `json:"bindingKey,omitempty"`
	// Prefetch is the QoS prefetch count; zero means PrefetchDefault.
	Prefetch int `json:"prefetch,omitempty"`
	// Concurrency is how many messages are handed to executions at once; zero means 1.
	Concurrency int `json:"concurrency,omitempty"`
	// MaxMessageBytes is the largest body that fires; zero means TriggerMaxMessageBytesDefault.
	MaxMessageBytes int64 `json:"maxMessageBytes,omitempty"`
	// DedupeKey is evaluated by the host (ListenEnv.Fire), not by the node.
	DedupeKey string `json:"dedupeKey,omitempty"`

	shared *shared
}

// NodeInfo describes the trigger.amqp type.
func (t *Trigger) NodeInfo() node.Info {
	s := t.shared
	return node.Info{
		Type:        TriggerType,
		Version:     1,
		Title:       "AMQP trigger",
		Category:    "Triggers",
		Description: "Starts an execution for every message of a RabbitMQ queue, acknowledging it once the execution is queued.",
		Icon:        "rabbit",
		Docs:        triggerDocs,
		Outputs: []node.PortSpec{{Name: "out", Title: "Message",
			Description: "body, headers, routingKey, exchange, messageId, redelivered, contentType and timestamp"}},
		Schema: json.RawMessage(triggerSchema),
		New:    func() node.Node { return &Trigger{shared: s} },
	}
}

// Validate checks the declare mode and the bounds.
func (t *Trigger) Validate() error {
	var errs []error
	if t.Declare != "" && t.Declare != declarePassive && t.Declare != declareDurable {
		errs = append(errs, fmt.Errorf("declare %q is not one of passive, durable", t.Declare))
	}
	if t.Prefetch < 0 || t.Prefetch > PrefetchLimit {
		errs = append(errs, fmt.Errorf("prefetch must be between 1 and %d", PrefetchLimit))
	}
	if t.Concurrency < 0 || t.Concurrency > ConcurrencyLimit {
		errs = append(errs, fmt.Errorf("concurrency must be between 1 and %d", ConcurrencyLimit))
	} else if t.Concurrency > t.prefetch() {
		errs = append(errs, fmt.Errorf("concurrency (%d) must not exceed prefetch (%d)", t.Concurrency, t.prefetch()))
	}
	if t.MaxMessageBytes < 0 || t.MaxMessageBytes > MaxMessageBytesLimit {
		errs = append(errs, fmt.Errorf("maxMessageBytes must be between 1 and %d", MaxMessageBytesLimit))
	}
	return errors.Join(errs...)
}

func (t *Trigger) prefetch() int {
	if t.Prefetch <= 0 {
		return PrefetchDefault
	}
	return min(t.Prefetch, PrefetchLimit)
}

func (t *Trigger) concurrency() int {
	return min(max(t.Concurrency, 1), t.prefetch(), ConcurrencyLimit)
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

// Listen consumes the queue until ctx is done, firing one execution per message: a message is
// acknowledged once env.Fire returned nil, and negatively acknowledged with requeue when it failed.
// It returns nil when ctx is done, and an error when the connection or the channel closes, the
// broker cancels the consumer, or the queue cannot be consumed.
func (t *Trigger) Listen(ctx context.Context, env node.ListenEnv) error {
	if err := t.Validate(); err != nil {
		return node.Permanent(node.Errorf(CodeInvalidConfig, "%s", err.Error()))
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
	timeout := t.shared.cfg.Timeout
	dctx, cancel := context.WithTimeout(ctx, timeout)
	cn, err := dial(dctx, t.shared.cfg, d, timeout)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer func() { _ = cn.Close() }()
	what := d.what()
	ch, err := cn.Channel()
	if err != nil {
		return classify(what, err)
	}
	defer func() { _ = ch.Close() }()
	if err := t.setup(ch, what); err != nil {
		return err
	}
	connCloses := cn.NotifyClose(make(chan *amqp.Error, 1))
	chCloses := ch.NotifyClose(make(chan *amqp.Error, 1))
	deliveries, err := ch.Consume(t.Queue, "", false, false, false, false, nil)
	if err != nil {
		return classify(what, err)
	}
	logger.InfoContext(ctx, "Consuming AMQP queue", slog.String("queue", t.Queue), slog.String("broker", d.addr()))

	// Workers stop taking deliveries when ctx is done; a message they are firing is still acked or
	// nacked. Deliveries not taken go back to the queue when the channel closes.
	var wg sync.WaitGroup
	ended := make(chan struct{})
	var once sync.Once
	for range t.concurrency() {
		wg.Go(func() {
			t.work(ctx, env, logger, deliveries)
			once.Do(func() { close(ended) })
		})
	}
	defer wg.Wait()

	select {
	case <-ctx.Done():
		return nil
	case e := <-connCloses:
		return closedListenError(what, "connection", e)
	case e := <-chCloses:
		return closedListenError(what, "channel", e)
	case <-ended:
		if ctx.Err() != nil {
			return nil
		}
		return &node.Error{Code: CodeBroker, Message: fmt.Sprintf("%s: the broker stopped the consumer of queue %q (deleted or closed)", what, t.Queue)}
	}
}

// setup declares (or checks) the queue, binds it and sets the prefetch.
func (t *Trigger) setup(ch *amqp.Channel, what string) error {
	var err error
	if t.Declare == declareDurable {
		_, err = ch.QueueDeclare(t.Queue, true, false, false, false, nil)
	} else {
		_, err = ch.QueueDeclarePassive(t.Queue, false, false, false, false, nil)
	}
	if err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return node.Permanent(&node.Error{Code: CodeBroker,
				Message: fmt.Sprintf("%s: queue %q does not exist (declare durable to create it)", what, t.Queue)})
		}
		return classify(what, err)
	}
	if t.Exchange != "" {
		if err := ch.QueueBind(t.Queue, t.BindingKey, t.Exchange, false, nil); err != nil {
			return classify(what, err)
		}
	}
	if err := ch.Qos(t.prefetch(), 0, false); err != nil {
		return classify(what, err)
	}
	return nil
}

func closedListenError(what, which string, e *amqp.Error) error {
	if e == nil {
		return &node.Error{Code: "connection_failed", Message: fmt.Sprintf("%s: the %s closed", what, which)}
	}
	return classify(what, e)
}

// work fires the deliveries it takes until ctx is done or the deliveries end.
func (t *Trigger) work(ctx context.Context, env node.ListenEnv, logger *slog.Logger, deliveries <-chan amqp.Delivery) {
	backoff := time.Duration(0)
	for {
		if ctx.Err() != nil {
			return
		}
		var dl amqp.Delivery
		var ok bool
		select {
		case <-ctx.Done():
			return
		case dl, ok = <-deliveries:
			if !ok {
				return
			}
		}
		if int64(len(dl.Body)) > t.maxMessageBytes() {
			logger.WarnContext(ctx, "AMQP message over maxMessageBytes rejected without requeue",
				slog.String("queue", t.Queue), slog.Int("bytes", len(dl.Body)), slog.Int64("max_message_bytes", t.maxMessageBytes()),
				slog.String("message_id", dl.MessageId))
			if err := dl.Reject(false); err != nil {
				logger.WarnContext(ctx, "AMQP reject failed", slog.String("error", err.Error()))
			}
			continue
		}
		if err := env.Fire(ctx, Message(&dl)); err != nil {
			if nerr := dl.Nack(false, true); nerr != nil {
				logger.WarnContext(ctx, "AMQP nack failed; the broker redelivers the message when the channel closes", slog.String("error", nerr.Error()))
			}
			if ctx.Err() != nil {
				return
			}
			logger.WarnContext(ctx, "Execution could not be started; the AMQP message is requeued",
				slog.String("queue", t.Queue), slog.String("error", err.Error()))
			backoff = min(max(backoff*2, fireBackoffMin), fireBackoffMax)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		if err := dl.Ack(false); err != nil {
			logger.WarnContext(ctx, "AMQP ack failed; the broker will redeliver the message", slog.String("error", err.Error()))
		}
	}
}

// Message is the trigger's output for a delivery: body (decoded), headers, routingKey, exchange,
// messageId, correlationId, redelivered, contentType, timestamp (RFC 3339, or null) and
// bodyEncoding (json, text or base64).
func Message(d *amqp.Delivery) map[string]any {
	body, enc := payload.Decode(d.ContentType, d.Body)
	var ts any
	if !d.Timestamp.IsZero() {
		ts = d.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	return map[string]any{
		"body":          body,
		"bodyEncoding":  enc,
		"headers":       tableJSON(d.Headers),
		"routingKey":    d.RoutingKey,
		"exchange":      d.Exchange,
		"messageId":     d.MessageId,
		"correlationId": d.CorrelationId,
		"redelivered":   d.Redelivered,
		"contentType":   d.ContentType,
		"timestamp":     ts,
	}
}

// tableJSON turns an AMQP table into a JSON-friendly map.
func tableJSON(t amqp.Table) map[string]any {
	out := make(map[string]any, len(t))
	for k, v := range t {
		out[k] = amqpValue(v)
	}
	return out
}

func amqpValue(v any) any {
	switch x := v.(type) {
	case amqp.Table:
		return tableJSON(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = amqpValue(e)
		}
		return out
	case amqp.Decimal:
		f := float64(x.Value)
		for range x.Scale {
			f /= 10
		}
		return f
	}
	return payload.JSONValue(v)
}

var (
	_ node.Listener  = (*Trigger)(nil)
	_ node.Validator = (*Trigger)(nil)
)
