package nodedoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/concertmaster/concertmaster/internal/node"
)

// GeneratedNote opens every generated file: how to regenerate it, and that it must not be edited.
const GeneratedNote = "<!-- Generated from the node registry by `go test ./internal/nodes/builtin -run TestDocs -update`: " +
	"edit the node type (its Info, schema and Docs), not this file. -->"

// Page returns a node type's documentation page in Markdown: its title and type name, description,
// category, icon and version, its ports, a table of its configuration fields, then its Docs.
func Page(t *node.Type) (string, error) {
	info := t.Info
	fields, err := Fields(info.Schema)
	if err != nil {
		return "", fmt.Errorf("%s: %w", info.Type, err)
	}
	var b strings.Builder
	b.WriteString(GeneratedNote + "\n\n")
	fmt.Fprintf(&b, "# %s — `%s`\n\n", info.Title, info.Type)
	fmt.Fprintf(&b, "%s\n\n", info.Description)
	kind := "Node type"
	if t.IsTrigger() {
		kind = "Trigger"
	}
	fmt.Fprintf(&b, "%s · category **%s** · icon `%s` · version %d · [all node types](README.md)\n\n", kind, info.Category, info.Icon, info.Version)

	b.WriteString("## Ports\n\n")
	if len(info.Inputs)+len(info.Outputs) == 0 {
		b.WriteString("None.\n\n")
	} else {
		b.WriteString("| direction | port | title | description |\n|---|---|---|---|\n")
		for _, p := range info.Inputs {
			fmt.Fprintf(&b, "| input | `%s` | %s | %s |\n", p.Name, cell(p.Title), cell(p.Description))
		}
		for _, p := range info.Outputs {
			fmt.Fprintf(&b, "| output | `%s` | %s | %s |\n", p.Name, cell(p.Title), cell(p.Description))
		}
		b.WriteString("\n")
	}
	if _, dynamic := info.New().(node.DynamicPorts); dynamic {
		b.WriteString("More output ports follow from the configuration.\n\n")
	}
	if len(info.Inputs) == 0 && !t.IsTrigger() {
		b.WriteString("It has no input port.\n\n")
	}

	b.WriteString("## Fields\n\n")
	if len(fields) == 0 {
		b.WriteString("It takes no configuration.\n\n")
	} else {
		b.WriteString("| field | type | required | default | description |\n|---|---|---|---|---|\n")
		for _, f := range fields {
			req := ""
			if f.Required {
				req = "yes"
			}
			def := ""
			if f.Default != nil {
				def = code(string(f.Default))
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.Path, cell(f.Type), req, def, fieldDescription(f))
		}
		b.WriteString("\n")
	}
	if docs := strings.TrimSpace(info.Docs); docs != "" {
		b.WriteString(docs + "\n")
	} else {
		b.WriteString("_This type has no documentation yet._\n")
	}
	return b.String(), nil
}

// fieldDescription is a field's description cell: title, description, allowed values, examples and
// notes.
func fieldDescription(f Field) string {
	var parts []string
	if f.Title != "" {
		parts = append(parts, "**"+cell(f.Title)+"**.")
	}
	if f.Description != "" {
		parts = append(parts, sentence(cell(f.Description)))
	}
	if len(f.Enum) > 0 {
		parts = append(parts, "One of "+codes(f.Enum)+".")
	}
	if len(f.Examples) > 0 {
		label := "Example"
		if len(f.Examples) > 1 {
			label = "Examples"
		}
		parts = append(parts, label+": "+codes(f.Examples)+".")
	}
	if f.Expression {
		parts = append(parts, "Holds an `{{ expression }}`.")
	}
	if f.WriteOnly {
		parts = append(parts, "Write-only: a secret, never shown back.")
	}
	return strings.Join(parts, " ")
}

func codes(values []json.RawMessage) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = code(string(v))
	}
	return strings.Join(out, ", ")
}

