package kafkanode

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
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/payload"
)

// TriggerType is the name of the consuming trigger type.
const TriggerType node.TypeName = "trigger.kafka"

//go:embed trigger.md
var triggerDocs string

// Start offsets of a new consumer group.
const (
	startLatest   = "latest"
	startEarliest = "earliest"
)

// Retries of env.Fire: a record is handed to it fireAttempts times, with fireBackoff doubling in
// between, before the trigger gives up and returns an error; its offset is not committed, so the
// group resumes from it when the trigger starts again.
const (
	fireAttempts = 3
	fireBackoff  = 50 * time.Millisecond
)

// Trigger is a trigger.kafka node: its fields are its saved configuration.
type Trigger struct {
	// Credential is the id of a kafka credential.
	Credential string `json:"credential"`
	// Topics are the topics to consume.
	Topics []string `json:"topics"`
	// Group is the consumer group id; empty means one derived from the workflow and node.
	Group string `json:"group,omitempty"`
	// StartOffset is where a group without committed offsets starts: latest or earliest; empty
	// means latest.
	StartOffset string `json:"startOffset,omitempty"`
	// MaxMessageBytes is the largest key plus value that fires; zero means
	// TriggerMaxMessageBytesDefault.
	MaxMessageBytes int64 `json:"maxMessageBytes,omitempty"`
	// DedupeKey is evaluated by the host (ListenEnv.Fire), not by the node.
	DedupeKey string `json:"dedupeKey,omitempty"`

	shared *shared
}

// NodeInfo describes the trigger.kafka type.
func (t *Trigger) NodeInfo() node.Info {
	s := t.shared
	return node.Info{
		Type:        TriggerType,
		Version:     1,
		Title:       "Kafka trigger",
		Category:    "Triggers",
		Description: "Starts an execution for every record of Kafka topics, in a consumer group, committing each offset once the execution is queued.",
		Icon:        "layers",
		Docs:        triggerDocs,
		Outputs: []node.PortSpec{{Name: "out", Title: "Record",
			Description: "topic, partition, offset, key, value, headers and timestamp"}},
		Schema: json.RawMessage(triggerSchema),
		New:    func() node.Node { return &Trigger{shared: s} },
	}
}

// Validate checks the topics, start offset and size limit.
func (t *Trigger) Validate() error {
	var errs []error
	if len(t.Topics) == 0 {
		errs = append(errs, errors.New("topics: name at least one topic"))
	}
	for _, topic := range t.Topics {
		if topic == "" || len(topic) > 249 || strings.ContainsFunc(topic, invalidTopicRune) {
			errs = append(errs, fmt.Errorf("topics: %q is not a Kafka topic name (letters, digits, ., _ and -)", topic))
		}
	}
	if t.StartOffset != "" && t.StartOffset != startLatest && t.StartOffset != startEarliest {
		errs = append(errs, fmt.Errorf("startOffset %q is not one of latest, earliest", t.StartOffset))
	}
	if t.MaxMessageBytes < 0 || t.MaxMessageBytes > MaxMessageBytesLimit {
		errs = append(errs, fmt.Errorf("maxMessageBytes must be between 1 and %d", MaxMessageBytesLimit))
	}
	return errors.Join(errs...)
}

// invalidTopicRune reports whether r may not appear in a Kafka topic name.
func invalidTopicRune(r rune) bool {
	valid := r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	return !valid
}

func (t *Trigger) maxMessageBytes() int64 {
	if t.MaxMessageBytes <= 0 {
		return TriggerMaxMessageBytesDefault
	}
	return min(t.MaxMessageBytes, MaxMessageBytesLimit)
}

// group returns the consumer group id: the configured one, else one derived from the tenant,
// workflow and node, the same on every start so that the group resumes from its commits.
func (t *Trigger) group(env node.ListenEnv) string {
	if t.Group != "" {
		return t.Group
	}
	h := sha256.Sum256([]byte(env.TenantID + "\x00" + env.WorkflowID + "\x00" + env.NodeID))
	return "concertmaster-" + hex.EncodeToString(h[:8])
}

// Execute emits the record the execution was started with.
func (t *Trigger) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	return node.Out(in.Data), nil
}

