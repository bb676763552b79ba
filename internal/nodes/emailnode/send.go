// Package emailnode implements email.send, which sends one e-mail through an SMTP server named by an
// smtp credential, and the smtp credential's tester. Connections dial through the deployment's
// outbound guard; TLS is required when the credential asks for it.
package emailnode

import (
	"bytes"
	"context"
	"crypto/tls"
	_ "embed" // docs, in send.md
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// TypeName is the node type's name.
const TypeName node.TypeName = "email.send"

//go:embed send.md
var docs string

// Codes of the *node.Error values Execute returns, beyond conn's ssrf_blocked and connection_failed.
const (
	// CodeInvalidConfig is a configuration the message cannot be built from: a bad address, a line
	// break in a header, a reserved header, an attachment that does not decode.
	CodeInvalidConfig = "invalid_config"
	// CodeAuthFailed is a server that refused the credential's user name and password.
	CodeAuthFailed = "auth_failed"
	// CodeTLSRequired is a server that does not offer STARTTLS while the credential requires it.
	CodeTLSRequired = "tls_required"
	// CodeRejected is a server that refused the sender, a recipient or the message; Details hold the
	// SMTP code and the refused recipients. Temporary (4xx) refusals are retryable.
	CodeRejected = "smtp_rejected"
	// CodeTooLarge is a message over the attachment or body limits.
	CodeTooLarge = "message_too_large"
)

// Bounds.
const (
	// MaxRecipients bounds to, cc and bcc together.
	MaxRecipients = 100
	// MaxAttachments bounds the attachments of one message.
	MaxAttachments = 20
	// MaxAttachmentBytes bounds the decoded size of all attachments together: 10 MiB.
	MaxAttachmentBytes = 10 << 20
	// MaxBodyBytes bounds text and html each: 5 MiB.
	MaxBodyBytes = 5 << 20
	// maxSubject is the longest subject, in bytes.
	maxSubject = 998
)

const credentialType = "smtp"

// reservedHeaders are the headers the node writes itself; headers may not set them.
var reservedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Subject": true, "Reply-To": true, "Message-Id": true,
	"Date": true, "Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true,
	"Content-Disposition": true, "Return-Path": true, "Sender": true,
}

// Attachment is one file attached to the message.
type Attachment struct {
	Filename    string `json:"filename"`
	Content     string `json:"content"`
	ContentType string `json:"contentType,omitempty"`
	// Encoding is text (default: Content is the file's text) or base64.
	Encoding string `json:"encoding,omitempty"`
}

type shared struct {
	cfg    conn.Config
	schema json.RawMessage
}

// New returns the email.send type.
func New(cfg conn.Config) []node.Node {
	cfg = cfg.WithDefaults()
	s := &shared{cfg: cfg, schema: json.RawMessage(fmt.Sprintf(schemaTemplate, cfg.Timeout.String()))}
	return []node.Node{&Send{shared: s}}
}

// Send is an email.send node: its fields are its configuration.
type Send struct {
	// Credential is the id of an smtp credential.
	Credential string `json:"credential"`
	// From is the sender; empty means the credential's from.
	From string `json:"from,omitempty"`
	// To, Cc and Bcc are the recipients.
	To  []string `json:"to,omitempty"`
	Cc  []string `json:"cc,omitempty"`
	Bcc []string `json:"bcc,omitempty"`
	// ReplyTo is the Reply-To address.
	ReplyTo string `json:"replyTo,omitempty"`
	// Subject is the subject line.
	Subject string `json:"subject,omitempty"`
	// Text and HTML are the bodies; with both, the message is multipart/alternative.
	Text string `json:"text,omitempty"`
	HTML string `json:"html,omitempty"`
	// Headers are extra headers, such as In-Reply-To or List-Unsubscribe.
	Headers map[string]string `json:"headers,omitempty"`
	// Attachments is an array of {filename, content, contentType, encoding}, typically an expression
	// over the input.
	Attachments any `json:"attachments,omitempty"`
	// Timeout bounds connecting and sending, as a Go duration.
	Timeout string `json:"timeout,omitempty"`

	shared *shared
}

