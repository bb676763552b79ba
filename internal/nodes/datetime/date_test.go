package datetime_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/datetime"
)

func instantiate(t testing.TB, config map[string]any) (node.Node, error) {
	t.Helper()
	r := node.NewRegistry()
	r.MustRegister(datetime.All()...)
	nt, ok := r.Lookup("data.date")
	require.True(t, ok)
	return nt.Instantiate(config, false)
}

func run(t testing.TB, config map[string]any, input any) (any, error) {
	t.Helper()
	n, err := instantiate(t, config)
	require.NoError(t, err)
	datetime.SetNow(n.(*datetime.Date), func() time.Time { return time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC) })
	out, err := n.Execute(context.Background(), &node.Input{Data: input})
	if err != nil {
		return nil, err
	}
	require.Equal(t, "out", out.Port)
	return out.Value, nil
}

func TestDate(t *testing.T) {
	t.Parallel()
	paris := "Europe/Paris"
	tests := []struct {
		name   string
		config map[string]any
		input  any
		want   any
	}{
		// parse / format
		{name: "AutoDateOnlyInZone", config: map[string]any{"operation": "parse", "timezone": paris}, input: "2026-07-01", want: "2026-07-01T00:00:00+02:00"},
		{name: "AutoRFC1123", config: map[string]any{"operation": "parse"}, input: "Sun, 29 Mar 2026 10:00:00 GMT", want: "2026-03-29T10:00:00Z"},
		{name: "AutoRFC3339ToZone", config: map[string]any{"operation": "format", "timezone": "Asia/Kolkata"}, input: "2026-03-29T10:00:00Z", want: "2026-03-29T15:30:00+05:30"},
		{name: "AutoSpaceSeparated", config: map[string]any{"operation": "parse", "timezone": "America/New_York"}, input: "2026-01-15 09:30:00", want: "2026-01-15T09:30:00-05:00"},
		{name: "AutoUnixString", config: map[string]any{"operation": "parse"}, input: "1774778400", want: "2026-03-29T10:00:00Z"},
		{name: "FormatDate", config: map[string]any{"operation": "format", "format": "date", "timezone": paris}, input: "2026-03-29T23:30:00Z", want: "2026-03-30"},
		{name: "FormatGoLayout", config: map[string]any{"operation": "format", "format": "02/01/2006 15:04 MST", "timezone": paris}, input: "2026-03-29T10:00:00Z", want: "29/03/2026 12:00 CEST"},
		{name: "FormatObject", config: map[string]any{"operation": "format", "format": "object", "timezone": paris}, input: "2026-03-29T10:00:00.250Z",
			want: map[string]any{"iso": "2026-03-29T12:00:00.25+02:00", "unix": 1774778400.0, "unixMs": 1774778400250.0, "year": 2026.0, "month": 3.0, "day": 29.0,
				"hour": 12.0, "minute": 0.0, "second": 0.0, "millisecond": 250.0, "weekday": 7.0, "weekdayName": "Sunday", "dayOfYear": 88.0,
				"timezone": paris, "offset": "+02:00"}},
		{name: "FormatRFC1123", config: map[string]any{"operation": "format", "format": "rfc1123", "timezone": paris}, input: "2026-03-29T12:00:00+02:00", want: "Sun, 29 Mar 2026 10:00:00 GMT"},
		{name: "FormatRFC3339ms", config: map[string]any{"operation": "format", "format": "rfc3339ms"}, input: "2026-03-29T10:00:00Z", want: "2026-03-29T10:00:00.000Z"},
		{name: "FormatTokens", config: map[string]any{"operation": "format", "format": "dddd D MMMM YYYY, h:mm A", "timezone": "America/New_York"}, input: 1774778400.0,
			want: "Sunday 29 March 2026, 6:00 AM"},
		{name: "FormatTokensAll", config: map[string]any{"operation": "format", "format": "YY-M-D H:m:s.SSS a Z ZZ ddd MMM [YYYY]"}, input: "2026-01-02T03:04:05.006Z",
			want: "26-1-2 3:4:5.006 am +00:00 +0000 Fri Jan YYYY"},
		{name: "FormatUnix", config: map[string]any{"operation": "format", "format": "unix"}, input: "2026-03-29T10:00:00.900Z", want: 1774778400.0},
		{name: "FormatUnixMs", config: map[string]any{"operation": "format", "format": "unixMs"}, input: "2026-03-29T10:00:00.900Z", want: 1774778400900.0},
		{name: "FromObject", config: map[string]any{"operation": "format"}, input: map[string]any{"iso": "2026-03-29T12:00:00+02:00", "year": 1.0}, want: "2026-03-29T10:00:00Z"},
		{name: "ParseGoLayout", config: map[string]any{"operation": "parse", "inputFormat": "02/01/2006 15:04", "timezone": paris}, input: "29/03/2026 12:00", want: "2026-03-29T12:00:00+02:00"},
		{name: "ParseTokens", config: map[string]any{"operation": "parse", "inputFormat": "DD/MM/YYYY HH:mm:ss", "timezone": paris}, input: "01/02/2026 09:05:00", want: "2026-02-01T09:05:00+01:00"},
		{name: "ParseTokensLenient", config: map[string]any{"operation": "parse", "inputFormat": "D MMMM YYYY h:mm a"}, input: "9 MARCH 2026 12:05 am", want: "2026-03-09T00:05:00Z"},
		{name: "ParseTokensOffset", config: map[string]any{"operation": "parse", "inputFormat": "YYYY-MM-DD[T]HH:mm:ss.SSSZ", "timezone": paris}, input: "2026-03-29T10:00:00.5-03:00",
			want: "2026-03-29T15:00:00.5+02:00"},
		{name: "ParseUnixMs", config: map[string]any{"operation": "parse", "inputFormat": "unixMs"}, input: 1774778400123.0, want: "2026-03-29T10:00:00.123Z"},
		{name: "ParseYearOnly", config: map[string]any{"operation": "parse", "inputFormat": "YYYY"}, input: "2026", want: "2026-01-01T00:00:00Z"},
		// add / subtract
		{name: "AddDayAcrossSpringForward", config: map[string]any{"operation": "add", "duration": "1d", "timezone": paris}, input: "2026-03-28T12:00:00+01:00", want: "2026-03-29T12:00:00+02:00"},
		{name: "Add24hAcrossSpringForward", config: map[string]any{"operation": "add", "duration": "24h", "timezone": paris}, input: "2026-03-28T12:00:00+01:00", want: "2026-03-29T13:00:00+02:00"},
		{name: "AddDayAcrossFallBack", config: map[string]any{"operation": "add", "duration": "P1D", "timezone": paris}, input: "2026-10-24T12:00:00+02:00", want: "2026-10-25T12:00:00+01:00"},
		{name: "AddDayIntoGap", config: map[string]any{"operation": "add", "duration": "1 day", "timezone": paris}, input: "2026-03-28T02:30:00+01:00", want: "2026-03-29T03:30:00+02:00"},
		{name: "AddDayIntoOverlap", config: map[string]any{"operation": "add", "duration": "1d", "timezone": paris}, input: "2026-10-24T02:30:00+02:00", want: "2026-10-25T02:30:00+02:00"},
		{name: "AddMixed", config: map[string]any{"operation": "add", "duration": "1y2mo3w4d5h6m7s8ms"}, input: "2026-01-01T00:00:00Z", want: "2027-03-26T05:06:07.008Z"},
		{name: "AddMonthClamps", config: map[string]any{"operation": "add", "duration": "1mo"}, input: "2026-01-31T10:00:00Z", want: "2026-02-28T10:00:00Z"},
		{name: "AddMonthClampsLeap", config: map[string]any{"operation": "add", "duration": "P1M"}, input: "2028-01-31", want: "2028-02-29T00:00:00Z"},
		{name: "AddNegative", config: map[string]any{"operation": "add", "duration": "-1.5h"}, input: "2026-01-01T00:00:00Z", want: "2025-12-31T22:30:00Z"},
		{name: "SubtractMonthsAcrossYear", config: map[string]any{"operation": "subtract", "duration": "13mo"}, input: "2026-03-31T00:00:00Z", want: "2025-02-28T00:00:00Z"},
		{name: "SubtractWeeks", config: map[string]any{"operation": "subtract", "duration": "2w", "timezone": paris}, input: "2026-04-05T12:00:00+02:00", want: "2026-03-22T12:00:00+01:00"},
		// diff
		{name: "DiffDayAcrossSpringForward", config: map[string]any{"operation": "diff", "to": "2026-03-29T12:00:00+02:00", "unit": "day", "timezone": paris}, input: "2026-03-28T12:00:00+01:00", want: 1.0},
		{name: "DiffHoursAcrossSpringForward", config: map[string]any{"operation": "diff", "to": "2026-03-29T12:00:00+02:00", "unit": "hour", "timezone": paris}, input: "2026-03-28T12:00:00+01:00", want: 23.0},
		{name: "DiffHoursAcrossFallBack", config: map[string]any{"operation": "diff", "to": "2026-10-26T00:00:00+01:00", "unit": "hour", "timezone": paris}, input: "2026-10-25T00:00:00+02:00", want: 25.0},
		{name: "DiffMonthsClamped", config: map[string]any{"operation": "diff", "to": "2026-02-28", "unit": "month"}, input: "2026-01-31", want: 1.0},
		{name: "DiffMonthsNotYet", config: map[string]any{"operation": "diff", "to": "2026-03-30", "unit": "month"}, input: "2026-01-31", want: 1.0},
		{name: "DiffNegative", config: map[string]any{"operation": "diff", "to": "2026-01-01", "unit": "day"}, input: "2026-01-10T12:00:00Z", want: -9.0},
		{name: "DiffWeeks", config: map[string]any{"operation": "diff", "to": "2026-01-21", "unit": "week"}, input: "2026-01-01", want: 2.0},
		{name: "DiffYears", config: map[string]any{"operation": "diff", "to": "2026-02-28", "unit": "year"}, input: "2024-02-29", want: 2.0}, // as 2024-02-29 + 2y = 2026-02-28
		{name: "DiffMilliseconds", config: map[string]any{"operation": "diff", "to": "2026-01-01T00:00:01.5Z", "unit": "millisecond"}, input: "2026-01-01T00:00:00Z", want: 1500.0},
		// startOf / endOf
		{name: "StartOfDaySpringForward", config: map[string]any{"operation": "startOf", "unit": "day", "timezone": paris}, input: "2026-03-29T15:00:00+02:00", want: "2026-03-29T00:00:00+01:00"},
		{name: "EndOfDaySpringForward", config: map[string]any{"operation": "endOf", "unit": "day", "timezone": paris}, input: "2026-03-29T01:00:00+01:00", want: "2026-03-29T23:59:59.999+02:00"},
		{name: "StartOfDayFallBack", config: map[string]any{"operation": "startOf", "unit": "day", "timezone": paris}, input: "2026-10-25T23:00:00+01:00", want: "2026-10-25T00:00:00+02:00"},
		{name: "EndOfDayFallBack", config: map[string]any{"operation": "endOf", "unit": "day", "timezone": paris}, input: "2026-10-25T01:00:00+02:00", want: "2026-10-25T23:59:59.999+01:00"},
		{name: "StartOfHourHalfHourZone", config: map[string]any{"operation": "startOf", "unit": "hour", "timezone": "Asia/Kolkata"}, input: "2026-03-29T10:10:00Z", want: "2026-03-29T15:00:00+05:30"},
		{name: "StartOfMonth", config: map[string]any{"operation": "startOf", "unit": "month", "timezone": paris}, input: "2026-03-31T23:30:00Z", want: "2026-04-01T00:00:00+02:00"},
		{name: "StartOfWeekMonday", config: map[string]any{"operation": "startOf", "unit": "week", "timezone": paris}, input: "2026-03-29T12:00:00+02:00", want: "2026-03-23T00:00:00+01:00"},
		{name: "StartOfWeekSunday", config: map[string]any{"operation": "startOf", "unit": "week", "weekStartsOn": "sunday", "timezone": paris}, input: "2026-03-29T12:00:00+02:00", want: "2026-03-29T00:00:00+01:00"},
		{name: "EndOfWeek", config: map[string]any{"operation": "endOf", "unit": "week", "timezone": paris}, input: "2026-03-25T12:00:00+01:00", want: "2026-03-29T23:59:59.999+02:00"},
		{name: "EndOfYear", config: map[string]any{"operation": "endOf", "unit": "year", "format": "rfc3339ms"}, input: "2026-06-15T12:00:00Z", want: "2026-12-31T23:59:59.999Z"},
		{name: "EndOfMonthFebruary", config: map[string]any{"operation": "endOf", "unit": "month"}, input: "2028-02-10", want: "2028-02-29T23:59:59.999Z"},
		{name: "StartOfSecond", config: map[string]any{"operation": "startOf", "unit": "second"}, input: "2026-01-01T00:00:01.999Z", want: "2026-01-01T00:00:01Z"},
		// now
		{name: "NowInZone", config: map[string]any{"operation": "now", "timezone": paris}, input: nil, want: "2026-03-29T01:30:00+01:00"},
		{name: "DateFromConfig", config: map[string]any{"operation": "format", "date": "2026-03-29T10:00:00Z", "format": "HH:mm"}, input: "ignored", want: "10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := run(t, tt.config, tt.input)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestWallTimesInDSTTransitions reads wall times that do not exist or exist twice in Europe/Paris.
func TestWallTimesInDSTTransitions(t *testing.T) {
	t.Parallel()
	tests := []struct{ layout, input, want string }{
		{"auto", "2026-03-29 02:30:00", "2026-03-29T03:30:00+02:00"},          // gap: forward by an hour
		{"YYYY-MM-DD HH:mm", "2026-03-29 02:30", "2026-03-29T03:30:00+02:00"}, // same with a token layout
		{"2006-01-02 15:04", "2026-03-29 02:30", "2026-03-29T03:30:00+02:00"}, // and with a Go layout
		{"auto", "2026-10-25 02:30:00", "2026-10-25T02:30:00+02:00"},          // overlap: the earlier instant
		{"YYYY-MM-DD HH:mm", "2026-10-25 02:30", "2026-10-25T02:30:00+02:00"},
		{"2006-01-02 15:04", "2026-10-25 02:30", "2026-10-25T02:30:00+02:00"},
		{"2006-01-02 15:04 -07:00", "2026-10-25 02:30 +01:00", "2026-10-25T02:30:00+01:00"}, // an explicit offset picks the later one
		{"YYYY-MM-DD HH:mm Z", "2026-10-25 02:30 +01:00", "2026-10-25T02:30:00+01:00"},
		{"auto", "2026-10-25 03:00:00", "2026-10-25T03:00:00+01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.layout+"/"+tt.input, func(t *testing.T) {
			t.Parallel()
			got, err := run(t, map[string]any{"operation": "parse", "inputFormat": tt.layout, "timezone": "Europe/Paris"}, tt.input)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDateBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{name: "AddWithoutDuration", config: map[string]any{"operation": "add"}, want: "duration: add needs a duration"},
		{name: "DiffWithoutToAndUnit", config: map[string]any{"operation": "diff"}, want: "to: diff needs the date to count to\nunit: diff needs a unit"},
		{name: "DurationBad", config: map[string]any{"operation": "add", "duration": "3 fortnights"}, want: `duration: "3 fortnights" is not a duration such as 3d, 1h30m, 2mo or P1DT12H: unknown unit "fortnights"`},
		{name: "DurationFractionalDays", config: map[string]any{"operation": "add", "duration": "1.5d"}, want: "d takes a whole number"},
		{name: "DurationTooLong", config: map[string]any{"operation": "add", "duration": "2000000d"}, want: "2000000d is too long"},
		{name: "FormatNoToken", config: map[string]any{"operation": "format", "format": "xyz"}, want: `format: "xyz" holds no date token`},
		{name: "FormatUnclosedBracket", config: map[string]any{"operation": "format", "format": "YYYY [at"}, want: "format: the [ at position 6 is not closed"},
		{name: "MillisWithoutDot", config: map[string]any{"operation": "format", "format": "ssSSS"}, want: "SSS (milliseconds) must follow a . or a ,"},
		{name: "OperationUnknown", config: map[string]any{"operation": "tomorrow"}, want: "config/operation: value must be one of"},
		{name: "StartOfMillisecond", config: map[string]any{"operation": "startOf", "unit": "millisecond"}, want: "unit: startOf rounds to year"},
		{name: "TemplatesAccepted", config: map[string]any{"operation": "add", "duration": "{{ input.d }}", "timezone": "{{ vars.tz }}"}, want: ""},
		{name: "TimezoneLocal", config: map[string]any{"operation": "now", "timezone": "Local"}, want: "timezone: name the zone"},
		{name: "TimezoneUnknown", config: map[string]any{"operation": "now", "timezone": "Europe/Pariss"}, want: `timezone: "Europe/Pariss" is not an IANA time zone`},
		{name: "UnitUnknown", config: map[string]any{"operation": "diff", "to": 1.0, "unit": "fortnight"}, want: "config/unit: value must be one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := instantiate(t, tt.config)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDateBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		input  any
		code   string
		msg    string
	}{
		{name: "Array", config: map[string]any{"operation": "format"}, input: []any{}, code: "invalid_input", msg: "date is an array"},
		{name: "DayOutOfRange", config: map[string]any{"operation": "parse", "inputFormat": "DD/MM/YYYY"}, input: "30/02/2026", code: "invalid_date",
			msg: `date: "30/02/2026" does not match DD/MM/YYYY: day 30 is out of range for February 2026`},
		{name: "GoLayoutMismatch", config: map[string]any{"operation": "parse", "inputFormat": "2006-01-02"}, input: "29.03.2026", code: "invalid_date", msg: `date: "29.03.2026" does not match 2006-01-02`},
		{name: "LiteralMismatch", config: map[string]any{"operation": "parse", "inputFormat": "YYYY-MM-DD"}, input: "2026/03/29", code: "invalid_date",
			msg: `"2026/03/29" does not match YYYY-MM-DD: expected "-" at position 5`},
		{name: "Missing", config: map[string]any{"operation": "format"}, input: nil, code: "invalid_input", msg: "date: no date; set date or send a date as the input"},
		{name: "NotADate", config: map[string]any{"operation": "parse"}, input: "next tuesday", code: "invalid_date", msg: `"next tuesday" is not a date in a form auto reads`},
		{name: "NumberWithLayout", config: map[string]any{"operation": "parse", "inputFormat": "YYYY"}, input: 2026.0, code: "invalid_date", msg: `2026 is a number, but inputFormat is "YYYY"`},
		{name: "ResultOutOfRange", config: map[string]any{"operation": "add", "duration": "10000y"}, input: "2026-01-01", code: "out_of_range", msg: "the result falls in year 12026"},
		{name: "ToInvalid", config: map[string]any{"operation": "diff", "to": "soon", "unit": "day"}, input: "2026-01-01", code: "invalid_date", msg: `to: "soon" is not a date`},
		{name: "TrailingText", config: map[string]any{"operation": "parse", "inputFormat": "YYYY"}, input: "2026x", code: "invalid_date", msg: `unexpected "x" at the end`},
		{name: "UnixOutOfRange", config: map[string]any{"operation": "format"}, input: 1e300, code: "out_of_range", msg: "outside the years 1 to 9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := run(t, tt.config, tt.input)
			require.Error(t, err)
			var ne *node.Error
			require.True(t, errors.As(err, &ne), err.Error())
			require.Equal(t, tt.code, ne.Code, ne.Message)
			require.True(t, node.IsPermanent(err))
			require.Contains(t, ne.Message, tt.msg)
		})
	}
}

func TestDateHostile(t *testing.T) {
	t.Parallel()
	// Long inputs are refused before they are read; huge diffs finish at once.
	_, err := run(t, map[string]any{"operation": "parse", "inputFormat": "YYYY"}, strings.Repeat("9", 100000))
	require.Error(t, err)
	require.Contains(t, err.Error(), "longer than 256 characters")

	start := time.Now()
	got, err := run(t, map[string]any{"operation": "diff", "to": "9999-12-31T23:59:59Z", "unit": "day", "timezone": "Europe/Paris"}, "0001-01-01T00:00:00Z")
	require.NoError(t, err)
	require.Equal(t, 3652059.0, got) // in Paris: from 0001-01-01 00:09 (LMT) to 10000-01-01 00:59
	got, err = run(t, map[string]any{"operation": "diff", "to": "9999-12-31T23:59:59Z", "unit": "millisecond"}, "0001-01-01T00:00:00Z")
	require.NoError(t, err)
	require.Equal(t, 315537897599000.0, got)
	require.Less(t, time.Since(start), 10*time.Second, "diff does not step day by day")

	_, err = instantiate(t, map[string]any{"operation": "add", "duration": strings.Repeat("1d", 100)})
	require.ErrorContains(t, err, "config/duration: maxLength")
}

func TestDocsSections(t *testing.T) {
	t.Parallel()
	info := (&datetime.Date{}).NodeInfo()
	for _, section := range []string{"## Configuration", "## Output", "## Limits", "## Errors", "## Example"} {
		require.Contains(t, info.Docs, section)
	}
}

func FuzzParseLayout(f *testing.F) {
	f.Add("YYYY-MM-DD HH:mm:ss", "2026-03-29 02:30:00")
	f.Add("D MMMM YYYY h:mm a", "9 march 2026 12:05 PM")
	f.Add("YYYY-MM-DD[T]HH:mm:ss.SSSZ", "2026-03-29T10:00:00.5-03:00")
	f.Add("dddd, DD MMM YY ZZ", "Sunday, 29 Mar 26 +0200")
	f.Add("02/01/2006", "29/03/2026")
	f.Fuzz(func(t *testing.T, layout, input string) {
		l, err := datetime.ParseLayout(layout)
		if err != nil {
			return
		}
		paris, err := time.LoadLocation("Europe/Paris")
		require.NoError(t, err)
		tm, err := l.Parse(input, paris)
		if err != nil {
			return
		}
		out := l.Format(tm)
		if l.IsGo() || tm.Year() < 1000 {
			return
		}
		// A token layout reads what it writes back to the same instant, unless it drops parts.
		again, err := l.Parse(out, paris)
		require.NoError(t, err, "reparse %q with %s", out, l)
		require.Equal(t, l.Format(again), out)
	})
}
