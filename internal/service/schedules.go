package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/core"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

// ScheduleSpec is a schedule trigger's configuration as the store keeps it (store.Schedule.Spec) and
// the scheduler reads it: the trigger's fields, with the defaults filled in.
type ScheduleSpec struct {
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
	Missed   string `json:"missed"`
}

// Compile parses the spec.
func (sp *ScheduleSpec) Compile() (*core.Cron, error) { return core.ParseCron(sp.Cron, sp.Timezone) }

// ParseScheduleSpec decodes a store.Schedule.Spec.
func ParseScheduleSpec(spec string) (*ScheduleSpec, error) {
	var sp ScheduleSpec
	if err := json.Unmarshal([]byte(spec), &sp); err != nil {
		return nil, fmt.Errorf("decode schedule spec: %w", err)
	}
	return &sp, nil
}

// specOf returns the spec of a schedule trigger's configuration.
func specOf(sc *core.Schedule) ScheduleSpec {
	tz := sc.Timezone
	if tz == "" {
		tz = "UTC"
	}
	return ScheduleSpec{Cron: strings.TrimSpace(sc.Cron), Timezone: tz, Missed: sc.MissedPolicy()}
}

// Schedules returns the schedules of a compiled workflow, each with its first fire time after now.
func Schedules(g *validate.Graph, now time.Time) ([]store.Schedule, error) {
	var out []store.Schedule
	var verrs workflow.ValidationErrors
	for _, n := range g.Triggers {
		if n.Spec.Type != "trigger.schedule" {
			continue
		}
		var sc core.Schedule
		if err := node.Decode(n.Spec.Config, &sc); err != nil {
			verrs = append(verrs, workflow.ValidationError{Pointer: workflow.Pointer("nodes", n.Index, "config"), Message: err.Error()})
			continue
		}
		spec := specOf(&sc)
		c, err := spec.Compile()
		if err != nil {
			verrs = append(verrs, workflow.ValidationError{Pointer: workflow.Pointer("nodes", n.Index, "config", scheduleField(err)), Message: err.Error()})
			continue
		}
		next := c.Next(now)
		if next.IsZero() {
			verrs = append(verrs, workflow.ValidationError{Pointer: workflow.Pointer("nodes", n.Index, "config", "cron"),
				Message: fmt.Sprintf("cron %q never fires again", spec.Cron)})
			continue
		}
		body, err := json.Marshal(spec)
		if err != nil {
			return nil, fmt.Errorf("encode schedule spec: %w", err)
		}
		out = append(out, store.Schedule{NodeID: n.Spec.ID, Spec: string(body), NextFireAt: next})
	}
	if len(verrs) > 0 {
		return nil, verrs
	}
	return out, nil
}

// scheduleField names the configuration field a core.ParseCron error is about.
func scheduleField(err error) string {
	if strings.HasPrefix(err.Error(), "timezone") {
		return "timezone"
	}
	return "cron"
}

// ScheduleIdempotencyKey is the idempotency key of the run a schedule starts for a fire time: a fire
// time starts one run, however often it is attempted.
func ScheduleIdempotencyKey(nodeID string, scheduledAt time.Time) string {
	return "schedule:" + nodeID + ":" + scheduledAt.UTC().Format(time.RFC3339Nano)
}

// ScheduleFire is one fire of a schedule.
type ScheduleFire struct {
	// Schedule is the schedule as the scheduler read it; the fire happens only while its NextFireAt
	// is still current.
	Schedule store.Schedule
	// ScheduledAt is the fire time the run is for: Schedule.NextFireAt, or the latest fire time missed
	// while the server was down.
	ScheduledAt time.Time
	// FiredAt is when the scheduler fired it.
	FiredAt time.Time
	// Next is the schedule's next fire time once this one is done.
	Next time.Time
	// Timezone is the schedule's time zone, for the run's input.
	Timezone string
}

