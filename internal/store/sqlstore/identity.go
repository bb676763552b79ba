package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
)

// emailKey is the form e-mails are compared in: lower-cased by Go, alike on both dialects (SQLite's
// LOWER folds ASCII only).
func emailKey(email string) string { return strings.ToLower(email) }

func (s *Store) nowMicro() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func checkRole(r store.Role) error {
	if !r.Valid() {
		return fmt.Errorf("role %q is not one of owner, admin, editor, viewer: %w", string(r), store.ErrInvalidInput)
	}
	return nil
}

// required refuses empty values; it takes name/value pairs.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return fmt.Errorf("%s is empty: %w", pairs[i], store.ErrInvalidInput)
		}
	}
	return nil
}

const userColumns = `id, email, name, password_hash, created_at, updated_at, disabled_at`

func scanUser(row interface{ Scan(...any) error }) (*store.User, error) {
	var u store.User
	var created, updated, disabled nullTime
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &created, &updated, &disabled); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt, u.DisabledAt = created.Time, updated.Time, disabled.ptr()
	return &u, nil
}

// CreateUser implements store.Identity.
func (s *Store) CreateUser(ctx context.Context, u store.User) (*store.User, error) {
	if err := checkText("user id", u.ID, "e-mail", u.Email, "user name", u.Name, "password hash", u.PasswordHash); err != nil {
		return nil, err
	}
	if err := required("user id", u.ID, "e-mail", u.Email); err != nil {
		return nil, err
	}
	now := s.nowMicro()
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		var taken int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE email_key = ?`, emailKey(u.Email)).Scan(&taken); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		if taken > 0 {
			return fmt.Errorf("a user with this e-mail already exists: %w", store.ErrConflict)
		}
		_, err := tx.exec(ctx, `INSERT INTO users (id, email, email_key, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, emailKey(u.Email), u.Name, u.PasswordHash, s.t(now), s.t(now))
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("a user with this id or e-mail already exists: %w", store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt, u.DisabledAt = now, now, nil
	return &u, nil
}

// GetUser implements store.Identity.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	if err := checkText("user id", id); err != nil {
		return nil, err
	}
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// GetUserByEmail implements store.Identity.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	if err := checkText("e-mail", email); err != nil {
		return nil, err
	}
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = ?`, emailKey(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get user by e-mail: %w", err)
	}
	return u, nil
}

// UpdateUser implements store.Identity.
func (s *Store) UpdateUser(ctx context.Context, id string, update store.UserUpdate) (*store.User, error) {
	var name, hash any
	if err := checkText("user id", id); err != nil {
		return nil, err
	}
	if update.Name != nil {
		if err := checkText("user name", *update.Name); err != nil {
			return nil, err
		}
		name = *update.Name
	}
	if update.PasswordHash != nil {
		if err := checkText("password hash", *update.PasswordHash); err != nil {
			return nil, err
		}
		hash = *update.PasswordHash
	}
	now := s.nowMicro()
	var out *store.User
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res, err := tx.exec(ctx, `UPDATE users SET name = COALESCE(?, name), password_hash = COALESCE(?, password_hash), updated_at = ? WHERE id = ?`,
			name, hash, s.t(now), id)
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %s: %w", id, store.ErrNotFound)
		}
		out, err = scanUser(tx.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
		if err != nil {
			return fmt.Errorf("read updated user: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DisableUser implements store.Identity.
func (s *Store) DisableUser(ctx context.Context, id string) error {
	if err := checkText("user id", id); err != nil {
		return err
	}
	now := s.t(s.nowMicro())
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		if err := s.guardOwnerships(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ? AND disabled_at IS NULL`, now, now, id)
		if err != nil {
			return fmt.Errorf("disable user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			err := tx.queryRow(ctx, `SELECT 1 FROM users WHERE id = ?`, id).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("user %s: %w", id, store.ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("disable user: %w", err)
			}
		}
		if _, err := tx.exec(ctx, `UPDATE refresh_families SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, now, id); err != nil {
			return fmt.Errorf("revoke refresh tokens: %w", err)
		}
		return nil
	})
}

// guardOwnerships refuses to disable a user who is the last owner (not disabled) of a tenant. It
// locks every tenant the user belongs to, in id order (so that two of these never wait on each
// other), and reads the user's roles under those locks.
func (s *Store) guardOwnerships(ctx context.Context, tx *wtx, userID string) error {
	tenants, err := s.userTenantIDs(ctx, tx, userID)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if err := s.lockTenant(ctx, tx, t); err != nil {
			return err
		}
		role, err := s.memberRole(ctx, tx, t, userID)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return err
		}
		if role == store.RoleOwner {
			if err := s.guardLastOwner(ctx, tx, t, userID); err != nil {
				return fmt.Errorf("tenant %s: %w", t, err)
			}
		}
	}
	return nil
}

// userTenantIDs lists the tenants a user belongs to, by id, in tx.
func (s *Store) userTenantIDs(ctx context.Context, tx *wtx, userID string) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT tenant_id FROM memberships WHERE user_id = ? ORDER BY tenant_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list memberships: %w", err)
	}
	defer rows.Close()
	var tenants []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("list memberships: %w", err)
		}
		tenants = append(tenants, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list memberships: %w", err)
	}
	return tenants, nil
}

// CountUsers implements store.Identity.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// lockTenant checks that the tenant exists and, on PostgreSQL, locks its row until tx ends, so that
// the membership changes of one tenant take turns: the last-owner guard then counts owners no
// concurrent transaction is changing. (SQLite runs one write transaction at a time.)
func (s *Store) lockTenant(ctx context.Context, tx *wtx, tenantID string) error {
	var id string
	err := tx.queryRow(ctx, `SELECT id FROM tenants WHERE id = ?`+s.forUpdate(), tenantID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("tenant %s: %w", tenantID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("lock tenant: %w", err)
	}
	return nil
}

func scanMembership(row interface{ Scan(...any) error }) (*store.Membership, error) {
	var m store.Membership
	var role string
	var created, updated nullTime
	if err := row.Scan(&m.TenantID, &m.UserID, &role, &created, &updated); err != nil {
		return nil, err
	}
	m.Role, m.CreatedAt, m.UpdatedAt = store.Role(role), created.Time, updated.Time
	return &m, nil
}

const membershipColumns = `tenant_id, user_id, role, created_at, updated_at`

// AddMember implements store.Identity.
func (s *Store) AddMember(ctx context.Context, tenantID, userID string, role store.Role) (*store.Membership, error) {
	if err := checkText("tenant id", tenantID, "user id", userID); err != nil {
		return nil, err
	}
	if err := checkRole(role); err != nil {
		return nil, err
	}
	now := s.nowMicro()
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		if err := s.lockTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		var one int
		err := tx.queryRow(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %s: %w", userID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("add member: %w", err)
		}
		_, err = tx.exec(ctx, `INSERT INTO memberships (tenant_id, user_id, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			tenantID, userID, string(role), s.t(now), s.t(now))
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("user %s is already a member of the tenant: %w", userID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("add member: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &store.Membership{TenantID: tenantID, UserID: userID, Role: role, CreatedAt: now, UpdatedAt: now}, nil
}

// GetMembership implements store.Identity.
func (s *Store) GetMembership(ctx context.Context, tenantID, userID string) (*store.Membership, error) {
	if err := checkText("tenant id", tenantID, "user id", userID); err != nil {
		return nil, err
	}
	m, err := scanMembership(s.queryRow(ctx, `SELECT `+membershipColumns+` FROM memberships WHERE tenant_id = ? AND user_id = ?`, tenantID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("member %s: %w", userID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get membership: %w", err)
	}
	return m, nil
}

// memberRole reads a member's role in tx.
func (s *Store) memberRole(ctx context.Context, tx *wtx, tenantID, userID string) (store.Role, error) {
	var role string
	err := tx.queryRow(ctx, `SELECT role FROM memberships WHERE tenant_id = ? AND user_id = ?`, tenantID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("member %s: %w", userID, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read membership: %w", err)
	}
	return store.Role(role), nil
}

// guardLastOwner refuses to take the owner role (by a demotion, a removal or disabling the user)
// from userID when no other owner who is not disabled would remain. The caller holds the tenant's
// lock (lockTenant).
func (s *Store) guardLastOwner(ctx context.Context, tx *wtx, tenantID, userID string) error {
	var others int
	if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = ? AND m.role = ? AND m.user_id <> ? AND u.disabled_at IS NULL`,
		tenantID, string(store.RoleOwner), userID).Scan(&others); err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	if others == 0 {
		return store.ErrLastOwner
	}
	return nil
}

// SetMemberRole implements store.Identity.
func (s *Store) SetMemberRole(ctx context.Context, tenantID, userID string, role store.Role) (*store.Membership, error) {
	if err := checkText("tenant id", tenantID, "user id", userID); err != nil {
		return nil, err
	}
	if err := checkRole(role); err != nil {
		return nil, err
	}
	now := s.nowMicro()
	var out *store.Membership
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		if err := s.lockTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		current, err := s.memberRole(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		if current == store.RoleOwner && role != store.RoleOwner {
			if err := s.guardLastOwner(ctx, tx, tenantID, userID); err != nil {
				return err
			}
		}
		if _, err := tx.exec(ctx, `UPDATE memberships SET role = ?, updated_at = ? WHERE tenant_id = ? AND user_id = ?`,
			string(role), s.t(now), tenantID, userID); err != nil {
			return fmt.Errorf("set member role: %w", err)
		}
		out, err = scanMembership(tx.queryRow(ctx, `SELECT `+membershipColumns+` FROM memberships WHERE tenant_id = ? AND user_id = ?`, tenantID, userID))
		if err != nil {
			return fmt.Errorf("read membership: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RemoveMember implements store.Identity.
func (s *Store) RemoveMember(ctx context.Context, tenantID, userID string) error {
	if err := checkText("tenant id", tenantID, "user id", userID); err != nil {
		return err
	}
	now := s.t(s.nowMicro())
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		if err := s.lockTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		current, err := s.memberRole(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		if current == store.RoleOwner {
			if err := s.guardLastOwner(ctx, tx, tenantID, userID); err != nil {
				return err
			}
		}
		if _, err := tx.exec(ctx, `DELETE FROM memberships WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if _, err := tx.exec(ctx, `UPDATE refresh_families SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL`,
			now, tenantID, userID); err != nil {
			return fmt.Errorf("revoke refresh tokens: %w", err)
		}
		return nil
	})
}

// ListMembers implements store.Identity.
func (s *Store) ListMembers(ctx context.Context, tenantID string, params store.ListMembersParams) (*store.Page[store.Membership], error) {
	if err := checkText("tenant id", tenantID); err != nil {
		return nil, err
	}
	limit := pageLimit(params.Limit)
	args := []any{tenantID}
	cond := ""
	if params.Cursor != "" {
		// The user id comes first: an e-mail may hold the cursor's separator.
		userID, key, err := decodeCursor(params.Cursor)
		if err != nil {
			return nil, err
		}
		cond = ` AND (u.email_key, m.user_id) > (?, ?)`
		args = append(args, key, userID)
	}
	args = append(args, limit+1)
	// The cursor is the member's e-mail key, which Membership does not carry.
	keys := make(map[string]string)
	return queryPage(ctx, s, "members", limit,
		func(rows *sql.Rows) (store.Membership, error) {
			var m store.Membership
			var role, key string
			var created, updated, disabled nullTime
			err := rows.Scan(&m.TenantID, &m.UserID, &role, &created, &updated, &m.Email, &m.Name, &disabled, &key)
			m.Role, m.CreatedAt, m.UpdatedAt, m.Disabled = store.Role(role), created.Time, updated.Time, disabled.Valid
			keys[m.UserID] = key
			return m, err
		},
		func(m store.Membership) string { return encodeCursor(m.UserID, keys[m.UserID]) },
		`SELECT m.tenant_id, m.user_id, m.role, m.created_at, m.updated_at, u.email, u.name, u.disabled_at, u.email_key
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = ?`+cond+` ORDER BY u.email_key, m.user_id LIMIT ?`, args...)
}

// ListUserTenants implements store.Identity.
func (s *Store) ListUserTenants(ctx context.Context, userID string) ([]store.Membership, error) {
	if err := checkText("user id", userID); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT m.tenant_id, m.user_id, m.role, m.created_at, m.updated_at, t.name
		FROM memberships m JOIN tenants t ON t.id = m.tenant_id WHERE m.user_id = ? ORDER BY t.name, t.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list user tenants: %w", err)
	}
	defer rows.Close()
	var out []store.Membership
	for rows.Next() {
		var m store.Membership
		var role string
		var created, updated nullTime
		if err := rows.Scan(&m.TenantID, &m.UserID, &role, &created, &updated, &m.TenantName); err != nil {
			return nil, fmt.Errorf("list user tenants: %w", err)
		}
		m.Role, m.CreatedAt, m.UpdatedAt = store.Role(role), created.Time, updated.Time
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list user tenants: %w", err)
	}
	return out, nil
}

// CreateFirstUser implements store.Identity. Locking the tenant's row first makes concurrent calls
// take turns: on PostgreSQL the second one's count of users, a later statement, sees the first one's
// user.
func (s *Store) CreateFirstUser(ctx context.Context, u store.User, tenantID, tenantName string) (*store.User, error) {
	if err := checkText("user id", u.ID, "e-mail", u.Email, "user name", u.Name, "password hash", u.PasswordHash, "tenant id", tenantID, "tenant name", tenantName); err != nil {
		return nil, err
	}
	if err := required("user id", u.ID, "e-mail", u.Email, "tenant name", tenantName); err != nil {
		return nil, err
	}
	now := s.nowMicro()
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		if err := s.lockTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		var users int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&users); err != nil {
			return fmt.Errorf("first user: %w", err)
		}
		if users > 0 {
			return fmt.Errorf("the server is set up already: sign in: %w", store.ErrConflict)
		}
		if _, err := tx.exec(ctx, `INSERT INTO users (id, email, email_key, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, emailKey(u.Email), u.Name, u.PasswordHash, s.t(now), s.t(now)); err != nil {
			return fmt.Errorf("first user: %w", err)
		}
		if _, err := tx.exec(ctx, `UPDATE tenants SET name = ? WHERE id = ?`, tenantName, tenantID); err != nil {
			return fmt.Errorf("first user: name the tenant: %w", err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO memberships (tenant_id, user_id, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			tenantID, u.ID, string(store.RoleOwner), s.t(now), s.t(now)); err != nil {
			return fmt.Errorf("first user: membership: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt, u.DisabledAt = now, now, nil
	return &u, nil
}

// GetTenant implements store.Identity.
func (s *Store) GetTenant(ctx context.Context, id string) (*store.Tenant, error) {
	if err := checkText("tenant id", id); err != nil {
		return nil, err
	}
	var t store.Tenant
	var created nullTime
	err := s.queryRow(ctx, `SELECT id, name, created_at FROM tenants WHERE id = ?`, id).Scan(&t.ID, &t.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("tenant %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get tenant: %w", err)
	}
	t.CreatedAt = created.Time
	return &t, nil
}

// CreateTenantWithOwner implements store.Identity.
func (s *Store) CreateTenantWithOwner(ctx context.Context, id, name, ownerID string) (*store.Tenant, error) {
	if err := checkText("tenant id", id, "tenant name", name, "user id", ownerID); err != nil {
		return nil, err
	}
	if err := required("tenant id", id, "tenant name", name, "user id", ownerID); err != nil {
		return nil, err
	}
	now := s.nowMicro()
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		var one int
		err := tx.queryRow(ctx, `SELECT 1 FROM users WHERE id = ?`, ownerID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %s: %w", ownerID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("create tenant: %w", err)
		}
		_, err = tx.exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`, id, name, s.t(now))
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("tenant %s: %w", id, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create tenant: %w", err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO memberships (tenant_id, user_id, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			id, ownerID, string(store.RoleOwner), s.t(now), s.t(now)); err != nil {
			return fmt.Errorf("create tenant: membership: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &store.Tenant{ID: id, Name: name, CreatedAt: now}, nil
}
