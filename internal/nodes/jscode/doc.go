// Package jscode implements the code.javascript node type: a function body of user JavaScript run in an
// embedded engine (github.com/dop251/goja) with the run's data as read-only globals.
//
// The sandbox has no way out to the host: the runtime is created fresh for every run and holds only
// ECMAScript built-ins and the globals this package defines (input, trigger, nodes, vars, execution,
// console), each a deep-frozen copy of the run's data. There is no require, process, file system,
// network, environment or timer; source maps are never loaded. Time is bounded by the node's context
// and a default timeout (the VM is interrupted from a watcher), memory by a watcher that samples the Go
// heap and interrupts past the limit, and the built-ins that could build or loop over huge values in
// one native call check their sizes first (see guard.go).
package jscode
