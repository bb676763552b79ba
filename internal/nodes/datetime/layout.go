package datetime

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxLayoutLen bounds a layout.
const maxLayoutLen = 256

// tokenKind is one element of a token layout.
type tokenKind int

const (
	tokLiteral      tokenKind = iota
	tokYear4                  // YYYY
	tokYear2                  // YY
	tokMonthName              // MMMM
	tokMonthShort             // MMM
	tokMonth2                 // MM
	tokMonth                  // M
	tokDay2                   // DD
	tokDay                    // D
	tokWeekdayName            // dddd
	tokWeekdayShort           // ddd
	tokHour2                  // HH
	tokHour                   // H
	tokHour12x2               // hh
	tokHour12                 // h
	tokMinute2                // mm
	tokMinute                 // m
	tokSecond2                // ss
	tokSecond                 // s
	tokMillis                 // SSS
	tokAMPM                   // A
	tokampm                   // a
	tokZoneColon              // Z
	tokZone                   // ZZ
)

// tokens lists the tokens, longest first for each letter.
var tokens = []struct {
	text string
	kind tokenKind
}{
	{"YYYY", tokYear4}, {"YY", tokYear2},
	{"MMMM", tokMonthName}, {"MMM", tokMonthShort}, {"MM", tokMonth2}, {"M", tokMonth},
	{"DD", tokDay2}, {"D", tokDay},
	{"dddd", tokWeekdayName}, {"ddd", tokWeekdayShort},
	{"HH", tokHour2}, {"H", tokHour}, {"hh", tokHour12x2}, {"h", tokHour12},
	{"mm", tokMinute2}, {"m", tokMinute}, {"ss", tokSecond2}, {"s", tokSecond},
	{"SSS", tokMillis}, {"A", tokAMPM}, {"a", tokampm}, {"ZZ", tokZone}, {"Z", tokZoneColon},
}

// item is a token or a literal.
type item struct {
	kind tokenKind
	text string // the literal, or the token as written
}

// Layout is a parsed date layout: either a Go reference layout (it holds a digit, such as
// 2006-01-02 15:04:05) or a token layout (YYYY-MM-DD HH:mm:ss).
type Layout struct {
	src      string
	goLayout string
	items    []item
}

// ParseLayout parses a layout. A layout holding a digit is a Go reference layout; any other is a token
// layout, where text in [brackets] and characters that are not tokens are literal.
func ParseLayout(s string) (*Layout, error) {
	if s == "" {
		return nil, errors.New("the layout is empty")
	}
	if len(s) > maxLayoutLen {
		return nil, fmt.Errorf("the layout is longer than %d characters", maxLayoutLen)
	}
	if strings.ContainsAny(s, "0123456789") {
		return &Layout{src: s, goLayout: s}, nil
	}
	var items []item
	lit := func(text string) {
		if n := len(items); n > 0 && items[n-1].kind == tokLiteral {
			items[n-1].text += text
			return
		}
		items = append(items, item{kind: tokLiteral, text: text})
	}
	hasToken := false
	for i := 0; i < len(s); {
		if s[i] == '[' {
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("the [ at position %d is not closed", i+1)
			}
			if end > 1 {
				lit(s[i+1 : i+end])
			}
			i += end + 1
			continue
		}
		matched := false
		for _, t := range tokens {
			if strings.HasPrefix(s[i:], t.text) {
				items = append(items, item{kind: t.kind, text: t.text})
				i += len(t.text)
				matched, hasToken = true, true
				break
			}
		}
		if !matched {
			lit(s[i : i+1])
			i++
		}
	}
	if !hasToken {
		return nil, fmt.Errorf("%q holds no date token such as YYYY, MM, DD, HH, mm or ss", s)
	}
	for i, it := range items {
		if it.kind == tokMillis && (i == 0 || items[i-1].kind != tokLiteral ||
			!strings.HasSuffix(items[i-1].text, ".") && !strings.HasSuffix(items[i-1].text, ",")) {
			return nil, errors.New("SSS (milliseconds) must follow a . or a , as in HH:mm:ss.SSS")
		}
	}
	return &Layout{src: s, items: items}, nil
}

// IsGo reports whether the layout is a Go reference layout.
func (l *Layout) IsGo() bool { return l.goLayout != "" }

// String returns the layout as written.
func (l *Layout) String() string { return l.src }

