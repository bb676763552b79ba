// Package node defines what a node type is — its self-description (Info), the Node interface the
// engine calls, and the optional life-cycle interfaces — and the Registry that holds node types.
//
// A node type is registered into a Registry instance, never into global state, so that tests and
// plugins can build registries of their own. Registration compiles the type's JSON Schema once; the
// registry then validates every configuration against it and reports each problem with its JSON
// pointer.
//
// Life cycle of one node attempt, in order: New (a zero value, no side effects), configuration
// unmarshalled into it, Provision (resolve clients and secrets), Validate (fast, no I/O), Execute, and
// Cleanup, which runs even when Provision failed.
package node
