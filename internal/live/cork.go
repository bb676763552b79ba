package live

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// corkMax is how many bytes a held connection gathers before it writes them anyway.
const corkMax = 32 << 10

// corkConn gathers a WebSocket connection's frames while a subscription delivers a burst of events,
// and writes them with one system call when the burst is over. The WebSocket library flushes every
// message on its own; on loopback and LAN a write costs far more than the frame (10–20 µs against
// less than 1), so a step of a workflow (a node's end, the next one's start: several events at once)
// to 500 clients was thousands of writes where it can be hundreds.
//
// Writes made while any holder holds the connection are appended in order; the last release writes
// them all. Writes made while nobody holds it go straight through.
type corkConn struct {
	net.Conn
	timeout time.Duration

	mu    sync.Mutex
	holds int
	buf   []byte
}

// Write implements net.Conn.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holds == 0 {
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= corkMax {
		if err := c.writeOut(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// hold starts gathering writes.
func (c *corkConn) hold() {
	c.mu.Lock()
	c.holds++
	c.mu.Unlock()
}

// release ends one hold; the last one writes out what was gathered.
func (c *corkConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holds > 0 {
		c.holds--
	}
	if c.holds > 0 || len(c.buf) == 0 {
		return nil
	}
	return c.writeOut()
}

// writeOut writes the gathered bytes within the write timeout; c.mu is held.
func (c *corkConn) writeOut() error {
	_ = c.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := c.Conn.Write(c.buf)
	_ = c.SetWriteDeadline(time.Time{})
	c.buf = c.buf[:0]
	if cap(c.buf) > corkMax*2 {
		c.buf = nil
	}
	if err != nil {
		return fmt.Errorf("write to WebSocket client: %w", err)
	}
	return nil
}

// corkingWriter hands the WebSocket library a hijacked connection whose writes go through a
// corkConn, which it keeps in conn.
type corkingWriter struct {
	http.ResponseWriter
	timeout time.Duration
	conn    *corkConn
}

// Hijack implements http.Hijacker.
func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	// The controller finds the server's Hijacker under the middleware's wrappers (Unwrap).
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Flush(); err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: c, timeout: w.timeout}
	brw.Writer = bufio.NewWriter(w.conn)
	return c, brw, nil
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *corkingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
