package datetime

import (
	"time"
)

// wallTime returns the instant the wall clock in loc shows the given time. A wall time that does not
// exist (in a daylight-saving gap) moves forward by the length of the gap, as Go does: 02:30 on the
// night clocks go from 02:00 to 03:00 is 03:30. A wall time that exists twice (in an overlap) is the
// earlier instant, before the clocks go back: 02:30 on the night they go from 03:00 to 02:00 is the
// first 02:30, in summer time.
func wallTime(year int, month time.Month, day, hour, minute, sec, nsec int, loc *time.Location) time.Time {
	t := time.Date(year, month, day, hour, minute, sec, nsec, loc)
	// Go picks one instant of an overlap; look for an earlier one with the same wall clock, using the
	// offsets in force half a day either side.
	wall := time.Date(year, month, day, hour, minute, sec, nsec, time.UTC)
	best := t
	for _, probe := range []time.Time{t.Add(-12 * time.Hour), t.Add(12 * time.Hour)} {
		_, off := probe.Zone()
		candidate := wall.Add(-time.Duration(off) * time.Second).In(loc)
		if candidate.Before(best) && sameWall(candidate, wall) {
			best = candidate
		}
	}
	return best
}

// sameWall reports whether t's wall clock equals wall's (read in UTC).
func sameWall(t, wall time.Time) bool {
	y, m, d := t.Date()
	wy, wm, wd := wall.Date()
	return y == wy && m == wm && d == wd && t.Hour() == wall.Hour() && t.Minute() == wall.Minute() &&
		t.Second() == wall.Second() && t.Nanosecond() == wall.Nanosecond()
}

// addMonths adds n months to t's date in loc, keeping its wall time; a day past the end of the target
// month is clamped to its last day (January 31 + 1 month = February 28 or 29).
func addMonths(t time.Time, n int, loc *time.Location) time.Time {
	t = t.In(loc)
	y, m, d := t.Date()
	total := int(m) - 1 + n
	y += floorDiv(total, 12)
	m = time.Month(total - floorDiv(total, 12)*12 + 1)
	d = min(d, daysIn(y, m))
	return wallTime(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
}

// addDays adds n calendar days to t's date in loc, keeping its wall time.
func addDays(t time.Time, n int, loc *time.Location) time.Time {
	t = t.In(loc)
	y, m, d := t.Date()
	return wallTime(y, m, d+n, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// startOf returns the first instant of the unit holding t in loc. A week starts on weekStart.
func startOf(t time.Time, unit string, loc *time.Location, weekStart time.Weekday) time.Time {
	t = t.In(loc)
	y, m, d := t.Date()
	switch unit {
	case unitYear:
		return wallTime(y, 1, 1, 0, 0, 0, 0, loc)
	case unitMonth:
		return wallTime(y, m, 1, 0, 0, 0, 0, loc)
	case unitWeek:
		back := (int(t.Weekday()) - int(weekStart) + 7) % 7
		return wallTime(y, m, d-back, 0, 0, 0, 0, loc)
	case unitDay:
		return wallTime(y, m, d, 0, 0, 0, 0, loc)
	case unitHour:
		// The local hour began this many minutes and seconds ago (offsets such as +05:30 included).
		return t.Add(-(time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())))
	case unitMinute:
		return t.Add(-(time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())))
	case unitSecond:
		return t.Add(-time.Duration(t.Nanosecond()))
	}
	return t
}

// endOf returns the last millisecond of the unit holding t in loc.
func endOf(t time.Time, unit string, loc *time.Location, weekStart time.Weekday) time.Time {
	start := startOf(t, unit, loc, weekStart)
	var next time.Time
	switch unit {
	case unitYear:
		next = addMonths(start, 12, loc)
	case unitMonth:
		next = addMonths(start, 1, loc)
	case unitWeek:
		next = startOf(addDays(start, 7, loc), unitDay, loc, weekStart)
	case unitDay:
		next = startOf(addDays(start, 1, loc), unitDay, loc, weekStart)
	case unitHour:
		next = start.Add(time.Hour)
	case unitMinute:
		next = start.Add(time.Minute)
	default:
		next = start.Add(time.Second)
	}
	return next.Add(-time.Millisecond)
}
