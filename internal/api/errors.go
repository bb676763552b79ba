package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// Problem types: stable identifiers clients can switch on.
const (
	ProblemValidation         = "urn:concertmaster:problem:validation"
	ProblemNotFound           = "urn:concertmaster:problem:not-found"
	ProblemConflict           = "urn:concertmaster:problem:conflict"
	ProblemPreconditionFailed = "urn:concertmaster:problem:precondition-failed"
	ProblemPreconditionNeeded = "urn:concertmaster:problem:precondition-required"
	ProblemBadRequest         = "urn:concertmaster:problem:bad-request"
	ProblemTooLarge           = "urn:concertmaster:problem:too-large"
	ProblemInternal           = "urn:concertmaster:problem:internal"
	ProblemExecutionFailed    = "urn:concertmaster:problem:execution-failed"
	ProblemMethodNotAllowed   = "urn:concertmaster:problem:method-not-allowed"
)

func problemType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return ProblemBadRequest
	case http.StatusNotFound:
		return ProblemNotFound
	case http.StatusMethodNotAllowed:
		return ProblemMethodNotAllowed
	case http.StatusConflict:
		return ProblemConflict
	case http.StatusPreconditionFailed:
		return ProblemPreconditionFailed
	case http.StatusPreconditionRequired:
		return ProblemPreconditionNeeded
	case http.StatusRequestEntityTooLarge:
		return ProblemTooLarge
	case http.StatusUnprocessableEntity:
		return ProblemValidation
	}
	if status >= 500 {
		return ProblemInternal
	}
	return "about:blank"
}

var bracketIndex = regexp.MustCompile(`\[(\d+)\]`)

// pointerFromLocation turns huma's body locations ("body.nodes[0].id") into JSON pointers
// ("/nodes/0/id"); other locations ("query.limit", "path.id") are kept.
func pointerFromLocation(loc string) string {
	if loc != "body" && !strings.HasPrefix(loc, "body.") && !strings.HasPrefix(loc, "body[") {
		return loc
	}
	rest := strings.TrimPrefix(loc, "body")
	rest = bracketIndex.ReplaceAllString(rest, ".$1")
	if rest == "" {
		return ""
	}
	parts := strings.Split(strings.TrimPrefix(rest, "."), ".")
	tokens := make([]any, len(parts))
	for i, p := range parts {
		tokens[i] = p
	}
	return workflow.Pointer(tokens...)
}

// newError is installed as huma.NewError: every error huma or this package makes is an RFC 9457
// problem with a stable type, and body locations are JSON pointers.
func newError(status int, msg string, errs ...error) huma.StatusError {
	details := make([]*huma.ErrorDetail, 0, len(errs))
	for _, err := range errs {
		if err == nil {
			continue
		}
		var d *huma.ErrorDetail
		if det, ok := err.(huma.ErrorDetailer); ok {
			d = det.ErrorDetail()
		} else {
			d = &huma.ErrorDetail{Message: err.Error()}
		}
		d.Location = pointerFromLocation(d.Location)
		switch d.Value.(type) {
		case map[string]any, []any:
			// Echo scalars only: a whole object could be the entire (large) request body.
			d.Value = nil
		}
		details = append(details, d)
	}
	if status == http.StatusRequestEntityTooLarge && msg == "" {
		msg = "request body is too large"
	}
	return &huma.ErrorModel{Type: problemType(status), Title: http.StatusText(status), Status: status, Detail: msg, Errors: details}
}

func init() {
	// huma's documented extension point for the error model; set once, before any API exists.
	huma.NewError = newError
}

// toProblem maps a domain error to its HTTP problem. Unknown errors become a generic 500 whose
// cause is logged with the request id, never sent to the client.
func toProblem(ctx context.Context, logger *slog.Logger, err error) error {
	var verrs workflow.ValidationErrors
	var inputErr *service.InputError
	var route *store.RouteConflictError
	var statusErr huma.StatusError
	switch {
	case errors.As(err, &verrs):
		details := make([]error, len(verrs))
		for i, v := range verrs {
			details[i] = &huma.ErrorDetail{Location: v.Pointer, Message: v.Message}
		}
		return newError(http.StatusUnprocessableEntity, validationSummary(len(verrs)), details...)
	case errors.As(err, &inputErr):
		return newError(http.StatusUnprocessableEntity, inputErr.Message, &huma.ErrorDetail{Location: inputErr.Pointer, Message: inputErr.Message})
	case errors.As(err, &route):
		return newError(http.StatusConflict, route.Error())
	case errors.Is(err, store.ErrNotFound):
		return newError(http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrVersionMismatch):
		return newError(http.StatusPreconditionFailed, err.Error()+"; reload the workflow and apply your change again")
	case errors.Is(err, store.ErrConflict):
		return newError(http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrInvalidInput):
		return newError(http.StatusBadRequest, err.Error())
	case errors.As(err, &statusErr):
		return err
	case errors.Is(err, context.Canceled):
		return newError(499, "client closed the request")
	}
	id := RequestID(ctx)
	logger.ErrorContext(ctx, "Request failed", "request_id", id, "error", err.Error())
	return newError(http.StatusInternalServerError, fmt.Sprintf("internal error; the server log has the details under request id %s", id))
}

func validationSummary(n int) string {
	if n == 1 {
		return "the workflow has 1 problem"
	}
	return fmt.Sprintf("the workflow has %d problems", n)
}
