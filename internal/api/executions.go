package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

type runBody struct {
	Input       json.RawMessage `json:"input,omitempty" doc:"The run's input, available to the trigger and to expressions as trigger"`
	TriggerNode string          `json:"triggerNode,omitempty" maxLength:"63" doc:"Trigger node to start from (default: the first manual trigger)"`
	Version     int             `json:"version,omitempty" minimum:"0" doc:"Version to run (default: the current one)"`
}

type runInput struct {
	ID             string   `path:"id" maxLength:"64" doc:"Workflow id"`
	Wait           string   `query:"wait" maxLength:"16" doc:"Wait up to this long (e.g. 30s) for the run to finish and answer with its result"`
	IdempotencyKey string   `header:"Idempotency-Key" maxLength:"255" doc:"Repeating a request with the same key returns the first execution instead of starting another"`
	Body           *runBody `required:"false"`
}

type executionOutput struct {
	Status   int
	Location string `header:"Location"`
	Body     ExecutionDetail
}

type executionIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"Execution id"`
}

type executionActionInput struct {
	ID             string `path:"id" maxLength:"64" doc:"Execution id"`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Repeating the request with the same key answers as the first one did instead of a conflict"`
}

type listExecutionsInput struct {
	WorkflowID string    `query:"workflowId" maxLength:"64" doc:"Keep one workflow's executions"`
	Status     string    `query:"status" enum:"queued,running,waiting,succeeded,failed,canceled" doc:"Keep executions in this status"`
	Trigger    string    `query:"trigger" enum:"manual,webhook,schedule,retry,call,error,message,test" doc:"Keep executions started this way"`
	Since      time.Time `query:"createdAfter" doc:"Keep executions created at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z)"`
	Until      time.Time `query:"createdBefore" doc:"Keep executions created before this time (RFC 3339)"`
	Parent     string    `query:"parentExecutionId" maxLength:"64" doc:"Keep the sub-workflow runs (children) that one execution started"`
	ParentNode string    `query:"parentNodeId" maxLength:"64" doc:"With parentExecutionId: keep the children of this flow.call node"`
	Limit      int       `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor     string    `query:"cursor" maxLength:"512"`
}

type decideInput struct {
	ID     string `path:"id" maxLength:"64"`
	NodeID string `path:"nodeId" maxLength:"64"`
	Body   struct {
		Comment string `json:"comment,omitempty" maxLength:"2000" doc:"Why; kept in the node's output and the audit log"`
	}
}

type listExecutionsOutput struct {
	Body struct {
		Items      []Execution `json:"items"`
		NextCursor string      `json:"nextCursor,omitempty"`
	}
}

type listEventsInput struct {
	ID    string `path:"id" maxLength:"64"`
	After int64  `query:"after" minimum:"0" doc:"Return events after this sequence number"`
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"500"`
}

type listEventsOutput struct {
	Body struct {
		Items []Event `json:"items"`
	}
}

// NodeRunsPageDefault is how many node runs an execution read carries, and the default page size of
// GET /api/v1/executions/{id}/node-runs.
const NodeRunsPageDefault = 50

// detail builds the response for an execution a service call returned whole: its input and output
// are cut to previews here, and withRuns adds the first page of node-run summaries from the store.
func (s *Server) detail(ctx context.Context, e *store.Execution, withRuns bool) (ExecutionDetail, error) {
	d := ExecutionDetail{Execution: toExecution(e), NodeRuns: []NodeRun{}}
	d.setValues(store.Preview(e.Input, s.cfg.PreviewBytes), store.Preview(e.Output, s.cfg.PreviewBytes))
	if withRuns {
		if err := s.firstRuns(ctx, &d); err != nil {
			return ExecutionDetail{}, err
		}
	}
	return d, nil
}

