package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/concertmaster/concertmaster/internal/node"
)

// Missed-run policies of a schedule: what the scheduler does with the fire times that passed while
// the server was down (or paused) for longer than its grace.
const (
	// MissedSkip drops them: the schedule goes on from the next fire time after now.
	MissedSkip = "skip"
	// MissedRunOnce fires once for the latest of them, then goes on from the next fire time after now.
	MissedRunOnce = "runOnce"
)

// Bounds of a schedule's configuration.
const (
	// EveryMin is the shortest @every interval.
	EveryMin = time.Second
	// EveryMax is the longest @every interval (ten years).
	EveryMax = 10 * 365 * 24 * time.Hour
	// CronMaxLength bounds the cron text.
	CronMaxLength = 100
)

// Schedule starts an execution at the times its cron expression names, in its time zone, while the
// workflow is active. The scheduler (internal/schedule) fires it; this type describes and checks it.
type Schedule struct {
	// Cron is a 5-field cron expression (minute hour day-of-month month day-of-week), a 6-field one
	// with seconds first, a descriptor (@yearly, @monthly, @weekly, @daily, @hourly) or @every <duration>.
	Cron string `json:"cron"`
	// Timezone is the IANA time zone the expression is read in; empty means UTC.
	Timezone string `json:"timezone,omitempty"`
	// Missed is the policy for fire times missed while the server was down: skip (default) or runOnce.
	Missed string `json:"missed,omitempty"`
}

// NodeInfo describes trigger.schedule.
func (*Schedule) NodeInfo() node.Info {
	return node.Info{
		Type: "trigger.schedule", Pure: true, Title: "Schedule", Category: "Triggers", Icon: "clock",
		Output: json.RawMessage(`{"type":"object","properties":{"scheduledAt":{"type":"string"},"firedAt":{"type":"string"},"timezone":{"type":"string"}}}`),
		Description: "Starts the workflow at the times a cron expression names (5 fields, 6 with seconds, @daily-style " +
			"descriptors or @every 10m), in a time zone, while the workflow is active. Its output is the scheduled and the actual fire time.",
		Outputs: portOut,
		Schema:  json.RawMessage(scheduleSchema),
		Docs:    docsSchedule,
		New:     func() node.Node { return &Schedule{} },
	}
}

const scheduleSchema = `{
  "type": "object",
  "additionalProperties": false,
  "required": ["cron"],
  "properties": {
    "cron": {"type": "string", "title": "Cron", "minLength": 1, "maxLength": 100,
      "description": "When to fire: minute hour day-of-month month day-of-week (5 fields), the same with seconds first (6 fields), a descriptor (@yearly, @monthly, @weekly, @daily, @hourly) or @every followed by a duration of whole seconds, at least 1s (@every 90s, @every 1h30m).",
      "examples": ["0 9 * * 1-5", "*/15 * * * *", "30 0 2 * * *", "@daily", "@every 10m"]},
    "timezone": {"type": "string", "title": "Time zone", "maxLength": 64,
      "description": "The IANA time zone the expression is read in (default UTC). Daylight-saving changes fire each wall-clock time once: a time skipped in spring fires at the change, a time repeated in autumn fires the first time only. @every ignores it.",
      "examples": ["Europe/Paris", "America/New_York", "UTC"]},
    "missed": {"type": "string", "title": "Missed runs", "enum": ["skip", "runOnce"], "default": "skip",
      "description": "What to do with fire times that passed while the server was down for more than a minute: skip them (default), or run once for the latest of them when the server is back.",
      "examples": ["skip", "runOnce"]}
  }
}`

// cronParser reads 5 fields, 6 with seconds first, and descriptors.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate parses the cron expression and the time zone, and checks that the schedule fires.
func (s *Schedule) Validate() error {
	if strings.Contains(s.Cron, "{{") || strings.Contains(s.Timezone, "{{") {
		// The workflow validator refuses templates here with their own message (a schedule is read
		// before any run exists); this is not the place to report them twice.
		return nil
	}
	c, err := ParseCron(s.Cron, s.Timezone)
	if err != nil {
		return err
	}
	if c.Next(time.Now()).IsZero() {
		return fmt.Errorf("cron %q never fires: no time in the next five years matches it", s.Cron)
	}
	return nil
}

