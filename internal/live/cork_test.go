package live

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// writesConn records each Write as the system call it would be.
type writesConn struct {
	net.Conn
	writes   [][]byte
	fail     error
	deadline []time.Time
}

func (c *writesConn) Write(p []byte) (int, error) {
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *writesConn) SetWriteDeadline(t time.Time) error {
	c.deadline = append(c.deadline, t)
	return nil
}

func TestCorkConnGathersWhileHeld(t *testing.T) {
	t.Parallel()
	under := &writesConn{}
	c := &corkConn{Conn: under, timeout: time.Second}

	_, err := c.Write([]byte("a"))
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("a")}, under.writes, "nobody holds it: straight through")

	c.hold()
	c.hold() // a second subscription of the same connection
	for _, p := range []string{"b", "c", "d"} {
		n, err := c.Write([]byte(p))
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	require.NoError(t, c.release())
	require.Len(t, under.writes, 1, "a holder is left: nothing written yet")
	require.NoError(t, c.release())
	require.Equal(t, [][]byte{[]byte("a"), []byte("bcd")}, under.writes, "the last release writes all, in order, at once")
	require.Len(t, under.deadline, 2, "within a write deadline, cleared afterwards")
	require.True(t, under.deadline[1].IsZero())
	require.NoError(t, c.release(), "an extra release does nothing")
	require.Len(t, under.writes, 2)
}

func TestCorkConnBoundsWhatItGathers(t *testing.T) {
	t.Parallel()
	under := &writesConn{}
	c := &corkConn{Conn: under, timeout: time.Second}
	c.hold()
	chunk := bytes.Repeat([]byte("x"), 1000)
	for range 40 {
		_, err := c.Write(chunk)
		require.NoError(t, err)
	}
	require.Len(t, under.writes, 1, "written once past corkMax, without waiting for the release")
	require.GreaterOrEqual(t, len(under.writes[0]), corkMax)
	require.NoError(t, c.release())
	total := 0
	for _, w := range under.writes {
		total += len(w)
	}
	require.Equal(t, 40000, total)
}

func TestCorkConnWriteError(t *testing.T) {
	t.Parallel()
	under := &writesConn{fail: errors.New("broken pipe")}
	c := &corkConn{Conn: under, timeout: time.Second}
	c.hold()
	_, err := c.Write([]byte("a"))
	require.NoError(t, err)
	err = c.release()
	require.ErrorContains(t, err, "write to WebSocket client: broken pipe")
}

// unwrapping is a middleware's response writer: it hides the server's Hijacker behind Unwrap.
type unwrapping struct{ http.ResponseWriter }

func (u unwrapping) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// TestCorkingWriterUnderMiddleware: the WebSocket library hijacks through corkingWriter (itself
// reaching the server under a middleware's wrapper), and messages written while the connection is
// held reach the client, in order, when it is released.
func TestCorkingWriterUnderMiddleware(t *testing.T) {
	t.Parallel()
	released := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &corkingWriter{ResponseWriter: unwrapping{w}, timeout: time.Second}
		c, err := websocket.Accept(cw, r, nil)
		if err != nil {
			released <- err
			return
		}
		defer func() { _ = c.CloseNow() }()
		cw.conn.hold()
		for _, m := range []string{"one", "two", "three"} {
			if err := c.Write(r.Context(), websocket.MessageText, []byte(m)); err != nil {
				released <- err
				return
			}
		}
		cw.conn.mu.Lock()
		held := len(cw.conn.buf)
		cw.conn.mu.Unlock()
		if held == 0 {
			released <- errors.New("nothing was gathered")
			return
		}
		released <- cw.conn.release()
		_, _, _ = c.Read(context.Background()) // until the client goes
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	require.NoError(t, err)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	defer func() { _ = c.CloseNow() }()
	require.NoError(t, <-released)
	for _, want := range []string{"one", "two", "three"} {
		_, got, err := c.Read(ctx)
		require.NoError(t, err)
		require.Equal(t, want, string(got))
	}
}
