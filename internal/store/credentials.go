package store

import (
	"context"
	"time"

	"github.com/concertmaster/concertmaster/internal/credential"
)

// Credential is a stored credential: its data is encrypted (see internal/credential) and never stored
// in clear.
type Credential struct {
	TenantID string
	ID       string
	Name     string
	Type     string
	// KeyID names the data key Ciphertext is sealed under.
	KeyID      string
	Ciphertext []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ListCredentialsParams selects ListCredentials' credentials.
type ListCredentialsParams struct {
	// Types, when not empty, keeps the credentials of these types.
	Types []string
	// Limit caps the result (1 to 1000; 0 means 1000).
	Limit int
}

// Credentials is the part of the store that keeps credentials and their data keys.
type Credentials interface {
	credential.KeyStore
	// CreateCredential saves a new credential; ErrConflict when the tenant has one of the same name.
	CreateCredential(ctx context.Context, c *Credential) error
	// GetCredential returns one credential of the tenant, or ErrNotFound.
	GetCredential(ctx context.Context, tenantID, id string) (*Credential, error)
	// ListCredentials lists a tenant's credentials by name.
	ListCredentials(ctx context.Context, tenantID string, params ListCredentialsParams) ([]Credential, error)
	// UpdateCredential replaces a credential's name and sealed data, provided its ciphertext is still
	// expectedCiphertext (ErrConflict otherwise: someone else changed it meanwhile); ErrConflict too when
	// the new name is taken, ErrNotFound when it does not exist.
	UpdateCredential(ctx context.Context, c *Credential, expectedCiphertext []byte) error
	// DeleteCredential removes a credential; ErrNotFound when it does not exist.
	DeleteCredential(ctx context.Context, tenantID, id string) error
	// CredentialsAfter pages through every tenant's credentials ordered by (tenant, id), after the given
	// pair, for re-encryption under a new data key.
	CredentialsAfter(ctx context.Context, tenantID, id string, limit int) ([]Credential, error)
	// DeleteCredentialKeys removes the data keys, under any key-encryption key, that no credential uses
	// and that are not keep; when onlyKEK is not empty, it removes instead every wrap under a
	// key-encryption key other than onlyKEK. It returns how many rows it removed.
	DeleteCredentialKeys(ctx context.Context, keep string, onlyKEK string) (int, error)
}