// Listen consumes the topics in the consumer group until ctx is done, firing one execution per
// record; the offsets of the records whose execution was queued are committed after each poll.
// When env.Fire keeps failing for a record, Listen commits what came before it and returns an
// error: the group resumes from that record when the trigger starts again. The client reconnects
// to the brokers by itself; Listen returns an error when it cannot authenticate or reach them at
// start, or when the client is closed.
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
	what := d.what()
	timeout := t.shared.cfg.Timeout
	opts, dl, err := options(t.shared.cfg, d, timeout)
	if err != nil {
		return err
	}
	start := kgo.NewOffset().AtEnd()
	if t.StartOffset == startEarliest {
		start = kgo.NewOffset().AtStart()
	}
	maxBytes := int32(t.maxMessageBytes()) //nolint:gosec // at most 16 MiB
	group := t.group(env)
	opts = append(opts,
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(t.Topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(start),
		kgo.FetchMaxPartitionBytes(maxBytes),
		kgo.FetchMaxBytes(min(4*maxBytes, 64<<20)),
		kgo.FetchMaxWait(time.Second))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return node.Permanent(node.Errorf(CodeInvalidConfig, "%s", err.Error()))
	}
	defer cl.CloseAllowingRebalance()
	pctx, cancel := context.WithTimeout(ctx, timeout)
	err = cl.Ping(pctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return classify(what, dl, err)
	}
	logger.InfoContext(ctx, "Consuming Kafka topics", slog.String("topics", strings.Join(t.Topics, ",")), slog.String("group", group))

	for {
		fetches := cl.PollRecords(ctx, MaxPollRecords)
		if ctx.Err() != nil {
			return nil
		}
		if fetches.IsClientClosed() {
			return &node.Error{Code: "connection_failed", Message: what + ": the client closed"}
		}
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, context.Canceled) {
				continue
			}
			err := classify(what, dl, fe.Err)
			if node.IsPermanent(err) {
				return err
			}
			logger.WarnContext(ctx, "Kafka fetch failed; the client retries", slog.String("topic", fe.Topic),
				slog.Int("partition", int(fe.Partition)), slog.String("error", err.Error()))
		}
		var done []*kgo.Record
		var ferr error
		fetches.EachRecord(func(r *kgo.Record) {
			if ferr != nil {
				return
			}
			if size := int64(len(r.Key) + len(r.Value)); size > t.maxMessageBytes() {
				logger.WarnContext(ctx, "Kafka record over maxMessageBytes skipped", slog.String("topic", r.Topic),
					slog.Int("partition", int(r.Partition)), slog.Int64("offset", r.Offset), slog.Int64("bytes", size))
				done = append(done, r)
				return
			}
			if ferr = t.fire(ctx, env, logger, r); ferr == nil {
				done = append(done, r)
			}
		})
		t.commit(ctx, cl, logger, done)
		cl.AllowRebalance()
		if ferr != nil {
			if ctx.Err() != nil {
				return nil
			}
			return ferr
		}
	}
}

// fire hands one record to env.Fire, up to fireAttempts times.
func (t *Trigger) fire(ctx context.Context, env node.ListenEnv, logger *slog.Logger, r *kgo.Record) error {
	data := Message(r)
	backoff := fireBackoff
	for attempt := 1; ; attempt++ {
		err := env.Fire(ctx, data)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt == fireAttempts {
			return &node.Error{Code: "fire_failed", Message: fmt.Sprintf("the execution for record %s/%d@%d could not be started after %d attempts (the group resumes from it on restart): %s",
				r.Topic, r.Partition, r.Offset, fireAttempts, err.Error())}
		}
		logger.WarnContext(ctx, "Execution could not be started; retrying", slog.String("topic", r.Topic), slog.Int("attempt", attempt), slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// commit commits the offsets of the records done, even when ctx is done (they were fired).
func (t *Trigger) commit(ctx context.Context, cl *kgo.Client, logger *slog.Logger, done []*kgo.Record) {
	if len(done) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.shared.cfg.Timeout)
	defer cancel()
	if err := cl.CommitRecords(cctx, done...); err != nil {
		logger.WarnContext(ctx, "Kafka offset commit failed; the records will be delivered again", slog.Int("records", len(done)), slog.String("error", err.Error()))
	}
}

// Message is the trigger's output for a record: topic, partition, offset, key (text, or base64),
// value (decoded as JSON when it parses or a content-type header says JSON, else text, or base64),
// valueEncoding, headers (name to text; base64 when not UTF-8) and timestamp (RFC 3339).
func Message(r *kgo.Record) map[string]any {
	headers := make(map[string]any, len(r.Headers))
	contentType := ""
	for _, h := range r.Headers {
		headers[h.Key] = payload.JSONValue(h.Value)
		if strings.EqualFold(h.Key, "content-type") {
			contentType = string(h.Value)
		}
	}
	var key any
	if r.Key != nil {
		key = payload.JSONValue(r.Key)
	}
	value, enc := payload.Decode(contentType, r.Value)
	if r.Value == nil {
		value, enc = nil, payload.EncodingJSON
	}
	m := map[string]any{
		"topic":         r.Topic,
		"partition":     r.Partition,
		"offset":        r.Offset,
		"key":           key,
		"value":         value,
		"valueEncoding": enc,
		"headers":       headers,
		"timestamp":     r.Timestamp.UTC().Format(time.RFC3339Nano),
	}
	if r.Key != nil && !utf8.Valid(r.Key) {
		m["keyEncoding"] = payload.EncodingBase64
	}
	return m
}

var (
	_ node.Listener  = (*Trigger)(nil)
	_ node.Validator = (*Trigger)(nil)
)
