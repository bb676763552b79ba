// Package datetime implements the data.date node type: it parses, formats, shifts, compares and
// rounds dates in IANA time zones, calendar aware (days, months and years follow the wall clock of
// the zone across daylight-saving changes).
//
// The zone database is the system's, else the copy embedded in the binary (time/tzdata), so that
// time zones work in minimal containers too.
package datetime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones without a system zone database

	"github.com/concertmaster/concertmaster/internal/node"
)

// All returns one prototype of every node type in this package, ready to register.
func All() []node.Node {
	return []node.Node{&Date{}}
}

// Operations.
const (
	opParse    = "parse"
	opFormat   = "format"
	opAdd      = "add"
	opSubtract = "subtract"
	opDiff     = "diff"
	opStartOf  = "startOf"
	opEndOf    = "endOf"
	opNow      = "now"
)

// Units.
const (
	unitYear        = "year"
	unitMonth       = "month"
	unitWeek        = "week"
	unitDay         = "day"
	unitHour        = "hour"
	unitMinute      = "minute"
	unitSecond      = "second"
	unitMillisecond = "millisecond"
)

// Named formats.
const (
	fmtAuto      = "auto"
	fmtRFC3339   = "rfc3339"
	fmtRFC3339ms = "rfc3339ms"
	fmtRFC1123   = "rfc1123"
	fmtDate      = "date"
	fmtUnix      = "unix"
	fmtUnixMs    = "unixMs"
	fmtObject    = "object"
)

// Codes of the *node.Error values Execute returns.
const (
	// CodeInvalidDate is a date that cannot be read with the input format.
	CodeInvalidDate = "invalid_date"
	// CodeOutOfRange is a date outside the years 1 to 9999.
	CodeOutOfRange = "out_of_range"
	// CodeInvalidInput is a date of the wrong kind, such as an array, or no date at all.
	CodeInvalidInput = "invalid_input"
)

// Date is a data.date node.
type Date struct {
	// Operation is parse, format, add, subtract, diff, startOf, endOf or now.
	Operation string `json:"operation"`
	// Date is the date to work on; nil means the input.
	Date any `json:"date,omitempty"`
	// To is the second date of diff.
	To any `json:"to,omitempty"`
	// InputFormat says how dates are read: auto (default), rfc3339, rfc1123, unix, unixMs or a layout.
	InputFormat string `json:"inputFormat,omitempty"`
	// Format says how the result is written: rfc3339 (default), rfc3339ms, rfc1123, date, unix, unixMs,
	// object or a layout.
	Format string `json:"format,omitempty"`
	// Timezone is the IANA time zone; empty means UTC.
	Timezone string `json:"timezone,omitempty"`
	// Duration is what add and subtract shift by.
	Duration string `json:"duration,omitempty"`
	// Unit is the unit of diff, startOf and endOf.
	Unit string `json:"unit,omitempty"`
	// WeekStartsOn is monday (default) or sunday, for startOf and endOf week.
	WeekStartsOn string `json:"weekStartsOn,omitempty"`

	// now returns the current time; nil means time.Now.
	now func() time.Time
}

