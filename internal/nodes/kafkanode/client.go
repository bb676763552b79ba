package kafkanode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// CredentialType is the credential type the nodes of this package use.
const CredentialType = "kafka"

// Codes of the *node.Error values the nodes return, beside conn.CodeSSRFBlocked and
// conn.CodeConnection.
const (
	// CodeAuthFailed is a SASL user name or password the cluster refused.
	CodeAuthFailed = "auth_failed"
	// CodeBroker is a request the cluster refused (unknown topic, not authorized, record too large…),
	// with the Kafka error name.
	CodeBroker = "broker_error"
	// CodeInvalidConfig is a configuration the node cannot run with.
	CodeInvalidConfig = "invalid_config"
	// CodeMessageTooLarge is a record over the size limit.
	CodeMessageTooLarge = "message_too_large"
	// CodeTimeout is a request the cluster did not answer within the timeout.
	CodeTimeout = "timeout"
)

// credentialData is the kafka credential's data.
type credentialData struct {
	Brokers   []string `json:"brokers"`
	Mechanism string   `json:"mechanism"`
	Username  string   `json:"username"`
	Password  string   `json:"password"`
	conn.TLSFields
}

// what names the cluster in error messages, without credentials.
func (d *credentialData) what() string { return "Kafka at " + strings.Join(d.Brokers, ",") }

func readCredential(c *node.Credential) (*credentialData, error) {
	var d credentialData
	if err := c.Decode(&d); err != nil {
		return nil, node.Permanent(node.Errorf("invalid_credential", "%s", err.Error()))
	}
	if len(d.Brokers) == 0 {
		return nil, node.Permanent(node.Errorf("invalid_credential", "credential %s lists no broker", c.Name))
	}
	for _, b := range d.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return nil, node.Permanent(node.Errorf("invalid_credential", "credential %s: broker %q is not host:port", c.Name, b))
		}
	}
	return &d, nil
}

// dialer dials through the policy, with TLS when the credential asks for it, and remembers the last
// refusal of the policy and a refused authentication, so that a request that failed because of them
// says so (the client retries until its timeout and then reports only that).
type dialer struct {
	cfg  conn.Config
	cred *credentialData

	mu         sync.Mutex
	blocked    error
	authClosed bool
}

// saslAuthenticateKey is the Kafka API key of SaslAuthenticate.
const saslAuthenticateKey = 36

// OnBrokerRead implements kgo.HookBrokerRead: a broker that closes the connection in answer to
// SaslAuthenticate refused the credentials (some brokers do so rather than answer with
// SASL_AUTHENTICATION_FAILED).
func (dl *dialer) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == saslAuthenticateKey && err != nil {
		dl.mu.Lock()
		dl.authClosed = true
		dl.mu.Unlock()
	}
}

func (dl *dialer) authRefused() bool {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return dl.authClosed
}

func (dl *dialer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	c, err := dl.cfg.Dial(ctx, network, host)
	if err != nil {
		var b *netguard.BlockedError
		if errors.As(err, &b) {
			dl.mu.Lock()
			dl.blocked = err
			dl.mu.Unlock()
		}
		return nil, err
	}
	h, _, _ := net.SplitHostPort(host)
	tc, err := dl.cred.TLSConfig(h)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	if tc == nil {
		return c, nil
	}
	tlsConn := tls.Client(c, tc)
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return tlsConn, nil
}

func (dl *dialer) blockedErr() error {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return dl.blocked
}

// options returns the client options of a credential: seed brokers, the guarded dialer and SASL.
// The seed brokers are checked against the policy first, so that a refused literal address fails at
// once rather than after the client's retries.
func options(cfg conn.Config, d *credentialData, timeout time.Duration) ([]kgo.Opt, *dialer, error) {
	for _, b := range d.Brokers {
		h, _, _ := net.SplitHostPort(b)
		if err := cfg.Policy.CheckHost(h); err != nil {
			return nil, nil, conn.ClassifyDial(d.what(), err)
		}
	}
	dl := &dialer{cfg: cfg, cred: d}
	opts := []kgo.Opt{
		kgo.SeedBrokers(d.Brokers...),
		kgo.Dialer(dl.dial),
		kgo.DialTimeout(min(timeout, 10*time.Second)),
		kgo.RetryTimeout(timeout),
		kgo.ClientID("concertmaster"),
		kgo.WithHooks(dl),
	}
	switch strings.ToLower(d.Mechanism) {
	case "", "none":
	case "plain":
		opts = append(opts, kgo.SASL(plain.Auth{User: d.Username, Pass: d.Password}.AsMechanism()))
	case "scram-sha-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: d.Username, Pass: d.Password}.AsSha256Mechanism()))
	case "scram-sha-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: d.Username, Pass: d.Password}.AsSha512Mechanism()))
	default:
		return nil, nil, node.Permanent(node.Errorf("invalid_credential", "SASL mechanism %q is not one of none, plain, scram-sha-256, scram-sha-512", d.Mechanism))
	}
	return opts, dl, nil
}

// classify turns an error of the client into a *node.Error.
func classify(what string, dl *dialer, err error) error {
	var ne *node.Error
	if errors.As(err, &ne) {
		return err
	}
	if dl != nil {
		if b := dl.blockedErr(); b != nil {
			return conn.ClassifyDial(what, b)
		}
	}
	var ke *kerr.Error
	switch {
	case dl != nil && dl.authRefused(), errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.IllegalSaslState), errors.Is(err, kerr.UnsupportedSaslMechanism):
		return node.Permanent(&node.Error{Code: CodeAuthFailed, Message: what + ": SASL authentication failed: the mechanism, user name or password was refused"})
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return node.Permanent(&node.Error{Code: CodeMessageTooLarge, Message: fmt.Sprintf("%s: %s", what, err.Error())})
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return node.Permanent(&node.Error{Code: CodeBroker, Message: fmt.Sprintf("%s: UNKNOWN_TOPIC_OR_PARTITION: the topic or partition does not exist", what),
			Details: map[string]any{"kafkaError": kerr.UnknownTopicOrPartition.Message, "kafkaCode": kerr.UnknownTopicOrPartition.Code}})
	case errors.As(err, &ke):
		e := &node.Error{Code: CodeBroker, Message: fmt.Sprintf("%s: %s: %s", what, ke.Message, ke.Description),
			Details: map[string]any{"kafkaError": ke.Message, "kafkaCode": ke.Code}}
		if ke.Retriable {
			return e
		}
		return node.Permanent(e)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, kgo.ErrRecordTimeout):
		return &node.Error{Code: CodeTimeout, Message: what + ": no answer within the timeout"}
	}
	var b *netguard.BlockedError
	if errors.As(err, &b) {
		return conn.ClassifyDial(what, err)
	}
	return &node.Error{Code: conn.CodeConnection, Message: fmt.Sprintf("%s: %s", what, err.Error())}
}
