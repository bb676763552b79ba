package datetime

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Bounds of a duration's parts.
const (
	maxCalendar  = 1_000_000                  // years, months, weeks or days
	maxClock     = 200 * 366 * 24 * time.Hour // hours, minutes, seconds and milliseconds together
	maxSpanInput = 128
)

// span is a duration with calendar parts (added to the date in the time zone) and a clock part
// (elapsed time).
type span struct {
	months int // years are 12 months
	days   int // weeks are 7 days
	clock  time.Duration
}

// units maps each unit name to its kind and size.
var units = map[string]struct {
	calendar string // "months" or "days", or "" for clock units
	n        int
	d        time.Duration
}{
	"y": {calendar: "months", n: 12}, "yr": {calendar: "months", n: 12}, "year": {calendar: "months", n: 12}, "years": {calendar: "months", n: 12},
	"mo": {calendar: "months", n: 1}, "month": {calendar: "months", n: 1}, "months": {calendar: "months", n: 1},
	"w": {calendar: "days", n: 7}, "week": {calendar: "days", n: 7}, "weeks": {calendar: "days", n: 7},
	"d": {calendar: "days", n: 1}, "day": {calendar: "days", n: 1}, "days": {calendar: "days", n: 1},
	"h": {d: time.Hour}, "hour": {d: time.Hour}, "hours": {d: time.Hour},
	"m": {d: time.Minute}, "min": {d: time.Minute}, "minute": {d: time.Minute}, "minutes": {d: time.Minute},
	"s": {d: time.Second}, "sec": {d: time.Second}, "second": {d: time.Second}, "seconds": {d: time.Second},
	"ms": {d: time.Millisecond}, "millisecond": {d: time.Millisecond}, "milliseconds": {d: time.Millisecond},
}

// parseSpan reads a duration: compact (1y2mo3w4d5h6m7s8ms, 1h30m, "2 days 4 hours") or ISO 8601
// (P1Y2M3DT4H5M6.5S, P2W), with an optional leading sign.
func parseSpan(s string) (span, error) {
	if len(s) > maxSpanInput {
		return span{}, fmt.Errorf("longer than %d characters", maxSpanInput)
	}
	src := strings.TrimSpace(s)
	neg := false
	if rest, ok := strings.CutPrefix(src, "-"); ok {
		neg, src = true, rest
	} else {
		src = strings.TrimPrefix(src, "+")
	}
	var sp span
	var err error
	if rest, ok := strings.CutPrefix(strings.ToUpper(src), "P"); ok && src != "" {
		sp, err = parseISO(rest)
	} else {
		sp, err = parseCompact(src)
	}
	if err != nil {
		return span{}, fmt.Errorf("%q is not a duration such as 3d, 1h30m, 2mo or P1DT12H: %w", s, err)
	}
	if neg {
		sp = span{months: -sp.months, days: -sp.days, clock: -sp.clock}
	}
	return sp, nil
}

// parseCompact reads number-unit pairs.
func parseCompact(s string) (span, error) {
	var sp span
	parts := 0
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		whole, frac, fracDigits, rest, err := number(s)
		if err != nil {
			return span{}, err
		}
		rest = strings.TrimLeft(rest, " ")
		n := 0
		for n < len(rest) && (rest[n] >= 'a' && rest[n] <= 'z' || rest[n] >= 'A' && rest[n] <= 'Z') {
			n++
		}
		name := strings.ToLower(rest[:n])
		if name == "" {
			return span{}, errors.New("a number without a unit")
		}
		if err := sp.add(name, whole, frac, fracDigits); err != nil {
			return span{}, err
		}
		s = strings.TrimPrefix(rest[n:], ",")
		parts++
	}
	if parts == 0 {
		return span{}, errors.New("empty")
	}
	return sp, nil
}

// parseISO reads the part of an ISO 8601 duration after its P.
func parseISO(s string) (span, error) {
	var sp span
	inTime, parts := false, 0
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return span{}, errors.New("a second T")
			}
			inTime, s = true, s[1:]
			continue
		}
		whole, frac, fracDigits, rest, err := number(s)
		if err != nil {
			return span{}, err
		}
		if rest == "" {
			return span{}, errors.New("a number without a designator")
		}
		var name string
		switch d := rest[0]; {
		case !inTime && d == 'Y':
			name = "y"
		case !inTime && d == 'M':
			name = "mo"
		case !inTime && d == 'W':
			name = "w"
		case !inTime && d == 'D':
			name = "d"
		case inTime && d == 'H':
			name = "h"
		case inTime && d == 'M':
			name = "m"
		case inTime && d == 'S':
			name = "s"
		default:
			return span{}, fmt.Errorf("unexpected %q", rest[:1])
		}
		if err := sp.add(name, whole, frac, fracDigits); err != nil {
			return span{}, err
		}
		s = rest[1:]
		parts++
	}
	if parts == 0 {
		return span{}, errors.New("no parts")
	}
	return sp, nil
}

// number reads digits with an optional fraction.
func number(s string) (whole int64, frac int64, fracDigits int, rest string, err error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if whole > maxCalendar*1000 {
			return 0, 0, 0, s, errors.New("a number too large")
		}
		whole = whole*10 + int64(s[i]-'0')
		i++
	}
	if i == 0 {
		return 0, 0, 0, s, fmt.Errorf("expected a number at %q", s)
	}
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if fracDigits < 9 {
				frac = frac*10 + int64(s[i]-'0')
				fracDigits++
			}
			i++
		}
		if i == start {
			return 0, 0, 0, s, errors.New("a decimal point without digits")
		}
	}
	return whole, frac, fracDigits, s[i:], nil
}

// add adds whole.frac of the named unit.
func (sp *span) add(name string, whole, frac int64, fracDigits int) error {
	u, ok := units[name]
	if !ok {
		return fmt.Errorf("unknown unit %q (use y, mo, w, d, h, m, s or ms)", name)
	}
	if u.calendar != "" {
		if fracDigits > 0 {
			return fmt.Errorf("%s takes a whole number", name)
		}
		n := whole * int64(u.n)
		if n > maxCalendar {
			return fmt.Errorf("%d%s is too long", whole, name)
		}
		if u.calendar == "months" {
			sp.months += int(n)
		} else {
			sp.days += int(n)
		}
		if sp.months > maxCalendar || sp.days > maxCalendar {
			return errors.New("too long")
		}
		return nil
	}
	if whole > int64(maxClock/u.d) {
		return fmt.Errorf("%d%s is too long", whole, name)
	}
	d := time.Duration(whole) * u.d
	if fracDigits > 0 {
		scale := 1.0
		for range fracDigits {
			scale *= 10
		}
		d += time.Duration(float64(frac) / scale * float64(u.d))
	}
	sp.clock += d
	if sp.clock > maxClock {
		return errors.New("too long")
	}
	return nil
}

// apply adds the span to t: months first, then days, both in loc keeping the wall time, then the
// clock part as elapsed time.
func (sp span) apply(t time.Time, loc *time.Location) time.Time {
	if sp.months != 0 {
		t = addMonths(t, sp.months, loc)
	}
	if sp.days != 0 {
		t = addDays(t, sp.days, loc)
	}
	return t.Add(sp.clock)
}
