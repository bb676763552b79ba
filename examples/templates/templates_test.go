package templates_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/concertmaster/concertmaster/examples/templates"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/listen"
	"github.com/concertmaster/concertmaster/internal/service"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// testToken is the bearer token of the httpBearer credential the examples use; the test server says
// whether a request carried it.
const testToken = "template-test-token"

// testAPIKey is the key of the openai credential; the chat-completions server refuses other keys.
const testAPIKey = "sk-template-test"

// echoServer answers every request with a JSON description of it, or with the JSON its responses
// name for the request's path.
type echoServer struct {
	*httptest.Server
	mu        sync.Mutex
	responses map[string]any
}

func newEchoServer(t *testing.T) *echoServer {
	t.Helper()
	s := &echoServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body any
		_ = json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		s.mu.Lock()
		canned, ok := s.responses[r.URL.Path]
		s.mu.Unlock()
		if ok {
			_ = json.NewEncoder(w).Encode(canned)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.Query(), "body": body,
			"authorized": r.Header.Get("Authorization") == "Bearer "+testToken,
		})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *echoServer) setResponses(responses map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responses = responses
}

// chatServer speaks OpenAI's chat completions protocol at /v1/chat/completions: it checks the key and
// the request, and answers with the reply it was given (or the last user message).
type chatServer struct {
	*httptest.Server
	mu    sync.Mutex
	reply any
}

func newChatServer(t *testing.T) *chatServer {
	t.Helper()
	s := &chatServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+testAPIKey {
			http.Error(w, `{"error":{"message":"invalid api key","type":"invalid_request_error","code":"invalid_api_key"}}`, http.StatusUnauthorized)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
			ResponseFormat *struct {
				Type string `json:"type"`
			} `json:"response_format"` //nolint:tagliatelle // the protocol's name
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || req.Model == "" || len(req.Messages) == 0 {
			http.Error(w, `{"error":{"message":"a model and messages are required","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		reply := s.reply
		s.mu.Unlock()
		var content string
		switch v := reply.(type) {
		case nil:
			for _, m := range req.Messages {
				if m.Role == "user" {
					content = m.Content
				}
			}
		case string:
			content = v
		default:
			b, _ := json.Marshal(v)
			content = string(b)
		}
		if req.ResponseFormat != nil && req.ResponseFormat.Type == "json_object" && !json.Valid([]byte(content)) {
			http.Error(w, `{"error":{"message":"the example's reply is not JSON, yet JSON mode was asked","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-template-test", "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
		})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *chatServer) setReply(reply any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = reply
}

// s3Bucket is the bucket of the in-process S3 server, the s3 credential's default bucket.
const s3Bucket = "cm-templates"

// startS3 starts an in-memory S3-compatible server (gofakes3) holding the bucket s3Bucket.
func startS3(t *testing.T) *httptest.Server {
	t.Helper()
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket(s3Bucket))
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return srv
}

// startKafka starts an in-process Kafka cluster (kfake) holding every topic the templates and their
// examples name (kafka nodes' topic and topics), since the kafka nodes need them to exist.
func startKafka(t *testing.T, all []templates.Template) *kfake.Cluster {
	t.Helper()
	var topics []string
	add := func(n workflow.Node) {
		if !strings.HasPrefix(n.Type, "kafka.") && n.Type != "trigger.kafka" {
			return
		}
		if s, ok := n.Config["topic"].(string); ok && !slices.Contains(topics, s) {
			topics = append(topics, s)
		}
		if list, ok := n.Config["topics"].([]any); ok {
			for _, e := range list {
				if s, ok := e.(string); ok && !slices.Contains(topics, s) {
					topics = append(topics, s)
				}
			}
		}
	}
	for _, tpl := range all {
		for _, n := range tpl.Definition.Nodes {
			add(n)
		}
		if tpl.Example.Feed != nil {
			add(*tpl.Example.Feed)
		}
	}
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(1, topics...))
	}
	c, err := kfake.NewCluster(opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// mailMessage is a message the SMTP server accepted.
type mailMessage struct {
	rcpts []string
	data  []byte
}

// smtpServer is an SMTP server on loopback (no TLS, no authentication) that keeps what it receives.
type smtpServer struct {
	addr *net.TCPAddr
	mu   sync.Mutex
	msgs []mailMessage
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	s := &smtpServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 8 << 20
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = l.Addr().(*net.TCPAddr)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// since returns the messages received after the first n.
func (s *smtpServer) since(n int) []mailMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs[min(n, len(s.msgs)):])
}

func (s *smtpServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

type smtpSession struct {
	srv *smtpServer
	cur mailMessage
}

func (se *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }

func (se *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.cur.rcpts = append(se.cur.rcpts, to)
	return nil
}

func (se *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	se.cur.data = b
	se.srv.mu.Lock()
	se.srv.msgs = append(se.srv.msgs, se.cur)
	se.srv.mu.Unlock()
	se.cur = mailMessage{}
	return nil
}

func (se *smtpSession) Reset()        { se.cur = mailMessage{} }
func (se *smtpSession) Logout() error { return nil }

// mailText returns a message's subject and its text: the headers of the message and of each part,
// and every part's body decoded (quoted-printable and base64), attachments included, with CRLF line
// ends made LF.
func mailText(t *testing.T, raw []byte) (string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	var text strings.Builder
	var walk func(header map[string][]string, body io.Reader)
	walk = func(header map[string][]string, body io.Reader) {
		h := mail.Header(header)
		for k, v := range header {
			fmt.Fprintf(&text, "%s: %s\n", k, strings.Join(v, ", "))
		}
		mediaType, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
		if strings.HasPrefix(mediaType, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					return
				}
				walk(p.Header, p)
			}
		}
		if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, err := io.ReadAll(body)
		require.NoError(t, err)
		text.Write(b)
		text.WriteString("\n")
	}
	walk(msg.Header, msg.Body)
	return subject, strings.ReplaceAll(text.String(), "\r\n", "\n")
}

