package api

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/service"
)

// Bounds of an expression preview: the request body (the expression and any context), and the JSON
// of a value sent whole; a bigger value comes as the start of its JSON text, marked truncated.
const (
	maxEvaluateBodyBytes = 1 << 20
	maxPreviewValueBytes = 64 << 10
	previewSlotsPerCPU   = 2
	// previewSlotWait is how long a preview waits for a slot before answering 503.
	previewSlotWait        = 2 * time.Second
	evaluateOperationID    = "evaluate-expression"
	listFunctionsOperation = "list-expression-functions"
)

// ExpressionContext overrides parts of what a previewed expression sees.
type ExpressionContext struct {
	Trigger   any            `json:"trigger,omitempty" doc:"The trigger's output"`
	Input     any            `json:"input,omitempty" doc:"The node's input"`
	Nodes     map[string]any `json:"nodes,omitempty" doc:"Finished nodes by id, each {output, status}"`
	Vars      map[string]any `json:"vars,omitempty" doc:"The workflow's constants"`
	Execution map[string]any `json:"execution,omitempty" doc:"id, startedAt, trigger"`
	Workflow  map[string]any `json:"workflow,omitempty" doc:"id, name, version"`
	Item      any            `json:"item,omitempty" doc:"The element inside a fan-out"`
	Index     *int           `json:"index,omitempty" doc:"The element's position inside a fan-out"`
}

type evaluateExpressionInput struct {
	Body struct {
		Expression  string             `json:"expression" maxLength:"65536" doc:"A configuration string: text with zero or more {{ }} expressions" example:"Hello {{ upper(input.name) }}"`
		WorkflowID  string             `json:"workflowId,omitempty" maxLength:"64" doc:"The workflow the expression belongs to: gives vars and workflow"`
		ExecutionID string             `json:"executionId,omitempty" maxLength:"64" doc:"A run of the workflow whose data the expression is evaluated against, as the engine gives it to nodeId"`
		NodeID      string             `json:"nodeId,omitempty" maxLength:"64" doc:"The node whose configuration holds the expression: its input in that run is input"`
		Context     *ExpressionContext `json:"context,omitempty" doc:"Overrides parts of the data; a field given here wins"`
	}
}

// ExpressionPosition locates the failing expression in the string, in UTF-16 code units (as
// JavaScript and editors count).
type ExpressionPosition struct {
	Start int `json:"start" doc:"Offset of its {{"`
	End   int `json:"end" doc:"Offset just after its }} (or the end of the string when it is not closed)"`
}

// ExpressionError is why an expression has no value, in plain words.
type ExpressionError struct {
	Message  string              `json:"message" doc:"What is wrong, in plain words" example:"the expression after {{ is incomplete: input. needs a field name"`
	Position *ExpressionPosition `json:"position,omitempty"`
}

// ExpressionResult is the value of a previewed expression or its error.
type ExpressionResult struct {
	Value      any              `json:"value,omitempty" doc:"The value (left out when null or when error is set): typed for a string that is exactly one expression, otherwise a string. With truncated, the start of its JSON text"`
	Type       string           `json:"type" enum:"null,boolean,number,string,array,object" doc:"The value's JSON type"`
	Truncated  bool             `json:"truncated,omitempty" doc:"The value's JSON is over 64 KiB: value holds its start, as text"`
	Error      *ExpressionError `json:"error,omitempty" doc:"Set when the expression does not compile or its evaluation failed; value is then null"`
	DurationMs float64          `json:"durationMs" doc:"Time spent compiling and evaluating, in milliseconds"`
}

type evaluateExpressionOutput struct {
	Body ExpressionResult
}

type listFunctionsOutput struct {
	Body struct {
		Items []expression.FunctionDoc `json:"items"`
	}
}

// previewSlots bounds the previews evaluated at once in this process: each may use a core for up to
// the engine's expression timeout.
var previewSlots = make(chan struct{}, previewSlotsPerCPU*runtime.GOMAXPROCS(0))

