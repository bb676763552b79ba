// Package clustertest helps tests that need Redis: the test server's URL, a unique key prefix per
// test, and a TCP proxy a test can cut and restore to play a Redis outage without touching the
// shared server.
package clustertest

import (
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// RedisURL returns CM_TEST_REDIS_URL. The test is skipped when it is not set, and fails when it is set
// but the server does not answer.
func RedisURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv("CM_TEST_REDIS_URL")
	if raw == "" {
		t.Skip("CM_TEST_REDIS_URL is not set; run through make test (scripts/ensure-services.sh) to include this test")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("CM_TEST_REDIS_URL does not parse: %v", err)
	}
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(context.Background(), "tcp", u.Host)
	if err != nil {
		t.Fatalf("CM_TEST_REDIS_URL is set but %s does not answer: %v", u.Host, err)
	}
	_ = c.Close()
	return raw
}

// Prefix returns a channel and key prefix no other test uses.
func Prefix() string {
	return "cmtest:" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16] + ":"
}

// Proxy forwards TCP connections from a loopback port to a target. Cut closes the listener and every
// connection, as a Redis that went away; Restore listens again on the same port.
type Proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewProxy starts a proxy to the host:port target; it stops at the end of the test.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(func() {
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// URL returns rawURL (a redis:// URL) with its host replaced by the proxy's address.
func (p *Proxy) URL(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	u.Host = p.addr
	return u.String()
}

// Addr returns the proxy's address.
func (p *Proxy) Addr() string { return p.addr }

// Cut closes the listener and every open connection: dials are refused, reads and writes fail.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// Restore listens again on the proxy's address.
func (p *Proxy) Restore(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	// The port was ours a moment ago; another listener grabbing it in between is very unlikely, but
	// a closing socket may hold it briefly.
	for range 50 {
		if ln, err = (&net.ListenConfig{}).Listen(context.Background(), "tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.pipe(c)
			}()
		}
	}()
}

// pipe copies between c and a new connection to the target until either side closes.
func (p *Proxy) pipe(c net.Conn) {
	up, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(context.Background(), "tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // cut meanwhile
		p.mu.Unlock()
		_ = c.Close()
		_ = up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src) // an error (a cut connection) ends the copy like a close
		_ = dst.Close()
		_ = src.Close()
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}
