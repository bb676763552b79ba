package format

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/meter"
)

// XML limits.
const (
	// MaxXMLDepth is how deeply elements may nest, in parsed text and in formatted values.
	MaxXMLDepth = 256
	// maxAlwaysArray bounds the alwaysArray option.
	maxAlwaysArray = 256
	// maxIndent bounds the indent option.
	maxIndent = 8
)

// Keys of the JSON shape of an element.
const (
	attrPrefix = "@"
	textKey    = "#text"
	itemName   = "item"
)

// XML is a data.xml node: it parses XML text into a JSON value or formats a JSON value as XML.
type XML struct {
	// Mode is parse (XML text to JSON) or format (JSON to XML text).
	Mode string `json:"mode"`
	// Text is the XML to parse; nil means the input, which must then be a string.
	Text any `json:"text,omitempty"`
	// Value is the value to format; nil means the input.
	Value any `json:"value,omitempty"`
	// AlwaysArray names elements that parse into arrays even when they occur once.
	AlwaysArray []string `json:"alwaysArray,omitempty"`
	// KeepWhitespace keeps text as it is instead of trimming it (parse).
	KeepWhitespace bool `json:"keepWhitespace,omitempty"`
	// Root names the root element (format); empty means the single key of Value or "root".
	Root string `json:"root,omitempty"`
	// Indent is how many spaces indent each level (format); nil means 2, 0 writes one line.
	Indent *int `json:"indent,omitempty"`
	// Declaration writes <?xml version="1.0" encoding="UTF-8"?> first (format); nil means true.
	Declaration *bool `json:"declaration,omitempty"`
}

