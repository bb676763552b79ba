package redisnode

import (
	"context"
	_ "embed" // docs, in stream.md
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/concertmaster/concertmaster/internal/node"
)

// StreamTriggerType is the name of the trigger.redis_stream node type.
const StreamTriggerType node.TypeName = "trigger.redis_stream"

//go:embed stream.md
var streamDocs string

// Defaults and bounds of trigger.redis_stream.
const (
	// ClaimIdleDefault is how long an entry stays unacknowledged before it is claimed again.
	ClaimIdleDefault = time.Minute
	// claimIdleMin bounds claimIdle from below: shorter would steal entries still being fired.
	claimIdleMin = time.Second
	// batchSizeDefault is how many entries one read asks for.
	batchSizeDefault = 10
	// blockFor is how long one read waits for new entries, so that a canceled listener stops
	// within about this long.
	blockFor = time.Second
	// claimRounds bounds the XAUTOCLAIM calls of one claim pass.
	claimRounds = 10
	// staleConsumer is how long a consumer without pending entries stays in the group before a
	// starting listener deletes it.
	staleConsumer = 24 * time.Hour
	// ackTimeout bounds the XACK that follows a fire, which runs even when the listener is being
	// stopped.
	ackTimeout = 5 * time.Second
)

// StreamTrigger is a trigger.redis_stream node: while its workflow is active it reads a stream with a
// consumer group and starts one execution per entry, acknowledging the entry only once the execution
// is queued.
type StreamTrigger struct {
	// Credential is the id of a redis credential.
	Credential string `json:"credential"`
	// Stream is the stream's key.
	Stream string `json:"stream"`
	// Group is the consumer group.
	Group string `json:"group"`
	// StartFrom is where a group created by the trigger starts: new or beginning; empty means new.
	StartFrom string `json:"startFrom,omitempty"`
	// ClaimIdle is how long an entry stays unacknowledged before it is claimed and fired again;
	// empty means ClaimIdleDefault.
	ClaimIdle string `json:"claimIdle,omitempty"`
	// BatchSize is how many entries one read asks for; zero means 10.
	BatchSize int `json:"batchSize,omitempty"`
	// ParseJSON decodes field values that are JSON text.
	ParseJSON bool `json:"parseJson,omitempty"`
	// DedupeKey is evaluated by the host for each entry (see node.ListenEnv.Fire).
	DedupeKey string `json:"dedupeKey,omitempty"`

	shared *shared
	// consumer, when set, replaces the consumer name the listener derives (tests).
	consumer string
}

// NodeInfo describes the trigger.redis_stream type.
func (t *StreamTrigger) NodeInfo() node.Info {
	s := t.shared
	return node.Info{
		Type:        StreamTriggerType,
		Version:     1,
		Title:       "Redis stream",
		Category:    "Triggers",
		Description: "Starts one execution per entry added to a Redis stream, read with a consumer group; an entry is acknowledged once its execution is queued.",
		Icon:        "waves",
		Docs:        streamDocs,
		Outputs:     []node.PortSpec{{Name: "out", Title: "Entry", Description: "The entry: stream, id and fields"}},
		Schema:      []byte(streamSchema),
		New:         func() node.Node { return &StreamTrigger{shared: s} },
	}
}

// Validate checks the stream, the group and the settings.
func (t *StreamTrigger) Validate() error {
	var errs []error
	if t.Stream == "" {
		errs = append(errs, errors.New("config.stream is required"))
	}
	if t.Group == "" {
		errs = append(errs, errors.New("config.group is required"))
	}
	if t.StartFrom != "" && t.StartFrom != "new" && t.StartFrom != "beginning" {
		errs = append(errs, fmt.Errorf("config.startFrom: %q is not new or beginning", t.StartFrom))
	}
	if _, err := t.claimIdle(); err != nil {
		errs = append(errs, err)
	}
	if t.BatchSize < 0 || t.BatchSize > 100 {
		errs = append(errs, errors.New("config.batchSize must be between 1 and 100"))
	}
	return errors.Join(errs...)
}

