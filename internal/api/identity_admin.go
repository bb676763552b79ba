package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/store"
)

func memberBody(m *store.Membership) Member {
	return Member{UserID: m.UserID, Email: m.Email, Name: m.Name, Role: string(m.Role), Disabled: m.Disabled, CreatedAt: m.CreatedAt}
}

func apiKeyBody(k *store.APIKey) APIKey {
	return APIKey{ID: k.ID, Name: k.Name, Role: string(k.Role), CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt,
		LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

// pageOutput is a list answer: a page of items and the cursor of the next.
type pageOutput[T any] struct {
	Body struct {
		Items      []T    `json:"items"`
		NextCursor string `json:"nextCursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

// pageOf converts a store page with conv.
func pageOf[S, T any](page *store.Page[S], conv func(*S) T) *pageOutput[T] {
	out := &pageOutput[T]{}
	out.Body.Items = make([]T, 0, len(page.Items))
	for i := range page.Items {
		out.Body.Items = append(out.Body.Items, conv(&page.Items[i]))
	}
	out.Body.NextCursor = page.NextCursor
	return out
}

type pageInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size"`
	Cursor string `query:"cursor" maxLength:"512" doc:"Cursor from the previous page's nextCursor"`
}

type memberIDInput struct {
	UserID string `path:"userId" maxLength:"64" doc:"The member's user id"`
}

func (s *Server) registerMembers(op func(huma.Operation) huma.Operation) {
	id := s.cfg.Identity
	huma.Register(s.api, op(huma.Operation{OperationID: "list-members", Method: http.MethodGet, Path: "/api/v1/members",
		Summary: "List members", Description: "The workspace's members by e-mail, paged by cursor."}),
		func(ctx context.Context, in *pageInput) (*pageOutput[Member], error) {
			page, err := id.ListMembers(ctx, principal(ctx), store.ListMembersParams{Limit: in.Limit, Cursor: in.Cursor})
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return pageOf(page, memberBody), nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "add-member", Method: http.MethodPost, Path: "/api/v1/members", DefaultStatus: http.StatusCreated,
		Summary: "Add a member",
		Description: "Adds the user with this e-mail to the workspace with a role; with a password, creates their account first when no user has " +
			"the e-mail. Only an owner grants owner; nobody grants a role above their own.",
		Errors: []int{http.StatusConflict}}),
		func(ctx context.Context, in *struct {
			Body struct {
				Email    string `json:"email" maxLength:"254"`
				Role     string `json:"role" enum:"owner,admin,editor,viewer"`
				Name     string `json:"name,omitempty" maxLength:"200"`
				Password string `json:"password,omitempty" maxLength:"1024" doc:"Creates the account when no user has the e-mail"`
			}
		}) (*struct{ Body Member }, error) {
			m, err := id.AddMember(ctx, principal(ctx), identity.AddMemberParams{Email: in.Body.Email, Role: store.Role(in.Body.Role), Name: in.Body.Name, Password: in.Body.Password})
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return &struct{ Body Member }{Body: memberBody(m)}, nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "update-member", Method: http.MethodPatch, Path: "/api/v1/members/{userId}",
		Summary:     "Change a member's role",
		Description: "Nobody changes their own role; only an owner grants or changes the owner role; the last owner stays (409).",
		Errors:      []int{http.StatusNotFound, http.StatusConflict}}),
		func(ctx context.Context, in *struct {
			UserID string `path:"userId" maxLength:"64" doc:"The member's user id"`
			Body   struct {
				Role string `json:"role" enum:"owner,admin,editor,viewer"`
			}
		}) (*struct{ Body Member }, error) {
			m, err := id.SetMemberRole(ctx, principal(ctx), in.UserID, store.Role(in.Body.Role))
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return &struct{ Body Member }{Body: memberBody(m)}, nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "remove-member", Method: http.MethodDelete, Path: "/api/v1/members/{userId}", DefaultStatus: http.StatusNoContent,
		Summary: "Remove a member", Description: "Removes the member and revokes their sessions in the workspace. The last owner stays (409).",
		Errors: []int{http.StatusNotFound, http.StatusConflict}}),
		func(ctx context.Context, in *memberIDInput) (*struct{}, error) {
			if err := id.RemoveMember(ctx, principal(ctx), in.UserID); err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return &struct{}{}, nil
		})
}

