package auth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	jwtLike := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln-_"
	apiKey, _, err := NewOpaque(KindAPIKey)
	require.NoError(t, err)
	refresh, _, err := NewOpaque(KindRefresh)
	require.NoError(t, err)

	for _, tc := range []struct {
		header string
		kind   Credential
		cred   string
	}{
		{"Bearer " + jwtLike, CredentialAccessToken, jwtLike},
		{"bearer " + jwtLike, CredentialAccessToken, jwtLike},
		{"BEARER " + apiKey, CredentialAPIKey, apiKey},
		{"BeArEr " + apiKey, CredentialAPIKey, apiKey},
		{"Bearer a.b.c==", CredentialAccessToken, "a.b.c=="},
	} {
		kind, cred, err := ParseAuthorization(tc.header)
		require.NoError(t, err, tc.header)
		require.Equal(t, tc.kind, kind, tc.header)
		require.Equal(t, tc.cred, cred, tc.header)
	}

	for name, h := range map[string]string{
		"empty":            "",
		"scheme only":      "Bearer",
		"scheme and space": "Bearer ",
		"two spaces":       "Bearer  " + jwtLike,
		"leading space":    " Bearer " + jwtLike,
		"trailing space":   "Bearer " + jwtLike + " ",
		"tab":              "Bearer\t" + jwtLike,
		"newline":          "Bearer " + jwtLike + "\n",
		"NUL":              "Bearer " + jwtLike + "\x00",
		"DEL":              "Bearer " + jwtLike + "\x7f",
		"non-ASCII":        "Bearer " + jwtLike + "é",
		"basic":            "Basic dXNlcjpwYXNz",
		"token scheme":     "Token " + apiKey,
		"bearerx":          "Bearerx " + jwtLike,
		"two credentials":  "Bearer " + jwtLike + " " + apiKey,
		"comma":            "Bearer " + jwtLike + ",Bearer " + apiKey,
		"refresh token":    "Bearer " + refresh,
		"not a jwt":        "Bearer abcdef",
		"four parts":       "Bearer a.b.c.d",
		"equals inside":    "Bearer a=.b.c",
		"only equals":      "Bearer ==",
		"oversized":        "Bearer " + strings.Repeat("a", MaxAuthorizationLength) + ".b.c",
	} {
		_, _, err := ParseAuthorization(h)
		require.ErrorIs(t, err, ErrMalformedAuthorization, name)
	}
}
