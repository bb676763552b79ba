package expression

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSizeAtMostBoundsTheJSON: for values of the Go shapes a node or an expression may produce
// (decoded JSON, typed slices and maps, pointers, byte slices, raw JSON), the estimate is at least
// the encoded size and not far above it. (Numbers are counted as 8 bytes whatever their digits and
// other structs, such as a time, as 16: there it is an estimate, not a bound.)
func TestSizeAtMostBoundsTheJSON(t *testing.T) {
	t.Parallel()
	word := "concertmaster"
	n := 42
	var nilPtr *int
	tests := []struct {
		name string
		v    any
	}{
		{name: "Null", v: nil},
		{name: "Bool", v: false},
		{name: "Int", v: -1234567},
		{name: "MinInt", v: math.MinInt},
		{name: "Int64", v: int64(99)},
		{name: "Float", v: 3.5},
		{name: "String", v: word},
		{name: "Array", v: []any{1, "two", true, nil, []any{}, map[string]any{}}},
		{name: "Object", v: map[string]any{"a": 1, "bb": []any{"x", "y"}, "c": map[string]any{"d": nil}}},
		{name: "Strings", v: []string{"a", "bb", "ccc"}},
		{name: "TypedInts", v: []int{1, 22, 333, 4444}},
		{name: "TypedArray", v: [3]string{"x", "y", "z"}},
		{name: "TypedMap", v: map[string]int{"one": 1, "two": 2}},
		{name: "IntKeys", v: map[int]string{1: "a", 22: "b"}},
		{name: "NestedTyped", v: map[string][]map[string]bool{"k": {{"a": true}, {}}}},
		{name: "Pointer", v: &n},
		{name: "NilPointer", v: nilPtr},
		{name: "PointerToString", v: &word},
		{name: "Bytes", v: []byte("hello, world")},
		{name: "RawJSON", v: json.RawMessage(`{"a":[1,2,3]}`)},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.v)
		require.NoError(t, err, tc.name)
		est, ok := SizeAtMost(tc.v, math.MaxInt64)
		require.True(t, ok, tc.name)
		require.GreaterOrEqual(t, est, int64(len(b)), "%s: %s", tc.name, b)
		require.LessOrEqual(t, est, 4*int64(len(b))+32, "%s: %s", tc.name, b)
	}
}

// TestSizeAtMostStopsEarly: measuring stops soon after the limit is passed, whatever the shape, so
// that checking a huge value costs about as much as the limit.
func TestSizeAtMostStopsEarly(t *testing.T) {
	t.Parallel()
	const count = 200_000
	untyped := make([]any, count)
	strs := make([]string, count)
	ints := make([]int, count)
	obj := make(map[string]any, 1000)
	typedMap := make(map[string][]int, 1000)
	for i := range count {
		untyped[i] = "value"
		strs[i] = "value"
		ints[i] = i
	}
	for i := range 1000 {
		k := strings.Repeat("k", 10) + string(rune('a'+i%26)) + strings.Repeat("x", i%7) + string(rune(i))
		obj[k] = ints[:100]
		typedMap[k] = ints[:100]
	}
	for name, v := range map[string]any{
		"Untyped": untyped, "Strings": strs, "TypedInts": ints, "Object": obj, "TypedMap": typedMap,
		"Nested": []any{[]any{untyped}}, "Pointer": &untyped,
	} {
		est, ok := SizeAtMost(v, 1000)
		require.False(t, ok, name)
		require.Less(t, est, int64(2000), "%s stopped at %d", name, est)
	}
}

func TestDigits(t *testing.T) {
	t.Parallel()
	for _, x := range []int{0, 9, 10, -1, -10, 123456789, math.MaxInt, math.MinInt} {
		require.Equal(t, int64(len(json.Number(itoa(x)))), digits(x), x)
	}
}

func itoa(x int) string {
	b, _ := json.Marshal(x)
	return string(b)
}
