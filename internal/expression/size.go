package expression

import (
	"encoding/json"
	"math"
	"reflect"
)

// SizeAtMost estimates the JSON-encoded size of v in bytes, stopping as soon as it passes limit. It
// reports the estimate and whether it stayed within limit. Shared sub-values count every time they
// appear, as they would when encoded.
func SizeAtMost(v any, limit int64) (int64, bool) {
	w := sizer{limit: limit}
	ok := w.walk(v, 0)
	return w.n, ok && w.n <= limit
}

// sizer estimates JSON sizes. With indent > 0 it counts the newlines and indentation that
// json.MarshalIndent adds (indent bytes per level). With a budget it checks the deadline every few
// thousand values, so that measuring a huge shared structure cannot pin a core past the deadline.
type sizer struct {
	limit  int64
	indent int64
	budget *runBudget
	n      int64
	steps  int
	err    error
}

func (w *sizer) step() bool {
	w.steps++
	if w.budget != nil && w.steps&1023 == 0 {
		if err := w.budget.timeUp(); err != nil {
			w.err = err
			return false
		}
	}
	return w.n <= w.limit
}

// elem accounts for one element or member at depth: the comma and, when indenting, the newline and
// the indentation before it.
func (w *sizer) elem(depth int) {
	w.n++
	if w.indent > 0 {
		w.n += 1 + w.indent*int64(depth+1)
	}
}

// closing accounts for the newline and indentation before a non-empty container's closing bracket.
func (w *sizer) closing(depth int) {
	if w.indent > 0 {
		w.n += 1 + w.indent*int64(depth)
	}
}

func (w *sizer) walk(v any, depth int) bool {
	if !w.step() {
		return false
	}
	switch x := v.(type) {
	case nil:
		w.n += 4
	case bool:
		w.n += 5
	case string:
		w.n += int64(len(x)) + 2
	case int:
		w.n += digits(x)
	case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32:
		w.n += 8
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			w.n += 4
		} else {
			w.n += 8
		}
	case json.RawMessage:
		w.n += int64(len(x))
	case []byte:
		w.n += int64(len(x))*4/3 + 2
	case []any:
		w.n += 2
		for _, e := range x {
			w.elem(depth)
			if !w.walk(e, depth+1) {
				return false
			}
		}
		if len(x) > 0 {
			w.closing(depth)
		}
	case []string:
		w.n += 2
		for _, e := range x {
			w.elem(depth)
			w.n += int64(len(e)) + 2
			if !w.step() {
				return false
			}
		}
		if len(x) > 0 {
			w.closing(depth)
		}
	case map[string]any:
		w.n += 2
		for k, e := range x {
			w.elem(depth)
			w.n += int64(len(k)) + 3
			if w.indent > 0 {
				w.n++ // the space after the colon
			}
			if !w.walk(e, depth+1) {
				return false
			}
		}
		if len(x) > 0 {
			w.closing(depth)
		}
	default:
		return w.reflect(reflect.ValueOf(v), depth)
	}
	return w.n <= w.limit
}

func (w *sizer) reflect(rv reflect.Value, depth int) bool {
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		w.n += 2
		for i := 0; i < rv.Len(); i++ {
			w.elem(depth)
			if !w.walk(rv.Index(i).Interface(), depth+1) {
				return false
			}
		}
		if rv.Len() > 0 {
			w.closing(depth)
		}
	case reflect.Map:
		w.n += 2
		iter := rv.MapRange()
		for iter.Next() {
			w.elem(depth)
			k := iter.Key()
			if k.Kind() == reflect.String {
				w.n += int64(k.Len()) + 4
			} else {
				w.n += 24
			}
			if !w.walk(iter.Value().Interface(), depth+1) {
				return false
			}
		}
		if rv.Len() > 0 {
			w.closing(depth)
		}
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			w.n += 4
			return true
		}
		return w.walk(rv.Elem().Interface(), depth)
	case reflect.String:
		w.n += int64(rv.Len()) + 2
	default:
		w.n += 16
	}
	return w.n <= w.limit
}

// digits returns the length of x in decimal.
func digits(x int) int64 {
	n := int64(1)
	if x < 0 {
		n++
		if x == math.MinInt {
			return 20
		}
		x = -x
	}
	for x >= 10 {
		x /= 10
		n++
	}
	return n
}
