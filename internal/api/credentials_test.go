package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/store"
)

type credentialBody struct {
	ID   string
	Name string
	Type string
	Data map[string]any
}

func createCredential(t *testing.T, s *apitest.Server, body string) credentialBody {
	t.Helper()
	resp := s.Do(t, http.MethodPost, "/api/v1/credentials", body, nil)
	require.Equal(t, http.StatusCreated, resp.Status, resp.Body)
	var c credentialBody
	resp.JSON(t, &c)
	return c
}

// storedData decrypts a credential as a node would get it.
func storedData(t *testing.T, s *apitest.Server, id string) map[string]any {
	t.Helper()
	c, err := s.Credentials.LoadCredential(context.Background(), store.DefaultTenant, id)
	require.NoError(t, err)
	return c.Data
}

func TestCredentialsLifecycle(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{NoDispatcher: true})

	// A postgres URL is split into its parts; the password shows as a marker only.
	pg := createCredential(t, s, `{"name":"orders db","type":"postgres","data":{"url":"postgres://app:p%40ss-w0rd@db.internal:6543/orders?sslmode=require"}}`)
	require.Equal(t, map[string]any{"host": "db.internal", "port": 6543.0, "database": "orders", "user": "app", "password": "[stored]", "sslmode": "require"}, pg.Data)
	require.Equal(t, "p@ss-w0rd", storedData(t, s, pg.ID)["password"])

	got := s.Do(t, http.MethodGet, "/api/v1/credentials/"+pg.ID, "", nil)
	require.Equal(t, http.StatusOK, got.Status)
	require.NotContains(t, got.Body, "p@ss-w0rd")
	require.Contains(t, got.Body, `"password":"[stored]"`)

	createCredential(t, s, `{"name":"api token","type":"httpBearer","data":{"token":"t0ken-value"}}`)
	list := s.Do(t, http.MethodGet, "/api/v1/credentials?type=postgres", "", nil)
	require.Equal(t, http.StatusOK, list.Status, list.Body)
	var page struct{ Items []credentialBody }
	list.JSON(t, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, "orders db", page.Items[0].Name)
	both := s.Do(t, http.MethodGet, "/api/v1/credentials?type=postgres&type=httpBearer", "", nil)
	require.Equal(t, http.StatusOK, both.Status, both.Body)
	both.JSON(t, &page)
	require.Len(t, page.Items, 2, "a repeated type parameter keeps every type")
	all := s.Do(t, http.MethodGet, "/api/v1/credentials", "", nil)
	require.NotContains(t, all.Body, "t0ken-value")
	require.NotContains(t, all.Body, "p@ss-w0rd")

	// Renaming keeps the data; "[stored]" keeps a field; a new value replaces it; null clears it.
	upd := s.Do(t, http.MethodPatch, "/api/v1/credentials/"+pg.ID, `{"name":"orders","data":{"password":"[stored]","port":5432}}`, nil)
	require.Equal(t, http.StatusOK, upd.Status, upd.Body)
	data := storedData(t, s, pg.ID)
	require.Equal(t, "p@ss-w0rd", data["password"])
	require.Equal(t, 5432.0, data["port"])
	upd = s.Do(t, http.MethodPatch, "/api/v1/credentials/"+pg.ID, `{"data":{"password":"n3w-secret","sslmode":null}}`, nil)
	require.Equal(t, http.StatusOK, upd.Status, upd.Body)
	require.NotContains(t, upd.Body, "n3w-secret")
	data = storedData(t, s, pg.ID)
	require.Equal(t, "n3w-secret", data["password"])
	require.NotContains(t, data, "sslmode")

	s.Run(t, []apitest.Scenario{
		{Name: "UnknownType", Method: "POST", URL: "/api/v1/credentials", Body: `{"name":"x","type":"ftp","data":{}}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/type"`}},
		{Name: "BadPort", Method: "POST", URL: "/api/v1/credentials", Body: `{"name":"x","type":"postgres","data":{"host":"h","user":"u","port":70000}}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/data/port"`}},
		{Name: "UnknownField", Method: "POST", URL: "/api/v1/credentials", Body: `{"name":"x","type":"httpBearer","data":{"token":"abcd","extra":1}}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/data/extra"`}},
		{Name: "MissingRequired", Method: "POST", URL: "/api/v1/credentials", Body: `{"name":"x","type":"httpBearer","data":{}}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/data/token"`}},
		{Name: "BadURLNotQuoted", Method: "POST", URL: "/api/v1/credentials", Body: `{"name":"x","type":"postgres","data":{"url":"mysql://u:hunter22@h/db"}}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/data/url"`}},
		{Name: "MarkerIsNotAValue", Method: "POST", URL: "/api/v1/credentials", Body: `{"name":"x","type":"httpBearer","data":{"token":"[stored]"}}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/data/token"`}},
		{Name: "NameTaken", Method: "POST", URL: "/api/v1/credentials", Body: `{"name":"api token","type":"httpBearer","data":{"token":"abcd"}}`,
			ExpectedStatus: 409},
		{Name: "EmptyName", Method: "POST", URL: "/api/v1/credentials", Body: `{"name":"  ","type":"httpBearer","data":{"token":"abcd"}}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/name"`}},
		{Name: "UnknownTypeFilter", Method: "GET", URL: "/api/v1/credentials?type=ftp", ExpectedStatus: 422},
		{Name: "Missing", Method: "GET", URL: "/api/v1/credentials/nope", ExpectedStatus: 404},
		{Name: "UpdateMissing", Method: "PATCH", URL: "/api/v1/credentials/nope", Body: `{"name":"y"}`, ExpectedStatus: 404},
		{Name: "Types", Method: "GET", URL: "/api/v1/credential-types", ExpectedStatus: 200, ExpectedContent: []string{`"writeOnly":true`}},
	})
	bad := s.Do(t, http.MethodPost, "/api/v1/credentials", `{"name":"x","type":"postgres","data":{"url":"mysql://u:hunter22@h/db"}}`, nil)
	require.NotContains(t, bad.Body, "hunter22", "a refused URL is never quoted")

	// Viewers see credentials exist, never change them.
	viewer := s.AddMember(t, "viewer@example.com", "viewer")
	auth := map[string]string{"Authorization": "Bearer " + viewer}
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodGet, "/api/v1/credentials", "", auth).Status)
	require.Equal(t, http.StatusForbidden, s.Do(t, http.MethodPost, "/api/v1/credentials", `{"name":"v","type":"httpBearer","data":{"token":"abcd"}}`, auth).Status)
	require.Equal(t, http.StatusForbidden, s.Do(t, http.MethodPost, "/api/v1/credentials/"+pg.ID+"/test", "", auth).Status)

	// The audit log records who did what, never the data.
	audit := s.Do(t, http.MethodGet, "/api/v1/audit?limit=100", "", nil)
	require.Equal(t, http.StatusOK, audit.Status, audit.Body)
	require.Contains(t, audit.Body, "credential.created")
	require.Contains(t, audit.Body, "credential.updated")
	for _, secret := range []string{"p@ss-w0rd", "n3w-secret", "t0ken-value"} {
		require.NotContains(t, audit.Body, secret)
	}
}