func (s *Server) registerExpressions() {
	tags := []string{"Workflows"}
	huma.Register(s.api, huma.Operation{
		OperationID: evaluateOperationID, Method: http.MethodPost, Path: "/api/v1/expressions/evaluate",
		Summary: "Evaluate an expression",
		Description: "Previews a configuration string as a run would evaluate it, with the engine's limits and budgets (length, syntax nodes, " +
			"time, size of values). With executionId (and nodeId), the data is that run's, as the engine gave it to the node: trigger, input " +
			"(the node's input, or what its incoming edges carried), nodes.<id>.output, vars, execution and workflow; with only workflowId, " +
			"vars and workflow are the workflow's; context overrides any part. An expression that does not compile or fails answers 200 " +
			"with error (plain words and the position of the failing {{ }}), never a 4xx: it is a preview of what someone types. An " +
			"unknown workflow or execution answers 404 at its pointer.",
		Tags: tags, MaxBodyBytes: maxEvaluateBodyBytes,
		Errors: []int{http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	}, func(ctx context.Context, in *evaluateExpressionInput) (*evaluateExpressionOutput, error) {
		wait := time.NewTimer(previewSlotWait)
		defer wait.Stop()
		select {
		case previewSlots <- struct{}{}:
			defer func() { <-previewSlots }()
		case <-wait.C:
			return nil, newError(http.StatusServiceUnavailable, "too many expression previews are running at once; try again in a moment")
		case <-ctx.Done():
			return nil, toProblem(ctx, s.logger, ctx.Err())
		}
		p := service.EvaluateParams{Expression: in.Body.Expression, WorkflowID: in.Body.WorkflowID, ExecutionID: in.Body.ExecutionID, NodeID: in.Body.NodeID}
		if c := in.Body.Context; c != nil {
			p.Context = &service.EvalContext{Trigger: c.Trigger, Input: c.Input, Nodes: c.Nodes, Vars: c.Vars, Execution: c.Execution,
				Workflow: c.Workflow, Item: c.Item, Index: c.Index}
		}
		res, err := s.svc.Evaluate(ctx, tenant(ctx), p)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		return &evaluateExpressionOutput{Body: expressionResult(in.Body.Expression, res)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: listFunctionsOperation, Method: http.MethodGet, Path: "/api/v1/expressions/functions",
		Summary:     "List expression functions",
		Description: "Every function an expression may call — expr-lang's builtins and ConcertMaster's own — with its signature and one line of documentation, read from the compiler's configuration.",
		Tags:        tags,
	}, func(context.Context, *struct{}) (*listFunctionsOutput, error) {
		out := &listFunctionsOutput{}
		out.Body.Items = expression.Functions()
		return out, nil
	})
}

func expressionResult(source string, res *service.EvaluateResult) ExpressionResult {
	out := ExpressionResult{DurationMs: float64(res.Duration.Microseconds()) / 1000, Type: "null"}
	if e := res.Err; e != nil {
		out.Error = &ExpressionError{Message: e.Error()}
		if start, end, ok := e.Span(source); ok {
			out.Error.Position = &ExpressionPosition{Start: utf16Len(source[:start]), End: utf16Len(source[:end])}
		}
		return out
	}
	out.Type = jsonType(res.Value)
	out.Value = res.Value
	if out.Type == "array" || out.Type == "object" || out.Type == "string" {
		if b, err := json.Marshal(res.Value); err == nil && len(b) > maxPreviewValueBytes {
			cut := maxPreviewValueBytes
			for cut > 0 && !utf8.RuneStart(b[cut]) {
				cut--
			}
			out.Value, out.Truncated = string(b[:cut]), true
		}
	}
	return out
}

// utf16Len counts s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += max(1, utf16.RuneLen(r))
	}
	return n
}

// jsonType names a value's JSON type.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any, []string, []int, []float64, []map[string]any:
		return "array"
	case map[string]any:
		return "object"
	}
	// Values of other Go shapes (typed slices and maps from builtins) by their JSON text.
	if b, err := json.Marshal(v); err == nil && len(b) > 0 {
		switch b[0] {
		case '[':
			return "array"
		case '{':
			return "object"
		case '"':
			return "string"
		case 't', 'f':
			return "boolean"
		case 'n':
			return "null"
		}
		return "number"
	}
	return "string"
}
