package workflow

import (
	"errors"
	"strconv"
	"strings"
)

// ErrCycle is wrapped by validation errors that report a cycle in the graph.
var ErrCycle = errors.New("workflow has a cycle")

// ValidationError is one problem with a definition. Pointer is the RFC 6901 JSON pointer of the bad
// value within the definition, such as "/nodes/3/config/url".
type ValidationError struct {
	Pointer string `json:"location"`
	Message string `json:"message"`
}

func (e ValidationError) Error() string {
	if e.Pointer == "" {
		return e.Message
	}
	return e.Pointer + ": " + e.Message
}

// ValidationErrors is every problem found in one definition. It is returned whole so that a user
// can fix them all at once.
type ValidationErrors []ValidationError

func (es ValidationErrors) Error() string {
	switch len(es) {
	case 0:
		return "no validation errors"
	case 1:
		return es[0].Error()
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(es)))
	b.WriteString(" validation errors: ")
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Pointer builds an RFC 6901 JSON pointer from its tokens, escaping "~" and "/".
func Pointer(tokens ...any) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		switch v := t.(type) {
		case int:
			b.WriteString(strconv.Itoa(v))
		case string:
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll(v, "~", "~0"), "/", "~1"))
		default:
			panic("workflow.Pointer: token must be int or string")
		}
	}
	return b.String()
}
