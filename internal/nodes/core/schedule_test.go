package core_test

import (
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/core"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

func formatAll(ts []time.Time, loc *time.Location) []string {
	out := make([]string, len(ts))
	for i, v := range ts {
		out[i] = v.In(loc).Format(time.RFC3339)
	}
	return out
}

func TestCronForms(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		cron     string
		timezone string
		after    string
		want     []string
	}{
		{name: "Descriptor", cron: "@daily", after: "2026-05-01T10:00:00Z",
			want: []string{"2026-05-02T00:00:00Z", "2026-05-03T00:00:00Z", "2026-05-04T00:00:00Z"}},
		{name: "DescriptorHourly", cron: "@hourly", after: "2026-05-01T10:20:00Z",
			want: []string{"2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z", "2026-05-01T13:00:00Z"}},
		{name: "DescriptorMonthly", cron: "@monthly", after: "2026-01-31T10:00:00Z",
			want: []string{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"}},
		{name: "DescriptorWeekly", cron: "@weekly", after: "2026-05-01T10:00:00Z", // a Friday
			want: []string{"2026-05-03T00:00:00Z", "2026-05-10T00:00:00Z", "2026-05-17T00:00:00Z"}},
		{name: "DescriptorYearly", cron: "@yearly", after: "2026-05-01T10:00:00Z",
			want: []string{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z"}},
		{name: "EveryFromTheGivenTime", cron: "@every 90s", after: "2026-05-01T10:00:00Z",
			want: []string{"2026-05-01T10:01:30Z", "2026-05-01T10:03:00Z", "2026-05-01T10:04:30Z"}},
		{name: "EveryIgnoresTimezone", cron: "@every 1h", timezone: "Europe/Paris", after: "2026-10-24T23:30:00Z",
			want: []string{"2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-25T03:30:00+01:00"}},
		{name: "FiveFields", cron: "0 9 * * 1-5", after: "2026-05-01T10:00:00Z", // Friday after 9:00
			want: []string{"2026-05-04T09:00:00Z", "2026-05-05T09:00:00Z", "2026-05-06T09:00:00Z"}},
		{name: "FiveFieldsSteps", cron: "*/20 * * * *", after: "2026-05-01T10:05:00Z",
			want: []string{"2026-05-01T10:20:00Z", "2026-05-01T10:40:00Z", "2026-05-01T11:00:00Z"}},
		{name: "NamesAndLists", cron: "0 0 1 jan,jul *", after: "2026-05-01T10:00:00Z",
			want: []string{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"}},
		{name: "SixFieldsWithSeconds", cron: "30 0 2 * * *", after: "2026-05-01T10:00:00Z",
			want: []string{"2026-05-02T02:00:30Z", "2026-05-03T02:00:30Z", "2026-05-04T02:00:30Z"}},
		{name: "SixFieldsEverySecondStep", cron: "*/10 * * * * *", after: "2026-05-01T10:00:05Z",
			want: []string{"2026-05-01T10:00:10Z", "2026-05-01T10:00:20Z", "2026-05-01T10:00:30Z"}},
		{name: "Spaces", cron: "  0 9 * * *  ", after: "2026-05-01T10:00:00Z",
			want: []string{"2026-05-02T09:00:00Z", "2026-05-03T09:00:00Z", "2026-05-04T09:00:00Z"}},
		{name: "TimezoneNewYork", cron: "0 9 * * *", timezone: "America/New_York", after: "2026-05-01T10:00:00Z",
			want: []string{"2026-05-01T09:00:00-04:00", "2026-05-02T09:00:00-04:00", "2026-05-03T09:00:00-04:00"}},
		{name: "TimezoneTokyo", cron: "0 9 * * *", timezone: "Asia/Tokyo", after: "2026-05-01T10:00:00Z",
			want: []string{"2026-05-02T09:00:00+09:00", "2026-05-03T09:00:00+09:00", "2026-05-04T09:00:00+09:00"}},
		{name: "TimezoneUTCByName", cron: "0 9 * * *", timezone: "UTC", after: "2026-05-01T10:00:00Z",
			want: []string{"2026-05-02T09:00:00Z", "2026-05-03T09:00:00Z", "2026-05-04T09:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := core.ParseCron(tt.cron, tt.timezone)
			require.NoError(t, err)
			got := c.Upcoming(mustTime(t, tt.after), len(tt.want))
			require.Equal(t, tt.want, formatAll(got, c.Location()))
			for _, v := range got {
				require.Equal(t, time.UTC, v.Location(), "fire times are in UTC")
			}
		})
	}
}

// TestCronDaylightSaving pins what happens to Europe/Paris schedules on 2026-03-29 (02:00 CET jumps to
// 03:00 CEST) and 2026-10-25 (03:00 CEST goes back to 02:00 CET).
func TestCronDaylightSaving(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		cron  string
		after string
		want  []string
	}{
		// robfig/cron alone skips this day's 02:30, which does not exist; it fires once, at the change.
		{name: "SpringGapFiresOnceAtTheChange", cron: "30 2 * * *", after: "2026-03-28T12:00:00+01:00",
			want: []string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{name: "SpringGapSixFields", cron: "0 30 2 * * *", after: "2026-03-28T12:00:00+01:00",
			want: []string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{name: "SpringGapAfterTheChange", cron: "30 2 * * *", after: "2026-03-29T03:00:00+02:00",
			want: []string{"2026-03-30T02:30:00+02:00"}},
		{name: "SpringGapSeveralTimesInTheGapFireOnce", cron: "0,30 2 * * *", after: "2026-03-29T01:00:00+01:00",
			want: []string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{name: "SpringTimeInGapAndAfterItMerge", cron: "0 2,3 * * *", after: "2026-03-29T01:00:00+01:00",
			want: []string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00", "2026-03-30T03:00:00+02:00"}},
		{name: "SpringMidnightUnaffected", cron: "@daily", after: "2026-03-28T12:00:00+01:00",
			want: []string{"2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"}},
		{name: "SpringEveryHourFollowsRealTime", cron: "30 * * * *", after: "2026-03-29T00:45:00+01:00",
			want: []string{"2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00", "2026-03-29T04:30:00+02:00"}},
		// robfig/cron alone fires 02:30 twice on this day (CEST, then CET); it fires the first one only.
		{name: "AutumnOverlapFiresOnce", cron: "30 2 * * *", after: "2026-10-24T12:00:00+02:00",
			want: []string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{name: "AutumnOverlapSixFields", cron: "0 30 2 * * *", after: "2026-10-24T12:00:00+02:00",
			want: []string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{name: "AutumnOverlapAfterTheFirstFire", cron: "30 2 * * *", after: "2026-10-25T02:30:00+02:00",
			want: []string{"2026-10-26T02:30:00+01:00"}},
		{name: "AutumnOverlapFromTheSecondPass", cron: "*/20 2,3 * * *", after: "2026-10-25T02:10:00+01:00",
			want: []string{"2026-10-25T03:00:00+01:00", "2026-10-25T03:20:00+01:00", "2026-10-25T03:40:00+01:00"}},
		{name: "AutumnOverlapEveryMinuteOfTheHour", cron: "* 2 * * *", after: "2026-10-25T02:58:00+02:00",
			want: []string{"2026-10-25T02:59:00+02:00", "2026-10-26T02:00:00+01:00"}},
		{name: "AutumnEveryHourFollowsRealTime", cron: "30 * * * *", after: "2026-10-25T01:45:00+02:00",
			want: []string{"2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-25T03:30:00+01:00"}},
	}
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := core.ParseCron(tt.cron, "Europe/Paris")
			require.NoError(t, err)
			got := c.Upcoming(mustTime(t, tt.after), len(tt.want))
			require.Equal(t, tt.want, formatAll(got, paris))
		})
	}
}

// TestCronDaylightSavingEachWallTimeOnce walks a year of Paris days fire by fire: a schedule naming hours
// fires exactly once per day, and strictly later each time.
func TestCronDaylightSavingEachWallTimeOnce(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"30 2 * * *", "0 2 * * *", "59 2 * * *", "0 3 * * *", "15 1 * * *", "0 0 0 * * *"} {
		c, err := core.ParseCron(expr, "Europe/Paris")
		require.NoError(t, err)
		at := mustTime(t, "2026-01-01T00:00:00Z")
		days := map[string]int{}
		for range 365 {
			next := c.Next(at)
			require.True(t, next.After(at), "%s: %s after %s", expr, next, at)
			days[next.In(c.Location()).Format(time.DateOnly)]++
			at = next
		}
		for day, n := range days {
			require.Equal(t, 1, n, "%s fires %d times on %s", expr, n, day)
		}
		require.Len(t, days, 365, expr)
	}
}

func TestScheduleValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		config  map[string]any
		message string // empty: valid
	}{
		{name: "Descriptor", config: map[string]any{"cron": "@weekly"}},
		{name: "Every", config: map[string]any{"cron": "@every 1s"}},
		{name: "EveryBadDuration", config: map[string]any{"cron": "@every soon"}, message: `cron "@every soon": @every soon is not a duration`},
		{name: "EveryEmpty", config: map[string]any{"cron": "@every"}, message: "needs a duration"},
		{name: "EveryFractionalSeconds", config: map[string]any{"cron": "@every 1500ms"}, message: "whole number of seconds"},
		{name: "EveryNegative", config: map[string]any{"cron": "@every -5s"}, message: "shorter than the minimum"},
		{name: "EveryTooLong", config: map[string]any{"cron": "@every 100000h"}, message: "longer than the maximum"},
		{name: "EveryTooShort", config: map[string]any{"cron": "@every 500ms"}, message: "shorter than the minimum, 1s"},
		{name: "FiveFields", config: map[string]any{"cron": "0 9 * * 1-5", "timezone": "Europe/Paris", "missed": "runOnce"}},
		{name: "LocalRefused", config: map[string]any{"cron": "@daily", "timezone": "Local"}, message: `timezone "Local" is not a known IANA time zone`},
		{name: "MissedUnknown", config: map[string]any{"cron": "@daily", "missed": "always"}, message: "missed"},
		{name: "NeverFires", config: map[string]any{"cron": "0 0 30 2 *"}, message: `cron "0 0 30 2 *" never fires`},
		{name: "OutOfRange", config: map[string]any{"cron": "0 25 * * *"}, message: `cron "0 25 * * *"`},
		{name: "PathTimezoneRefused", config: map[string]any{"cron": "@daily", "timezone": "../../etc/passwd"}, message: "timezone"},
		{name: "SevenFields", config: map[string]any{"cron": "0 0 0 * * * *"}, message: `cron "0 0 0 * * * *"`},
		{name: "SixFields", config: map[string]any{"cron": "*/5 * * * * *"}},
		{name: "TemplateLeftToTheWorkflowValidator", config: map[string]any{"cron": "{{ vars.cron }}"}},
		{name: "TimezoneInCron", config: map[string]any{"cron": "CRON_TZ=UTC 0 * * * *"}, message: "timezone field"},
		{name: "UnknownDescriptor", config: map[string]any{"cron": "@fortnightly"}, message: `cron "@fortnightly"`},
		{name: "UnknownTimezone", config: map[string]any{"cron": "@daily", "timezone": "Mars/Olympus"}, message: `timezone "Mars/Olympus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nt, ok := registry(t).Lookup("trigger.schedule")
			require.True(t, ok)
			_, err := nt.Instantiate(tt.config, false)
			if tt.message == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.message)
		})
	}
}

func TestScheduleInfo(t *testing.T) {
	t.Parallel()
	info := (&core.Schedule{}).NodeInfo()
	for _, section := range []string{"## Configuration", "## Output", "## Limits", "## Errors", "## Example"} {
		require.Contains(t, info.Docs, section)
	}
	require.Equal(t, "clock", info.Icon)
	require.Equal(t, core.MissedSkip, (&core.Schedule{}).MissedPolicy())
	require.Equal(t, core.MissedRunOnce, (&core.Schedule{Missed: core.MissedRunOnce}).MissedPolicy())
	out, err := run(t, "trigger.schedule", map[string]any{"cron": "@daily"}, &node.Input{Data: map[string]any{"scheduledAt": "x"}})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"scheduledAt": "x"}, out.Value)
}

// FuzzParseCron checks that no expression panics or loops, and that every fire time is later than the
// time it follows.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 9 * * 1-5", "*/15 * * * *", "30 0 2 * * *", "@daily", "@every 10m", "@every 1h30m", "0 0 30 2 *",
		"1-5/2 */3 1,15 jan-mar mon-fri", "? ? ? ? ?", "0 0 0 0 0", "@every 0s", "5-1 * * * *"} {
		f.Add(s, "Europe/Paris")
		f.Add(s, "")
	}
	at := time.Date(2026, 10, 24, 23, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr, tz string) {
		if len(tz) > 64 || strings.ContainsRune(tz, 0) {
			return
		}
		c, err := core.ParseCron(expr, tz)
		if err != nil {
			return
		}
		prev := at
		for _, v := range c.Upcoming(at, 5) {
			if !v.After(prev) {
				t.Fatalf("%q in %q: %s does not follow %s", expr, tz, v, prev)
			}
			prev = v
		}
	})
}

// TestCronDaylightSavingOracle compares Next with a brute-force reading of the rule around daylight-saving
// changes of several zones (one with a 30-minute change): walk every minute, keep the first instant of
// each wall-clock minute, move the minutes a gap skips to the gap's end; Next(after) is the earliest of
// those, among the times the expression names, that is later than after.
func TestCronDaylightSavingOracle(t *testing.T) {
	t.Parallel()
	changes := []struct{ zone, around string }{
		{"Europe/Paris", "2026-03-29T01:00:00Z"}, {"Europe/Paris", "2026-10-25T01:00:00Z"},
		{"America/New_York", "2026-03-08T07:00:00Z"}, {"America/New_York", "2026-11-01T06:00:00Z"},
		{"Australia/Lord_Howe", "2026-04-04T15:00:00Z"}, {"Australia/Lord_Howe", "2026-10-03T15:30:00Z"},
	}
	// Expressions that name hours (those with * in the hour field follow real time instead).
	exprs := []string{"30 2 * * *", "*/20 1-3 * * *", "0 0-4 * * *", "45 1,2 * * *", "15,45 0-23/2 * * *", "0 2 * * 0", "* 2 * * *"}
	for _, ch := range changes {
		loc, err := time.LoadLocation(ch.zone)
		require.NoError(t, err)
		around := mustTime(t, ch.around)
		from, to := around.Add(-30*time.Hour), around.Add(30*time.Hour)
		// first[w] is the first instant whose wall clock reads w, or the end of the gap that skips w.
		first := map[time.Time]time.Time{}
		var walls []time.Time
		for i := from; i.Before(to); i = i.Add(time.Minute) {
			w := wallOf(i, loc)
			if _, seen := first[w]; !seen {
				first[w] = i
				walls = append(walls, w)
			}
			if next := wallOf(i.Add(time.Minute), loc); next.Sub(w) > time.Minute {
				for m := w.Add(time.Minute); m.Before(next); m = m.Add(time.Minute) {
					first[m] = i.Add(time.Minute)
					walls = append(walls, m)
				}
			}
		}
		for _, expr := range exprs {
			spec, err := cron.ParseStandard(expr)
			require.NoError(t, err)
			var fires []time.Time
			for _, w := range walls {
				if spec.Next(w.Add(-time.Second)).Equal(w) {
					fires = append(fires, first[w])
				}
			}
			c, err := core.ParseCron(expr, ch.zone)
			require.NoError(t, err)
			for after := from.Add(2 * time.Hour); after.Before(to.Add(-26 * time.Hour)); after = after.Add(7 * time.Minute) {
				var want time.Time
				for _, f := range fires {
					if f.After(after) && (want.IsZero() || f.Before(want)) {
						want = f
					}
				}
				if want.IsZero() {
					continue
				}
				got := c.Next(after)
				require.True(t, want.Equal(got), "%s in %s after %s: want %s, got %s", expr, ch.zone,
					after.In(loc).Format(time.RFC3339), want.In(loc).Format(time.RFC3339), got.In(loc).Format(time.RFC3339))
			}
		}
	}
}

func wallOf(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC)
}

func TestCronLatest(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name           string
		cron, timezone string
		from, upTo     string
		want           string
	}{
		{name: "CronDays", cron: "0 9 * * *", from: "2026-05-01T09:00:00Z", upTo: "2026-05-04T08:00:00Z", want: "2026-05-03T09:00:00Z"},
		{name: "CronExactlyAtUpTo", cron: "0 9 * * *", from: "2026-05-01T09:00:00Z", upTo: "2026-05-04T09:00:00Z", want: "2026-05-04T09:00:00Z"},
		{name: "CronNoneSinceFrom", cron: "0 9 * * *", from: "2026-05-01T09:00:00Z", upTo: "2026-05-01T10:00:00Z", want: "2026-05-01T09:00:00Z"},
		{name: "CronUpToBeforeFrom", cron: "0 9 * * *", from: "2026-05-01T09:00:00Z", upTo: "2026-04-01T10:00:00Z", want: "2026-05-01T09:00:00Z"},
		{name: "CronEverySecondForAYear", cron: "* * * * * *", from: "2025-05-01T09:00:00Z", upTo: "2026-05-01T10:00:00.5Z", want: "2026-05-01T10:00:00Z"},
		{name: "CronYearly", cron: "@yearly", from: "2020-01-01T00:00:00Z", upTo: "2026-05-01T10:00:00Z", want: "2026-01-01T00:00:00Z"},
		{name: "CronInTimezone", cron: "0 9 * * *", timezone: "Asia/Tokyo", from: "2026-05-01T00:00:00Z", upTo: "2026-05-03T23:00:00Z", want: "2026-05-03T00:00:00Z"},
		{name: "EveryCountedFromFrom", cron: "@every 7s", from: "2026-05-01T09:00:03Z", upTo: "2026-05-01T10:00:00Z", want: "2026-05-01T09:59:54Z"},
		{name: "EveryLongDowntime", cron: "@every 1s", from: "2025-05-01T09:00:00Z", upTo: "2026-05-01T09:00:00.9Z", want: "2026-05-01T09:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := core.ParseCron(tt.cron, tt.timezone)
			require.NoError(t, err)
			upTo, err := time.Parse(time.RFC3339Nano, tt.upTo)
			require.NoError(t, err)
			got := c.Latest(mustTime(t, tt.from), upTo)
			require.Equal(t, tt.want, got.Format(time.RFC3339Nano))
		})
	}
}