// MissedPolicy returns the configured missed-run policy, skip by default.
func (s *Schedule) MissedPolicy() string {
	if s.Missed == "" {
		return MissedSkip
	}
	return s.Missed
}

// Execute passes the trigger data through.
func (*Schedule) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	return node.Out(in.Data), nil
}

// Cron is a parsed schedule: the times it fires, in its time zone.
type Cron struct {
	sched cron.Schedule
	// wall is the schedule read in wall-clock time (its Location UTC) when it names hours: its
	// fire times are mapped to instants by resolve, so that each wall-clock time fires once across
	// daylight-saving changes. Nil for schedules that follow real time.
	wall *cron.SpecSchedule
	loc  *time.Location
}

// allHours is the Hour bit set of a schedule that fires in every hour.
const allHours = 1<<24 - 1

// ParseCron parses a cron expression (5 fields, 6 with seconds, a descriptor or @every) in a time zone
// (an IANA name; empty means UTC). Its errors name the field at fault: `cron "…": …` or `timezone "…": …`.
func ParseCron(expr, timezone string) (c *Cron, err error) {
	expr = strings.TrimSpace(expr)
	switch upper := strings.ToUpper(expr); {
	case expr == "":
		return nil, fmt.Errorf("cron is empty: write an expression such as 0 9 * * * or @daily")
	case len(expr) > CronMaxLength:
		return nil, fmt.Errorf("cron is %d characters long; at most %d", len(expr), CronMaxLength)
	case strings.HasPrefix(upper, "TZ=") || strings.HasPrefix(upper, "CRON_TZ="):
		return nil, fmt.Errorf("cron %q: set the time zone in the timezone field, not in the expression", expr)
	}
	loc, err := loadLocation(timezone)
	if err != nil {
		return nil, err
	}
	if rest, ok := strings.CutPrefix(expr, "@every"); ok {
		d, err := parseEvery(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("cron %q: %w", expr, err)
		}
		return &Cron{sched: cron.ConstantDelaySchedule{Delay: d}, loc: loc}, nil
	}
	defer func() {
		// The cron parser panics on some malformed input; report it as a bad expression.
		if p := recover(); p != nil {
			c, err = nil, fmt.Errorf("cron %q is not a valid expression", expr)
		}
	}()
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", expr, err)
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("cron %q is not a valid expression", expr)
	}
	inZone := *spec
	inZone.Location = loc
	c = &Cron{sched: &inZone, loc: loc}
	if spec.Hour&allHours != allHours {
		wall := *spec
		wall.Location = time.UTC
		c.wall = &wall
	}
	return c, nil
}

// parseEvery reads the duration of @every: whole seconds, between EveryMin and EveryMax.
func parseEvery(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("@every needs a duration, such as @every 5m")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("@every %s is not a duration; write one such as 90s, 5m or 1h30m", s)
	}
	switch {
	case d < EveryMin:
		return 0, fmt.Errorf("@every %s is shorter than the minimum, %s", s, EveryMin)
	case d > EveryMax:
		return 0, fmt.Errorf("@every %s is longer than the maximum, ten years (%s)", s, EveryMax)
	case d%time.Second != 0:
		return 0, fmt.Errorf("@every %s is not a whole number of seconds", s)
	}
	return d, nil
}

// loadLocation loads an IANA time zone; empty means UTC. "Local" is refused: it would mean the
// server's own zone, which the workflow cannot know.
func loadLocation(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return nil, fmt.Errorf("timezone %q is not a known IANA time zone; use a name such as Europe/Paris", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("timezone %q is not a known IANA time zone; use a name such as Europe/Paris", name)
	}
	return loc, nil
}

// Location returns the schedule's time zone.
func (c *Cron) Location() *time.Location { return c.loc }

