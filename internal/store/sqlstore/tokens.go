package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
)

const refreshColumns = `t.token_hash, t.family_id, f.user_id, f.tenant_id, t.expires_at, f.expires_at, t.created_at, t.used_at, f.revoked_at`

func scanRefreshToken(row interface{ Scan(...any) error }) (*store.RefreshToken, error) {
	var t store.RefreshToken
	var expires, famExpires, created, used, revoked nullTime
	if err := row.Scan(&t.Hash, &t.FamilyID, &t.UserID, &t.TenantID, &expires, &famExpires, &created, &used, &revoked); err != nil {
		return nil, err
	}
	t.ExpiresAt, t.FamilyExpiresAt, t.CreatedAt, t.UsedAt, t.RevokedAt = expires.Time, famExpires.ptr(), created.Time, used.ptr(), revoked.ptr()
	return &t, nil
}

// capExpiry returns the earlier of a token's expiry and its family's.
func capExpiry(at time.Time, family *time.Time) time.Time {
	at = at.UTC().Truncate(time.Microsecond)
	if family != nil && family.Before(at) {
		return family.UTC().Truncate(time.Microsecond)
	}
	return at
}

// CreateRefreshToken implements store.Identity.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if err := checkText("family id", t.FamilyID, "token hash", t.Hash, "user id", t.UserID, "tenant id", t.TenantID); err != nil {
		return err
	}
	if err := required("family id", t.FamilyID, "token hash", t.Hash, "user id", t.UserID, "tenant id", t.TenantID); err != nil {
		return err
	}
	if t.ExpiresAt.IsZero() {
		return fmt.Errorf("refresh token expiry is missing: %w", store.ErrInvalidInput)
	}
	now := s.nowMicro()
	expires := capExpiry(t.ExpiresAt, t.FamilyExpiresAt)
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		var users, tenants int
		if err := tx.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM users WHERE id = ?), (SELECT COUNT(*) FROM tenants WHERE id = ?)`,
			t.UserID, t.TenantID).Scan(&users, &tenants); err != nil {
			return fmt.Errorf("create refresh token: %w", err)
		}
		if users == 0 {
			return fmt.Errorf("user %s: %w", t.UserID, store.ErrNotFound)
		}
		if tenants == 0 {
			return fmt.Errorf("tenant %s: %w", t.TenantID, store.ErrNotFound)
		}
		_, err := tx.exec(ctx, `INSERT INTO refresh_families (id, tenant_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			t.FamilyID, t.TenantID, t.UserID, s.t(now), s.tp(t.FamilyExpiresAt))
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("refresh token family %s already exists: %w", t.FamilyID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create refresh token family: %w", err)
		}
		_, err = tx.exec(ctx, `INSERT INTO refresh_tokens (token_hash, family_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			t.Hash, t.FamilyID, s.t(now), s.t(expires))
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("refresh token hash already stored: %w", store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create refresh token: %w", err)
		}
		return nil
	})
}

// GetRefreshToken implements store.Identity.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (*store.RefreshToken, error) {
	if err := checkText("token hash", hash); err != nil {
		return nil, err
	}
	t, err := scanRefreshToken(s.queryRow(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("refresh token: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get refresh token: %w", err)
	}
	return t, nil
}

// RotateRefreshToken implements store.Identity. The old token is marked used by an update that
// matches it only while it is unused, so of two concurrent rotations one marks it and the other,
// matching nothing (PostgreSQL re-checks the row once the first commits), revokes the family.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash, newHash string, newExpiresAt time.Time) (*store.RefreshToken, error) {
	if err := checkText("token hash", oldHash, "new token hash", newHash); err != nil {
		return nil, err
	}
	if err := required("token hash", oldHash, "new token hash", newHash); err != nil {
		return nil, err
	}
	if newExpiresAt.IsZero() {
		return nil, fmt.Errorf("refresh token expiry is missing: %w", store.ErrInvalidInput)
	}
	now := s.nowMicro()
	var out *store.RefreshToken
	var outcome error
	err := s.write(ctx, func(ctx context.Context, tx *wtx, hooks *txHooks) error {
		out, outcome = nil, nil // a batch may run this again
		old, err := scanRefreshToken(tx.queryRow(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = ?`, oldHash))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("refresh token: %w", store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		revokeFamily := func() error {
			if _, err := tx.exec(ctx, `UPDATE refresh_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, s.t(now), old.FamilyID); err != nil {
				return fmt.Errorf("revoke refresh token family: %w", err)
			}
			outcome = store.ErrTokenReused
			// The revocation commits; entries recording a refresh do not (none happened).
			hooks.replay = true
			return nil
		}
		switch {
		case old.RevokedAt != nil:
			return store.ErrTokenRevoked
		case old.UsedAt != nil:
			return revokeFamily()
		case !now.Before(old.ExpiresAt), old.FamilyExpiresAt != nil && !now.Before(*old.FamilyExpiresAt):
			return store.ErrTokenExpired
		}
		res, err := tx.exec(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL`, s.t(now), oldHash)
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// A concurrent rotation used it first.
			return revokeFamily()
		}
		next := &store.RefreshToken{Hash: newHash, FamilyID: old.FamilyID, UserID: old.UserID, TenantID: old.TenantID,
			ExpiresAt: capExpiry(newExpiresAt, old.FamilyExpiresAt), FamilyExpiresAt: old.FamilyExpiresAt, CreatedAt: now}
		_, err = tx.exec(ctx, `INSERT INTO refresh_tokens (token_hash, family_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			next.Hash, next.FamilyID, s.t(now), s.t(next.ExpiresAt))
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("refresh token hash already stored: %w", store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		out = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	if outcome != nil {
		return nil, outcome
	}
	return out, nil
}

// RevokeRefreshFamily implements store.Identity.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string) error {
	if err := checkText("family id", familyID); err != nil {
		return err
	}
	now := s.nowMicro()
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res, err := tx.exec(ctx, `UPDATE refresh_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, s.t(now), familyID)
		if err != nil {
			return fmt.Errorf("revoke refresh token family: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		var one int
		err = tx.queryRow(ctx, `SELECT 1 FROM refresh_families WHERE id = ?`, familyID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("refresh token family %s: %w", familyID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke refresh token family: %w", err)
		}
		return nil
	})
}

// PurgeRefreshTokens implements store.Identity.
func (s *Store) PurgeRefreshTokens(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res, err := tx.exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < ?`, s.t(before.UTC()))
		if err != nil {
			return fmt.Errorf("purge refresh tokens: %w", err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.exec(ctx, `DELETE FROM refresh_families WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id)`); err != nil {
			return fmt.Errorf("purge refresh token families: %w", err)
		}
		return nil
	})
	return int(n), err
}

const apiKeyColumns = `tenant_id, id, name, role, created_by, created_at, expires_at, last_used_at, revoked_at` //nolint:gosec // column names, no credential

func scanAPIKey(row interface{ Scan(...any) error }, hash *string) (*store.APIKey, error) {
	var k store.APIKey
	var role string
	var created, expires, used, revoked nullTime
	dest := []any{&k.TenantID, &k.ID, &k.Name, &role, &k.CreatedBy, &created, &expires, &used, &revoked}
	if hash != nil {
		dest = append(dest, hash)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	k.Role, k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.RevokedAt = store.Role(role), created.Time, expires.ptr(), used.ptr(), revoked.ptr()
	return &k, nil
}

// CreateAPIKey implements store.Identity.
func (s *Store) CreateAPIKey(ctx context.Context, key store.APIKey) (*store.APIKey, error) {
	if err := checkText("tenant id", key.TenantID, "API key id", key.ID, "API key name", key.Name, "API key hash", key.Hash, "created by", key.CreatedBy); err != nil {
		return nil, err
	}
	if err := required("tenant id", key.TenantID, "API key id", key.ID, "API key name", key.Name, "API key hash", key.Hash); err != nil {
		return nil, err
	}
	if err := checkRole(key.Role); err != nil {
		return nil, err
	}
	now := s.nowMicro()
	if key.ExpiresAt != nil {
		at := key.ExpiresAt.UTC().Truncate(time.Microsecond)
		key.ExpiresAt = &at
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		var one int
		err := tx.queryRow(ctx, `SELECT 1 FROM tenants WHERE id = ?`, key.TenantID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("tenant %s: %w", key.TenantID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("create API key: %w", err)
		}
		_, err = tx.exec(ctx, `INSERT INTO api_keys (tenant_id, id, name, role, key_hash, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			key.TenantID, key.ID, key.Name, string(key.Role), key.Hash, key.CreatedBy, s.t(now), s.tp(key.ExpiresAt))
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("API key %s already exists: %w", key.ID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create API key: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	key.CreatedAt, key.LastUsedAt, key.RevokedAt = now, nil, nil
	return &key, nil
}

// GetAPIKeyByHash implements store.Identity.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (*store.APIKey, error) {
	if err := checkText("API key hash", hash); err != nil {
		return nil, err
	}
	var stored string
	k, err := scanAPIKey(s.queryRow(ctx, `SELECT `+apiKeyColumns+`, key_hash FROM api_keys
		WHERE key_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`, hash, s.t(s.nowMicro())), &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("API key: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get API key: %w", err)
	}
	k.Hash = stored
	return k, nil
}

