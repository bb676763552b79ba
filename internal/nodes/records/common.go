package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/concertmaster/concertmaster/internal/node"
)

const (
	// MaxPathLength is the longest field path, in bytes.
	MaxPathLength = 1024
	// MaxPathSegments is the most segments a field path may have.
	MaxPathSegments = 32
	// MaxFields is the most fields one list of the configuration (keys, groupBy, renames,
	// aggregations) may name.
	MaxFields = 100
	// checkEvery is how many elements a loop handles between two checks of its context.
	checkEvery = 1024
)

// path is a parsed dot path: customer.address.city, or items.0.id where a segment that is a
// non-negative integer also indexes arrays.
type path []string

func (p path) String() string { return strings.Join(p, ".") }

// parsePath splits a dot path and checks its shape.
func parsePath(s string) (path, error) {
	switch {
	case s == "":
		return nil, errors.New("is empty")
	case len(s) > MaxPathLength:
		return nil, fmt.Errorf("is %d bytes long, over the %d limit", len(s), MaxPathLength)
	case !utf8.ValidString(s):
		return nil, errors.New("is not valid UTF-8")
	}
	p := strings.Split(s, ".")
	if len(p) > MaxPathSegments {
		return nil, fmt.Errorf("has %d segments, over the %d limit", len(p), MaxPathSegments)
	}
	if slices.Contains(p, "") {
		return nil, fmt.Errorf("%q has an empty segment (two dots in a row, or a dot at an end)", s)
	}
	return p, nil
}

// templated reports whether s still holds an expression: it is checked at run time, once evaluated.
func templated(s string) bool { return strings.Contains(s, "{{") }

// get returns the value at p inside v and whether it is there.
func (p path) get(v any) (any, bool) {
	for _, seg := range p {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// set stores value at p inside m, copying every object on the way so that shared values stay
// untouched; m itself must be a copy the caller owns.
func (p path) set(m map[string]any, value any) {
	for _, seg := range p[:len(p)-1] {
		child, _ := m[seg].(map[string]any)
		copied := make(map[string]any, len(child)+1)
		for k, v := range child {
			copied[k] = v
		}
		m[seg] = copied
		m = copied
	}
	m[p[len(p)-1]] = value
}

// del removes p from m, copying every object on the way; m itself must be a copy the caller owns.
func (p path) del(m map[string]any) {
	for _, seg := range p[:len(p)-1] {
		child, ok := m[seg].(map[string]any)
		if !ok {
			return
		}
		copied := make(map[string]any, len(child))
		for k, v := range child {
			copied[k] = v
		}
		m[seg] = copied
		m = copied
	}
	delete(m, p[len(p)-1])
}

// itemsOf returns the array a node works on: items when set, else the input. name is how messages
// call it ("items" or "input").
func itemsOf(typ string, items any, in *node.Input) ([]any, string, error) {
	src, name := items, "items"
	if items == nil {
		src, name = in.Data, "input"
	}
	arr, ok := src.([]any)
	if !ok {
		return nil, name, node.Permanent(node.Errorf("not_array", "%s needs an array in %s, got %s", typ, name, kindOf(src)))
	}
	return arr, name, nil
}

// checkCtx returns the context's error every checkEvery iterations.
func checkCtx(ctx context.Context, i int) error {
	if i%checkEvery == 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped: %w", context.Cause(ctx))
		}
	}
	return nil
}

