package api

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/store"
)

// maxAuthorsResolved bounds the user lookups one page of versions costs; further authors are
// listed by createdBy alone.
const maxAuthorsResolved = 50

// authors resolves the distinct createdBy actors of a page of versions to display names: a user's
// name (or e-mail), an API key's id. Unknown actors (a deleted user) and the empty actor are left
// out.
func (s *Server) authors(ctx context.Context, versions []store.WorkflowVersion) map[string]*Author {
	out := map[string]*Author{}
	for _, v := range versions {
		actor := v.CreatedBy
		if _, done := out[actor]; done || actor == "" || actor == identity.SystemActor {
			continue
		}
		if key, ok := strings.CutPrefix(actor, identity.APIKeyActorPrefix); ok {
			out[actor] = &Author{Kind: "apikey", Name: key}
			continue
		}
		if len(out) >= maxAuthorsResolved {
			continue
		}
		u, err := s.svc.Store().GetUser(ctx, actor)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				s.logger.WarnContext(ctx, "resolve version author", "actor", actor, "err", err)
			}
			out[actor] = nil
			continue
		}
		out[actor] = &Author{Kind: "user", Name: cmp.Or(u.Name, u.Email)}
	}
	return out
}

type listTagsOutput struct {
	Body struct {
		Items []WorkflowTag `json:"items"`
	}
}

func (s *Server) registerWorkflowTags() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-workflow-tags", Method: http.MethodGet, Path: "/api/v1/workflow-tags",
		Summary: "List the tags of the workflows", Description: "Every tag the tenant's workflows carry, with how many carry it, most used first. " +
			"Tags are set in a workflow's definition (tags) and filter the workflow list (GET /api/v1/workflows?tag=).",
		Tags: []string{"Workflows"},
	}, func(ctx context.Context, _ *struct{}) (*listTagsOutput, error) {
		tags, err := s.svc.Store().ListWorkflowTags(ctx, tenant(ctx))
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &listTagsOutput{}
		out.Body.Items = make([]WorkflowTag, 0, len(tags))
		for _, t := range tags {
			out.Body.Items = append(out.Body.Items, WorkflowTag{Tag: t.Tag, Count: t.Count})
		}
		return out, nil
	})
}
