package main

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Bounds of the plugin, whatever the configuration says.
const (
	// maxXMLBytes bounds the XML parsed and the XML built.
	maxXMLBytes = 8 << 20
	// maxDepthLimit bounds maxDepth: nested elements, and nested JSON arrays and objects.
	maxDepthLimit = 512
	// maxElementsLimit bounds maxElements.
	maxElementsLimit = 1_000_000
	// maxAttributes bounds the attributes of one element.
	maxAttributes = 1024
)

// parseOptions say how XML becomes JSON; newParseOptions fills the defaults.
type parseOptions struct {
	// AttrPrefix starts the key of each attribute ("@id"); empty mixes attributes with child elements.
	AttrPrefix string
	// TextKey is the key of an element's text when the element also has attributes or children.
	TextKey string
	// CollapseText makes an element with only text (no attributes, no children) its string; without
	// it every element is an object and text always goes under TextKey.
	CollapseText bool
	// Trim removes the white space around text, and drops text that is only white space (the
	// indentation between elements).
	Trim bool
	// ExplicitArray makes every child element an array, even when it appears once.
	ExplicitArray bool
	// IgnoreAttributes drops attributes.
	IgnoreAttributes bool
	// MaxDepth bounds how deep elements nest; MaxElements bounds how many there are.
	MaxDepth    int
	MaxElements int
}

func defaultParseOptions() parseOptions {
	return parseOptions{AttrPrefix: "@", TextKey: "#text", CollapseText: true, Trim: true, MaxDepth: 64, MaxElements: 100_000}
}

// errXML marks errors in the XML itself, as opposed to the configuration.
var errXML = errors.New("invalid XML")

// parseXML turns an XML document into JSON: an object with one member, the root element. Elements
// become objects of their attributes (AttrPrefix + name), their child elements (a child that repeats
// becomes an array) and their text (TextKey); an element with only text becomes its string. Names
// keep their namespace prefix ("soap:Body"). Comments, processing instructions and the DOCTYPE are
// dropped; entities other than XML's five and character references are refused, so no entity
// expansion (billion laughs) and no external entity (XXE) can happen. The text is Unicode already,
// so an encoding named in the XML declaration is ignored.
func parseXML(text string, o parseOptions) (object, error) {
	if len(text) > maxXMLBytes {
		return nil, fmt.Errorf("%w: the XML is %d bytes, over the %d-byte limit", errXML, len(text), maxXMLBytes)
	}
	d := xml.NewDecoder(strings.NewReader(strings.TrimPrefix(text, "\uFEFF")))
	d.Strict = true
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	fail := func(format string, args ...any) (object, error) {
		line, _ := d.InputPos()
		return nil, fmt.Errorf("%w: line %d: %s", errXML, line, fmt.Sprintf(format, args...))
	}
	var (
		stack    []*element
		root     object
		elements int
	)
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errXML, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := qualified(t.Name)
			switch {
			case root != nil && len(stack) == 0:
				return fail("a second root element <%s>: a document has one", name)
			case len(stack) >= o.MaxDepth:
				return fail("<%s> nests deeper than %d elements (maxDepth)", name, o.MaxDepth)
			case elements >= o.MaxElements:
				return fail("more than %d elements (maxElements)", o.MaxElements)
			case len(t.Attr) > maxAttributes:
				return fail("<%s> has %d attributes, more than %d", name, len(t.Attr), maxAttributes)
			}
			elements++
			e := &element{name: name}
			if !o.IgnoreAttributes && len(t.Attr) > 0 {
				seen := make(map[string]bool, len(t.Attr))
				for _, a := range t.Attr {
					an := qualified(a.Name)
					if seen[an] {
						return fail("<%s> has attribute %s twice", name, an)
					}
					seen[an] = true
					e.add(o.AttrPrefix+an, a.Value, false)
				}
			}
			stack = append(stack, e)
		case xml.EndElement:
			name := qualified(t.Name)
			if len(stack) == 0 {
				return fail("</%s> closes no element", name)
			}
			e := stack[len(stack)-1]
			if e.name != name {
				return fail("<%s> is closed by </%s>", e.name, name)
			}
			stack = stack[:len(stack)-1]
			v := e.value(o)
			if len(stack) == 0 {
				root = object{{Key: e.name, Value: v}}
			} else {
				stack[len(stack)-1].add(e.name, v, o.ExplicitArray)
			}
		case xml.CharData:
			if len(stack) == 0 {
				if strings.TrimSpace(string(t)) != "" {
					return fail("text outside the root element")
				}
				continue
			}
			stack[len(stack)-1].text.Write(t)
		}
		// Comments, processing instructions and directives (the DOCTYPE) carry no data.
	}
	if len(stack) > 0 {
		return fail("the XML ends before </%s>", stack[len(stack)-1].name)
	}
	if root == nil {
		return nil, fmt.Errorf("%w: the XML holds no element", errXML)
	}
	return root, nil
}

// element is an element being read: its members (attributes and children, in order) and its text.
type element struct {
	name    string
	members object
	// index finds a key's member, once there are enough members to make a scan slow.
	index map[string]int
	// arrays marks the members whose value is the array of a repeated or explicit-array element.
	arrays map[int]bool
	text   strings.Builder
}

// add adds a member; a key seen before turns the member into an array of every value.
func (e *element) add(key string, v any, asArray bool) {
	i, found := e.find(key)
	if !found {
		if asArray {
			v = []any{v}
			if e.arrays == nil {
				e.arrays = map[int]bool{}
			}
			e.arrays[len(e.members)] = true
		}
		if e.index != nil {
			e.index[key] = len(e.members)
		}
		e.members = append(e.members, member{Key: key, Value: v})
		return
	}
	if e.arrays[i] {
		e.members[i].Value = append(e.members[i].Value.([]any), v)
		return
	}
	if e.arrays == nil {
		e.arrays = map[int]bool{}
	}
	e.arrays[i] = true
	e.members[i].Value = []any{e.members[i].Value, v}
}

func (e *element) find(key string) (int, bool) {
	if e.index == nil && len(e.members) >= 16 {
		e.index = make(map[string]int, len(e.members))
		for i, m := range e.members {
			if _, dup := e.index[m.Key]; !dup {
				e.index[m.Key] = i
			}
		}
	}
	if e.index != nil {
		i, ok := e.index[key]
		return i, ok
	}
	for i, m := range e.members {
		if m.Key == key {
			return i, true
		}
	}
	return 0, false
}

// value is the element's JSON once it is closed.
func (e *element) value(o parseOptions) any {
	text := e.text.String()
	if o.Trim {
		text = strings.TrimFunc(text, unicode.IsSpace)
	}
	if len(e.members) == 0 {
		switch {
		case o.CollapseText:
			return text
		case text == "":
			return object{}
		}
		return object{{Key: o.TextKey, Value: text}}
	}
	if text != "" {
		e.add(o.TextKey, text, false)
	}
	return e.members
}

// qualified is a name as written, with its namespace prefix.
func qualified(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}
