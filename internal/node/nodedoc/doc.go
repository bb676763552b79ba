// Package nodedoc documents node types from their self-description: the configuration fields read
// from a type's JSON Schema, the Markdown pages of docs/nodes/ and the README's node table (written by
// the test in internal/nodes/builtin with -update), the text `concertmaster nodes describe` prints, and
// Check, which lists what a type's description lacks against the documentation conventions.
package nodedoc
