package sqlnode

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
)

// rowSink collects a query's rows, stopping at maxRows and refusing to pass maxBytes of JSON.
type rowSink struct {
	maxRows  int
	maxBytes int64 // 0: no limit

	columns   []string
	keySize   int64 // JSON size of the keys of one row object
	rows      []any
	size      int64
	truncated bool
}

// setColumns names the columns; a name that repeats gets a suffix (_2, _3…) so that no value is lost.
func (s *rowSink) setColumns(names []string) {
	seen := make(map[string]bool, len(names))
	s.columns = make([]string, len(names))
	for i, name := range names {
		unique := name
		for n := 2; seen[unique]; n++ {
			unique = name + "_" + strconv.Itoa(n)
		}
		seen[unique] = true
		s.columns[i] = unique
		s.keySize += jsonStringSize(unique) + 2 // key, colon, comma
	}
	s.size = 64 + int64(len(names))*8 + s.keySize // the envelope and the columns array
}

// full reports whether the sink holds maxRows rows: one more row means the result is truncated.
func (s *rowSink) full() bool { return len(s.rows) >= s.maxRows }

// add appends one row of converted values (in column order), or fails with output_too_large.
func (s *rowSink) add(values []any) error {
	row := make(map[string]any, len(values))
	size := s.keySize + 2
	for i, v := range values {
		row[s.columns[i]] = v
		size += jsonSize(v)
	}
	s.size += size
	if s.maxBytes > 0 && s.size > s.maxBytes {
		return node.Permanent(&node.Error{Code: CodeOutputTooLarge,
			Message: fmt.Sprintf("the result passed the output limit of %d bytes after %d rows: select fewer rows (maxRows, LIMIT) or fewer columns", s.maxBytes, len(s.rows)),
			Details: map[string]any{"rowsRead": float64(len(s.rows)), "limitBytes": float64(s.maxBytes)}})
	}
	s.rows = append(s.rows, row)
	return nil
}

// output is the query node's output.
func (s *rowSink) output() map[string]any {
	cols := make([]any, len(s.columns))
	for i, c := range s.columns {
		cols[i] = c
	}
	rows := s.rows
	if rows == nil {
		rows = []any{}
	}
	return map[string]any{"rows": rows, "rowCount": float64(len(s.rows)), "columns": cols, "truncated": s.truncated}
}

// jsonSize returns the size of v encoded as JSON, for the values the converters produce; other
// values count as a short scalar.
func jsonSize(v any) int64 {
	switch v := v.(type) {
	case nil:
		return 4
	case bool:
		if v {
			return 4
		}
		return 5
	case string:
		return jsonStringSize(v)
	case float64:
		return 24
	case []any:
		n := int64(2)
		for i, e := range v {
			if i > 0 {
				n++ // comma
			}
			n += jsonSize(e)
		}
		return n
	case map[string]any:
		n := int64(2)
		for k, e := range v {
			n += jsonStringSize(k) + 1 + jsonSize(e) + 1 // colon, comma
		}
		if len(v) > 0 {
			n-- // no comma after the last member
		}
		return n
	default:
		return 24
	}
}

// jsonStringSize returns the size of s as a JSON string: quotes, and escapes for what needs them.
func jsonStringSize(s string) int64 {
	n := int64(len(s)) + 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n++
		case c < 0x20:
			n += 5
		case c == '<' || c == '>' || c == '&':
			n += 5
		}
	}
	return n
}

// maxExactInt is the largest integer a JSON number (a float64) holds exactly.
const maxExactInt = 1 << 53

// intValue converts an integer to a JSON number, or to a string when a float64 cannot hold it.
func intValue(n int64) any {
	if n > maxExactInt || n < -maxExactInt {
		return strconv.FormatInt(n, 10)
	}
	return float64(n)
}

// uintValue is intValue for unsigned integers.
func uintValue(n uint64) any {
	if n > maxExactInt {
		return strconv.FormatUint(n, 10)
	}
	return float64(n)
}

// floatValue converts a float to a JSON number; NaN and the infinities, which JSON lacks, become
// the strings "NaN", "Infinity" and "-Infinity".
func floatValue(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

// decimalValue converts a decimal in text form ("-12.50", "NaN") to a JSON number when a float64
// reads back as exactly the same value, and keeps the text otherwise, so that no digit is lost.
func decimalValue(s string) any {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return s
	}
	if canonicalDecimal(s) != canonicalDecimal(strconv.FormatFloat(f, 'f', -1, 64)) {
		return s
	}
	return f
}

// canonicalDecimal writes a plain decimal without its sign's "+", leading zeros, trailing
// fractional zeros and a lone point, and zero as "0"; other text is returned as it is.
func canonicalDecimal(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	intPart, frac, _ := strings.Cut(s, ".")
	if strings.ContainsFunc(intPart+frac, func(r rune) bool { return r < '0' || r > '9' }) {
		return s
	}
	intPart = strings.TrimLeft(intPart, "0")
	frac = strings.TrimRight(frac, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if out == "0" {
		return out
	}
	if neg {
		return "-" + out
	}
	return out
}

// timestampValue formats a time as RFC 3339 in UTC, with fractional seconds when it has them.
func timestampValue(t time.Time) any {
	return t.UTC().Format(time.RFC3339Nano)
}

// dateValue formats a date as YYYY-MM-DD.
func dateValue(t time.Time) any {
	return t.Format(time.DateOnly)
}

// bytesValue encodes binary data in standard base64.
func bytesValue(b []byte) any {
	return base64.StdEncoding.EncodeToString(b)
}
