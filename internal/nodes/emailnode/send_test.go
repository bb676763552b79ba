package emailnode

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

const (
	testUser     = "mailer"
	testPassword = "smtp-secret-pw"
)

// received is one message the test server accepted.
type received struct {
	from  string
	rcpts []string
	data  []byte
	user  string
	tls   bool
}

// smtpServer is an SMTP server on loopback that keeps what it receives.
type smtpServer struct {
	addr  string
	port  int
	caPEM string

	mu   sync.Mutex
	msgs []received
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

type session struct {
	srv  *smtpServer
	conn *smtp.Conn
	cur  received
}

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != testUser || password != testPassword {
			return smtp.ErrAuthFailed
		}
		se.cur.user = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	se.cur.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, "nobody@"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	case strings.HasPrefix(to, "busy@"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	se.cur.rcpts = append(se.cur.rcpts, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := se.conn.TLSConnectionState()
	se.cur.data, se.cur.tls = b, isTLS
	se.srv.mu.Lock()
	se.srv.msgs = append(se.srv.msgs, se.cur)
	se.srv.mu.Unlock()
	se.cur = received{user: se.cur.user}
	return nil
}

func (se *session) Reset()        { se.cur = received{user: se.cur.user} }
func (se *session) Logout() error { return nil }

// testCert returns a self-signed certificate for 127.0.0.1 and its PEM.
func testCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// startSMTP starts a server; mode is starttls (STARTTLS offered), tls (implicit TLS) or none.
func startSMTP(t *testing.T, mode string) *smtpServer {
	t.Helper()
	cert, caPEM := testCert(t)
	s := &smtpServer{caPEM: caPEM}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxRecipients = 200
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	switch mode {
	case "starttls":
		srv.TLSConfig = tlsCfg
	case "tls":
		l = tls.NewListener(l, tlsCfg)
	case "none":
		srv.AllowInsecureAuth = true
	}
	s.addr = l.Addr().String()
	s.port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

type testBundle struct {
	srv   *smtpServer
	typ   *node.Type
	creds *conntest.Credentials
	cred  string
}

func setup(t *testing.T, mode string, cfg conn.Config, data map[string]any) *testBundle {
	t.Helper()
	srv := startSMTP(t, mode)
	reg := node.NewRegistry()
	for _, n := range New(cfg) {
		require.NoError(t, reg.Register(n))
	}
	typ, ok := reg.Lookup(TypeName)
	require.True(t, ok)
	creds := conntest.NewCredentials()
	cd := map[string]any{"host": "127.0.0.1", "port": srv.port, "security": mode, "from": "Reports <reports@example.com>", "tlsCA": srv.caPEM}
	if mode != "none" {
		cd["username"], cd["password"] = testUser, testPassword
	}
	for k, v := range data {
		cd[k] = v
	}
	return &testBundle{srv: srv, typ: typ, creds: creds, cred: creds.Add(t, "smtp", cd)}
}

func (b *testBundle) run(t *testing.T, config map[string]any) (node.Output, error) {
	t.Helper()
	if _, ok := config["credential"]; !ok {
		config["credential"] = b.cred
	}
	n, err := b.typ.Instantiate(config, false)
	require.NoError(t, err)
	return n.Execute(t.Context(), conntest.Input(b.creds, nil))
}

func requireNodeError(t *testing.T, err error, code string, permanent bool) *node.Error {
	t.Helper()
	var ne *node.Error
	require.ErrorAs(t, err, &ne)
	require.Equal(t, code, ne.Code, "error: %v", err)
	require.Equal(t, permanent, node.IsPermanent(err), "error: %v", err)
	require.NotContains(t, err.Error(), testPassword)
	return ne
}

// parts returns the leaf MIME parts of a message by content type (attachments by file name).
func parts(t *testing.T, msg *mail.Message) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(ct string, header map[string][]string, body io.Reader)
	walk = func(ct string, header map[string][]string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		require.NoError(t, err)
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if errors.Is(err, io.EOF) {
					return
				}
				require.NoError(t, err)
				walk(p.Header.Get("Content-Type"), p.Header, p)
			}
		}
		raw, err := io.ReadAll(body)
		require.NoError(t, err)
		var data []byte
		switch strings.ToLower(first(header["Content-Transfer-Encoding"])) {
		case "base64":
			data, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.ReplaceAll(string(raw), "\r\n", ""), "\n", ""))
			require.NoError(t, err)
		case "quoted-printable":
			data, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
			require.NoError(t, err)
		default:
			data = raw
		}
		key := mt
		if _, dp, err := mime.ParseMediaType(first(header["Content-Disposition"])); err == nil && dp["filename"] != "" {
			key = "file:" + dp["filename"] + ":" + mt
		}
		out[key] = string(data)
	}
	walk(msg.Header.Get("Content-Type"), msg.Header, msg.Body)
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func TestSend(t *testing.T) {
	t.Parallel()

	t.Run("Message", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "starttls", conntest.Config(), nil)
		pdf := []byte("%PDF-1.4 \x00\x01\x02 binary")
		out, err := b.run(t, map[string]any{
			"to": []any{"Ada Lovelace <ada@example.com>"}, "cc": []any{"grace@example.com"}, "bcc": []any{"archive@example.com"},
			"replyTo": "support@example.com", "subject": "Rapport prêt ✓", "text": "Hello Ada,\nthe report is attached.",
			"html": "<p>Hello <b>Ada</b></p>", "headers": map[string]any{"X-Campaign": "welcome", "in-reply-to": "<abc@example.com>"},
			"attachments": []any{
				map[string]any{"filename": "report.csv", "content": "id,total\n1,42\n", "contentType": "text/csv"},
				map[string]any{"filename": "doc.pdf", "content": base64.StdEncoding.EncodeToString(pdf), "encoding": "base64", "contentType": "application/pdf"},
			},
		})
		require.NoError(t, err)
		v := out.Value.(map[string]any)
		require.Equal(t, []any{"ada@example.com", "grace@example.com", "archive@example.com"}, v["accepted"])

		msgs := b.srv.messages()
		require.Len(t, msgs, 1)
		got := msgs[0]
		require.True(t, got.tls, "sent after STARTTLS")
		require.Equal(t, testUser, got.user)
		require.Equal(t, "reports@example.com", got.from)
		require.Equal(t, []string{"ada@example.com", "grace@example.com", "archive@example.com"}, got.rcpts)

		msg, err := mail.ReadMessage(bytes.NewReader(got.data))
		require.NoError(t, err)
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		require.NoError(t, err)
		require.Equal(t, "Rapport prêt ✓", subject)
		require.Contains(t, msg.Header.Get("From"), "reports@example.com")
		require.Contains(t, msg.Header.Get("To"), "ada@example.com")
		require.Contains(t, msg.Header.Get("Cc"), "grace@example.com")
		require.Empty(t, msg.Header.Get("Bcc"), "bcc recipients are not in the headers")
		require.NotContains(t, string(got.data), "archive@example.com")
		require.Contains(t, msg.Header.Get("Reply-To"), "support@example.com")
		require.Equal(t, "welcome", msg.Header.Get("X-Campaign"))
		require.Equal(t, "<abc@example.com>", msg.Header.Get("In-Reply-To"))
		require.Equal(t, "<"+v["messageId"].(string)+">", msg.Header.Get("Message-Id"))
		require.NotEmpty(t, msg.Header.Get("Date"))

		p := parts(t, msg)
		require.Equal(t, "Hello Ada,\r\nthe report is attached.", strings.TrimRight(p["text/plain"], "\r\n"))
		require.Equal(t, "<p>Hello <b>Ada</b></p>", strings.TrimRight(p["text/html"], "\r\n"))
		require.Equal(t, "id,total\n1,42\n", strings.ReplaceAll(p["file:report.csv:text/csv"], "\r\n", "\n"))
		require.Equal(t, string(pdf), p["file:doc.pdf:application/pdf"])
	})

	t.Run("DefaultSenderAndTextOnly", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "tls", conntest.Config(), nil)
		_, err := b.run(t, map[string]any{"to": []any{"ada@example.com"}, "subject": "s", "text": "only text"})
		require.NoError(t, err)
		msgs := b.srv.messages()
		require.Len(t, msgs, 1)
		require.True(t, msgs[0].tls, "implicit TLS")
		msg, err := mail.ReadMessage(bytes.NewReader(msgs[0].data))
		require.NoError(t, err)
		require.Contains(t, msg.Header.Get("From"), "Reports")
		require.True(t, strings.HasPrefix(msg.Header.Get("Content-Type"), "text/plain"))
	})

	t.Run("HeaderInjection", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "starttls", conntest.Config(), nil)
		for _, config := range []map[string]any{
			{"to": []any{"ada@example.com"}, "subject": "Hi\r\nBcc: evil@example.com", "text": "x"},
			{"to": []any{"ada@example.com\r\nBcc: evil@example.com"}, "subject": "Hi", "text": "x"},
			{"to": []any{"ada@example.com"}, "replyTo": "a@example.com\nX-Evil: 1", "subject": "Hi", "text": "x"},
			{"to": []any{"ada@example.com"}, "from": "me@example.com\r\nBcc: evil@example.com", "text": "x"},
			{"to": []any{"ada@example.com"}, "headers": map[string]any{"X-A": "1\r\nBcc: evil@example.com"}, "text": "x"},
			{"to": []any{"ada@example.com"}, "text": "x", "attachments": []any{map[string]any{"filename": "a\r\nBcc: e@x.com", "content": "x"}}},
		} {
			config["credential"] = b.cred
			n, err := b.typ.Instantiate(config, false)
			if err == nil {
				_, err = n.Execute(t.Context(), conntest.Input(b.creds, nil))
				_ = requireNodeError(t, err, CodeInvalidConfig, true)
			}
			require.ErrorContains(t, err, "line break")
		}
		require.Empty(t, b.srv.messages(), "nothing was sent")
	})

	t.Run("NoEncryption", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "none", conntest.Config(), nil)
		_, err := b.run(t, map[string]any{"to": []any{"ada@example.com"}, "html": "<p>x</p>"})
		require.NoError(t, err)
		msgs := b.srv.messages()
		require.Len(t, msgs, 1)
		require.False(t, msgs[0].tls)
		require.Empty(t, msgs[0].user)
	})

	t.Run("RecipientRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "starttls", conntest.Config(), nil)
		_, err := b.run(t, map[string]any{"to": []any{"ada@example.com", "nobody@example.com"}, "text": "x"})
		ne := requireNodeError(t, err, CodeRejected, true)
		require.Equal(t, 550, ne.Details.(map[string]any)["smtpCode"])
		require.Equal(t, "5.1.1", ne.Details.(map[string]any)["enhancedCode"])
		require.Empty(t, b.srv.messages(), "no partial delivery")

		_, err = b.run(t, map[string]any{"to": []any{"busy@example.com"}, "text": "x"})
		_ = requireNodeError(t, err, CodeRejected, false)
	})

	t.Run("SSRFBlocked", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "starttls", conntest.StrictConfig(), nil)
		_, err := b.run(t, map[string]any{"to": []any{"ada@example.com"}, "text": "x"})
		_ = requireNodeError(t, err, conn.CodeSSRFBlocked, true)
	})

	t.Run("STARTTLSRequired", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "none", conntest.Config(), map[string]any{"security": "starttls"})
		_, err := b.run(t, map[string]any{"to": []any{"ada@example.com"}, "text": "x"})
		_ = requireNodeError(t, err, CodeTLSRequired, true)
		require.Empty(t, b.srv.messages())
	})

	t.Run("UntrustedCertificate", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "tls", conntest.Config(), map[string]any{"tlsCA": nil})
		_, err := b.run(t, map[string]any{"to": []any{"ada@example.com"}, "text": "x"})
		ne := requireNodeError(t, err, conn.CodeConnection, true)
		require.Contains(t, ne.Message, "certificate")
	})

	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "starttls", conntest.Config(), map[string]any{"password": "wrong"})
		_, err := b.run(t, map[string]any{"to": []any{"ada@example.com"}, "text": "x"})
		_ = requireNodeError(t, err, CodeAuthFailed, true)
	})
}

