// Package ratelimit limits how often a key (an IP address, an account, a token) may do something:
// login and setup per IP and per account, the API per token (ADR 0013). Memory is the in-process
// implementation, a GCRA keyed by string with bounded memory; Redis runs the same GCRA in Redis, shared
// by every process of a deployment (CM_REDIS_URL, ADR 0018), and falls back to a Memory while Redis is
// unreachable.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limiter decides whether a key may spend cost units now.
type Limiter interface {
	// Allow spends cost units of key's allowance if it has them. When it does not, ok is false and
	// retryAfter is how long until it will (for a Retry-After header); nothing is spent. err reports a
	// backend failure or an invalid cost; callers choose whether to fail open or closed.
	Allow(ctx context.Context, key string, cost int) (ok bool, retryAfter time.Duration, err error)
}

// Rule is a limit: Rate units per Period on average, with up to Burst units at once from a key that
// has been idle.
type Rule struct {
	// Rate is how many units a key regains per Period; at least 1.
	Rate int
	// Period is the time over which Rate units are regained; positive.
	Period time.Duration
	// Burst is the most units a key may spend at once, and the allowance of a new or idle key; at
	// least 1.
	Burst int
}

// ErrInvalidCost reports a cost below 1 or above the rule's burst (which could never be allowed).
var ErrInvalidCost = errors.New("invalid rate limit cost")

// Validate reports whether the rule is usable.
func (r Rule) Validate() error {
	switch {
	case r.Rate < 1:
		return fmt.Errorf("rate limit rule: rate %d: want at least 1", r.Rate)
	case r.Period <= 0:
		return fmt.Errorf("rate limit rule: period %v: want a positive duration", r.Period)
	case r.Burst < 1:
		return fmt.Errorf("rate limit rule: burst %d: want at least 1", r.Burst)
	case r.Period/time.Duration(r.Rate) <= 0:
		return fmt.Errorf("rate limit rule: %d per %v is finer than a nanosecond", r.Rate, r.Period)
	}
	return nil
}

// interval is the time one unit takes to come back (GCRA's emission interval).
func (r Rule) interval() time.Duration { return r.Period / time.Duration(r.Rate) }

// String describes the rule, e.g. "5 per 1m0s, burst 10".
func (r Rule) String() string {
	return fmt.Sprintf("%d per %v, burst %d", r.Rate, r.Period, r.Burst)
}
