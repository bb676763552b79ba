package format

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/meter"
)

// HTML limits.
const (
	// MaxHTMLBytes is the largest HTML document the node parses (also bounded by the output cap).
	MaxHTMLBytes = 32 << 20
	// maxExtract bounds the extract list.
	maxExtract = 100
	// maxSelectorLen bounds one selector.
	maxSelectorLen = 1024
	// MaxHTMLResults bounds the elements one extraction with all returns.
	MaxHTMLResults = 10000
	// defaultHTMLLimit is the elements an extraction with all returns when it sets no limit.
	defaultHTMLLimit = 1000
	// htmlMemoryFactor estimates the parsed tree's size from the document's.
	htmlMemoryFactor = 6
)

// What an extraction returns.
const (
	valueText      = "text"
	valueHTML      = "html"
	valueOuterHTML = "outerHtml"
	valueAttribute = "attribute"
)

// HTML is a data.html node: it extracts values from an HTML document with CSS selectors.
type HTML struct {
	// HTML is the document; nil means the input, which must then be a string.
	HTML any `json:"html,omitempty"`
	// Extract lists what to extract, each under its own key of the output.
	Extract []Extraction `json:"extract"`
}

// Extraction is one value data.html extracts.
type Extraction struct {
	// Key is the output key.
	Key string `json:"key"`
	// Selector is a CSS selector.
	Selector string `json:"selector"`
	// Value is text, html, outerHtml or attribute; empty means text.
	Value string `json:"value,omitempty"`
	// Attribute names the attribute when Value is attribute.
	Attribute string `json:"attribute,omitempty"`
	// All returns every match as an array instead of the first one.
	All bool `json:"all,omitempty"`
	// Limit caps the matches All returns; zero means 1000.
	Limit int `json:"limit,omitempty"`
	// Trim removes white space around text; nil means true.
	Trim *bool `json:"trim,omitempty"`
}