// ListAPIKeys implements store.Identity.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID string, params store.ListAPIKeysParams) (*store.Page[store.APIKey], error) {
	if err := checkText("tenant id", tenantID); err != nil {
		return nil, err
	}
	limit := pageLimit(params.Limit)
	args := []any{tenantID}
	cond := ""
	if !params.IncludeRevoked {
		cond += ` AND revoked_at IS NULL`
	}
	if params.Cursor != "" {
		key, id, err := decodeCursor(params.Cursor)
		if err != nil {
			return nil, err
		}
		micros, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return nil, ErrBadCursor
		}
		cond += ` AND (created_at, id) > (?, ?)`
		args = append(args, s.t(time.UnixMicro(micros).UTC()), id)
	}
	args = append(args, limit+1)
	return queryPage(ctx, s, "API keys", limit,
		func(rows *sql.Rows) (store.APIKey, error) {
			k, err := scanAPIKey(rows, nil)
			if err != nil {
				return store.APIKey{}, err
			}
			return *k, nil
		},
		func(k store.APIKey) string { return encodeCursor(strconv.FormatInt(k.CreatedAt.UnixMicro(), 10), k.ID) },
		`SELECT `+apiKeyColumns+` FROM api_keys WHERE tenant_id = ?`+cond+` ORDER BY created_at, id LIMIT ?`, args...)
}

