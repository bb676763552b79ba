package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/store"
)

// RefreshCookie is the cookie that carries the web app's refresh token: HttpOnly, SameSite=Strict,
// scoped to the session routes (and Secure under TLS).
const RefreshCookie = "cm_refresh"

// sessionPath is the path of the session routes, the refresh cookie's scope.
const sessionPath = "/api/v1/auth"

// maxIdentityBody bounds the body of every identity operation.
const maxIdentityBody = 64 << 10

// Identity bodies.
type (
	// TokenPair is a session: a short-lived access token and the refresh token that renews it.
	TokenPair struct {
		AccessToken  string `json:"accessToken" doc:"JWT to send as Authorization: Bearer"`
		RefreshToken string `json:"refreshToken" doc:"Opaque token for POST /api/v1/auth/refresh; single use: each refresh returns the next one"`
		TokenType    string `json:"tokenType" enum:"Bearer"`
		ExpiresIn    int64  `json:"expiresIn" doc:"Seconds until the access token expires"`
		TenantID     string `json:"tenantId" doc:"The workspace the tokens act in"`
	}
	// UserInfo describes a user.
	UserInfo struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	// APIKeyRef names the API key a request acts as.
	APIKeyRef struct { //nolint:revive // the OpenAPI schema name clients know

		ID string `json:"id"`
	}
	// Workspace is a tenant and the caller's role in it.
	Workspace struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Role string `json:"role,omitempty" enum:"owner,admin,editor,viewer"`
	}
	// Me is who the caller is.
	Me struct {
		User    *UserInfo   `json:"user,omitempty" doc:"Set when a person is signed in"`
		APIKey  *APIKeyRef  `json:"apiKey,omitempty" doc:"Set when an API key authenticates"`
		Tenant  Workspace   `json:"tenant" doc:"The workspace the request acts in"`
		Role    string      `json:"role" enum:"owner,admin,editor,viewer"`
		Tenants []Workspace `json:"tenants" doc:"The workspaces the caller may switch to, with their role in each"`
	}
	// Member is a user's membership of the workspace.
	Member struct {
		UserID    string    `json:"userId"`
		Email     string    `json:"email"`
		Name      string    `json:"name"`
		Role      string    `json:"role" enum:"owner,admin,editor,viewer"`
		Disabled  bool      `json:"disabled"`
		CreatedAt time.Time `json:"createdAt"`
	}
	// APIKey is a machine credential of the workspace.
	APIKey struct { //nolint:revive // the OpenAPI schema name clients know

		ID         string     `json:"id"`
		Name       string     `json:"name"`
		Role       string     `json:"role" enum:"owner,admin,editor,viewer"`
		CreatedBy  string     `json:"createdBy" doc:"The actor who created it: a user id or apikey:<id>"`
		CreatedAt  time.Time  `json:"createdAt"`
		ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
		LastUsedAt *time.Time `json:"lastUsedAt,omitempty" doc:"Recorded at most once a minute"`
		RevokedAt  *time.Time `json:"revokedAt,omitempty"`
		Key        string     `json:"key,omitempty" doc:"The key itself (cm_ak_…): only in the answer that creates it, never again"`
	}
	// AuditEntry is one record of the audit log.
	AuditEntry struct {
		ID         string          `json:"id"`
		Time       time.Time       `json:"time"`
		Actor      string          `json:"actor" doc:"A user id, apikey:<id>, system or anonymous"`
		Action     string          `json:"action" doc:"Such as auth.login, member.role_changed, workflow.updated"`
		TargetType string          `json:"targetType,omitempty"`
		TargetID   string          `json:"targetId,omitempty"`
		IP         string          `json:"ip,omitempty"`
		UserAgent  string          `json:"userAgent,omitempty"`
		Details    json.RawMessage `json:"details,omitempty" doc:"What changed; for workflows a before/after diff"`
	}
)

type sessionOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie" doc:"The refresh token as an HttpOnly, SameSite=Strict cookie for the web app"`
	Body      TokenPair
}

type refreshInput struct {
	Cookie string `cookie:"cm_refresh" doc:"The refresh token, when the body does not carry it (the web app)"`
	Body   *struct {
		RefreshToken string `json:"refreshToken,omitempty" maxLength:"128" doc:"The refresh token; without it the cm_refresh cookie is used"`
	}
}

func (in *refreshInput) token() string {
	if in.Body != nil && in.Body.RefreshToken != "" {
		return in.Body.RefreshToken
	}
	return in.Cookie
}

func (s *Server) sessionOutput(ctx context.Context, sess *identity.Session) *sessionOutput {
	out := &sessionOutput{SetCookie: http.Cookie{Name: RefreshCookie, Value: sess.RefreshToken, Path: sessionPath, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: overTLS(ctx), Expires: sess.RefreshExpiresAt.UTC()}}
	out.Body = TokenPair{AccessToken: sess.AccessToken, RefreshToken: sess.RefreshToken, TokenType: "Bearer",
		ExpiresIn: max(0, int64(time.Until(sess.ExpiresAt)/time.Second)), TenantID: sess.TenantID}
	return out
}

