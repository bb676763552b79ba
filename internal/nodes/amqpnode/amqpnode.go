package amqpnode

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// Limits of the configurations.
const (
	// MaxMessageBytesLimit is the largest message either node handles: 16 MiB.
	MaxMessageBytesLimit = 16 << 20
	// TriggerMaxMessageBytesDefault is the largest message trigger.amqp fires for when its
	// configuration says nothing: 1 MiB.
	TriggerMaxMessageBytesDefault = 1 << 20
	// PrefetchDefault and PrefetchLimit bound the messages the broker sends trigger.amqp before they
	// are acknowledged.
	PrefetchDefault = 10
	PrefetchLimit   = 1000
	// ConcurrencyLimit bounds the messages trigger.amqp hands to executions at once.
	ConcurrencyLimit = 64
)

// shared is what every node made by one New shares.
type shared struct {
	cfg   conn.Config
	cache *conn.Cache[*client]
}

// New returns the amqp.publish and trigger.amqp node types, which dial through cfg and share one
// connection per credential.
func New(cfg conn.Config) []node.Node {
	cfg = cfg.WithDefaults()
	s := &shared{cfg: cfg, cache: conn.NewCache(cfg.MaxPools, cfg.Idle, func(c *client) { c.close() })}
	return []node.Node{&Publish{shared: s}, &Trigger{shared: s}}
}

// Testers returns the credential tester of the amqp type: it connects, authenticates and opens a
// channel.
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
		cn, err := dial(ctx, cfg, d, timeout)
		if err != nil {
			return "", err
		}
		defer func() { _ = cn.Close() }()
		ch, err := cn.Channel()
		if err != nil {
			return "", classify(d.what(), err)
		}
		_ = ch.Close()
		product, version := cn.Properties["product"], cn.Properties["version"]
		if product == nil {
			product = "the broker"
		}
		msg := fmt.Sprintf("Connected to %v", product)
		if version != nil {
			msg += fmt.Sprintf(" %v", version)
		}
		return fmt.Sprintf("%s at %s, virtual host %s, as %s", msg, d.addr(), d.Vhost, d.Username), nil
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

// tableValue turns a header value of the configuration into one the AMQP table encoding accepts:
// integral numbers become int64.
func tableValue(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = tableValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tableValue(e)
		}
		return out
	}
	return v
}
