// Package validate checks a workflow definition against the node registry and compiles it into a
// Graph the engine runs: node types resolved, configuration templates compiled, edges indexed, the
// graph checked for cycles. It reports every problem at once, each with its JSON pointer.
package validate

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// Options tune the checks. The zero value uses the defaults.
type Options struct {
	// Limits bound each expression.
	Limits expression.Limits
}

// Graph is a checked, compiled definition, ready to run. It is immutable and safe to share.
type Graph struct {
	Def   *workflow.Definition
	Nodes []*Node
	Edges []*Edge
	// Triggers are the nodes of the trigger family, in definition order.
	Triggers []*Node
	byID     map[string]*Node
}

// Node is one compiled node.
type Node struct {
	Spec  *workflow.Node
	Index int
	Type  *node.Type
	// Config is the compiled configuration; Lazy holds the templates of lazy fields by source.
	Config *expression.Value
	Lazy   map[string]*expression.Template
	// ForEach is the compiled fan-out expression, or nil.
	ForEach *expression.Template
	// In and Out are the node's edges in definition order.
	In, Out []*Edge
	// Ports is the set of output ports edges may leave from.
	Ports map[string]bool
	// WaitAny is true when the node runs on the first incoming branch (flow.merge mode any).
	WaitAny bool
	// Refs are the node ids the node's expressions read; AllRefs means it may read any node.
	Refs    []string
	AllRefs bool
}

// Edge is one compiled edge.
type Edge struct {
	Index                  int
	Source, Target         *Node
	SourcePort, TargetPort string
}

// Node returns the node with the given id, or nil.
func (g *Graph) Node(id string) *Node { return g.byID[id] }

// IsTrigger reports whether n is a trigger node.
func (n *Node) IsTrigger() bool { return n.Type.IsTrigger() }

// Compile checks def and compiles it. On failure the error is workflow.ValidationErrors.
func Compile(def *workflow.Definition, reg *node.Registry, opts Options) (*Graph, error) {
	c := &checker{def: def, reg: reg, opts: opts}
	g := c.run()
	if len(c.errs) > 0 {
		sort.SliceStable(c.errs, func(i, j int) bool { return pointerLess(c.errs[i].Pointer, c.errs[j].Pointer) })
		return nil, c.errs
	}
	return g, nil
}

type checker struct {
	def  *workflow.Definition
	reg  *node.Registry
	opts Options
	errs workflow.ValidationErrors
}

