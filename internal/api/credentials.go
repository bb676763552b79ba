package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/credential"
	"github.com/concertmaster/concertmaster/internal/service"
)

// CredentialType is a credential type as the API lists it.
type CredentialType struct {
	Name        string          `json:"name" example:"postgres" doc:"The type's name, as credentials and node schemas (x-credentialTypes) name it"`
	Title       string          `json:"title" example:"PostgreSQL"`
	Description string          `json:"description"`
	Icon        string          `json:"icon" example:"database" doc:"A lucide icon name"`
	Schema      json.RawMessage `json:"schema" doc:"JSON Schema (draft 2020-12) of the type's data; secret fields are writeOnly"`
}

// Credential is a stored credential as the API shows it: secret values never leave the server.
type Credential struct {
	ID        string         `json:"id" doc:"Credential id, as node configurations name it in their credential field"`
	Name      string         `json:"name" doc:"Unique within the workspace"`
	Type      string         `json:"type" example:"postgres"`
	Data      map[string]any `json:"data" doc:"The type's fields; each secret field that is set shows as the string \"[stored]\", never its value"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
}

type credentialOutput struct {
	Body Credential
}

type credentialIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"Credential id"`
}

// maxCredentialBody bounds a credential request: certificates fit.
const maxCredentialBody = 64 << 10

type createCredentialInput struct {
	Body struct {
		Name string         `json:"name" minLength:"1" maxLength:"200" example:"Orders database"`
		Type string         `json:"type" minLength:"1" maxLength:"64" example:"postgres" doc:"One of GET /api/v1/credential-types"`
		Data map[string]any `json:"data" doc:"The type's fields (see its schema). A postgres or mysql credential also takes {\"url\": \"postgres://user:password@host:5432/db\"}, split into its parts when saved."`
	}
}

type updateCredentialInput struct {
	ID   string `path:"id" maxLength:"64" doc:"Credential id"`
	Body struct {
		Name *string        `json:"name,omitempty" minLength:"1" maxLength:"200"`
		Data map[string]any `json:"data,omitempty" doc:"Fields to change: a field left out, or sent as \"[stored]\", keeps its stored value; null clears it"`
	}
}

type listCredentialsInput struct {
	Type []string `query:"type,explode" maxItems:"32" doc:"Keep credentials of these types (repeat the parameter for several)"`
}

type listCredentialsOutput struct {
	Body struct {
		Items []Credential `json:"items"`
	}
}

type listCredentialTypesOutput struct {
	Body struct {
		Items []CredentialType `json:"items"`
	}
}

type testCredentialOutput struct {
	Body struct {
		OK      bool   `json:"ok" doc:"Whether the credential works"`
		Message string `json:"message" example:"Connected to PostgreSQL 15.19 as app" doc:"What the test found, in plain words"`
	}
}

