// Package core implements the built-in trigger, data and flow node types: trigger.manual,
// trigger.webhook, trigger.schedule, data.set, data.transform, data.filter, flow.if, flow.switch,
// flow.merge, flow.delay and flow.fail.
package core

import "github.com/concertmaster/concertmaster/internal/node"

// All returns one prototype of every node type in this package, ready to register.
func All() []node.Node {
	return []node.Node{
		&Manual{}, &Webhook{}, &Schedule{},
		&Set{}, &Transform{}, &Filter{},
		&If{}, &Switch{}, &Merge{}, &Delay{}, &Fail{},
		&NoOp{}, &Stop{}, &Wait{}, &Call{}, &Respond{}, &ErrorTrigger{},
	}
}

var (
	portIn  = []node.PortSpec{{Name: "in", Title: "Input"}}
	portOut = []node.PortSpec{{Name: "out", Title: "Output"}}
)