func (c *checker) fail(ptr, format string, args ...any) {
	c.errs = append(c.errs, workflow.ValidationError{Pointer: ptr, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) run() *Graph {
	def := c.def
	g := &Graph{Def: def, byID: make(map[string]*Node, len(def.Nodes))}
	if strings.TrimSpace(def.Name) == "" {
		c.fail("/name", "name is required")
	} else if len(def.Name) > workflow.MaxNameLength || !utf8.ValidString(def.Name) {
		c.fail("/name", "name must be valid UTF-8 of at most %d bytes", workflow.MaxNameLength)
	}
	if len(def.Nodes) > workflow.MaxNodes {
		c.fail("/nodes", "a workflow holds at most %d nodes; this one has %d", workflow.MaxNodes, len(def.Nodes))
		return nil
	}
	if len(def.Edges) > workflow.MaxEdges {
		c.fail("/edges", "a workflow holds at most %d edges; this one has %d", workflow.MaxEdges, len(def.Edges))
		return nil
	}
	for i := range def.Nodes {
		if n := c.node(i); n != nil {
			g.Nodes = append(g.Nodes, n)
		}
	}
	for _, n := range g.Nodes {
		if prev, dup := g.byID[n.Spec.ID]; dup {
			c.fail(workflow.Pointer("nodes", n.Index, "id"), "node id %q is already used by /nodes/%d", n.Spec.ID, prev.Index)
			continue
		}
		g.byID[n.Spec.ID] = n
		if n.IsTrigger() {
			g.Triggers = append(g.Triggers, n)
		}
	}
	c.edges(g)
	if len(c.errs) == 0 {
		c.cycles(g)
	}
	if len(c.errs) == 0 {
		c.references(g)
	}
	c.settings(g)
	c.webhooks(g)
	return g
}

func (c *checker) node(i int) *Node {
	spec := &c.def.Nodes[i]
	ptr := func(tokens ...any) string { return workflow.Pointer(append([]any{"nodes", i}, tokens...)...) }
	ok := true
	if !workflow.NodeIDPattern.MatchString(spec.ID) {
		c.fail(ptr("id"), "node id %q must start with a lowercase letter and hold only lowercase letters, digits and _ (at most 63)", spec.ID)
		ok = false
	}
	if !spec.OnError.Valid() {
		c.fail(ptr("onError"), "onError must be fail, continue or errorPort")
	}
	if spec.Concurrency < 0 || spec.Concurrency > 64 {
		c.fail(ptr("concurrency"), "concurrency must be between 0 and 64")
	}
	if spec.Retry != nil {
		r := spec.Retry
		if r.MaxAttempts < 0 || r.MaxAttempts > 100 {
			c.fail(ptr("retry", "maxAttempts"), "maxAttempts must be between 0 and 100")
		}
		if r.Multiplier < 0 || r.Multiplier > 10 {
			c.fail(ptr("retry", "multiplier"), "multiplier must be between 0 and 10")
		}
		if r.Jitter < 0 || r.Jitter > 1 {
			c.fail(ptr("retry", "jitter"), "jitter must be between 0 and 1")
		}
	}
	typ, found := c.reg.Lookup(node.TypeName(spec.Type))
	if !found {
		c.fail(ptr("type"), "unknown node type %q", spec.Type)
		return nil
	}
	n := &Node{Spec: spec, Index: i, Type: typ, Ports: map[string]bool{}}
	for _, ce := range typ.ValidateConfig(spec.Config, true) {
		c.fail(ptr("config")+ce.Pointer, "%s", ce.Message)
		ok = false
	}
	cfg, lazy, errs := expression.CompileValue(anyMap(spec.Config), c.opts.Limits, typ.IsLazy)
	for _, e := range errs {
		c.fail(ptr("config")+e.Pointer, "%s", exprMessage(e.Err))
		ok = false
	}
	n.Config, n.Lazy = cfg, lazy
	if ok {
		c.nodeSemantics(n, ptr)
	}
	for _, p := range typ.OutputPorts(spec.Config) {
		n.Ports[p] = true
	}
	if spec.OnError == workflow.OnErrorPort {
		n.Ports[workflow.PortError] = true
	}
	if probe := typ.Info.New(); decodeProbe(spec.Config, probe) {
		if policy, isPolicy := probe.(node.InputPolicy); isPolicy {
			n.WaitAny = policy.WaitForAny()
		}
	}
	if spec.ForEach != "" {
		if !expression.IsSingle(spec.ForEach) {
			c.fail(ptr("forEach"), "forEach must be one {{ expression }} yielding an array, such as {{ input.items }}")
		} else if t, err := expression.Compile(spec.ForEach, c.opts.Limits); err != nil {
			c.fail(ptr("forEach"), "%s", exprMessage(err))
		} else {
			n.ForEach = t
		}
		if !n.Ports[workflow.PortOut] {
			c.fail(ptr("forEach"), "forEach needs a node with an out port; %s has none", spec.Type)
		}
		if typ.IsTrigger() {
			c.fail(ptr("forEach"), "a trigger cannot fan out")
		}
	}
	return n
}

// nodeSemantics runs the type's own Validate on the saved configuration. Validators skip values that
// hold templates, since those are only known at run time.
func (c *checker) nodeSemantics(n *Node, ptr func(...any) string) {
	probe := n.Type.Info.New()
	v, isValidator := probe.(node.Validator)
	if !isValidator || !decodeProbe(n.Spec.Config, probe) {
		return
	}
	if err := v.Validate(); err != nil {
		c.fail(ptr("config"), "%s", err.Error())
	}
}

func (c *checker) edges(g *Graph) {
	type key struct{ s, sp, t, tp string }
	seen := map[key]int{}
	for i, e := range c.def.Edges {
		ptr := func(f string) string { return workflow.Pointer("edges", i, f) }
		src, dst := g.byID[e.Source], g.byID[e.Target]
		bad := false
		if src == nil {
			c.fail(ptr("source"), "edge source %q is not a node of this workflow", e.Source)
			bad = true
		}
		if dst == nil {
			c.fail(ptr("target"), "edge target %q is not a node of this workflow", e.Target)
			bad = true
		}
		if bad {
			continue
		}
		if e.Source == e.Target {
			c.fail(ptr("target"), "node %q cannot connect to itself", e.Source)
			continue
		}
		from, to := e.From(), e.To()
		if !src.Ports[from] {
			if from == workflow.PortError {
				c.fail(ptr("sourcePort"), "node %q has no error port: set its onError to errorPort", e.Source)
			} else {
				c.fail(ptr("sourcePort"), "node %q (%s) has no output port %q; it has %s", e.Source, src.Spec.Type, from, portList(src.Ports))
			}
			continue
		}
		if !dst.Type.HasInput(to) {
			if len(dst.Type.Info.Inputs) == 0 {
				c.fail(ptr("target"), "node %q (%s) takes no input", e.Target, dst.Spec.Type)
			} else {
				c.fail(ptr("targetPort"), "node %q (%s) has no input port %q", e.Target, dst.Spec.Type, to)
			}
			continue
		}
		k := key{e.Source, from, e.Target, to}
		if prev, dup := seen[k]; dup {
			c.fail(workflow.Pointer("edges", i), "duplicate of /edges/%d", prev)
			continue
		}
		seen[k] = i
		edge := &Edge{Index: i, Source: src, Target: dst, SourcePort: from, TargetPort: to}
		g.Edges = append(g.Edges, edge)
		src.Out = append(src.Out, edge)
		dst.In = append(dst.In, edge)
	}
}

// cycles reports every node that sits on a cycle, by Kahn's algorithm: what cannot be ordered is on
// or behind a cycle; the cycle members are then found by depth-first search among those.
func (c *checker) cycles(g *Graph) {
	indeg := make(map[*Node]int, len(g.Nodes))
	for _, e := range g.Edges {
		indeg[e.Target]++
	}
	queue := make([]*Node, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		if indeg[n] == 0 {
			queue = append(queue, n)
		}
	}
	done := 0
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		done++
		for _, e := range n.Out {
			indeg[e.Target]--
			if indeg[e.Target] == 0 {
				queue = append(queue, e.Target)
			}
		}
	}
	if done == len(g.Nodes) {
		return
	}
	onCycle := findCycle(g, indeg)
	ids := make([]string, len(onCycle))
	for i, n := range onCycle {
		ids[i] = n.Spec.ID
	}
	for _, e := range g.Edges {
		if slices.Contains(onCycle, e.Source) && slices.Contains(onCycle, e.Target) {
			c.errs = append(c.errs, workflow.ValidationError{
				Pointer: workflow.Pointer("edges", e.Index),
				Message: fmt.Sprintf("%s: %s", workflow.ErrCycle, strings.Join(append(ids, ids[0]), " → ")),
			})
			return
		}
	}
}

// findCycle returns the nodes of one cycle among the nodes Kahn's algorithm could not order.
func findCycle(g *Graph, indeg map[*Node]int) []*Node {
	const (
		white = iota
		grey
		black
	)
	color := map[*Node]int{}
	var stack []*Node
	var found []*Node
	var visit func(n *Node) bool
	visit = func(n *Node) bool {
		color[n] = grey
		stack = append(stack, n)
		for _, e := range n.Out {
			switch color[e.Target] {
			case grey:
				start := slices.Index(stack, e.Target)
				found = slices.Clone(stack[start:])
				return true
			case white:
				if visit(e.Target) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return false
	}
	for _, n := range g.Nodes {
		if indeg[n] > 0 && color[n] == white && visit(n) {
			return found
		}
	}
	return nil
}

// references checks that every nodes.<id> an expression reads names an upstream node.
func (c *checker) references(g *Graph) {
	ancestors := func(n *Node) map[*Node]bool {
		seen := map[*Node]bool{}
		stack := []*Node{n}
		for len(stack) > 0 {
			cur := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, e := range cur.In {
				if !seen[e.Source] {
					seen[e.Source] = true
					stack = append(stack, e.Source)
				}
			}
		}
		return seen
	}
	for _, n := range g.Nodes {
		type ref struct{ ptr, id string }
		var refs []ref
		collect := func(ptr string, t *expression.Template) {
			ids, dynamic := t.NodeRefs()
			n.AllRefs = n.AllRefs || dynamic
			for _, id := range ids {
				refs = append(refs, ref{ptr, id})
			}
		}
		n.Config.Templates(func(ptr string, t *expression.Template) {
			collect(workflow.Pointer("nodes", n.Index, "config")+ptr, t)
		})
		for src, t := range n.Lazy {
			collect(workflow.Pointer("nodes", n.Index, "config")+lazyPointer(n.Spec.Config, src), t)
		}
		if n.ForEach != nil {
			collect(workflow.Pointer("nodes", n.Index, "forEach"), n.ForEach)
		}
		if len(refs) == 0 {
			continue
		}
		up := ancestors(n)
		seen := map[string]bool{}
		for _, r := range refs {
			target := g.byID[r.id]
			switch {
			case target == nil:
				c.fail(r.ptr, "expression reads nodes.%s, but there is no node %q", r.id, r.id)
			case target == n:
				c.fail(r.ptr, "expression reads nodes.%s, the node's own output", r.id)
			case !up[target]:
				c.fail(r.ptr, "expression reads nodes.%s, which is not upstream of %q, so its output is not available", r.id, n.Spec.ID)
			case !seen[r.id]:
				seen[r.id] = true
				n.Refs = append(n.Refs, r.id)
			}
		}
	}
}

func (c *checker) settings(g *Graph) {
	s := c.def.Settings
	if s.MaxConcurrentNodes < 0 || s.MaxConcurrentNodes > 256 {
		c.fail("/settings/maxConcurrentNodes", "maxConcurrentNodes must be between 0 and 256")
	}
	if s.OutputNode != "" && g.byID[s.OutputNode] == nil {
		c.fail("/settings/outputNode", "outputNode %q is not a node of this workflow", s.OutputNode)
	}
}

// webhooks refuses two webhook triggers on the same method and path.
func (c *checker) webhooks(g *Graph) {
	seen := map[string]int{}
	for _, n := range g.Triggers {
		if n.Spec.Type != "trigger.webhook" {
			continue
		}
		path, _ := n.Spec.Config["path"].(string)
		method, _ := n.Spec.Config["method"].(string)
		if strings.Contains(path, "{{") || strings.Contains(method, "{{") {
			c.fail(workflow.Pointer("nodes", n.Index, "config"), "a webhook's path and method must be plain text, not expressions")
			continue
		}
		if method == "" {
			method = "POST"
		}
		key := strings.ToUpper(method) + " " + strings.Trim(path, "/")
		if prev, dup := seen[key]; dup {
			c.fail(workflow.Pointer("nodes", n.Index, "config", "path"), "webhook %s is already used by /nodes/%d", key, prev)
			continue
		}
		seen[key] = n.Index
	}
}

// decodeProbe unmarshals the saved configuration into probe; it fails when a templated value stands
// where the type expects something other than a string.
func decodeProbe(config map[string]any, probe node.Node) bool {
	return node.Decode(config, probe) == nil
}

func anyMap(m map[string]any) any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func lazyPointer(config map[string]any, src string) string {
	for k, v := range config {
		if s, ok := v.(string); ok && s == src {
			return workflow.Pointer(k)
		}
	}
	return ""
}

func portList(ports map[string]bool) string {
	names := make([]string, 0, len(ports))
	for p := range ports {
		names = append(names, fmt.Sprintf("%q", p))
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func exprMessage(err error) string {
	var e *expression.Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return err.Error()
}

// pointerLess orders pointers by their tokens, numerically where both tokens are numbers.
func pointerLess(a, b string) bool {
	ta, tb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(ta) && i < len(tb); i++ {
		if ta[i] == tb[i] {
			continue
		}
		var na, nb int
		_, ea := fmt.Sscanf(ta[i], "%d", &na)
		_, eb := fmt.Sscanf(tb[i], "%d", &nb)
		if ea == nil && eb == nil {
			return na < nb
		}
		return ta[i] < tb[i]
	}
	return len(ta) < len(tb)
}