// readDetail reads an execution for GET: the store cuts the input and output, so a read never brings
// a whole large value into the process.
func (s *Server) readDetail(ctx context.Context, id string) (ExecutionDetail, error) {
	p, err := s.svc.Store().GetExecutionPreview(ctx, tenant(ctx), id, s.cfg.PreviewBytes)
	if err != nil {
		return ExecutionDetail{}, err
	}
	d := ExecutionDetail{Execution: toExecution(&p.Execution), NodeRuns: []NodeRun{}}
	d.setValues(p.InputPreview, p.OutputPreview)
	if err := s.firstRuns(ctx, &d); err != nil {
		return ExecutionDetail{}, err
	}
	if r, ok := s.svc.Store().(pluginVersionReader); ok && p.StartedAt != nil {
		if d.PluginVersions, err = r.ExecutionPlugins(ctx, tenant(ctx), id); err != nil {
			return ExecutionDetail{}, err
		}
	}
	return d, nil
}

// pluginVersionReader is implemented by stores that record the plugin versions of executions.
type pluginVersionReader interface {
	ExecutionPlugins(ctx context.Context, tenantID, executionID string) (map[string]string, error)
}

func (s *Server) firstRuns(ctx context.Context, d *ExecutionDetail) error {
	page, err := s.nodeRuns(ctx, d.ID, NodeRunsPageDefault, "")
	if err != nil {
		return err
	}
	d.NodeRuns, d.NodeRunsNextCursor = page.Body.Items, page.Body.NextCursor
	return nil
}

func (s *Server) nodeRuns(ctx context.Context, executionID string, limit int, cursor string) (*listNodeRunsOutput, error) {
	page, err := s.svc.Store().ListNodeRunSummaries(ctx, tenant(ctx), executionID, store.ListNodeRunSummariesParams{
		PreviewBytes: s.cfg.PreviewBytes, Limit: limit, Cursor: cursor,
	})
	if err != nil {
		return nil, err
	}
	out := &listNodeRunsOutput{}
	out.Body.Items = make([]NodeRun, 0, len(page.Items))
	for i := range page.Items {
		out.Body.Items = append(out.Body.Items, toNodeRun(&page.Items[i]))
	}
	out.Body.NextCursor = page.NextCursor
	return out, nil
}

// NewExecutionDetail builds the API form of an execution and all its node runs with every value
// whole, for tools that hold the whole execution in memory anyway (concertmaster run --json). Inputs
// the store keeps as references to another node's output are filled in.
func NewExecutionDetail(e *store.Execution, runs []store.NodeRun) ExecutionDetail {
	whole := func(raw []byte) store.ValuePreview {
		return store.ValuePreview{Head: string(raw), Bytes: int64(len(raw))}
	}
	d := ExecutionDetail{Execution: toExecution(e), NodeRuns: make([]NodeRun, 0, len(runs))}
	d.setValues(whole(e.Input), whole(e.Output))
	outputs := make(map[string]json.RawMessage, len(runs))
	for _, r := range runs { // ordered by node and attempt: the last attempt with an output wins
		if len(r.Output) > 0 {
			outputs[r.NodeID] = r.Output
		}
	}
	for _, r := range runs {
		if len(r.Input) == 0 && r.InputFrom != "" {
			r.Input = outputs[r.InputFrom]
		}
		sum := store.NodeRunSummary{NodeID: r.NodeID, Attempt: r.Attempt, Status: r.Status, InputFrom: r.InputFrom,
			Input: whole(r.Input), Output: whole(r.Output), Port: r.Port, Error: r.Error, Logs: r.Logs,
			StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, WakeAt: r.WakeAt}
		d.NodeRuns = append(d.NodeRuns, toNodeRun(&sum))
	}
	return d
}

func (s *Server) parseWait(w string) (time.Duration, error) {
	if w == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(w)
	if err != nil || d < 0 {
		return 0, newError(http.StatusUnprocessableEntity, "wait must be a duration such as 30s",
			&ErrorDetail{Location: "/query/wait", Message: "use a number with a unit, such as 500ms, 30s or 2m", Value: w})
	}
	return min(d, s.cfg.MaxWait), nil
}

