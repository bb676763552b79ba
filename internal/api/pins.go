package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
)

// Pin is a node output pinned in the editor (ADR 0028).
type Pin struct {
	NodeID    string          `json:"nodeId" doc:"The node whose output is pinned"`
	Port      string          `json:"port" doc:"The output port the pinned data leaves by" example:"out"`
	Data      json.RawMessage `json:"data" doc:"The pinned output"`
	Bytes     int             `json:"bytes" doc:"Size of data's JSON"`
	UpdatedAt time.Time       `json:"updatedAt" doc:"When it was pinned"`
}

func toPin(p *store.Pin) Pin {
	return Pin{NodeID: p.NodeID, Port: p.Port, Data: p.Data, Bytes: len(p.Data), UpdatedAt: p.UpdatedAt}
}

type pinsOutput struct {
	Body struct {
		Items []Pin `json:"items" doc:"The workflow's pins, by node id"`
	}
}

func newPinsOutput(pins []store.Pin) *pinsOutput {
	out := &pinsOutput{}
	out.Body.Items = make([]Pin, 0, len(pins))
	for i := range pins {
		out.Body.Items = append(out.Body.Items, toPin(&pins[i]))
	}
	return out
}

type pinNodeInput struct {
	ID     string `path:"id" maxLength:"64" doc:"Workflow id"`
	NodeID string `path:"nodeId" maxLength:"63" doc:"Node id"`
}

type putPinInput struct {
	ID     string `path:"id" maxLength:"64" doc:"Workflow id"`
	NodeID string `path:"nodeId" maxLength:"63" doc:"Node id"`
	Body   struct {
		Data json.RawMessage `json:"data" required:"true" doc:"The output to pin: any JSON value, at most 1 MiB"`
		Port string          `json:"port,omitempty" maxLength:"63" doc:"The output port it leaves by (default: the node's first output port)"`
	}
}

type pinOutput struct {
	Body Pin
}

type pinFromExecutionInput struct {
	ID   string `path:"id" maxLength:"64" doc:"Workflow id"`
	Body struct {
		ExecutionID string   `json:"executionId" maxLength:"64" doc:"An execution of this workflow"`
		Nodes       []string `json:"nodes,omitempty" maxItems:"100" doc:"The nodes whose outputs to pin (default: the execution's trigger)"`
	}
}

type testRunInput struct {
	ID   string `path:"id" maxLength:"64" doc:"Workflow id"`
	Body *struct {
		Node        string          `json:"node,omitempty" maxLength:"63" doc:"The node to test (default: the whole workflow)"`
		Mode        string          `json:"mode,omitempty" enum:"node,upTo" doc:"node runs only that node, given the other nodes' outputs from pins and a past run; upTo (the default) runs it and the nodes it needs, except pinned ones"`
		ExecutionID string          `json:"executionId,omitempty" maxLength:"64" doc:"The run whose outputs the other nodes reuse in mode node, and whose input the trigger gets (default: the workflow's latest finished run)"`
		Input       json.RawMessage `json:"input,omitempty" doc:"The trigger's data (default: the source run's input, else {})"`
	} `required:"false"`
}

func (s *Server) registerPins() {
	tags := []string{"Workflows"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-pins", Method: http.MethodGet, Path: "/api/v1/workflows/{id}/pins",
		Summary: "List pinned outputs", Description: "The outputs pinned on the workflow's nodes. Test runs use a pinned output " +
			"instead of running the node; production runs (manual, webhook, schedule…) never do.",
		Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *workflowIDInput) (*pinsOutput, error) {
		pins, err := s.svc.ListPins(ctx, tenant(ctx), in.ID)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return newPinsOutput(pins), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "pin-output", Method: http.MethodPut, Path: "/api/v1/workflows/{id}/pins/{nodeId}",
		Summary: "Pin a node's output", Description: "Pins data as the node's output for test runs, replacing its pin. The node must be " +
			"in the workflow's current version; a workflow has at most 100 pins of at most 1 MiB each.",
		Tags: tags, MaxBodyBytes: service.MaxPinBytes + 64<<10,
		Errors: []int{http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *putPinInput) (*pinOutput, error) {
		pin, err := s.svc.PinOutput(ctx, tenant(ctx), in.ID, in.NodeID, in.Body.Port, in.Body.Data)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return &pinOutput{Body: toPin(pin)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "unpin-output", Method: http.MethodDelete, Path: "/api/v1/workflows/{id}/pins/{nodeId}", DefaultStatus: http.StatusNoContent,
		Summary: "Unpin a node's output", Description: "Removes the node's pin: test runs run the node again.",
		Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *pinNodeInput) (*struct{}, error) {
		if err := s.svc.Unpin(ctx, tenant(ctx), in.ID, in.NodeID); err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return nil, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "pin-from-execution", Method: http.MethodPost, Path: "/api/v1/workflows/{id}/pins/from-execution",
		Summary: "Pin outputs of a past run", Description: "Pins the outputs that the named nodes gave in one of the workflow's " +
			"executions (their last succeeded attempts), by default its trigger's: \"debug in editor\". Answers with every pin of the workflow.",
		Tags: tags, Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *pinFromExecutionInput) (*pinsOutput, error) {
		pins, err := s.svc.PinFromExecution(ctx, tenant(ctx), in.ID, in.Body.ExecutionID, in.Body.Nodes)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return newPinsOutput(pins), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "start-test-run", Method: http.MethodPost, Path: "/api/v1/workflows/{id}/test-runs", DefaultStatus: http.StatusAccepted,
		Summary: "Start a test run", Description: "Queues a test run of the workflow's current version (trigger test) and answers 202 " +
			"with it: one node (mode node), a node and the nodes it needs (mode upTo), or the whole workflow. Pinned nodes do not run: " +
			"their pins stand in for them. Nodes that do not run appear as succeeded (pinned or reused output, with a log line saying " +
			"so) or skipped (not part of the test).",
		Tags: []string{"Executions"}, MaxBodyBytes: s.cfg.MaxInputBytes,
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *testRunInput) (*executionOutput, error) {
		p := service.TestRunParams{WorkflowID: in.ID}
		if b := in.Body; b != nil {
			p.Node, p.Mode, p.ExecutionID, p.Input = b.Node, b.Mode, b.ExecutionID, b.Input
		}
		exec, err := s.svc.StartTestRun(ctx, tenant(ctx), p)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		d, err := s.detail(ctx, exec, false)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return &executionOutput{Status: http.StatusAccepted, Location: "/api/v1/executions/" + exec.ID, Body: d}, nil
	})
}