func toCredential(v *service.CredentialView) Credential {
	data := v.Data
	if data == nil {
		data = map[string]any{}
	}
	return Credential{ID: v.ID, Name: v.Name, Type: v.Type, Data: data, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

func (s *Server) registerCredentials() {
	tags := []string{"Credentials"}
	creds := func(ctx context.Context) (*service.Credentials, error) {
		c := s.svc.Credentials()
		if c == nil {
			return nil, huma.Error503ServiceUnavailable("the credential vault is not configured on this server")
		}
		return c, nil
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-credential-types", Method: http.MethodGet, Path: "/api/v1/credential-types",
		Summary: "List the credential types", Description: "Every credential type with the JSON Schema of its data; secret fields are writeOnly.",
		Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*listCredentialTypesOutput, error) {
		out := &listCredentialTypesOutput{}
		for _, t := range credential.Types() {
			out.Body.Items = append(out.Body.Items, CredentialType{Name: t.Name, Title: t.Title, Description: t.Description, Icon: t.Icon, Schema: t.Schema()})
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-credentials", Method: http.MethodGet, Path: "/api/v1/credentials",
		Summary: "List credentials", Description: "The workspace's credentials by name, secret fields masked as \"[stored]\".",
		Tags: tags, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *listCredentialsInput) (*listCredentialsOutput, error) {
		c, err := creds(ctx)
		if err != nil {
			return nil, err
		}
		views, err := c.List(ctx, tenant(ctx), in.Type)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &listCredentialsOutput{}
		out.Body.Items = make([]Credential, 0, len(views))
		for i := range views {
			out.Body.Items = append(out.Body.Items, toCredential(&views[i]))
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-credential", Method: http.MethodPost, Path: "/api/v1/credentials", DefaultStatus: http.StatusCreated,
		Summary: "Create a credential",
		Description: "Checks the data against the type's schema, encrypts it (AES-256-GCM) and saves it. The answer shows secret fields as \"[stored]\". " +
			"A bad field answers 422 locating /data/<field>; a name the workspace already uses answers 409.",
		Tags: tags, MaxBodyBytes: maxCredentialBody, Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *createCredentialInput) (*credentialOutput, error) {
		c, err := creds(ctx)
		if err != nil {
			return nil, err
		}
		v, err := c.Create(ctx, tenant(ctx), in.Body.Name, in.Body.Type, in.Body.Data)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return &credentialOutput{Body: toCredential(v)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-credential", Method: http.MethodGet, Path: "/api/v1/credentials/{id}",
		Summary: "Get a credential", Description: "The credential with its secret fields masked as \"[stored]\".",
		Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *credentialIDInput) (*credentialOutput, error) {
		c, err := creds(ctx)
		if err != nil {
			return nil, err
		}
		v, err := c.Get(ctx, tenant(ctx), in.ID)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return &credentialOutput{Body: toCredential(v)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-credential", Method: http.MethodPatch, Path: "/api/v1/credentials/{id}",
		Summary: "Update a credential",
		Description: "Renames the credential and/or changes fields of its data: a field left out, or sent as \"[stored]\", keeps its stored value; " +
			"null clears it. Runs that start afterwards use the new values.",
		Tags: tags, MaxBodyBytes: maxCredentialBody, Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *updateCredentialInput) (*credentialOutput, error) {
		c, err := creds(ctx)
		if err != nil {
			return nil, err
		}
		v, err := c.Update(ctx, tenant(ctx), in.ID, in.Body.Name, in.Body.Data)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return &credentialOutput{Body: toCredential(v)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "delete-credential", Method: http.MethodDelete, Path: "/api/v1/credentials/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a credential",
		Description: "Deletes a credential no workflow uses. One that the current version of a workflow names answers 409; its errors list each such workflow " +
			"(location /workflows/<id>, value the workflow id).",
		Tags: tags, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, func(ctx context.Context, in *credentialIDInput) (*struct{}, error) {
		c, err := creds(ctx)
		if err != nil {
			return nil, err
		}
		if err := c.Delete(ctx, tenant(ctx), in.ID); err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return nil, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "test-credential", Method: http.MethodPost, Path: "/api/v1/credentials/{id}/test",
		Summary: "Test a credential",
		Description: "Connects with the credential (within 15 seconds, through the same outbound guard as nodes) and says what it found. " +
			"A credential that does not work answers 200 with ok false and the reason.",
		Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *credentialIDInput) (*testCredentialOutput, error) {
		c, err := creds(ctx)
		if err != nil {
			return nil, err
		}
		res, err := c.Test(ctx, tenant(ctx), in.ID)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &testCredentialOutput{}
		out.Body.OK, out.Body.Message = res.OK, res.Message
		return out, nil
	})
}

// credentialInUse is the 409 of deleting a credential workflows use: one error per workflow.
func credentialInUse(e *service.CredentialInUseError) error {
	details := make([]error, 0, len(e.Workflows))
	for _, w := range e.Workflows {
		details = append(details, &ErrorDetail{Location: "/workflows/" + w.ID, Message: "used by workflow \"" + w.Name + "\"", Value: w.ID})
	}
	return newError(http.StatusConflict, e.Error(), details...)
}
