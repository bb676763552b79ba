// Package workflow defines a workflow's stored shape (Definition, Node, Edge, Settings), the life-cycle
// states of executions and node runs with their allowed transitions, and the validation error type
// every layer reports problems with.
//
// It imports no other package of this module: everything else builds on it.
package workflow