// checkMail requires, for each check, a message among msgs that matches it.
func checkMail(t *testing.T, msgs []mailMessage, checks []templates.MailCheck) {
	t.Helper()
	for i, c := range checks {
		found := false
		var seen []string
		for _, m := range msgs {
			subject, text := mailText(t, m.data)
			seen = append(seen, fmt.Sprintf("to %v, subject %q, text %q", m.rcpts, subject, text[:min(len(text), 4000)]))
			ok := c.Subject == "" || c.Subject == subject
			for _, to := range c.To {
				ok = ok && slices.Contains(m.rcpts, to)
			}
			for _, s := range c.Contains {
				ok = ok && strings.Contains(text, s)
			}
			if ok {
				found = true
				break
			}
		}
		require.True(t, found, "mail %d (%+v): no matching message among %d: %v", i+1, c, len(msgs), seen)
	}
}

func hostPort(t *testing.T, raw string) (string, float64) {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	return u.Hostname(), float64(port)
}

// credentialData returns the data of a credential of type typ for the servers of the test
// environment, or the name of the variable that is missing.
func (h *harness) credentialData(t *testing.T, typ string) (map[string]any, string) {
	t.Helper()
	fromEnv := func(name string) (string, bool) {
		v := os.Getenv(name)
		return v, v != ""
	}
	switch typ {
	case "httpBearer":
		return map[string]any{"token": testToken}, ""
	case "openai":
		return map[string]any{"apiKey": testAPIKey, "baseUrl": h.chat.URL + "/v1"}, ""
	case "smtp":
		return map[string]any{"host": h.smtp.addr.IP.String(), "port": float64(h.smtp.addr.Port), "security": "none", "from": "ConcertMaster <concertmaster@example.com>"}, ""
	case "s3":
		return map[string]any{"endpoint": strings.TrimPrefix(h.s3.URL, "http://"), "accessKeyId": "AKIDTEMPLATES", "secretAccessKey": "template-test-secret",
			"bucket": s3Bucket, "pathStyle": true, "tls": false}, ""
	case "kafka":
		brokers := []any{}
		for _, a := range h.kafka.ListenAddrs() {
			brokers = append(brokers, a)
		}
		return map[string]any{"brokers": brokers}, ""
	case "postgres":
		v, ok := fromEnv("CM_TEST_DATABASE_URL")
		if !ok {
			return nil, "CM_TEST_DATABASE_URL"
		}
		return map[string]any{"url": v}, ""
	case "mysql":
		v, ok := fromEnv("CM_TEST_MYSQL_URL")
		if !ok {
			return nil, "CM_TEST_MYSQL_URL"
		}
		return map[string]any{"url": v}, ""
	case "redis", "amqp", "mqtt", "nats":
		name := map[string]string{"redis": "CM_TEST_REDIS_URL", "amqp": "CM_TEST_AMQP_URL", "mqtt": "CM_TEST_MQTT_URL", "nats": "CM_TEST_NATS_URL"}[typ]
		v, ok := fromEnv(name)
		if !ok {
			return nil, name
		}
		host, port := hostPort(t, v)
		data := map[string]any{"host": host, "port": port}
		if u, _ := url.Parse(v); u != nil && u.User != nil {
			data["username"] = u.User.Username()
			if pw, ok := u.User.Password(); ok {
				data["password"] = pw
			}
		}
		return data, ""
	}
	t.Fatalf("the template test has no server for %s credentials yet", typ)
	return nil, ""
}

