package validate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// The schema messages that name properties rather than the value at their location. They are
// reported again at each property's own pointer, so that an editor can mark the field.
const (
	missingOnePrefix    = "missing property "
	missingManyPrefix   = "missing properties "
	additionalPrefix    = "additional properties "
	additionalSuffix    = " not allowed"
	quotedListSeparator = "', '"
)

// falseSchema is the schema message for a property that a `false` subschema forbids, as a schema
// does for the properties that do not go with another's value (trigger.webhook's auth.secret with
// auth.type header).
const falseSchema = "false schema"

// configErrors turns one schema error into the errors Compile reports. A missing required property
// is reported at the property's pointer ("url is required") rather than at its parent object, and so
// is each property the schema does not allow. A property forbidden by a false subschema is told to
// go. Any other error is returned as it is.
func configErrors(typ *node.Type, config map[string]any, ce node.ConfigError) []node.ConfigError {
	if ce.Message == falseSchema && ce.Pointer != "" {
		name := ce.Pointer[strings.LastIndexByte(ce.Pointer, '/')+1:]
		name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")
		return []node.ConfigError{{Pointer: ce.Pointer, Message: fmt.Sprintf("%s is not used with the other settings here: remove it", name)}}
	}
	parent, found := lookup(config, ce.Pointer)
	obj, isObject := parent.(map[string]any)
	if !found || !isObject {
		return []node.ConfigError{ce}
	}
	var list string
	var missing bool
	switch {
	case strings.HasPrefix(ce.Message, missingOnePrefix):
		list, missing = strings.TrimPrefix(ce.Message, missingOnePrefix), true
	case strings.HasPrefix(ce.Message, missingManyPrefix):
		list, missing = strings.TrimPrefix(ce.Message, missingManyPrefix), true
	case strings.HasPrefix(ce.Message, additionalPrefix) && strings.HasSuffix(ce.Message, additionalSuffix):
		list = strings.TrimSuffix(strings.TrimPrefix(ce.Message, additionalPrefix), additionalSuffix)
	default:
		return []node.ConfigError{ce}
	}
	names, ok := unquoteList(list)
	if !ok {
		return []node.ConfigError{ce}
	}
	out := make([]node.ConfigError, 0, len(names))
	for _, name := range names {
		if _, present := obj[name]; present == missing {
			// The message does not describe this object after all; keep it as it was.
			return []node.ConfigError{ce}
		}
		ptr := ce.Pointer + workflow.Pointer(name)
		if missing {
			out = append(out, node.ConfigError{Pointer: ptr, Message: fmt.Sprintf("%s is required", name)})
			continue
		}
		msg := fmt.Sprintf("unknown property %q: remove it or fix its spelling", name)
		if ce.Pointer == "" {
			msg = unknownTopLevel(typ, name)
		}
		out = append(out, node.ConfigError{Pointer: ptr, Message: msg})
	}
	return out
}

// unknownTopLevel says which properties a type's configuration accepts instead of name.
func unknownTopLevel(typ *node.Type, name string) string {
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(typ.Info.Schema, &schema); err != nil {
		return fmt.Sprintf("unknown property %q: remove it or fix its spelling", name)
	}
	if len(schema.Properties) == 0 {
		return fmt.Sprintf("unknown property %q: %s takes no configuration, so remove it", name, typ.Info.Type)
	}
	props := make([]string, 0, len(schema.Properties))
	for p := range schema.Properties {
		props = append(props, p)
	}
	slices.Sort(props)
	return fmt.Sprintf("unknown property %q: %s accepts %s", name, typ.Info.Type, strings.Join(props, ", "))
}

// unquoteList parses a list the schema library writes as 'a', 'b': each name Go-quoted, with the
// double quotes swapped for single ones and single quotes escaped, so that the separator cannot occur
// inside a name. The list is quoted again and compared, so that a format change is noticed rather
// than misread.
func unquoteList(list string) ([]string, bool) {
	if len(list) < 2 || list[0] != '\'' || list[len(list)-1] != '\'' {
		return nil, false
	}
	var names []string
	for _, q := range strings.Split(list[1:len(list)-1], quotedListSeparator) {
		q = strings.ReplaceAll(q, `\'`, `'`)
		name, err := strconv.Unquote(`"` + strings.ReplaceAll(q, `"`, `\"`) + `"`)
		if err != nil {
			return nil, false
		}
		names = append(names, name)
	}
	quoted := make([]string, len(names))
	for i, name := range names {
		quoted[i] = schemaQuote(name)
	}
	if strings.Join(quoted, ", ") != list {
		return nil, false
	}
	return names, true
}

