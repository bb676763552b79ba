package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMain lets a test run the real command in a child process: with CM_TEST_MAIN=1 the test binary
// is concertmaster, and its arguments are the command line.
func TestMain(m *testing.M) {
	if os.Getenv("CM_TEST_MAIN") == "1" {
		os.Exit(run())
	}
	os.Exit(m.Run())
}

// TestExitCode runs the binary as a process: a bad setting exits with code 2 before anything starts.
func TestExitCode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "CM_TEST_MAIN=1", "CM_WORKERS=abc", "CM_DATABASE_URL=sqlite://"+filepath.Join(dir, "cm.db"))
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, string(out))
	require.Equal(t, 2, exitErr.ExitCode(), string(out))
	require.Equal(t, "concertmaster: invalid configuration:\nCM_WORKERS=\"abc\": want a whole number from 1 to 10000\n", string(out))
	_, statErr := os.Stat(filepath.Join(dir, "cm.db"))
	require.ErrorIs(t, statErr, os.ErrNotExist, "nothing was created")
}

// execute runs the CLI in process with args and returns stdout, stderr and the exit code.
func execute(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot(&out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	code := 0
	if err != nil {
		code = 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

// executeEnv is execute with env as the whole environment.
func executeEnv(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	environ := func() []string {
		var kv []string
		for k, v := range env {
			kv = append(kv, k+"="+v)
		}
		return kv
	}
	root := newRootEnv(&out, &errOut, lookup, environ)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	code := 0
	if err != nil {
		code = 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		file     string
		args     []string
		code     int
		contains []string
	}{
		{name: "Succeeds", file: "../../examples/orders.json", args: []string{"--input", `{"total": 50, "customer": "ada"}`},
			contains: []string{"✔ start (trigger.manual)", "– tax (data.set)", "skipped", "succeeded", `"code": "SMALL-ADA"`}},
		{name: "ScheduleExampleByHand", file: "../../examples/weekday-report.json",
			contains: []string{"✔ mornings (trigger.schedule)", `"for": "a run by hand"`, "succeeded"}},
		{name: "ScheduleExampleAsFired", file: "../../examples/weekday-report.json",
			args:     []string{"--input", `{"scheduledAt": "2026-03-30T07:00:00Z", "firedAt": "2026-03-30T07:00:00.004Z", "timezone": "Europe/Paris"}`},
			contains: []string{`"for": "2026-03-30T07:00:00Z"`, `"title": "Operations report"`}},
		{name: "InvalidInput", file: "../../examples/orders.json", args: []string{"--input", `{nope`}, code: 2, contains: []string{"not valid JSON"}},
		{name: "InvalidWorkflow", file: writeFile(t, "bad.json", `{"name":"x","nodes":[{"id":"a","type":"flow.if","config":{}}]}`),
			code: 2, contains: []string{"/nodes/0/config/condition", "condition is required"}},
		{name: "UnknownField", file: writeFile(t, "unknown.json", `{"name":"x","nodes":[],"colour":1}`), code: 2, contains: []string{"unknown field"}},
		{name: "Fails", file: writeFile(t, "fail.json", `{"name":"x","nodes":[{"id":"s","type":"trigger.manual"},{"id":"f","type":"flow.fail","config":{"message":"nope"}}],
			"edges":[{"source":"s","target":"f"}]}`), code: 1, contains: []string{"✘ f (flow.fail)", "Execution", "failed"}},
		{name: "MissingFile", file: "does-not-exist.json", code: 2, contains: []string{"no such file"}},
		{name: "OrdersExportExample", file: "../../examples/orders-export.json",
			args:     []string{"--files-dir", filepath.Join(t.TempDir(), "files"), "--input", `{"orders": [{"id": 1, "customer": "Ada", "total": 12.5}, {"id": 2, "customer": "Grace", "total": 7}]}`},
			contains: []string{"✔ save (file.write)", "✔ load (file.read)", `"filesInExports": 1`, `"customer": "Grace"`, `"total": 12.5`, "succeeded"}},
		{name: "ScrapeAndConvertExample", file: "../../examples/scrape-and-convert.json",
			contains: []string{`"title": "Spring sale"`, `"@sku": "A1"`, `"daysLeft": 33`, "succeeded"}},
		{name: "CodeJavaScriptExample", file: "../../examples/code-javascript.json",
			args:     []string{"--input", `{"orders": [{"customer": "ada", "qty": 2, "price": 5}, {"customer": "bob", "qty": 1, "price": 3}]}`},
			contains: []string{"✔ totals (code.javascript)", "✔ ranked (code.javascript)", `"label": "ada: 12.00"`, `"rank": 2`, "succeeded"}},
		{name: "DataNodesExample", file: "../../examples/data-nodes.json",
			args: []string{"--input", `{"orders": [{"id": 1, "cust": "Ada", "sku": "A", "qty": 2, "price": 10}, {"id": 2, "cust": "Bob", "sku": "B", "qty": 1, "price": 99.5},
				{"id": 3, "cust": "Ada", "sku": "C", "qty": 5, "price": 3}, {"id": 2, "cust": "Bob", "sku": "B", "qty": 3, "price": 99.5}],
				"yesterday": [{"sku": "A", "price": 9}, {"sku": "B", "price": 99.5}, {"sku": "D", "price": 1}]}`},
			contains: []string{"✔ report (data.template)", `- #2 Bob: 298.50\n- #1 Ada: 20.00`, `Ada: 2 orders, 7 units`, `SKUs: A, B, C`, `"unchanged": 1`, "succeeded"}},
		{name: "SubWorkflowExample", file: "../../examples/invoice-every-order.json",
			args: []string{"--with", "../../examples/invoice.json", "--with", "../../examples/alert-on-failure.json",
				"--input", `{"orders": [{"id": 1, "total": 100}, {"id": 2, "total": 50}, {"id": 3, "total": 10}]}`},
			contains: []string{"waiting (no timeout)", "✔ invoices (flow.call)", `"gross": 192`, `"orderId": 3`, "succeeded"}},
		{name: "WithUnknownFile", file: "../../examples/invoice-every-order.json", args: []string{"--with", "nope.json"}, code: 2,
			contains: []string{"no such file"}},
		{name: "ApprovalExampleTimesOut", file: "../../examples/approval.json", args: []string{"--input", `{"amount": 250, "customer": "Ada"}`},
			contains: []string{"Refund 250 EUR to Ada?", "→ timeout", `"reason": "nobody approved in time"`, "succeeded"}},
		{name: "ApprovalExampleSmall", file: "../../examples/approval.json", args: []string{"--input", `{"amount": 20, "customer": "Ada"}`},
			contains: []string{"– ask (flow.wait)", `"reason": "small amount"`, "succeeded"}},
		{name: "WebhookAckExample", file: "../../examples/webhook-ack.json", args: []string{"--trigger", "hook", "--input", `{"body": {"id": 42, "total": 0}}`},
			contains: []string{"✔ ack (http.respond)", `"processed": false`, "succeeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := execute(t, append([]string{"run", tt.file}, tt.args...)...)
			require.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", out, errOut)
			for _, want := range tt.contains {
				require.Contains(t, out+errOut, want)
			}
		})
	}
}

func TestRunJSON(t *testing.T) {
	t.Parallel()
	out, _, code := execute(t, "run", "../../examples/orders.json", "--json", "--input", `{"total": 500, "customer": "x"}`)
	require.Equal(t, 0, code)
	var exec struct {
		Status   string
		Output   map[string]any
		NodeRuns []map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(out), &exec))
	require.Equal(t, "succeeded", exec.Status)
	require.Equal(t, 100.0, exec.Output["tax"])
	require.NotEmpty(t, exec.NodeRuns)
}

func TestNodesAndVersion(t *testing.T) {
	t.Parallel()
	out, _, code := execute(t, "nodes", "list")
	require.Zero(t, code)
	require.Contains(t, out, "http.request")
	require.Contains(t, out, "flow.switch")

	out, _, code = execute(t, "nodes", "describe", "data.set")
	require.Zero(t, code)
	for _, want := range []string{
		"data.set — Set fields",
		"node type · category Data · icon pencil · version 1",
		"Outputs the input object",
		"  input   in   Input",
		"  fields (object, required)",
		"      Fields. Field name to value",
		"  keepInput (boolean, default true)",
		"## Configuration",
		"## Errors",
		"## Example",
	} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, `"$schema"`, "the text shows the fields, not the raw schema")

	out, _, code = execute(t, "nodes", "describe", "trigger.manual")
	require.Zero(t, code)
	require.Contains(t, out, "trigger · category Triggers")
	require.Contains(t, out, "Fields\n  none\n")

	_, errOut, code := execute(t, "nodes", "describe", "nope.nope")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "unknown node type")

	out, _, code = execute(t, "version")
	require.Zero(t, code)
	require.Contains(t, out, "concertmaster")
}

