package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
)

func TestCutUTF8(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"ASCII", "abcdef", 3, "abc"},
		{"BeforeAThreeByteCharacter", "ab€cd", 4, "ab"},
		{"AfterAThreeByteCharacter", "ab€cd", 5, "ab€"},
		{"FourByteCharacter", "a😀b", 4, "a"},
		{"Fits", "é", 2, "é"},
		{"InvalidBytesStepBackAtMostThree", "\x80\x80\x80\x80\x80\x80", 5, "\x80\x80"},
		{"Nothing", "abc", 0, ""},
		{"Whole", "abc", 10, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, store.CutUTF8(tt.s, tt.n))
		})
	}
}

func TestPreview(t *testing.T) {
	t.Parallel()
	p := store.Preview([]byte(`{"a":"€€€€"}`), 8)
	require.Equal(t, `{"a":"`, p.Head)
	require.Equal(t, int64(20), p.Bytes)
	require.True(t, p.Truncated())
	p = store.Preview([]byte(`[1]`), 8)
	require.Equal(t, `[1]`, p.Head)
	require.False(t, p.Truncated())
	require.False(t, store.Preview(nil, 8).Truncated())
	require.Zero(t, store.Preview(nil, 8).Bytes)
}