// schemaQuote quotes a name as the schema library does in its messages.
func schemaQuote(s string) string {
	s = strconv.Quote(s)
	s = strings.ReplaceAll(s, `\"`, `"`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	return "'" + s[1:len(s)-1] + "'"
}

// lookup returns the value at an RFC 6901 pointer within config.
func lookup(config map[string]any, ptr string) (any, bool) {
	var v any = config
	if ptr == "" {
		return v, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			e, ok := x[tok]
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// fieldPrefix matches a message from a node's Validate that starts by naming a configuration field,
// such as `cron "* * *": …` or `cases[2]: …`.
var fieldPrefix = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*)((?:\[[0-9]+\])*)[ :]`)

// locate returns the pointer, relative to the configuration, of the field a node's Validate message
// names at its start, or "" when it names no field present in config. Validate returns plain errors,
// so this is how an editor gets to mark the field.
func locate(config map[string]any, msg string) string {
	m := fieldPrefix.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	ptr := workflow.Pointer(m[1])
	if _, ok := lookup(config, ptr); !ok {
		return ""
	}
	for _, idx := range strings.Split(strings.Trim(m[2], "[]"), "][") {
		if idx == "" {
			break
		}
		next := ptr + "/" + idx
		if _, ok := lookup(config, next); !ok {
			break
		}
		ptr = next
	}
	return ptr
}

// holdsTemplate reports whether v is a string holding a {{ template }}.
func holdsTemplate(v any) bool {
	s, ok := v.(string)
	return ok && expression.HasExpression(s)
}

// oneOfFailedPrefix starts the schema message for a value that matches several oneOf branches.
const oneOfFailedPrefix = "'oneOf' failed"

// oneOfRequired rewrites the errors of a configuration schema whose top level says "exactly one of
// these properties" as a oneOf of single-property required lists, such as flow.delay's duration or
// until. The schema library reports such a configuration as a missing property per branch when none
// is set, or as "'oneOf' failed, subschemas 0, 1 matched" when several are; both become one error
// naming the choice.
func oneOfRequired(typ *node.Type, errs []node.ConfigError) []node.ConfigError {
	names := exactlyOneOf(typ.Info.Schema)
	if len(names) == 0 || len(errs) == 0 {
		return errs
	}
	choice := make(map[string]bool, len(names))
	for _, name := range names {
		choice[fmt.Sprintf("%s'%s'", missingOnePrefix, name)] = true
	}
	out := make([]node.ConfigError, 0, len(errs))
	var missing, several bool
	for _, e := range errs {
		switch {
		case e.Pointer == "" && choice[e.Message]:
			missing = true
		case e.Pointer == "" && strings.HasPrefix(e.Message, oneOfFailedPrefix):
			several = true
		default:
			out = append(out, e)
		}
	}
	list := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	switch {
	case several && len(names) == 2:
		out = append(out, node.ConfigError{Message: fmt.Sprintf("set either %s, not both", list)})
	case several:
		out = append(out, node.ConfigError{Message: fmt.Sprintf("set only one of %s", list)})
	case missing && len(names) == 2:
		out = append(out, node.ConfigError{Message: fmt.Sprintf("set %s", list)})
	case missing:
		out = append(out, node.ConfigError{Message: fmt.Sprintf("set one of %s", list)})
	}
	return out
}

// exactlyOneOf returns the property names of a schema whose top-level oneOf branches each only
// require one property, or nil.
func exactlyOneOf(schema json.RawMessage) []string {
	var doc struct {
		OneOf []map[string]json.RawMessage `json:"oneOf"`
	}
	if err := json.Unmarshal(schema, &doc); err != nil || len(doc.OneOf) < 2 {
		return nil
	}
	names := make([]string, 0, len(doc.OneOf))
	for _, branch := range doc.OneOf {
		var required []string
		if len(branch) != 1 || json.Unmarshal(branch["required"], &required) != nil || len(required) != 1 {
			return nil
		}
		names = append(names, required[0])
	}
	return names
}
