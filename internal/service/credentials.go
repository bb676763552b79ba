package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// CredentialsConfig configures a Credentials. Store and Vault are required.
type CredentialsConfig struct {
	Store store.Store
	Vault *credential.Vault
	// Testers check credentials by type (POST /credentials/{id}/test); a type without one answers that
	// there is nothing to connect to.
	Testers map[string]conn.TestFunc
	// TestTimeout bounds a test (default 15s).
	TestTimeout time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// Credentials is the credential vault's use cases: typed credentials per tenant, encrypted at rest,
// shown masked, decrypted only for the node attempt that uses one. It implements
// engine.CredentialLoader.
type Credentials struct {
	cfg    CredentialsConfig
	logger *slog.Logger
}

// NewCredentials returns the credential use cases.
func NewCredentials(cfg CredentialsConfig) *Credentials {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TestTimeout <= 0 {
		cfg.TestTimeout = 15 * time.Second
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Credentials{cfg: cfg, logger: logger.With("component", "credentials")}
}

// CredentialView is a credential as the API shows it: secret fields masked.
type CredentialView struct {
	ID        string
	Name      string
	Type      string
	Data      map[string]any
	CreatedAt time.Time
	UpdatedAt time.Time
}

// WorkflowRef names a workflow.
type WorkflowRef struct {
	ID   string
	Name string
}

// CredentialInUseError refuses to delete a credential that workflows use.
type CredentialInUseError struct {
	Name      string
	Workflows []WorkflowRef
}

func (e *CredentialInUseError) Error() string {
	names := make([]string, 0, len(e.Workflows))
	for _, w := range e.Workflows {
		names = append(names, fmt.Sprintf("%q", w.Name))
	}
	n := len(e.Workflows)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return fmt.Sprintf("credential %q is used by %d workflow%s (%s): remove it from them first", e.Name, n, plural, strings.Join(names, ", "))
}

// Is makes errors.Is(err, store.ErrConflict) true.
func (e *CredentialInUseError) Is(target error) bool { return target == store.ErrConflict }

// maxCredentialName bounds a credential's name.
const maxCredentialName = 200

func checkCredentialName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return &InputError{Pointer: "/name", Message: "name must not be empty"}
	case utf8.RuneCountInString(name) > maxCredentialName:
		return &InputError{Pointer: "/name", Message: fmt.Sprintf("name is longer than %d characters", maxCredentialName)}
	}
	return nil
}

func dataError(err error) error {
	var fe *credential.FieldError
	if errors.As(err, &fe) {
		ptr := "/data"
		if fe.Field != "" {
			ptr += "/" + fe.Field
		}
		return &InputError{Pointer: ptr, Message: fe.Error()}
	}
	return err
}

// lookupType returns the credential type named typ or an InputError at /type.
func lookupType(typ string) (*credential.Type, error) {
	t := credential.Lookup(typ)
	if t == nil {
		names := make([]string, 0)
		for _, ct := range credential.Types() {
			names = append(names, ct.Name)
		}
		return nil, &InputError{Pointer: "/type", Message: fmt.Sprintf("unknown credential type %q; the types are %s", typ, strings.Join(names, ", "))}
	}
	return t, nil
}

func (c *Credentials) seal(ctx context.Context, rec *store.Credential, data map[string]any) error {
	plain, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode credential: %w", err)
	}
	rec.KeyID, rec.Ciphertext, err = c.cfg.Vault.Seal(ctx, plain, credential.AAD(rec.TenantID, rec.ID, rec.Type))
	if err != nil {
		return fmt.Errorf("encrypt credential: %w", err)
	}
	return nil
}

func (c *Credentials) open(ctx context.Context, rec *store.Credential) (map[string]any, error) {
	plain, err := c.cfg.Vault.Open(ctx, rec.KeyID, rec.Ciphertext, credential.AAD(rec.TenantID, rec.ID, rec.Type))
	if err != nil {
		return nil, fmt.Errorf("credential %s: %w", rec.ID, err)
	}
	var data map[string]any
	if err := json.Unmarshal(plain, &data); err != nil {
		return nil, fmt.Errorf("credential %s: decode: %w", rec.ID, err)
	}
	return data, nil
}

