package auth

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fastParams keeps the tests that do not measure cost quick.
func fastParams() Params {
	return Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

func TestHashPasswordRoundTrip(t *testing.T) {
	t.Parallel()
	hash, err := HashPassword("correct horse battery staple")
	require.NoError(t, err)
	p := DefaultParams()
	require.True(t, strings.HasPrefix(hash, fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", p.Memory, p.Iterations, p.Parallelism)), hash)

	ok, rehash, err := VerifyPassword(hash, "correct horse battery staple")
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rehash, "a hash with the current parameters needs no rehash")

	ok, rehash, err = VerifyPassword(hash, "correct horse battery stapl")
	require.NoError(t, err)
	require.False(t, ok)
	require.False(t, rehash)

	other, err := HashPassword("correct horse battery staple")
	require.NoError(t, err)
	require.NotEqual(t, hash, other, "each hash has its own salt")
}

func TestVerifyPasswordOldParamsNeedRehash(t *testing.T) {
	t.Parallel()
	hash, err := HashPasswordWith(fastParams(), "pw")
	require.NoError(t, err)
	ok, rehash, err := VerifyPassword(hash, "pw")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, rehash)

	ok, rehash, err = VerifyPassword(hash, "wrong")
	require.NoError(t, err)
	require.False(t, ok)
	require.False(t, rehash, "no rehash without a match")
}

func TestVerifyPasswordMalformedHash(t *testing.T) {
	t.Parallel()
	good, err := HashPasswordWith(fastParams(), "pw")
	require.NoError(t, err)
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":           "",
		"bcrypt":          "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":         strings.Replace(good, "argon2id", "argon2i", 1),
		"version":         strings.Replace(good, "v=19", "v=16", 1),
		"params order":    strings.Replace(good, "m=64,t=1,p=1", "t=1,m=64,p=1", 1),
		"huge memory":     strings.Replace(good, "m=64,", "m=4294967295,", 1),
		"many passes":     strings.Replace(good, "t=1,", "t=1000,", 1),
		"zero lanes":      strings.Replace(good, "p=1$", "p=0$", 1),
		"lanes overflow":  strings.Replace(good, "p=1$", "p=257$", 1),
		"leading zero":    strings.Replace(good, "m=64,", "m=064,", 1),
		"sign":            strings.Replace(good, "m=64,", "m=+64,", 1),
		"salt not base64": strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!!", parts[5]}, "$"),
		"short salt":      strings.Join([]string{"", parts[1], parts[2], parts[3], "AAAA", parts[5]}, "$"),
		"padded key":      good + "==",
		"extra field":     good + "$x",
		"too long":        good + strings.Repeat("A", 600),
	} {
		ok, _, err := VerifyPassword(h, "pw")
		require.ErrorIs(t, err, ErrMalformedHash, name)
		require.False(t, ok, name)
	}
}

func TestPasswordTooLong(t *testing.T) {
	t.Parallel()
	_, err := HashPasswordWith(fastParams(), strings.Repeat("a", MaxPasswordLength+1))
	require.ErrorIs(t, err, ErrPasswordTooLong)

	long := strings.Repeat("a", MaxPasswordLength)
	hash, err := HashPasswordWith(fastParams(), long)
	require.NoError(t, err)
	ok, _, err := VerifyPassword(hash, long)
	require.NoError(t, err)
	require.True(t, ok)
	ok, _, err = VerifyPassword(hash, long+"a")
	require.NoError(t, err)
	require.False(t, ok, "a password over the bound never verifies, even with a matching prefix")
}