func (t *StreamTrigger) claimIdle() (time.Duration, error) {
	if t.ClaimIdle == "" {
		return ClaimIdleDefault, nil
	}
	d, err := time.ParseDuration(t.ClaimIdle)
	if err != nil || d < claimIdleMin {
		return 0, fmt.Errorf("config.claimIdle: %q is not a duration of at least 1s", t.ClaimIdle)
	}
	return d, nil
}

// Execute emits the entry that started the execution.
func (t *StreamTrigger) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	return node.Out(in.Data), nil
}

// listener is one Listen call's state.
type listener struct {
	t        *StreamTrigger
	env      node.ListenEnv
	client   *redis.Client
	what     string
	consumer string
	batch    int64
	idle     time.Duration
	log      *slog.Logger
}

// Listen consumes the stream until ctx is done. It creates the group when missing, fires the
// entries this consumer was delivered and never acknowledged (a previous run of this process), then
// new entries, and every so often claims entries left unacknowledged longer than claimIdle by any
// consumer (a process that died, or a fire that failed). It returns an error when the server fails;
// the host restarts it.
func (t *StreamTrigger) Listen(ctx context.Context, env node.ListenEnv) error {
	if err := t.Validate(); err != nil {
		return node.Permanent(&node.Error{Code: CodeInvalidConfig, Message: err.Error()})
	}
	if t.shared == nil {
		return node.Permanent(errors.New("trigger.redis_stream was not created by redisnode.New"))
	}
	cred, err := node.GetCredential(ctx, env.Credentials, t.Credential, CredentialType)
	if err != nil {
		return err
	}
	openCtx, cancel := context.WithTimeout(ctx, t.shared.cfg.Timeout)
	client, what, err := t.shared.open(openCtx, cred, 2)
	cancel()
	if err != nil {
		return err
	}
	defer func() { _ = client.Close() }()
	l := &listener{t: t, env: env, client: client, what: what, batch: int64(t.BatchSize), log: env.Logger}
	l.idle, _ = t.claimIdle()
	if l.batch == 0 {
		l.batch = batchSizeDefault
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.consumer = t.consumer
	if l.consumer == "" {
		l.consumer = t.shared.consumer + ":" + env.WorkflowID + ":" + env.NodeID
	}
	err = l.run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (l *listener) run(ctx context.Context) error {
	if err := l.ensureGroup(ctx); err != nil {
		return err
	}
	l.dropStaleConsumers(ctx)
	if err := l.pending(ctx); err != nil {
		return err
	}
	claimEvery := min(max(l.idle/2, time.Second), 30*time.Second)
	var lastClaim time.Time
	for ctx.Err() == nil {
		if time.Since(lastClaim) >= claimEvery {
			if err := l.claim(ctx); err != nil {
				return err
			}
			lastClaim = time.Now()
		}
		streams, err := l.client.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: l.t.Group, Consumer: l.consumer, Streams: []string{l.t.Stream, ">"}, Count: l.batch, Block: blockFor,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return classify(l.what, fmt.Errorf("read stream %s: %w", l.t.Stream, err))
		}
		for _, s := range streams {
			if err := l.handleBatch(ctx, s.Messages); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureGroup creates the consumer group, and the stream with it, unless the group exists.
func (l *listener) ensureGroup(ctx context.Context) error {
	start := "$"
	if l.t.StartFrom == "beginning" {
		start = "0"
	}
	err := l.client.XGroupCreateMkStream(ctx, l.t.Stream, l.t.Group, start).Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return classify(l.what, fmt.Errorf("create group %s on %s: %w", l.t.Group, l.t.Stream, err))
	}
	return nil
}

// dropStaleConsumers deletes the group's consumers that hold no pending entry and were idle for a
// long time: consumers of processes that are gone. A live consumer deleted this way is recreated by
// its next read, losing nothing.
func (l *listener) dropStaleConsumers(ctx context.Context) {
	consumers, err := l.client.XInfoConsumers(ctx, l.t.Stream, l.t.Group).Result()
	if err != nil {
		return
	}
	for _, c := range consumers {
		if c.Pending == 0 && c.Idle > staleConsumer && c.Name != l.consumer {
			_ = l.client.XGroupDelConsumer(ctx, l.t.Stream, l.t.Group, c.Name).Err()
		}
	}
}

// pending fires the entries this consumer was delivered before and never acknowledged, oldest first.
func (l *listener) pending(ctx context.Context) error {
	id := "0"
	for ctx.Err() == nil {
		streams, err := l.client.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: l.t.Group, Consumer: l.consumer, Streams: []string{l.t.Stream, id}, Count: l.batch, Block: -1,
		}).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return classify(l.what, fmt.Errorf("read pending entries of %s: %w", l.t.Stream, err))
		}
		n := 0
		for _, s := range streams {
			n += len(s.Messages)
			if len(s.Messages) > 0 {
				id = s.Messages[len(s.Messages)-1].ID
			}
			if err := l.handleBatch(ctx, s.Messages); err != nil {
				return err
			}
		}
		if n == 0 {
			return nil
		}
	}
	return nil
}