func TestCredentialDeleteInUse(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{NoDispatcher: true})
	c := createCredential(t, s, `{"name":"token","type":"httpBearer","data":{"token":"abcdefgh"}}`)
	w := create(t, s, `{"name":"uses token","nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"leak","type":"test.leak","config":{"credential":"`+c.ID+`"}}],"edges":[{"source":"start","target":"leak"}]}`)
	resp := s.Do(t, http.MethodDelete, "/api/v1/credentials/"+c.ID, "", nil)
	require.Equal(t, http.StatusConflict, resp.Status, resp.Body)
	require.Contains(t, resp.Body, `"location":"/workflows/`+w["id"].(string)+`"`)
	require.Contains(t, resp.Body, `uses token`)

	require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodDelete, "/api/v1/workflows/"+w["id"].(string), "", nil).Status)
	require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodDelete, "/api/v1/credentials/"+c.ID, "", nil).Status)
	require.Equal(t, http.StatusNotFound, s.Do(t, http.MethodGet, "/api/v1/credentials/"+c.ID, "", nil).Status)
}

func TestCredentialTest(t *testing.T) {
	t.Parallel()
	testers := map[string]conn.TestFunc{
		"httpBearer": func(_ context.Context, c *node.Credential) (string, error) {
			token, _ := c.Data["token"].(string)
			if strings.HasPrefix(token, "good") {
				return "Accepted", nil
			}
			// A server that echoes the secret back in its error.
			return "", errors.New("server said: bad token " + token)
		},
	}
	s := apitest.Start(t, enginetest.Options{NoDispatcher: true, CredentialTesters: testers})
	good := createCredential(t, s, `{"name":"good","type":"httpBearer","data":{"token":"good-token-1"}}`)
	bad := createCredential(t, s, `{"name":"bad","type":"httpBearer","data":{"token":"bad-token-2"}}`)
	basic := createCredential(t, s, `{"name":"basic","type":"httpBasic","data":{"username":"u","password":"pw-123"}}`)

	var res struct {
		OK      bool
		Message string
	}
	r := s.Do(t, http.MethodPost, "/api/v1/credentials/"+good.ID+"/test", "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	r.JSON(t, &res)
	require.True(t, res.OK)
	require.Equal(t, "Accepted", res.Message)

	r = s.Do(t, http.MethodPost, "/api/v1/credentials/"+bad.ID+"/test", "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	r.JSON(t, &res)
	require.False(t, res.OK)
	require.Equal(t, "server said: bad token [redacted]", res.Message)

	r = s.Do(t, http.MethodPost, "/api/v1/credentials/"+basic.ID+"/test", "", nil)
	r.JSON(t, &res)
	require.True(t, res.OK, "a type without a tester has nothing to connect to")
	require.Equal(t, http.StatusNotFound, s.Do(t, http.MethodPost, "/api/v1/credentials/nope/test", "", nil).Status)
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestCredentialSecretsNeverLeak runs nodes that put a credential's secrets (and encodings of them,
// and a derived secret) in their output, logs and errors, then looks for the secrets in every place
// the server records or answers something: API responses of every read, events, node-run inputs,
// outputs, logs and errors, the audit log, the server's log and the database file itself.
func TestCredentialSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := apitest.StartWith(t, enginetest.Options{Logger: logger}, func(c *api.Config) { c.Logger = logger })
	const token = "tok-LEAK-7f3a9c1e"
	const password = "pw LEAK/9b2&d"
	const derived = "e1c9a3f7-KAEL-kot" // the token reversed, as test.leak derives it
	bearer := createCredential(t, s, `{"name":"leaky bearer","type":"httpBearer","data":{"token":"`+token+`"}}`)
	basic := createCredential(t, s, `{"name":"leaky basic","type":"httpBasic","data":{"username":"ada","password":"`+password+`"}}`)
	// A remote server that echoes the request's headers back, as many do in their errors.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo-Authorization", r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": "bad credentials", "youSent": r.Header.Get("Authorization")})
	}))
	defer echo.Close()
	w := create(t, s, `{"name":"leaks","nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"out","type":"test.leak","config":{"credential":"`+bearer.ID+`","derive":true}},
		{"id":"basic","type":"test.leak","config":{"credential":"`+basic.ID+`"}},
		{"id":"echo","type":"data.set","config":{"fields":{"copied":"{{ nodes.out.output }}"}}},
		{"id":"remote","type":"http.request","config":{"url":"`+echo.URL+`/api","credential":"`+basic.ID+`"},"onError":"continue"},
		{"id":"remote2","type":"http.request","config":{"url":"`+echo.URL+`/api","credential":"`+bearer.ID+`","failOnStatus":false}},
		{"id":"fail","type":"test.leak","config":{"credential":"`+bearer.ID+`","fail":true}}],
		"edges":[{"source":"start","target":"out"},{"source":"out","target":"basic"},{"source":"basic","target":"echo"},{"source":"echo","target":"remote"},
			{"source":"remote","target":"remote2"},{"source":"remote2","target":"fail"}]}`)
	run := s.Do(t, http.MethodPost, "/api/v1/workflows/"+w["id"].(string)+"/executions?wait=1m", `{}`, nil)
	require.Equal(t, http.StatusOK, run.Status, run.Body)
	var d detail
	run.JSON(t, &d)
	require.Equal(t, "failed", d.Status)

	bodies := []string{run.Body}
	get := func(url string) string {
		r := s.Do(t, http.MethodGet, url, "", nil)
		require.Equal(t, http.StatusOK, r.Status, url+": "+r.Body)
		bodies = append(bodies, r.Body)
		return r.Body
	}
	get("/api/v1/executions/" + d.ID)
	get("/api/v1/executions?limit=10")
	get("/api/v1/executions/" + d.ID + "/events")
	get("/api/v1/executions/" + d.ID + "/node-runs")
	for _, nodeID := range []string{"out", "basic", "echo", "remote", "remote2"} {
		for _, field := range []string{"input", "output"} {
			get("/api/v1/executions/" + d.ID + "/node-runs/" + nodeID + "/attempts/1/" + field)
		}
	}
	get("/api/v1/executions/" + d.ID + "/node-runs/basic/attempts/1/logs")
	failErr := get("/api/v1/executions/" + d.ID + "/node-runs/fail/attempts/1/error")
	outBody := get("/api/v1/executions/" + d.ID + "/node-runs/out/attempts/1/output")
	get("/api/v1/executions/" + d.ID + "/node-runs/out/attempts/1/logs")
	get("/api/v1/credentials")
	get("/api/v1/credentials/" + bearer.ID)
	get("/api/v1/audit?limit=200")
	get("/api/v1/workflows/" + w["id"].(string))

	// The nodes did leak, and the engine scrubbed it.
	require.Contains(t, outBody, "[redacted]")
	remote2 := get("/api/v1/executions/" + d.ID + "/node-runs/remote2/attempts/1/output")
	require.Contains(t, remote2, `"youSent":"[redacted]"`, "the server's echo is scrubbed")
	require.Contains(t, failErr, "failed with [redacted]")

	forbidden := []string{token, password, derived}
	forbidden = append(forbidden, "tok-LEAK", "LEAK/9b2", "KAEL-kot",
		base64.StdEncoding.EncodeToString([]byte(token)), url.QueryEscape(password), base64.StdEncoding.EncodeToString([]byte("ada:"+password)))
	places := map[string]string{"server log": logs.String()}
	for i, b := range bodies {
		places["response "+string(rune('A'+i%26))+string(rune('0'+i/26))] = b
	}
	db, err := os.ReadFile(s.Path)
	require.NoError(t, err)
	if wal, err := os.ReadFile(s.Path + "-wal"); err == nil {
		db = append(db, wal...)
	}
	places["database file "+filepath.Base(s.Path)] = string(db)
	for where, text := range places {
		for _, secret := range forbidden {
			require.NotContains(t, text, secret, "%s holds a secret", where)
		}
	}
}