// Format writes t with the layout.
func (l *Layout) Format(t time.Time) string {
	if l.goLayout != "" {
		return t.Format(l.goLayout)
	}
	var b strings.Builder
	pad2 := func(n int) { fmt.Fprintf(&b, "%02d", n) }
	for _, it := range l.items {
		switch it.kind {
		case tokLiteral:
			b.WriteString(it.text)
		case tokYear4:
			fmt.Fprintf(&b, "%04d", t.Year())
		case tokYear2:
			pad2(t.Year() % 100)
		case tokMonthName:
			b.WriteString(t.Month().String())
		case tokMonthShort:
			b.WriteString(t.Month().String()[:3])
		case tokMonth2:
			pad2(int(t.Month()))
		case tokMonth:
			b.WriteString(strconv.Itoa(int(t.Month())))
		case tokDay2:
			pad2(t.Day())
		case tokDay:
			b.WriteString(strconv.Itoa(t.Day()))
		case tokWeekdayName:
			b.WriteString(t.Weekday().String())
		case tokWeekdayShort:
			b.WriteString(t.Weekday().String()[:3])
		case tokHour2:
			pad2(t.Hour())
		case tokHour:
			b.WriteString(strconv.Itoa(t.Hour()))
		case tokHour12x2:
			pad2(hour12(t.Hour()))
		case tokHour12:
			b.WriteString(strconv.Itoa(hour12(t.Hour())))
		case tokMinute2:
			pad2(t.Minute())
		case tokMinute:
			b.WriteString(strconv.Itoa(t.Minute()))
		case tokSecond2:
			pad2(t.Second())
		case tokSecond:
			b.WriteString(strconv.Itoa(t.Second()))
		case tokMillis:
			fmt.Fprintf(&b, "%03d", t.Nanosecond()/1e6)
		case tokAMPM, tokampm:
			m := "AM"
			if t.Hour() >= 12 {
				m = "PM"
			}
			if it.kind == tokampm {
				m = strings.ToLower(m)
			}
			b.WriteString(m)
		case tokZoneColon, tokZone:
			_, off := t.Zone()
			sign := '+'
			if off < 0 {
				sign, off = '-', -off
			}
			sep := ":"
			if it.kind == tokZone {
				sep = ""
			}
			fmt.Fprintf(&b, "%c%02d%s%02d", sign, off/3600, sep, off%3600/60)
		}
	}
	return b.String()
}

func hour12(h int) int {
	if h%12 == 0 {
		return 12
	}
	return h % 12
}

// fields are the parts a token layout read.
type fields struct {
	year, month, day, hour, minute, second, nanos int
	pm                                            int // -1 none, 0 am, 1 pm
	hour12                                        bool
	zone                                          *time.Location
}