// contains reports whether got holds want: objects by want's keys, arrays element by element and of
// the same length, everything else equal.
func contains(got, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !contains(g[k], v) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !contains(g[i], w[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(got, want)
	}
}

// TestTemplatesLoad checks every template without servers: its fields, and that its definition and
// its example's nodes pass the same validation as a saved workflow (schemas, expressions, edges).
func TestTemplatesLoad(t *testing.T) {
	t.Parallel()
	all, err := templates.All()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(all), 10, "the gallery holds at least 10 templates")
	env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
	ids := map[string]string{}
	// fake gives each credential type v names an id: validation does not look credentials up.
	fake := func(v any) {
		t.Helper()
		for {
			_, err := templates.Resolve(v, ids)
			var missing *templates.MissingCredentialError
			if !errors.As(err, &missing) {
				require.NoError(t, err)
				return
			}
			ids[missing.Type] = "cred-" + missing.Type
		}
	}
	for _, tpl := range all {
		require.NotEmpty(t, tpl.Name, tpl.ID)
		require.NotEmpty(t, tpl.Description, tpl.ID)
		require.NotEmpty(t, tpl.Tags, tpl.ID)
		require.True(t, tpl.Example.ExpectNode != "" || len(tpl.Example.Checks) > 0, "%s: the example must check a result", tpl.ID)
		_, err := tpl.Instantiate("", map[string]string{})
		if len(tpl.CredentialTypes) > 0 {
			var missing *templates.MissingCredentialError
			require.ErrorAs(t, err, &missing, tpl.ID)
		} else {
			require.NoError(t, err, tpl.ID)
		}
		fake(tpl.Definition)
		def, err := tpl.Instantiate("", ids)
		require.NoError(t, err)
		_, err = env.Service.Validate(def)
		require.NoError(t, err, tpl.ID)
		ex := tpl.Example
		nodes := slices.Clone(ex.Setup)
		if ex.Feed != nil {
			nodes = append(nodes, *ex.Feed)
		}
		for _, c := range ex.Checks {
			nodes = append(nodes, c.Node)
		}
		if len(nodes) == 0 {
			continue
		}
		chain := workflow.Definition{Name: "example of " + tpl.ID, Nodes: []workflow.Node{{ID: "start", Type: "trigger.manual"}}}
		for i, n := range nodes {
			n.ID = fmt.Sprintf("n%d", i+1)
			chain.Nodes = append(chain.Nodes, n)
			chain.Edges = append(chain.Edges, workflow.Edge{Source: chain.Nodes[i].ID, Target: n.ID})
		}
		fake(chain)
		chain, err = templates.Resolve(chain, ids)
		require.NoError(t, err)
		_, err = env.Service.Validate(&chain)
		require.NoError(t, err, "%s: example nodes", tpl.ID)
	}
}

// harness is what the template runs share: the runtime, the trigger listeners, the servers the
// credentials point at, and the credentials made so far, by type.
type harness struct {
	env     *enginetest.Env
	m       *listen.Manager
	echo    *echoServer
	chat    *chatServer
	smtp    *smtpServer
	s3      *httptest.Server
	kafka   *kfake.Cluster
	credIDs map[string]string
}

// resolve replaces the credential placeholders of v, creating a credential for each type the first
// time one is needed; it skips the test when the server of a type is not configured.
func resolve[T any](t *testing.T, h *harness, v T) T {
	t.Helper()
	for {
		out, err := templates.Resolve(v, h.credIDs)
		var missing *templates.MissingCredentialError
		if !errors.As(err, &missing) {
			require.NoError(t, err)
			return out
		}
		data, unset := h.credentialData(t, missing.Type)
		if unset != "" {
			t.Skipf("%s is not set; run through make test to include this template", unset)
		}
		c, err := h.env.Credentials.Create(context.Background(), store.DefaultTenant, "template test "+missing.Type, missing.Type, data)
		require.NoError(t, err)
		h.credIDs[missing.Type] = c.ID
	}
}

