package templates_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

// echoServer answers every request with a JSON description of it.
func echoServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body any
		_ = json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.Query(), "body": body,
			"authorized": r.Header.Get("Authorization") == "Bearer "+testToken,
		})
	}))
	t.Cleanup(srv.Close)
	return srv
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
func credentialData(t *testing.T, typ string) (map[string]any, string) {
	t.Helper()
	fromEnv := func(name string) (string, bool) {
		v := os.Getenv(name)
		return v, v != ""
	}
	switch typ {
	case "httpBearer":
		return map[string]any{"token": testToken}, ""
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

// contains reports whether got holds want: objects by want's keys, everything else equal.
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
	default:
		return reflect.DeepEqual(got, want)
	}
}

func TestTemplatesLoad(t *testing.T) {
	t.Parallel()
	all, err := templates.All()
	require.NoError(t, err)
	require.NotEmpty(t, all)
	for _, tpl := range all {
		require.NotEmpty(t, tpl.Name, tpl.ID)
		require.NotEmpty(t, tpl.Description, tpl.ID)
		require.NotEmpty(t, tpl.Tags, tpl.ID)
		_, err := tpl.Instantiate("", map[string]string{})
		if len(tpl.CredentialTypes) > 0 {
			var missing *templates.MissingCredentialError
			require.ErrorAs(t, err, &missing, tpl.ID)
		} else {
			require.NoError(t, err, tpl.ID)
		}
	}
}

// TestTemplates creates and runs every template against the real servers of the test environment:
// credentials for them, the example's variables, then a run (or, for a template whose trigger listens
// to a queue, a message sent by the example's feeder), which must succeed.
func TestTemplates(t *testing.T) {
	all, err := templates.All()
	require.NoError(t, err)
	env := enginetest.Start(t, enginetest.Options{})
	m, err := listen.New(listen.Config{Store: env.Store, Registry: env.Registry, Firer: env.Service, Credentials: env.Credentials,
		PollInterval: time.Hour, BackoffMin: 50 * time.Millisecond, BackoffMax: time.Second})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() { _ = m.Stop(context.Background()) })
	echo := echoServer(t)
	ctx := context.Background()
	credIDs := map[string]string{}
	for _, tpl := range all {
		t.Run(tpl.ID, func(t *testing.T) {
			ids := map[string]string{}
			for _, typ := range tpl.CredentialTypes {
				if _, ok := credIDs[typ]; !ok {
					data, missing := credentialData(t, typ)
					if missing != "" {
						t.Skipf("%s is not set; run through make test to include this template", missing)
					}
					c, err := env.Credentials.Create(ctx, store.DefaultTenant, "template test "+typ, typ, data)
					require.NoError(t, err)
					credIDs[typ] = c.ID
				}
				ids[typ] = credIDs[typ]
			}
			def, err := tpl.Instantiate("", ids)
			require.NoError(t, err)
			for k, v := range tpl.Example.Vars {
				if s, ok := v.(string); ok {
					v = strings.ReplaceAll(s, "$testServer", echo.URL)
				}
				if def.Settings.Vars == nil {
					def.Settings.Vars = map[string]any{}
				}
				def.Settings.Vars[k] = v
			}
			w, err := env.Service.CreateWorkflow(ctx, store.DefaultTenant, def)
			require.NoError(t, err)
			input, err := json.Marshal(tpl.Example.Input)
			require.NoError(t, err)

			var exec *store.Execution
			if tpl.Example.Feed != nil {
				_, err := env.Service.SetActive(ctx, store.DefaultTenant, w.ID, true)
				require.NoError(t, err)
				m.Reconcile()
				exec = feed(t, env, m, tpl, ids, w.ID, input)
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
			if tpl.Example.Approve != "" {
				approve(t, env, exec.ID, tpl.Example.Approve)
			}
			exec = env.Wait(t, exec.ID)
			require.Equal(t, workflow.ExecutionSucceeded, exec.Status, "%+v", exec.Error)
			if tpl.Example.ExpectNode != "" {
				runs, err := env.Store.ListNodeRuns(ctx, store.DefaultTenant, exec.ID)
				require.NoError(t, err)
				var output json.RawMessage
				for _, r := range runs {
					if r.NodeID == tpl.Example.ExpectNode {
						output = r.Output
					}
				}
				require.NotNil(t, output, "node %s did not run", tpl.Example.ExpectNode)
				var out any
				require.NoError(t, json.Unmarshal(output, &out))
				require.True(t, contains(out, tpl.Example.Expect), "output of %s: %s", tpl.Example.ExpectNode, output)
			}
		})
	}
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

// feed runs the example's feeder once, from a manual trigger, and returns the execution of the
// template's workflow that the message started.
func feed(t *testing.T, env *enginetest.Env, m *listen.Manager, tpl templates.Template, ids map[string]string, workflowID string, input json.RawMessage) *store.Execution {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for m.Running() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	node, err := templates.Resolve(*tpl.Example.Feed, ids)
	require.NoError(t, err)
	node.ID = "feed"
	fw, err := env.Service.CreateWorkflow(ctx, store.DefaultTenant, &workflow.Definition{Name: "feed " + tpl.ID,
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
			t.Fatalf("no execution of %s after feeding it %d times", tpl.ID, attempt+1)
		}
		fmt.Fprintf(os.Stderr, "%s: no message consumed yet, feeding again\n", tpl.ID)
	}
}
