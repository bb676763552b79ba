package expression

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// runError turns an evaluation failure into an *Error that keeps its cause and says what went wrong
// in the words of the expression: which part was null or of the wrong type, and what needed what.
func runError(p *part, err error) *Error {
	e := &Error{Expr: abbreviate(p.src), Offset: p.offset, cause: err}
	var fe *file.Error
	if errors.As(err, &fe) {
		e.Message = fe.Message
		if fe.Prev != nil {
			e.cause = fe.Prev
		}
		if msg, ok := explain(p.src, p.program, fe); ok {
			e.Message = msg
		}
	} else {
		e.Message = firstLine(err.Error())
	}
	if strings.Contains(e.Message, "memory budget exceeded") && !errors.Is(e.cause, ErrBudget) {
		// expr-lang's own element budget, hit by ranges and large collections.
		e.Message = "built a range or collection with too many elements (the limit is about a million)"
		e.cause = ErrBudget
	}
	e.Message = strings.ReplaceAll(firstLine(e.Message), budgetName, "budget")
	return e
}

var (
	reInvalidBinary  = regexp.MustCompile(`^invalid operation: (.+?) (\S+) (.+)$`)
	reInvalidUnary   = regexp.MustCompile(`^invalid operation: (\S+) (.+)$`)
	reCannotFetch    = regexp.MustCompile(`^cannot fetch (.+) from (.+)$`)
	reConversion     = regexp.MustCompile(`^interface conversion: interface \{\} is (.+), not (.+)$`)
	reIndexRange     = regexp.MustCompile(`^index out of range: (-?\d+) \(array length is (\d+)\)$`)
	reInvalidArg     = regexp.MustCompile(`^invalid argument for (\w+) \(type (.+)\)$`)
	reConvertCall    = regexp.MustCompile(`^invalid operation: (int|float)\((.*)\)$`)
	reZeroValueReach = regexp.MustCompile(`^reflect: call of reflect\.Value\.\w+ on zero Value`)
)

// explain rewrites expr-lang's runtime messages, which speak of Go types ("interface conversion:
// interface {} is nil, not string", "invalid operation: <nil> > int"), in terms of the expression:
// the sub-expression at fault, quoted from the source, and JSON type names.
func explain(src string, prog *vm.Program, fe *file.Error) (string, bool) {
	at := findNode(prog.Node(), fe.Location)
	text := func(n ast.Node) string { return sourceOf(src, n) }
	msg := fe.Message
	switch n := at.(type) {
	case *ast.BinaryNode:
		if m := reInvalidBinary.FindStringSubmatch(msg); m != nil {
			return fmt.Sprintf("cannot apply %s to %s (%s) and %s (%s)", n.Operator, text(n.Left), goType(m[1]), text(n.Right), goType(m[3])), true
		}
	case *ast.CallNode:
		if name := calleeName(n); name == "__add" && len(n.Arguments) == 3 {
			if m := reInvalidBinary.FindStringSubmatch(msg); m != nil {
				return fmt.Sprintf("cannot apply + to %s (%s) and %s (%s)", text(n.Arguments[1]), goType(m[1]), text(n.Arguments[2]), goType(m[3])), true
			}
		} else if m := reConversion.FindStringSubmatch(msg); m != nil {
			return argumentMismatch(name, visibleArgs(n.Arguments), text, m[1], m[2]), true
		}
	case *ast.BuiltinNode:
		switch m := reConversion.FindStringSubmatch(msg); {
		case m != nil:
			return argumentMismatch(n.Name, n.Arguments, text, m[1], m[2]), true
		case reZeroValueReach.MatchString(msg) && len(n.Arguments) > 0:
			return fmt.Sprintf("%s needs an array, but %s is null", n.Name, text(n.Arguments[0])), true
		}
		if m := reInvalidArg.FindStringSubmatch(msg); m != nil && len(n.Arguments) > 0 {
			return fmt.Sprintf("%s cannot take %s, which is %s", m[1], text(n.Arguments[0]), goType(m[2])), true
		}
		if m := reConvertCall.FindStringSubmatch(msg); m != nil && len(n.Arguments) > 0 {
			return fmt.Sprintf("%s cannot turn %s (%q) into a number", m[1], text(n.Arguments[0]), m[2]), true
		}
	case *ast.MemberNode:
		what := "." + text(n.Property)
		if _, isName := n.Property.(*ast.StringNode); !isName || n.Method {
			what = "[" + text(n.Property) + "]"
		}
		if m := reCannotFetch.FindStringSubmatch(msg); m != nil {
			return fmt.Sprintf("%s is %s, so %s cannot be read from it", text(n.Node), goType(m[2]), what), true
		}
		if m := reConvertCall.FindStringSubmatch(msg); m != nil && m[1] == "int" {
			// Reading a field of a string or a number.
			return fmt.Sprintf("%s is %s, so %s cannot be read from it", text(n.Node), goType(m[2]), what), true
		}
		if m := reIndexRange.FindStringSubmatch(msg); m != nil {
			return fmt.Sprintf("%s has %s element(s), so %s is out of range", text(n.Node), m[2], what), true
		}
	case *ast.UnaryNode:
		if m := reConversion.FindStringSubmatch(msg); m != nil {
			return fmt.Sprintf("%s needs %s, but %s is %s", n.Operator, goType(m[2]), text(n.Node), goType(m[1])), true
		}
		if m := reInvalidUnary.FindStringSubmatch(msg); m != nil {
			return fmt.Sprintf("%s cannot be applied to %s, which is %s", n.Operator, text(n.Node), goType(m[2])), true
		}
	}
	if m := reConversion.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("a value is %s where %s is needed", goType(m[1]), goType(m[2])), true
	}
	return "", false
}

