package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/auth"
	"github.com/concertmaster/concertmaster/internal/cache"
	"github.com/concertmaster/concertmaster/internal/store"
)

// MaxKeyNameLength bounds an API key's name.
const MaxKeyNameLength = 100

// Me describes a principal: who, in which workspace, with which role, and the other workspaces a
// user may switch to.
type Me struct {
	User    *store.User
	APIKey  *store.APIKey
	Tenant  *store.Tenant
	Role    store.Role
	Tenants []store.Membership
}

// Me returns what the principal is.
func (s *Service) Me(ctx context.Context, p *Principal) (*Me, error) {
	t, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return nil, err
	}
	me := &Me{Tenant: t, Role: p.Role}
	if !p.IsUser() {
		me.APIKey = &store.APIKey{ID: p.APIKeyID, TenantID: p.TenantID, Role: p.Role}
		me.Tenants = []store.Membership{{TenantID: t.ID, TenantName: t.Name, Role: p.Role}}
		return me, nil
	}
	if me.User, err = s.store.GetUser(ctx, p.UserID); err != nil {
		return nil, err
	}
	if me.Tenants, err = s.store.ListUserTenants(ctx, p.UserID); err != nil {
		return nil, err
	}
	return me, nil
}

// requireRole refuses a principal below min.
func requireRole(p *Principal, min store.Role) error {
	if !p.Role.AtLeast(min) {
		return &ForbiddenError{Reason: fmt.Sprintf("your role (%s) cannot do this: it takes %s or above", p.Role, min)}
	}
	return nil
}

// CreateTenant creates a workspace owned by the principal (a user).
func (s *Service) CreateTenant(ctx context.Context, p *Principal, name string) (*store.Tenant, error) {
	if !p.IsUser() {
		return nil, &ForbiddenError{Reason: "an API key cannot create workspaces"}
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, &FieldError{Pointer: "/name", Message: "give the workspace a name"}
	}
	if err := checkName("/name", name); err != nil {
		return nil, err
	}
	id := newID()
	ctx = Audit(ctx, id, "tenant.created", "tenant", id, map[string]string{"name": name})
	t, err := s.store.CreateTenantWithOwner(ctx, id, name, p.UserID)
	if err != nil {
		return nil, err
	}
	s.forgetRole(id, p.UserID)
	return t, nil
}

// ListMembers pages through the principal's workspace's members.
func (s *Service) ListMembers(ctx context.Context, p *Principal, params store.ListMembersParams) (*store.Page[store.Membership], error) {
	if err := requireRole(p, store.RoleAdmin); err != nil {
		return nil, err
	}
	return s.store.ListMembers(ctx, p.TenantID, params)
}

// AddMemberParams adds a member by e-mail.
type AddMemberParams struct {
	Email string
	Role  store.Role
	// Name and Password create the user when no user has the e-mail.
	Name, Password string
}

// canGrant refuses a role the principal may not hand out: above their own, or owner by a
// non-owner.
func canGrant(p *Principal, role store.Role, pointer string) error {
	if !role.Valid() {
		return &FieldError{Pointer: pointer, Message: "role must be one of owner, admin, editor, viewer"}
	}
	if role == store.RoleOwner && p.Role != store.RoleOwner {
		return &ForbiddenError{Reason: "only an owner can make someone an owner"}
	}
	if role.Rank() > p.Role.Rank() {
		return &ForbiddenError{Reason: fmt.Sprintf("you cannot grant a role above your own (%s)", p.Role)}
	}
	return nil
}

// AddMember adds a user to the principal's workspace; with a password it first creates the user when
// no user has the e-mail.
func (s *Service) AddMember(ctx context.Context, p *Principal, a AddMemberParams) (*store.Membership, error) {
	if err := requireRole(p, store.RoleAdmin); err != nil {
		return nil, err
	}
	if err := canGrant(p, a.Role, "/role"); err != nil {
		return nil, err
	}
	if err := checkEmail(a.Email); err != nil {
		return nil, err
	}
	if err := checkName("/name", a.Name); err != nil {
		return nil, err
	}
	u, err := s.store.GetUserByEmail(ctx, a.Email)
	if errors.Is(err, store.ErrNotFound) {
		if a.Password == "" {
			return nil, &FieldError{Pointer: "/email", Message: "no user has this e-mail: give a password to create their account"}
		}
		hash, herr := s.hashPassword("/password", a.Password, a.Email, a.Name)
		if herr != nil {
			return nil, herr
		}
		id := newID()
		cctx := Audit(ctx, p.TenantID, "user.created", "user", id, map[string]string{"email": a.Email})
		u, err = s.store.CreateUser(cctx, store.User{ID: id, Email: a.Email, Name: strings.TrimSpace(a.Name), PasswordHash: hash})
	}
	if err != nil {
		return nil, err
	}
	ctx = Audit(ctx, p.TenantID, "member.added", "user", u.ID, map[string]string{"email": u.Email, "role": string(a.Role)})
	m, err := s.store.AddMember(ctx, p.TenantID, u.ID, a.Role)
	if err != nil {
		return nil, err
	}
	s.forgetRole(p.TenantID, u.ID)
	m.Email, m.Name = u.Email, u.Name
	return m, nil
}