// NodeInfo describes data.date.
func (*Date) NodeInfo() node.Info {
	return node.Info{
		Type: "data.date", Pure: true, Title: "Date & time", Category: "Data", Icon: "calendar-clock",
		Description: "Parses, formats, shifts (add, subtract), compares (diff) and rounds (startOf, endOf) dates in an IANA time zone, calendar aware across daylight-saving changes.",
		Docs:        dateDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Output"}},
		Schema: json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["operation"],
  "properties": {
    "operation": {"type": "string", "enum": ["parse", "format", "add", "subtract", "diff", "startOf", "endOf", "now"], "title": "Operation", "description": "parse or format (read a date, write it in format), add or subtract (shift by duration), diff (whole units from date to to), startOf or endOf (round to unit), now (the current time)", "default": "format"},
    "date": {"type": ["string", "number", "object"], "title": "Date", "description": "The date: RFC 3339 text, Unix seconds, text in inputFormat, or an object this node output with format object; default: the input", "examples": ["{{ input.createdAt }}", "2026-03-29T12:00:00+02:00", 1774778400], "x-cm-expression": true},
    "to": {"type": ["string", "number", "object"], "title": "To", "description": "diff: the date to count to (read like date); the result is negative when it is before date", "examples": ["{{ input.dueAt }}"], "x-cm-expression": true},
    "inputFormat": {"type": "string", "title": "Input format", "description": "How dates are read: auto (RFC 3339, 2026-03-29 12:00:00, 2026-03-29, RFC 1123 or Unix seconds), rfc3339, rfc1123, unix, unixMs, or a layout such as DD/MM/YYYY HH:mm or a Go layout such as 02/01/2006 15:04", "default": "auto", "examples": ["DD/MM/YYYY", "YYYY-MM-DD HH:mm:ss", "unixMs"], "minLength": 1, "maxLength": 256},
    "format": {"type": "string", "title": "Output format", "description": "How the resulting date is written: rfc3339 (2026-03-29T12:00:00+02:00), rfc3339ms (always with milliseconds), rfc1123 (HTTP dates, in GMT), date (2026-03-29), unix (seconds), unixMs, object (its parts), or a layout such as DD.MM.YYYY", "default": "rfc3339", "examples": ["rfc3339", "date", "object", "dddd D MMMM YYYY, HH:mm"], "minLength": 1, "maxLength": 256},
    "timezone": {"type": "string", "title": "Time zone", "description": "IANA time zone in which wall times are read and written and days, weeks, months and years are counted", "default": "UTC", "examples": ["Europe/Paris", "America/New_York", "Asia/Kolkata"], "minLength": 1, "maxLength": 64},
    "duration": {"type": "string", "title": "Duration", "description": "add and subtract: compact (3d, 1h30m, 2mo, 1y2mo3w4d5h6m7s8ms, 2 days 4 hours) or ISO 8601 (P1DT12H); y, mo, w and d follow the calendar, h, m, s and ms are elapsed time", "examples": ["1d", "2w", "1mo", "90m", "P1Y2M"], "minLength": 1, "maxLength": 128},
    "unit": {"type": "string", "enum": ["year", "month", "week", "day", "hour", "minute", "second", "millisecond"], "title": "Unit", "description": "diff: the unit to count in; startOf and endOf: the unit to round to (not millisecond)"},
    "weekStartsOn": {"type": "string", "enum": ["monday", "sunday"], "title": "Week starts on", "description": "startOf and endOf week: the first day of the week", "default": "monday"}
  }
}`),
		New: func() node.Node { return &Date{} },
	}
}

// Validate checks what the schema cannot: the time zone exists (a lookup in the zone database), the
// formats and the duration parse, and each operation has what it needs.
func (d *Date) Validate() error {
	var errs []error
	templated := func(s string) bool { return strings.Contains(s, "{{") }
	if d.Timezone != "" && !templated(d.Timezone) {
		if _, err := loadZone(d.Timezone); err != nil {
			errs = append(errs, fmt.Errorf("timezone: %w", err))
		}
	}
	if d.InputFormat != "" && !templated(d.InputFormat) {
		if err := checkInputFormat(d.InputFormat); err != nil {
			errs = append(errs, fmt.Errorf("inputFormat: %w", err))
		}
	}
	if d.Format != "" && !templated(d.Format) {
		if err := checkOutputFormat(d.Format); err != nil {
			errs = append(errs, fmt.Errorf("format: %w", err))
		}
	}
	switch d.Operation {
	case opAdd, opSubtract:
		if d.Duration == "" {
			errs = append(errs, fmt.Errorf("duration: %s needs a duration, such as 1d or 2h30m", d.Operation))
		} else if !templated(d.Duration) {
			if _, err := parseSpan(d.Duration); err != nil {
				errs = append(errs, fmt.Errorf("duration: %w", err))
			}
		}
	case opDiff:
		if d.To == nil {
			errs = append(errs, errors.New("to: diff needs the date to count to"))
		}
		if d.Unit == "" {
			errs = append(errs, errors.New("unit: diff needs a unit, such as day"))
		}
	case opStartOf, opEndOf:
		switch d.Unit {
		case "":
			errs = append(errs, fmt.Errorf("unit: %s needs a unit, such as day or month", d.Operation))
		case unitMillisecond:
			errs = append(errs, fmt.Errorf("unit: %s rounds to year, month, week, day, hour, minute or second", d.Operation))
		}
	}
	if d.Format == fmtObject && d.Operation == opDiff {
		errs = append(errs, errors.New("format: diff outputs a number"))
	}
	return errors.Join(errs...)
}

// loadZone loads an IANA time zone; Local, which depends on the server, is refused.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if strings.EqualFold(name, "local") {
		return nil, errors.New("name the zone, such as Europe/Paris: Local depends on the server")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone such as Europe/Paris or America/New_York", name)
	}
	return loc, nil
}

func checkInputFormat(f string) error {
	switch f {
	case fmtAuto, fmtRFC3339, fmtRFC1123, fmtUnix, fmtUnixMs:
		return nil
	}
	_, err := ParseLayout(f)
	return err
}

func checkOutputFormat(f string) error {
	switch f {
	case fmtRFC3339, fmtRFC3339ms, fmtRFC1123, fmtDate, fmtUnix, fmtUnixMs, fmtObject:
		return nil
	}
	_, err := ParseLayout(f)
	return err
}

// Execute runs the operation.
func (d *Date) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	if err := d.Validate(); err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: "invalid_config", Message: err.Error()})
	}
	loc, _ := loadZone(d.Timezone)
	var t time.Time
	if d.Operation == opNow {
		now := time.Now
		if d.now != nil {
			now = d.now
		}
		t = now()
	} else {
		src := d.Date
		if src == nil {
			src = in.Data
		}
		var err error
		if t, err = d.read("date", src, loc); err != nil {
			return node.Output{}, err
		}
	}
	switch d.Operation {
	case opAdd, opSubtract:
		sp, err := parseSpan(d.Duration)
		if err != nil {
			return node.Output{}, node.Permanent(&node.Error{Code: "invalid_config", Message: "duration: " + err.Error()})
		}
		if d.Operation == opSubtract {
			sp = span{months: -sp.months, days: -sp.days, clock: -sp.clock}
		}
		t = sp.apply(t, loc)
	case opStartOf:
		t = startOf(t, d.Unit, loc, d.weekStart())
	case opEndOf:
		t = endOf(t, d.Unit, loc, d.weekStart())
	case opDiff:
		to, err := d.read("to", d.To, loc)
		if err != nil {
			return node.Output{}, err
		}
		return node.Out(float64(diff(t, to, d.Unit, loc))), nil
	}
	if y := t.In(loc).Year(); y < 1 || y > 9999 {
		return node.Output{}, node.Permanent(node.Errorf(CodeOutOfRange, "the result falls in year %d, outside 1 to 9999", y))
	}
	return node.Out(d.write(t.In(loc))), nil
}

func (d *Date) weekStart() time.Weekday {
	if d.WeekStartsOn == "sunday" {
		return time.Sunday
	}
	return time.Monday
}

// Unix seconds of the first and last instants of the years 1 to 9999.
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// read reads one date; field names it in errors.
func (d *Date) read(field string, v any, loc *time.Location) (time.Time, error) {
	format := d.InputFormat
	if format == "" {
		format = fmtAuto
	}
	invalid := func(format string, args ...any) (time.Time, error) {
		return time.Time{}, node.Permanent(node.Errorf(CodeInvalidDate, "%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch x := v.(type) {
	case nil:
		return time.Time{}, node.Permanent(node.Errorf(CodeInvalidInput, "%s: no date; set %s or send a date as the input", field, field))
	case float64, int, int64, json.Number:
		f, _ := toFloat(x)
		switch format {
		case fmtAuto, fmtUnix:
			return fromUnix(field, f, 1)
		case fmtUnixMs:
			return fromUnix(field, f, 1000)
		}
		return invalid("%v is a number, but inputFormat is %q; use unix or unixMs for numbers", f, format)
	case map[string]any:
		if iso, ok := x["iso"].(string); ok {
			t, err := time.Parse(time.RFC3339Nano, iso)
			if err != nil {
				return invalid("the object's iso %q is not an RFC 3339 date", iso)
			}
			return t, nil
		}
		return time.Time{}, node.Permanent(node.Errorf(CodeInvalidInput, "%s is an object without iso; pass a date string or number", field))
	case string:
		s := strings.TrimSpace(x)
		if len(s) > maxLayoutLen {
			return invalid("longer than %d characters", maxLayoutLen)
		}
		switch format {
		case fmtAuto:
			if t, ok := parseAuto(s, loc); ok {
				return t, nil
			}
			return invalid("%q is not a date in a form auto reads (2026-03-29T12:00:00+02:00, 2026-03-29 12:00:00, 2026-03-29, RFC 1123 or Unix seconds); set inputFormat", s)
		case fmtRFC3339:
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return invalid("%q is not an RFC 3339 date such as 2026-03-29T12:00:00+02:00", s)
			}
			return t, nil
		case fmtRFC1123:
			if t, ok := parseRFC1123(s); ok {
				return t, nil
			}
			return invalid("%q is not an RFC 1123 date such as Sun, 29 Mar 2026 10:00:00 GMT", s)
		case fmtUnix, fmtUnixMs:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return invalid("%q is not a number of %s", s, map[bool]string{true: "milliseconds", false: "seconds"}[format == fmtUnixMs])
			}
			if format == fmtUnixMs {
				return fromUnix(field, f, 1000)
			}
			return fromUnix(field, f, 1)
		}
		layout, err := ParseLayout(format)
		if err != nil {
			return time.Time{}, node.Permanent(&node.Error{Code: "invalid_config", Message: "inputFormat: " + err.Error()})
		}
		t, err := layout.Parse(s, loc)
		if err != nil {
			return invalid("%v", err)
		}
		return t, nil
	}
	return time.Time{}, node.Permanent(node.Errorf(CodeInvalidInput, "%s is %s; want a date string or a number", field, kindOf(v)))
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// fromUnix converts f units (perSecond of them in a second) since 1970 into a time, exactly for whole
// numbers of units.
func fromUnix(field string, f float64, perSecond float64) (time.Time, error) {
	sec := f / perSecond
	if math.IsNaN(sec) || sec < float64(minUnix) || sec > float64(maxUnix) {
		return time.Time{}, node.Permanent(node.Errorf(CodeOutOfRange, "%s: %v is outside the years 1 to 9999", field, f))
	}
	whole := math.Floor(f)
	frac := time.Duration(math.Round((f - whole) * float64(time.Second) / perSecond))
	if perSecond == 1000 {
		return time.UnixMilli(int64(whole)).Add(frac).UTC(), nil
	}
	return time.Unix(int64(whole), 0).Add(frac).UTC(), nil
}

// Layouts auto tries after RFC 3339, read in the node's time zone.
var autoLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

func parseAuto(s string, loc *time.Location) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	for _, layout := range autoLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return wallTime(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc), true
		}
	}
	if t, ok := parseRFC1123(s); ok {
		return t, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		t, err := fromUnix("", f, 1)
		return t, err == nil
	}
	return time.Time{}, false
}

func parseRFC1123(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// write formats t (already in the node's zone) in the output format.
func (d *Date) write(t time.Time) any {
	switch d.Format {
	case "", fmtRFC3339:
		return t.Format(time.RFC3339Nano)
	case fmtRFC3339ms:
		return t.Format("2006-01-02T15:04:05.000Z07:00")
	case fmtRFC1123:
		return t.UTC().Format(http.TimeFormat)
	case fmtDate:
		return t.Format(time.DateOnly)
	case fmtUnix:
		return float64(t.Unix())
	case fmtUnixMs:
		return float64(t.UnixMilli())
	case fmtObject:
		_, off := t.Zone()
		weekday := int(t.Weekday())
		if weekday == 0 {
			weekday = 7
		}
		return map[string]any{
			"iso": t.Format(time.RFC3339Nano), "unix": float64(t.Unix()), "unixMs": float64(t.UnixMilli()),
			"year": float64(t.Year()), "month": float64(t.Month()), "day": float64(t.Day()),
			"hour": float64(t.Hour()), "minute": float64(t.Minute()), "second": float64(t.Second()),
			"millisecond": float64(t.Nanosecond() / 1e6), "weekday": float64(weekday), "weekdayName": t.Weekday().String(),
			"dayOfYear": float64(t.YearDay()), "timezone": t.Location().String(), "offset": formatOffset(off),
		}
	}
	layout, err := ParseLayout(d.Format)
	if err != nil {
		return t.Format(time.RFC3339Nano) // Validate refused it already
	}
	return layout.Format(t)
}

func formatOffset(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
}

// diff returns the whole units from a to b, truncated toward zero: calendar units (day, week, month,
// year) count how many can be added to a in loc without passing b; the others count elapsed time.
func diff(a, b time.Time, unit string, loc *time.Location) int64 {
	ms := b.UnixMilli() - a.UnixMilli()
	switch unit {
	case unitMillisecond:
		return ms
	case unitSecond:
		return ms / 1000
	case unitMinute:
		return ms / 60_000
	case unitHour:
		return ms / 3_600_000
	}
	if b.Before(a) {
		return -diff(b, a, unit, loc)
	}
	switch unit {
	case unitDay, unitWeek:
		n := int(ms / 86_400_000)
		for n > 0 && addDays(a, n, loc).After(b) {
			n--
		}
		for !addDays(a, n+1, loc).After(b) {
			n++
		}
		if unit == unitWeek {
			return int64(n / 7)
		}
		return int64(n)
	}
	ay, am, _ := a.In(loc).Date()
	by, bm, _ := b.In(loc).Date()
	n := (by-ay)*12 + int(bm-am)
	for n > 0 && addMonths(a, n, loc).After(b) {
		n--
	}
	for !addMonths(a, n+1, loc).After(b) {
		n++
	}
	if unit == unitYear {
		return int64(n / 12)
	}
	return int64(n)
}

func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("a %T", v)
}

var (
	_ node.Node      = (*Date)(nil)
	_ node.Validator = (*Date)(nil)
)
