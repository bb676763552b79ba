package nodedoc

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Field is one configuration field of a node type, read from its JSON Schema.
type Field struct {
	// Path names the field: "url", "auth.type" for a property of an object, "cases[].port" for a
	// property of an array's elements, "headers.*.name" for one of an object's values.
	Path string
	// Type is the JSON type in words: "string", "string or number", "array of string", "any".
	Type string
	// Required reports whether the object that holds the field lists it as required.
	Required bool
	// Default is the schema's default, as compact JSON; nil when there is none.
	Default json.RawMessage
	// Enum lists the allowed values, as compact JSON.
	Enum []json.RawMessage
	// Examples are the schema's examples, as compact JSON.
	Examples []json.RawMessage
	// Title and Description are the schema's annotations.
	Title, Description string
	// Expression reports whether the field is meant to hold an {{ expression }} (x-cm-expression).
	Expression bool
	// WriteOnly reports a secret: entered, never shown back.
	WriteOnly bool
}

// maxDepth bounds how deep Fields follows nested objects and references.
const maxDepth = 16

// schemaNode is the part of a JSON Schema that Fields reads.
type schemaNode struct {
	Ref                  string            `json:"$ref"`
	Type                 json.RawMessage   `json:"type"`
	Title                string            `json:"title"`
	Description          string            `json:"description"`
	Default              json.RawMessage   `json:"default"`
	Enum                 []json.RawMessage `json:"enum"`
	Const                json.RawMessage   `json:"const"`
	Examples             []json.RawMessage `json:"examples"`
	Required             []string          `json:"required"`
	Properties           json.RawMessage   `json:"properties"`
	Items                json.RawMessage   `json:"items"`
	AdditionalProperties json.RawMessage   `json:"additionalProperties"`
	Expression           bool              `json:"x-cm-expression"` //nolint:tagliatelle // a JSON Schema extension keyword: its name is the convention's, not ours to case
	WriteOnly            bool              `json:"writeOnly"`

	// ref is the reference the schema was reached through, if any.
	ref string
}

// walker reads a schema document; root resolves local references ("#/$defs/name"), and expanding
// holds the references whose properties are being listed, so that a recursive schema is listed once.
type walker struct {
	root      map[string]json.RawMessage
	expanding map[string]bool
}

// Fields lists the configuration fields a schema declares, in the order its properties are written:
// each property of the root object, then, depth first, the properties of objects nested in them
// (through properties, items and additionalProperties, and local $ref). Subschemas of allOf, anyOf,
// oneOf, if, then and else only constrain fields declared in properties, so they are not read.
func Fields(schema json.RawMessage) ([]Field, error) {
	if len(bytes.TrimSpace(schema)) == 0 {
		return nil, nil
	}
	w := &walker{expanding: map[string]bool{}}
	if err := json.Unmarshal(schema, &w.root); err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	root, err := w.node(schema, 0)
	if err != nil {
		return nil, err
	}
	var out []Field
	if err := w.properties(root, "", 0, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// node decodes one schema, following a local $ref. A boolean schema yields nil.
func (w *walker) node(raw json.RawMessage, depth int) (*schemaNode, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, nil
	}
	var n schemaNode
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	if n.Ref == "" {
		return &n, nil
	}
	if depth >= maxDepth {
		return nil, fmt.Errorf("schema: $ref %q nests deeper than %d", n.Ref, maxDepth)
	}
	target, err := w.resolve(n.Ref)
	if err != nil {
		return nil, err
	}
	resolved, err := w.node(target, depth+1)
	if err != nil || resolved == nil {
		return resolved, err
	}
	// Annotations beside a $ref override the target's.
	merged := *resolved
	merged.Title = cmp.Or(n.Title, merged.Title)
	merged.Description = cmp.Or(n.Description, merged.Description)
	if n.Default != nil {
		merged.Default = n.Default
	}
	if n.Examples != nil {
		merged.Examples = n.Examples
	}
	merged.Expression = merged.Expression || n.Expression
	merged.WriteOnly = merged.WriteOnly || n.WriteOnly
	merged.ref = n.Ref
	return &merged, nil
}

// resolve finds a local reference such as "#/$defs/header".
func (w *walker) resolve(ref string) (json.RawMessage, error) {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("schema: $ref %q is not local (#/…)", ref)
	}
	cur := w.root
	parts := strings.Split(path, "/")
	for i, part := range parts {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		raw, ok := cur[part]
		if !ok {
			return nil, fmt.Errorf("schema: $ref %q does not resolve", ref)
		}
		if i == len(parts)-1 {
			return raw, nil
		}
		cur = nil
		if err := json.Unmarshal(raw, &cur); err != nil {
			return nil, fmt.Errorf("schema: $ref %q does not resolve", ref)
		}
	}
	return nil, fmt.Errorf("schema: $ref %q does not resolve", ref)
}