// NodeInfo describes data.html.
func (*HTML) NodeInfo() node.Info {
	return node.Info{
		Type: "data.html", Pure: true, Title: "HTML extract", Category: "Data", Icon: "code-xml",
		Description: "Extracts text, HTML or attributes from an HTML document with CSS selectors, into an object with one key per extraction.",
		Docs:        htmlDocs,
		Inputs:      portIn, Outputs: portOut,
		Schema: json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["extract"],
  "properties": {
    "html": {"type": "string", "title": "HTML", "description": "The HTML document; default: the input, which must then be a string", "examples": ["{{ input.body }}"], "x-cm-expression": true},
    "extract": {
      "type": "array", "title": "Extract", "description": "What to extract, each under its own key of the output", "minItems": 1, "maxItems": 100,
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["key", "selector"],
        "properties": {
          "key": {"type": "string", "title": "Key", "description": "The output key", "minLength": 1, "maxLength": 256, "examples": ["title"]},
          "selector": {"type": "string", "title": "CSS selector", "description": "Which elements, such as h1, a.product[href] or #price", "minLength": 1, "maxLength": 1024, "examples": ["h1", "ul.results > li a"]},
          "value": {"type": "string", "enum": ["text", "html", "outerHtml", "attribute"], "title": "Value", "description": "text (the element's text), html (its inner HTML), outerHtml (the element itself) or attribute", "default": "text"},
          "attribute": {"type": "string", "title": "Attribute", "description": "The attribute to read when value is attribute", "maxLength": 256, "examples": ["href"]},
          "all": {"type": "boolean", "title": "All matches", "description": "Return every match as an array instead of the first match", "default": false},
          "limit": {"type": "integer", "title": "Limit", "description": "With all: the most matches to return", "minimum": 1, "maximum": 10000, "default": 1000},
          "trim": {"type": "boolean", "title": "Trim", "description": "Remove white space around each value", "default": true}
        }
      }
    }
  }
}`),
		New: func() node.Node { return &HTML{} },
	}
}

// Validate checks what the schema cannot: selectors compile, keys are unique, attribute goes with
// value attribute.
func (h *HTML) Validate() error {
	var errs []error
	if len(h.Extract) > maxExtract {
		errs = append(errs, fmt.Errorf("extract: at most %d", maxExtract))
	}
	seen := map[string]int{}
	for i, e := range h.Extract {
		if j, dup := seen[e.Key]; dup {
			errs = append(errs, fmt.Errorf("extract[%d].key: %q is already extract[%d].key", i, e.Key, j))
		}
		seen[e.Key] = i
		if _, err := compileSelector(e.Selector); err != nil && !strings.Contains(e.Selector, "{{") {
			errs = append(errs, fmt.Errorf("extract[%d].selector: %w", i, err))
		}
		switch e.Value {
		case "", valueText, valueHTML, valueOuterHTML:
			if e.Attribute != "" {
				errs = append(errs, fmt.Errorf("extract[%d].attribute: only with value attribute", i))
			}
		case valueAttribute:
			if e.Attribute == "" {
				errs = append(errs, fmt.Errorf("extract[%d].attribute: name the attribute to read, such as href", i))
			}
		default:
			errs = append(errs, fmt.Errorf("extract[%d].value: %q is not one of text, html, outerHtml, attribute", i, e.Value))
		}
		if e.Limit < 0 || e.Limit > MaxHTMLResults {
			errs = append(errs, fmt.Errorf("extract[%d].limit: want 1 to %d", i, MaxHTMLResults))
		}
	}
	return errors.Join(errs...)
}

func compileSelector(s string) (cascadia.Selector, error) {
	if len(s) > maxSelectorLen {
		return nil, fmt.Errorf("longer than %d characters", maxSelectorLen)
	}
	sel, err := cascadia.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a CSS selector: %w", s, err)
	}
	return sel, nil
}

// Execute parses the document and runs every extraction.
func (h *HTML) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	if err := h.Validate(); err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: "invalid_config", Message: err.Error()})
	}
	src := h.HTML
	if src == nil {
		src = in.Data
	}
	doc, ok := src.(string)
	if !ok {
		return node.Output{}, invalidInput("data.html reads an HTML document, got %s; set html, such as {{ input.body }}", kindOf(src))
	}
	limit := int64(MaxHTMLBytes)
	if in.Limits.MaxOutputBytes > 0 {
		limit = min(limit, in.Limits.MaxOutputBytes)
	}
	if int64(len(doc)) > limit {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidHTML, "the HTML document is %d bytes, over the %d-byte limit", len(doc), limit))
	}
	m := meter.New(in.Limits, "the extracted values")
	if err := m.Reserve(int64(len(doc)) * htmlMemoryFactor); err != nil {
		return node.Output{}, err
	}
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		return node.Output{}, node.Permanent(node.Errorf(CodeInvalidHTML, "%v", err))
	}
	out := make(map[string]any, len(h.Extract))
	for i, e := range h.Extract {
		if err := ctx.Err(); err != nil {
			return node.Output{}, err
		}
		sel, err := compileSelector(e.Selector)
		if err != nil {
			return node.Output{}, node.Permanent(node.Errorf(CodeInvalidHTML, "extract[%d].selector: %v", i, err))
		}
		v, err := h.extract(ctx, root, sel, e, m)
		if err != nil {
			return node.Output{}, err
		}
		out[e.Key] = v
	}
	if err := m.Flush(); err != nil {
		return node.Output{}, err
	}
	return node.Out(out), nil
}

// extract runs one extraction over the parsed document.
func (h *HTML) extract(ctx context.Context, root *html.Node, sel cascadia.Selector, e Extraction, m *meter.Meter) (any, error) {
	where := "at extract key " + e.Key
	if !e.All {
		n := sel.MatchFirst(root)
		if n == nil {
			return nil, m.Add(4, 0, where)
		}
		v, err := nodeValue(n, e, m)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, m.Add(4, 0, where)
		}
		return *v, m.Add(int64(len(*v))+2, int64(len(*v)), where)
	}
	limit := e.Limit
	if limit == 0 {
		limit = defaultHTMLLimit
	}
	values := []any{}
	var err error
	walk(root, func(n *html.Node) bool {
		if len(values)%ctxEvery == 0 {
			if err = ctx.Err(); err != nil {
				return false
			}
		}
		if n.Type != html.ElementNode || !sel.Match(n) {
			return true
		}
		var v *string
		if v, err = nodeValue(n, e, m); err != nil {
			return false
		}
		if v == nil {
			if err = m.Add(5, 16, where); err != nil {
				return false
			}
			values = append(values, nil)
		} else {
			if err = m.Add(int64(len(*v))+3, int64(len(*v))+16, where); err != nil {
				return false
			}
			values = append(values, *v)
		}
		return len(values) < limit
	})
	if err != nil {
		return nil, err
	}
	return values, nil
}

// nodeValue returns what e reads from n; nil for a missing attribute.
func nodeValue(n *html.Node, e Extraction, m *meter.Meter) (*string, error) {
	var s string
	switch e.Value {
	case valueAttribute:
		found := false
		for _, a := range n.Attr {
			if a.Namespace == "" && strings.EqualFold(a.Key, e.Attribute) {
				s, found = a.Val, true
				break
			}
		}
		if !found {
			return nil, nil
		}
	case valueHTML, valueOuterHTML:
		// The rendering gets its own meter capped at what the output may still take (at least one byte:
		// a zero cap would mean none).
		w := &meteredBuilder{m: meter.New(node.Limits{MaxOutputBytes: max(m.Remaining(), 1)}, "the extracted values")}
		if e.Value == valueOuterHTML {
			if err := html.Render(w, n); err != nil {
				return nil, renderError(err)
			}
		} else {
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if err := html.Render(w, c); err != nil {
					return nil, renderError(err)
				}
			}
		}
		s = w.b.String()
	default:
		var b strings.Builder
		var err error
		walk(n, func(c *html.Node) bool {
			if c.Type == html.TextNode {
				if !m.Fits(int64(b.Len() + len(c.Data))) {
					err = m.TooLarge("at extract key " + e.Key)
					return false
				}
				b.WriteString(c.Data)
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		s = b.String()
	}
	if e.Trim == nil || *e.Trim {
		s = strings.TrimSpace(s)
	}
	return &s, nil
}

func renderError(err error) error {
	var ne *node.Error
	if errors.As(err, &ne) {
		return err
	}
	return fmt.Errorf("render HTML: %w", err)
}

// walk visits n and its descendants in document order, without recursion, until visit returns false.
func walk(n *html.Node, visit func(*html.Node) bool) {
	stack := []*html.Node{n}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !visit(c) {
			return
		}
		for k := c.LastChild; k != nil; k = k.PrevSibling {
			stack = append(stack, k)
		}
	}
}

var (
	_ node.Node      = (*HTML)(nil)
	_ node.Validator = (*HTML)(nil)
)

const htmlDocs = "Parses an HTML document as a browser does (HTML5 parsing, so broken markup still yields a tree) and " +
	"extracts values with CSS selectors.\n\n" +
	"## Configuration\n\n" +
	"- `html`: the document, such as `{{ nodes.page.output.body }}`; without it, the input, which must then be a string.\n" +
	"- `extract`: a list of extractions (1 to 100), each with\n" +
	"  - `key`: where the value goes in the output (unique);\n" +
	"  - `selector`: a CSS selector (up to 1024 characters): tags, `.class`, `#id`, `[attr=value]`, combinators " +
	"(`ul > li a`), groups (`h1, h2`) and pseudo-classes such as `:nth-child(2)`, `:not(.x)`, `:contains(\"text\")`;\n" +
	"  - `value` (default `text`): `text` (the text of the element and its descendants, joined), `html` (its inner " +
	"HTML), `outerHtml` (the element itself) or `attribute`;\n" +
	"  - `attribute`: the attribute to read with `value: attribute`, such as `href` (case-insensitive);\n" +
	"  - `all` (default `false`): an array of every match, in document order, instead of the first match;\n" +
	"  - `limit` (with `all`, default 1000, at most 10000): the most matches returned; later ones are left out;\n" +
	"  - `trim` (default `true`): remove white space around each value.\n\n" +
	"## Output\n\n" +
	"An object with one key per extraction. Without `all` the value is a string, or `null` when nothing matches or " +
	"the attribute is missing; with `all` it is an array (empty when nothing matches) of strings, `null` for a " +
	"matching element without the attribute.\n\n" +
	"## Limits\n\n" +
	"- The document may be at most 32 MiB and at most `CM_MAX_OUTPUT_BYTES`; its parsed tree is charged to the " +
	"execution's memory budget (`CM_MAX_EXECUTION_BYTES`) at six times its size before parsing.\n" +
	"- Elements may nest at most 512 deep (the parser's limit).\n" +
	"- Selectors are at most 1024 characters; an extraction returns at most 10000 matches.\n" +
	"- The output is sized as it is built and stops with `output_too_large` before passing `CM_MAX_OUTPUT_BYTES`.\n\n" +
	"## Errors\n\n" +
	"- `invalid_input`: the document is not a string.\n" +
	"- `invalid_html`: the document is over the size limit or nests elements more than 512 deep, or a selector computed by an expression does not compile.\n" +
	"- `invalid_config`: a selector that does not compile (`extract[1].selector: \"a[href\" is not a CSS selector: …`), " +
	"a repeated key, `attribute` missing with `value: attribute`.\n" +
	"- `output_too_large`, `budget_exceeded`: the limits above.\n\n" +
	"## Example\n\n" +
	"```json\n{\"html\": \"{{ input.body }}\", \"extract\": [\n" +
	"  {\"key\": \"title\", \"selector\": \"h1\"},\n" +
	"  {\"key\": \"links\", \"selector\": \"ul.results a\", \"value\": \"attribute\", \"attribute\": \"href\", \"all\": true}\n]}\n```\n\n" +
	"With the body `<h1> Results </h1><ul class=\"results\"><li><a href=\"/a\">A</a></li><li><a href=\"/b\">B</a></li></ul>` the output is\n\n" +
	"```json\n{\"title\": \"Results\", \"links\": [\"/a\", \"/b\"]}\n```\n"