func clearCookie(ctx context.Context) http.Cookie {
	return http.Cookie{Name: RefreshCookie, Value: "", Path: sessionPath, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: overTLS(ctx), MaxAge: -1}
}

// principal returns the request's principal; the policy middleware put it there.
func principal(ctx context.Context) *identity.Principal {
	p, _ := identity.FromContext(ctx)
	if p == nil {
		return &identity.Principal{TenantID: noTenant}
	}
	return p
}

func (s *Server) registerIdentity() {
	tags := []string{"Identity"}
	id := s.cfg.Identity
	oapi := s.api.OpenAPI()
	op := func(o huma.Operation) huma.Operation {
		o.Tags = tags
		if o.MaxBodyBytes == 0 {
			o.MaxBodyBytes = maxIdentityBody
		}
		if o.Responses == nil {
			o.Responses = map[string]*huma.Response{}
		}
		switch o.OperationID {
		case "login", "refresh-session":
			o.Responses["401"] = &huma.Response{Description: "The e-mail and password, or the refresh token, are not accepted (one message whatever failed)",
				Content: problemContent(oapi), Headers: map[string]*huma.Header{"WWW-Authenticate": {Schema: &huma.Schema{Type: huma.TypeString}}}}
		}
		switch o.OperationID {
		case "login", "setup":
			o.Responses["429"] = &huma.Response{Description: "Too many attempts from this address or for this account; Retry-After says when to retry",
				Content: problemContent(oapi), Headers: map[string]*huma.Header{"Retry-After": {Description: "Seconds to wait", Schema: &huma.Schema{Type: huma.TypeInteger}}}}
		}
		// huma would replace the responses above with plain ones for the codes in Errors.
		o.Errors = slices.DeleteFunc(o.Errors, func(code int) bool { return o.Responses[strconv.Itoa(code)] != nil })
		return o
	}
	unavailable := func() error {
		return newError(http.StatusServiceUnavailable, "identity is not configured on this server")
	}

	huma.Register(s.api, op(huma.Operation{OperationID: "get-setup-status", Method: http.MethodGet, Path: "/api/v1/auth/setup",
		Summary: "Is setup required?", Description: "`required` is true while no user exists: the web app then shows its setup screen."}),
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct {
				Required bool `json:"required"`
			}
		}, error) {
			if id == nil {
				return nil, unavailable()
			}
			req, err := id.SetupRequired(ctx)
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			out := &struct {
				Body struct {
					Required bool `json:"required"`
				}
			}{}
			out.Body.Required = req
			return out, nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "setup", Method: http.MethodPost, Path: "/api/v1/auth/setup", DefaultStatus: http.StatusCreated,
		Summary:     "Set up the server",
		Description: "Creates the first user as the owner of the first workspace and signs them in. Only while no user exists: 409 afterwards. Rate limited per client address.",
		Errors:      []int{http.StatusConflict, http.StatusTooManyRequests}}),
		func(ctx context.Context, in *struct {
			Body struct {
				Email     string `json:"email" maxLength:"254" doc:"The owner's e-mail, used to sign in"`
				Password  string `json:"password" maxLength:"1024" doc:"At least 10 characters and hard to guess"`
				Name      string `json:"name,omitempty" maxLength:"200"`
				Workspace string `json:"workspace,omitempty" maxLength:"200" doc:"The first workspace's name (default My workspace)"`
			}
		}) (*sessionOutput, error) {
			if id == nil {
				return nil, unavailable()
			}
			sess, err := id.Setup(ctx, identity.SetupParams{Email: in.Body.Email, Password: in.Body.Password, Name: in.Body.Name, Workspace: in.Body.Workspace})
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return s.sessionOutput(ctx, sess), nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "login", Method: http.MethodPost, Path: "/api/v1/auth/login",
		Summary: "Sign in",
		Description: "Checks an e-mail and password and answers a session; the refresh token is also set as the cm_refresh cookie. A wrong " +
			"e-mail or password answers 401 with one message either way. Rate limited per client address and per account (429 with Retry-After).",
		Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusForbidden, http.StatusTooManyRequests}}),
		func(ctx context.Context, in *struct {
			Body struct {
				Email    string `json:"email" maxLength:"1024"`
				Password string `json:"password" maxLength:"4096"`
				TenantID string `json:"tenantId,omitempty" maxLength:"64" doc:"The workspace to sign in to; default the first of the user's"`
			}
		}) (*sessionOutput, error) {
			if id == nil {
				return nil, unavailable()
			}
			sess, err := id.Login(ctx, identity.LoginParams{Email: in.Body.Email, Password: in.Body.Password, TenantID: in.Body.TenantID})
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return s.sessionOutput(ctx, sess), nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "refresh-session", Method: http.MethodPost, Path: "/api/v1/auth/refresh",
		Summary: "Refresh a session",
		Description: "Exchanges a refresh token (in the body, or the cm_refresh cookie) for a new session; the old refresh token is spent. " +
			"Presenting a spent one revokes every token of its sign-in (it may have been stolen).",
		Errors: []int{http.StatusUnauthorized}}),
		func(ctx context.Context, in *refreshInput) (*sessionOutput, error) {
			if id == nil {
				return nil, unavailable()
			}
			sess, err := id.Refresh(ctx, in.token())
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return s.sessionOutput(ctx, sess), nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "logout", Method: http.MethodPost, Path: "/api/v1/auth/logout", DefaultStatus: http.StatusNoContent,
		Summary:     "Sign out",
		Description: "Revokes the refresh token's sign-in (body or cm_refresh cookie) and clears the cookie. An unknown token changes nothing."}),
		func(ctx context.Context, in *refreshInput) (*struct {
			SetCookie http.Cookie `header:"Set-Cookie"`
		}, error) {
			if id == nil {
				return nil, unavailable()
			}
			if err := id.Logout(ctx, in.token()); err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return &struct {
				SetCookie http.Cookie `header:"Set-Cookie"`
			}{SetCookie: clearCookie(ctx)}, nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "get-me", Method: http.MethodGet, Path: "/api/v1/auth/me",
		Summary: "Who am I", Description: "The caller, its workspace and role, and the workspaces a user may switch to."}),
		func(ctx context.Context, _ *struct{}) (*struct{ Body Me }, error) {
			me, err := id.Me(ctx, principal(ctx))
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			out := &struct{ Body Me }{}
			out.Body = Me{Tenant: Workspace{ID: me.Tenant.ID, Name: me.Tenant.Name}, Role: string(me.Role), Tenants: make([]Workspace, 0, len(me.Tenants))}
			if me.User != nil {
				out.Body.User = &UserInfo{ID: me.User.ID, Email: me.User.Email, Name: me.User.Name}
			}
			if me.APIKey != nil {
				out.Body.APIKey = &APIKeyRef{ID: me.APIKey.ID}
			}
			for _, t := range me.Tenants {
				out.Body.Tenants = append(out.Body.Tenants, Workspace{ID: t.TenantID, Name: t.TenantName, Role: string(t.Role)})
			}
			return out, nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "switch-workspace", Method: http.MethodPost, Path: "/api/v1/auth/switch",
		Summary:     "Switch workspace",
		Description: "Answers a session in another of the user's workspaces (and sets the cookie); the presented refresh token's sign-in is revoked.",
		Errors:      []int{http.StatusNotFound}}),
		func(ctx context.Context, in *struct {
			Cookie string `cookie:"cm_refresh"`
			Body   struct {
				TenantID     string `json:"tenantId" maxLength:"64"`
				RefreshToken string `json:"refreshToken,omitempty" maxLength:"128" doc:"The current refresh token, to revoke; default the cm_refresh cookie"`
			}
		}) (*sessionOutput, error) {
			refresh := in.Body.RefreshToken
			if refresh == "" {
				refresh = in.Cookie
			}
			sess, err := id.Switch(ctx, principal(ctx), in.Body.TenantID, refresh)
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return s.sessionOutput(ctx, sess), nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "create-ticket", Method: http.MethodPost, Path: "/api/v1/auth/tickets", DefaultStatus: http.StatusCreated,
		Summary: "Get a stream ticket",
		Description: "A single-use ticket valid 30 s that authenticates one Server-Sent Events request as ?ticket= (EventSource cannot send " +
			"an Authorization header; the token itself never travels in a URL)."}),
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct {
				Ticket    string `json:"ticket"`
				ExpiresIn int    `json:"expiresIn"`
			}
		}, error) {
			t, err := id.IssueTicket(principal(ctx))
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			out := &struct {
				Body struct {
					Ticket    string `json:"ticket"`
					ExpiresIn int    `json:"expiresIn"`
				}
			}{}
			out.Body.Ticket, out.Body.ExpiresIn = t, int(identity.TicketTTL/time.Second)
			return out, nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "change-password", Method: http.MethodPut, Path: "/api/v1/auth/password", DefaultStatus: http.StatusNoContent,
		Summary: "Change my password", Errors: []int{http.StatusTooManyRequests}}),
		func(ctx context.Context, in *struct {
			Body struct {
				CurrentPassword string `json:"currentPassword" maxLength:"4096"`
				NewPassword     string `json:"newPassword" maxLength:"1024"`
			}
		}) (*struct{}, error) {
			if err := id.ChangePassword(ctx, principal(ctx), in.Body.CurrentPassword, in.Body.NewPassword); err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return &struct{}{}, nil
		})

	huma.Register(s.api, op(huma.Operation{OperationID: "create-workspace", Method: http.MethodPost, Path: "/api/v1/tenants", DefaultStatus: http.StatusCreated,
		Summary: "Create a workspace", Description: "A new workspace owned by the caller; switch to it with POST /api/v1/auth/switch."}),
		func(ctx context.Context, in *struct {
			Body struct {
				Name string `json:"name" maxLength:"200"`
			}
		}) (*struct{ Body Workspace }, error) {
			t, err := id.CreateTenant(ctx, principal(ctx), in.Body.Name)
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return &struct{ Body Workspace }{Body: Workspace{ID: t.ID, Name: t.Name, Role: string(store.RoleOwner)}}, nil
		})

	s.registerMembers(op)
	s.registerAPIKeys(op)
	s.registerAudit(op)
}
