package mqttnode

import (
	"context"
	"fmt"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// Limits of the configurations.
const (
	// MaxMessageBytesLimit is the largest payload either node handles: 16 MiB.
	MaxMessageBytesLimit = 16 << 20
	// TriggerMaxMessageBytesDefault is the largest payload trigger.mqtt receives when its
	// configuration says nothing: 1 MiB.
	TriggerMaxMessageBytesDefault = 1 << 20
	// SessionExpiryDefault is how long the broker keeps a stopped trigger's session (its
	// subscription and the messages published meanwhile) when the configuration says nothing.
	SessionExpiryDefault = 24 * time.Hour
	// ReceiveMaximum bounds the QoS 1 messages the broker sends trigger.mqtt before they are
	// acknowledged.
	ReceiveMaximum = 32
)

// shared is what every node made by one New shares.
type shared struct {
	cfg   conn.Config
	cache *conn.Cache[*client]
}

// New returns the mqtt.publish and trigger.mqtt node types, which dial through cfg and share one
// connection per credential for publishing.
func New(cfg conn.Config) []node.Node {
	cfg = cfg.WithDefaults()
	s := &shared{cfg: cfg, cache: conn.NewCache(cfg.MaxPools, cfg.Idle, func(c *client) { c.close() })}
	return []node.Node{&Publish{shared: s}, &Trigger{shared: s}}
}

// Testers returns the credential tester of the mqtt type: it connects and authenticates.
func Testers(cfg conn.Config) map[string]conn.TestFunc {
	cfg = cfg.WithDefaults()
	return map[string]conn.TestFunc{CredentialType: func(ctx context.Context, c *node.Credential) (string, error) {
		d, err := readCredential(c)
		if err != nil {
			return "", err
		}
		id := d.clientPrefix() + "-test-" + randomID()
		pc, ca, err := dial(ctx, cfg, d, min(cfg.Timeout, 15*time.Second), paho.ClientConfig{ClientID: id},
			&paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30})
		if err != nil {
			return "", err
		}
		_ = pc.Disconnect(&paho.Disconnect{ReasonCode: 0})
		msg := "Connected to the MQTT broker at " + d.addr() + " (MQTT 5)"
		if d.Username != "" {
			msg += " as " + d.Username
		}
		if ca.Properties != nil && ca.Properties.MaximumQoS != nil && *ca.Properties.MaximumQoS < 2 {
			msg += fmt.Sprintf("; it accepts QoS up to %d", *ca.Properties.MaximumQoS)
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
