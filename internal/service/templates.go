package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/concertmaster/concertmaster/examples/templates"
	"github.com/concertmaster/concertmaster/internal/store"
)

// InstantiateTemplate creates a workflow from a template of the gallery, its credential placeholders
// replaced by the given credentials (by type), each of which must be one of the tenant's credentials of
// that type. The new workflow is inactive, like every new workflow.
func (s *Service) InstantiateTemplate(ctx context.Context, tenantID, id, name string, credentials map[string]string) (*store.Workflow, error) {
	tpl, ok, err := templates.Get(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("template %s: %w", id, store.ErrNotFound)
	}
	for _, typ := range tpl.CredentialTypes {
		credID, ok := credentials[typ]
		if !ok || credID == "" {
			return nil, &InputError{Pointer: "/credentials/" + typ, Message: fmt.Sprintf("this template needs a %s credential", typ)}
		}
		if s.cfg.Credentials == nil {
			return nil, errors.New("the credential vault is not configured on this server")
		}
		c, err := s.cfg.Store.GetCredential(ctx, tenantID, credID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &InputError{Pointer: "/credentials/" + typ, Message: fmt.Sprintf("credential %s does not exist", credID)}
		}
		if err != nil {
			return nil, err
		}
		if c.Type != typ {
			return nil, &InputError{Pointer: "/credentials/" + typ, Message: fmt.Sprintf("credential %q is of type %s, not %s", c.Name, c.Type, typ)}
		}
	}
	def, err := tpl.Instantiate(name, credentials)
	if err != nil {
		return nil, err
	}
	return s.CreateWorkflow(ctx, tenantID, def)
}
