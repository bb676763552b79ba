package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

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
		{name: "InvalidInput", file: "../../examples/orders.json", args: []string{"--input", `{nope`}, code: 2, contains: []string{"not valid JSON"}},
		{name: "InvalidWorkflow", file: writeFile(t, "bad.json", `{"name":"x","nodes":[{"id":"a","type":"flow.if","config":{}}]}`),
			code: 2, contains: []string{"/nodes/0/config/condition", "condition is required"}},
		{name: "UnknownField", file: writeFile(t, "unknown.json", `{"name":"x","nodes":[],"colour":1}`), code: 2, contains: []string{"unknown field"}},
		{name: "Fails", file: writeFile(t, "fail.json", `{"name":"x","nodes":[{"id":"s","type":"trigger.manual"},{"id":"f","type":"flow.fail","config":{"message":"nope"}}],
			"edges":[{"source":"s","target":"f"}]}`), code: 1, contains: []string{"✘ f (flow.fail)", "Execution", "failed"}},
		{name: "MissingFile", file: "does-not-exist.json", code: 2, contains: []string{"no such file"}},
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
	require.Contains(t, out, "Configuration schema")
	require.Contains(t, out, `"fields"`)

	_, errOut, code := execute(t, "nodes", "describe", "nope.nope")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "unknown node type")

	out, _, code = execute(t, "version")
	require.Zero(t, code)
	require.Contains(t, out, "concertmaster")
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "cm.db")
	out, _, code := execute(t, "migrate", "--database-url", db)
	require.Zero(t, code)
	require.Contains(t, out, "applied 1 migration")
	out, _, code = execute(t, "migrate", "--database-url", db)
	require.Zero(t, code)
	require.Contains(t, out, "applied 0 migration")

	_, errOut, code := execute(t, "migrate", "--database-url", "mysql://x")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "CM_DATABASE_URL")
}
