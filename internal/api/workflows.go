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
	ETag     string `header:"ETag" doc:"The workflow's version, for If-Match"`
	Location string `header:"Location"`
	Body     *Workflow
}

type definitionInput struct {
	Body workflow.Definition
}

type listWorkflowsInput struct {
	Name   string `query:"name" maxLength:"200" doc:"Keep workflows whose name contains this, ignoring case"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size"`
	Cursor string `query:"cursor" maxLength:"512" doc:"Cursor from the previous page's nextCursor"`
}

type listWorkflowsOutput struct {
	Body struct {
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
}

type listVersionsOutput struct {
	Body struct {
		Items      []WorkflowVersionSummary `json:"items"`
		NextCursor string                   `json:"nextCursor,omitempty"`
	}
}

type getVersionInput struct {
	ID      string `path:"id" maxLength:"64"`
	Version int    `path:"version" minimum:"1"`
}

type getVersionOutput struct {
	Body WorkflowVersion
}

func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

func (s *Server) workflowResponse(w *store.Workflow) *workflowOutput {
	return &workflowOutput{ETag: etag(w.Version), Location: "/api/v1/workflows/" + w.ID, Body: toWorkflow(w)}
}

// parseIfMatch returns the versions an If-Match header names (RFC 9110 §13.1.1: one or more entity
// tags, or "*" for the current version). A weak tag (W/"3") never matches: If-Match compares strongly.
func parseIfMatch(h string) (versions []int, anyVersion bool, err error) {
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
		v, convErr := strconv.Atoi(unquoted)
		if !quoted || !closed || convErr != nil || v < 1 || strconv.Itoa(v) != unquoted {
			return nil, false, newError(http.StatusPreconditionFailed, "If-Match "+h+" is not an ETag this server issued; send the ETag header from GET as it is")
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
	huma.Register(s.api, huma.Operation{
		OperationID: "list-workflows", Method: http.MethodGet, Path: "/api/v1/workflows",
		Summary: "List workflows", Description: "Most recently updated first, paged by cursor.", Tags: tags,
	}, func(ctx context.Context, in *listWorkflowsInput) (*listWorkflowsOutput, error) {
		page, err := s.svc.Store().ListWorkflows(ctx, tenant(ctx), store.ListWorkflowsParams{Name: in.Name, Limit: in.Limit, Cursor: in.Cursor})
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &listWorkflowsOutput{}
		out.Body.Items = make([]WorkflowSummary, 0, len(page.Items))
		for _, w := range page.Items {
			out.Body.Items = append(out.Body.Items, WorkflowSummary{ID: w.ID, Name: w.Name, Description: w.Description, Active: w.Active,
				Version: w.Version, NodeCount: w.NodeCount, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt})
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
		return s.workflowResponse(w), nil
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

	huma.Register(s.api, huma.Operation{
		OperationID: "get-workflow", Method: http.MethodGet, Path: "/api/v1/workflows/{id}",
		Summary: "Get a workflow", Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *workflowIDInput) (*workflowOutput, error) {
		w, err := s.svc.Store().GetWorkflow(ctx, tenant(ctx), in.ID)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return s.workflowResponse(w), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-workflow", Method: http.MethodPut, Path: "/api/v1/workflows/{id}",
		Summary: "Update a workflow", Description: "Saves the definition as the next version. If-Match must hold the ETag of the version being replaced: " +
			"a stale one answers 412, a missing one 428.",
		Tags: tags, MaxBodyBytes: maxBody,
		Errors: []int{http.StatusNotFound, http.StatusPreconditionFailed, http.StatusPreconditionRequired, http.StatusUnprocessableEntity, http.StatusConflict},
	}, func(ctx context.Context, in *updateWorkflowInput) (*workflowOutput, error) {
		versions, anyVersion, err := parseIfMatch(in.IfMatch)
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
		return s.workflowResponse(w), nil
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

	huma.Register(s.api, huma.Operation{
		OperationID: "list-workflow-versions", Method: http.MethodGet, Path: "/api/v1/workflows/{id}/versions",
		Summary: "List a workflow's versions", Description: "Newest first, without definitions: GET /api/v1/workflows/{id}/versions/{version} returns one with its definition.", Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *listVersionsInput) (*listVersionsOutput, error) {
		page, err := s.svc.Store().ListWorkflowVersions(ctx, tenant(ctx), in.ID, store.ListVersionsParams{Limit: in.Limit, Cursor: in.Cursor})
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &listVersionsOutput{}
		out.Body.Items = make([]WorkflowVersionSummary, 0, len(page.Items))
		for _, v := range page.Items {
			out.Body.Items = append(out.Body.Items, WorkflowVersionSummary{WorkflowID: v.WorkflowID, Version: v.Version, CreatedAt: v.CreatedAt})
		}
		out.Body.NextCursor = page.NextCursor
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-workflow-version", Method: http.MethodGet, Path: "/api/v1/workflows/{id}/versions/{version}",
		Summary: "Get one version of a workflow", Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *getVersionInput) (*getVersionOutput, error) {
		v, err := s.svc.Store().GetWorkflowVersion(ctx, tenant(ctx), in.ID, in.Version)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return &getVersionOutput{Body: WorkflowVersion(*v)}, nil
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
			return s.workflowResponse(w), nil
		})
	}
}
