// Package identity holds ConcertMaster's identity use cases: first-run setup, sign-in with rotating
// refresh tokens, authentication of access tokens, API keys and stream tickets, workspaces
// (tenants), members and their roles, API keys and the audit log. It also carries who acts, and from
// where, through a context, so that every other use case can scope by tenant and audit (Entry).
// docs/security.md and ADR 0013 describe the model.
package identity

import (
	"context"
	"encoding/json"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
)

// Principal is who a request acts as: a user in one of their tenants, or an API key in its tenant.
type Principal struct {
	TenantID string
	// UserID is set for a user; APIKeyID for an API key. Exactly one is set.
	UserID   string
	APIKeyID string
	// Role is the member's or the key's role in TenantID, read when the request was authenticated.
	Role store.Role
	// ExpiresAt is when the credential stops working (the access token's expiry, an API key's
	// expiry); zero when it does not expire.
	ExpiresAt time.Time
}

// Actor is the principal as the audit log names it: the user id, or "apikey:<id>".
func (p *Principal) Actor() string {
	if p.APIKeyID != "" {
		return APIKeyActorPrefix + p.APIKeyID
	}
	return p.UserID
}

// IsUser reports whether the principal is a person rather than an API key.
func (p *Principal) IsUser() bool { return p.UserID != "" }

// APIKeyActorPrefix starts the actor (and the token subject) of an API key.
const APIKeyActorPrefix = "apikey:"

// SystemActor is the actor of changes nobody requested through the API (the CLI, start-up).
const SystemActor = "system"

// Origin is where a request came from, for the audit log.
type Origin struct {
	IP        string
	UserAgent string
}

type principalKey struct{}
type originKey struct{}

// WithPrincipal returns a context that acts as p; the store attributes what it saves to p's actor
// (store.WithActor).
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	if p != nil {
		ctx = store.WithActor(ctx, p.Actor())
	}
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal ctx acts as.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// WithOrigin returns a context that records where the request came from.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginFrom returns the origin WithOrigin recorded.
func OriginFrom(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// Entry returns an audit entry of tenantID for action on a target, with the actor and the origin
// of ctx (the actor is SystemActor when ctx has no principal). details, when not nil, is marshalled
// as JSON.
func Entry(ctx context.Context, tenantID, action, targetType, targetID string, details any) store.AuditEntry {
	e := store.AuditEntry{TenantID: tenantID, Actor: SystemActor, Action: action, TargetType: targetType, TargetID: targetID}
	if p, ok := FromContext(ctx); ok {
		e.Actor = p.Actor()
	}
	o := OriginFrom(ctx)
	e.IP, e.UserAgent = o.IP, o.UserAgent
	if details != nil {
		if raw, ok := details.(json.RawMessage); ok {
			e.Details = raw
		} else if b, err := json.Marshal(details); err == nil {
			e.Details = b
		}
	}
	return e
}

// Audit returns ctx carrying an Entry for the next store write (store.WithAudit).
func Audit(ctx context.Context, tenantID, action, targetType, targetID string, details any) context.Context {
	return store.WithAudit(ctx, Entry(ctx, tenantID, action, targetType, targetID, details))
}
