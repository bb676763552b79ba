package validate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/builtin"
	"github.com/concertmaster/concertmaster/internal/workflow"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

// Golden files. Each testdata/*.workflowtest holds a workflow definition in JSON, then a line of ten
// dashes, then what Compile must return for it: the word ok, or the validation errors as an indented
// JSON array of {"location", "message"} objects, in the order Compile returns them. After a deliberate
// change, rewrite the expected parts with
//
//	go test ./internal/workflow/validate -run TestCompileGolden -update
//
// and review the diff. The inputs also seed FuzzCompile.

// update rewrites the expected part of every golden file from what Compile returns.
var update = flag.Bool("update", false, "rewrite the expected part of testdata/*.workflowtest")

// goldenSeparator divides a golden file's workflow JSON from its expected result, as in Caddy's
// caddyfile_adapt tests.
const goldenSeparator = "\n----------\n"

// goldenOK is the expected part of a golden file whose workflow is valid.
const goldenOK = "ok"

// goldenFile is one parsed testdata/*.workflowtest file.
type goldenFile struct {
	input    string
	expected string
}

func readGolden(t testing.TB, path string) goldenFile {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	input, expected, found := strings.Cut(string(b), goldenSeparator)
	require.True(t, found, "%s: no %q line between the workflow and the expected result", path, strings.TrimSpace(goldenSeparator))
	return goldenFile{input: input, expected: strings.TrimSpace(expected)}
}

func goldenPaths(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.workflowtest"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	return paths
}

func newRegistry(t testing.TB) *node.Registry {
	t.Helper()
	reg, err := builtin.NewRegistry(builtin.Config{})
	require.NoError(t, err)
	return reg
}

// result renders what Compile returned the way golden files spell it: "ok", or the validation errors
// as an indented JSON array, in order.
func result(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return goldenOK
	}
	var verrs workflow.ValidationErrors
	require.True(t, errors.As(err, &verrs), "Compile returned %T, not workflow.ValidationErrors: %v", err, err)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(verrs))
	return strings.TrimSpace(b.String())
}

func TestCompileGolden(t *testing.T) {
	t.Parallel()

	reg := newRegistry(t)
	for _, path := range goldenPaths(t) {
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			golden := readGolden(t, path)
			def, err := workflow.DecodeBytes([]byte(golden.input))
			require.NoError(t, err, "the workflow in %s must decode", path)

			g, err := validate.Compile(def, reg, validate.Options{})
			got := result(t, err)
			if err == nil {
				require.NotNil(t, g)
			}
			if *update {
				out := strings.TrimRight(golden.input, "\n") + goldenSeparator + got + "\n"
				require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
				return
			}
			require.Equal(t, golden.expected, got, "%s: run go test -update to accept the new result", path)
		})
	}
}

func TestCompileTooManyNodes(t *testing.T) {
	t.Parallel()

	def := &workflow.Definition{Name: "big"}
	for i := range workflow.MaxNodes + 1 {
		def.Nodes = append(def.Nodes, workflow.Node{ID: fmt.Sprintf("n%d", i), Type: "data.set", Config: map[string]any{"fields": map[string]any{}}})
	}
	_, err := validate.Compile(def, newRegistry(t), validate.Options{})
	var verrs workflow.ValidationErrors
	require.ErrorAs(t, err, &verrs)
	require.Equal(t, workflow.ValidationErrors{{
		Pointer: "/nodes",
		Message: "a workflow holds at most 2000 nodes; this one has 2001",
	}}, verrs)
}

func TestCompileGraph(t *testing.T) {
	t.Parallel()

	golden := readGolden(t, filepath.Join("testdata", "valid_multi_branch.workflowtest"))
	def, err := workflow.DecodeBytes([]byte(golden.input))
	require.NoError(t, err)
	g, err := validate.Compile(def, newRegistry(t), validate.Options{})
	require.NoError(t, err)
	require.Len(t, g.Nodes, len(def.Nodes))
	require.Len(t, g.Edges, len(def.Edges))
	for _, n := range g.Nodes {
		require.Same(t, n, g.Node(n.Spec.ID))
	}
	var triggers []string
	for _, n := range g.Triggers {
		triggers = append(triggers, n.Spec.ID)
	}
	require.Equal(t, []string{"manual", "hook", "nightly"}, triggers)
	require.NotNil(t, g.Node("each_order").ForEach)
	require.True(t, g.Node("fetch").Ports[workflow.PortError])
	require.True(t, g.Node("first_done").WaitAny)
	require.Equal(t, []string{"fetch"}, g.Node("summarise").Refs)
}

func FuzzCompile(f *testing.F) {
	for _, path := range goldenPaths(f) {
		f.Add([]byte(readGolden(f, path).input))
	}
	reg := newRegistry(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Parallel()

		def, err := workflow.DecodeBytes(data)
		if err != nil {
			return
		}
		g, err := validate.Compile(def, reg, validate.Options{})
		if err == nil {
			require.NotNil(t, g)
			return
		}
		var verrs workflow.ValidationErrors
		require.ErrorAs(t, err, &verrs)
		require.NotEmpty(t, verrs)
		for _, e := range verrs {
			require.True(t, strings.HasPrefix(e.Pointer, "/"), "pointer %q of %q", e.Pointer, e.Message)
			require.NotEmpty(t, e.Message)
		}
		// The same definition must give the same errors in the same order.
		_, again := validate.Compile(def, reg, validate.Options{})
		require.Equal(t, err, again)
	})
}

// TestCompileExpressionQuota sends what once cost seconds of CPU per request: thousands of distinct
// long expressions. The workflow's expression quota refuses it with one error, after compiling no
// more than the quota allows.
func TestCompileExpressionQuota(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	def := &workflow.Definition{Name: "many expressions"}
	for i := range 2000 {
		fields := map[string]any{}
		for j := range 2 {
			fields[fmt.Sprintf("f%d", j)] = fmt.Sprintf("{{ %d + %s1 }}", i*2+j, strings.Repeat("input.a * 2 + ", 60))
		}
		def.Nodes = append(def.Nodes, workflow.Node{ID: fmt.Sprintf("n%d", i), Type: "data.set", Config: map[string]any{"fields": fields}})
	}
	_, err := validate.Compile(def, reg, validate.Options{})
	var verrs workflow.ValidationErrors
	require.ErrorAs(t, err, &verrs)
	quota := 0
	for _, v := range verrs {
		if strings.Contains(v.Message, "the limit per workflow") {
			quota++
			require.True(t, strings.HasPrefix(v.Pointer, "/nodes/"), v.Pointer)
		}
	}
	require.Equal(t, 1, quota, "the spent quota is reported once: %v", verrs)
}