func argumentMismatch(fn string, args []ast.Node, text func(ast.Node) string, got, want string) string {
	if len(args) == 1 {
		return fmt.Sprintf("%s needs %s, but %s is %s", fn, goType(want), text(args[0]), goType(got))
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = text(a)
	}
	return fmt.Sprintf("%s needs %s where one of its arguments (%s) is %s", fn, goType(want), strings.Join(quoted, ", "), goType(got))
}

// visibleArgs drops the hidden budget argument of the functions the compiler threads it through.
func visibleArgs(args []ast.Node) []ast.Node {
	if len(args) > 0 {
		if id, ok := args[0].(*ast.IdentifierNode); ok && id.Value == budgetName {
			return args[1:]
		}
	}
	return args
}

func calleeName(n *ast.CallNode) string {
	if id, ok := n.Callee.(*ast.IdentifierNode); ok {
		return id.Value
	}
	return ""
}

// findNode returns the node of the tree whose own location is loc, looking through the budget
// checks the compiler wrapped around the user's nodes.
func findNode(root ast.Node, loc file.Location) ast.Node {
	var found ast.Node
	ast.Find(root, func(n ast.Node) bool {
		if n.Location() != loc {
			return false
		}
		if c, ok := n.(*ast.CallNode); ok {
			if name := calleeName(c); name == "__chk" || name == "__lit" {
				return false
			}
		}
		found = n
		return true
	})
	return found
}

// sourceOf quotes the source of a node: the span from the start of its leftmost token to the end of
// its rightmost one. Locations count runes.
func sourceOf(src string, n ast.Node) string {
	if n == nil {
		return "?"
	}
	from, to := n.Location().From, n.Location().To
	ast.Find(n, func(c ast.Node) bool {
		if id, ok := c.(*ast.IdentifierNode); ok && id.Value == budgetName {
			return false
		}
		l := c.Location()
		if l.From < l.To {
			from, to = min(from, l.From), max(to, l.To)
		}
		return false
	})
	runes := []rune(src)
	if from < 0 || to > len(runes) || from >= to {
		return "?"
	}
	s := strings.TrimSpace(string(runes[from:to]))
	// A call's span stops at its last argument: close what it opened.
	if open, closed := strings.Count(s, "("), strings.Count(s, ")"); open > closed {
		s += strings.Repeat(")", open-closed)
	}
	if open, closed := strings.Count(s, "["), strings.Count(s, "]"); open > closed {
		s += strings.Repeat("]", open-closed)
	}
	return abbreviate(s)
}

// goType names a type from expr-lang's messages in the words of JSON.
func goType(t string) string {
	t = strings.TrimSpace(t)
	switch {
	case t == "<nil>" || t == "nil":
		return "null"
	case t == "bool":
		return "a boolean"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint") || strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["):
		return "an object"
	case t == "time.Time":
		return "a date"
	case t == "time.Duration":
		return "a duration"
	}
	return t
}
