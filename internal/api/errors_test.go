package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
)

// TestProblemTypes checks that every status, also those no client is expected to see, has a stable
// urn:concertmaster:problem: type.
func TestProblemTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		want   string
	}{
		{400, ProblemBadRequest}, {404, ProblemNotFound}, {405, ProblemMethodNotAllowed}, {408, ProblemRequestTimeout},
		{409, ProblemConflict}, {412, ProblemPreconditionFailed}, {413, ProblemTooLarge}, {415, ProblemUnsupportedMediaType},
		{422, ProblemValidation}, {428, ProblemPreconditionNeeded}, {499, ProblemClientClosedRequest}, {500, ProblemInternal},
		{502, ProblemExecutionFailed}, {503, ProblemUnavailable}, {504, ProblemInternal},
		{406, "urn:concertmaster:problem:not-acceptable"}, {421, "urn:concertmaster:problem:misdirected-request"},
		{403, "urn:concertmaster:problem:forbidden"}, {451, "urn:concertmaster:problem:unavailable-for-legal-reasons"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			p := newError(tc.status, "x").(*ErrorModel)
			require.Equal(t, tc.want, p.Type)
			require.NotEmpty(t, p.Title)
			require.Equal(t, tc.status, p.Status)
		})
	}
}

// TestToProblem maps domain errors: a client that went away is a 499 problem, an unknown error a
// 500 that names the request id and hides the cause.
func TestToProblem(t *testing.T) {
	t.Parallel()
	ctx := context.WithValue(context.Background(), requestIDKey{}, "req-1")
	logger := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		err    error
		status int
		detail string
	}{
		{fmt.Errorf("run: %w", context.Canceled), StatusClientClosedRequest, "client closed"},
		{errors.New("disk on fire"), 500, "req-1"},
		{fmt.Errorf("list: %w", store.ErrBadCursor), 422, "cursor"},
		{&store.RetriedError{ID: "a", RetryID: "b"}, 409, "retried as execution b"},
	} {
		var se huma.StatusError
		require.ErrorAs(t, toProblem(ctx, logger, tc.err), &se)
		require.Equal(t, tc.status, se.GetStatus())
		require.Contains(t, se.Error(), tc.detail)
		require.NotContains(t, se.Error(), "disk on fire")
	}
}

// TestExcerpts bounds what a problem quotes of the request.
func TestExcerpts(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 4096)
	p := newError(http.StatusBadRequest, long, &huma.ErrorDetail{Location: "body.a", Message: long, Value: long},
		&huma.ErrorDetail{Location: "body.b", Value: map[string]any{"whole": "body"}}).(*ErrorModel)
	require.LessOrEqual(t, len(p.Detail), maxDetailBytes)
	require.True(t, strings.HasSuffix(p.Detail, "…"))
	require.LessOrEqual(t, len(p.Errors[0].Message), maxMessageBytes)
	require.LessOrEqual(t, len(p.Errors[0].Value.(string)), maxValueBytes)
	require.Nil(t, p.Errors[1].Value, "objects are not echoed")
	require.Equal(t, "/b", p.Errors[1].Location)
}