// target reads a member the principal is about to change, refusing their own row and an owner's
// unless the principal is an owner.
func (s *Service) target(ctx context.Context, p *Principal, userID, what string) (*store.Membership, error) {
	if err := requireRole(p, store.RoleAdmin); err != nil {
		return nil, err
	}
	m, err := s.store.GetMembership(ctx, p.TenantID, userID)
	if err != nil {
		if errors.Is(err, store.ErrInvalidInput) {
			return nil, fmt.Errorf("member: %w", store.ErrNotFound)
		}
		return nil, err
	}
	if userID == p.UserID {
		return nil, &ForbiddenError{Reason: "you cannot " + what + " yourself: ask another admin or owner"}
	}
	if m.Role == store.RoleOwner && p.Role != store.RoleOwner {
		return nil, &ForbiddenError{Reason: "only an owner can " + what + " an owner"}
	}
	return m, nil
}

// SetMemberRole changes a member's role. Nobody changes their own role; only an owner grants or
// changes the owner role; the last owner stays.
func (s *Service) SetMemberRole(ctx context.Context, p *Principal, userID string, role store.Role) (*store.Membership, error) {
	old, err := s.target(ctx, p, userID, "change the role of")
	if err != nil {
		return nil, err
	}
	if err := canGrant(p, role, "/role"); err != nil {
		return nil, err
	}
	ctx = Audit(ctx, p.TenantID, "member.role_changed", "user", userID, map[string]string{"from": string(old.Role), "to": string(role)})
	m, err := s.store.SetMemberRole(ctx, p.TenantID, userID, role)
	s.forgetRole(p.TenantID, userID)
	if err != nil {
		return nil, err
	}
	if u, err := s.store.GetUser(ctx, userID); err == nil {
		m.Email, m.Name, m.Disabled = u.Email, u.Name, u.DisabledAt != nil
	}
	return m, nil
}

// RemoveMember removes a member (and revokes their sessions in the workspace).
func (s *Service) RemoveMember(ctx context.Context, p *Principal, userID string) error {
	old, err := s.target(ctx, p, userID, "remove")
	if err != nil {
		return err
	}
	ctx = Audit(ctx, p.TenantID, "member.removed", "user", userID, map[string]string{"role": string(old.Role)})
	err = s.store.RemoveMember(ctx, p.TenantID, userID)
	s.forgetRole(p.TenantID, userID)
	return err
}

// CreateAPIKeyParams creates an API key.
type CreateAPIKeyParams struct {
	Name      string
	Role      store.Role
	ExpiresAt *time.Time
}

// CreateAPIKey creates a key of the principal's workspace and returns it with its secret, which is
// shown this once: only its hash is stored.
func (s *Service) CreateAPIKey(ctx context.Context, p *Principal, c CreateAPIKeyParams) (*store.APIKey, string, error) {
	if err := requireRole(p, store.RoleAdmin); err != nil {
		return nil, "", err
	}
	name := strings.TrimSpace(c.Name)
	if name == "" || len(name) > MaxKeyNameLength || strings.ContainsRune(name, 0) {
		return nil, "", &FieldError{Pointer: "/name", Message: fmt.Sprintf("give the key a name of 1 to %d characters", MaxKeyNameLength)}
	}
	if err := canGrant(p, c.Role, "/role"); err != nil {
		return nil, "", err
	}
	if c.ExpiresAt != nil && !c.ExpiresAt.After(s.now()) {
		return nil, "", &FieldError{Pointer: "/expiresAt", Message: "expiresAt must be in the future"}
	}
	plain, hash, err := auth.NewOpaque(auth.KindAPIKey)
	if err != nil {
		return nil, "", err
	}
	id := newID()
	details := map[string]any{"name": name, "role": c.Role}
	if c.ExpiresAt != nil {
		details["expiresAt"] = c.ExpiresAt.UTC()
	}
	ctx = Audit(ctx, p.TenantID, "apikey.created", "apikey", id, details)
	k, err := s.store.CreateAPIKey(ctx, store.APIKey{TenantID: p.TenantID, ID: id, Name: name, Role: c.Role, Hash: hash, CreatedBy: p.Actor(), ExpiresAt: c.ExpiresAt})
	if err != nil {
		return nil, "", err
	}
	k.Hash = ""
	return k, plain, nil
}