// NodeInfo describes data.xml.
func (*XML) NodeInfo() node.Info {
	return node.Info{
		Type: "data.xml", Pure: true, Title: "XML", Category: "Data", Icon: "file-code",
		Description: "Parses XML text into JSON (attributes as @name, text as #text, repeated elements as arrays), or formats a JSON value as XML text.",
		Docs:        xmlDocs,
		Inputs:      portIn, Outputs: portOut,
		Schema: json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["mode"],
  "properties": {
    "mode": {"type": "string", "enum": ["parse", "format"], "title": "Mode", "description": "parse turns XML text into JSON; format turns a JSON value into XML text", "default": "parse"},
    "text": {"type": "string", "title": "Text", "description": "parse: the XML text; default: the input, which must then be a string", "examples": ["{{ input.body }}"], "x-cm-expression": true},
    "value": {"title": "Value", "description": "format: the JSON value to write; default: the input", "examples": ["{{ input.order }}"], "x-cm-expression": true},
    "alwaysArray": {"type": "array", "title": "Always arrays", "description": "parse: element names that become arrays even when they occur once, so that one item and many read the same", "items": {"type": "string", "minLength": 1, "maxLength": 256}, "maxItems": 256, "examples": [["item", "order"]]},
    "keepWhitespace": {"type": "boolean", "title": "Keep white space", "description": "parse: keep text exactly, instead of trimming it and dropping white space between elements", "default": false},
    "root": {"type": "string", "title": "Root element", "description": "format: the name of the root element; default: the value's only key when it is an object with one key (what parse gives), else root", "examples": ["order"], "maxLength": 256},
    "indent": {"type": "integer", "title": "Indent", "description": "format: spaces per level; 0 writes everything on one line", "minimum": 0, "maximum": 8, "default": 2},
    "declaration": {"type": "boolean", "title": "XML declaration", "description": "format: start with <?xml version=\"1.0\" encoding=\"UTF-8\"?>", "default": true}
  }
}`),
		New: func() node.Node { return &XML{} },
	}
}

// Validate checks the options the schema cannot.
func (x *XML) Validate() error {
	var errs []error
	if x.Root != "" && !strings.Contains(x.Root, "{{") && !validXMLName(x.Root) {
		errs = append(errs, fmt.Errorf("root: %q is not an XML element name", x.Root))
	}
	if len(x.AlwaysArray) > maxAlwaysArray {
		errs = append(errs, fmt.Errorf("alwaysArray: at most %d names", maxAlwaysArray))
	}
	if x.Indent != nil && (*x.Indent < 0 || *x.Indent > maxIndent) {
		errs = append(errs, fmt.Errorf("indent: want 0 to %d", maxIndent))
	}
	if x.Text != nil && x.Mode == modeFormat {
		errs = append(errs, errors.New("text: only for mode parse; format reads value"))
	}
	if x.Value != nil && x.Mode == modeParse {
		errs = append(errs, errors.New("value: only for mode format; parse reads text"))
	}
	return errors.Join(errs...)
}

// Execute parses or formats.
func (x *XML) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	if err := x.Validate(); err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: "invalid_config", Message: err.Error()})
	}
	if x.Mode == modeFormat {
		src := x.Value
		if src == nil {
			src = in.Data
		}
		text, err := x.format(ctx, src, in.Limits)
		if err != nil {
			return node.Output{}, err
		}
		return node.Out(text), nil
	}
	src := x.Text
	if src == nil {
		src = in.Data
	}
	text, ok := src.(string)
	if !ok {
		return node.Output{}, invalidInput("data.xml parses text, got %s; set text, such as {{ input.body }}", kindOf(src))
	}
	v, err := x.parse(ctx, text, in.Limits)
	if err != nil {
		return node.Output{}, err
	}
	return node.Out(v), nil
}

// xmlFrame is an element being parsed.
type xmlFrame struct {
	name string
	obj  map[string]any // attributes and children; nil while there are none
	text strings.Builder
}

// parse reads text into {rootName: value}.
func (x *XML) parse(ctx context.Context, text string, limits node.Limits) (any, error) {
	d := xml.NewDecoder(strings.NewReader(text))
	d.Strict = true
	m := meter.New(limits, "the parsed XML")
	always := make(map[string]bool, len(x.AlwaysArray))
	for _, name := range x.AlwaysArray {
		always[name] = true
	}
	var (
		stack []*xmlFrame
		root  map[string]any
	)
	for n := 0; ; n++ {
		if n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, xmlSyntaxError(err, d)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil {
				return nil, node.Permanent(node.Errorf(CodeInvalidXML, "line %d: a second root element <%s>", line(d), t.Name.Local))
			}
			if len(stack) >= MaxXMLDepth {
				return nil, node.Permanent(node.Errorf(CodeInvalidXML, "line %d: elements nest more than %d deep", line(d), MaxXMLDepth))
			}
			f := &xmlFrame{name: t.Name.Local}
			cost := int64(len(f.name)) + 8
			if len(t.Attr) > 0 {
				f.obj = make(map[string]any, len(t.Attr))
				for _, a := range t.Attr {
					key := attrKey(a.Name)
					f.obj[key] = a.Value
					cost += int64(len(key)+len(a.Value)) + 6
				}
			}
			if err := m.Add(cost, 96+cost*2, fmt.Sprintf("at line %d", line(d))); err != nil {
				return nil, err
			}
			stack = append(stack, f)
		case xml.CharData:
			if len(stack) == 0 {
				continue
			}
			if err := m.Add(int64(len(t))+2, int64(len(t)), fmt.Sprintf("at line %d", line(d))); err != nil {
				return nil, err
			}
			stack[len(stack)-1].text.Write(t)
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			v := x.elementValue(f)
			if len(stack) == 0 {
				if always[f.name] {
					v = []any{v}
				}
				root = map[string]any{f.name: v}
				continue
			}
			parent := stack[len(stack)-1]
			if parent.obj == nil {
				parent.obj = map[string]any{}
			}
			addChild(parent.obj, f.name, v, always[f.name])
		}
	}
	if root == nil {
		return nil, node.Permanent(node.Errorf(CodeInvalidXML, "the text holds no XML element"))
	}
	if err := m.Flush(); err != nil {
		return nil, err
	}
	return root, nil
}

// elementValue returns the JSON shape of a finished element: its text when it has neither attributes
// nor children, else an object with them and its text under #text.
func (x *XML) elementValue(f *xmlFrame) any {
	text := f.text.String()
	if !x.KeepWhitespace {
		text = strings.TrimSpace(text)
	}
	if f.obj == nil {
		return text
	}
	if strings.TrimSpace(text) != "" {
		f.obj[textKey] = text
	}
	return f.obj
}

// addChild adds an element's value to its parent object: a repeated name turns into an array.
func addChild(obj map[string]any, name string, v any, always bool) {
	prev, ok := obj[name]
	switch {
	case !ok && always:
		obj[name] = []any{v}
	case !ok:
		obj[name] = v
	default:
		if arr, isArr := prev.([]any); isArr {
			obj[name] = append(arr, v)
		} else {
			obj[name] = []any{prev, v}
		}
	}
}

// attrKey returns the JSON key of an attribute: @ and its local name; namespace declarations keep
// their xmlns prefix.
func attrKey(n xml.Name) string {
	switch {
	case n.Space == "xmlns":
		return attrPrefix + "xmlns:" + n.Local
	case n.Space == "" && n.Local == "xmlns":
		return attrPrefix + "xmlns"
	}
	return attrPrefix + n.Local
}

func line(d *xml.Decoder) int {
	l, _ := d.InputPos()
	return l
}

// xmlSyntaxError turns a decoder error into a permanent invalid_xml error naming the line.
func xmlSyntaxError(err error, d *xml.Decoder) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg := se.Msg
		if strings.HasPrefix(msg, "invalid character entity") {
			msg += " (only XML's five entities and numeric references are expanded; DTD entities are not)"
		}
		return node.Permanent(node.Errorf(CodeInvalidXML, "line %d: %s", se.Line, msg))
	}
	return node.Permanent(node.Errorf(CodeInvalidXML, "line %d: %v", line(d), err))
}

// format writes v as an XML document.
func (x *XML) format(ctx context.Context, v any, limits node.Limits) (string, error) {
	root, value := x.Root, v
	if root == "" {
		root = "root"
		if obj, ok := v.(map[string]any); ok && len(obj) == 1 {
			for k, inner := range obj {
				if validXMLName(k) {
					root, value = k, inner
				}
			}
		}
	}
	if !validXMLName(root) {
		return "", invalidInput("root: %q is not an XML element name", root)
	}
	m := meter.New(limits, "the XML text")
	out := &meteredBuilder{m: m}
	if x.Declaration == nil || *x.Declaration {
		if _, err := io.WriteString(out, xml.Header); err != nil {
			return "", err
		}
	}
	enc := xml.NewEncoder(out)
	indent := 2
	if x.Indent != nil {
		indent = *x.Indent
	}
	if indent > 0 {
		enc.Indent("", strings.Repeat(" ", indent))
	}
	w := &xmlWriter{ctx: ctx, enc: enc}
	if err := w.element(root, value, root, 0); err != nil {
		return "", formatError(err)
	}
	if err := enc.Close(); err != nil {
		return "", formatError(err)
	}
	if err := m.Flush(); err != nil {
		return "", err
	}
	return out.b.String(), nil
}

// formatError passes the meter's and the writer's own errors through and wraps the encoder's.
func formatError(err error) error {
	var ne *node.Error
	if errors.As(err, &ne) || errors.Is(err, budget.ErrExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("write XML: %w", err)
}

// xmlWriter writes JSON values as elements.
type xmlWriter struct {
	ctx   context.Context //nolint:containedctx // lives for one format call
	enc   *xml.Encoder
	steps int
}

// element writes v as the element name; path names it in errors.
func (w *xmlWriter) element(name string, v any, path string, depth int) error {
	if depth >= MaxXMLDepth {
		return invalidInput("%s: the value nests more than %d deep", path, MaxXMLDepth)
	}
	w.steps++
	if w.steps%ctxEvery == 0 {
		if err := w.ctx.Err(); err != nil {
			return err
		}
	}
	start := xml.StartElement{Name: xml.Name{Local: name}}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var children []string
		var text any
		for _, k := range keys {
			switch {
			case k == textKey:
				text = x[k]
			case strings.HasPrefix(k, attrPrefix):
				attr := strings.TrimPrefix(k, attrPrefix)
				if !validXMLName(attr) {
					return invalidInput("%s: %q is not an XML attribute name", path, k)
				}
				s, ok := scalarText(x[k])
				if !ok {
					return invalidInput("%s.%s is %s; an attribute holds a string, number or boolean", path, k, kindOf(x[k]))
				}
				start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: attr}, Value: s})
			default:
				if !validXMLName(k) {
					return invalidInput("%s: key %q is not an XML element name", path, k)
				}
				children = append(children, k)
			}
		}
		if err := w.enc.EncodeToken(start); err != nil {
			return err
		}
		if text != nil {
			s, ok := scalarText(text)
			if !ok {
				return invalidInput("%s.%s is %s; text is a string, number or boolean", path, textKey, kindOf(text))
			}
			if err := w.enc.EncodeToken(xml.CharData(s)); err != nil {
				return err
			}
		}
		for _, k := range children {
			if err := w.member(k, x[k], path+"."+k, depth+1); err != nil {
				return err
			}
		}
	case []any:
		if err := w.enc.EncodeToken(start); err != nil {
			return err
		}
		for i, e := range x {
			if err := w.element(itemName, e, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
	default:
		s, ok := scalarText(v)
		if !ok {
			return invalidInput("%s is %s, which XML cannot hold", path, kindOf(v))
		}
		if err := w.enc.EncodeToken(start); err != nil {
			return err
		}
		if s != "" {
			if err := w.enc.EncodeToken(xml.CharData(s)); err != nil {
				return err
			}
		}
	}
	return w.enc.EncodeToken(start.End())
}

// member writes an object member: an array repeats the element once per element.
func (w *xmlWriter) member(name string, v any, path string, depth int) error {
	arr, ok := v.([]any)
	if !ok {
		return w.element(name, v, path, depth)
	}
	for i, e := range arr {
		if err := w.element(name, e, fmt.Sprintf("%s[%d]", path, i), depth); err != nil {
			return err
		}
	}
	return nil
}

// scalarText returns a string, number, boolean or null as XML text.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// validXMLName reports whether s is an XML name (letters, digits, _ - . and one optional prefix
// colon; not starting with a digit, - or .), at most 256 bytes.
func validXMLName(s string) bool {
	if s == "" || len(s) > 256 || !utf8.ValidString(s) {
		return false
	}
	if strings.Count(s, ":") > 1 || strings.HasPrefix(s, ":") || strings.HasSuffix(s, ":") {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r == ':' || unicode.IsLetter(r):
		case i > 0 && (r == '-' || r == '.' || unicode.IsDigit(r)):
		default:
			return false
		}
	}
	return true
}

var (
	_ node.Node      = (*XML)(nil)
	_ node.Validator = (*XML)(nil)
)

const xmlDocs = "Reads XML into JSON or writes JSON as XML, with Go's streaming XML reader and writer.\n\n" +
	"## Configuration\n\n" +
	"- `mode`: `parse` (XML text → JSON) or `format` (JSON → XML text).\n" +
	"- `text` (parse): the XML, such as `{{ nodes.fetch.output.body }}`; without it, the input, which must then be a string. UTF-8 only.\n" +
	"- `alwaysArray` (parse): element names that always become arrays, even when they occur once, so that a " +
	"list of one reads like a list of many.\n" +
	"- `keepWhitespace` (parse): keep text exactly as written; by default text is trimmed.\n" +
	"- `value` (format): the value to write; without it, the input.\n" +
	"- `root` (format): the root element's name. Without it, a value that is an object with a single key (what " +
	"parse outputs) uses that key as the root element and its value as the content; any other value goes inside `<root>`.\n" +
	"- `indent` (format, default 2): spaces per level; 0 writes the document on one line.\n" +
	"- `declaration` (format, default `true`): start with `<?xml version=\"1.0\" encoding=\"UTF-8\"?>`.\n\n" +
	"## Output\n\n" +
	"Parse outputs `{\"<root name>\": <root value>}`, where an element's value follows these rules:\n\n" +
	"- an element with neither attributes nor child elements is its text, a string (`<id>7</id>` → `\"7\"`; an empty element → `\"\"`);\n" +
	"- otherwise it is an object: each attribute under `@name`, each child element under its name, and its text, " +
	"when it has some besides white space, under `#text` (the pieces of mixed content are joined);\n" +
	"- a child element that occurs more than once becomes an array, in document order (as does one named in `alwaysArray`);\n" +
	"- names are local names: a namespace prefix is dropped (`<soap:Body>` → `Body`), and `xmlns` declarations stay as `@xmlns` / `@xmlns:prefix` attributes;\n" +
	"- comments, processing instructions and the DOCTYPE are skipped; CDATA sections are text. Values stay strings.\n\n" +
	"Format applies the same rules backwards: `@name` keys become attributes, `#text` the text, other keys child " +
	"elements in sorted order, an array repeats its element once per value, an array that is not an object's member " +
	"writes its values as `<item>` elements, `null` is an empty element, numbers and booleans are written as text. It outputs the XML text, a string.\n\n" +
	"## Limits\n\n" +
	"- Elements may nest at most 256 deep, in parsed text and in formatted values.\n" +
	"- Only XML's five entities (`&lt;` `&gt;` `&amp;` `&quot;` `&apos;`) and numeric character references are " +
	"expanded. Entities declared in a DTD, internal or external (`SYSTEM \"file:///etc/passwd\"`), are refused, so " +
	"entity expansion bombs and external entity reads cannot happen; nothing is ever fetched.\n" +
	"- The output is sized while it is built and stops with `output_too_large` before passing `CM_MAX_OUTPUT_BYTES`; " +
	"what is built is charged to `CM_MAX_EXECUTION_BYTES`. A timeout or a cancel stops the node within a few hundred elements.\n\n" +
	"## Errors\n\n" +
	"- `invalid_xml`: text that is not well-formed XML (`line 4: element <b> closed by </a>`), an undeclared entity, elements nested too deep, two root elements, no element at all.\n" +
	"- `invalid_input`: parse got something other than text; format met a key that is not an XML name " +
	"(`order.items[0]: key \"1st\" is not an XML element name`), an attribute or text that is an object or array, or a value nested too deep.\n" +
	"- `output_too_large`, `budget_exceeded`: the limits above.\n\n" +
	"## Example\n\n" +
	"```json\n{\"mode\": \"parse\", \"text\": \"{{ input.body }}\", \"alwaysArray\": [\"item\"]}\n```\n\n" +
	"With the body `<order id=\"7\"><item sku=\"A1\">2</item><note>rush</note></order>` the output is\n\n" +
	"```json\n{\"order\": {\"@id\": \"7\", \"item\": [{\"@sku\": \"A1\", \"#text\": \"2\"}], \"note\": \"rush\"}}\n```\n\n" +
	"Formatting that output back with `{\"mode\": \"format\", \"indent\": 0, \"declaration\": false}` gives " +
	"`<order id=\"7\"><item sku=\"A1\">2</item><note>rush</note></order>`.\n"
