package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/concertmaster/concertmaster/internal/auth"
	"github.com/concertmaster/concertmaster/internal/store"
)

// Session is what a sign-in, a refresh or a switch hands out.
type Session struct {
	AccessToken  string
	RefreshToken string
	// ExpiresAt is when the access token expires.
	ExpiresAt time.Time
	// RefreshExpiresAt is when the refresh token expires (for the cookie's lifetime).
	RefreshExpiresAt time.Time
	TenantID         string
	UserID           string
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// SetupParams is the first run's owner and workspace.
type SetupParams struct {
	Email, Password, Name string
	// Workspace names the first workspace (default FirstWorkspaceName).
	Workspace string
}

// SetupRequired reports whether no user exists yet: the first run's setup is open.
func (s *Service) SetupRequired(ctx context.Context) (bool, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	return n == 0, nil
}

// Setup creates the first user as the owner of the first workspace (the existing default tenant,
// renamed, so that what ran before identity stays theirs) and signs them in. It is refused with
// store.ErrConflict once any user exists.
func (s *Service) Setup(ctx context.Context, p SetupParams) (*Session, error) {
	if err := allow(ctx, s.cfg.SetupPerIP, ipKey(OriginFrom(ctx).IP)); err != nil {
		return nil, err
	}
	u, err := s.createFirstUser(ctx, p)
	if err != nil {
		return nil, err
	}
	return s.startSession(ctx, u.ID, store.DefaultTenant, "auth.login")
}

func (s *Service) createFirstUser(ctx context.Context, p SetupParams) (*store.User, error) {
	if required, err := s.SetupRequired(ctx); err != nil {
		return nil, err
	} else if !required {
		return nil, errSetUp
	}
	if err := checkEmail(p.Email); err != nil {
		return nil, err
	}
	if err := checkName("/name", p.Name); err != nil {
		return nil, err
	}
	if err := checkName("/workspace", p.Workspace); err != nil {
		return nil, err
	}
	workspace := strings.TrimSpace(p.Workspace)
	if workspace == "" {
		workspace = FirstWorkspaceName
	}
	hash, err := s.hashPassword("/password", p.Password, p.Email, p.Name)
	if err != nil {
		return nil, err
	}
	id := newID()
	ctx = store.WithAudit(ctx, withActor(Entry(ctx, store.DefaultTenant, "auth.setup", "user", id, map[string]string{"email": p.Email, "workspace": workspace}), id))
	u, err := s.store.CreateFirstUser(ctx, store.User{ID: id, Email: p.Email, Name: strings.TrimSpace(p.Name), PasswordHash: hash}, store.DefaultTenant, workspace)
	if errors.Is(err, store.ErrConflict) {
		return nil, errSetUp
	}
	return u, err
}

var errSetUp = fmt.Errorf("the server is set up already: sign in, or ask an admin to add you: %w", store.ErrConflict)

// withActor sets an entry's actor (for events where the actor is only now known).
func withActor(e store.AuditEntry, actor string) store.AuditEntry {
	e.Actor = actor
	return e
}

// Bootstrap creates the first owner from the environment (CM_BOOTSTRAP_EMAIL and
// CM_BOOTSTRAP_PASSWORD) when no user exists, and reports whether it did. It does nothing once a
// user exists.
func (s *Service) Bootstrap(ctx context.Context, email, password string) (bool, error) {
	required, err := s.SetupRequired(ctx)
	if err != nil || !required {
		return false, err
	}
	if _, err := s.createFirstUser(ctx, SetupParams{Email: email, Password: password}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return false, nil // another process bootstrapped first
		}
		return false, err
	}
	return true, nil
}

// LoginParams is a sign-in.
type LoginParams struct {
	Email, Password string
	// TenantID picks the workspace; empty means the user's first (by name).
	TenantID string
}

