package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// scheduleUpcoming is how many fire times the schedule reads list.
const scheduleUpcoming = 5

// Schedule is a schedule trigger of a workflow's current version and its next fire times.
type Schedule struct {
	NodeID   string `json:"nodeId" doc:"The schedule trigger's node id"`
	Cron     string `json:"cron" doc:"The trigger's cron expression"`
	Timezone string `json:"timezone" doc:"The IANA time zone the expression is read in (UTC when the trigger names none)"`
	Missed   string `json:"missed" enum:"skip,runOnce" doc:"What happens to fire times missed while the server was down"`
	Active   bool   `json:"active" doc:"Whether the schedule fires: the workflow is active"`
	// LastFireAt is a pointer so that it is left out, not null, when the schedule has not fired.
	LastFireAt *time.Time  `json:"lastFireAt,omitempty" doc:"When the schedule last started a run since the workflow was activated; absent if it has not"`
	Next       []time.Time `json:"next" doc:"The next 5 fire times (RFC 3339, UTC): the fire times to come while the workflow is active, else those it would have from now"`
}

type listSchedulesOutput struct {
	Body struct {
		Items []Schedule `json:"items"`
	}
}

type previewScheduleInput struct {
	Body struct {
		Cron     string `json:"cron" minLength:"1" maxLength:"100" doc:"A cron expression as trigger.schedule takes it: 5 fields, 6 with seconds first, a descriptor (@daily) or @every <duration>" example:"0 9 * * 1-5"`
		Timezone string `json:"timezone,omitempty" maxLength:"64" doc:"An IANA time zone (default UTC)" example:"Europe/Paris"`
	}
}

type previewScheduleOutput struct {
	Body struct {
		Next []time.Time `json:"next" doc:"The next 5 fire times from now (RFC 3339, UTC); fewer when the expression fires less within five years"`
	}
}

func (s *Server) registerSchedules() {
	tags := []string{"Workflows"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-workflow-schedules", Method: http.MethodGet, Path: "/api/v1/workflows/{id}/schedules",
		Summary: "List a workflow's schedules",
		Description: "The schedule triggers of the workflow's current version, in definition order, each with its next 5 fire times, " +
			"also while the workflow is inactive (active is then false, and the times are those it would have from now).",
		Tags: tags, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *workflowIDInput) (*listSchedulesOutput, error) {
		infos, err := s.svc.WorkflowSchedules(ctx, tenant(ctx), in.ID, scheduleUpcoming)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &listSchedulesOutput{}
		out.Body.Items = make([]Schedule, 0, len(infos))
		for _, i := range infos {
			out.Body.Items = append(out.Body.Items, Schedule{NodeID: i.NodeID, Cron: i.Cron, Timezone: i.Timezone, Missed: i.Missed,
				Active: i.Active, LastFireAt: i.LastFireAt, Next: nonNil(i.Next)})
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "preview-schedule", Method: http.MethodPost, Path: "/api/v1/schedules/preview",
		Summary: "Preview a schedule",
		Description: "The next 5 fire times of a cron expression in a time zone, from now, as trigger.schedule would fire them " +
			"(daylight-saving changes included). A bad expression or time zone answers 422 locating /cron or /timezone.",
		Tags: tags, MaxBodyBytes: 4 << 10, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *previewScheduleInput) (*previewScheduleOutput, error) {
		next, err := s.svc.PreviewSchedule(in.Body.Cron, in.Body.Timezone, scheduleUpcoming)
		if err != nil {
			return nil, toProblem(ctx, s.logger, err)
		}
		out := &previewScheduleOutput{}
		out.Body.Next = next
		return out, nil
	})
}