func (c *Credentials) view(ctx context.Context, rec *store.Credential) (*CredentialView, error) {
	data, err := c.open(ctx, rec)
	if err != nil {
		return nil, err
	}
	t := credential.Lookup(rec.Type)
	if t != nil {
		data = t.Mask(data)
	}
	return &CredentialView{ID: rec.ID, Name: rec.Name, Type: rec.Type, Data: data, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}, nil
}

// Create saves a new credential.
func (c *Credentials) Create(ctx context.Context, tenantID, name, typ string, data map[string]any) (*CredentialView, error) {
	if err := checkCredentialName(name); err != nil {
		return nil, err
	}
	t, err := lookupType(typ)
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string]any{}
	}
	if err := t.Check(data); err != nil {
		return nil, dataError(err)
	}
	now := c.cfg.Now().UTC().Truncate(time.Microsecond)
	rec := &store.Credential{TenantID: tenantID, ID: NewID(), Name: name, Type: typ, CreatedAt: now, UpdatedAt: now}
	if err := c.seal(ctx, rec, data); err != nil {
		return nil, err
	}
	ctx = identity.Audit(ctx, tenantID, "credential.created", "credential", rec.ID, map[string]any{"name": name, "type": typ})
	if err := c.cfg.Store.CreateCredential(ctx, rec); err != nil {
		return nil, err
	}
	return &CredentialView{ID: rec.ID, Name: name, Type: typ, Data: t.Mask(data), CreatedAt: now, UpdatedAt: now}, nil
}