// Login checks an e-mail and password and starts a session. Every failure — unknown e-mail, wrong
// password, disabled user — answers ErrInvalidCredentials after the same work (an unknown e-mail
// verifies a dummy hash). Attempts are limited per client address and per account.
func (s *Service) Login(ctx context.Context, p LoginParams) (*Session, error) {
	origin := OriginFrom(ctx)
	if err := allow(ctx, s.cfg.LoginPerIP, ipKey(origin.IP)); err != nil {
		return nil, err
	}
	if err := allow(ctx, s.cfg.LoginPerAccount, accountKey(p.Email)); err != nil {
		return nil, err
	}
	defer s.hashed()
	if len(p.Email) > MaxEmailLength || len(p.Password) > auth.MaxPasswordLength {
		auth.DummyVerify(p.Password)
		return nil, s.loginFailed(ctx, "", truncate(p.Email, MaxEmailLength))
	}
	u, err := s.store.GetUserByEmail(ctx, p.Email)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidInput) {
		auth.DummyVerify(p.Password)
		return nil, s.loginFailed(ctx, "", p.Email)
	}
	if err != nil {
		return nil, err
	}
	ok, rehash, err := auth.VerifyPassword(u.PasswordHash, p.Password)
	if err != nil {
		s.logger.ErrorContext(ctx, "Stored password hash is malformed", "user", u.ID, "error", err)
		return nil, s.loginFailed(ctx, u.ID, p.Email)
	}
	if !ok || u.DisabledAt != nil {
		return nil, s.loginFailed(ctx, u.ID, p.Email)
	}
	if rehash && s.cfg.PasswordParams == nil {
		if h, err := auth.HashPassword(p.Password); err == nil {
			if _, err := s.store.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &h}); err != nil {
				s.logger.WarnContext(ctx, "Rehashing a password failed", "user", u.ID, "error", err)
			}
		}
	}
	tenantID := p.TenantID
	if tenantID == "" {
		tenants, err := s.store.ListUserTenants(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if len(tenants) == 0 {
			return nil, &ForbiddenError{Reason: "you belong to no workspace: ask an admin of one to add you"}
		}
		tenantID = tenants[0].TenantID
	} else if _, err := s.store.GetMembership(ctx, tenantID, u.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidInput) {
			return nil, fmt.Errorf("workspace %s: %w", truncate(tenantID, 64), store.ErrNotFound)
		}
		return nil, err
	}
	return s.startSession(ctx, u.ID, tenantID, "auth.login")
}

// loginFailed records a failed sign-in (server-wide: it belongs to no tenant) and returns
// ErrInvalidCredentials.
func (s *Service) loginFailed(ctx context.Context, userID, email string) error {
	e := Entry(ctx, "", "auth.login_failed", "user", userID, map[string]string{"email": truncate(email, MaxEmailLength)})
	e.Actor = userID
	if e.Actor == "" {
		e.Actor = "anonymous"
	}
	if err := s.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.logger.WarnContext(ctx, "Recording a failed sign-in failed", "error", err)
	}
	return ErrInvalidCredentials
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// startSession issues an access token and a new refresh token family, recording action.
func (s *Service) startSession(ctx context.Context, userID, tenantID, action string) (*Session, error) {
	plain, hash, err := auth.NewOpaque(auth.KindRefresh)
	if err != nil {
		return nil, err
	}
	now := s.now()
	familyExp := now.Add(s.cfg.RefreshMaxTTL)
	family := newID()
	t := store.RefreshToken{Hash: hash, FamilyID: family, UserID: userID, TenantID: tenantID,
		ExpiresAt: now.Add(s.cfg.RefreshTTL), FamilyExpiresAt: &familyExp}
	ctx = store.WithAudit(ctx, withActor(Entry(ctx, tenantID, action, "user", userID, map[string]string{"family": family}), userID))
	if err := s.store.CreateRefreshToken(ctx, t); err != nil {
		return nil, err
	}
	return s.session(userID, tenantID, plain, t.ExpiresAt)
}

func (s *Service) session(userID, tenantID, refresh string, refreshExp time.Time) (*Session, error) {
	access, exp, err := s.access.Issue(auth.Claims{Subject: userID, TenantID: tenantID})
	if err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, RefreshToken: refresh, ExpiresAt: exp, RefreshExpiresAt: refreshExp, TenantID: tenantID, UserID: userID}, nil
}