// FireSchedule starts the run of one fire time and moves the schedule to its next fire time, in one
// transaction: both happen, or neither. The run's trigger is the schedule's node (kind schedule), its
// input {"scheduledAt", "firedAt", "timezone"}, and its idempotency key ScheduleIdempotencyKey. An
// error wrapping store.ErrConflict means the fire time is no longer due (another scheduler fired it,
// or the workflow was deactivated, changed or deleted); created is false when a run for the same fire
// time already existed (the schedule is then left as it was).
func (s *Service) FireSchedule(ctx context.Context, f ScheduleFire) (exec *store.Execution, created bool, err error) {
	sc := f.Schedule
	input, err := json.Marshal(map[string]any{
		"scheduledAt": f.ScheduledAt.UTC().Format(time.RFC3339Nano),
		"firedAt":     f.FiredAt.UTC().Format(time.RFC3339Nano),
		"timezone":    f.Timezone,
	})
	if err != nil {
		return nil, false, fmt.Errorf("encode schedule input: %w", err)
	}
	firedAt := f.FiredAt
	move := store.FireScheduleParams{TenantID: sc.TenantID, WorkflowID: sc.WorkflowID, NodeID: sc.NodeID, Due: sc.NextFireAt, Next: f.Next, FiredAt: &firedAt}
	return s.startExecution(ctx, sc.TenantID, StartParams{
		WorkflowID: sc.WorkflowID, Version: sc.Version, Input: input, TriggerNode: sc.NodeID, Kind: store.TriggerSchedule,
		IdempotencyKey: ScheduleIdempotencyKey(sc.NodeID, f.ScheduledAt),
	}, func(ctx context.Context, tx store.Tx, _ *store.Execution) error {
		return s.store.FireSchedule(ctx, tx, move)
	})
}

// ScheduleInfo is a schedule trigger of a workflow's current version and its next fire times.
type ScheduleInfo struct {
	NodeID   string
	Cron     string
	Timezone string
	Missed   string
	// Active tells whether the schedule fires: the workflow is active.
	Active bool
	// LastFireAt is when it last started a run while active, nil if never (or since activation).
	LastFireAt *time.Time
	// Next are its next fire times: from its stored next fire time when active, else from now.
	Next []time.Time
}

// ScheduleUpcomingMax bounds the fire times WorkflowSchedules and PreviewSchedule compute.
const ScheduleUpcomingMax = 50

// WorkflowSchedules returns the schedule triggers of a workflow's current version, in definition
// order, each with its next n fire times (1 to ScheduleUpcomingMax), also while the workflow is
// inactive.
func (s *Service) WorkflowSchedules(ctx context.Context, tenantID, id string, n int) ([]ScheduleInfo, error) {
	n = min(max(n, 1), ScheduleUpcomingMax)
	w, err := s.store.GetWorkflow(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	stored := map[string]store.Schedule{}
	if w.Active {
		rows, err := s.store.ListSchedules(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			stored[r.NodeID] = r
		}
	}
	now := s.now()
	out := []ScheduleInfo{}
	for _, nd := range w.Definition.Nodes {
		if nd.Type != "trigger.schedule" {
			continue
		}
		var sc core.Schedule
		if err := node.Decode(nd.Config, &sc); err != nil {
			continue // not a schedule this version can fire; validation says why
		}
		spec := specOf(&sc)
		info := ScheduleInfo{NodeID: nd.ID, Cron: spec.Cron, Timezone: spec.Timezone, Missed: spec.Missed, Next: []time.Time{}}
		row, active := stored[nd.ID]
		if c, err := spec.Compile(); err == nil {
			if active {
				info.Next = append(info.Next, row.NextFireAt.UTC())
				info.Next = append(info.Next, c.Upcoming(row.NextFireAt, n-1)...)
			} else {
				info.Next = c.Upcoming(now, n)
			}
		}
		info.Active, info.LastFireAt = active, row.LastFireAt
		out = append(out, info)
	}
	return out, nil
}

// PreviewSchedule returns the next n fire times (1 to ScheduleUpcomingMax) of a cron expression in a
// time zone, from now, or an *InputError locating the bad field (/cron or /timezone).
func (s *Service) PreviewSchedule(cron, timezone string, n int) ([]time.Time, error) {
	n = min(max(n, 1), ScheduleUpcomingMax)
	for _, f := range []struct{ name, value string }{{"cron", cron}, {"timezone", timezone}} {
		if strings.Contains(f.value, "{{") {
			return nil, &InputError{Pointer: workflow.Pointer(f.name),
				Message: fmt.Sprintf("a schedule's %s must be plain text, not an expression: it is needed before any execution starts", f.name)}
		}
	}
	c, err := core.ParseCron(cron, timezone)
	if err != nil {
		return nil, &InputError{Pointer: workflow.Pointer(scheduleField(err)), Message: err.Error()}
	}
	next := c.Upcoming(s.now(), n)
	if len(next) == 0 {
		return nil, &InputError{Pointer: "/cron", Message: fmt.Sprintf("cron %q never fires: no time in the next five years matches it", strings.TrimSpace(cron))}
	}
	return next, nil
}
