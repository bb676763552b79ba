package expression

import (
	"errors"
	"strings"

	"github.com/expr-lang/expr/file"
)

// runError turns an evaluation failure into an *Error that keeps its cause and says what went wrong
// in the words of the expression.
func runError(p *part, err error) *Error {
	e := &Error{Expr: abbreviate(p.src), Offset: p.offset, cause: err}
	var fe *file.Error
	if errors.As(err, &fe) {
		e.Message = fe.Message
		if fe.Prev != nil {
			e.cause = fe.Prev
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
