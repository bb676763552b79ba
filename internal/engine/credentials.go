package engine

import (
	"context"
	"errors"
	"slices"

	"github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/store"
)

// CredentialLoader decrypts a tenant's credential for an attempt; the service's credential vault
// implements it.
type CredentialLoader interface {
	// LoadCredential returns the credential, decrypted, with its secret values listed in Secrets. A
	// credential that does not exist fails with a *node.Error of code credential_not_found.
	LoadCredential(ctx context.Context, tenantID, id string) (*node.Credential, error)
}

// credentialScope is an attempt's node.Credentials: it loads through the engine's loader and
// remembers every secret value handed out, so that the attempt's output, errors and logs can be
// scrubbed of them.
type credentialScope struct {
	loader   CredentialLoader
	tenantID string
	redactor credential.Redactor
}

func (s *credentialScope) Get(ctx context.Context, id string, types ...string) (*node.Credential, error) {
	c, err := s.loader.LoadCredential(ctx, s.tenantID, id)
	if err != nil {
		return nil, err
	}
	s.redactor.Add(c.Secrets...)
	if len(types) > 0 && !slices.Contains(types, c.Type) {
		return nil, node.Permanent(node.Errorf(node.CodeCredentialType, "credential %q is of type %s; this node takes %v", c.Name, c.Type, types))
	}
	return c, nil
}

func (s *credentialScope) Redact(values ...string) { s.redactor.Add(values...) }

// redact scrubs every secret the attempt's credentials handed out from its result: the output value,
// the error (message and details), the logs and an HTTP response.
func (s *credentialScope) redact(res *attemptResult) {
	if s == nil || s.redactor.Empty() {
		return
	}
	r := &s.redactor
	res.value, _ = r.Value(res.value)
	if res.err != nil {
		res.err = redactError(r, res.err)
	}
	for i := range res.logs {
		res.logs[i] = redactLog(r, res.logs[i])
	}
	if res.response != nil {
		resp := *res.response
		resp.Body, _ = r.Value(resp.Body)
		if h, changed := r.Value(resp.Headers); changed {
			resp.Headers, _ = h.(map[string]string)
		}
		res.response = &resp
	}
}

func redactLog(r *credential.Redactor, e store.LogEntry) store.LogEntry {
	e.Message = r.String(e.Message)
	if e.Attrs != nil {
		if v, changed := r.Value(e.Attrs); changed {
			e.Attrs, _ = v.(map[string]any)
		}
	}
	return e
}

// redactError returns err with secrets removed from its message and details; an error that holds
// none is returned as is, so that its type (suspension, cancellation) survives.
func redactError(r *credential.Redactor, err error) error {
	var ne *node.Error
	if errors.As(err, &ne) {
		msg := r.String(ne.Message)
		details, changed := r.Value(ne.Details)
		if msg == ne.Message && !changed {
			if outer := r.String(err.Error()); outer == err.Error() {
				return err
			}
		}
		clean := &node.Error{Code: ne.Code, Message: msg, Details: details}
		if node.IsPermanent(err) {
			return node.Permanent(clean)
		}
		return clean
	}
	msg := r.String(err.Error())
	if msg == err.Error() {
		return err
	}
	clean := errors.New(msg)
	if node.IsPermanent(err) {
		return node.Permanent(clean)
	}
	return clean
}
