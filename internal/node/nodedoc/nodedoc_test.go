package nodedoc_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/node/nodedoc"
)

// fake is a node type whose Info the test chooses.
type fake struct{ info node.Info }

func (f *fake) NodeInfo() node.Info { return f.info }
func (f *fake) Execute(context.Context, *node.Input) (node.Output, error) {
	return node.Out(nil), nil
}

// dynamic is a fake with configuration-dependent output ports.
type dynamic struct{ fake }

func (*dynamic) OutputPorts() []string { return []string{"out"} }

const goodDocs = "Intro.\n\n## Configuration\n\nx\n\n## Output\n\nx\n\n## Limits\n\nx\n\n## Errors\n\nx\n\n## Example\n\nx\n"

func goodInfo() node.Info {
	return node.Info{
		Type: "test.good", Title: "Good", Category: "Data", Icon: "file-text", Description: "Does good. Twice.",
		Docs:    goodDocs,
		Inputs:  []node.PortSpec{{Name: "in", Title: "Input"}},
		Outputs: []node.PortSpec{{Name: "out", Title: "Output", Description: "The result"}},
		Schema: json.RawMessage(`{"type": "object", "additionalProperties": false, "required": ["name"], "properties": {
  "name": {"type": "string", "title": "Name", "description": "Who | what", "examples": ["ada"]},
  "mode": {"type": "string", "title": "Mode", "description": "How", "enum": ["a", "b"], "default": "a"}}}`),
	}
}

func register(t *testing.T, n node.Node) *node.Type {
	t.Helper()
	r := node.NewRegistry()
	require.NoError(t, r.Register(n))
	typ, ok := r.Lookup(n.NodeInfo().Type)
	require.True(t, ok)
	return typ
}

