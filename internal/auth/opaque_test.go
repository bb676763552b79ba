package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewOpaque(t *testing.T) {
	t.Parallel()
	for _, kind := range []OpaqueKind{KindRefresh, KindAPIKey} {
		plain, hash, err := NewOpaque(kind)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(plain, "cm_"+string(kind)+"_"), plain)
		require.Len(t, plain, OpaqueLength)
		require.Len(t, plain, 49)
		sum := sha256.Sum256([]byte(plain))
		require.Equal(t, hex.EncodeToString(sum[:]), hash)

		got, gotKind, ok := HashOpaque(plain)
		require.True(t, ok)
		require.Equal(t, kind, gotKind)
		require.True(t, EqualHash(hash, got))

		other, otherHash, err := NewOpaque(kind)
		require.NoError(t, err)
		require.NotEqual(t, plain, other)
		require.False(t, EqualHash(hash, otherHash))
	}
	_, _, err := NewOpaque("xx")
	require.Error(t, err)
}

func TestHashOpaqueRefusesOtherShapes(t *testing.T) {
	t.Parallel()
	plain, _, err := NewOpaque(KindAPIKey)
	require.NoError(t, err)
	body := plain[len("cm_ak_"):]
	for name, s := range map[string]string{
		"empty":         "",
		"prefix only":   "cm_ak_",
		"unknown kind":  "cm_xx_" + body,
		"upper prefix":  "CM_AK_" + body,
		"short":         plain[:len(plain)-1],
		"long":          plain + "A",
		"std alphabet":  "cm_ak_" + strings.Repeat("+", len(body)),
		"padding":       "cm_ak_" + body[:len(body)-1] + "=",
		"space":         "cm_ak_" + body[:len(body)-1] + " ",
		"non-canonical": "cm_ak_" + body[:len(body)-1] + "B", // last char carries 2 unused bits
		"huge":          "cm_ak_" + strings.Repeat("A", 1<<20),
	} {
		_, _, ok := HashOpaque(s)
		require.False(t, ok, name)
	}
}
