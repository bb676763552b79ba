package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/concertmaster/concertmaster/internal/identity"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// Problem types: stable identifiers clients can switch on. Every status the server sends has one
// (problemType); the ones below are named because clients are expected to handle them.
const (
	ProblemValidation           = "urn:concertmaster:problem:validation"
	ProblemNotFound             = "urn:concertmaster:problem:not-found"
	ProblemConflict             = "urn:concertmaster:problem:conflict"
	ProblemPreconditionFailed   = "urn:concertmaster:problem:precondition-failed"
	ProblemPreconditionNeeded   = "urn:concertmaster:problem:precondition-required"
	ProblemBadRequest           = "urn:concertmaster:problem:bad-request"
	ProblemTooLarge             = "urn:concertmaster:problem:too-large"
	ProblemInternal             = "urn:concertmaster:problem:internal"
	ProblemUnavailable          = "urn:concertmaster:problem:unavailable"
	ProblemExecutionFailed      = "urn:concertmaster:problem:execution-failed"
	ProblemMethodNotAllowed     = "urn:concertmaster:problem:method-not-allowed"
	ProblemUnsupportedMediaType = "urn:concertmaster:problem:unsupported-media-type"
	ProblemRequestTimeout       = "urn:concertmaster:problem:request-timeout"
	ProblemClientClosedRequest  = "urn:concertmaster:problem:client-closed-request"

	problemPrefix = "urn:concertmaster:problem:"
)

// StatusClientClosedRequest is the status logged (never received) when the client went away before
// its answer was ready.
const StatusClientClosedRequest = 499

// Bounds on what an error answer quotes of the request: a problem never echoes a body back, and
// every string taken from the request is cut to a short excerpt.
const (
	maxDetailBytes  = 512
	maxMessageBytes = 512
	maxValueBytes   = 256
	maxErrorDetails = 100
)

// ErrorModel is the RFC 9457 problem document of every error answer
// (Content-Type: application/problem+json).
type ErrorModel struct {
	Type     string         `json:"type" format:"uri" pattern:"^urn:concertmaster:problem:[a-z-]+$" example:"urn:concertmaster:problem:validation" doc:"Stable identifier of the kind of problem (urn:concertmaster:problem:…); switch on it"`
	Title    string         `json:"title" example:"Unprocessable Entity" doc:"Short summary of the problem type: the status text"`
	Status   int            `json:"status" example:"422" doc:"The HTTP status code"`
	Detail   string         `json:"detail,omitempty" example:"the workflow has 1 problem" doc:"What went wrong this time, for people"`
	Instance string         `json:"instance,omitempty" format:"uri-reference" example:"/api/v1/executions/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" doc:"A reference to this occurrence, such as the execution that failed"`
	Errors   []*ErrorDetail `json:"errors,omitempty" doc:"One entry per problem with the request"`
}

// Error returns the problem's detail.
func (e *ErrorModel) Error() string { return e.Detail }

// GetStatus returns the HTTP status of the answer.
func (e *ErrorModel) GetStatus() int { return e.Status }

// ContentType makes huma answer problems as application/problem+json.
func (e *ErrorModel) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// ErrorDetail is one problem with a request, located by JSON pointer.
type ErrorDetail struct {
	Location string `json:"location" example:"/nodes/0/config/url" doc:"JSON pointer of the bad value: into the body (/nodes/0/id; empty for the whole body), or of a parameter (/path/id, /query/limit, /header/If-Match)"`
	Message  string `json:"message" doc:"What is wrong and how to fix it"`
	Value    any    `json:"value,omitempty" doc:"The bad value when it is a scalar (strings cut to 256 bytes)"`
}

// Error returns the detail's message with its location.
func (d *ErrorDetail) Error() string {
	if d.Location == "" {
		return d.Message
	}
	return d.Location + ": " + d.Message
}

var (
	_ huma.StatusError       = (*ErrorModel)(nil)
	_ huma.ContentTypeFilter = (*ErrorModel)(nil)
)

// problemType returns the stable type of a status: a named one, or the slug of the status text.
func problemType(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return ProblemTooLarge
	case http.StatusUnprocessableEntity:
		return ProblemValidation
	case StatusClientClosedRequest:
		return ProblemClientClosedRequest
	case http.StatusBadGateway:
		return ProblemExecutionFailed
	case http.StatusServiceUnavailable:
		return ProblemUnavailable
	}
	if status >= 500 {
		return ProblemInternal
	}
	text := http.StatusText(status)
	if text == "" {
		return ProblemBadRequest
	}
	return problemPrefix + strings.ReplaceAll(strings.ToLower(strings.ReplaceAll(text, "'", "")), " ", "-")
}

func statusTitle(status int) string {
	if status == StatusClientClosedRequest {
		return "Client Closed Request"
	}
	return http.StatusText(status)
}

// excerpt cuts s to at most n bytes on a rune boundary, marking the cut.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

var bracketIndex = regexp.MustCompile(`\[(\d+)\]`)

