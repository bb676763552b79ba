package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/auth"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/identity"
)

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// ownerID returns the user id of a token's holder.
func ownerID(t *testing.T, s *apitest.Server, token string) string {
	t.Helper()
	var me api.Me
	r := s.Do(t, http.MethodGet, "/api/v1/auth/me", "", bearer(token))
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	r.JSON(t, &me)
	require.NotNil(t, me.User)
	return me.User.ID
}

func TestTokenAttacks(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	owner := ownerID(t, s, s.Token)
	key := apitest.TestSecret(t).Derive(auth.JWTKeyInfo)
	sign := func(method jwt.SigningMethod, k any, claims jwt.MapClaims, kid string) string {
		tok := jwt.NewWithClaims(method, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		str, err := tok.SignedString(k)
		require.NoError(t, err)
		return str
	}
	now := time.Now()
	valid := jwt.MapClaims{"sub": owner, "tid": "default", "iss": auth.Issuer, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "x"}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for a, b := range valid {
			c[a] = b
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	_, other := s.OtherTenant(t, "victim-owner@example.com")
	parts := strings.Split(s.Token, ".")
	payload, err := jwt.NewParser().DecodeSegment(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	claims["tid"] = other
	planted, err := json.Marshal(claims)
	require.NoError(t, err)

	tests := map[string]string{
		"no header":               "",
		"empty bearer":            "Bearer ",
		"basic scheme":            "Basic b3duZXI6cGFzcw==",
		"two spaces":              "Bearer  " + s.Token,
		"garbage":                 "Bearer a.b.c",
		"alg none":                "Bearer " + sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid, ""),
		"HS512 with the real key": "Bearer " + sign(jwt.SigningMethodHS512, key, valid, auth.KeyID(key)),
		"wrong key":               "Bearer " + sign(jwt.SigningMethodHS256, []byte("another-key-another-key-another-key!"), valid, auth.KeyID(key)),
		"expired":                 "Bearer " + sign(jwt.SigningMethodHS256, key, with("exp", now.Add(-time.Hour).Unix()), auth.KeyID(key)),
		"no expiry":               "Bearer " + sign(jwt.SigningMethodHS256, key, with("exp", nil), auth.KeyID(key)),
		"wrong issuer":            "Bearer " + sign(jwt.SigningMethodHS256, key, with("iss", "evil"), auth.KeyID(key)),
		"foreign tenant, signed":  "Bearer " + sign(jwt.SigningMethodHS256, key, with("tid", other), auth.KeyID(key)),
		"tampered tenant":         "Bearer " + parts[0] + "." + base64.RawURLEncoding.EncodeToString(planted) + "." + parts[2],
		"API key subject":         "Bearer " + sign(jwt.SigningMethodHS256, key, with("sub", "apikey:x"), auth.KeyID(key)),
		"refresh token":           "Bearer " + s.Login(t, apitest.OwnerEmail, apitest.OwnerPassword, "").RefreshToken,
		"unknown API key":         "Bearer cm_ak_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"oversized":               "Bearer " + strings.Repeat("a", 9000),
		"control characters":      "Bearer abc\tdef",
	}
	for name, header := range tests {
		t.Run(name, func(t *testing.T) {
			h := map[string]string{"Authorization": header}
			r := s.Do(t, http.MethodGet, "/api/v1/workflows", "", h)
			require.Equal(t, http.StatusUnauthorized, r.Status, r.Body)
			require.True(t, strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer"), r.Header)
			require.NotContains(t, r.Body, "items")
		})
	}

	t.Run("an expired token says so", func(t *testing.T) {
		r := s.Do(t, http.MethodGet, "/api/v1/workflows", "", map[string]string{"Authorization": tests["expired"]})
		require.Contains(t, r.Body, "expired")
	})
	t.Run("a revoked or expired API key stops at once", func(t *testing.T) {
		var k api.APIKey
		r := s.Do(t, http.MethodPost, "/api/v1/api-keys", `{"name":"ci","role":"viewer"}`, nil)
		require.Equal(t, http.StatusCreated, r.Status, r.Body)
		r.JSON(t, &k)
		require.True(t, strings.HasPrefix(k.Key, "cm_ak_"))
		require.Equal(t, http.StatusOK, s.Do(t, http.MethodGet, "/api/v1/workflows", "", bearer(k.Key)).Status)
		var list struct{ Items []api.APIKey }
		s.Do(t, http.MethodGet, "/api/v1/api-keys", "", nil).JSON(t, &list)
		for _, item := range list.Items {
			require.Empty(t, item.Key, "the key is shown once")
			if item.ID == k.ID {
				require.NotNil(t, item.LastUsedAt, "its use is recorded")
			}
		}
		require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodDelete, "/api/v1/api-keys/"+k.ID, "", nil).Status)
		require.Equal(t, http.StatusUnauthorized, s.Do(t, http.MethodGet, "/api/v1/workflows", "", bearer(k.Key)).Status)
		require.Equal(t, http.StatusNotFound, s.Do(t, http.MethodDelete, "/api/v1/api-keys/"+k.ID, "", nil).Status)

		past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		r = s.Do(t, http.MethodPost, "/api/v1/api-keys", `{"name":"old","role":"viewer","expiresAt":"`+past+`"}`, nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Body)
		require.Contains(t, r.Body, "/expiresAt")
	})
}

// TestPathTricks sends variants of protected paths without a credential: only the exact public
// paths are public, so each answers 401, or 404/405 for a path that names no route — never data.
func TestPathTricks(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, `{"name":"secret flow","nodes":[{"id":"start","type":"trigger.manual"}]}`)
	for _, p := range []string{
		"/api/v1/workflows", "/api/v1/workflows/", "/api/v1/workflows;x", "/api/v1/workflows;/healthz", "/api/v1/workflows%2f",
		"/API/V1/WORKFLOWS", "//api/v1/workflows", "/api//v1/workflows", "/api/v1/./workflows", "/api/v1/%2e/workflows",
		"/api/v1/workflows/..%2f..%2fhealthz", "/healthz/../api/v1/workflows", "/api/v1/auth/login/../../workflows",
		"/api/v1/workflows/" + w.ID, "/api/v1/workflows/" + w.ID + "/", "/api/v1/workflows/" + w.ID + "%00",
		"/api/v1/workflows/" + w.ID + "/health", "/api/v1/workflows/" + w.ID + "/configs", "/api/v1/workflows/healthz",
		"/api/v1/workflows?x=/healthz", "/api/v1/workflows#/healthz", "/api/v1/auth/me", "/api/v1/auth/me/", "/api/v1/members/..",
		"/api/v1/audit/export;.css", "/api/v1/events", "/api/v1/workflows/" + w.ID + "/events",
	} {
		t.Run(p, func(t *testing.T) {
			code, body := status(t, s, http.MethodGet, p, "", "")
			require.Contains(t, []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusBadRequest, http.StatusUnprocessableEntity}, code, body)
			require.NotContains(t, body, "secret flow")
			require.NotContains(t, body, `"items"`)
		})
	}
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	first := s.Login(t, apitest.OwnerEmail, apitest.OwnerPassword, "")
	refresh := func(token string) *apitest.Response {
		return s.Do(t, http.MethodPost, "/api/v1/auth/refresh", `{"refreshToken":"`+token+`"}`, map[string]string{"Authorization": ""})
	}
	r := refresh(first.RefreshToken)
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	var second api.TokenPair
	r.JSON(t, &second)
	require.NotEqual(t, first.RefreshToken, second.RefreshToken)
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodGet, "/api/v1/workflows", "", bearer(second.AccessToken)).Status)

	// The first token again: a theft. The whole family is revoked, the thief's and the owner's.
	r = refresh(first.RefreshToken)
	require.Equal(t, http.StatusUnauthorized, r.Status, r.Body)
	require.Contains(t, r.Body, "already used")
	require.Equal(t, http.StatusUnauthorized, refresh(second.RefreshToken).Status, "the family is revoked")
	var audit struct{ Items []api.AuditEntry }
	s.Do(t, http.MethodGet, "/api/v1/audit?action=auth.refresh_reused", "", nil).JSON(t, &audit)
	require.Len(t, audit.Items, 1)

	t.Run("logout revokes", func(t *testing.T) {
		pair := s.Login(t, apitest.OwnerEmail, apitest.OwnerPassword, "")
		r := s.Do(t, http.MethodPost, "/api/v1/auth/logout", `{"refreshToken":"`+pair.RefreshToken+`"}`, map[string]string{"Authorization": ""})
		require.Equal(t, http.StatusNoContent, r.Status, r.Body)
		require.Contains(t, r.Header.Get("Set-Cookie"), "Max-Age=0")
		require.Equal(t, http.StatusUnauthorized, refresh(pair.RefreshToken).Status)
		require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodPost, "/api/v1/auth/logout", `{"refreshToken":"`+pair.RefreshToken+`"}`,
			map[string]string{"Authorization": ""}).Status, "twice is fine")
	})
	t.Run("the cookie", func(t *testing.T) {
		r := s.Do(t, http.MethodPost, "/api/v1/auth/login", `{"email":"`+apitest.OwnerEmail+`","password":"`+apitest.OwnerPassword+`"}`,
			map[string]string{"Authorization": ""})
		require.Equal(t, http.StatusOK, r.Status)
		cookie := r.Header.Get("Set-Cookie")
		for _, attr := range []string{"cm_refresh=cm_rt_", "Path=/api/v1/auth", "HttpOnly", "SameSite=Strict"} {
			require.Contains(t, cookie, attr)
		}
		require.NotContains(t, cookie, "Secure", "no TLS here")
		value := strings.SplitN(strings.SplitN(cookie, ";", 2)[0], "=", 2)[1]
		r = s.Do(t, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"Authorization": "", "Cookie": "cm_refresh=" + value})
		require.Equal(t, http.StatusOK, r.Status, r.Body)
		// Replayed from a page of another site, the browser guard refuses it before it is spent.
		r = s.Do(t, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"Authorization": "", "Sec-Fetch-Site": "cross-site",
			"Cookie": "cm_refresh=" + strings.SplitN(strings.SplitN(r.Header.Get("Set-Cookie"), ";", 2)[0], "=", 2)[1]})
		require.Equal(t, http.StatusForbidden, r.Status, r.Body)
	})
}