// code writes s as a Markdown code span in a table cell.
func code(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || len(fence) > 1 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// cell makes text safe in a Markdown table cell: one line, pipes escaped, and "<" escaped outside code
// spans so that <RFC 3339> is not read as HTML.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	inCode := false
	for _, r := range s {
		switch {
		case r == '`':
			inCode = !inCode
			b.WriteRune(r)
		case r == '|':
			b.WriteString(`\|`)
		case r == '<' && !inCode:
			b.WriteString("&lt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sentence ends s with a full stop unless it ends a sentence or a clause already.
func sentence(s string) string {
	if s == "" {
		return s
	}
	if r, _ := utf8.DecodeLastRuneInString(s); strings.ContainsRune(".!?…:;", r) {
		return s
	}
	return s + "."
}

// FirstSentence returns the first sentence of a description, for short table rows.
func FirstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for i := 0; i < len(s); i++ {
		if s[i] != '.' || i+2 >= len(s) || s[i+1] != ' ' {
			continue
		}
		next, _ := utf8.DecodeRuneInString(s[i+2:])
		word := s[strings.LastIndexByte(s[:i], ' ')+1 : i+1]
		if unicode.IsUpper(next) && word != "e.g." && word != "i.e." {
			return s[:i+1]
		}
	}
	return s
}

// ByCategory groups types by category, in the order of Categories and then by name; a category
// outside Categories comes after them, alphabetically.
func ByCategory(types []*node.Type) [][]*node.Type {
	order := Categories()
	rank := func(c string) int {
		if i := slices.Index(order, c); i >= 0 {
			return i
		}
		return len(order)
	}
	sorted := slices.Clone(types)
	slices.SortStableFunc(sorted, func(a, b *node.Type) int {
		if d := rank(a.Info.Category) - rank(b.Info.Category); d != 0 {
			return d
		}
		if c := strings.Compare(a.Info.Category, b.Info.Category); c != 0 {
			return c
		}
		return strings.Compare(string(a.Info.Type), string(b.Info.Type))
	})
	var out [][]*node.Type
	for _, t := range sorted {
		if n := len(out); n > 0 && out[n-1][0].Info.Category == t.Info.Category {
			out[n-1] = append(out[n-1], t)
			continue
		}
		out = append(out, []*node.Type{t})
	}
	return out
}

// Index returns docs/nodes/README.md: every type by category, with its title and description, each
// linked to its page.
func Index(types []*node.Type) string {
	var b strings.Builder
	b.WriteString(GeneratedNote + "\n\n# Node types\n\n")
	groups := ByCategory(types)
	fmt.Fprintf(&b, "ConcertMaster ships %d node types in %d categories. Each page gives the type's ports, its configuration "+
		"fields (from its JSON Schema) and its documentation: how the configuration is read, the output, the limits, "+
		"the error codes and examples. `concertmaster nodes describe TYPE` prints the same in a terminal, "+
		"`GET /api/v1/node-types/{type}` returns it (`docs`), and the editor's Node types page shows it.\n\n", len(types), len(groups))
	for _, g := range groups {
		fmt.Fprintf(&b, "## %s\n\n| type | title | description |\n|---|---|---|\n", g[0].Info.Category)
		for _, t := range g {
			fmt.Fprintf(&b, "| [`%s`](%s.md) | %s | %s |\n", t.Info.Type, t.Info.Type, cell(t.Info.Title), cell(t.Info.Description))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// README markers delimit the generated node table in the repository's README.
const (
	ReadmeBegin = "<!-- nodes:begin -->"
	ReadmeEnd   = "<!-- nodes:end -->"
)

// ReadmeTable returns the README's node table: one short row per type (its first sentence), linked
// to its page under dir (such as "docs/nodes").
func ReadmeTable(types []*node.Type, dir string) string {
	var b strings.Builder
	b.WriteString("| type | category | what it does |\n|---|---|---|\n")
	for _, g := range ByCategory(types) {
		for _, t := range g {
			fmt.Fprintf(&b, "| [`%s`](%s/%s.md) | %s | %s |\n", t.Info.Type, dir, t.Info.Type, t.Info.Category, cell(FirstSentence(t.Info.Description)))
		}
	}
	return b.String()
}

// ReplaceBlock returns doc with the text between the begin and end markers replaced by block. It
// fails when the markers are missing or out of order.
func ReplaceBlock(doc []byte, begin, end, block string) ([]byte, error) {
	i := bytes.Index(doc, []byte(begin))
	j := bytes.Index(doc, []byte(end))
	if i < 0 || j < 0 || j < i {
		return nil, fmt.Errorf("the markers %s and %s are missing or out of order", begin, end)
	}
	var b bytes.Buffer
	b.Write(doc[:i+len(begin)])
	b.WriteString("\n" + GeneratedNote + "\n\n")
	b.WriteString(block)
	b.Write(doc[j:])
	return b.Bytes(), nil
}
