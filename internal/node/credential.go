package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
)

// Credential is a stored credential, decrypted for the one attempt that asked for it. Nodes read
// Data (typically through Decode) and must never put a secret value in their output, errors or logs;
// the engine removes every value in Secrets from all three anyway.
type Credential struct {
	// ID, Name and Type identify the credential; Type is one of the credential types (postgres,
	// httpBearer…).
	ID   string
	Name string
	Type string
	// Data holds the fields of the credential type, secret ones included, as JSON values.
	Data map[string]any
	// Secrets are the secret values (passwords, tokens, keys) that must never leave the attempt.
	Secrets []string
	// Fingerprint changes whenever the credential is updated: connection pools are keyed by it, so
	// that an update takes effect on the next run.
	Fingerprint string
}

// Decode unmarshals the credential's data into v, a pointer to a struct with json tags.
func (c *Credential) Decode(v any) error {
	b, err := json.Marshal(c.Data)
	if err != nil {
		return fmt.Errorf("credential %s: %w", c.ID, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("credential %s (%s): %w", c.Name, c.Type, err)
	}
	return nil
}

// Credentials is what an attempt, or a listening trigger, reads credentials through. It is scoped to
// the tenant of the workflow.
type Credentials interface {
	// Get returns the credential id, decrypted. When types are given, a credential of another type
	// fails with a *Error of code credential_type. A credential that does not exist (or belongs to
	// another tenant) fails with code credential_not_found.
	Get(ctx context.Context, id string, types ...string) (*Credential, error)
	// Redact registers values derived from a credential (an OAuth2 access token, an encoded
	// Authorization header) that must be removed from the attempt's output, errors and logs like the
	// credential's own secrets.
	Redact(values ...string)
}

// Codes of credential failures.
const (
	CodeCredentialNotFound = "credential_not_found" //nolint:gosec // an error code, not a credential
	CodeCredentialType     = "credential_type"      //nolint:gosec // an error code, not a credential
	CodeCredentialMissing  = "credential_missing"   //nolint:gosec // an error code, not a credential
)

// ErrNoCredentials is returned when a node needs credentials and the engine runs without a vault.
var ErrNoCredentials = errors.New("this node needs the credential vault, which this runner does not offer")

// GetCredential returns the credential id from in, checking its type. An empty id fails with code
// credential_missing; an engine without a vault fails with ErrNoCredentials. Every failure is
// permanent: retrying does not make a credential appear.
func GetCredential(ctx context.Context, creds Credentials, id string, types ...string) (*Credential, error) {
	if id == "" {
		return nil, Permanent(Errorf(CodeCredentialMissing, "no credential is selected (config.credential)"))
	}
	if creds == nil {
		return nil, Permanent(ErrNoCredentials)
	}
	c, err := creds.Get(ctx, id, types...)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Listener is implemented by trigger types that consume messages from an outside system (a queue, a
// stream, a topic) while their workflow is active. The server runs one Listen per trigger node of
// every active workflow, on a node holding the saved configuration, and restarts it with a backoff
// when it returns an error; it cancels ctx when the workflow is deactivated, changed or deleted, or
// the server stops.
type Listener interface {
	Listen(ctx context.Context, env ListenEnv) error
}

// ListenEnv is what a listening trigger is given.
type ListenEnv struct {
	// TenantID, WorkflowID and NodeID name the trigger node; Version is the workflow version.
	TenantID   string
	WorkflowID string
	Version    int
	NodeID     string
	// Credentials reads the tenant's credentials. Nothing redacts a listener's logs: never log a
	// credential's data.
	Credentials Credentials
	// Logger logs to the server's log, with the trigger's workflow and node ids.
	Logger *slog.Logger
	// Fire starts one execution whose trigger output is data. It returns nil once the execution is
	// durably queued, and only then may the message be acknowledged; on an error the message must not
	// be acknowledged (negative-acknowledge it or let it be redelivered). When the node's
	// configuration has a dedupeKey template, it is evaluated with trigger bound to data, and a message
	// whose key was already used for this trigger returns nil without starting another execution.
	Fire func(ctx context.Context, data any) error
}
