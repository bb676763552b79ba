package credential

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// KeyInfo is the HKDF info string the vault's key-encryption key is derived with from the server
// secret (secret.Secret.Derive).
const KeyInfo = "concertmaster credentials v1"

// WrappedKey is a data key as stored: encrypted under one key-encryption key. A data key may be stored
// wrapped under several (during a change of server secret).
type WrappedKey struct {
	ID string
	// KEKID identifies the key-encryption key (KEKID of the vault that wrapped it).
	KEKID     string
	Wrapped   []byte
	CreatedAt time.Time
}

// KeyStore keeps the wrapped data keys; the store implements it.
type KeyStore interface {
	// CredentialKeys returns every wrapped data key.
	CredentialKeys(ctx context.Context) ([]WrappedKey, error)
	// AddCredentialKeys stores wrapped data keys (one data key under one or more KEKs) in one write.
	AddCredentialKeys(ctx context.Context, keys []WrappedKey) error
}

// ErrUndecryptable reports a ciphertext no known key opens: the data key is wrapped under another
// server secret (a database copied without its key), or the ciphertext was altered.
var ErrUndecryptable = errors.New("credential cannot be decrypted: it was encrypted under another server secret (CM_SECRET_KEY) or has been altered")

// Vault encrypts credential data with AES-256-GCM under data keys, which are stored in the database
// wrapped (AES-256-GCM) under the key-encryption key derived from the server secret. A database
// without the server secret therefore yields no credential. It is safe for concurrent use.
type Vault struct {
	kek   cipher.AEAD
	kekID string
	keys  KeyStore
	now   func() time.Time

	mu      sync.Mutex
	plain   map[string]cipher.AEAD // data key id → AEAD
	current string                 // id of the data key new ciphertexts use
	created time.Time              // when current was created
	loaded  time.Time              // when the keys were last read from the store
}

// RefreshInterval is how often Seal looks in the store for a data key newer than the one it uses, so
// that every process adopts the key a rotation made within that time.
const RefreshInterval = 30 * time.Second

// NewVault returns a vault whose key-encryption key is kek (32 bytes, derived from the server secret
// with KeyInfo).
func NewVault(kek []byte, keys KeyStore) (*Vault, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	return &Vault{kek: aead, kekID: KEKID(kek), keys: keys, now: time.Now, plain: map[string]cipher.AEAD{}}, nil
}

// KEKID returns the identifier of a key-encryption key: a short HMAC of a constant, which does not
// reveal the key.
func KEKID(kek []byte) string {
	m := hmac.New(sha256.New, kek)
	m.Write([]byte("concertmaster credential kek id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// KEKID identifies the vault's key-encryption key.
func (v *Vault) KEKID() string { return v.kekID }

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("credential key: want 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("credential key: %w", err)
	}
	return cipher.NewGCM(block)
}

func seal(aead cipher.AEAD, plaintext, aad []byte) []byte {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return aead.Seal(nonce, nonce, plaintext, aad)
}

func open(aead cipher.AEAD, ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrUndecryptable
	}
	n := aead.NonceSize()
	out, err := aead.Open(nil, ciphertext[:n], ciphertext[n:], aad)
	if err != nil {
		return nil, ErrUndecryptable
	}
	return out, nil
}

// load reads the wrapped keys and unwraps those under this vault's KEK. It must be called with v.mu
// held.
func (v *Vault) load(ctx context.Context) error {
	wrapped, err := v.keys.CredentialKeys(ctx)
	if err != nil {
		return fmt.Errorf("read credential keys: %w", err)
	}
	v.loaded = v.now()
	for _, w := range wrapped {
		if w.KEKID != v.kekID {
			continue
		}
		if _, ok := v.plain[w.ID]; !ok {
			raw, err := open(v.kek, w.Wrapped, []byte(w.ID))
			if err != nil {
				return fmt.Errorf("credential key %s: %w", w.ID, err)
			}
			aead, err := newAEAD(raw)
			if err != nil {
				return err
			}
			v.plain[w.ID] = aead
		}
		if w.CreatedAt.After(v.created) || (w.CreatedAt.Equal(v.created) && w.ID > v.current) {
			v.current, v.created = w.ID, w.CreatedAt
		}
	}
	return nil
}

// NewDataKey creates a data key, stores it wrapped under this vault's KEK and under extra KEKs (32
// bytes each; a new server secret during a change of secret), and makes it the one new ciphertexts
// use. It returns the key's id.
func (v *Vault) NewDataKey(ctx context.Context, extra ...[]byte) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.newDataKey(ctx, extra...)
}

func (v *Vault) newDataKey(ctx context.Context, extra ...[]byte) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := uuid.Must(uuid.NewV7()).String()
	now := v.now().UTC().Truncate(time.Microsecond)
	rows := []WrappedKey{{ID: id, KEKID: v.kekID, Wrapped: seal(v.kek, raw, []byte(id)), CreatedAt: now}}
	for _, k := range extra {
		aead, err := newAEAD(k)
		if err != nil {
			return "", err
		}
		rows = append(rows, WrappedKey{ID: id, KEKID: KEKID(k), Wrapped: seal(aead, raw, []byte(id)), CreatedAt: now})
	}
	if err := v.keys.AddCredentialKeys(ctx, rows); err != nil {
		return "", fmt.Errorf("store credential key: %w", err)
	}
	aead, err := newAEAD(raw)
	if err != nil {
		return "", err
	}
	v.plain[id] = aead
	v.current, v.created = id, now
	return id, nil
}

// Seal encrypts plaintext under the current data key (creating the first one when there is none),
// bound to aad (see AAD). It returns the data key's id and the ciphertext (nonce ‖ sealed data).
func (v *Vault) Seal(ctx context.Context, plaintext, aad []byte) (keyID string, ciphertext []byte, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.current == "" || v.now().Sub(v.loaded) > RefreshInterval {
		if err := v.load(ctx); err != nil {
			return "", nil, err
		}
		if v.current == "" {
			if _, err := v.newDataKey(ctx); err != nil {
				return "", nil, err
			}
		}
	}
	return v.current, seal(v.plain[v.current], plaintext, aad), nil
}

// Open decrypts a ciphertext Seal returned. A data key this process has not seen (another process
// rotated the keys) is read from the key store.
func (v *Vault) Open(ctx context.Context, keyID string, ciphertext, aad []byte) ([]byte, error) {
	v.mu.Lock()
	aead, ok := v.plain[keyID]
	if !ok {
		if err := v.load(ctx); err != nil {
			v.mu.Unlock()
			return nil, err
		}
		aead, ok = v.plain[keyID]
	}
	v.mu.Unlock()
	if !ok {
		return nil, ErrUndecryptable
	}
	return open(aead, ciphertext, aad)
}

// Refresh forgets which data key is current, so that the next Seal uses the newest one in the store
// (after another process rotated the keys).
func (v *Vault) Refresh(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.load(ctx)
}

// AAD binds a ciphertext to its credential's tenant, id and type, so that a ciphertext copied to
// another row does not open.
func AAD(tenantID, id, typ string) []byte {
	return []byte(tenantID + "\x00" + id + "\x00" + typ)
}
