package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/store"
)

// MessageFire is one message a listening trigger (trigger.amqp, trigger.kafka…) received.
type MessageFire struct {
	TenantID   string
	WorkflowID string
	Version    int
	NodeID     string
	// Data is the trigger's output: the message as the trigger decodes it.
	Data any
	// DedupeKey is the trigger's dedupeKey template, if it has one: evaluated with trigger bound to
	// Data, it names the message, and a second message of the same name for this trigger starts no
	// execution.
	DedupeKey string
}

// dedupeBudget bounds the evaluation of a dedupeKey template.
var dedupeBudget = expression.Budget{Timeout: 100 * time.Millisecond, MaxSize: 1 << 20}

// maxDedupeKey bounds an evaluated dedupe key; a longer one is hashed.
const maxDedupeKey = 200

// FireMessage starts the execution a message asks for and returns once it is durably queued: only then
// may the message be acknowledged. With a dedupe key, a message already seen for the trigger returns
// the execution it started (created false).
func (s *Service) FireMessage(ctx context.Context, f MessageFire) (*store.Execution, bool, error) {
	input, err := json.Marshal(f.Data)
	if err != nil {
		return nil, false, node.Permanent(fmt.Errorf("encode message: %w", err))
	}
	var key string
	if f.DedupeKey != "" {
		if key, err = s.dedupeKey(ctx, f); err != nil {
			return nil, false, err
		}
	}
	return s.startExecution(ctx, f.TenantID, StartParams{
		WorkflowID: f.WorkflowID, Version: f.Version, Input: input, TriggerNode: f.NodeID, Kind: store.TriggerMessage,
		IdempotencyKey: key, RequestHash: requestHashOf(key),
	}, nil)
}

// dedupeKey evaluates a message's dedupe key into an idempotency key of its trigger node. The request
// hash of a redelivered message is the same, so the earlier execution is found; a different message
// with the same key is a duplicate too, which the key's hash (not the message's) makes so.
func (s *Service) dedupeKey(ctx context.Context, f MessageFire) (string, error) {
	t, err := expression.Compile(f.DedupeKey, s.cfg.Limits)
	if err != nil {
		return "", node.Permanent(fmt.Errorf("dedupeKey: %w", err))
	}
	v, err := t.Eval(ctx, &expression.Env{Trigger: f.Data, Input: f.Data}, dedupeBudget)
	if err != nil {
		return "", node.Permanent(fmt.Errorf("dedupeKey: %w", err))
	}
	var text string
	switch v := v.(type) {
	case string:
		text = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return "", node.Permanent(fmt.Errorf("dedupeKey: %w", err))
		}
		text = string(b)
	}
	if text == "" || text == "null" {
		return "", node.Permanent(fmt.Errorf("dedupeKey %s is empty for this message", f.DedupeKey))
	}
	if len(text) > maxDedupeKey {
		sum := sha256.Sum256([]byte(text))
		text = "sha256:" + hex.EncodeToString(sum[:])
	}
	return "message:" + f.NodeID + ":" + text, nil
}

func requestHashOf(key string) string {
	if key == "" {
		return ""
	}
	return hashOf([]byte(key))
}