// Parse reads s with the layout. Wall times without an offset are read in loc (a time in a
// daylight-saving gap moves forward by the gap; one in an overlap takes the earlier instant). Parts the
// layout lacks default to 1970-01-01 00:00:00.
func (l *Layout) Parse(s string, loc *time.Location) (time.Time, error) {
	if l.goLayout != "" {
		t, err := time.ParseInLocation(l.goLayout, s, loc)
		if err != nil {
			var pe *time.ParseError
			if errors.As(err, &pe) && pe.Message != "" {
				return time.Time{}, fmt.Errorf("%q does not match %s%s", s, l.goLayout, pe.Message)
			}
			return time.Time{}, fmt.Errorf("%q does not match %s", s, l.goLayout)
		}
		if !strings.Contains(l.goLayout, "-07") && !strings.Contains(l.goLayout, "Z07") && !strings.Contains(l.goLayout, "MST") {
			// A wall time in loc: apply the gap and overlap rules.
			t = wallTime(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
		}
		return t, nil
	}
	f := fields{year: 1970, month: 1, day: 1, pm: -1}
	rest := s
	fail := func(format string, args ...any) (time.Time, error) {
		return time.Time{}, fmt.Errorf("%q does not match %s: %s", s, l.String(), fmt.Sprintf(format, args...))
	}
	for _, it := range l.items {
		var err error
		switch it.kind {
		case tokLiteral:
			if !strings.HasPrefix(rest, it.text) {
				return fail("expected %q at position %d", it.text, len(s)-len(rest)+1)
			}
			rest = rest[len(it.text):]
		case tokYear4:
			f.year, rest, err = digits(rest, 4, 4)
		case tokYear2:
			f.year, rest, err = digits(rest, 2, 2)
			if err == nil {
				if f.year >= 69 {
					f.year += 1900
				} else {
					f.year += 2000
				}
			}
		case tokMonthName, tokMonthShort:
			f.month, rest, err = name(rest, months[:], it.kind == tokMonthShort)
		case tokMonth2, tokMonth:
			f.month, rest, err = digits(rest, 1, 2)
		case tokDay2, tokDay:
			f.day, rest, err = digits(rest, 1, 2)
		case tokWeekdayName, tokWeekdayShort:
			_, rest, err = name(rest, weekdays[:], it.kind == tokWeekdayShort)
		case tokHour2, tokHour:
			f.hour, rest, err = digits(rest, 1, 2)
		case tokHour12x2, tokHour12:
			f.hour, rest, err = digits(rest, 1, 2)
			f.hour12 = true
		case tokMinute2, tokMinute:
			f.minute, rest, err = digits(rest, 1, 2)
		case tokSecond2, tokSecond:
			f.second, rest, err = digits(rest, 1, 2)
		case tokMillis:
			f.nanos, rest, err = fraction(rest)
		case tokAMPM, tokampm:
			switch {
			case len(rest) >= 2 && strings.EqualFold(rest[:2], "am"):
				f.pm = 0
			case len(rest) >= 2 && strings.EqualFold(rest[:2], "pm"):
				f.pm = 1
			default:
				err = errors.New("want AM or PM")
			}
			if err == nil {
				rest = rest[2:]
			}
		case tokZoneColon, tokZone:
			f.zone, rest, err = zone(rest, it.kind == tokZoneColon)
		}
		if err != nil {
			return fail("%s at position %d (%s)", err, len(s)-len(rest)+1, it.text)
		}
	}
	if rest != "" {
		return fail("unexpected %q at the end", rest)
	}
	return f.time(s, l, loc)
}

// time checks the ranges and builds the instant.
func (f *fields) time(s string, l *Layout, loc *time.Location) (time.Time, error) {
	bad := func(format string, args ...any) (time.Time, error) {
		return time.Time{}, fmt.Errorf("%q does not match %s: %s", s, l.String(), fmt.Sprintf(format, args...))
	}
	if f.hour12 {
		if f.hour < 1 || f.hour > 12 {
			return bad("hour %d is not from 1 to 12", f.hour)
		}
		if f.pm == 1 && f.hour < 12 {
			f.hour += 12
		} else if f.pm == 0 && f.hour == 12 {
			f.hour = 0
		}
	} else if f.pm == 1 && f.hour < 12 {
		f.hour += 12
	}
	switch {
	case f.month < 1 || f.month > 12:
		return bad("month %d is not from 1 to 12", f.month)
	case f.day < 1 || f.day > daysIn(f.year, time.Month(f.month)):
		return bad("day %d is out of range for %s %d", f.day, time.Month(f.month), f.year)
	case f.hour > 23:
		return bad("hour %d is not from 0 to 23", f.hour)
	case f.minute > 59:
		return bad("minute %d is not from 0 to 59", f.minute)
	case f.second > 59:
		return bad("second %d is not from 0 to 59", f.second)
	}
	if f.zone != nil {
		return time.Date(f.year, time.Month(f.month), f.day, f.hour, f.minute, f.second, f.nanos, f.zone), nil
	}
	return wallTime(f.year, time.Month(f.month), f.day, f.hour, f.minute, f.second, f.nanos, loc), nil
}

var (
	months   = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	weekdays = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// digits reads from lo to hi ASCII digits.
func digits(s string, lo, hi int) (int, string, error) {
	n, v := 0, 0
	for n < hi && n < len(s) && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int(s[n]-'0')
		n++
	}
	if n < lo {
		if lo == hi {
			return 0, s, fmt.Errorf("want %d digits", lo)
		}
		return 0, s, errors.New("want a number")
	}
	return v, s[n:], nil
}

// fraction reads 1 to 9 digits of a fraction of a second as nanoseconds.
func fraction(s string) (int, string, error) {
	n, v := 0, 0
	for n < 9 && n < len(s) && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int(s[n]-'0')
		n++
	}
	if n == 0 {
		return 0, s, errors.New("want digits")
	}
	for i := n; i < 9; i++ {
		v *= 10
	}
	return v, s[n:], nil
}

// name reads a month or weekday name, whole or its first three letters, in any case, and returns its
// position from 1.
func name(s string, names []string, short bool) (int, string, error) {
	for i, full := range names {
		candidate := full
		if short {
			candidate = full[:3]
		}
		if len(s) >= len(candidate) && strings.EqualFold(s[:len(candidate)], candidate) {
			return i + 1, s[len(candidate):], nil
		}
	}
	if short {
		return 0, s, fmt.Errorf("want a short name such as %s", names[0][:3])
	}
	return 0, s, fmt.Errorf("want a name such as %s", names[0])
}

// zone reads Z or an offset, +hh:mm (colon) or +hhmm.
func zone(s string, colon bool) (*time.Location, string, error) {
	if strings.HasPrefix(s, "Z") {
		return time.UTC, s[1:], nil
	}
	want := errors.New("want Z or an offset such as +02:00")
	if !colon {
		want = errors.New("want Z or an offset such as +0200")
	}
	if s == "" || (s[0] != '+' && s[0] != '-') {
		return nil, s, want
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	h, rest, err := digits(s[1:], 2, 2)
	if err != nil {
		return nil, s, want
	}
	if colon {
		if !strings.HasPrefix(rest, ":") {
			return nil, s, want
		}
		rest = rest[1:]
	}
	m, rest, err := digits(rest, 2, 2)
	if err != nil || h > 23 || m > 59 {
		return nil, s, want
	}
	return time.FixedZone("", sign*(h*3600+m*60)), rest, nil
}

// daysIn returns the number of days of month in year.
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