// properties appends the fields of n's properties, and of objects nested in them, under prefix.
func (w *walker) properties(n *schemaNode, prefix string, depth int, out *[]Field) error {
	if n == nil || len(n.Properties) == 0 {
		return nil
	}
	if depth >= maxDepth {
		return fmt.Errorf("schema: properties nest deeper than %d", maxDepth)
	}
	names, values, err := orderedObject(n.Properties)
	if err != nil {
		return fmt.Errorf("schema: properties of %q: %w", cmp.Or(prefix, "the configuration"), err)
	}
	for _, name := range names {
		child, err := w.node(values[name], 0)
		if err != nil {
			return err
		}
		if child == nil {
			// A boolean schema: true allows anything undocumented, false forbids the field.
			if bytes.Equal(bytes.TrimSpace(values[name]), []byte("true")) {
				*out = append(*out, Field{Path: prefix + name, Type: "any", Required: slices.Contains(n.Required, name)})
			}
			continue
		}
		f := Field{
			Path: prefix + name, Type: w.typeOf(child), Required: slices.Contains(n.Required, name),
			Default: compact(child.Default), Title: child.Title, Description: child.Description,
			Expression: child.Expression, WriteOnly: child.WriteOnly,
		}
		for _, e := range child.Enum {
			f.Enum = append(f.Enum, compact(e))
		}
		if child.Const != nil && f.Enum == nil {
			f.Enum = []json.RawMessage{compact(child.Const)}
		}
		for _, e := range child.Examples {
			f.Examples = append(f.Examples, compact(e))
		}
		*out = append(*out, f)
		if err := w.nested(child, prefix+name, depth+1, out); err != nil {
			return err
		}
	}
	return nil
}

// nested appends the fields of the objects inside n: its own properties, its elements' and its
// values'.
func (w *walker) nested(n *schemaNode, path string, depth int, out *[]Field) error {
	if n.ref != "" {
		if w.expanding[n.ref] {
			// A recursive schema: its fields are listed where it first appears.
			return nil
		}
		w.expanding[n.ref] = true
		defer delete(w.expanding, n.ref)
	}
	if err := w.properties(n, path+".", depth, out); err != nil {
		return err
	}
	if items, err := w.node(n.Items, 0); err != nil {
		return err
	} else if items != nil {
		if err := w.nested(items, path+"[]", depth+1, out); err != nil {
			return err
		}
	}
	if values, err := w.node(n.AdditionalProperties, 0); err != nil {
		return err
	} else if values != nil {
		if err := w.nested(values, path+".*", depth+1, out); err != nil {
			return err
		}
	}
	return nil
}

// typeOf says a schema's type in words.
func (w *walker) typeOf(n *schemaNode) string {
	var types []string
	if len(n.Type) > 0 {
		var one string
		if json.Unmarshal(n.Type, &one) == nil {
			types = []string{one}
		} else {
			_ = json.Unmarshal(n.Type, &types)
		}
	}
	if len(types) == 0 {
		values := n.Enum
		if n.Const != nil {
			values = append(values, n.Const)
		}
		seen := map[string]bool{}
		for _, v := range values {
			if t := jsonKind(v); !seen[t] {
				seen[t] = true
				types = append(types, t)
			}
		}
	}
	if len(types) == 0 {
		return "any"
	}
	for i, t := range types {
		if t != "array" {
			continue
		}
		if items, err := w.node(n.Items, 0); err == nil && items != nil {
			if it := w.typeOf(items); it != "any" {
				types[i] = "array of " + it
			}
		}
	}
	return strings.Join(types, " or ")
}

// jsonKind names the JSON type of a value.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "any"
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// orderedObject returns a JSON object's keys in the order they are written, and their values.
func orderedObject(raw json.RawMessage) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("not an object")
	}
	var names []string
	values := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := values[name]; !dup {
			names = append(names, name)
		}
		values[name] = v
	}
	return names, values, nil
}

// compact returns v as compact JSON, or nil for an absent value.
func compact(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return v
	}
	return b.Bytes()
}
