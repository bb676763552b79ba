package mqttnode

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// CredentialType is the credential type the nodes of this package use.
const CredentialType = "mqtt"

// Codes of the *node.Error values the nodes return, beside conn.CodeSSRFBlocked and
// conn.CodeConnection.
const (
	// CodeAuthFailed is a user name or password the broker refused, or a client the broker does not
	// authorize.
	CodeAuthFailed = "auth_failed"
	// CodeBroker is an operation the broker refused with a reason code (not authorized for the topic,
	// invalid topic, quota exceeded…).
	CodeBroker = "broker_error"
	// CodeInvalidConfig is a configuration the node cannot run with.
	CodeInvalidConfig = "invalid_config"
	// CodeMessageTooLarge is a message over the size limit.
	CodeMessageTooLarge = "message_too_large"
	// CodeTimeout is an operation the broker did not answer within the timeout.
	CodeTimeout = "timeout"
)

// credentialData is the mqtt credential's data.
type credentialData struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"password"`
	ClientID string `json:"clientId"`
	conn.TLSFields
}

func (d *credentialData) addr() string {
	port := d.Port
	if port == 0 {
		port = 1883
		if d.TLS {
			port = 8883
		}
	}
	return net.JoinHostPort(d.Host, strconv.Itoa(port))
}

// what names the broker in error messages, without credentials.
func (d *credentialData) what() string { return "MQTT broker at " + d.addr() }

// clientPrefix is the prefix of the client ids the node connects with.
func (d *credentialData) clientPrefix() string {
	if d.ClientID != "" {
		return d.ClientID
	}
	return "concertmaster"
}

func readCredential(c *node.Credential) (*credentialData, error) {
	var d credentialData
	if err := c.Decode(&d); err != nil {
		return nil, node.Permanent(node.Errorf("invalid_credential", "%s", err.Error()))
	}
	if d.Host == "" {
		return nil, node.Permanent(node.Errorf("invalid_credential", "credential %s has no host", c.Name))
	}
	return &d, nil
}

func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dial opens a network connection to the broker through cfg's policy, with TLS when the credential
// asks for it, and connects cc's client with cp (user name and password filled in from d).
func dial(ctx context.Context, cfg conn.Config, d *credentialData, timeout time.Duration, cc paho.ClientConfig, cp *paho.Connect) (*paho.Client, *paho.Connack, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	what := d.what()
	nc, err := cfg.Dial(ctx, "tcp", d.addr())
	if err != nil {
		return nil, nil, conn.ClassifyDial(what, err)
	}
	tc, err := d.TLSConfig(d.Host)
	if err != nil {
		_ = nc.Close()
		return nil, nil, err
	}
	cc.Conn = nc
	if tc != nil {
		tlsConn := tls.Client(nc, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, nil, &node.Error{Code: conn.CodeConnection, Message: fmt.Sprintf("%s: TLS: %s", what, err.Error())}
		}
		cc.Conn = packets.NewThreadSafeConn(tlsConn)
	}
	if cc.PacketTimeout == 0 {
		cc.PacketTimeout = timeout
	}
	if d.Username != "" {
		cp.Username, cp.UsernameFlag = d.Username, true
	}
	if d.Password != "" {
		cp.Password, cp.PasswordFlag = []byte(d.Password), true
	}
	c := paho.NewClient(cc)
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		_ = cc.Conn.Close()
		return nil, nil, classifyConnect(what, ca, err)
	}
	return c, ca, nil
}

// Reason codes of CONNACK that mean the credential or the client id is refused.
const (
	reasonClientIDInvalid   = 0x85
	reasonBadUserOrPassword = 0x86
	reasonNotAuthorized     = 0x87
	reasonBadAuthMethod     = 0x8C
)

func classifyConnect(what string, ca *paho.Connack, err error) error {
	if ca != nil && ca.ReasonCode >= 0x80 {
		switch ca.ReasonCode {
		case reasonBadUserOrPassword, reasonNotAuthorized, reasonBadAuthMethod:
			return node.Permanent(&node.Error{Code: CodeAuthFailed,
				Message: fmt.Sprintf("%s: authentication failed: the user name or password was refused (reason code 0x%02X)", what, ca.ReasonCode)})
		case reasonClientIDInvalid:
			return node.Permanent(&node.Error{Code: CodeBroker,
				Message: fmt.Sprintf("%s: the client id was refused (reason code 0x%02X): set a shorter client id prefix in the credential", what, ca.ReasonCode)})
		}
		return &node.Error{Code: CodeBroker, Message: fmt.Sprintf("%s: connection refused with reason code 0x%02X", what, ca.ReasonCode),
			Details: map[string]any{"reasonCode": ca.ReasonCode}}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &node.Error{Code: CodeTimeout, Message: what + ": no answer within the timeout"}
	}
	return &node.Error{Code: conn.CodeConnection, Message: fmt.Sprintf("%s: %s", what, err.Error())}
}

// reasonError is the error of a PUBACK, PUBREC or SUBACK reason code of 0x80 or above.
func reasonError(what, op string, code byte, reason string) error {
	msg := fmt.Sprintf("%s: %s refused with reason code 0x%02X", what, op, code)
	if reason != "" {
		msg += " (" + reason + ")"
	}
	e := &node.Error{Code: CodeBroker, Message: msg, Details: map[string]any{"reasonCode": code}}
	switch code {
	case 0x87, 0x8F, 0x90, 0x95, 0x9A, 0x9E, 0xA1, 0xA2: // not authorized, invalid topic, too large, retain/shared/wildcard unsupported
		return node.Permanent(e)
	}
	return e
}

// client is a connection to one broker shared by the publishing nodes of one credential. A client
// whose connection was lost is replaced by the next publish.
type client struct {
	cfg  conn.Config
	cred *credentialData

	mu sync.Mutex
	pc *paho.Client
}

func isDone(c *paho.Client) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// get returns the connected client, connecting a new one when there is none or it was lost.
func (c *client) get(ctx context.Context, timeout time.Duration) (*paho.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pc != nil && !isDone(c.pc) {
		return c.pc, nil
	}
	id := c.cred.clientPrefix() + "-pub-" + randomID()
	pc, _, err := dial(ctx, c.cfg, c.cred, timeout, paho.ClientConfig{ClientID: id},
		&paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30})
	if err != nil {
		return nil, err
	}
	c.pc = pc
	return pc, nil
}

// drop forgets pc when it is still the client's, and closes it.
func (c *client) drop(pc *paho.Client) {
	c.mu.Lock()
	if c.pc == pc {
		c.pc = nil
	}
	c.mu.Unlock()
	_ = pc.Disconnect(&paho.Disconnect{ReasonCode: 0})
}

func (c *client) close() {
	c.mu.Lock()
	pc := c.pc
	c.pc = nil
	c.mu.Unlock()
	if pc != nil {
		_ = pc.Disconnect(&paho.Disconnect{ReasonCode: 0})
	}
}
