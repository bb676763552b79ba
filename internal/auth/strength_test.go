package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/trustelem/zxcvbn"
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

// TestCheckStrengthBoundsZxcvbnTime measures what the bound on zxcvbn's input buys: the worst case
// CheckStrength accepts to evaluate stays fast, while zxcvbn alone on the longest password would not.
func TestCheckStrengthBoundsZxcvbnTime(t *testing.T) {
	if testing.Short() {
		t.Skip("measures zxcvbn")
	}
	t.Parallel()
	inputs := []string{strings.Repeat("n", maxUserInput), strings.Repeat("e", maxUserInput)}
	// Of the inputs tried, mixed symbols without patterns make zxcvbn work hardest.
	worst := strings.Repeat("x7#Lq9!vR2@mZ", 80)[:MaxPasswordLength]

	start := time.Now()
	_ = CheckStrength(worst, inputs...)
	bounded := time.Since(start)

	start = time.Now()
	_ = zxcvbn.PasswordStrength(worst[:128], inputs)
	unbounded128 := time.Since(start)
	t.Logf("CheckStrength on %d bytes: %v; zxcvbn alone on 128 bytes: %v", len(worst), bounded, unbounded128)
	require.Less(t, bounded, unbounded128, "the bound keeps zxcvbn below what 128 characters would cost")
}