// RevokeAPIKey implements store.Identity.
func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, id string) error {
	if err := checkText("tenant id", tenantID, "API key id", id); err != nil {
		return err
	}
	now := s.nowMicro()
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res, err := tx.exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL`, s.t(now), tenantID, id)
		if err != nil {
			return fmt.Errorf("revoke API key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("API key %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// TouchAPIKey implements store.Identity. It reads first, so that a key used many times a minute
// costs one write a minute, not one per use.
func (s *Store) TouchAPIKey(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	if err := checkText("tenant id", tenantID, "API key id", id); err != nil {
		return false, err
	}
	at = at.UTC().Truncate(time.Microsecond)
	var last nullTime
	err := s.queryRow(ctx, `SELECT last_used_at FROM api_keys WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("API key %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("touch API key: %w", err)
	}
	threshold := at.Add(-store.APIKeyTouchInterval)
	if last.Valid && last.Time.After(threshold) {
		return false, nil
	}
	var wrote bool
	err = s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res, err := tx.exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE tenant_id = ? AND id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`,
			s.t(at), tenantID, id, s.t(threshold))
		if err != nil {
			return fmt.Errorf("touch API key: %w", err)
		}
		n, _ := res.RowsAffected()
		wrote = n > 0
		return nil
	})
	return wrote, err
}