func (s *Server) registerExecutions() {
	tags := []string{"Executions"}
	huma.Register(s.api, huma.Operation{
		OperationID: "run-workflow", Method: http.MethodPost, Path: "/api/v1/workflows/{id}/executions", DefaultStatus: http.StatusAccepted,
		Summary: "Run a workflow", Description: "Queues an execution and answers 202 with it. With ?wait=30s the answer waits for the run to finish " +
			"(200 with its output and node runs) and falls back to 202 when it takes longer. Idempotency-Key makes retries safe.",
		Tags: tags, MaxBodyBytes: s.cfg.MaxInputBytes,
		Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *runInput) (*executionOutput, error) {
		wait, err := s.parseWait(in.Wait)
		if err != nil {
			return nil, err
		}
		p := service.StartParams{WorkflowID: in.ID, IdempotencyKey: in.IdempotencyKey}
		if in.Body != nil {
			p.Input, p.TriggerNode, p.Version = in.Body.Input, in.Body.TriggerNode, in.Body.Version
		}
		status := http.StatusAccepted
		var exec *store.Execution

		if wait > 0 {
			var finished bool
			exec, finished, err = s.svc.StartAndWait(ctx, tenant(ctx), p, wait)
			if finished {
				status = http.StatusOK
			}
		} else {
			exec, _, err = s.svc.StartExecution(ctx, tenant(ctx), p)
		}
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		withRuns := wait > 0
		d, err := s.detail(ctx, exec, withRuns)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return &executionOutput{Status: status, Location: "/api/v1/executions/" + exec.ID, Body: d}, nil
	})
	s.alsoAnswers(http.MethodPost, "/api/v1/workflows/{id}/executions", http.StatusOK,
		"With ?wait=, the run finished in time: the execution with its output and node runs")

	huma.Register(s.api, huma.Operation{
		OperationID: "list-executions", Method: http.MethodGet, Path: "/api/v1/executions",
		Summary: "List executions", Description: "Newest first, paged by cursor, without inputs and outputs.", Tags: tags,
	}, func(ctx context.Context, in *listExecutionsInput) (*listExecutionsOutput, error) {
		page, err := s.svc.Store().ListExecutions(ctx, tenant(ctx), store.ListExecutionsParams{
			WorkflowID: in.WorkflowID, Status: workflow.ExecutionStatus(in.Status), ParentExecutionID: in.Parent, ParentNodeID: in.ParentNode, Limit: in.Limit, Cursor: in.Cursor,
			TriggerKind: store.TriggerKind(in.Trigger), CreatedAfter: in.Since, CreatedBefore: in.Until,
		})
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &listExecutionsOutput{}
		out.Body.Items = make([]Execution, 0, len(page.Items))
		for i := range page.Items {
			out.Body.Items = append(out.Body.Items, toExecution(&page.Items[i]))
		}
		out.Body.NextCursor = page.NextCursor
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-execution", Method: http.MethodGet, Path: "/api/v1/executions/{id}",
		Summary: "Get an execution", Description: "Status, timestamps, error, input, final output, and the first 50 node runs with their status, attempt, input, output, error, logs and timings. " +
			"Values over 4 KiB come as previews (inputPreview, inputTruncated, inputBytes …) and are read whole from the input and output endpoints; " +
			"nodeRunsNextCursor pages on through GET /api/v1/executions/{id}/node-runs.",
		Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *executionIDInput) (*executionOutput, error) {
		d, err := s.readDetail(ctx, in.ID)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return &executionOutput{Status: http.StatusOK, Body: d}, nil
	})
	s.registerExecutionReads(tags)

	huma.Register(s.api, huma.Operation{
		OperationID: "list-execution-events", Method: http.MethodGet, Path: "/api/v1/executions/{id}/events",
		Summary: "List an execution's events", Description: "The ordered event log; pass the last seq you have as after to read on without gaps.",
		Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *listEventsInput) (*listEventsOutput, error) {
		if _, err := s.svc.Store().GetExecution(ctx, tenant(ctx), in.ID); err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		evs, err := s.svc.Store().ListEvents(ctx, tenant(ctx), in.ID, in.After, in.Limit)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &listEventsOutput{}
		out.Body.Items = make([]Event, 0, len(evs))
		for _, ev := range evs {
			out.Body.Items = append(out.Body.Items, Event{Seq: ev.Seq, Type: ev.Type, NodeID: ev.NodeID, Attempt: ev.Attempt, Time: ev.Time, Data: ev.Data})
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "cancel-execution", Method: http.MethodPost, Path: "/api/v1/executions/{id}/cancel",
		Summary: "Cancel an execution", Description: "A queued or waiting execution is canceled at once (200); a running one is asked to stop (202) " +
			"and its running nodes are canceled through their context. Either way every node that has not finished is canceled, with a " +
			"node.canceled event. A finished execution answers 409, unless the request repeats the Idempotency-Key of the cancel that was kept with it.",
		Tags: tags, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, func(ctx context.Context, in *executionActionInput) (*executionOutput, error) {
		e, err := s.svc.CancelExecution(ctx, tenant(ctx), in.ID, in.IdempotencyKey)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		status := http.StatusOK
		if !e.Status.Terminal() {
			status = http.StatusAccepted
			if done, _, err := s.svc.WaitExecution(ctx, tenant(ctx), e.ID, 5*time.Second); err == nil && done.Status.Terminal() {
				e, status = done, http.StatusOK
			}
		}
		d, err := s.detail(ctx, e, false)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return &executionOutput{Status: status, Body: d}, nil
	})
	s.alsoAnswers(http.MethodPost, "/api/v1/executions/{id}/cancel", http.StatusAccepted,
		"The execution is running and was asked to stop; it had not stopped after 5 seconds")

	for _, approve := range []bool{true, false} {
		verb, opID, summary := "reject", "reject-execution-node", "Reject a waiting approval"
		if approve {
			verb, opID, summary = "approve", "approve-execution-node", "Approve a waiting approval"
		}
		huma.Register(s.api, huma.Operation{
			OperationID: opID, Method: http.MethodPost, Path: "/api/v1/executions/{id}/nodes/{nodeId}/" + verb,
			Summary: summary, Description: "Decides a flow.wait node in approval mode that is waiting: the node outputs " +
				"{decision, approved, comment, by, at} and the execution resumes at once. The first decision wins: a second one, a node " +
				"that is not a waiting approval, or a finished execution answers 409.",
			Tags: tags, Errors: []int{http.StatusNotFound, http.StatusConflict},
		}, func(ctx context.Context, in *decideInput) (*executionOutput, error) {
			e, err := s.svc.Decide(ctx, tenant(ctx), in.ID, in.NodeID, service.Decision{Approve: approve, Comment: in.Body.Comment})
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			d, err := s.detail(ctx, e, false)
			if err != nil {
				return nil, toProblem(ctx, s.logger, err)
			}
			return &executionOutput{Status: http.StatusOK, Body: d}, nil
		})
	}

	huma.Register(s.api, huma.Operation{
		OperationID: "retry-execution", Method: http.MethodPost, Path: "/api/v1/executions/{id}/retry", DefaultStatus: http.StatusAccepted,
		Summary: "Retry an execution", Description: "Starts a new execution (retryOf names the original) of the same version and input that reuses " +
			"the outputs of the nodes that succeeded and re-runs the others. Only failed or canceled executions can be retried, each at most once: " +
			"a second retry answers 409 naming the first (retry that one instead), unless it repeats the first one's Idempotency-Key, which " +
			"answers with the same retry.",
		Tags: tags, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, func(ctx context.Context, in *executionActionInput) (*executionOutput, error) {
		e, err := s.svc.RetryExecution(ctx, tenant(ctx), in.ID, in.IdempotencyKey)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		d, err := s.detail(ctx, e, false)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return &executionOutput{Status: http.StatusAccepted, Location: "/api/v1/executions/" + e.ID, Body: d}, nil
	})
}
