package live_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/identity"
)

// dialRaw opens a WebSocket without authenticating.
func dialRaw(t *testing.T, s *apitest.Server) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, wsURL(s), nil)
	closeBody(resp)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &client{t: t, c: c}
}

func TestWebSocketAuthentication(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, delayFlow("1h"))
	exec := s.Start(t, w.ID, `{}`)

	t.Run("a message before auth closes the connection", func(t *testing.T) {
		cl := dialRaw(t, s)
		cl.send(map[string]any{"type": "subscribe", "id": "x", "executionId": exec.ID})
		code, reason := cl.closeStatus()
		require.Equal(t, websocket.StatusPolicyViolation, code)
		require.Contains(t, reason, "authentication required")
	})
	for name, token := range map[string]string{
		"garbage":             "not-a-token",
		"alg none":            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4IiwidGlkIjoiZGVmYXVsdCJ9.",
		"tampered":            s.Token[:len(s.Token)-4] + "AAAA",
		"unknown API key":     "cm_ak_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"refresh token":       s.Login(t, apitest.OwnerEmail, apitest.OwnerPassword, "").RefreshToken,
		"spaces in the token": "a b",
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			cl := dialRaw(t, s)
			cl.send(map[string]string{"type": "auth", "token": token})
			m := cl.next()
			require.Equal(t, "error", m.Type)
			require.Equal(t, "unauthorized", m.Code)
			code, _ := cl.closeStatus()
			require.Equal(t, websocket.StatusCode(4401), code)
		})
	}
	t.Run("another workspace's execution is not found", func(t *testing.T) {
		other, _ := s.OtherTenant(t, "other-ws@example.com")
		cl := dialRaw(t, s)
		cl.send(map[string]string{"type": "auth", "token": other})
		require.Equal(t, "hello", cl.next().Type)
		cl.send(map[string]any{"type": "subscribe", "id": "x", "executionId": exec.ID})
		m := cl.next()
		require.Equal(t, "error", m.Type)
		require.Equal(t, "not_found", m.Code, m.Message)
		// A fresh token of another workspace cannot move the connection there.
		cl.send(map[string]string{"type": "auth", "token": s.Token})
		code, reason := cl.closeStatus()
		require.Equal(t, websocket.StatusPolicyViolation, code)
		require.Contains(t, reason, "workspace")
	})
	t.Run("a viewer watches", func(t *testing.T) {
		viewer := s.AddMember(t, "viewer-ws@example.com", "viewer")
		cl := dialRaw(t, s)
		cl.send(map[string]string{"type": "auth", "token": viewer})
		require.Equal(t, "hello", cl.next().Type)
		cl.send(map[string]any{"type": "subscribe", "id": "x", "executionId": exec.ID})
		require.Equal(t, "subscribed", cl.next().Type)
	})
	t.Run("the upgrade request may carry the token", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, wsURL(s), &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + s.Token}}})
		closeBody(resp)
		require.NoError(t, err)
		defer func() { _ = c.CloseNow() }()
		cl := &client{t: t, c: c}
		require.Equal(t, "hello", cl.next().Type)

		_, resp, err = websocket.Dial(ctx, wsURL(s), &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer nope.nope.nope"}}})
		closeBody(resp)
		require.Error(t, err)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
}

func TestWebSocketClosesWhenTheTokenExpires(t *testing.T) {
	t.Parallel()
	s := apitest.StartWith(t, enginetest.Options{}, func(c *api.Config) {
		short, err := identity.New(identity.Config{Store: c.Service.Store(), Secret: apitest.TestSecret(t), AccessTTL: 2 * time.Second,
			PasswordParams: &apitest.TestPasswordParams})
		require.NoError(t, err)
		c.Identity = short
	})
	cl := dialRaw(t, s)
	cl.send(map[string]string{"type": "auth", "token": s.Login(t, apitest.OwnerEmail, apitest.OwnerPassword, "").AccessToken})
	require.Equal(t, "hello", cl.next().Type)
	start := time.Now()
	code, reason := cl.closeStatus()
	require.Equal(t, websocket.StatusCode(4001), code)
	require.Equal(t, "token expired", reason)
	require.Less(t, time.Since(start), 10*time.Second)
}
