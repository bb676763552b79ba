package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/event"
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

// WebhookTarget is the active trigger a webhook request reaches, once authenticated. It is shared
// by the requests that reach the same route (cached): it must not be modified.
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
//
// Routes that exist are cached (ADR 0024): a write that changes a workflow's routes drops them in
// every process at once, and an entry is served at most WebhookCacheTTL. Paths that answer 404 are
// not cached, so that requests for random paths cannot fill memory or evict the routes in use.
func (s *Service) OpenWebhook(ctx context.Context, method, path string, header http.Header, rawBody []byte) (*WebhookTarget, error) {
	method, path = strings.ToUpper(method), NormalizePath(path)
	key := method + " " + path // a method has no space: the key is unambiguous
	target, ok := s.routes.Get(key)
	if !ok {
		ticket := s.routes.Ticket()
		route, err := s.store.LookupWebhook(ctx, method, path)
		if err != nil {
			return nil, err
		}
		trigger, err := s.webhookTrigger(ctx, route)
		if err != nil {
			return nil, err
		}
		target = &WebhookTarget{Route: route, Trigger: trigger}
		s.routes.Put(ticket, key, route.TenantID, route.WorkflowID, target)
	}
	if err := target.Trigger.Authenticate(header, rawBody); err != nil {
		return nil, err
	}
	return target, nil
}

// StartWebhook starts the target's workflow with the request as the trigger's output. When the
// trigger responds on completion it waits up to wait for the run to finish; finished tells whether it
// did. respond is the trigger's respond mode.
func (s *Service) StartWebhook(ctx context.Context, target *WebhookTarget, req WebhookRequest, wait time.Duration) (exec *store.Execution, respond string, finished bool, err error) {
	out, err := s.RunWebhook(ctx, target, req, wait)
	if err != nil {
		return nil, "", false, err
	}
	return out.Exec, out.Respond, out.Finished, nil
}

// WebhookOutcome is how a webhook's run went by the time its answer is due.
type WebhookOutcome struct {
	Exec *store.Execution
	// Respond is the trigger's respond mode.
	Respond string
	// Finished tells whether the run had finished.
	Finished bool
	// Response is the answer an http.respond node decided, when one ran first.
	Response *node.Response
}

// RunWebhook starts the target's workflow with the request as the trigger's output. When the trigger
// responds on completion it waits up to wait for the run to finish, or for an http.respond node to
// decide the answer, whichever comes first.
func (s *Service) RunWebhook(ctx context.Context, target *WebhookTarget, req WebhookRequest, wait time.Duration) (*WebhookOutcome, error) {
	route := target.Route
	// Credentials in headers never reach the store: the execution's input, every node run derived from
	// it and every read of them see "[redacted]".
	headers := target.Trigger.Redact(req.Headers)
	input, err := json.Marshal(map[string]any{
		"method": strings.ToUpper(req.Method), "path": route.Path, "headers": headers, "query": req.Query, "body": req.Body,
	})
	if err != nil {
		return nil, fmt.Errorf("encode webhook request: %w", err)
	}
	p := StartParams{WorkflowID: route.WorkflowID, Version: route.Version, Input: input, TriggerNode: route.NodeID, Kind: store.TriggerWebhook}
	if route.Respond == core.RespondImmediately {
		exec, _, err := s.StartExecution(ctx, route.TenantID, p)
		if err != nil {
			return nil, err
		}
		return &WebhookOutcome{Exec: exec, Respond: route.Respond}, nil
	}
	if s.cfg.Bus == nil || wait <= 0 {
		exec, finished, err := s.StartAndWait(ctx, route.TenantID, p, wait)
		if err != nil {
			return nil, err
		}
		out := &WebhookOutcome{Exec: exec, Respond: core.RespondOnCompletion, Finished: finished}
		out.Response, err = s.findResponse(ctx, route.TenantID, exec.ID)
		return out, err
	}
	p.ID = NewID()
	sub := s.cfg.Bus.Subscribe(event.Filter{TenantID: route.TenantID, ExecutionID: p.ID}, 64)
	defer sub.Close()
	exec, created, err := s.StartExecution(ctx, route.TenantID, p)
	if err != nil {
		return nil, err
	}
	if !created || exec.ID != p.ID {
		exec, finished, err := s.WaitExecution(ctx, route.TenantID, exec.ID, wait)
		if err != nil {
			return nil, err
		}
		return &WebhookOutcome{Exec: exec, Respond: core.RespondOnCompletion, Finished: finished}, nil
	}
	return s.awaitAnswer(ctx, route.TenantID, exec.ID, sub, wait)
}

// awaitAnswer waits on sub for an http.respond answer or the end of the run.
func (s *Service) awaitAnswer(ctx context.Context, tenantID, id string, sub *event.Subscription, timeout time.Duration) (*WebhookOutcome, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	// A safety net: re-read now and then, in case events were missed.
	tick := time.NewTicker(s.cfg.WaitPollInterval)
	defer tick.Stop()
	lagged := sub.Lagged
	missed := false
	done := func() (*WebhookOutcome, error) {
		e, err := s.store.GetExecution(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		out := &WebhookOutcome{Exec: e, Respond: core.RespondOnCompletion, Finished: e.Status.Terminal()}
		// Every event arrives in order unless the subscription lagged: without a gap, no
		// execution.responded before the end means no http.respond ran, and the log need not be read.
		if missed {
			if out.Response, err = s.findResponse(ctx, tenantID, id); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for {
		select {
		case m, ok := <-sub.C:
			if !ok {
				continue
			}
			switch m.Event.Type {
			case engine.EventExecutionResponded:
				resp, err := decodeResponse(m.Event.Data)
				if err != nil {
					return nil, err
				}
				e, err := s.store.GetExecution(ctx, tenantID, id)
				if err != nil {
					return nil, err
				}
				return &WebhookOutcome{Exec: e, Respond: core.RespondOnCompletion, Finished: e.Status.Terminal(), Response: resp}, nil
			case engine.EventExecutionFinished:
				return done()
			}
			continue
		case <-lagged:
			lagged, missed = nil, true // the subscription is over: the ticker's re-reads take over
			continue
		case <-tick.C:
			if !missed {
				e, err := s.store.GetExecution(ctx, tenantID, id)
				if err != nil {
					return nil, err
				}
				if !e.Status.Terminal() {
					continue
				}
				return done()
			}
			out, err := done()
			if err != nil || out.Finished || out.Response != nil {
				return out, err
			}
		case <-timer.C:
			return done()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// maxResponseScan bounds how many events findResponse reads looking for an http.respond answer.
const maxResponseScan = 2000

// findResponse returns the first http.respond answer recorded in an execution's event log, if any.
func (s *Service) findResponse(ctx context.Context, tenantID, id string) (*node.Response, error) {
	var after int64
	for after < maxResponseScan {
		evs, err := s.store.ListEvents(ctx, tenantID, id, after, 200)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if ev.Type == engine.EventExecutionResponded {
				return decodeResponse(ev.Data)
			}
			after = ev.Seq
		}
		if len(evs) < 200 {
			return nil, nil
		}
	}
	return nil, nil
}

func decodeResponse(data json.RawMessage) (*node.Response, error) {
	var r node.Response
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode webhook response: %w", err)
	}
	return &r, nil
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
