package identity

import (
	"context"
	"errors"
	"strings"

	"github.com/concertmaster/concertmaster/internal/auth"
	"github.com/concertmaster/concertmaster/internal/store"
)

// Authenticate resolves a bearer credential — an access token or an API key (auth.ParseAuthorization
// tells which) — to the principal it acts as, with its current role. A token of a user who is no
// longer a member of its tenant, or is disabled, and a revoked or expired key answer an AuthError.
func (s *Service) Authenticate(ctx context.Context, kind auth.Credential, credential string) (*Principal, error) {
	switch kind {
	case auth.CredentialAPIKey:
		return s.authenticateKey(ctx, credential)
	case auth.CredentialAccessToken:
		claims, err := s.access.Verify(credential)
		if errors.Is(err, auth.ErrTokenExpired) {
			return nil, &AuthError{Reason: "the access token expired: refresh it", Expired: true}
		}
		if err != nil {
			return nil, &AuthError{Reason: "the access token is invalid"}
		}
		return s.userPrincipal(ctx, claims)
	}
	return nil, &AuthError{Reason: "unsupported credential"}
}

// AuthenticateHeader resolves an Authorization header.
func (s *Service) AuthenticateHeader(ctx context.Context, header string) (*Principal, error) {
	if header == "" {
		return nil, &AuthError{Reason: "authentication required: send Authorization: Bearer <access token or API key>"}
	}
	kind, cred, err := auth.ParseAuthorization(header)
	if err != nil {
		return nil, &AuthError{Reason: err.Error()}
	}
	return s.Authenticate(ctx, kind, cred)
}

// AuthenticateToken resolves a bare credential (the live WebSocket's auth message).
func (s *Service) AuthenticateToken(ctx context.Context, token string) (*Principal, error) {
	if len(token) > auth.MaxAuthorizationLength {
		return nil, &AuthError{Reason: "the token is too long"}
	}
	return s.AuthenticateHeader(ctx, "Bearer "+token)
}

func (s *Service) userPrincipal(ctx context.Context, claims *auth.Claims) (*Principal, error) {
	if strings.HasPrefix(claims.Subject, APIKeyActorPrefix) {
		return nil, &AuthError{Reason: "the access token is invalid"}
	}
	role, err := s.role(ctx, claims.TenantID, claims.Subject)
	if err != nil {
		return nil, err
	}
	if role == "" {
		return nil, &AuthError{Reason: "you are no longer a member of this workspace: sign in again"}
	}
	return &Principal{TenantID: claims.TenantID, UserID: claims.Subject, Role: role, ExpiresAt: claims.ExpiresAt}, nil
}

// role returns a user's role in a tenant, "" when they are no member or are disabled; cached for
// RoleCacheTTL.
func (s *Service) role(ctx context.Context, tenantID, userID string) (store.Role, error) {
	key := roleKey(tenantID, userID)
	if r, ok := s.roles.Get(key); ok {
		return r, nil
	}
	ticket := s.roles.Ticket()
	var role store.Role
	m, err := s.store.GetMembership(ctx, tenantID, userID)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalidInput):
	case err != nil:
		return "", err
	default:
		u, err := s.store.GetUser(ctx, userID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if err == nil && u.DisabledAt == nil {
			role = m.Role
		}
	}
	s.roles.Put(ticket, key, tenantID, userID, role)
	return role, nil
}

func (s *Service) authenticateKey(ctx context.Context, key string) (*Principal, error) {
	hash, kind, ok := auth.HashOpaque(key)
	if !ok || kind != auth.KindAPIKey {
		return nil, &AuthError{Reason: "the API key is malformed"}
	}
	now := s.now()
	c, ok := s.keys.Get(hash)
	if !ok {
		ticket := s.keys.Ticket()
		k, err := s.store.GetAPIKeyByHash(ctx, hash)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &AuthError{Reason: "unknown, revoked or expired API key"}
		}
		if err != nil {
			return nil, err
		}
		c = &cachedKey{key: k}
		if k.LastUsedAt != nil {
			c.touched.Store(k.LastUsedAt.UnixNano())
		}
		s.keys.Put(ticket, hash, k.TenantID, k.ID, c)
	}
	k := c.key
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		s.keys.Delete(hash)
		return nil, &AuthError{Reason: "unknown, revoked or expired API key"}
	}
	if last := c.touched.Load(); now.UnixNano()-last >= int64(store.APIKeyTouchInterval) && c.touched.CompareAndSwap(last, now.UnixNano()) {
		if _, err := s.store.TouchAPIKey(context.WithoutCancel(ctx), k.TenantID, k.ID, now); err != nil {
			s.logger.WarnContext(ctx, "Recording an API key's use failed", "key", k.ID, "error", err)
		}
	}
	p := &Principal{TenantID: k.TenantID, APIKeyID: k.ID, Role: k.Role}
	if k.ExpiresAt != nil {
		p.ExpiresAt = *k.ExpiresAt
	}
	return p, nil
}

// IssueTicket returns a single-use ticket that authenticates one Server-Sent Events request of the
// principal (EventSource cannot send headers) for TicketTTL. API keys get none: they can send headers.
func (s *Service) IssueTicket(p *Principal) (string, error) {
	if !p.IsUser() {
		return "", &ForbiddenError{Reason: "tickets are for the web app: an API key sends its Authorization header"}
	}
	t, _, err := s.tickets.Issue(auth.Claims{Subject: p.UserID, TenantID: p.TenantID})
	return t, err
}

// RedeemTicket resolves a ticket once; a second use, an expired or a forged ticket answers an AuthError.
func (s *Service) RedeemTicket(ctx context.Context, ticket string) (*Principal, error) {
	if len(ticket) > auth.MaxTokenLength {
		return nil, &AuthError{Reason: "the ticket is invalid"}
	}
	claims, err := s.tickets.Verify(ticket)
	if err != nil {
		return nil, &AuthError{Reason: "the ticket is invalid or expired: get a new one", Expired: errors.Is(err, auth.ErrTokenExpired)}
	}
	if _, fresh := s.usedTickets.SetIfAbsent(claims.ID, struct{}{}); !fresh {
		return nil, &AuthError{Reason: "the ticket was used already: get a new one"}
	}
	return s.userPrincipal(ctx, claims)
}