// Get returns a credential, masked.
func (c *Credentials) Get(ctx context.Context, tenantID, id string) (*CredentialView, error) {
	rec, err := c.cfg.Store.GetCredential(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return c.view(ctx, rec)
}

// List returns the tenant's credentials of the given types (all when none), masked, by name.
func (c *Credentials) List(ctx context.Context, tenantID string, types []string) ([]CredentialView, error) {
	for i, typ := range types {
		if credential.Lookup(typ) == nil {
			return nil, &InputError{Pointer: fmt.Sprintf("/query/type/%d", i), Message: fmt.Sprintf("unknown credential type %q", typ)}
		}
	}
	recs, err := c.cfg.Store.ListCredentials(ctx, tenantID, store.ListCredentialsParams{Types: types})
	if err != nil {
		return nil, err
	}
	out := make([]CredentialView, 0, len(recs))
	for i := range recs {
		v, err := c.view(ctx, &recs[i])
		if err != nil {
			// One credential the server cannot open (sealed under another secret) must not hide the
			// others: list it without data.
			c.logger.WarnContext(ctx, "Credential cannot be decrypted", "credential_id", recs[i].ID, "error", err.Error())
			v = &CredentialView{ID: recs[i].ID, Name: recs[i].Name, Type: recs[i].Type, Data: map[string]any{}, CreatedAt: recs[i].CreatedAt, UpdatedAt: recs[i].UpdatedAt}
		}
		out = append(out, *v)
	}
	return out, nil
}

// Update renames a credential and/or merges data into it (see credential.Type.Merge): a field left out
// or sent as "[stored]" keeps its value, null clears it.
func (c *Credentials) Update(ctx context.Context, tenantID, id string, name *string, data map[string]any) (*CredentialView, error) {
	if name != nil {
		if err := checkCredentialName(*name); err != nil {
			return nil, err
		}
	}
	rec, err := c.cfg.Store.GetCredential(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	t := credential.Lookup(rec.Type)
	if t == nil {
		return nil, fmt.Errorf("credential %s has unknown type %q", id, rec.Type)
	}
	stored, err := c.open(ctx, rec)
	if err != nil {
		return nil, err
	}
	merged := stored
	if data != nil {
		if merged, err = t.Merge(stored, data); err != nil {
			return nil, dataError(err)
		}
	}
	upd := *rec
	if name != nil {
		upd.Name = *name
	}
	upd.UpdatedAt = c.cfg.Now().UTC().Truncate(time.Microsecond)
	if err := c.seal(ctx, &upd, merged); err != nil {
		return nil, err
	}
	changed := []string{}
	for k := range data {
		changed = append(changed, k)
	}
	slices.Sort(changed)
	ctx = identity.Audit(ctx, tenantID, "credential.updated", "credential", id, map[string]any{"name": upd.Name, "type": upd.Type, "fields": changed})
	if err := c.cfg.Store.UpdateCredential(ctx, &upd, rec.Ciphertext); err != nil {
		return nil, err
	}
	return &CredentialView{ID: id, Name: upd.Name, Type: upd.Type, Data: t.Mask(merged), CreatedAt: upd.CreatedAt, UpdatedAt: upd.UpdatedAt}, nil
}

// UsedBy returns the tenant's workflows whose current version names the credential in a node's
// configuration.
func (c *Credentials) UsedBy(ctx context.Context, tenantID, id string) ([]WorkflowRef, error) {
	candidates, err := c.cfg.Store.FindWorkflows(ctx, tenantID, id, 1000)
	if err != nil {
		return nil, err
	}
	var out []WorkflowRef
	for _, w := range candidates {
		if slices.Contains(CredentialRefs(&w.Definition), id) {
			out = append(out, WorkflowRef{ID: w.ID, Name: w.Name})
		}
	}
	return out, nil
}

// CredentialRefs returns the credential ids a definition's nodes name in a "credential" key of their
// configuration (at any depth), in order, once each.
func CredentialRefs(def *workflow.Definition) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && k == "credential" && s != "" && !slices.Contains(out, s) {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	for _, n := range def.Nodes {
		walk(n.Config)
	}
	return out
}

// Delete removes a credential no workflow uses; one in use is refused with a *CredentialInUseError
// naming the workflows.
func (c *Credentials) Delete(ctx context.Context, tenantID, id string) error {
	rec, err := c.cfg.Store.GetCredential(ctx, tenantID, id)
	if err != nil {
		return err
	}
	users, err := c.UsedBy(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return &CredentialInUseError{Name: rec.Name, Workflows: users}
	}
	ctx = identity.Audit(ctx, tenantID, "credential.deleted", "credential", id, map[string]any{"name": rec.Name, "type": rec.Type})
	return c.cfg.Store.DeleteCredential(ctx, tenantID, id)
}

// TestResult is the outcome of a credential test.
type TestResult struct {
	OK      bool
	Message string
}

// Test checks that a credential works with its type's tester. A failed check is a result, not an
// error; its message is scrubbed of the credential's secrets.
func (c *Credentials) Test(ctx context.Context, tenantID, id string) (*TestResult, error) {
	cred, err := c.LoadCredential(ctx, tenantID, id)
	var ne *node.Error
	if errors.As(err, &ne) && ne.Code == node.CodeCredentialNotFound {
		return nil, fmt.Errorf("credential %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	tester := c.cfg.Testers[cred.Type]
	if tester == nil {
		return &TestResult{OK: true, Message: "Stored. This type has nothing to connect to on its own: it is checked when a node uses it."}, nil
	}
	var r credential.Redactor
	r.Add(cred.Secrets...)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.TestTimeout)
	defer cancel()
	msg, err := tester(ctx, cred)
	if err != nil {
		text := err.Error()
		if ctx.Err() != nil {
			text = fmt.Sprintf("no answer within %s: %s", c.cfg.TestTimeout, text)
		}
		return &TestResult{OK: false, Message: r.String(text)}, nil
	}
	return &TestResult{OK: true, Message: r.String(msg)}, nil
}

// LoadCredential implements engine.CredentialLoader: the credential, decrypted, with its secret values
// and a fingerprint that changes when it is updated or re-encrypted.
func (c *Credentials) LoadCredential(ctx context.Context, tenantID, id string) (*node.Credential, error) {
	rec, err := c.cfg.Store.GetCredential(ctx, tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, node.Permanent(node.Errorf(node.CodeCredentialNotFound, "credential %s does not exist (deleted, or of another workspace)", id))
	}
	if err != nil {
		return nil, err
	}
	data, err := c.open(ctx, rec)
	if err != nil {
		return nil, node.Permanent(&node.Error{Code: "credential_undecryptable", Message: err.Error()})
	}
	t := credential.Lookup(rec.Type)
	var secrets []string
	if t != nil {
		secrets = t.SecretValues(data)
	}
	sum := sha256.Sum256(rec.Ciphertext)
	return &node.Credential{ID: rec.ID, Name: rec.Name, Type: rec.Type, Data: data, Secrets: secrets,
		Fingerprint: hex.EncodeToString(sum[:8])}, nil
}

// RotateOptions configures Rotate.
type RotateOptions struct {
	// NextSecretKEK, when set, is the key-encryption key of the server secret that replaces the current
	// one: the new data key is wrapped under it too, so that processes on either secret read every
	// credential while they restart one by one.
	NextSecretKEK []byte
	// RetireOtherSecrets removes the wraps under every key-encryption key but this server's (after
	// every process runs on this secret).
	RetireOtherSecrets bool
	// Settle is how long to wait, after a first pass, for every other process to adopt the new data
	// key (credential.RefreshInterval) before a second pass re-encrypts what they sealed meanwhile and
	// the old keys are removed. Zero skips the wait and keeps the old keys (a later rotation removes
	// them).
	Settle time.Duration
}

// RotateReport says what Rotate did.
type RotateReport struct {
	KeyID          string
	Reencrypted    int
	Skipped        int
	KeysRemoved    int
	WrapsRetired   int
	UndecryptedIDs []string
}

// Rotate re-encrypts every credential of every tenant under a new data key, one conditional update
// each, while the server keeps running: a process that meets the new key reads it from the store. A
// credential updated concurrently is read again; one that cannot be decrypted is left as it is and
// reported. Data keys no credential uses any more are then removed.
func (c *Credentials) Rotate(ctx context.Context, opts RotateOptions) (*RotateReport, error) {
	var extra [][]byte
	if opts.NextSecretKEK != nil {
		extra = append(extra, opts.NextSecretKEK)
	}
	keyID, err := c.cfg.Vault.NewDataKey(ctx, extra...)
	if err != nil {
		return nil, err
	}
	rep := &RotateReport{KeyID: keyID}
	if err := c.reencryptAll(ctx, keyID, rep); err != nil {
		return rep, err
	}
	if opts.Settle > 0 {
		select {
		case <-time.After(opts.Settle):
		case <-ctx.Done():
			return rep, ctx.Err()
		}
		rep.UndecryptedIDs = nil
		if err := c.reencryptAll(ctx, keyID, rep); err != nil {
			return rep, err
		}
	}
	if len(rep.UndecryptedIDs) == 0 && opts.Settle > 0 {
		if rep.KeysRemoved, err = c.cfg.Store.DeleteCredentialKeys(ctx, keyID, ""); err != nil {
			return rep, err
		}
	}
	if opts.RetireOtherSecrets {
		if rep.WrapsRetired, err = c.cfg.Store.DeleteCredentialKeys(ctx, "", c.cfg.Vault.KEKID()); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// reencryptAll re-encrypts every credential not under keyID, counting into rep.
func (c *Credentials) reencryptAll(ctx context.Context, keyID string, rep *RotateReport) error {
	lastTenant, lastID := "", ""
	for {
		page, err := c.cfg.Store.CredentialsAfter(ctx, lastTenant, lastID, 200)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for i := range page {
			rec := page[i]
			lastTenant, lastID = rec.TenantID, rec.ID
			done, err := c.reencrypt(ctx, &rec, keyID)
			switch {
			case err != nil && errors.Is(err, credential.ErrUndecryptable):
				rep.UndecryptedIDs = append(rep.UndecryptedIDs, rec.ID)
			case err != nil:
				return err
			case done:
				rep.Reencrypted++
			default:
				rep.Skipped++
			}
		}
	}
}

// reencrypt seals one credential under keyID, retrying when it changed meanwhile; it reports false
// when the credential was already under keyID or has been deleted.
func (c *Credentials) reencrypt(ctx context.Context, rec *store.Credential, keyID string) (bool, error) {
	for range 5 {
		if rec.KeyID == keyID {
			return false, nil
		}
		data, err := c.open(ctx, rec)
		if err != nil {
			return false, err
		}
		upd := *rec
		if err := c.seal(ctx, &upd, data); err != nil {
			return false, err
		}
		err = c.cfg.Store.UpdateCredential(ctx, &upd, rec.Ciphertext)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, store.ErrNotFound):
			return false, nil
		case errors.Is(err, store.ErrConflict):
			fresh, gerr := c.cfg.Store.GetCredential(ctx, rec.TenantID, rec.ID)
			if errors.Is(gerr, store.ErrNotFound) {
				return false, nil
			}
			if gerr != nil {
				return false, gerr
			}
			rec = fresh
		default:
			return false, err
		}
	}
	return false, fmt.Errorf("credential %s kept changing while it was re-encrypted", rec.ID)
}