// NodeInfo describes the email.send type.
func (n *Send) NodeInfo() node.Info {
	s := n.shared
	var schema json.RawMessage
	if s != nil {
		schema = s.schema
	}
	return node.Info{
		Type:        TypeName,
		Version:     1,
		Title:       "Send e-mail",
		Category:    "Messaging",
		Description: "Sends an e-mail through an SMTP server: text and HTML bodies, cc, bcc, reply-to, headers and attachments.",
		Icon:        "mail",
		Docs:        docs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: the message comes from the configuration, through expressions"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Sent", Description: "messageId and the accepted recipients"}},
		Schema:      schema,
		New:         func() node.Node { return &Send{shared: s} },
	}
}

// Validate checks what the schema cannot, for the fields that hold no template.
func (n *Send) Validate() error {
	var errs []error
	if len(n.To)+len(n.Cc)+len(n.Bcc) > MaxRecipients {
		errs = append(errs, fmt.Errorf("to, cc and bcc hold more than %d recipients", MaxRecipients))
	}
	if n.Text == "" && n.HTML == "" && !hasTemplate(n.Text) {
		errs = append(errs, errors.New("set text, html or both"))
	}
	for name, value := range n.Headers {
		if err := checkHeader(name, value); err != nil && !hasTemplate(name+value) {
			errs = append(errs, err)
		}
	}
	if _, err := parseTimeout(n.Timeout); err != nil && !hasTemplate(n.Timeout) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func hasTemplate(s string) bool { return strings.Contains(s, "{{") }

func checkHeader(name, value string) error {
	canon := textproto.CanonicalMIMEHeaderKey(name)
	switch {
	case !validHeaderName(name):
		return fmt.Errorf("header name %q is not valid", name)
	case reservedHeaders[canon]:
		return fmt.Errorf("header %s is set by the node: use its own field", canon)
	case strings.ContainsAny(value, "\r\n\x00"):
		return fmt.Errorf("header %s has a line break in its value", canon)
	}
	return nil
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// smtpCredential is the smtp credential's data.
type smtpCredential struct {
	Host          string `json:"host"`
	Port          int    `json:"port"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	Security      string `json:"security"`
	From          string `json:"from"`
	TLSSkipVerify bool   `json:"tlsSkipVerify"`
	TLSCA         string `json:"tlsCA"` //nolint:tagliatelle // the credential field's name
}

func decodeCredential(c *node.Credential) (*smtpCredential, error) {
	var sc smtpCredential
	if err := c.Decode(&sc); err != nil {
		return nil, node.Permanent(node.Errorf("invalid_credential", "%v", err))
	}
	if sc.Port == 0 {
		sc.Port = 587
	}
	if sc.Security == "" {
		sc.Security = "starttls"
	}
	if sc.Host == "" {
		return nil, node.Permanent(node.Errorf("invalid_credential", "credential %s: host is empty", c.Name))
	}
	return &sc, nil
}

func (sc *smtpCredential) addr() string { return net.JoinHostPort(sc.Host, strconv.Itoa(sc.Port)) }

// client returns a go-mail client for the credential that dials through cfg's guard.
func (sc *smtpCredential) client(cfg conn.Config, timeout time.Duration) (*gomail.Client, *tracker, error) {
	tf := conn.TLSFields{TLS: true, TLSSkipVerify: sc.TLSSkipVerify, TLSCA: sc.TLSCA}
	tlsCfg, err := tf.TLSConfig(sc.Host)
	if err != nil {
		return nil, nil, err
	}
	tr := &tracker{dial: cfg.Dial}
	opts := []gomail.Option{
		gomail.WithPort(sc.Port), gomail.WithTimeout(timeout), gomail.WithTLSConfig(tlsCfg),
		gomail.WithHELO("localhost"),
	}
	switch sc.Security {
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithDialContextFunc(tr.dialContext))
	case "tls":
		// go-mail does not wrap a custom dialer in TLS: do it here, so that the TLS connection runs
		// over the guarded one.
		opts = append(opts, gomail.WithSSL(), gomail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			raw, err := tr.dialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(raw, tlsCfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = raw.Close()
				return nil, err
			}
			return tc, nil
		}))
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithDialContextFunc(tr.dialContext))
	default:
		return nil, nil, node.Permanent(node.Errorf("invalid_credential", "security %q is not starttls, tls or none", sc.Security))
	}
	if sc.Username != "" {
		// The strongest mechanism the server offers; a password goes in the clear (PLAIN, LOGIN) only
		// over TLS, which go-mail's PLAIN and LOGIN check on the connection itself.
		mechs := []gomail.SMTPAuthType{gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthCramMD5}
		if sc.Security != "none" {
			mechs = append(mechs, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin)
		}
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(mechs...), gomail.WithUsername(sc.Username), gomail.WithPassword(sc.Password))
	} else {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthNoAuth))
	}
	c, err := gomail.NewClient(sc.Host, opts...)
	if err != nil {
		return nil, nil, node.Permanent(node.Errorf("invalid_credential", "%v", err))
	}
	return c, tr, nil
}

// tracker remembers the connection go-mail dials, so that it can be closed when go-mail gives up
// after connecting (a missing STARTTLS, a refused AUTH): go-mail leaves that connection open.
type tracker struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu sync.Mutex
	c  net.Conn
}

func (t *tracker) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := t.dial(ctx, network, addr)
	if err == nil {
		t.mu.Lock()
		t.c = c
		t.mu.Unlock()
	}
	return c, err
}

// close closes the dialled connection, if any.
func (t *tracker) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c != nil {
		_ = t.c.Close()
	}
}

// Execute builds the message and sends it.
func (n *Send) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	s := n.shared
	if s == nil {
		return node.Output{}, node.Permanent(errors.New("email.send node was not made by emailnode.New"))
	}
	var creds node.Credentials
	if in != nil {
		creds = in.Credentials
	}
	c, err := node.GetCredential(ctx, creds, n.Credential, credentialType)
	if err != nil {
		return node.Output{}, err
	}
	sc, err := decodeCredential(c)
	if err != nil {
		return node.Output{}, err
	}
	msg, rcpts, err := n.message(sc)
	if err != nil {
		return node.Output{}, err
	}
	timeout, err := parseTimeout(n.Timeout)
	if err != nil {
		return node.Output{}, invalid("%v", err)
	}
	if timeout == 0 {
		timeout = s.cfg.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, tr, err := sc.client(s.cfg, timeout)
	if err != nil {
		return node.Output{}, err
	}
	what := "SMTP server " + sc.addr()
	if err := client.DialWithContext(ctx); err != nil {
		tr.close()
		return node.Output{}, classify(what, err)
	}
	defer func() { _ = client.Close() }()
	if err := client.Send(msg); err != nil {
		return node.Output{}, classify(what, err)
	}
	accepted := make([]any, len(rcpts))
	for i, r := range rcpts {
		accepted[i] = r
	}
	return node.Out(map[string]any{"messageId": strings.Trim(msg.GetMessageID(), "<>"), "accepted": accepted}), nil
}

func invalid(format string, args ...any) error {
	return node.Permanent(node.Errorf(CodeInvalidConfig, format, args...))
}

// message builds the message and returns it with its envelope recipients.
func (n *Send) message(sc *smtpCredential) (*gomail.Msg, []string, error) {
	m := gomail.NewMsg()
	from := n.From
	if from == "" {
		from = sc.From
	}
	if from == "" {
		return nil, nil, invalid("from is not set, and the credential has no default sender")
	}
	if err := checkAddress("from", from); err != nil {
		return nil, nil, err
	}
	if err := m.From(from); err != nil {
		return nil, nil, invalid("from: %v", err)
	}
	var rcpts []string
	for _, f := range []struct {
		name  string
		addrs []string
		set   func(...string) error
	}{{"to", n.To, m.To}, {"cc", n.Cc, m.Cc}, {"bcc", n.Bcc, m.Bcc}} {
		if len(f.addrs) == 0 {
			continue
		}
		for i, a := range f.addrs {
			if err := checkAddress(fmt.Sprintf("%s[%d]", f.name, i), a); err != nil {
				return nil, nil, err
			}
		}
		if err := f.set(f.addrs...); err != nil {
			return nil, nil, invalid("%s: %v", f.name, err)
		}
		for _, a := range f.addrs {
			parsed, _ := mail.ParseAddress(a)
			rcpts = append(rcpts, parsed.Address)
		}
	}
	if len(rcpts) == 0 {
		return nil, nil, invalid("to, cc and bcc are all empty: the message has no recipient")
	}
	if len(rcpts) > MaxRecipients {
		return nil, nil, invalid("to, cc and bcc hold %d recipients, more than %d", len(rcpts), MaxRecipients)
	}
	if n.ReplyTo != "" {
		if err := checkAddress("replyTo", n.ReplyTo); err != nil {
			return nil, nil, err
		}
		if err := m.ReplyTo(n.ReplyTo); err != nil {
			return nil, nil, invalid("replyTo: %v", err)
		}
	}
	if strings.ContainsAny(n.Subject, "\r\n\x00") {
		return nil, nil, invalid("subject has a line break")
	}
	if len(n.Subject) > maxSubject {
		return nil, nil, invalid("subject is longer than %d bytes", maxSubject)
	}
	m.Subject(n.Subject)
	for name, value := range n.Headers {
		if err := checkHeader(name, value); err != nil {
			return nil, nil, invalid("%v", err)
		}
		m.SetGenHeader(gomail.Header(textproto.CanonicalMIMEHeaderKey(name)), value)
	}
	if len(n.Text) > MaxBodyBytes || len(n.HTML) > MaxBodyBytes {
		return nil, nil, node.Permanent(node.Errorf(CodeTooLarge, "text and html may hold at most %d bytes each", MaxBodyBytes))
	}
	switch {
	case n.Text != "" && n.HTML != "":
		m.SetBodyString(gomail.TypeTextPlain, n.Text)
		m.AddAlternativeString(gomail.TypeTextHTML, n.HTML)
	case n.HTML != "":
		m.SetBodyString(gomail.TypeTextHTML, n.HTML)
	case n.Text != "":
		m.SetBodyString(gomail.TypeTextPlain, n.Text)
	default:
		return nil, nil, invalid("text and html are both empty")
	}
	atts, err := attachments(n.Attachments)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range atts {
		if err := m.AttachReader(a.name, bytes.NewReader(a.data), gomail.WithFileContentType(gomail.ContentType(a.contentType))); err != nil {
			return nil, nil, invalid("attachment %s: %v", a.name, err)
		}
	}
	m.SetMessageID()
	m.SetDate()
	return m, rcpts, nil
}

// checkAddress refuses an address that does not parse or carries a line break.
func checkAddress(field, a string) error {
	if strings.ContainsAny(a, "\r\n\x00") {
		return invalid("%s has a line break", field)
	}
	if _, err := mail.ParseAddress(a); err != nil {
		return invalid("%s is not an e-mail address (%q)", field, a)
	}
	return nil
}

type attachment struct {
	name        string
	contentType string
	data        []byte
}

// attachments decodes the attachments value: null, or an array of {filename, content, contentType,
// encoding} objects.
func attachments(v any) ([]attachment, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, invalid("attachments: %v", err)
	}
	var list []Attachment
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, invalid("attachments must be an array of {filename, content, contentType, encoding} objects")
	}
	if len(list) > MaxAttachments {
		return nil, invalid("attachments holds %d files, more than %d", len(list), MaxAttachments)
	}
	var out []attachment
	total := 0
	for i, a := range list {
		if a.Filename == "" || strings.ContainsAny(a.Filename, "\r\n\x00/\\\"") {
			return nil, invalid("attachments[%d].filename is empty or has a line break, a quote or a slash", i)
		}
		var data []byte
		switch a.Encoding {
		case "", "text":
			data = []byte(a.Content)
		case "base64":
			if base64.StdEncoding.DecodedLen(len(a.Content)) > MaxAttachmentBytes+3 {
				return nil, node.Permanent(node.Errorf(CodeTooLarge, "attachments are larger than %d bytes", MaxAttachmentBytes))
			}
			data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(a.Content), ""))
			if err != nil {
				return nil, invalid("attachments[%d].content is not valid base64", i)
			}
		default:
			return nil, invalid("attachments[%d].encoding %q is not text or base64", i, a.Encoding)
		}
		total += len(data)
		if total > MaxAttachmentBytes {
			return nil, node.Permanent(node.Errorf(CodeTooLarge, "attachments are larger than %d bytes", MaxAttachmentBytes))
		}
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
			if a.Encoding == "" || a.Encoding == "text" {
				ct = "text/plain; charset=utf-8"
			}
		}
		if _, _, err := mime.ParseMediaType(ct); err != nil || strings.ContainsAny(ct, "\r\n") {
			return nil, invalid("attachments[%d].contentType %q is not a media type", i, ct)
		}
		out = append(out, attachment{name: a.Filename, contentType: ct, data: data})
	}
	return out, nil
}

// classify turns a go-mail error into a node error.
func classify(what string, err error) error {
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		return conn.ClassifyDial(what, err)
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		details := map[string]any{"reason": reasonText(se)}
		if code := se.ErrorCode(); code != 0 {
			details["smtpCode"] = code
		}
		if esc := se.EnhancedStatusCode(); esc != "" {
			details["enhancedCode"] = esc
		}
		e := &node.Error{Code: CodeRejected, Message: fmt.Sprintf("%s: %v", what, err), Details: details}
		if se.IsTemp() {
			return e
		}
		return node.Permanent(e)
	}
	var tp *textproto.Error
	msg := err.Error()
	switch {
	case strings.Contains(msg, "does not support STARTTLS"):
		return node.Permanent(node.Errorf(CodeTLSRequired, "%s does not offer STARTTLS, which the credential requires (security starttls)", what))
	case strings.Contains(msg, "SMTP AUTH") || strings.Contains(msg, "auth") && errors.As(err, &tp):
		if errors.As(err, &tp) && tp.Code >= 400 && tp.Code < 500 {
			return node.Errorf(CodeAuthFailed, "%s: %v", what, err)
		}
		return node.Permanent(node.Errorf(CodeAuthFailed, "%s: %v", what, err))
	case errors.As(err, &tp):
		e := node.Errorf(CodeRejected, "%s: %v", what, err)
		if tp.Code >= 500 {
			return node.Permanent(e)
		}
		return e
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return node.Permanent(node.Errorf(conn.CodeConnection, "%s: %v", what, err))
	}
	return conn.ClassifyDial(what, err)
}

func reasonText(se *gomail.SendError) string {
	if se.Reason == gomail.ErrSMTPRcptTo {
		return "recipient refused"
	}
	return strings.TrimSpace(se.Reason.String())
}

func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("timeout %q is not a positive duration such as 30s", s)
	}
	return d, nil
}

// Testers returns the smtp credential's tester: it connects, says EHLO, upgrades with STARTTLS when
// the credential asks for it, authenticates, and quits.
func Testers(cfg conn.Config) map[string]conn.TestFunc {
	cfg = cfg.WithDefaults()
	return map[string]conn.TestFunc{credentialType: func(ctx context.Context, c *node.Credential) (string, error) {
		sc, err := decodeCredential(c)
		if err != nil {
			return "", err
		}
		client, tr, err := sc.client(cfg, cfg.Timeout)
		if err != nil {
			return "", err
		}
		ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		what := "SMTP server " + sc.addr()
		if err := client.DialWithContext(ctx); err != nil {
			tr.close()
			return "", classify(what, err)
		}
		if err := client.Close(); err != nil {
			return "", classify(what, err)
		}
		msg := "Connected to " + what
		switch sc.Security {
		case "starttls":
			msg += " with STARTTLS"
		case "tls":
			msg += " over TLS"
		default:
			msg += " without encryption"
		}
		if sc.Username != "" {
			msg += " and signed in as " + sc.Username
		}
		return msg, nil
	}}
}

var (
	_ node.Node      = (*Send)(nil)
	_ node.Validator = (*Send)(nil)
)