// claim takes over the entries unacknowledged for longer than claimIdle, whoever they were
// delivered to, and fires them.
func (l *listener) claim(ctx context.Context) error {
	start := "0-0"
	for range claimRounds {
		msgs, next, err := l.client.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: l.t.Stream, Group: l.t.Group, Consumer: l.consumer, MinIdle: l.idle, Start: start, Count: l.batch,
		}).Result()
		if err != nil {
			return classify(l.what, fmt.Errorf("claim idle entries of %s: %w", l.t.Stream, err))
		}
		if err := l.handleBatch(ctx, msgs); err != nil {
			return err
		}
		if next == "0-0" || next == "" {
			return nil
		}
		start = next
	}
	return nil
}

// handleBatch fires the entries of one read, in order, and acknowledges those whose execution was
// queued with one XACK after the batch. An entry whose fire failed stays pending: it is claimed
// again after claimIdle. It returns an error only when the server fails.
func (l *listener) handleBatch(ctx context.Context, msgs []redis.XMessage) error {
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if l.fire(ctx, m) {
			ids = append(ids, m.ID)
		}
	}
	return l.ack(ctx, ids)
}

// fire fires one entry and reports whether it may be acknowledged: its execution is queued, or it
// was deleted from the stream while pending (nothing to fire).
func (l *listener) fire(ctx context.Context, m redis.XMessage) bool {
	if m.Values == nil {
		return true
	}
	fields := make(map[string]any, len(m.Values))
	for k, v := range m.Values {
		s, _ := v.(string)
		fields[k] = s
		if l.t.ParseJSON && json.Valid([]byte(s)) {
			var d any
			if json.Unmarshal([]byte(s), &d) == nil {
				fields[k] = d
			}
		}
	}
	data := map[string]any{"stream": l.t.Stream, "id": m.ID, "fields": fields}
	if err := l.env.Fire(ctx, data); err != nil {
		if ctx.Err() == nil {
			l.log.WarnContext(ctx, "Redis stream entry not queued; it will be claimed again",
				slog.String("stream", l.t.Stream), slog.String("entry_id", m.ID), slog.String("error", err.Error()))
		}
		return false
	}
	return true
}

// ack acknowledges entries whose executions are queued, even while the listener is being stopped.
func (l *listener) ack(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	if err := l.client.XAck(actx, l.t.Stream, l.t.Group, ids...).Err(); err != nil {
		return classify(l.what, fmt.Errorf("acknowledge %d entries: %w", len(ids), err))
	}
	return nil
}

var (
	_ node.Node      = (*StreamTrigger)(nil)
	_ node.Validator = (*StreamTrigger)(nil)
	_ node.Listener  = (*StreamTrigger)(nil)
)
