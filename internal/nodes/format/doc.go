// Package format implements the text format node types: data.csv (parse and format CSV), data.xml
// (parse and format XML) and data.html (extract values from HTML with CSS selectors).
//
// Every node bounds what it builds from user content before allocating it: the output's estimated
// JSON size against the attempt's output cap (node.Limits.MaxOutputBytes, code output_too_large) and
// the memory it holds against the execution's budget (node.Limits.Memory, code budget_exceeded), and
// it checks its context while it walks user data, so that a timeout or a cancel interrupts it.
package format

import "github.com/concertmaster/concertmaster/internal/node"

// All returns one prototype of every node type in this package, ready to register.
func All() []node.Node {
	return []node.Node{&CSV{}, &XML{}, &HTML{}}
}

// Codes of the *node.Error values the nodes return, besides output_too_large.
const (
	// CodeInvalidInput is an input of the wrong kind, such as an object where text is needed.
	CodeInvalidInput = "invalid_input"
	// CodeInvalidCSV is text that is not valid CSV; the message names the line.
	CodeInvalidCSV = "invalid_csv"
	// CodeInvalidXML is text that is not well-formed XML, or XML past the depth limit.
	CodeInvalidXML = "invalid_xml"
	// CodeInvalidHTML is HTML over the size limit or a selector that does not compile.
	CodeInvalidHTML = "invalid_html"
)

// ctxEvery is how many elements a loop over user data handles between two context checks.
const ctxEvery = 256

var (
	portIn  = []node.PortSpec{{Name: "in", Title: "Input"}}
	portOut = []node.PortSpec{{Name: "out", Title: "Output"}}
)

// kindOf names the JSON kind of v for messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, float32, int, int64, int32:
		return "a number"
	}
	return "a value of another kind"
}

// invalidInput returns a permanent invalid_input error.
func invalidInput(format string, args ...any) error {
	return node.Permanent(node.Errorf(CodeInvalidInput, format, args...))
}
