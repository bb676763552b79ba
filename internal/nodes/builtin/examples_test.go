package builtin_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// runExamples lists the types whose Docs examples TestDocsExamples runs. Their examples follow the
// convention docExamples reads; add a type once its examples do and can run on their own (no server
// to call, no wait, no files).
var runExamples = []node.TypeName{
	"trigger.manual", "trigger.schedule",
	"data.set", "data.transform", "data.filter",
	"flow.if", "flow.switch", "flow.merge", "flow.fail",
	"data.sort", "data.limit", "data.aggregate", "data.rename", "data.dedupe", "data.compare", "data.jq", "data.template",
	"code.javascript",
}

// docExample is one example of a type's Docs: a node configuration (or a whole workflow), the run's
// input, and the node's output with its port (or the workflow's output), or the node's error.
type docExample struct {
	name                    string
	config, workflow, input json.RawMessage
	output, err             json.RawMessage
	port                    string
}

var portLabel = regexp.MustCompile("port `([a-z][a-z0-9_]*)`")

// docExamples reads the examples of a Docs text. An example is the text under a heading (## or ###)
// that starts with "Example", or a ### heading inside such a section; in it, each ```json block is
// named by the paragraph just before it: "Configuration:", "Workflow:", "Input:", "Output:" (or
// "Output on port `false`:") and "Error:" (an object with code and message). Other blocks are prose.
func docExamples(docs string) []docExample {
	var out []docExample
	var cur *docExample
	inExampleSection := false
	label := ""
	lines := strings.Split(docs, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if h, ok := strings.CutPrefix(line, "## "); ok {
			inExampleSection = strings.HasPrefix(h, "Example")
			cur = nil
			if inExampleSection {
				out = append(out, docExample{name: h})
				cur = &out[len(out)-1]
			}
			continue
		}
		if h, ok := strings.CutPrefix(line, "### "); ok {
			cur = nil
			if inExampleSection || strings.HasPrefix(h, "Example") {
				out = append(out, docExample{name: h})
				cur = &out[len(out)-1]
			}
			continue
		}
		if strings.HasPrefix(line, "```") {
			var block []string
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
				block = append(block, lines[i])
			}
			if cur == nil || strings.TrimPrefix(line, "```") != "json" {
				continue
			}
			raw := json.RawMessage(strings.Join(block, "\n"))
			switch {
			case strings.HasPrefix(label, "Configuration"):
				cur.config = raw
			case strings.HasPrefix(label, "Workflow"):
				cur.workflow = raw
			case strings.HasPrefix(label, "Input"):
				cur.input = raw
			case strings.HasPrefix(label, "Output"):
				cur.output = raw
				if m := portLabel.FindStringSubmatch(label); m != nil {
					cur.port = m[1]
				}
			case strings.HasPrefix(label, "Error"):
				cur.err = raw
			}
			continue
		}
		if strings.TrimSpace(line) != "" {
			label = strings.TrimSpace(line)
		}
	}
	return out
}

// TestDocsExamples runs the examples in the Docs of the types in runExamples through the engine and
// checks that the node outputs what the example says, so that the documentation cannot drift from
// the behaviour.
func TestDocsExamples(t *testing.T) {
	t.Parallel()
	env := enginetest.Start(t, enginetest.Options{})
	for _, name := range runExamples {
		typ, ok := env.Registry.Lookup(name)
		require.True(t, ok, "runExamples names %s, which is not registered", name)
		examples := docExamples(typ.Info.Docs)
		runnable := 0
		for i, ex := range examples {
			if ex.config == nil && ex.workflow == nil || ex.output == nil && ex.err == nil {
				continue
			}
			runnable++
			t.Run(fmt.Sprintf("%s/%d", name, i+1), func(t *testing.T) {
				t.Parallel()
				runExample(t, env, typ, ex)
			})
		}
		require.Positive(t, runnable, "%s has no runnable example (Configuration or Workflow, and Output or Error)", name)
	}
}

func runExample(t *testing.T, env *enginetest.Env, typ *node.Type, ex docExample) {
	t.Helper()
	def := ex.workflow
	if def == nil {
		var cfg map[string]any
		require.NoError(t, json.Unmarshal(ex.config, &cfg), "the example's configuration")
		nodes := []map[string]any{{"id": "start", "type": "trigger.manual"}, {"id": "n", "type": typ.Info.Type, "config": cfg}}
		edges := []map[string]any{{"source": "start", "target": "n"}}
		if typ.IsTrigger() {
			nodes, edges = []map[string]any{{"id": "n", "type": typ.Info.Type, "config": cfg}}, nil
		}
		var err error
		def, err = json.Marshal(map[string]any{"name": "example " + ex.name, "nodes": nodes, "edges": edges})
		require.NoError(t, err)
	}
	input := "null"
	if ex.input != nil {
		input = string(ex.input)
	}
	w := env.Save(t, string(def))
	exec := env.Run(t, w.ID, input)
	if ex.workflow != nil {
		require.Equal(t, workflow.ExecutionSucceeded, exec.Status, "execution error: %+v", exec.Error)
		got, err := json.Marshal(enginetest.Output(t, exec))
		require.NoError(t, err)
		require.JSONEq(t, string(ex.output), string(got), "the workflow's output")
		return
	}
	run := env.Runs(t, exec.ID)["n"]
	if ex.err != nil {
		var want struct{ Code, Message string }
		require.NoError(t, json.Unmarshal(ex.err, &want), "the example's error")
		require.NotNil(t, run.Error, "the node did not fail: status %s, output %s", run.Status, run.Output)
		require.Equal(t, want.Code, run.Error.Code)
		require.Equal(t, want.Message, run.Error.Message)
		return
	}
	require.Equal(t, workflow.NodeRunSucceeded, run.Status, "node error: %+v", run.Error)
	require.JSONEq(t, string(ex.output), string(run.Output), "the node's output")
	if ex.port != "" {
		require.Equal(t, ex.port, run.Port)
	}
}

func TestDocExamplesParse(t *testing.T) {
	t.Parallel()
	docs := "## Configuration\n\n```json\n{\"no\": 1}\n```\n\n## Example\n\nConfiguration:\n\n```json\n{\"a\": 1}\n```\n\n" +
		"Input:\n\n```json\n[1]\n```\n\nOutput on port `false`:\n\n```json\n2\n```\n\n### Another\n\nWorkflow:\n\n```json\n{}\n```\n\n" +
		"Error:\n\n```json\n{\"code\": \"x\"}\n```\n\n```sh\ncurl\n```\n\n## Errors\n\nOutput:\n\n```json\n3\n```\n"
	got := docExamples(docs)
	require.Len(t, got, 2)
	require.JSONEq(t, `{"a": 1}`, string(got[0].config))
	require.JSONEq(t, `[1]`, string(got[0].input))
	require.JSONEq(t, `2`, string(got[0].output))
	require.Equal(t, "false", got[0].port)
	require.Equal(t, "Another", got[1].name)
	require.JSONEq(t, `{}`, string(got[1].workflow))
	require.JSONEq(t, `{"code": "x"}`, string(got[1].err))
	require.Nil(t, got[1].output)
}