func newFake(info node.Info) *fake {
	f := &fake{info: info}
	f.info.New = func() node.Node { return &fake{info: info} }
	return f
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(*node.Info)
		pending bool
		want    []string
	}{
		{name: "BadCategory", change: func(i *node.Info) { i.Category = "Network" },
			want: []string{`Category "Network" is not one of ` + strings.Join(nodedoc.Categories(), ", ")}},
		{name: "BadIcon", change: func(i *node.Info) { i.Icon = "FileText" },
			want: []string{`Icon "FileText" is not a lucide icon name in kebab case, such as file-text`}},
		{name: "Complete", change: func(*node.Info) {}},
		{name: "DocsHeadingAndSections", change: func(i *node.Info) {
			i.Docs = "# Title\n\n## Configuration\n\n```md\n## Output\n# not a heading\n```\n\n## Examples\n"
		}, want: []string{`Docs line 1 is a top-level heading ("# Title"): start at ##`, "Docs has no section ## Output, ## Limits, ## Errors"}},
		{name: "DocsPending", change: func(i *node.Info) { i.Docs = "" }, pending: true},
		{name: "DocsUnclosedFence", change: func(i *node.Info) { i.Docs = goodDocs + "```json\n{}\n" },
			want: []string{"Docs has a code fence (```) that is never closed"}},
		{name: "Empty", change: func(i *node.Info) {
			i.Title, i.Description, i.Category, i.Icon, i.Docs = "", "", "", "", ""
		}, want: []string{
			"Title is empty", "Description is empty", "Category is empty (one of " + strings.Join(nodedoc.Categories(), ", ") + ")",
			"Icon is empty (a lucide icon name in kebab case, such as file-text)",
			"Docs is empty (Markdown with the sections ## Configuration, ## Output, ## Limits, ## Errors, ## Example)",
		}},
		{name: "OpenObjects", change: func(i *node.Info) {
			i.Schema = json.RawMessage(`{"type": "object", "properties": {
  "auth": {"type": "object", "title": "A", "description": "B", "properties": {"x": {"type": "string", "title": "X", "description": "Y", "examples": ["x"]}}},
  "rows": {"type": "array", "title": "R", "description": "S", "items": {"type": "object", "additionalProperties": false, "properties": {"k": {"title": "K", "description": "L"}}}}}}`)
		}, want: []string{
			`schema object the configuration declares properties without "additionalProperties": false`,
			`schema object "auth" declares properties without "additionalProperties": false`,
		}},
		{name: "PortTitles", change: func(i *node.Info) {
			i.Inputs = []node.PortSpec{{Name: "in"}}
			i.Outputs = []node.PortSpec{{Name: "out", Title: "Out"}, {Name: "error"}}
		}, want: []string{`input port "in" has no Title`, `output port "error" has no Title`}},
		{name: "SchemaAnnotations", change: func(i *node.Info) {
			i.Schema = json.RawMessage(`{"type": "object", "additionalProperties": false, "properties": {
  "a": {"type": "string", "examples": ["x"]},
  "b": {"type": "string", "title": "B"},
  "cases": {"type": "array", "title": "Cases", "description": "C", "items": {"type": "object", "additionalProperties": false, "properties": {"port": {"description": "P"}}}}}}`)
		}, want: []string{
			`schema property "a" has no title and no description`,
			`schema property "b" has no description`,
			`schema property "cases[].port" has no title`,
		}},
		{name: "SchemaWithoutExamples", change: func(i *node.Info) {
			i.Schema = json.RawMessage(`{"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string", "title": "A", "description": "B"}}}`)
		}, want: []string{`schema has configuration fields but no "examples" on any of them`}},
		{name: "SchemaUnreadable", change: func(i *node.Info) {
			i.Schema = json.RawMessage(`{"properties": {"a": {"$ref": "https://example.com/x"}}}`)
		}, want: []string{`schema: $ref "https://example.com/x" is not local (#/…)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			info := goodInfo()
			tt.change(&info)
			require.Equal(t, tt.want, nodedoc.Check(info, tt.pending))
		})
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	schema := json.RawMessage(`{
  "type": "object", "additionalProperties": false, "required": ["url", "auth"],
  "$defs": {"secret": {"type": "string", "title": "Secret", "description": "A secret", "writeOnly": true}},
  "properties": {
    "url": {"type": "string", "title": "URL", "description": "Where", "examples": ["https://a.example"]},
    "method": {"title": "Method", "description": "How", "enum": ["GET", "POST"], "default": "GET"},
    "auth": {"type": "object", "title": "Auth", "description": "Who", "additionalProperties": false, "required": ["key"],
      "properties": {"key": {"$ref": "#/$defs/secret", "title": "Key"}, "scheme": {"const": "bearer", "title": "Scheme", "description": "S"}},
      "allOf": [{"if": {"properties": {"key": {"const": "x"}}}, "then": {"properties": {"scheme": false}}}]},
    "cases": {"type": "array", "title": "Cases", "description": "C", "items": {"type": "object", "properties": {
      "when": {"title": "When", "description": "W", "x-cm-expression": true}}}},
    "tags": {"type": ["array", "null"], "items": {"type": "string"}, "title": "Tags", "description": "T", "default": [ "a",  "b" ]},
    "headers": {"type": "object", "title": "Headers", "description": "H", "additionalProperties": {"type": "object", "properties": {
      "value": {"type": "string", "title": "Value", "description": "V"}}}},
    "anything": true,
    "never": false
  }
}`)
	got, err := nodedoc.Fields(schema)
	require.NoError(t, err)
	type row struct {
		Path, Type   string
		Required     bool
		Default      string
		Enum         string
		Examples     string
		Title        string
		Expr, Secret bool
	}
	var rows []row
	for _, f := range got {
		r := row{Path: f.Path, Type: f.Type, Required: f.Required, Default: string(f.Default), Title: f.Title, Expr: f.Expression, Secret: f.WriteOnly}
		for _, e := range f.Enum {
			r.Enum += string(e) + " "
		}
		for _, e := range f.Examples {
			r.Examples += string(e) + " "
		}
		rows = append(rows, r)
	}
	require.Equal(t, []row{
		{Path: "url", Type: "string", Required: true, Title: "URL", Examples: `"https://a.example" `},
		{Path: "method", Type: "string", Default: `"GET"`, Enum: `"GET" "POST" `, Title: "Method"},
		{Path: "auth", Type: "object", Required: true, Title: "Auth"},
		{Path: "auth.key", Type: "string", Required: true, Title: "Key", Secret: true},
		{Path: "auth.scheme", Type: "string", Enum: `"bearer" `, Title: "Scheme"},
		{Path: "cases", Type: "array of object", Title: "Cases"},
		{Path: "cases[].when", Type: "any", Title: "When", Expr: true},
		{Path: "tags", Type: "array of string or null", Default: `["a","b"]`, Title: "Tags"},
		{Path: "headers", Type: "object", Title: "Headers"},
		{Path: "headers.*.value", Type: "string", Title: "Value"},
		{Path: "anything", Type: "any"},
	}, rows)
	require.Equal(t, "A secret", got[3].Description, "the $ref target's description, its title overridden")

	t.Run("Errors", func(t *testing.T) {
		t.Parallel()
		for _, bad := range []string{`[1]`, `{"properties": [1]}`, `{"properties": {"a": {"$ref": "#/$defs/none"}}}`,
			`{"$defs": {"a": {"$ref": "#/$defs/a"}}, "properties": {"a": {"$ref": "#/$defs/a"}}}`} {
			_, err := nodedoc.Fields(json.RawMessage(bad))
			require.Error(t, err, bad)
		}
		fields, err := nodedoc.Fields(nil)
		require.NoError(t, err)
		require.Empty(t, fields)
	})

	t.Run("Recursive", func(t *testing.T) {
		t.Parallel()
		tree := json.RawMessage(`{"$defs": {"node": {"type": "object", "title": "Node", "description": "N", "additionalProperties": false,
  "properties": {"name": {"type": "string", "title": "Name", "description": "M", "examples": ["a"]}, "children": {"type": "array", "title": "Children", "description": "C", "items": {"$ref": "#/$defs/node"}}}}},
  "type": "object", "additionalProperties": false, "properties": {"root": {"$ref": "#/$defs/node"}}}`)
		fields, err := nodedoc.Fields(tree)
		require.NoError(t, err)
		var paths []string
		for _, f := range fields {
			paths = append(paths, f.Path)
		}
		require.Equal(t, []string{"root", "root.name", "root.children"}, paths, "listed once, where it first appears")
		require.Empty(t, nodedoc.Check(node.Info{Type: "test.tree", Title: "T", Description: "D", Category: "Data", Icon: "tree", Schema: tree}, true))
	})
}

func TestFirstSentence(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"One. Two.", "One."},
		{"Waits for a duration (e.g. 5m). Then goes on.", "Waits for a duration (e.g. 5m)."},
		{"Joins branches. all waits for every branch.", "Joins branches. all waits for every branch."},
		{"No full stop", "No full stop"},
		{"Uses e.g. Foo here. Then.", "Uses e.g. Foo here."},
		{"Spans\nlines. Next.", "Spans lines."},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, nodedoc.FirstSentence(tt.in), tt.in)
	}
}

func TestPage(t *testing.T) {
	t.Parallel()
	page, err := nodedoc.Page(register(t, newFake(goodInfo())))
	require.NoError(t, err)
	for _, want := range []string{
		nodedoc.GeneratedNote + "\n\n# Good — `test.good`\n\nDoes good. Twice.\n\n",
		"Node type · category **Data** · icon `file-text` · version 1 · [all node types](README.md)",
		"| input | `in` | Input |  |\n| output | `out` | Output | The result |\n",
		"| `name` | string | yes |  | **Name**. Who \\| what. Example: `\"ada\"`. |\n",
		"| `mode` | string |  | `\"a\"` | **Mode**. How. One of `\"a\"`, `\"b\"`. |\n",
		"\n\nIntro.\n\n## Configuration\n",
	} {
		require.Contains(t, page, want)
	}
	require.NotContains(t, page, "More output ports")

	info := goodInfo()
	info.Type, info.Docs, info.Schema = "trigger.bare", "", nil
	info.Inputs = nil
	info.New = func() node.Node { return &dynamic{} }
	page, err = nodedoc.Page(register(t, &dynamic{fake{info: info}}))
	require.NoError(t, err)
	require.Contains(t, page, "Trigger · category")
	require.Contains(t, page, "More output ports follow from the configuration.")
	require.Contains(t, page, "## Fields\n\nIt takes no configuration.\n")
	require.Contains(t, page, "_This type has no documentation yet._")
}

func TestIndexAndReadme(t *testing.T) {
	t.Parallel()
	mk := func(typ, category, desc string) *node.Type {
		info := goodInfo()
		info.Type, info.Category, info.Description = node.TypeName(typ), category, desc
		return register(t, newFake(info))
	}
	types := []*node.Type{
		mk("http.get", "HTTP", "Gets. Then more."), mk("data.b", "Data", "B <x> | y."), mk("data.a", "Data", "A."),
		mk("misc.z", "Zeta", "Z."), mk("trigger.t", "Triggers", "T."),
	}
	index := nodedoc.Index(types)
	require.Contains(t, index, "ConcertMaster ships 5 node types in 4 categories.")
	iTrig, iData, iHTTP, iZeta := strings.Index(index, "## Triggers"), strings.Index(index, "## Data"), strings.Index(index, "## HTTP"), strings.Index(index, "## Zeta")
	require.True(t, iTrig < iData && iData < iHTTP && iHTTP < iZeta, "categories in the palette's order, others last")
	require.Contains(t, index, "| [`data.a`](data.a.md) | Good | A. |\n| [`data.b`](data.b.md) | Good | B &lt;x> \\| y. |\n")

	table := nodedoc.ReadmeTable(types, "docs/nodes")
	require.Contains(t, table, "| [`http.get`](docs/nodes/http.get.md) | HTTP | Gets. |\n")

	doc := []byte("# R\n\nbefore\n" + nodedoc.ReadmeBegin + "\nold\n" + nodedoc.ReadmeEnd + "\nafter\n")
	got, err := nodedoc.ReplaceBlock(doc, nodedoc.ReadmeBegin, nodedoc.ReadmeEnd, "new\n")
	require.NoError(t, err)
	require.Equal(t, "# R\n\nbefore\n"+nodedoc.ReadmeBegin+"\n"+nodedoc.GeneratedNote+"\n\nnew\n"+nodedoc.ReadmeEnd+"\nafter\n", string(got))
	again, err := nodedoc.ReplaceBlock(got, nodedoc.ReadmeBegin, nodedoc.ReadmeEnd, "new\n")
	require.NoError(t, err)
	require.Equal(t, string(got), string(again), "idempotent")
	_, err = nodedoc.ReplaceBlock([]byte(nodedoc.ReadmeEnd+nodedoc.ReadmeBegin), nodedoc.ReadmeBegin, nodedoc.ReadmeEnd, "x")
	require.ErrorContains(t, err, "missing or out of order")
}

func TestWriteText(t *testing.T) {
	t.Parallel()
	info := goodInfo()
	info.Description = strings.Repeat("word ", 30)
	var b strings.Builder
	require.NoError(t, nodedoc.WriteText(&b, register(t, newFake(info))))
	out := b.String()
	for _, want := range []string{
		"test.good — Good\nnode type · category Data · icon file-text · version 1\n\n",
		"Ports\n  input   in   Input\n  output  out  Output: The result\n",
		"Fields\n  name (string, required)\n      Name. Who | what. Example: \"ada\".\n",
		"  mode (string, default \"a\")\n      Mode. How. One of \"a\", \"b\".\n",
		"\nIntro.\n\n## Configuration\n",
	} {
		require.Contains(t, out, want)
	}
	for _, line := range strings.Split(out, "\n") {
		require.LessOrEqual(t, len(line), 100, line)
	}
}