func TestLoginIsRateLimitedAndTellsNothing(t *testing.T) {
	t.Parallel()
	s := apitest.StartWith(t, enginetest.Options{}, func(c *api.Config) {
		id, err := identity.New(identity.Config{Store: c.Service.Store(), Secret: apitest.TestSecret(t), PasswordParams: &apitest.TestPasswordParams})
		require.NoError(t, err)
		c.Identity = id
	})
	login := func(email, password string) *apitest.Response {
		return s.Do(t, http.MethodPost, "/api/v1/auth/login", `{"email":"`+email+`","password":"`+password+`"}`, map[string]string{"Authorization": ""})
	}
	unknown, wrong := login("nobody@example.com", "whatever-password"), login(apitest.OwnerEmail, "wrong password!!")
	require.Equal(t, http.StatusUnauthorized, unknown.Status)
	require.Equal(t, unknown.Status, wrong.Status)
	var a, b api.ErrorModel
	unknown.JSON(t, &a)
	wrong.JSON(t, &b)
	require.Equal(t, a.Detail, b.Detail, "an unknown e-mail and a wrong password answer alike")

	// The account's allowance (10 at once) runs out before the right password gets a chance.
	var last *apitest.Response
	for range 12 {
		last = login(apitest.OwnerEmail, "wrong password!!")
		if last.Status == http.StatusTooManyRequests {
			break
		}
	}
	require.Equal(t, http.StatusTooManyRequests, last.Status, last.Body)
	require.NotEmpty(t, last.Header.Get("Retry-After"))
	require.Equal(t, http.StatusTooManyRequests, login(apitest.OwnerEmail, apitest.OwnerPassword).Status)
	var audit struct{ Items []api.AuditEntry }
	s.Do(t, http.MethodGet, "/api/v1/audit?action=auth.login_failed", "", nil).JSON(t, &audit)
	require.Empty(t, audit.Items, "failed logins of the server are no tenant's business")
}

