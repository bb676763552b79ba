package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/examples/templates"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// TemplateSummary is a template of the gallery as the list shows it.
type TemplateSummary struct {
	ID              string   `json:"id" example:"amqp-orders-enrich"`
	Name            string   `json:"name"`
	Description     string   `json:"description"`
	Tags            []string `json:"tags"`
	NodeTypes       []string `json:"nodeTypes" doc:"The node types the template uses"`
	CredentialTypes []string `json:"credentialTypes" doc:"The credential types it needs, one credential of each (POST …/instantiate)"`
}

// Template is a template with its workflow definition.
type Template struct {
	TemplateSummary
	Definition workflow.Definition `json:"definition" doc:"The workflow; its credential fields hold placeholders ($credential:<type>) that instantiating replaces"`
}

type listTemplatesOutput struct {
	Body struct {
		Items []TemplateSummary `json:"items"`
	}
}

type templateIDInput struct {
	ID string `path:"id" maxLength:"100" doc:"Template id"`
}

type templateOutput struct {
	Body Template
}

type instantiateTemplateInput struct {
	ID   string `path:"id" maxLength:"100" doc:"Template id"`
	Body struct {
		Name        string            `json:"name,omitempty" maxLength:"200" doc:"The new workflow's name (default: the template's)"`
		Credentials map[string]string `json:"credentials,omitempty" doc:"A credential id for each of the template's credentialTypes, by type" example:"{\"amqp\":\"01a2…\"}"`
	}
}

func summaryOf(t *templates.Template) TemplateSummary {
	return TemplateSummary{ID: t.ID, Name: t.Name, Description: t.Description, Tags: nonNil(t.Tags), NodeTypes: nonNil(t.NodeTypes), CredentialTypes: nonNil(t.CredentialTypes)}
}

func (s *Server) registerTemplates() {
	tags := []string{"Workflows"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-templates", Method: http.MethodGet, Path: "/api/v1/templates",
		Summary: "List workflow templates", Description: "The gallery of workflow templates the editor offers as New from template, by name.",
		Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*listTemplatesOutput, error) {
		all, err := templates.All()
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &listTemplatesOutput{}
		out.Body.Items = make([]TemplateSummary, 0, len(all))
		for i := range all {
			out.Body.Items = append(out.Body.Items, summaryOf(&all[i]))
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-template", Method: http.MethodGet, Path: "/api/v1/templates/{id}",
		Summary: "Get a workflow template", Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *templateIDInput) (*templateOutput, error) {
		t, ok, err := templates.Get(in.ID)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		if !ok {
			return nil, newError(http.StatusNotFound, "template "+in.ID+" does not exist")
		}
		def := t.Definition
		def.Nodes, def.Edges = nonNil(def.Nodes), nonNil(def.Edges)
		return &templateOutput{Body: Template{TemplateSummary: summaryOf(t), Definition: def}}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "instantiate-template", Method: http.MethodPost, Path: "/api/v1/templates/{id}/instantiate", DefaultStatus: http.StatusCreated,
		Summary: "Create a workflow from a template",
		Description: "Creates an inactive workflow from the template, with each credential placeholder replaced by the credential given for its type. " +
			"A missing credential, or one of another type, answers 422 locating /credentials/<type>.",
		Tags: tags, MaxBodyBytes: 16 << 10, Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *instantiateTemplateInput) (*workflowOutput, error) {
		w, err := s.svc.InstantiateTemplate(ctx, tenant(ctx), in.ID, in.Body.Name, in.Body.Credentials)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return workflowResponse(ctx, w), nil
	})
}