func TestSendLimits(t *testing.T) {
	t.Parallel()

	b := setup(t, "starttls", conntest.Config(), nil)
	many := make([]any, 0, 101)
	for i := range 101 {
		many = append(many, "user"+string(rune('a'+i%26))+"@example.com")
	}
	tests := []struct {
		name   string
		config map[string]any
		code   string
		want   string
	}{
		{name: "BadBase64", config: map[string]any{"to": []any{"a@example.com"}, "text": "x",
			"attachments": []any{map[string]any{"filename": "f", "content": "***", "encoding": "base64"}}}, code: CodeInvalidConfig, want: "not valid base64"},
		{name: "BigAttachments", config: map[string]any{"to": []any{"a@example.com"}, "text": "x",
			"attachments": []any{map[string]any{"filename": "f", "content": strings.Repeat("x", MaxAttachmentBytes+1)}}}, code: CodeTooLarge, want: "attachments are larger"},
		{name: "NoRecipient", config: map[string]any{"text": "x"}, code: CodeInvalidConfig, want: "no recipient"},
		{name: "NotAnAddress", config: map[string]any{"to": []any{"not an address"}, "text": "x"}, code: CodeInvalidConfig, want: "to[0] is not an e-mail address"},
		{name: "ReservedHeader", config: map[string]any{"to": []any{"a@example.com"}, "text": "x", "headers": map[string]any{"content-type": "text/html"}}, code: CodeInvalidConfig, want: "Content-Type is set by the node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.config["credential"] = b.cred
			n, err := b.typ.Instantiate(tt.config, false)
			if err != nil {
				require.ErrorContains(t, err, tt.want)
				return
			}
			_, err = n.Execute(t.Context(), conntest.Input(b.creds, nil))
			ne := requireNodeError(t, err, tt.code, true)
			require.Contains(t, ne.Message, tt.want)
		})
	}

	t.Run("Schema", func(t *testing.T) {
		t.Parallel()
		for _, config := range []map[string]any{
			{"credential": "c", "to": many, "text": "x"},
			{"credential": "c", "to": []any{"a@example.com"}, "text": "x", "sender": "x"},
			{"to": []any{"a@example.com"}, "text": "x"},
			{"credential": "c", "to": []any{"a@example.com"}, "text": "x", "attachments": []any{map[string]any{"filename": "f"}}},
		} {
			problems := b.typ.ValidateConfig(config, false)
			require.NotEmpty(t, problems, "%v", config)
		}
		_, err := b.typ.Instantiate(map[string]any{"credential": "c", "to": []any{"a@example.com"}}, false)
		require.ErrorContains(t, err, "set text, html or both")
	})
}

func TestTesters(t *testing.T) {
	t.Parallel()

	srv := startSMTP(t, "starttls")
	creds := conntest.NewCredentials()
	get := func(data map[string]any) *node.Credential {
		cd := map[string]any{"host": "127.0.0.1", "port": srv.port, "tlsCA": srv.caPEM, "username": testUser, "password": testPassword}
		for k, v := range data {
			cd[k] = v
		}
		c, err := creds.Get(t.Context(), creds.Add(t, "smtp", cd))
		require.NoError(t, err)
		return c
	}
	test := Testers(conntest.Config())["smtp"]
	msg, err := test(t.Context(), get(nil))
	require.NoError(t, err)
	require.Equal(t, "Connected to SMTP server "+srv.addr+" with STARTTLS and signed in as mailer", msg)

	_, err = test(t.Context(), get(map[string]any{"password": "nope"}))
	var ne *node.Error
	require.ErrorAs(t, err, &ne)
	require.Equal(t, CodeAuthFailed, ne.Code)

	_, err = Testers(conntest.StrictConfig())["smtp"](t.Context(), get(nil))
	require.ErrorAs(t, err, &ne)
	require.Equal(t, conn.CodeSSRFBlocked, ne.Code)
	require.Empty(t, srv.messages())
}
