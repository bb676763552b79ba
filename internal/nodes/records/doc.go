// Package records implements the built-in node types that reshape arrays of records: data.sort,
// data.limit, data.aggregate, data.rename, data.dedupe and data.compare.
//
// Every type reads its records from the items field (an expression) or, without it, from its input,
// refers to fields by dot paths (customer.address.city), never modifies its input, checks its context
// every few thousand elements, and reserves what it builds beyond its output from the attempt's
// memory budget before building it.
package records

import "github.com/concertmaster/concertmaster/internal/node"

// All returns one prototype of every node type in this package, ready to register.
func All() []node.Node {
	return []node.Node{&Sort{}, &Limit{}, &Aggregate{}, &Rename{}, &Dedupe{}, &Compare{}}
}

var portIn = []node.PortSpec{{Name: "in", Title: "Input", Description: "The records, unless items says where they are"}}