// ListAPIKeys pages through the workspace's keys.
func (s *Service) ListAPIKeys(ctx context.Context, p *Principal, params store.ListAPIKeysParams) (*store.Page[store.APIKey], error) {
	if err := requireRole(p, store.RoleAdmin); err != nil {
		return nil, err
	}
	return s.store.ListAPIKeys(ctx, p.TenantID, params)
}

// RevokeAPIKey revokes a key of the workspace; it stops working at once in this process and, through
// the cache link (ADR 0024), in the others (within RoleCacheTTL should the signal be lost).
func (s *Service) RevokeAPIKey(ctx context.Context, p *Principal, id string) error {
	if err := requireRole(p, store.RoleAdmin); err != nil {
		return err
	}
	ctx = Audit(ctx, p.TenantID, "apikey.revoked", "apikey", id, nil)
	err := s.store.RevokeAPIKey(ctx, p.TenantID, id)
	s.cfg.Caches.Changed(cache.Invalidation{Scope: cache.ScopeAPIKeys, TenantID: p.TenantID, Key: id})
	if errors.Is(err, store.ErrInvalidInput) {
		return fmt.Errorf("API key %s: %w", truncate(id, 64), store.ErrNotFound)
	}
	return err
}

// ListAudit pages through the workspace's audit log.
func (s *Service) ListAudit(ctx context.Context, p *Principal, params store.ListAuditParams) (*store.Page[store.AuditEntry], error) {
	if err := requireRole(p, store.RoleAdmin); err != nil {
		return nil, err
	}
	return s.store.ListAudit(ctx, p.TenantID, params)
}

// CreateUserParams is a user made from the shell (concertmaster admin create-user).
type CreateUserParams struct {
	Email, Password, Name string
	// TenantID is the workspace to join (default: the first one, store.DefaultTenant); Role the
	// role in it (default owner for the first user, else editor).
	TenantID string
	Role     store.Role
	// Workspace names the first workspace when this is the first user.
	Workspace string
}

// CreateUser adds a user from the shell: the first one is set up as the owner of the first
// workspace (like Setup); later ones join TenantID with Role.
func (s *Service) CreateUser(ctx context.Context, c CreateUserParams) (*store.User, *store.Membership, error) {
	first, err := s.SetupRequired(ctx)
	if err != nil {
		return nil, nil, err
	}
	if first {
		if c.Role != "" && c.Role != store.RoleOwner {
			return nil, nil, &FieldError{Pointer: "/role", Message: "the first user is the owner: leave the role out"}
		}
		u, err := s.createFirstUser(ctx, SetupParams{Email: c.Email, Password: c.Password, Name: c.Name, Workspace: c.Workspace})
		if err != nil {
			return nil, nil, err
		}
		m, err := s.store.GetMembership(ctx, store.DefaultTenant, u.ID)
		return u, m, err
	}
	tenantID := c.TenantID
	if tenantID == "" {
		tenantID = store.DefaultTenant
	}
	role := c.Role
	if role == "" {
		role = store.RoleEditor
	}
	if !role.Valid() {
		return nil, nil, &FieldError{Pointer: "/role", Message: "role must be one of owner, admin, editor, viewer"}
	}
	if _, err := s.store.GetTenant(ctx, tenantID); err != nil {
		return nil, nil, err
	}
	if err := checkEmail(c.Email); err != nil {
		return nil, nil, err
	}
	if err := checkName("/name", c.Name); err != nil {
		return nil, nil, err
	}
	hash, err := s.hashPassword("/password", c.Password, c.Email, c.Name)
	if err != nil {
		return nil, nil, err
	}
	id := newID()
	u, err := s.store.CreateUser(Audit(ctx, tenantID, "user.created", "user", id, map[string]string{"email": c.Email}),
		store.User{ID: id, Email: c.Email, Name: strings.TrimSpace(c.Name), PasswordHash: hash})
	if err != nil {
		return nil, nil, err
	}
	m, err := s.store.AddMember(Audit(ctx, tenantID, "member.added", "user", id, map[string]string{"email": c.Email, "role": string(role)}), tenantID, id, role)
	return u, m, err
}
