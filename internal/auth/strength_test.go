package auth

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestCheckStrength(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		password string
		inputs   []string
		reason   string // empty: accepted
	}{
		{"short1!", nil, "too short: use at least 10 characters"},
		{"ünïcødé!9", nil, "too short"}, // 9 code points, more bytes
		{"password123", nil, "commonly used password"},
		{"qwertyuiopasdf", nil, "too easy to guess"},
		{"aaaaaaaaaaaaaaaa", nil, "repeated characters"},
		{"alice.smith2026", []string{"alice.smith@example.com", "Alice Smith"}, "your e-mail address or name"},
		{strings.Repeat("a", MaxPasswordLength+1), nil, "too long"},
		{"bad utf8 \xff\xfe here", nil, "not valid UTF-8"},
		{"correct horse battery staple", nil, ""},
		{"Tr0ub4dour&3-violin-ledger", []string{"bob@example.com"}, ""},
		{"ünïcødé passphrase grows", nil, ""},
	} {
		err := CheckStrength(tc.password, tc.inputs...)
		if tc.reason == "" {
			require.NoError(t, err, tc.password)
			continue
		}
		require.ErrorIs(t, err, ErrWeakPassword, tc.password)
		var weak *WeakPasswordError
		require.ErrorAs(t, err, &weak)
		require.Contains(t, weak.Reason, tc.reason, tc.password)
		require.Equal(t, weak.Reason, err.Error())
	}
}

func TestCheckStrengthLongPasswordStaysStrong(t *testing.T) {
	t.Parallel()
	// A long strong password is judged by its first characters and accepted.
	long := strings.Repeat("x7#Lq9!vR2@mZ", 80)[:MaxPasswordLength]
	require.NoError(t, CheckStrength(long))
	// A long password whose beginning is weak is refused.
	require.Error(t, CheckStrength(strings.Repeat("a", MaxPasswordLength)))
}

// TestZxcvbnSeesABoundedInput: whatever CheckStrength accepts to look at, zxcvbn (whose time grows with
// about the cube of the length) is given at most zxcvbnMaxRunes characters. The time this buys is
// measured by BenchmarkCheckStrengthWorst.
func TestZxcvbnSeesABoundedInput(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{strings.Repeat("x7#Lq9!vR2@mZ", 80)[:MaxPasswordLength], strings.Repeat("€", 300), "short"} {
		got := truncateRunes(pw, zxcvbnMaxRunes)
		require.LessOrEqual(t, utf8.RuneCountInString(got), zxcvbnMaxRunes)
		require.True(t, strings.HasPrefix(pw, got))
		require.True(t, utf8.ValidString(got))
	}
}
