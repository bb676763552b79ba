package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/store"
)

const credentialColumns = `tenant_id, id, name, type, key_id, ciphertext, created_at, updated_at` //nolint:gosec // column names, not a credential

func scanCredential(row interface{ Scan(...any) error }) (store.Credential, error) {
	var c store.Credential
	var created, updated nullTime
	if err := row.Scan(&c.TenantID, &c.ID, &c.Name, &c.Type, &c.KeyID, &c.Ciphertext, &created, &updated); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt = created.Time, updated.Time
	return c, nil
}

func checkCredential(c *store.Credential) error {
	return checkText("tenant id", c.TenantID, "credential id", c.ID, "credential name", c.Name, "credential type", c.Type, "credential key id", c.KeyID)
}

// CreateCredential implements store.Credentials.
func (s *Store) CreateCredential(ctx context.Context, c *store.Credential) error {
	if err := checkCredential(c); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		_, err := tx.exec(ctx, `INSERT INTO credentials (`+credentialColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			c.TenantID, c.ID, c.Name, c.Type, c.KeyID, c.Ciphertext, s.t(c.CreatedAt.UTC()), s.t(c.UpdatedAt.UTC()))
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("a credential named %q exists: %w", c.Name, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create credential: %w", err)
		}
		return nil
	})
}

// GetCredential implements store.Credentials.
func (s *Store) GetCredential(ctx context.Context, tenantID, id string) (*store.Credential, error) {
	if err := checkText("tenant id", tenantID, "credential id", id); err != nil {
		return nil, err
	}
	c, err := scanCredential(s.queryRow(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("credential %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get credential: %w", err)
	}
	return &c, nil
}

func (s *Store) listCredentials(ctx context.Context, query string, args ...any) ([]store.Credential, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	defer rows.Close()
	var out []store.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("list credentials: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return out, nil
}

// ListCredentials implements store.Credentials.
func (s *Store) ListCredentials(ctx context.Context, tenantID string, p store.ListCredentialsParams) ([]store.Credential, error) {
	if err := checkText("tenant id", tenantID); err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	query := `SELECT ` + credentialColumns + ` FROM credentials WHERE tenant_id = ?`
	args := []any{tenantID}
	if len(p.Types) > 0 {
		if len(p.Types) > 64 {
			return nil, fmt.Errorf("at most 64 credential types: %w", store.ErrInvalidInput)
		}
		query += ` AND type IN (?` + strings.Repeat(", ?", len(p.Types)-1) + `)`
		for _, t := range p.Types {
			if err := checkText("credential type", t); err != nil {
				return nil, err
			}
			args = append(args, t)
		}
	}
	query += ` ORDER BY name LIMIT ?`
	args = append(args, limit)
	return s.listCredentials(ctx, query, args...)
}

// UpdateCredential implements store.Credentials.
func (s *Store) UpdateCredential(ctx context.Context, c *store.Credential, expected []byte) error {
	if err := checkCredential(c); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		// One conditional statement: a concurrent update between a read and a write cannot slip through
		// (PostgreSQL re-checks the condition on the row it waited for).
		res, err := tx.exec(ctx, `UPDATE credentials SET name = ?, key_id = ?, ciphertext = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND ciphertext = ?`,
			c.Name, c.KeyID, c.Ciphertext, s.t(c.UpdatedAt.UTC()), c.TenantID, c.ID, expected)
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("a credential named %q exists: %w", c.Name, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update credential: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("update credential: %w", err)
		}
		if n == 1 {
			return nil
		}
		var one int
		err = tx.queryRow(ctx, `SELECT 1 FROM credentials WHERE tenant_id = ? AND id = ?`, c.TenantID, c.ID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("credential %s: %w", c.ID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("update credential: %w", err)
		}
		return fmt.Errorf("credential %s changed meanwhile: %w", c.ID, store.ErrConflict)
	})
}

// DeleteCredential implements store.Credentials.
func (s *Store) DeleteCredential(ctx context.Context, tenantID, id string) error {
	if err := checkText("tenant id", tenantID, "credential id", id); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res, err := tx.exec(ctx, `DELETE FROM credentials WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err != nil {
			return fmt.Errorf("delete credential: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete credential: %w", err)
		} else if n == 0 {
			return fmt.Errorf("credential %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// CredentialsAfter implements store.Credentials.
func (s *Store) CredentialsAfter(ctx context.Context, tenantID, id string, limit int) ([]store.Credential, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.listCredentials(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE tenant_id > ? OR (tenant_id = ? AND id > ?) ORDER BY tenant_id, id LIMIT ?`,
		tenantID, tenantID, id, limit)
}

// CredentialKeys implements credential.KeyStore.
func (s *Store) CredentialKeys(ctx context.Context) ([]credential.WrappedKey, error) {
	rows, err := s.query(ctx, `SELECT id, kek_id, wrapped, created_at FROM credential_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("read credential keys: %w", err)
	}
	defer rows.Close()
	var out []credential.WrappedKey
	for rows.Next() {
		var k credential.WrappedKey
		var created nullTime
		if err := rows.Scan(&k.ID, &k.KEKID, &k.Wrapped, &created); err != nil {
			return nil, fmt.Errorf("read credential keys: %w", err)
		}
		k.CreatedAt = created.Time
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read credential keys: %w", err)
	}
	return out, nil
}

// AddCredentialKeys implements credential.KeyStore.
func (s *Store) AddCredentialKeys(ctx context.Context, keys []credential.WrappedKey) error {
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		for _, k := range keys {
			if _, err := tx.exec(ctx, `INSERT INTO credential_keys (id, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?)`,
				k.ID, k.KEKID, k.Wrapped, s.t(k.CreatedAt.UTC().Truncate(time.Microsecond))); err != nil {
				return fmt.Errorf("add credential key: %w", err)
			}
		}
		return nil
	})
}

// DeleteCredentialKeys implements store.Credentials.
func (s *Store) DeleteCredentialKeys(ctx context.Context, keep, onlyKEK string) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		var res sql.Result
		var err error
		if onlyKEK != "" {
			res, err = tx.exec(ctx, `DELETE FROM credential_keys WHERE kek_id <> ?`, onlyKEK)
		} else {
			res, err = tx.exec(ctx, `DELETE FROM credential_keys WHERE id <> ? AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.key_id = credential_keys.id)`, keep)
		}
		if err != nil {
			return fmt.Errorf("delete credential keys: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
