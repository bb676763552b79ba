package nodedoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/concertmaster/concertmaster/internal/node"
)

// Categories returns the palette's categories, in the order the editor, the docs and the CLI show
// them. A built-in type belongs to one of them.
func Categories() []string {
	return []string{"Triggers", "Flow", "Data", "Code", "Files", "HTTP", "Databases", "Messaging", "Storage", "AI"}
}

// Sections returns the second-level headings every type's Docs has, in order. "Example" also matches
// "Examples" and "Example: …".
func Sections() []string {
	return []string{"Configuration", "Output", "Limits", "Errors", "Example"}
}

// iconPattern is a lucide icon name in kebab case, such as "file-text" or "arrow-down-wide-narrow".
var iconPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Check lists what a node type's self-description lacks against the documentation conventions: a
// title, a description, a category of Categories, a lucide icon name, a title on every port, a title
// and a description on every configuration field, additionalProperties false on every object that
// declares properties, and Docs in Markdown without a top-level heading and with every section of
// Sections. Each problem is one line that names what is missing; none means the type is complete.
// With docsPending, missing Docs are not a problem (another change is writing them).
func Check(info node.Info, docsPending bool) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if strings.TrimSpace(info.Title) == "" {
		add("Title is empty")
	}
	if strings.TrimSpace(info.Description) == "" {
		add("Description is empty")
	}
	switch {
	case info.Category == "":
		add("Category is empty (one of %s)", strings.Join(Categories(), ", "))
	case !slices.Contains(Categories(), info.Category):
		add("Category %q is not one of %s", info.Category, strings.Join(Categories(), ", "))
	}
	switch {
	case info.Icon == "":
		add("Icon is empty (a lucide icon name in kebab case, such as file-text)")
	case !iconPattern.MatchString(info.Icon):
		add("Icon %q is not a lucide icon name in kebab case, such as file-text", info.Icon)
	}
	for _, p := range info.Inputs {
		if strings.TrimSpace(p.Title) == "" {
			add("input port %q has no Title", p.Name)
		}
	}
	for _, p := range info.Outputs {
		if strings.TrimSpace(p.Title) == "" {
			add("output port %q has no Title", p.Name)
		}
	}
	out = append(out, checkSchema(info.Schema)...)
	if !docsPending {
		out = append(out, checkDocs(info.Docs)...)
	}
	return out
}

// checkSchema reports fields without a title or a description, a schema with fields but no examples,
// and open objects.
func checkSchema(schema json.RawMessage) []string {
	var out []string
	if len(bytes.TrimSpace(schema)) == 0 {
		return nil
	}
	fields, err := Fields(schema)
	if err != nil {
		return []string{err.Error()}
	}
	for _, f := range fields {
		var missing []string
		if strings.TrimSpace(f.Title) == "" {
			missing = append(missing, "title")
		}
		if strings.TrimSpace(f.Description) == "" {
			missing = append(missing, "description")
		}
		if len(missing) > 0 {
			out = append(out, fmt.Sprintf("schema property %q has no %s", f.Path, strings.Join(missing, " and no ")))
		}
	}
	if len(fields) > 0 && !bytes.Contains(schema, []byte(`"examples"`)) {
		out = append(out, "schema has configuration fields but no \"examples\" on any of them")
	}
	open, err := openObjects(schema)
	if err != nil {
		return append(out, err.Error())
	}
	for _, path := range open {
		out = append(out, fmt.Sprintf("schema object %s declares properties without \"additionalProperties\": false", path))
	}
	return out
}

// openObjects lists the objects with properties whose additionalProperties is not false: "the
// configuration" for the root, else the field's path.
func openObjects(schema json.RawMessage) ([]string, error) {
	w := &walker{expanding: map[string]bool{}}
	if err := json.Unmarshal(schema, &w.root); err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	var out []string
	var visit func(raw json.RawMessage, path string, depth int) error
	visit = func(raw json.RawMessage, path string, depth int) error {
		n, err := w.node(raw, 0)
		if err != nil || n == nil || depth >= maxDepth || w.expanding[n.ref] {
			return err
		}
		if n.ref != "" {
			w.expanding[n.ref] = true
			defer delete(w.expanding, n.ref)
		}
		if len(n.Properties) > 0 {
			if !bytes.Equal(bytes.TrimSpace(n.AdditionalProperties), []byte("false")) {
				out = append(out, cmpPath(path))
			}
			names, values, err := orderedObject(n.Properties)
			if err != nil {
				return fmt.Errorf("schema: properties of %s: %w", cmpPath(path), err)
			}
			prefix := path
			if prefix != "" {
				prefix += "."
			}
			for _, name := range names {
				if err := visit(values[name], prefix+name, depth+1); err != nil {
					return err
				}
			}
		}
		if err := visit(n.Items, path+"[]", depth+1); err != nil {
			return err
		}
		return visit(n.AdditionalProperties, path+".*", depth+1)
	}
	return out, visit(schema, "", 0)
}

func cmpPath(path string) string {
	if path == "" {
		return "the configuration"
	}
	return fmt.Sprintf("%q", path)
}

// checkDocs reports missing Docs, a top-level heading and missing sections.
func checkDocs(docs string) []string {
	if strings.TrimSpace(docs) == "" {
		return []string{fmt.Sprintf("Docs is empty (Markdown with the sections %s)", strings.Join(headings(Sections()), ", "))}
	}
	var out []string
	var found []string
	inFence := false
	for i, line := range strings.Split(docs, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if strings.HasPrefix(line, "# ") {
			out = append(out, fmt.Sprintf("Docs line %d is a top-level heading (%q): start at ##", i+1, line))
		}
		if h, ok := strings.CutPrefix(line, "## "); ok {
			found = append(found, strings.TrimSpace(h))
		}
	}
	var missing []string
	for _, s := range Sections() {
		if !slices.ContainsFunc(found, func(h string) bool { return strings.HasPrefix(h, s) }) {
			missing = append(missing, "## "+s)
		}
	}
	if len(missing) > 0 {
		out = append(out, "Docs has no section "+strings.Join(missing, ", "))
	}
	if inFence {
		out = append(out, "Docs has a code fence (```) that is never closed")
	}
	return out
}

func headings(sections []string) []string {
	out := make([]string, len(sections))
	for i, s := range sections {
		out[i] = "## " + s
	}
	return out
}
