package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/core"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

// WebhookRequest is an incoming request to /hooks/{path}.
type WebhookRequest struct {
	Method string
	Path   string
	// Header and RawBody are the request as received: the trigger's authentication reads them (an
	// HMAC signs the raw body).
	Header  http.Header
	RawBody []byte
	// Headers (lower-case names), Query and Body are what the trigger outputs: the headers that carry
	// credentials are redacted before anything is stored.
	Headers map[string]any
	Query   map[string]any
	Body    any
}

// WebhookTarget is the active trigger a webhook request reaches, once authenticated.
type WebhookTarget struct {
	Route   *store.WebhookRoute
	Trigger *core.Webhook
}

// OpenWebhook finds the active trigger that listens on method and path and checks the request's
// header and raw body against its authentication, before anything is created. It returns an error
// that wraps store.ErrNotFound when no active trigger listens there, and one that wraps
// core.ErrWebhookUnauthorized (a *core.AuthError saying why, for the log) when the request fails
// the check. When the trigger's version cannot be read or compiled the request is refused with that
// error: without the trigger's configuration nobody can tell whether it requires a secret.
func (s *Service) OpenWebhook(ctx context.Context, method, path string, header http.Header, rawBody []byte) (*WebhookTarget, error) {
	route, err := s.store.LookupWebhook(ctx, strings.ToUpper(method), NormalizePath(path))
	if err != nil {
		return nil, err
	}
	trigger, err := s.webhookTrigger(ctx, route)
	if err != nil {
		return nil, err
	}
	if err := trigger.Authenticate(header, rawBody); err != nil {
		return nil, err
	}
	return &WebhookTarget{Route: route, Trigger: trigger}, nil
}

// StartWebhook starts the target's workflow with the request as the trigger's output. When the
// trigger responds on completion it waits up to wait for the run to finish; finished tells whether it
// did. respond is the trigger's respond mode.
func (s *Service) StartWebhook(ctx context.Context, target *WebhookTarget, req WebhookRequest, wait time.Duration) (exec *store.Execution, respond string, finished bool, err error) {
	route := target.Route
	// Credentials in headers never reach the store: the execution's input, every node run derived from
	// it and every read of them see "[redacted]".
	headers := target.Trigger.Redact(req.Headers)
	input, err := json.Marshal(map[string]any{
		"method": strings.ToUpper(req.Method), "path": route.Path, "headers": headers, "query": req.Query, "body": req.Body,
	})
	if err != nil {
		return nil, "", false, fmt.Errorf("encode webhook request: %w", err)
	}
	p := StartParams{WorkflowID: route.WorkflowID, Version: route.Version, Input: input, TriggerNode: route.NodeID, Kind: store.TriggerWebhook}
	if route.Respond == core.RespondImmediately {
		exec, _, err = s.StartExecution(ctx, route.TenantID, p)
		return exec, route.Respond, false, err
	}
	exec, finished, err = s.StartAndWait(ctx, route.TenantID, p, wait)
	return exec, core.RespondOnCompletion, finished, err
}

// webhookTrigger returns the configuration of the trigger a webhook route starts, from the compiled
// version the engine keeps (so a request costs no store read once the version is cached).
func (s *Service) webhookTrigger(ctx context.Context, route *store.WebhookRoute) (*core.Webhook, error) {
	g, err := s.cfg.Engine.Plan(ctx, route.TenantID, route.WorkflowID, route.Version)
	if err != nil {
		return nil, err
	}
	n := g.Node(route.NodeID)
	if n == nil {
		return nil, fmt.Errorf("webhook trigger %s is not a node of workflow %s version %d", route.NodeID, route.WorkflowID, route.Version)
	}
	var wh core.Webhook
	if err := node.Decode(n.Spec.Config, &wh); err != nil {
		return nil, fmt.Errorf("decode webhook trigger %s: %w", route.NodeID, err)
	}
	return &wh, nil
}

// missingPaths reports each webhook trigger of g that has no path: a draft may leave it empty (the
// editor fills a random one), but a workflow cannot be active with a webhook nobody can reach.
func missingPaths(g *validate.Graph) workflow.ValidationErrors {
	var out workflow.ValidationErrors
	for _, n := range g.Triggers {
		if n.Spec.Type != "trigger.webhook" {
			continue
		}
		var wh core.Webhook
		if err := node.Decode(n.Spec.Config, &wh); err != nil || NormalizePath(wh.Path) != "" {
			continue
		}
		out = append(out, workflow.ValidationError{
			Pointer: workflow.Pointer("nodes", n.Index, "config", "path"),
			Message: fmt.Sprintf("webhook trigger %s has no path, so it cannot listen while the workflow is active: set one "+
				"(the editor fills a random one) and save, or remove the trigger", n.Spec.ID),
		})
	}
	return out
}
