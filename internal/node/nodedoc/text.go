package nodedoc

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/concertmaster/concertmaster/internal/node"
)

// textWidth is where WriteText wraps descriptions.
const textWidth = 100

// WriteText writes a node type's description for a terminal: title, type, category and version,
// description, ports, every configuration field (name, type, required, default, description) and the
// Docs, as Markdown.
func WriteText(w io.Writer, t *node.Type) error {
	info := t.Info
	fields, err := Fields(info.Schema)
	if err != nil {
		return fmt.Errorf("%s: %w", info.Type, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\n", info.Type, info.Title)
	kind := "node type"
	if t.IsTrigger() {
		kind = "trigger"
	}
	fmt.Fprintf(&b, "%s · category %s · icon %s · version %d\n\n", kind, info.Category, info.Icon, info.Version)
	b.WriteString(wrap(info.Description, "", textWidth) + "\n\n")

	b.WriteString("Ports\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(info.Inputs)+len(info.Outputs) == 0 {
		fmt.Fprintln(tw, "  none")
	}
	for _, p := range info.Inputs {
		fmt.Fprintf(tw, "  input\t%s\t%s\n", p.Name, portText(p))
	}
	for _, p := range info.Outputs {
		fmt.Fprintf(tw, "  output\t%s\t%s\n", p.Name, portText(p))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, dynamic := info.New().(node.DynamicPorts); dynamic {
		b.WriteString("  (more output ports follow from the configuration)\n")
	}

	b.WriteString("\nFields\n")
	if len(fields) == 0 {
		b.WriteString("  none\n")
	}
	for _, f := range fields {
		attrs := []string{f.Type}
		if f.Required {
			attrs = append(attrs, "required")
		}
		if f.Default != nil {
			attrs = append(attrs, "default "+string(f.Default))
		}
		if f.WriteOnly {
			attrs = append(attrs, "write-only")
		}
		if f.Expression {
			attrs = append(attrs, "expression")
		}
		fmt.Fprintf(&b, "  %s (%s)\n", f.Path, strings.Join(attrs, ", "))
		var desc []string
		if f.Title != "" {
			desc = append(desc, sentence(f.Title))
		}
		if f.Description != "" {
			desc = append(desc, sentence(f.Description))
		}
		if len(f.Enum) > 0 {
			desc = append(desc, "One of "+joinJSON(f.Enum)+".")
		}
		switch len(f.Examples) {
		case 0:
		case 1:
			desc = append(desc, "Example: "+joinJSON(f.Examples)+".")
		default:
			desc = append(desc, "Examples: "+joinJSON(f.Examples)+".")
		}
		if len(desc) > 0 {
			b.WriteString(wrap(strings.Join(desc, " "), "      ", textWidth) + "\n")
		}
	}
	if docs := strings.TrimSpace(info.Docs); docs != "" {
		b.WriteString("\n" + docs + "\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func portText(p node.PortSpec) string {
	if p.Description == "" {
		return p.Title
	}
	return p.Title + ": " + p.Description
}

func joinJSON(values []json.RawMessage) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return strings.Join(out, ", ")
}

// wrap breaks s into lines of at most width columns (longer words stay whole), each starting with
// indent.
func wrap(s, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(s) {
		if line != indent && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += word
	}
	b.WriteString(line)
	return b.String()
}
