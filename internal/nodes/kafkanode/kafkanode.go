package kafkanode

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// Limits of the configurations.
const (
	// MaxMessageBytesLimit is the largest record value either node handles: 16 MiB.
	MaxMessageBytesLimit = 16 << 20
	// TriggerMaxMessageBytesDefault is the largest record trigger.kafka fires for when its
	// configuration says nothing: 1 MiB.
	TriggerMaxMessageBytesDefault = 1 << 20
	// MaxPollRecords bounds the records trigger.kafka takes from one poll.
	MaxPollRecords = 100
)

// shared is what every node made by one New shares.
type shared struct {
	cfg   conn.Config
	cache *conn.Cache[*kgo.Client]
}

// New returns the kafka.produce and trigger.kafka node types, which dial through cfg and share one
// producing client per credential.
func New(cfg conn.Config) []node.Node {
	cfg = cfg.WithDefaults()
	s := &shared{cfg: cfg, cache: conn.NewCache(cfg.MaxPools, cfg.Idle, func(c *kgo.Client) { c.Close() })}
	return []node.Node{&Produce{shared: s}, &Trigger{shared: s}}
}

// Testers returns the credential tester of the kafka type: it connects, authenticates and reads
// the cluster's metadata.
func Testers(cfg conn.Config) map[string]conn.TestFunc {
	cfg = cfg.WithDefaults()
	return map[string]conn.TestFunc{CredentialType: func(ctx context.Context, c *node.Credential) (string, error) {
		d, err := readCredential(c)
		if err != nil {
			return "", err
		}
		timeout := min(cfg.Timeout, 15*time.Second)
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		opts, dl, err := options(cfg, d, timeout)
		if err != nil {
			return "", err
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return "", node.Permanent(node.Errorf(CodeInvalidConfig, "%s", err.Error()))
		}
		defer cl.Close()
		if err := cl.Ping(ctx); err != nil {
			return "", classify(d.what(), dl, err)
		}
		msg := fmt.Sprintf("Connected to Kafka at %s (%d brokers known)", strings.Join(d.Brokers, ", "), len(cl.DiscoveredBrokers()))
		if d.Username != "" && d.Mechanism != "" && d.Mechanism != "none" {
			msg += fmt.Sprintf(" as %s (%s)", d.Username, strings.ToUpper(d.Mechanism))
		}
		return msg, nil
	}}
}

// parseTimeout reads a configuration's timeout, else def.
func parseTimeout(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, node.Permanent(node.Errorf(CodeInvalidConfig, "timeout %q is not a positive duration such as 10s", s))
	}
	return d, nil
}