// example returns the template's example with $runId and $testServer replaced.
func (h *harness) example(t *testing.T, tpl *templates.Template) templates.Example {
	t.Helper()
	b, err := json.Marshal(tpl.Example)
	require.NoError(t, err)
	var id [6]byte
	_, _ = rand.Read(id[:])
	s := strings.ReplaceAll(string(b), "$runId", hex.EncodeToString(id[:]))
	s = strings.ReplaceAll(s, "$testServer", h.echo.URL)
	var ex templates.Example
	require.NoError(t, json.Unmarshal([]byte(s), &ex))
	return ex
}

// TestTemplates creates and runs every template against the real servers of the test environment:
// credentials for them, the example's setup and variables, then a run (or, for a template whose
// trigger listens to a queue, a message sent by the example's feeder), which must succeed with the
// expected output, and the example's checks of what the run left behind.
func TestTemplates(t *testing.T) {
	all, err := templates.All()
	require.NoError(t, err)
	env := enginetest.Start(t, enginetest.Options{})
	m, err := listen.New(listen.Config{Store: env.Store, Registry: env.Registry, Firer: env.Service, Credentials: env.Credentials,
		PollInterval: time.Hour, BackoffMin: 50 * time.Millisecond, BackoffMax: time.Second})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() { _ = m.Stop(context.Background()) })
	h := &harness{env: env, m: m, echo: newEchoServer(t), chat: newChatServer(t), smtp: startSMTP(t), s3: startS3(t), kafka: startKafka(t, all),
		credIDs: map[string]string{}}
	for i := range all {
		tpl := &all[i]
		t.Run(tpl.ID, func(t *testing.T) { h.run(t, tpl) })
	}
}

func (h *harness) run(t *testing.T, tpl *templates.Template) {
	ctx := context.Background()
	env := h.env
	ex := h.example(t, tpl)
	def := resolve(t, h, tpl.Definition)
	if def.Settings.Vars == nil && len(ex.Vars) > 0 {
		def.Settings.Vars = map[string]any{}
	}
	for k, v := range ex.Vars {
		def.Settings.Vars[k] = v
	}
	h.echo.setResponses(ex.Responses)
	h.chat.setReply(ex.ChatReply)
	input, err := json.Marshal(ex.Input)
	require.NoError(t, err)
	if len(ex.Setup) > 0 {
		h.runNodes(t, "setup "+tpl.ID, "setup", ex.Setup, input)
	}
	w, err := env.Service.CreateWorkflow(ctx, store.DefaultTenant, &def)
	require.NoError(t, err)
	mailBefore := h.smtp.count()

	var exec *store.Execution
	if ex.Feed != nil {
		_, err := env.Service.SetActive(ctx, store.DefaultTenant, w.ID, true)
		require.NoError(t, err)
		t.Cleanup(func() {
			_, _ = env.Service.SetActive(context.Background(), store.DefaultTenant, w.ID, false)
			h.m.Reconcile()
		})
		h.m.Reconcile()
		exec = h.feed(t, tpl.ID, resolve(t, h, *ex.Feed), w.ID, input)
	} else {
		trigger := ""
		for _, n := range def.Nodes {
			if strings.HasPrefix(n.Type, "trigger.") {
				trigger = n.ID
				break
			}
		}
		exec, _, err = env.Service.StartExecution(ctx, store.DefaultTenant, service.StartParams{WorkflowID: w.ID, Input: input, TriggerNode: trigger})
		require.NoError(t, err)
	}
	if ex.Approve != "" {
		approve(t, env, exec.ID, ex.Approve)
	}
	exec = env.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status, "%+v", exec.Error)
	if ex.ExpectNode != "" {
		run, ok := env.Runs(t, exec.ID)[ex.ExpectNode]
		require.True(t, ok, "node %s did not run", ex.ExpectNode)
		var out any
		require.NoError(t, json.Unmarshal(run.Output, &out))
		require.True(t, contains(out, ex.Expect), "output of %s: %s", ex.ExpectNode, run.Output)
	}
	if len(ex.Mail) > 0 {
		checkMail(t, h.smtp.since(mailBefore), ex.Mail)
	}
	if len(ex.Checks) > 0 {
		nodes := make([]workflow.Node, len(ex.Checks))
		for i, c := range ex.Checks {
			nodes[i] = c.Node
		}
		outputs := h.runNodes(t, "check "+tpl.ID, "check", nodes, nil)
		for i, c := range ex.Checks {
			id := fmt.Sprintf("check%d", i+1)
			got, _ := json.Marshal(outputs[id])
			require.True(t, contains(outputs[id], c.Expect), "check %d (%s): %s", i+1, c.Node.Type, got)
		}
	}
}