func (s *Server) registerAPIKeys(op func(huma.Operation) huma.Operation) {
	id := s.cfg.Identity
	huma.Register(s.api, op(huma.Operation{OperationID: "list-api-keys", Method: http.MethodGet, Path: "/api/v1/api-keys",
		Summary: "List API keys", Description: "Oldest first, never with the key itself."}),
		func(ctx context.Context, in *struct {
			IncludeRevoked bool   `query:"includeRevoked" doc:"List revoked keys too"`
			Limit          int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size"`
			Cursor         string `query:"cursor" maxLength:"512" doc:"Cursor from the previous page's nextCursor"`
		}) (*pageOutput[APIKey], error) {
			page, err := id.ListAPIKeys(ctx, principal(ctx), store.ListAPIKeysParams{IncludeRevoked: in.IncludeRevoked, Limit: in.Limit, Cursor: in.Cursor})
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return pageOf(page, apiKeyBody), nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "create-api-key", Method: http.MethodPost, Path: "/api/v1/api-keys", DefaultStatus: http.StatusCreated,
		Summary:     "Create an API key",
		Description: "The answer carries the key (cm_ak_…) this once: only its hash is stored. Its role is at most the creator's."}),
		func(ctx context.Context, in *struct {
			Body struct {
				Name      string     `json:"name" maxLength:"100"`
				Role      string     `json:"role" enum:"owner,admin,editor,viewer"`
				ExpiresAt *time.Time `json:"expiresAt,omitempty" doc:"When the key stops working; default never"`
			}
		}) (*struct{ Body APIKey }, error) {
			k, plain, err := id.CreateAPIKey(ctx, principal(ctx), identity.CreateAPIKeyParams{Name: in.Body.Name, Role: store.Role(in.Body.Role), ExpiresAt: in.Body.ExpiresAt})
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			body := apiKeyBody(k)
			body.Key = plain
			return &struct{ Body APIKey }{Body: body}, nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "revoke-api-key", Method: http.MethodDelete, Path: "/api/v1/api-keys/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Revoke an API key", Description: "The key stops working at once on this server and, through Redis, on the others (within 5 s should that signal be lost).",
		Errors: []int{http.StatusNotFound}}),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"64"`
		}) (*struct{}, error) {
			if err := id.RevokeAPIKey(ctx, principal(ctx), in.ID); err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return &struct{}{}, nil
		})
}

type auditInput struct {
	Actor      string    `query:"actor" maxLength:"128"`
	Action     string    `query:"action" maxLength:"64"`
	TargetType string    `query:"targetType" maxLength:"64"`
	TargetID   string    `query:"targetId" maxLength:"128"`
	Since      time.Time `query:"since" doc:"Entries at or after this time"`
	Until      time.Time `query:"until" doc:"Entries before this time"`
	Order      string    `query:"order" enum:"asc,desc" default:"desc" doc:"desc lists the newest first"`
	Limit      int       `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size"`
	Cursor     string    `query:"cursor" maxLength:"512" doc:"Cursor from the previous page's nextCursor"`
}

func (in *auditInput) params() store.ListAuditParams {
	return store.ListAuditParams{Actor: in.Actor, Action: in.Action, TargetType: in.TargetType, TargetID: in.TargetID, Since: in.Since,
		Until: in.Until, Ascending: in.Order == "asc", Limit: in.Limit, Cursor: in.Cursor}
}

func auditBody(e *store.AuditEntry) AuditEntry {
	return AuditEntry{ID: e.ID, Time: e.Time, Actor: e.Actor, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		IP: e.IP, UserAgent: e.UserAgent, Details: e.Details}
}

func (s *Server) registerAudit(op func(huma.Operation) huma.Operation) {
	id := s.cfg.Identity
	huma.Register(s.api, op(huma.Operation{OperationID: "list-audit", Method: http.MethodGet, Path: "/api/v1/audit",
		Summary: "List the audit log", Description: "Every change and security event of the workspace, newest first unless order=asc, with filters, paged by cursor."}),
		func(ctx context.Context, in *auditInput) (*pageOutput[AuditEntry], error) {
			page, err := id.ListAudit(ctx, principal(ctx), in.params())
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return pageOf(page, auditBody), nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "export-audit", Method: http.MethodGet, Path: "/api/v1/audit/export",
		Summary: "Export the audit log", Description: "The entries the filters select as JSON lines (one AuditEntry per line), oldest first unless order=desc, streamed.",
		Responses: map[string]*huma.Response{"200": {Description: "JSON lines", Content: map[string]*huma.MediaType{
			"application/x-ndjson": {Schema: &huma.Schema{Type: huma.TypeString}}}}}}),
		func(ctx context.Context, in *auditInput) (*huma.StreamResponse, error) {
			p := principal(ctx)
			params := in.params()
			params.Limit = 500
			// Check the role and the cursor before the answer starts: a stream cannot turn into a problem.
			check := params
			check.Limit = 1
			if _, err := id.ListAudit(ctx, p, check); err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return &huma.StreamResponse{Body: func(hctx huma.Context) {
				hctx.SetHeader("Content-Type", "application/x-ndjson")
				hctx.SetHeader("Content-Disposition", `attachment; filename="audit.jsonl"`)
				w := hctx.BodyWriter()
				enc := json.NewEncoder(w)
				for e, err := range store.AuditEntries(ctx, s.svc.Store(), p.TenantID, params) {
					if err != nil {
						s.logger.WarnContext(ctx, "Audit export ended early", "error", err)
						return
					}
					if enc.Encode(auditBody(&e)) != nil {
						return
					}
				}
			}}, nil
		})
}
