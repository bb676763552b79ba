package expression

import (
	"regexp"
	"strings"
)

// Plain words for an expression that stops before it is complete, as it does while someone types
// "{{ input." in the editor: what the last token needs, rather than the parser's "unexpected token
// EOF" or a claim that the text holds "{{ input. }}".

var (
	reEndOfInput  = regexp.MustCompile(`^unexpected (end of expression|token EOF)\b`)
	reTrailingDot = regexp.MustCompile(`([A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*|\[[^\]]*\])*)\??\.$`)
	trailingOps   = []string{"&&", "||", "==", "!=", "<=", ">=", "??", "**", "..", "+", "-", "*", "/", "%", "<", ">", "!", ",", ":", "?", " and", " or", " not", " in"}
)

func isEndOfInput(msg string) bool { return reEndOfInput.MatchString(msg) }

// incomplete says what an expression that ends too soon is missing: "is incomplete: input. needs a
// field name".
func incomplete(src string) string {
	return "is incomplete: " + missing(src)
}

// unclosedMessage says what is wrong with an expression that has no "}}": incomplete when its text
// ends too soon, otherwise only the missing braces.
func unclosedMessage(src string) string {
	s := strings.TrimSpace(src)
	if s == "" {
		return `is empty and not closed: write an expression, then "}}"`
	}
	if m := missing(s); m != "" && !strings.HasPrefix(m, "add") {
		return "is incomplete: " + m
	}
	return `is not closed: add "}}" after ` + abbreviate(s)
}

// missing names what the end of src lacks.
func missing(src string) string {
	s := strings.TrimSpace(src)
	if m := reTrailingDot.FindStringSubmatch(s); m != nil {
		return m[1] + ". needs a field name"
	}
	if strings.HasSuffix(s, ".") {
		return "the . at the end needs a field name"
	}
	for _, op := range trailingOps {
		if strings.HasSuffix(s, op) {
			return strings.TrimSpace(op) + " at the end needs a value after it"
		}
	}
	if open, closed := strings.Count(s, "("), strings.Count(s, ")"); open > closed {
		return `a "(" is not closed: add ")"`
	}
	if open, closed := strings.Count(s, "["), strings.Count(s, "]"); open > closed {
		return `a "[" is not closed: add "]"`
	}
	if open, closed := strings.Count(s, "{"), strings.Count(s, "}"); open > closed {
		return `a "{" is not closed: add "}"`
	}
	return `add what is missing at the end of ` + abbreviate(s)
}

// Span returns the byte offsets, within source, of the expression the error is about: from its "{{"
// to the end of its "}}", or to the end of the text when it is not closed. It returns ok false when
// the error does not locate one (such as the workflow's quota).
func (e *Error) Span(source string) (start, end int, ok bool) {
	if e.Offset < 0 || e.Offset+2 > len(source) || source[e.Offset:e.Offset+2] != "{{" {
		return 0, 0, false
	}
	if e.unclosed {
		return e.Offset, len(source), true
	}
	closeAt, err := findClose(source, e.Offset+2)
	if err != nil {
		return e.Offset, len(source), true
	}
	return e.Offset, closeAt + 2, true
}