// runNodes runs nodes one after the other from a manual trigger with input, and returns each one's
// output by id (prefix1, prefix2…).
func (h *harness) runNodes(t *testing.T, name, prefix string, nodes []workflow.Node, input json.RawMessage) map[string]any {
	t.Helper()
	ctx := context.Background()
	def := &workflow.Definition{Name: name, Nodes: []workflow.Node{{ID: "start", Type: "trigger.manual"}}}
	prev := "start"
	for i, n := range nodes {
		n = resolve(t, h, n)
		n.ID = fmt.Sprintf("%s%d", prefix, i+1)
		def.Nodes = append(def.Nodes, n)
		def.Edges = append(def.Edges, workflow.Edge{Source: prev, Target: n.ID})
		prev = n.ID
	}
	w, err := h.env.Service.CreateWorkflow(ctx, store.DefaultTenant, def)
	require.NoError(t, err)
	exec, _, err := h.env.Service.StartExecution(ctx, store.DefaultTenant, service.StartParams{WorkflowID: w.ID, Input: input})
	require.NoError(t, err)
	exec = h.env.Wait(t, exec.ID)
	require.Equal(t, workflow.ExecutionSucceeded, exec.Status, "%s failed: %+v", name, exec.Error)
	outputs := map[string]any{}
	for id, r := range h.env.Runs(t, exec.ID) {
		var v any
		if len(r.Output) > 0 {
			require.NoError(t, json.Unmarshal(r.Output, &v))
		}
		outputs[id] = v
	}
	return outputs
}

// approve decides the approval once the run waits on it.
func approve(t *testing.T, env *enginetest.Env, execID, nodeID string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := env.Service.Decide(context.Background(), store.DefaultTenant, execID, nodeID, service.Decision{Approve: true, Comment: "template test"})
		if err == nil {
			return
		}
		if !errors.Is(err, service.ErrNotWaiting) || time.Now().After(deadline) {
			t.Fatalf("approve %s: %v", nodeID, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// feed runs the feeder node once, from a manual trigger, and returns the execution of the template's
// workflow that the message started.
func (h *harness) feed(t *testing.T, id string, node workflow.Node, workflowID string, input json.RawMessage) *store.Execution {
	t.Helper()
	ctx := context.Background()
	env := h.env
	deadline := time.Now().Add(20 * time.Second)
	for h.m.Running() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	node.ID = "feed"
	fw, err := env.Service.CreateWorkflow(ctx, store.DefaultTenant, &workflow.Definition{Name: "feed " + id,
		Nodes: []workflow.Node{{ID: "start", Type: "trigger.manual"}, node}, Edges: []workflow.Edge{{Source: "start", Target: "feed"}}})
	require.NoError(t, err)
	// The listener may still be connecting: feed again until the message is consumed.
	for attempt := 0; ; attempt++ {
		fx, _, err := env.Service.StartExecution(ctx, store.DefaultTenant, service.StartParams{WorkflowID: fw.ID, Input: input})
		require.NoError(t, err)
		fx = env.Wait(t, fx.ID)
		require.Equal(t, workflow.ExecutionSucceeded, fx.Status, "the feeder failed: %+v", fx.Error)
		poll := time.Now().Add(2 * time.Second)
		for time.Now().Before(poll) {
			page, err := env.Store.ListExecutions(ctx, store.DefaultTenant, store.ListExecutionsParams{WorkflowID: workflowID, Limit: 1})
			require.NoError(t, err)
			if len(page.Items) > 0 {
				return &page.Items[0]
			}
			time.Sleep(20 * time.Millisecond)
		}
		if attempt == 3 {
			t.Fatalf("no execution of %s after feeding it %d times", id, attempt+1)
		}
		fmt.Fprintf(os.Stderr, "%s: no message consumed yet, feeding again\n", id)
	}
}
