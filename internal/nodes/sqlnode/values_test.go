package sqlnode

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDecimalValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want any
	}{
		{"0", 0.0},
		{"-0.000", 0.0},
		{"12.50", 12.5},
		{"-12.5000000000", -12.5},
		{"0.1", 0.1},
		{"1.0000000000", 1.0},
		{"9007199254740992", 9007199254740992.0},
		{"9007199254740993", "9007199254740993"},
		{"123456789012345678901234.5678", "123456789012345678901234.5678"},
		{"0.30000000000000004", 0.30000000000000004},
		{"0.3000000000000000444", "0.3000000000000000444"},
		{"1e400", "1e400"},
		{"NaN", "NaN"},
		{"Infinity", "Infinity"},
		{"00012", 12.0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, decimalValue(tt.in))
		})
	}
}

func TestScalarValues(t *testing.T) {
	t.Parallel()
	require.Equal(t, 42.0, intValue(42))
	require.Equal(t, float64(maxExactInt), intValue(maxExactInt))
	require.Equal(t, "9007199254740993", intValue(maxExactInt+1))
	require.Equal(t, "-9223372036854775808", intValue(math.MinInt64))
	require.Equal(t, "18446744073709551615", uintValue(math.MaxUint64))
	require.Equal(t, "NaN", floatValue(math.NaN()))
	require.Equal(t, "-Infinity", floatValue(math.Inf(-1)))
	require.Equal(t, "2024-01-02T03:04:05.5Z", timestampValue(time.Date(2024, 1, 2, 4, 4, 5, 5e8, time.FixedZone("CET", 3600))))
	require.Equal(t, "2024-01-02", dateValue(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)))
	require.Equal(t, "AQI=", bytesValue([]byte{1, 2}))
	require.Equal(t, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", uuidString([16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}))
	require.Equal(t, "10:11:12", timeOfDay(10*time.Hour+11*time.Minute+12*time.Second))
	require.Equal(t, "00:00:01.25", timeOfDay(1250*time.Millisecond))
}

// TestJSONSize checks the size estimate against encoding/json for the values converters produce.
func TestJSONSize(t *testing.T) {
	t.Parallel()
	values := []any{nil, true, false, "", "plain", "quote \" and \\ backslash", "tab\tnewline\n\x01", "<html>&", "héllo",
		[]any{}, []any{"a", nil, true}, map[string]any{}, map[string]any{"k": "v", "n": nil, "nested": []any{map[string]any{"x": "y"}}}}
	for _, v := range values {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		require.Equal(t, int64(len(b)), jsonSize(v), "%q", b)
	}
	// Numbers count as 24 bytes, at least what they take.
	for _, f := range []float64{0, 1, -1.5, 1e300, 123456789012345} {
		b, err := json.Marshal(f)
		require.NoError(t, err)
		require.GreaterOrEqual(t, jsonSize(f), int64(len(b)))
	}
}

func TestRowSink(t *testing.T) {
	t.Parallel()
	s := &rowSink{maxRows: 2}
	s.setColumns([]string{"id", "id", "name", "id_2"})
	require.Equal(t, []string{"id", "id_2", "name", "id_2_2"}, s.columns)
	require.NoError(t, s.add([]any{1.0, 2.0, "a", 3.0}))
	require.False(t, s.full())
	require.NoError(t, s.add([]any{4.0, 5.0, "b", 6.0}))
	require.True(t, s.full())
	out := s.output()
	b, err := json.Marshal(out)
	require.NoError(t, err)
	require.LessOrEqual(t, int64(len(b)), s.size, "the estimate is never below the real size")

	small := &rowSink{maxRows: 100, maxBytes: 200}
	small.setColumns([]string{"s"})
	var err2 error
	for i := 0; i < 100 && err2 == nil; i++ {
		err2 = small.add([]any{"0123456789012345678901234567890123456789"})
	}
	require.Error(t, err2)
	require.Less(t, len(small.rows), 5)
}

func TestBatchParams(t *testing.T) {
	t.Parallel()
	e := &ExecuteConfig{Batch: []any{[]any{1.0, "a"}, map[string]any{"b": "x", "a": 2.0, "extra": true}}, ParamKeys: []string{"a", "b"}}
	got, err := e.batchParams()
	require.NoError(t, err)
	require.Equal(t, [][]any{{1.0, "a"}, {2.0, "x"}}, got)
	for name, bad := range map[string]*ExecuteConfig{
		"scalar":          {Batch: []any{"x"}},
		"no paramKeys":    {Batch: []any{map[string]any{"a": 1.0}}},
		"missing key":     {Batch: []any{map[string]any{"a": 1.0}}, ParamKeys: []string{"a", "b"}},
		"params as well":  {Batch: []any{[]any{1.0}}, Statement: Statement{Params: []any{1.0}}},
		"too many values": {Batch: []any{make([]any, MaxParams+1)}},
	} {
		_, err := bad.batchParams()
		require.Error(t, err, name)
	}
}