// reserve charges n bytes to the attempt's memory budget.
func reserve(in *node.Input, what string, n int64) error {
	if in.Limits.Memory == nil {
		return nil
	}
	if err := in.Limits.Memory.Reserve(n); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, float32, int, int64, int32, json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// toNumber returns v as a float64 when it is a number.
func toNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case float32:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// Type ranks for sorting values of different types: numbers, then strings, booleans (false before
// true), arrays, objects, and null (or a missing field) last.
const (
	rankNumber = iota
	rankString
	rankBool
	rankArray
	rankObject
	rankNull
)

func rank(v any) int {
	if _, ok := toNumber(v); ok {
		return rankNumber
	}
	switch v.(type) {
	case string:
		return rankString
	case bool:
		return rankBool
	case []any:
		return rankArray
	case map[string]any:
		return rankObject
	}
	return rankNull
}

// compareOpts says how strings compare.
type compareOpts struct {
	// fold compares strings case-insensitively (simple Unicode case folding).
	fold bool
	// natural compares runs of digits inside strings by their numeric value: file2 before file10.
	natural bool
}

// compareValues orders two JSON values: by type rank first, then numbers numerically, strings
// byte-wise (or as opts says), false before true, arrays element by element; objects compare equal.
func compareValues(a, b any, opts compareOpts) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return ra - rb
	}
	switch ra {
	case rankNumber:
		x, _ := toNumber(a)
		y, _ := toNumber(b)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case rankString:
		return compareStrings(a.(string), b.(string), opts)
	case rankBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case rankArray:
		x, y := a.([]any), b.([]any)
		for i := range min(len(x), len(y)) {
			if c := compareValues(x[i], y[i], opts); c != 0 {
				return c
			}
		}
		return len(x) - len(y)
	}
	return 0
}

func compareStrings(a, b string, opts compareOpts) int {
	if !opts.natural {
		if opts.fold {
			return compareFold(a, b)
		}
		return strings.Compare(a, b)
	}
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			da, db := digitRun(a), digitRun(b)
			if c := compareDigits(a[:da], b[:db]); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if opts.fold {
			ra, rb = foldRune(ra), foldRune(rb)
		}
		if ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

func compareFold(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		ra, rb = foldRune(ra), foldRune(rb)
		if ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// foldRune maps a rune to its lower-case form for case-insensitive comparison.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return []rune(strings.ToLower(string(r)))[0]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitRun(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// compareDigits compares two runs of decimal digits by value, then (equal values) fewer leading
// zeros first.
func compareDigits(a, b string) int {
	ta, tb := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(ta) != len(tb) {
		return len(ta) - len(tb)
	}
	if c := strings.Compare(ta, tb); c != 0 {
		return c
	}
	return len(a) - len(b)
}

// appendKey appends an encoding of v to buf such that two values get the same encoding exactly
// when they are equal JSON values (numbers by value, objects whatever their key order).
func appendKey(buf []byte, v any) []byte {
	if f, ok := toNumber(v); ok {
		buf = append(buf, 'n')
		if f == math.Trunc(f) && math.Abs(f) < 1e15 {
			return strconv.AppendInt(buf, int64(f), 10)
		}
		return strconv.AppendFloat(buf, f, 'g', -1, 64)
	}
	switch x := v.(type) {
	case nil:
		return append(buf, 'z')
	case bool:
		if x {
			return append(buf, 't')
		}
		return append(buf, 'f')
	case string:
		buf = append(buf, 's')
		buf = strconv.AppendInt(buf, int64(len(x)), 10)
		buf = append(buf, ':')
		return append(buf, x...)
	case []any:
		buf = append(buf, '[')
		for _, e := range x {
			buf = appendKey(buf, e)
		}
		return append(buf, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = append(buf, '{')
		for _, k := range keys {
			buf = appendKey(buf, k)
			buf = appendKey(buf, x[k])
		}
		return append(buf, '}')
	}
	b, _ := json.Marshal(v)
	buf = append(buf, 'x')
	buf = strconv.AppendInt(buf, int64(len(b)), 10)
	buf = append(buf, ':')
	return append(buf, b...)
}

// equal reports whether two JSON values are equal: numbers by value, objects whatever their key
// order.
func equal(a, b any) bool {
	if x, ok := toNumber(a); ok {
		y, ok := toNumber(b)
		return ok && x == y
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// fieldList parses a list of dot paths from the configuration; name is the field's name for
// messages. Paths that still hold an expression are skipped (they are checked once evaluated).
func fieldList(name string, fields []string) ([]path, error) {
	if len(fields) > MaxFields {
		return nil, fmt.Errorf("%s: %d fields, over the %d limit", name, len(fields), MaxFields)
	}
	out := make([]path, 0, len(fields))
	for i, f := range fields {
		if templated(f) {
			out = append(out, nil)
			continue
		}
		p, err := parsePath(f)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: the field path %w", name, i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// permanent returns a permanent *node.Error.
func permanent(code, format string, args ...any) error {
	return node.Permanent(node.Errorf(code, format, args...))
}
