// Package expression compiles and evaluates `{{ … }}` templates in node configuration on expr-lang.
//
// A template is a string with zero or more `{{ expr }}` parts. A string that is exactly one expression
// (surrounding blanks aside) evaluates to the expression's typed value; any other template evaluates to
// a string with each part formatted in place. Templates are compiled once per workflow version and then
// evaluated per node run against an Env (trigger, input, nodes.<id>.output, execution, workflow, vars,
// and item/index inside a fan-out).
//
// Budgets. Compilation refuses expressions longer than Limits.MaxLength bytes or larger than
// Limits.MaxNodes syntax nodes. Evaluation runs on a VM with a memory budget, and the compiler threads a
// check through every call, `+`, literal and predicate body that enforces a deadline and caps the size
// of every intermediate value, so that no expression can run for long or build a huge value. The
// builtins that could allocate without bound in one step (repeat, toJSON, string) are replaced with
// bounded versions.
package expression