func TestPrivilegeEscalation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	editor := s.AddMember(t, "editor@example.com", "editor")
	admin := s.AddMember(t, "admin@example.com", "admin")
	viewer := s.AddMember(t, "viewer@example.com", "viewer")
	owner := ownerID(t, s, s.Token)
	adminID, editorID := ownerID(t, s, admin), ownerID(t, s, editor)

	w := s.Save(t, `{"name":"f","nodes":[{"id":"start","type":"trigger.manual"},{"id":"boom","type":"flow.fail","config":{"message":"x"}}],
		"edges":[{"source":"start","target":"boom"}]}`)
	exec := s.Start(t, w.ID, `{}`)
	s.Wait(t, exec.ID)

	for _, tc := range []struct {
		name, token, method, path, body string
		want                            int
	}{
		{"an editor edits their own role", editor, http.MethodPatch, "/api/v1/members/" + editorID, `{"role":"owner"}`, http.StatusForbidden},
		{"an admin edits their own role", admin, http.MethodPatch, "/api/v1/members/" + adminID, `{"role":"owner"}`, http.StatusForbidden},
		{"an admin grants owner", admin, http.MethodPatch, "/api/v1/members/" + editorID, `{"role":"owner"}`, http.StatusForbidden},
		{"an admin demotes the owner", admin, http.MethodPatch, "/api/v1/members/" + owner, `{"role":"viewer"}`, http.StatusForbidden},
		{"an admin removes the owner", admin, http.MethodDelete, "/api/v1/members/" + owner, "", http.StatusForbidden},
		{"an admin adds an owner", admin, http.MethodPost, "/api/v1/members", `{"email":"x@example.com","role":"owner","password":"` + apitest.MemberPassword + `"}`, http.StatusForbidden},
		{"an admin makes an owner key", admin, http.MethodPost, "/api/v1/api-keys", `{"name":"k","role":"owner"}`, http.StatusForbidden},
		{"the owner demotes themself", s.Token, http.MethodPatch, "/api/v1/members/" + owner, `{"role":"viewer"}`, http.StatusForbidden},
		{"a viewer retries", viewer, http.MethodPost, "/api/v1/executions/" + exec.ID + "/retry", "", http.StatusForbidden},
		{"a viewer cancels", viewer, http.MethodPost, "/api/v1/executions/" + exec.ID + "/cancel", "", http.StatusForbidden},
		{"a viewer runs", viewer, http.MethodPost, "/api/v1/workflows/" + w.ID + "/executions", `{}`, http.StatusForbidden},
		{"a viewer deletes", viewer, http.MethodDelete, "/api/v1/workflows/" + w.ID, "", http.StatusForbidden},
		{"an editor reads the audit log", editor, http.MethodGet, "/api/v1/audit", "", http.StatusForbidden},
		{"an editor lists members", editor, http.MethodGet, "/api/v1/members", "", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, tc.method, tc.path, tc.body, bearer(tc.token))
			require.Equal(t, tc.want, r.Status, r.Body)
		})
	}
	// Nothing changed.
	var members struct{ Items []api.Member }
	s.Do(t, http.MethodGet, "/api/v1/members", "", nil).JSON(t, &members)
	roles := map[string]string{}
	for _, m := range members.Items {
		roles[m.Email] = m.Role
	}
	require.Equal(t, map[string]string{apitest.OwnerEmail: "owner", "editor@example.com": "editor", "admin@example.com": "admin",
		"viewer@example.com": "viewer"}, roles)

	t.Run("a role change takes effect at once", func(t *testing.T) {
		r := s.Do(t, http.MethodPatch, "/api/v1/members/"+editorID, `{"role":"viewer"}`, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Body)
		require.Equal(t, http.StatusForbidden, s.Do(t, http.MethodPost, "/api/v1/workflows/"+w.ID+"/executions", `{}`, bearer(editor)).Status)
		require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodDelete, "/api/v1/members/"+editorID, "", nil).Status)
		require.Equal(t, http.StatusUnauthorized, s.Do(t, http.MethodGet, "/api/v1/workflows", "", bearer(editor)).Status, "a removed member is out")
	})
	t.Run("the last owner stays", func(t *testing.T) {
		r := s.Do(t, http.MethodPatch, "/api/v1/members/"+adminID, `{"role":"owner"}`, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Body)
		r = s.Do(t, http.MethodPatch, "/api/v1/members/"+owner, `{"role":"admin"}`, bearer(admin))
		require.Equal(t, http.StatusOK, r.Status, "one owner demotes another: %s", r.Body)
		r = s.Do(t, http.MethodDelete, "/api/v1/members/"+adminID, "", nil)
		require.Equal(t, http.StatusForbidden, r.Status, "an admin may not remove an owner: %s", r.Body)
	})
}
