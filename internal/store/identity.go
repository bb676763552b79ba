package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Errors of the identity store.
var (
	// ErrLastOwner is returned when a change would leave a tenant without an owner.
	ErrLastOwner = fmt.Errorf("a tenant must keep at least one owner: make another member owner first: %w", ErrConflict)
	// ErrTokenReused means a refresh token that had already been rotated was presented again: its
	// whole family has just been revoked (the token may have been stolen).
	ErrTokenReused = errors.New("refresh token reused; its family is revoked")
	// ErrTokenRevoked means the refresh token's family was revoked (logout, reuse, a removed member).
	ErrTokenRevoked = errors.New("refresh token revoked")
	// ErrTokenExpired means the refresh token, or its family, expired.
	ErrTokenExpired = errors.New("refresh token expired")
)

// Role is a member's or an API key's role in a tenant: owner > admin > editor > viewer.
type Role string

// The roles, from the most to the least powerful.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleEditor Role = "editor"
	RoleViewer Role = "viewer"
)

// Rank orders roles: viewer 1, editor 2, admin 3, owner 4; 0 for a string that is no role.
func (r Role) Rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	case RoleOwner:
		return 4
	}
	return 0
}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool { return r.Rank() > 0 }

// AtLeast reports whether r is a valid role at least as powerful as min.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.Rank() >= min.Rank() }

// User is a person who signs in. Users are global: they reach tenants through memberships.
type User struct {
	ID string
	// Email is kept as given; it is unique compared lower-cased.
	Email string
	Name  string
	// PasswordHash is the encoded hash (a PHC string); the store never interprets it.
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// DisabledAt is set once the user is disabled.
	DisabledAt *time.Time
}

// UserUpdate changes a user: each field that is not nil is written.
type UserUpdate struct {
	Name         *string
	PasswordHash *string
}

