package amqpnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// CredentialType is the credential type the nodes of this package use.
const CredentialType = "amqp"

// Codes of the *node.Error values the nodes return, beside conn.CodeSSRFBlocked and
// conn.CodeConnection.
const (
	// CodeAuthFailed is a user name, password or virtual host the broker refused.
	CodeAuthFailed = "auth_failed"
	// CodeBroker is an operation the broker refused (a missing exchange or queue, a permission), with
	// the broker's reply code and text.
	CodeBroker = "broker_error"
	// CodeInvalidConfig is a configuration the node cannot run with.
	CodeInvalidConfig = "invalid_config"
	// CodeMessageTooLarge is a message over the size limit.
	CodeMessageTooLarge = "message_too_large"
	// CodeNacked is a message the broker negatively acknowledged.
	CodeNacked = "publish_nacked"
	// CodeTimeout is a publish the broker did not confirm within the timeout.
	CodeTimeout = "timeout"
	// CodeUnroutable is a mandatory message no queue was bound to receive.
	CodeUnroutable = "unroutable"
)

// credentialData is the amqp credential's data.
type credentialData struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Vhost    string `json:"vhost"`
	Username string `json:"username"`
	Password string `json:"password"`
	conn.TLSFields
}

func (d *credentialData) addr() string {
	port := d.Port
	if port == 0 {
		port = 5672
		if d.TLS {
			port = 5671
		}
	}
	return net.JoinHostPort(d.Host, strconv.Itoa(port))
}

// what names the broker in error messages, without credentials.
func (d *credentialData) what() string { return "RabbitMQ at " + d.addr() }

func readCredential(c *node.Credential) (*credentialData, error) {
	var d credentialData
	if err := c.Decode(&d); err != nil {
		return nil, node.Permanent(node.Errorf("invalid_credential", "%s", err.Error()))
	}
	if d.Host == "" {
		return nil, node.Permanent(node.Errorf("invalid_credential", "credential %s has no host", c.Name))
	}
	if d.Vhost == "" {
		d.Vhost = "/"
	}
	return &d, nil
}

// dial opens a connection to the broker of d through cfg's policy, bounded by timeout.
func dial(ctx context.Context, cfg conn.Config, d *credentialData, timeout time.Duration) (*amqp.Connection, error) {
	scheme := "amqp"
	tc, err := d.TLSConfig(d.Host)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		scheme = "amqps"
	}
	deadline := time.Now().Add(timeout)
	ac := amqp.Config{
		// A new PlainAuth for every dial: the library clears its password once connected.
		SASL:            []amqp.Authentication{&amqp.PlainAuth{Username: d.Username, Password: d.Password}},
		Vhost:           d.Vhost,
		TLSClientConfig: tc,
		Heartbeat:       10 * time.Second,
		Properties:      amqp.Table{"product": "ConcertMaster", "connection_name": "concertmaster"},
		Dial: func(network, addr string) (net.Conn, error) {
			dctx, cancel := context.WithDeadline(ctx, deadline)
			defer cancel()
			c, err := cfg.Dial(dctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The TLS and AMQP handshakes must finish by the deadline too; the library clears it
			// once the connection is open.
			if err := c.SetDeadline(deadline); err != nil {
				_ = c.Close()
				return nil, err
			}
			return c, nil
		},
	}
	c, err := amqp.DialConfig(scheme+"://"+d.addr()+"/", ac)
	if err != nil {
		return nil, classifyOpen(d.what(), err)
	}
	return c, nil
}

// classifyOpen classifies an error opening a connection: a refusal of the broker during the
// handshake is an authentication failure (or a virtual host the user may not use), which retrying
// does not fix.
func classifyOpen(what string, err error) error {
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case amqp.AccessRefused:
			return node.Permanent(&node.Error{Code: CodeAuthFailed, Message: what + ": authentication failed: the user name or password was refused"})
		case amqp.NotAllowed:
			return node.Permanent(&node.Error{Code: CodeAuthFailed, Message: what + ": the virtual host does not exist or the user may not use it"})
		}
	}
	return classify(what, err)
}