func TestSettings(t *testing.T) {
	t.Parallel()
	db := func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "cm.db") }
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		// lines are the expected lines of standard error, in order.
		lines []string
	}{
		{name: "BadEnvironment", env: map[string]string{"CM_WORKERS": "abc", "CM_WEBHOOK_TIMEOUT": "x", "CM_HTTP_ALLOW_PRIVATE": "maybe"}, args: []string{"migrate"}, code: 2,
			lines: []string{"invalid configuration:", `CM_WORKERS="abc": want a whole number from 1 to 10000`, `CM_HTTP_ALLOW_PRIVATE="maybe": want true or false`,
				`CM_WEBHOOK_TIMEOUT="x": want a duration with a unit, such as 30s, 5m or 720h`}},
		{name: "BadFlag", args: []string{"serve", "--workers", "abc", "--retention-max-age=-1h"}, code: 2,
			lines: []string{"invalid configuration:", `--workers="abc": want a whole number from 1 to 10000`, `--retention-max-age="-1h": must not be negative`}},
		{name: "BoolFlagAlone", env: map[string]string{"CM_DATABASE_URL": "%s"}, args: []string{"migrate", "--http-allow-private", "--allowed-hosts", "ci.example.com"}},
		{name: "BoolFlagBad", args: []string{"migrate", "--http-allow-private=maybe"}, code: 2, lines: []string{"invalid configuration:", `--http-allow-private="maybe": want true or false`}},
		{name: "FlagWinsOverEnvironment", env: map[string]string{"CM_WORKERS": "abc", "CM_DATABASE_URL": "%s"}, args: []string{"migrate", "--workers", "4"}},
		{name: "FlagMissingValue", args: []string{"migrate", "--workers"}, code: 2, lines: []string{"flag needs an argument: --workers"}},
		{name: "UnknownFlag", args: []string{"migrate", "--wokers", "4"}, code: 2, lines: []string{"unknown flag: --wokers"}},
		{name: "UnknownVariableWarns", env: map[string]string{"CM_WORKER": "4", "CM_DATABASE_URL": "%s"}, args: []string{"migrate"},
			lines: []string{`msg="Ignoring an environment variable that is not a setting" name=CM_WORKER`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, v := range tt.env {
				if v == "%s" {
					v = db(t)
				}
				env[k] = v
			}
			out, errOut, code := executeEnv(t, env, tt.args...)
			require.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", out, errOut)
			if tt.code == 0 {
				require.Contains(t, out, "migration(s)")
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			require.GreaterOrEqual(t, len(lines), len(tt.lines), errOut)
			for i, want := range tt.lines {
				require.Contains(t, lines[i], want)
			}
			if tt.code == 2 {
				require.Len(t, lines, len(tt.lines), "one line per problem: %s", errOut)
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "cm.db")
	out, _, code := execute(t, "migrate", "--database-url", db)
	require.Zero(t, code)
	require.Regexp(t, `applied [1-9][0-9]* migration`, out, "a fresh database gets every migration")
	out, _, code = execute(t, "migrate", "--database-url", db)
	require.Zero(t, code)
	require.Contains(t, out, "applied 0 migration")

	_, errOut, code := execute(t, "migrate", "--database-url", "mysql://x")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `--database-url="mysql://x": want sqlite://PATH`)
}

// TestAllowedHostsReachTheServer: CM_ALLOWED_HOSTS and the listen address decide which Host headers
// the real server answers.
func TestAllowedHostsReachTheServer(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "cm.db"), "CM_ALLOWED_HOSTS=cm.example.com,*.corp.example")
	defer func() { _ = s.stop(t, syscall.SIGTERM) }()
	tests := []struct {
		host string
		want int
	}{
		{host: "cm.example.com", want: http.StatusOK},
		{host: "eu.corp.example:8443", want: http.StatusOK},
		{host: "localhost", want: http.StatusOK},
		{host: "rebind.attacker.test", want: http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+"/api/v1/workflows", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Host = tt.host
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, tt.want, resp.StatusCode, tt.host)
	}
}