// Refresh exchanges a refresh token for a new session of the same family (rotation). A token that
// was already exchanged revokes its whole family (it may have been stolen). Every failure answers an
// AuthError.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (*Session, error) {
	hash, kind, ok := auth.HashOpaque(refreshToken)
	if !ok || kind != auth.KindRefresh {
		return nil, &AuthError{Reason: "the refresh token is malformed: sign in again"}
	}
	old, err := s.store.GetRefreshToken(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &AuthError{Reason: "unknown refresh token: sign in again"}
	}
	if err != nil {
		return nil, err
	}
	plain, newHash, err := auth.NewOpaque(auth.KindRefresh)
	if err != nil {
		return nil, err
	}
	ctx = store.WithAudit(ctx, withActor(Entry(ctx, old.TenantID, "auth.refresh", "user", old.UserID, map[string]string{"family": old.FamilyID}), old.UserID))
	next, err := s.store.RotateRefreshToken(ctx, hash, newHash, s.now().Add(s.cfg.RefreshTTL))
	switch {
	case errors.Is(err, store.ErrTokenReused):
		e := withActor(Entry(ctx, old.TenantID, "auth.refresh_reused", "user", old.UserID, map[string]string{"family": old.FamilyID}), old.UserID)
		if aerr := s.store.AppendAudit(context.WithoutCancel(ctx), e); aerr != nil {
			s.logger.WarnContext(ctx, "Recording a refresh token reuse failed", "error", aerr)
		}
		s.logger.WarnContext(ctx, "A rotated refresh token was presented again: its family is revoked", "user", old.UserID, "family", old.FamilyID)
		return nil, &AuthError{Reason: "the refresh token was already used: every session of this sign-in is revoked; sign in again"}
	case errors.Is(err, store.ErrTokenRevoked), errors.Is(err, store.ErrTokenExpired), errors.Is(err, store.ErrNotFound):
		return nil, &AuthError{Reason: "the refresh token is " + tokenState(err) + ": sign in again", Expired: errors.Is(err, store.ErrTokenExpired)}
	case err != nil:
		return nil, err
	}
	u, err := s.store.GetUser(ctx, next.UserID)
	if err != nil || u.DisabledAt != nil {
		return nil, &AuthError{Reason: "the account is disabled: sign in again"}
	}
	return s.session(next.UserID, next.TenantID, plain, next.ExpiresAt)
}

func tokenState(err error) string {
	switch {
	case errors.Is(err, store.ErrTokenRevoked):
		return "revoked"
	case errors.Is(err, store.ErrTokenExpired):
		return "expired"
	}
	return "unknown"
}

// Logout revokes the family of a refresh token. An unknown or malformed token changes nothing and is
// no error: signing out twice is fine.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	hash, kind, ok := auth.HashOpaque(refreshToken)
	if !ok || kind != auth.KindRefresh {
		return nil
	}
	t, err := s.store.GetRefreshToken(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.RevokedAt != nil {
		return nil
	}
	ctx = store.WithAudit(ctx, withActor(Entry(ctx, t.TenantID, "auth.logout", "user", t.UserID, map[string]string{"family": t.FamilyID}), t.UserID))
	if err := s.store.RevokeRefreshFamily(ctx, t.FamilyID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// Switch starts a session of the principal (a user) in another of their workspaces, revoking the
// family of refreshToken when it is theirs. ErrNotFound when they are no member of it.
func (s *Service) Switch(ctx context.Context, p *Principal, tenantID, refreshToken string) (*Session, error) {
	if !p.IsUser() {
		return nil, &ForbiddenError{Reason: "an API key belongs to one workspace and cannot switch"}
	}
	if _, err := s.store.GetMembership(ctx, tenantID, p.UserID); err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidInput) {
			return nil, fmt.Errorf("workspace %s: %w", truncate(tenantID, 64), store.ErrNotFound)
		}
		return nil, err
	}
	sess, err := s.startSession(ctx, p.UserID, tenantID, "auth.switch")
	if err != nil {
		return nil, err
	}
	if hash, kind, ok := auth.HashOpaque(refreshToken); ok && kind == auth.KindRefresh {
		if t, err := s.store.GetRefreshToken(ctx, hash); err == nil && t.UserID == p.UserID && t.RevokedAt == nil {
			if err := s.store.RevokeRefreshFamily(ctx, t.FamilyID); err != nil && !errors.Is(err, store.ErrNotFound) {
				s.logger.WarnContext(ctx, "Revoking the previous session after a switch failed", "error", err)
			}
		}
	}
	return sess, nil
}

// ChangePassword changes the principal's password after checking the current one.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	if !p.IsUser() {
		return &ForbiddenError{Reason: "an API key has no password"}
	}
	if err := allow(ctx, s.cfg.LoginPerAccount, "user:"+p.UserID); err != nil {
		return err
	}
	u, err := s.store.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	ok, _, err := auth.VerifyPassword(u.PasswordHash, truncate(current, auth.MaxPasswordLength+1))
	if err != nil || !ok {
		return &FieldError{Pointer: "/currentPassword", Message: "the current password is wrong"}
	}
	hash, err := s.hashPassword("/newPassword", next, u.Email, u.Name)
	if err != nil {
		return err
	}
	ctx = Audit(ctx, p.TenantID, "auth.password_changed", "user", u.ID, nil)
	_, err = s.store.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash})
	return err
}
