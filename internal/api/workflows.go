package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

type workflowIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"Workflow id"`
}

type workflowOutput struct {
	ETag     string `header:"ETag" doc:"The workflow's entity tag, \"<version>-<hash>\": send it in If-Match to update the workflow"`
	Location string `header:"Location"`
	Body     *Workflow
}

type getWorkflowInput struct {
	ID string `path:"id" maxLength:"64" doc:"Workflow id"`
	ConditionalRead
}

type getWorkflowOutput struct {
	Status       int
	ETag         string `header:"ETag" doc:"The workflow's entity tag, \"<version>-<hash>\": send it in If-Match to update the workflow, or in If-None-Match to revalidate a copy"`
	CacheControl string `header:"Cache-Control" doc:"private, no-cache: a copy may be kept but is revalidated every time"`
	Location     string `header:"Location"`
	Body         *Workflow
}

type definitionInput struct {
	Body workflow.Definition
}

type listWorkflowsInput struct {
	Name   string `query:"name" maxLength:"200" doc:"Keep workflows whose name contains this, ignoring case"`
	Tag    string `query:"tag" maxLength:"32" doc:"Keep workflows carrying this tag, ignoring case"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size"`
	Cursor string `query:"cursor" maxLength:"512" doc:"Cursor from the previous page's nextCursor"`
	ConditionalRead
}

type listWorkflowsOutput struct {
	Status       int
	ETag         string `header:"ETag" doc:"The page's entity tag, for If-None-Match"`
	CacheControl string `header:"Cache-Control" doc:"private, no-cache: a copy may be kept but is revalidated every time"`
	Body         struct {
		Items      []WorkflowSummary `json:"items"`
		NextCursor string            `json:"nextCursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

type updateWorkflowInput struct {
	ID      string `path:"id" maxLength:"64"`
	IfMatch string `header:"If-Match" doc:"The ETag of the version being replaced (required)"`
	Body    workflow.Definition
}

type validateOutput struct {
	Body struct {
		Valid bool `json:"valid"`
		Nodes int  `json:"nodes"`
		Edges int  `json:"edges"`
	}
}

type listVersionsInput struct {
	ID     string `path:"id" maxLength:"64"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor string `query:"cursor" maxLength:"512"`
	ConditionalRead
}

type listVersionsOutput struct {
	Status       int
	ETag         string `header:"ETag" doc:"The page's entity tag, for If-None-Match"`
	CacheControl string `header:"Cache-Control" doc:"private, no-cache: a copy may be kept but is revalidated every time"`
	Body         struct {
		Items      []WorkflowVersionSummary `json:"items"`
		NextCursor string                   `json:"nextCursor,omitempty"`
	}
}

type getVersionInput struct {
	ID      string `path:"id" maxLength:"64"`
	Version int    `path:"version" minimum:"1"`
	ConditionalRead
}

type getVersionOutput struct {
	Status       int
	ETag         string   `header:"ETag" doc:"The version's entity tag, for If-None-Match; a version never changes"`
	CacheControl string   `header:"Cache-Control" doc:"private, max-age=31536000, immutable: a version never changes"`
	Vary         []string `header:"Vary" doc:"Authorization: a kept copy answers only the credential that fetched it"`
	Body         WorkflowVersion
}

func workflowResponse(ctx context.Context, w *store.Workflow) *workflowOutput {
	return &workflowOutput{ETag: workflowETag(tenant(ctx), w), Location: "/api/v1/workflows/" + w.ID, Body: toWorkflow(w)}
}

// parseIfMatch returns the versions an If-Match header names (RFC 9110 §13.1.1: one or more entity
// tags, or "*" for the current version). A weak tag (W/"3") never matches: If-Match compares strongly.
// A tag is a workflow ETag, "<version>-<hash>" (the hash must be one this server issues for that
// version of this workflow), or the bare "<version>" of earlier servers. Only the version is compared
// with the current one: the hash also covers the active flag, which an update does not replace, so
// activating a workflow does not make the editors' copies stale (docs/adr/0019-http-caching.md).
func parseIfMatch(h, tenantID, id string) (versions []int, anyVersion bool, err error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return nil, false, newError(http.StatusPreconditionRequired,
			"updating a workflow needs an If-Match header holding the ETag of the version you edited (from GET), or * to overwrite")
	}
	if h == "*" {
		return nil, true, nil
	}
	tags := strings.Split(h, ",")
	if len(tags) > maxIfMatchTags {
		return nil, false, newError(http.StatusPreconditionFailed, fmt.Sprintf("If-Match lists %d entity tags; send at most %d", len(tags), maxIfMatchTags))
	}
	for _, tag := range tags {
		tag = strings.TrimSpace(tag)
		if strings.HasPrefix(tag, "W/") {
			continue
		}
		unquoted, quoted := strings.CutPrefix(tag, `"`)
		unquoted, closed := strings.CutSuffix(unquoted, `"`)
		number, hash, hashed := strings.Cut(unquoted, "-")
		v, convErr := strconv.Atoi(number)
		if !quoted || !closed || convErr != nil || v < 1 || strconv.Itoa(v) != number ||
			(hashed && hash != workflowTagHash(tenantID, id, v, true) && hash != workflowTagHash(tenantID, id, v, false)) {
			return nil, false, newError(http.StatusPreconditionFailed, "If-Match "+h+" is not an ETag this server issued for this workflow; send the ETag header from GET as it is")
		}
		versions = append(versions, v)
	}
	if len(versions) == 0 {
		return nil, false, newError(http.StatusPreconditionFailed, "If-Match "+h+" holds only weak entity tags, which never match; send the ETag header from GET as it is")
	}
	return versions, false, nil
}

