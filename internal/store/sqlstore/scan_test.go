package sqlstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestScanners: the column scanners accept every representation either driver returns and refuse
// the rest with an error that names the problem.
func TestScanners(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 1, 12, 30, 0, 123000, time.UTC)
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name    string
		src     any
		want    *time.Time
		wantErr string
	}{
		{name: "Null", src: nil},
		{name: "Micros", src: at.UnixMicro(), want: &at},
		{name: "Time", src: at.In(paris), want: &at},
		{name: "Text", src: "1740832200000123", want: &at},
		{name: "Bytes", src: []byte("1740832200000123"), want: &at},
		{name: "NotANumber", src: "noon", wantErr: `scan time "noon"`},
		{name: "Float", src: 1.5, wantErr: "scan time: unsupported type float64"},
	} {
		var nt nullTime
		err := nt.Scan(tc.src)
		if tc.wantErr != "" {
			require.ErrorContains(t, err, tc.wantErr, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		if tc.want == nil {
			require.Nil(t, nt.ptr(), tc.name)
			continue
		}
		require.Equal(t, *tc.want, *nt.ptr(), tc.name)
		require.Equal(t, time.UTC, nt.ptr().Location(), tc.name)
	}

	for _, tc := range []struct {
		src     any
		want    string
		wantErr string
	}{
		{src: nil, want: ""},
		{src: "a", want: "a"},
		{src: []byte("b"), want: "b"},
		{src: int64(1), wantErr: "scan string: unsupported type int64"},
	} {
		s := nullString("old")
		err := s.Scan(tc.src)
		if tc.wantErr != "" {
			require.EqualError(t, err, tc.wantErr)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, string(s))
	}

	for _, tc := range []struct {
		src     any
		want    rawJSON
		wantErr string
	}{
		{src: nil, want: nil},
		{src: `{"a":1}`, want: rawJSON(`{"a":1}`)},
		{src: []byte(`[1]`), want: rawJSON(`[1]`)},
		{src: true, wantErr: "scan json: unsupported type bool"},
	} {
		j := rawJSON(`"old"`)
		err := j.Scan(tc.src)
		if tc.wantErr != "" {
			require.EqualError(t, err, tc.wantErr)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, j)
	}
}

// TestRawJSONScanCopiesBytes: a driver may reuse the bytes it hands to Scan; the scanned value must
// not change with them.
func TestRawJSONScanCopiesBytes(t *testing.T) {
	t.Parallel()
	buf := []byte(`{"a":1}`)
	var j rawJSON
	require.NoError(t, j.Scan(buf))
	copy(buf, `{"b":2}`)
	require.Equal(t, `{"a":1}`, string(j))
}

func TestPageLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want int }{{-1, 50}, {0, 50}, {1, 1}, {500, 500}, {501, 500}} {
		require.Equal(t, tc.want, pageLimit(tc.in), tc.in)
	}
}

func TestCursor(t *testing.T) {
	t.Parallel()
	key, id, err := decodeCursor(encodeCursor("2025-01-01", "abc"))
	require.NoError(t, err)
	require.Equal(t, "2025-01-01", key)
	require.Equal(t, "abc", id)
	for _, bad := range []string{"%%%", encodeCursor("k", ""), "bm9waXBl", encodeCursor("k\x00", "id")} {
		_, _, err := decodeCursor(bad)
		require.ErrorIs(t, err, ErrBadCursor, bad)
	}
}