// classify turns an error of the library into a *node.Error.
func classify(what string, err error) error {
	var ne *node.Error
	if errors.As(err, &ne) {
		return err
	}
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch {
		case errors.Is(err, amqp.ErrClosed):
			return &node.Error{Code: conn.CodeConnection, Message: what + ": the connection is closed"}
		case ae.Server:
			e := &node.Error{Code: CodeBroker, Message: fmt.Sprintf("%s: %s", what, ae.Reason),
				Details: map[string]any{"replyCode": ae.Code, "replyText": ae.Reason}}
			if permanentReply(ae.Code) {
				return node.Permanent(e)
			}
			return e
		}
		return &node.Error{Code: conn.CodeConnection, Message: fmt.Sprintf("%s: %s", what, ae.Reason)}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &node.Error{Code: CodeTimeout, Message: what + ": no answer within the timeout"}
	}
	return conn.ClassifyDial(what, err)
}

// permanentReply reports whether a broker's reply code means that the same operation fails again:
// access refused, not found, precondition failed, and the protocol errors.
func permanentReply(code int) bool {
	switch code {
	case amqp.AccessRefused, amqp.NotFound, amqp.PreconditionFailed, amqp.NotAllowed, amqp.NotImplemented,
		amqp.SyntaxError, amqp.CommandInvalid, amqp.FrameError:
		return true
	}
	return false
}

// client is a connection to one broker, shared by the publishing nodes of one credential, with a
// pool of confirm-mode channels. A connection that was closed (by the broker, the network or a
// failed heartbeat) is dialled again by the next publish, so the cached client heals itself.
type client struct {
	cfg  conn.Config
	cred *credentialData

	mu   sync.Mutex
	conn *amqp.Connection
	idle []*pubChannel
}

// maxIdleChannels bounds the pool of idle channels of a client.
const maxIdleChannels = 8

// pubChannel is a channel in confirm mode with its close and return notifications.
type pubChannel struct {
	ch      *amqp.Channel
	conn    *amqp.Connection
	closes  chan *amqp.Error
	returns chan amqp.Return
}

// connection returns the open connection, dialling one when there is none or it was closed.
func (c *client) connection(ctx context.Context, timeout time.Duration) (*amqp.Connection, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil && !c.conn.IsClosed() {
		return c.conn, nil
	}
	c.idle = nil // channels of a closed connection are closed too
	conn, err := dial(ctx, c.cfg, c.cred, timeout)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	return conn, nil
}

// channel returns an idle channel of the current connection, or opens one.
func (c *client) channel(ctx context.Context, timeout time.Duration) (*pubChannel, error) {
	c.mu.Lock()
	for len(c.idle) > 0 {
		pc := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if !pc.ch.IsClosed() && pc.conn == c.conn {
			c.mu.Unlock()
			return pc, nil
		}
	}
	c.mu.Unlock()
	cn, err := c.connection(ctx, timeout)
	if err != nil {
		return nil, err
	}
	ch, err := cn.Channel()
	if err != nil {
		c.dropConnection(cn)
		return nil, classify(c.cred.what(), err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, classify(c.cred.what(), err)
	}
	return &pubChannel{ch: ch, conn: cn,
		closes:  ch.NotifyClose(make(chan *amqp.Error, 1)),
		returns: ch.NotifyReturn(make(chan amqp.Return, 1))}, nil
}

// release puts an open channel back into the pool, or closes it.
func (c *client) release(pc *pubChannel) {
	c.mu.Lock()
	if !pc.ch.IsClosed() && pc.conn == c.conn && len(c.idle) < maxIdleChannels {
		c.idle = append(c.idle, pc)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	_ = pc.ch.Close()
}

// dropConnection closes cn when it is still the client's connection, so that the next publish dials
// again.
func (c *client) dropConnection(cn *amqp.Connection) {
	c.mu.Lock()
	if c.conn == cn {
		c.conn = nil
		c.idle = nil
	}
	c.mu.Unlock()
	_ = cn.Close()
}

// close closes the client's connection (and so its channels).
func (c *client) close() {
	c.mu.Lock()
	cn := c.conn
	c.conn, c.idle = nil, nil
	c.mu.Unlock()
	if cn != nil {
		_ = cn.Close()
	}
}