// pointerFromLocation turns huma's locations into JSON pointers: a body location ("body.nodes[0].id")
// becomes a pointer into the body ("/nodes/0/id", "" for the body itself); a parameter location
// ("query.limit", "path.id", "header.If-Match") becomes "/query/limit", "/path/id", "/header/If-Match".
// Pointers pass through.
func pointerFromLocation(loc string) string {
	if loc == "" || strings.HasPrefix(loc, "/") {
		return loc
	}
	if loc == "body" || strings.HasPrefix(loc, "body.") || strings.HasPrefix(loc, "body[") {
		rest := bracketIndex.ReplaceAllString(strings.TrimPrefix(loc, "body"), ".$1")
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
	if in, name, ok := strings.Cut(loc, "."); ok {
		return workflow.Pointer(in, name)
	}
	return workflow.Pointer(loc)
}

// requiredProperty matches huma's message for a missing property, whose location is the object
// that lacks it.
var requiredProperty = regexp.MustCompile("^" + strings.Replace(regexp.QuoteMeta(validation.MsgExpectedRequiredProperty), "%s", "(.+)", 1) + "$")

// toDetail converts an error huma or this package made into an ErrorDetail with a JSON pointer and
// at most a short excerpt of the client's value.
func toDetail(err error) *ErrorDetail {
	var d ErrorDetail
	var own *ErrorDetail
	var hd huma.ErrorDetailer
	switch {
	case errors.As(err, &own):
		d = *own
	case errors.As(err, &hd):
		h := hd.ErrorDetail()
		d = ErrorDetail{Location: h.Location, Message: h.Message, Value: h.Value}
	default:
		d = ErrorDetail{Message: err.Error()}
	}
	d.Location = pointerFromLocation(d.Location)
	if m := requiredProperty.FindStringSubmatch(d.Message); m != nil {
		d.Location += workflow.Pointer(m[1])
		d.Message, d.Value = m[1]+" is required", nil
	}
	d.Message = excerpt(d.Message, maxMessageBytes)
	d.Location = excerpt(d.Location, maxMessageBytes)
	d.Value = scalarExcerpt(d.Value)
	return &d
}

// scalarExcerpt keeps scalar values (strings cut to maxValueBytes) and drops the rest: an object or
// array could be the entire request body.
func scalarExcerpt(v any) any {
	switch x := v.(type) {
	case string:
		return excerpt(x, maxValueBytes)
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return x
	}
	return nil
}

// newError is installed as huma.NewError: every error huma or this package makes is an RFC 9457
// problem with a stable type, JSON pointers as locations, and at most short excerpts of the request.
func newError(status int, msg string, errs ...error) huma.StatusError {
	switch {
	case status == http.StatusRequestEntityTooLarge && msg == "":
		msg = "request body is too large"
	case status == http.StatusRequestEntityTooLarge && strings.HasPrefix(msg, "request body is too large limit="):
		// huma's wording: "request body is too large limit=N bytes"
		msg = "the request body is over the " + strings.TrimSuffix(strings.TrimPrefix(msg, "request body is too large limit="), " bytes") + "-byte limit of this operation"
	case status == http.StatusBadRequest && msg == "validation failed":
		msg = "the request body is not valid JSON"
	case status == http.StatusUnprocessableEntity && msg == "validation failed":
		msg = "the request is invalid; errors lists each problem with its location"
	case status == http.StatusUnsupportedMediaType && msg == "validation failed":
		msg = "the request body's Content-Type is not supported: send application/json"
	}
	p := &ErrorModel{Type: problemType(status), Title: statusTitle(status), Status: status, Detail: excerpt(msg, maxDetailBytes)}
	n := 0
	for _, err := range errs {
		if err != nil {
			n++
		}
	}
	if n > 0 {
		p.Errors = make([]*ErrorDetail, 0, min(n, maxErrorDetails+1))
	}
	for _, err := range errs {
		if err == nil {
			continue
		}
		if len(p.Errors) == maxErrorDetails {
			p.Errors = append(p.Errors, &ErrorDetail{Message: fmt.Sprintf("%d more problems are not listed; fix these first", n-maxErrorDetails)})
			break
		}
		p.Errors = append(p.Errors, toDetail(err))
	}
	return p
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
	var fieldErr *identity.FieldError
	var inUse *service.CredentialInUseError
	var notFound *service.NotFoundError
	if se, h, ok := authProblem(err); ok {
		if len(h) > 0 {
			return huma.ErrorWithHeaders(se, h)
		}
		return se
	}
	switch {
	case errors.As(err, &inUse):
		return credentialInUse(inUse)
	case errors.As(err, &fieldErr):
		return newError(http.StatusUnprocessableEntity, fieldErr.Message, &ErrorDetail{Location: fieldErr.Pointer, Message: fieldErr.Message})
	case errors.As(err, &verrs):
		details := make([]error, len(verrs))
		for i, v := range verrs {
			details[i] = &ErrorDetail{Location: v.Pointer, Message: v.Message}
		}
		return newError(http.StatusUnprocessableEntity, validationSummary(len(verrs)), details...)
	case errors.As(err, &notFound):
		return newError(http.StatusNotFound, notFound.Message, &ErrorDetail{Location: notFound.Pointer, Message: notFound.Message})
	case errors.As(err, &inputErr):
		return newError(http.StatusUnprocessableEntity, inputErr.Message, &ErrorDetail{Location: inputErr.Pointer, Message: inputErr.Message})
	case errors.As(err, &route):
		return newError(http.StatusConflict, route.Error())
	case errors.Is(err, store.ErrNotFound):
		return newError(http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrVersionMismatch):
		return newError(http.StatusPreconditionFailed, err.Error()+"; reload the workflow and apply your change again")
	case errors.Is(err, store.ErrConflict):
		return newError(http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrBadCursor):
		return newError(http.StatusUnprocessableEntity, "the cursor is not one this server issued",
			&ErrorDetail{Location: "/query/cursor", Message: "pass the nextCursor of the previous page, or leave cursor out to start from the first page"})
	case errors.Is(err, store.ErrInvalidInput):
		return newError(http.StatusUnprocessableEntity, err.Error())
	case errors.As(err, &statusErr):
		return err
	case errors.Is(err, context.Canceled):
		return newError(StatusClientClosedRequest, "client closed the request")
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