// maxIfMatchTags bounds the entity tags one If-Match may list.
const maxIfMatchTags = 16

func (s *Server) registerWorkflows() {
	tags := []string{"Workflows"}
	maxBody := s.cfg.MaxWorkflowBytes
	huma.Register(s.api, cacheable(huma.Operation{
		OperationID: "list-workflows", Method: http.MethodGet, Path: "/api/v1/workflows",
		Summary: "List workflows", Description: "Most recently updated first, paged by cursor. Answers an ETag, and 304 to a matching If-None-Match.", Tags: tags,
	}), func(ctx context.Context, in *listWorkflowsInput) (*listWorkflowsOutput, error) {
		params := store.ListWorkflowsParams{Name: in.Name, Tag: in.Tag, Limit: in.Limit, Cursor: in.Cursor}
		page, err := s.svc.Store().ListWorkflows(ctx, tenant(ctx), params)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &listWorkflowsOutput{Status: http.StatusOK, ETag: workflowListETag(tenant(ctx), params, page), CacheControl: cacheRevalidate}
		if in.notModified(out.ETag) {
			out.Status = http.StatusNotModified
			return out, nil
		}
		out.Body.Items = make([]WorkflowSummary, 0, len(page.Items))
		for _, w := range page.Items {
			out.Body.Items = append(out.Body.Items, WorkflowSummary{ID: w.ID, Name: w.Name, Description: w.Description, Active: w.Active,
				Version: w.Version, NodeCount: w.NodeCount, Tags: nonNil(w.Tags), CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt})
		}
		out.Body.NextCursor = page.NextCursor
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-workflow", Method: http.MethodPost, Path: "/api/v1/workflows", DefaultStatus: http.StatusCreated,
		Summary: "Create a workflow", Description: "Validates the definition against the node registry and saves it as version 1. New workflows are inactive.",
		Tags: tags, MaxBodyBytes: maxBody, Errors: []int{http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *definitionInput) (*workflowOutput, error) {
		w, err := s.svc.CreateWorkflow(ctx, tenant(ctx), &in.Body)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return workflowResponse(ctx, w), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "validate-workflow", Method: http.MethodPost, Path: "/api/v1/workflows/validate",
		Summary: "Validate a workflow without saving it", Description: "Answers 200 when the definition is valid, 422 with every problem otherwise " +
			"(including a flow.call workflowId or settings.errorWorkflow that names no workflow with the trigger it needs, as saving checks).",
		Tags: tags, MaxBodyBytes: maxBody, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *definitionInput) (*validateOutput, error) {
		if err := s.svc.ValidateIn(ctx, tenant(ctx), &in.Body); err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &validateOutput{}
		out.Body.Valid, out.Body.Nodes, out.Body.Edges = true, len(in.Body.Nodes), len(in.Body.Edges)
		return out, nil
	})

	huma.Register(s.api, cacheable(huma.Operation{
		OperationID: "get-workflow", Method: http.MethodGet, Path: "/api/v1/workflows/{id}",
		Summary: "Get a workflow", Description: "Answers an ETag, and 304 to a matching If-None-Match.", Tags: tags, Errors: []int{http.StatusNotFound},
	}), func(ctx context.Context, in *getWorkflowInput) (*getWorkflowOutput, error) {
		w, err := s.svc.Store().GetWorkflow(ctx, tenant(ctx), in.ID)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &getWorkflowOutput{Status: http.StatusOK, ETag: workflowETag(tenant(ctx), w), CacheControl: cacheRevalidate}
		if in.notModified(out.ETag) {
			out.Status = http.StatusNotModified
			return out, nil
		}
		out.Location, out.Body = "/api/v1/workflows/"+w.ID, toWorkflow(w)
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-workflow", Method: http.MethodPut, Path: "/api/v1/workflows/{id}",
		Summary: "Update a workflow", Description: "Saves the definition as the next version. If-Match must hold the ETag of the version being replaced: " +
			"a stale one answers 412, a missing one 428.",
		Tags: tags, MaxBodyBytes: maxBody,
		Errors: []int{http.StatusNotFound, http.StatusPreconditionFailed, http.StatusPreconditionRequired, http.StatusUnprocessableEntity, http.StatusConflict},
	}, func(ctx context.Context, in *updateWorkflowInput) (*workflowOutput, error) {
		versions, anyVersion, err := parseIfMatch(in.IfMatch, tenant(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		version := 0
		if len(versions) == 1 {
			version = versions[0]
		} else {
			// "*" or a list: the current version, if it is one of them; the store still refuses the
			// update if another lands in between.
			cur, err := s.svc.Store().GetWorkflow(ctx, tenant(ctx), in.ID)
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			if !anyVersion && !slices.Contains(versions, cur.Version) {
				return nil, newError(http.StatusPreconditionFailed, fmt.Sprintf("workflow %s is at version %d, which If-Match does not list; reload the workflow and apply your change again", in.ID, cur.Version))
			}
			version = cur.Version
		}
		w, err := s.svc.UpdateWorkflow(ctx, tenant(ctx), in.ID, version, &in.Body)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return workflowResponse(ctx, w), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "delete-workflow", Method: http.MethodDelete, Path: "/api/v1/workflows/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a workflow", Description: "Removes the workflow and its triggers. Its executions and versions stay readable.",
		Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *workflowIDInput) (*struct{}, error) {
		if err := s.svc.DeleteWorkflow(ctx, tenant(ctx), in.ID); err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return nil, nil
	})

	huma.Register(s.api, cacheable(huma.Operation{
		OperationID: "list-workflow-versions", Method: http.MethodGet, Path: "/api/v1/workflows/{id}/versions",
		Summary: "List a workflow's versions", Description: "Newest first, without definitions: GET /api/v1/workflows/{id}/versions/{version} returns one with its definition. " +
			"Answers an ETag, and 304 to a matching If-None-Match.", Tags: tags, Errors: []int{http.StatusNotFound},
	}), func(ctx context.Context, in *listVersionsInput) (*listVersionsOutput, error) {
		params := store.ListVersionsParams{Limit: in.Limit, Cursor: in.Cursor}
		page, err := s.svc.Store().ListWorkflowVersions(ctx, tenant(ctx), in.ID, params)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		authors := s.authors(ctx, page.Items)
		out := &listVersionsOutput{Status: http.StatusOK, ETag: versionListETag(tenant(ctx), in.ID, params, page, authors), CacheControl: cacheRevalidate}
		if in.notModified(out.ETag) {
			out.Status = http.StatusNotModified
			return out, nil
		}
		out.Body.Items = make([]WorkflowVersionSummary, 0, len(page.Items))
		for _, v := range page.Items {
			out.Body.Items = append(out.Body.Items, WorkflowVersionSummary{WorkflowID: v.WorkflowID, Version: v.Version, CreatedAt: v.CreatedAt,
				CreatedBy: v.CreatedBy, Author: authors[v.CreatedBy]})
		}
		out.Body.NextCursor = page.NextCursor
		return out, nil
	})

	huma.Register(s.api, cacheable(huma.Operation{
		OperationID: "get-workflow-version", Method: http.MethodGet, Path: "/api/v1/workflows/{id}/versions/{version}",
		Summary: "Get one version of a workflow", Description: "A version never changes: the answer may be kept for a year (Cache-Control: immutable). " +
			"Answers an ETag, and 304 to a matching If-None-Match.", Tags: tags, Errors: []int{http.StatusNotFound},
	}), func(ctx context.Context, in *getVersionInput) (*getVersionOutput, error) {
		v, err := s.svc.Store().GetWorkflowVersion(ctx, tenant(ctx), in.ID, in.Version)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &getVersionOutput{Status: http.StatusOK, ETag: versionETag(tenant(ctx), v), CacheControl: cacheImmutable, Vary: varyAuthorization}
		if in.notModified(out.ETag) {
			out.Status = http.StatusNotModified
			return out, nil
		}
		out.Body = WorkflowVersion(*v)
		return out, nil
	})

	for _, active := range []bool{true, false} {
		op := huma.Operation{
			OperationID: "activate-workflow", Method: http.MethodPost, Path: "/api/v1/workflows/{id}/activate",
			Summary: "Activate a workflow", Description: "Switches its webhook and schedule triggers on. A webhook path another workflow uses answers 409.",
			Tags: tags, Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
		}
		if !active {
			op.OperationID, op.Path, op.Summary = "deactivate-workflow", "/api/v1/workflows/{id}/deactivate", "Deactivate a workflow"
			op.Description = "Switches its webhook and schedule triggers off. Manual and API runs keep working."
		}
		huma.Register(s.api, op, func(ctx context.Context, in *workflowIDInput) (*workflowOutput, error) {
			w, err := s.svc.SetActive(ctx, tenant(ctx), in.ID, active)
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return workflowResponse(ctx, w), nil
		})
	}
}