// Membership is a user's role in a tenant.
type Membership struct {
	TenantID string
	UserID   string
	Role     Role
	// TenantName is set by ListUserTenants.
	TenantName string
	// Email, Name and Disabled describe the user; set by ListMembers.
	Email     string
	Name      string
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ListMembersParams pages ListMembers.
type ListMembersParams struct {
	// Limit is the page size (1 to 500; 0 means 50).
	Limit  int
	Cursor string
}

// RefreshToken is one stored refresh token and its family.
type RefreshToken struct {
	// Hash is the token's hash (the store keeps nothing else of the token).
	Hash     string
	FamilyID string
	UserID   string
	TenantID string
	// ExpiresAt is when this token expires (sliding).
	ExpiresAt time.Time
	// FamilyExpiresAt, when set, is when the whole family expires (absolute): no token of the
	// family outlives it.
	FamilyExpiresAt *time.Time
	CreatedAt       time.Time
	UsedAt          *time.Time
	RevokedAt       *time.Time
}

// APIKey is a machine credential of a tenant. It acts as itself (actor "apikey:<id>"), with its role.
type APIKey struct {
	TenantID string
	ID       string
	Name     string
	Role     Role
	// Hash is the key's hash; list results leave it empty.
	Hash string
	// CreatedBy is the actor who created the key.
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// ListAPIKeysParams filters and pages ListAPIKeys.
type ListAPIKeysParams struct {
	// IncludeRevoked lists revoked keys too.
	IncludeRevoked bool
	// Limit is the page size (1 to 500; 0 means 50).
	Limit  int
	Cursor string
}

// APIKeyTouchInterval is how old a key's last-used time must be before TouchAPIKey writes it again.
const APIKeyTouchInterval = time.Minute

// AuditEntry is one record of the append-only audit log.
type AuditEntry struct {
	// TenantID is empty for server-wide events that belong to no tenant, such as a failed login for
	// an unknown e-mail; ListAudit with an empty tenant id lists them.
	TenantID string
	// ID is time-ordered; the store assigns a UUIDv7 when it is empty.
	ID string
	// Time defaults to the store's clock when zero.
	Time time.Time
	// Actor is who acted: a user id, "apikey:<id>", or "system".
	Actor string
	// Action is what happened, such as "workflow.updated" or "auth.login_failed".
	Action     string
	TargetType string
	TargetID   string
	IP         string
	UserAgent  string
	// Details is a JSON object, such as a workflow's before/after diff; nil for none.
	Details json.RawMessage
}

// ListAuditParams filters and pages ListAudit. Every filter that is set must match.
type ListAuditParams struct {
	Actor      string
	Action     string
	TargetType string
	TargetID   string
	// Since keeps entries at or after it; Until keeps entries before it.
	Since, Until time.Time
	// Ascending lists the oldest first; the default is the newest first.
	Ascending bool
	// Limit is the page size (1 to 500; 0 means 50).
	Limit  int
	Cursor string
}

// Tenant is a workspace: the unit every workflow, execution, key and audit entry belongs to.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Identity is the store of users, memberships, refresh tokens, API keys and the audit log.
//
// Users, refresh tokens and API keys looked up by hash are global: the caller does not know the
// tenant yet. Everything else is scoped by tenant.
type Identity interface {
	// CreateUser adds a user. ErrConflict when another user has the same e-mail, compared
	// lower-cased; ErrInvalidInput when the id or the e-mail is empty.
	CreateUser(ctx context.Context, u User) (*User, error)
	// GetUser returns a user, disabled or not.
	GetUser(ctx context.Context, id string) (*User, error)
	// GetUserByEmail returns the user with this e-mail, compared lower-cased.
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	// UpdateUser writes the fields of update that are set and returns the user.
	UpdateUser(ctx context.Context, id string, update UserUpdate) (*User, error)
	// DisableUser marks a user disabled and revokes all their refresh token families, in one
	// transaction. Disabling a disabled user changes nothing. ErrLastOwner when the user is the
	// last owner (not disabled) of a tenant: a disabled owner counts for no tenant.
	DisableUser(ctx context.Context, id string) error
	// CountUsers returns how many users exist (0 on first run).
	CountUsers(ctx context.Context) (int, error)
	// CreateFirstUser is the first run's setup, in one transaction: while no user exists it adds u,
	// renames the existing tenant tenantID to tenantName and makes u its owner. ErrConflict once any
	// user exists — also for the loser of concurrent calls — and ErrNotFound when the tenant does
	// not exist.
	CreateFirstUser(ctx context.Context, u User, tenantID, tenantName string) (*User, error)

	// GetTenant returns a tenant.
	GetTenant(ctx context.Context, id string) (*Tenant, error)
	// CreateTenantWithOwner adds a tenant and makes the user its owner, in one transaction.
	// ErrConflict when the id is taken; ErrNotFound when the user does not exist.
	CreateTenantWithOwner(ctx context.Context, id, name, ownerID string) (*Tenant, error)

	// AddMember gives a user a role in a tenant. ErrConflict when they are a member already;
	// ErrNotFound when the user or the tenant does not exist.
	AddMember(ctx context.Context, tenantID, userID string, role Role) (*Membership, error)
	// GetMembership returns a user's membership of a tenant.
	GetMembership(ctx context.Context, tenantID, userID string) (*Membership, error)
	// SetMemberRole changes a member's role. ErrLastOwner (an ErrConflict) when it would demote
	// the tenant's last owner: every tenant keeps at least one owner who is not disabled.
	SetMemberRole(ctx context.Context, tenantID, userID string, role Role) (*Membership, error)
	// RemoveMember removes a user from a tenant and revokes their refresh token families of the
	// tenant. ErrLastOwner when they are its last owner.
	RemoveMember(ctx context.Context, tenantID, userID string) error
	// ListMembers pages through a tenant's members by e-mail, with their e-mail and name.
	ListMembers(ctx context.Context, tenantID string, params ListMembersParams) (*Page[Membership], error)
	// ListUserTenants returns the tenants a user belongs to, by tenant name, with their role.
	ListUserTenants(ctx context.Context, userID string) ([]Membership, error)

	// CreateRefreshToken starts a family (t.FamilyID, t.UserID, t.TenantID, t.FamilyExpiresAt)
	// with its first token (t.Hash, t.ExpiresAt, capped at the family's expiry). ErrConflict when
	// the family or the hash exists; ErrNotFound when the user or the tenant does not.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// GetRefreshToken returns a token by hash, with its family, whatever its state.
	GetRefreshToken(ctx context.Context, hash string) (*RefreshToken, error)
	// RotateRefreshToken exchanges a current token for the next one of its family, atomically: the
	// old token is marked used and newHash is stored, expiring at newExpiresAt (capped at the
	// family's expiry). It returns the new token. Errors: ErrNotFound for an unknown hash,
	// ErrTokenRevoked for a revoked family, ErrTokenExpired for an expired token or family, and
	// ErrTokenReused when the old token was already used — the family is then revoked, and that
	// revocation commits, without the audit entries of ctx (they record a refresh that did not
	// happen; record the reuse with AppendAudit). Of concurrent rotations of one token, exactly one
	// succeeds; the others are reuses.
	RotateRefreshToken(ctx context.Context, oldHash, newHash string, newExpiresAt time.Time) (*RefreshToken, error)
	// RevokeRefreshFamily revokes a family (logout). ErrNotFound for an unknown family; revoking a
	// revoked family changes nothing.
	RevokeRefreshFamily(ctx context.Context, familyID string) error
	// PurgeRefreshTokens deletes the tokens that expired before `before`, and the families left
	// without tokens, and returns how many tokens it deleted.
	PurgeRefreshTokens(ctx context.Context, before time.Time) (int, error)

	// CreateAPIKey stores a key. ErrConflict when the id or the hash is taken; ErrNotFound when
	// the tenant does not exist.
	CreateAPIKey(ctx context.Context, key APIKey) (*APIKey, error)
	// GetAPIKeyByHash returns the key with this hash, across tenants, only when it can be used: a
	// revoked or expired key answers ErrNotFound, like an unknown one.
	GetAPIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	// ListAPIKeys pages through a tenant's keys, oldest first, never with their hashes.
	ListAPIKeys(ctx context.Context, tenantID string, params ListAPIKeysParams) (*Page[APIKey], error)
	// RevokeAPIKey revokes a key; ErrNotFound when it does not exist or is already revoked.
	RevokeAPIKey(ctx context.Context, tenantID, id string) error
	// TouchAPIKey records that a key was used at `at`. It writes only when the stored last-used
	// time is missing or at least APIKeyTouchInterval older, and reports whether it wrote.
	TouchAPIKey(ctx context.Context, tenantID, id string, at time.Time) (bool, error)

	// AppendAudit writes security events (and any entries WithAudit put in ctx) in one transaction.
	AppendAudit(ctx context.Context, entries ...AuditEntry) error
	// ListAudit pages through a tenant's audit log with filters, newest first unless
	// params.Ascending.
	ListAudit(ctx context.Context, tenantID string, params ListAuditParams) (*Page[AuditEntry], error)
}
