package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// buildOptions say how JSON becomes XML; defaultBuildOptions fills the defaults.
type buildOptions struct {
	// RootName names the root element. Empty: an object with a single element member is that
	// element, anything else is wrapped in <root>.
	RootName string
	// AttrPrefix marks the keys that are attributes ("@id"); empty means no attributes.
	AttrPrefix string
	// TextKey is the key of an element's text.
	TextKey string
	// ItemName names the elements of an array that is the root's value.
	ItemName string
	// Indent is the number of spaces per level; 0 writes everything on one line.
	Indent int
	// Declaration starts the document with <?xml version="1.0" encoding="UTF-8"?>.
	Declaration bool
}

func defaultBuildOptions() buildOptions {
	return buildOptions{AttrPrefix: "@", TextKey: "#text", ItemName: "item", Declaration: true}
}

// errJSON marks values that have no XML form, as opposed to a bad configuration.
var errJSON = errors.New("cannot build XML")

// buildXML turns a JSON value, as decodeJSON returns it, into an XML document: the inverse of
// parseXML. An object's members are attributes (keys starting with AttrPrefix, scalar values), its
// text (TextKey) and child elements; an array repeats its element; null is an empty element; strings,
// numbers and booleans are text.
func buildXML(v any, o buildOptions) (string, error) {
	name, ptr := o.RootName, ""
	if name == "" {
		name = "root"
		if obj, ok := v.(object); ok && len(obj) == 1 && !o.isAttr(obj[0].Key) && obj[0].Key != o.TextKey {
			if _, isArray := obj[0].Value.([]any); !isArray {
				name, v, ptr = obj[0].Key, obj[0].Value, "/"+pointerToken(obj[0].Key)
			}
		}
	}
	b := &builder{o: o}
	if o.Declaration {
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
		if o.Indent > 0 {
			b.WriteByte('\n')
		}
	}
	if a, isArray := v.([]any); isArray {
		// <root><item>…</item><item>…</item></root>
		if !isName(name) {
			return "", fmt.Errorf("%w: %q is not an XML element name", errJSON, name)
		}
		b.WriteString("<" + name + ">")
		for i, item := range a {
			b.newline(1)
			if err := b.element(o.ItemName, item, 1, "/"+strconv.Itoa(i)); err != nil {
				return "", err
			}
		}
		b.newline(0)
		b.closeTag(name)
	} else if err := b.element(name, v, 0, ptr); err != nil {
		return "", err
	}
	if b.Len() > maxXMLBytes {
		return "", fmt.Errorf("%w: the XML is %d bytes, over the %d-byte limit", errJSON, b.Len(), maxXMLBytes)
	}
	return b.String(), nil
}

func (o buildOptions) isAttr(key string) bool {
	return o.AttrPrefix != "" && strings.HasPrefix(key, o.AttrPrefix) && key != o.TextKey
}

type builder struct {
	strings.Builder
	o buildOptions
}

func (b *builder) element(name string, v any, depth int, ptr string) error {
	if !isName(name) {
		return fmt.Errorf("%w: %q at %s is not an XML element name", errJSON, name, pointer(ptr))
	}
	if depth >= maxDepthLimit {
		return fmt.Errorf("%w: %s nests deeper than %d elements", errJSON, pointer(ptr), maxDepthLimit)
	}
	if b.Len() > maxXMLBytes {
		return fmt.Errorf("%w: the XML would be over the %d-byte limit", errJSON, maxXMLBytes)
	}
	b.WriteByte('<')
	b.WriteString(name)
	switch x := v.(type) {
	case nil:
		b.WriteString("/>")
		return nil
	case []any:
		return fmt.Errorf("%w: the array at %s is inside an array; XML has no form for it", errJSON, pointer(ptr))
	case object:
		return b.object(name, x, depth, ptr)
	}
	s, err := scalar(v)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errJSON, pointer(ptr), err)
	}
	b.WriteByte('>')
	escape(&b.Builder, s, false)
	b.closeTag(name)
	return nil
}

func (b *builder) object(name string, o object, depth int, ptr string) error {
	var text string
	hasText, children := false, 0
	for _, m := range o {
		p := ptr + "/" + pointerToken(m.Key)
		switch {
		case m.Key == b.o.TextKey:
			s, err := scalar(m.Value)
			if err != nil {
				return fmt.Errorf("%w: text %s: %w", errJSON, pointer(p), err)
			}
			text, hasText = text+s, true
		case b.o.isAttr(m.Key):
			an := strings.TrimPrefix(m.Key, b.o.AttrPrefix)
			if !isName(an) {
				return fmt.Errorf("%w: %q at %s is not an XML attribute name", errJSON, an, pointer(p))
			}
			if m.Value == nil {
				continue
			}
			s, err := scalar(m.Value)
			if err != nil {
				return fmt.Errorf("%w: attribute %s: %w", errJSON, pointer(p), err)
			}
			b.WriteByte(' ')
			b.WriteString(an)
			b.WriteString(`="`)
			escape(&b.Builder, s, true)
			b.WriteByte('"')
		default:
			children++
		}
	}
	if !hasText && children == 0 {
		b.WriteString("/>")
		return nil
	}
	b.WriteByte('>')
	escape(&b.Builder, text, false)
	if children == 0 {
		b.closeTag(name)
		return nil
	}
	for _, m := range o {
		if m.Key == b.o.TextKey || b.o.isAttr(m.Key) {
			continue
		}
		p := ptr + "/" + pointerToken(m.Key)
		items, isArray := m.Value.([]any)
		if !isArray {
			items = []any{m.Value}
		}
		for i, item := range items {
			ip := p
			if isArray {
				ip += "/" + strconv.Itoa(i)
			}
			b.newline(depth + 1)
			if err := b.element(m.Key, item, depth+1, ip); err != nil {
				return err
			}
		}
	}
	b.newline(depth)
	b.closeTag(name)
	return nil
}

func (b *builder) closeTag(name string) {
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

func (b *builder) newline(depth int) {
	if b.o.Indent > 0 {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat(" ", b.o.Indent*depth))
	}
}

// scalar is the text of a string, number or boolean.
func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", nil
	}
	return "", errors.New("want a string, number, boolean or null, not an object or array")
}

// escape writes s as XML text, or as an attribute value when attr is set (then quotes and line breaks
// are escaped too). Characters XML cannot hold (most control characters, invalid UTF-8) become U+FFFD.
func escape(b *strings.Builder, s string, attr bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			r = unicode.ReplacementChar
		}
		i += size
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case r == '\r':
			b.WriteString("&#xD;")
		case (r == '\n' || r == '\t') && attr:
			fmt.Fprintf(b, "&#x%X;", r)
		case !isXMLChar(r):
			b.WriteRune(unicode.ReplacementChar)
		default:
			b.WriteRune(r)
		}
	}
}

// isXMLChar reports whether XML 1.0 allows r in a document.
func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// isName reports whether s is an XML name: a letter, '_' or ':' first, then letters, digits, '-',
// '.', '_', ':' and combining marks; at most 1,000 bytes.
func isName(s string) bool {
	if s == "" || len(s) > 1000 {
		return false
	}
	for i, r := range s {
		first := unicode.IsLetter(r) || r == '_' || r == ':'
		if i == 0 && !first {
			return false
		}
		if !first && !unicode.IsDigit(r) && r != '-' && r != '.' && !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Mc, r) && r != 0xB7 {
			return false
		}
	}
	return true
}

func pointer(p string) string {
	if p == "" {
		return "the root"
	}
	return p
}
