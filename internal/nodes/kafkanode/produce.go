package kafkanode

import (
	"context"
	_ "embed" // docs, in produce.md
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/payload"
)

// ProduceType is the name of the producing node type.
const ProduceType node.TypeName = "kafka.produce"

//go:embed produce.md
var produceDocs string

// Produce is a kafka.produce node: its fields are its configuration, after the engine has evaluated
// any {{ expressions }} in it.
type Produce struct {
	// Credential is the id of a kafka credential.
	Credential string `json:"credential"`
	// Topic is the topic to produce to.
	Topic string `json:"topic"`
	// Key is the record's key, which picks its partition; empty means none.
	Key string `json:"key,omitempty"`
	// Value is the record's value: any JSON value, encoded per ValueType.
	Value any `json:"value,omitempty"`
	// ValueType is auto (a string as text, anything else as JSON), json or text.
	ValueType string `json:"valueType,omitempty"`
	// Headers are the record's headers, name to text.
	Headers map[string]string `json:"headers,omitempty"`
	// Partition, when set, sends the record to that partition instead of the key's.
	Partition *int32 `json:"partition,omitempty"`
	// Timeout bounds the produce, acknowledgement included; empty means the deployment's.
	Timeout string `json:"timeout,omitempty"`
	// MaxMessageBytes refuses a larger key plus value; zero means MaxMessageBytesLimit.
	MaxMessageBytes int64 `json:"maxMessageBytes,omitempty"`

	shared *shared
}

// NodeInfo describes the kafka.produce type.
func (p *Produce) NodeInfo() node.Info {
	s := p.shared
	return node.Info{
		Type:        ProduceType,
		Version:     1,
		Title:       "Kafka produce",
		Category:    "Messaging",
		Description: "Produces a record (key, value, headers) to a Kafka topic and waits for the cluster's acknowledgement.",
		Icon:        "layers",
		Docs:        produceDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: the record is built from the configuration"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Produced", Description: "topic, partition, offset, timestamp and bytes of the acknowledged record"}},
		Schema:      json.RawMessage(produceSchema),
		New:         func() node.Node { return &Produce{shared: s} },
	}
}

// Validate checks the value type, partition, timeout and size limit.
func (p *Produce) Validate() error {
	var errs []error
	switch p.ValueType {
	case "", payload.TypeAuto, payload.TypeJSON, payload.TypeText:
	default:
		errs = append(errs, fmt.Errorf("valueType %q is not one of auto, json, text", p.ValueType))
	}
	if p.Partition != nil && *p.Partition < 0 {
		errs = append(errs, errors.New("partition must not be negative"))
	}
	if _, err := parseTimeout(p.Timeout, time.Second); err != nil && !strings.Contains(p.Timeout, "{{") {
		errs = append(errs, err)
	}
	if p.MaxMessageBytes < 0 || p.MaxMessageBytes > MaxMessageBytesLimit {
		errs = append(errs, fmt.Errorf("maxMessageBytes must be between 1 and %d", MaxMessageBytesLimit))
	}
	return errors.Join(errs...)
}

// Execute produces the record and waits for the cluster's acknowledgement (all in-sync replicas).
func (p *Produce) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
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
	value, _, err := payload.Encode(p.Value, p.ValueType)
	if err != nil {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidConfig, "value: %s", err.Error()))
	}
	maxBytes := p.MaxMessageBytes
	if maxBytes <= 0 || maxBytes > MaxMessageBytesLimit {
		maxBytes = MaxMessageBytesLimit
	}
	if size := int64(len(value) + len(p.Key)); size > maxBytes {
		return node.Output{}, node.Permanent(node.Errorf(CodeMessageTooLarge, "the record is %d bytes, over the limit of %d (maxMessageBytes)", size, maxBytes))
	}
	cred, err := node.GetCredential(ctx, in.Credentials, p.Credential, CredentialType)
	if err != nil {
		return node.Output{}, err
	}
	d, err := readCredential(cred)
	if err != nil {
		return node.Output{}, err
	}
	what := d.what()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var dl *dialer
	cl, release, err := s.cache.Acquire(ctx, conn.Key(cred), func(ctx context.Context) (*kgo.Client, error) {
		opts, d2, err := options(s.cfg, d, s.cfg.Timeout)
		if err != nil {
			return nil, err
		}
		dl = d2
		opts = append(opts,
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.ProducerBatchMaxBytes(MaxMessageBytesLimit+1<<20),
			kgo.MaxBufferedRecords(1000),
			kgo.RecordPartitioner(partitioner{kgo.StickyKeyPartitioner(nil)}),
			kgo.UnknownTopicRetries(2))
		c, err := kgo.NewClient(opts...)
		if err != nil {
			return nil, node.Permanent(node.Errorf(CodeInvalidConfig, "%s", err.Error()))
		}
		// A first request tells an authentication failure or an unreachable cluster at once; the
		// producer would retry it until the timeout.
		if err := c.Ping(ctx); err != nil {
			c.Close()
			return nil, classify(what, d2, err)
		}
		return c, nil
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return node.Output{}, &node.Error{Code: CodeTimeout, Message: what + ": no answer within the timeout"}
		}
		return node.Output{}, err
	}
	defer release()
	rec := &kgo.Record{Topic: p.Topic, Value: value}
	if p.Key != "" {
		rec.Key = []byte(p.Key)
	}
	for k, v := range p.Headers {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	if p.Partition != nil {
		rec.Context = context.WithValue(ctx, partitionKey{}, *p.Partition)
	}
	res := cl.ProduceSync(ctx, rec)
	if err := res.FirstErr(); err != nil {
		if ctx.Err() != nil {
			return node.Output{}, &node.Error{Code: CodeTimeout, Message: what + ": no acknowledgement within the timeout (the record may have been written)"}
		}
		return node.Output{}, classify(what, dl, err)
	}
	r := res[0].Record
	return node.Out(map[string]any{"topic": r.Topic, "partition": r.Partition, "offset": r.Offset,
		"timestamp": r.Timestamp.UTC().Format(time.RFC3339Nano), "bytes": len(value)}), nil
}

// partitionKey is the key of a record's context value that names the partition configured.
type partitionKey struct{}

// partitioner sends a record to the partition its context names, and others by key as Kafka's
// default partitioner does (murmur2 of the key; records without a key stick to a partition per
// batch).
type partitioner struct{ byKey kgo.Partitioner }

// ForTopic implements kgo.Partitioner.
func (p partitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &topicPartitioner{byKey: p.byKey.ForTopic(topic)}
}

type topicPartitioner struct{ byKey kgo.TopicPartitioner }

func explicitPartition(r *kgo.Record) (int32, bool) {
	if r.Context == nil {
		return 0, false
	}
	p, ok := r.Context.Value(partitionKey{}).(int32)
	return p, ok
}

// RequiresConsistency implements kgo.TopicPartitioner.
func (t *topicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	_, ok := explicitPartition(r)
	return ok || t.byKey.RequiresConsistency(r)
}

// Partition implements kgo.TopicPartitioner; a configured partition the topic does not have fails
// the record.
func (t *topicPartitioner) Partition(r *kgo.Record, n int) int {
	if p, ok := explicitPartition(r); ok {
		return int(p)
	}
	return t.byKey.Partition(r, n)
}

// OnNewBatch implements kgo.TopicPartitionerOnNewBatch for the sticky partitioner underneath.
func (t *topicPartitioner) OnNewBatch() {
	if nb, ok := t.byKey.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}

var _ node.Validator = (*Produce)(nil)