// Next returns the first fire time strictly after after, in UTC, or the zero time when there is none
// within five years.
func (c *Cron) Next(after time.Time) time.Time {
	if c.wall == nil {
		t := c.sched.Next(after)
		if t.IsZero() {
			return t
		}
		return t.UTC()
	}
	w := wallClock(after.In(c.loc))
	// Each pass moves w forward; one that lands in the second half of a repeated hour jumps past it,
	// so a handful of passes is always enough.
	for range 64 {
		w = c.wall.Next(w)
		if w.IsZero() {
			return w
		}
		t, overlapEnd := c.resolve(w)
		if t.After(after) {
			return t.UTC()
		}
		if overlapEnd.IsZero() {
			// Only a repeated wall time, or one of a gap that has passed, resolves to an instant not
			// after after; a gap's times all resolve to its end, so the next wall time is later.
			continue
		}
		// w is a repeated wall time whose first occurrence has passed: every repeated time up to the
		// end of the repeated hour has too.
		w = overlapEnd.Add(-time.Second)
	}
	return time.Time{}
}

// Latest returns the latest fire time, not after upTo, of the series that starts at from (one of the
// schedule's fire times): from itself when the next one is after upTo. An @every series is counted
// from from.
func (c *Cron) Latest(from, upTo time.Time) time.Time {
	if !upTo.After(from) {
		return from
	}
	if every, ok := c.sched.(cron.ConstantDelaySchedule); ok {
		return from.Add(upTo.Sub(from) / every.Delay * every.Delay).UTC()
	}
	// Start near upTo rather than walk every fire time since from: from the latest of these windows
	// that holds a fire time, at most a few thousand fire times remain to walk.
	start := from
	for _, back := range []time.Duration{time.Minute, time.Hour, 25 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour} {
		if f := c.Next(upTo.Add(-back)); !f.IsZero() && !f.After(upTo) {
			if f.After(start) {
				start = f
			}
			break
		}
	}
	for range 100_000 {
		n := c.Next(start)
		if n.IsZero() || n.After(upTo) {
			break
		}
		start = n
	}
	return start.UTC()
}

// Upcoming returns the next n fire times after after (fewer when the schedule ends).
func (c *Cron) Upcoming(after time.Time, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for len(out) < n {
		after = c.Next(after)
		if after.IsZero() {
			break
		}
		out = append(out, after)
	}
	return out
}

// wallClock returns t's wall-clock reading as the same reading in UTC.
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// resolve maps a wall-clock time (read as UTC) to the instant it names in c.loc. A time that happens
// twice (autumn) is its first occurrence, and overlapEnd is the wall-clock time at which the repeated
// hour ends; a time that does not exist (spring) is the instant of the change, when the gap ends, so
// that resolved times never go back as wall times go forward.
func (c *Cron) resolve(w time.Time) (t, overlapEnd time.Time) {
	guess := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), c.loc)
	start, end := guess.ZoneBounds()
	offsets := []int{zoneOffset(guess)}
	if !start.IsZero() {
		offsets = append(offsets, zoneOffset(start.Add(-time.Nanosecond).In(c.loc)))
	}
	if !end.IsZero() {
		offsets = append(offsets, zoneOffset(end.In(c.loc)))
	}
	var valid []time.Time
	maxOffset := offsets[0]
	for _, off := range offsets {
		maxOffset = max(maxOffset, off)
		cand := w.Add(-time.Duration(off) * time.Second).In(c.loc)
		if wallClock(cand).Equal(w) && !containsInstant(valid, cand) {
			valid = append(valid, cand)
		}
	}
	switch len(valid) {
	case 0:
		// In a gap: read with the offset from after the change, w is an instant before the change,
		// whose zone ends at the change.
		_, change := w.Add(-time.Duration(maxOffset) * time.Second).In(c.loc).ZoneBounds()
		return change, time.Time{}
	case 1:
		return valid[0], time.Time{}
	}
	first := valid[0]
	for _, v := range valid[1:] {
		if v.Before(first) {
			first = v
		}
	}
	_, zoneEnd := first.ZoneBounds()
	// The repeated hour ends when the wall clock of the first occurrence's zone reaches the change.
	return first, wallClock(zoneEnd.Add(-time.Nanosecond).In(c.loc)).Add(time.Nanosecond)
}

func zoneOffset(t time.Time) int {
	_, off := t.Zone()
	return off
}

func containsInstant(ts []time.Time, t time.Time) bool {
	for _, x := range ts {
		if x.Equal(t) {
			return true
		}
	}
	return false
}

var _ node.Validator = (*Schedule)(nil)
