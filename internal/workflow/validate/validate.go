// Package validate checks a workflow definition against the node registry and compiles it into a
// Graph the engine runs: node types resolved, configuration templates compiled, edges indexed, the
// graph checked for cycles. It reports every problem at once, each with its JSON pointer.
package validate

import (
	"errors"
	"fmt"
	"math"
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
	// Types, when set, is asked for a node type before the registry: an execution that started on
	// a plugin version that has since been replaced compiles with that version (ADR 0025).
	Types map[node.TypeName]*node.Type
}

// Graph is a checked, compiled definition, ready to run. It is immutable and safe to share.
type Graph struct {
	Def   *workflow.Definition
	Nodes []*Node
	Edges []*Edge
	// Triggers are the nodes of the trigger family, in definition order.
	Triggers []*Node
	// Plugins maps each plugin node type the graph uses to its plugin version (PluginRef.String);
	// nil when it uses none.
	Plugins map[string]string
	// Generation is the registry's generation when the graph was compiled: a graph with Plugins is
	// compiled again once the registry has changed since.
	Generation uint64
	byID       map[string]*Node
	weight     int64
}

// Weight estimates the memory the graph holds, in bytes: its definition and compiled expressions
// (templates shared with other graphs through a cache are counted in each).
func (g *Graph) Weight() int64 { return g.weight }

// Per-element estimates behind Graph.Weight.
const (
	nodeOverhead = 512
	edgeOverhead = 160
)

func (g *Graph) measure() {
	w := int64(len(g.Def.Name) + len(g.Def.Description))
	for _, n := range g.Nodes {
		size, _ := expression.SizeAtMost(anyMap(n.Spec.Config), math.MaxInt64)
		w += nodeOverhead + 2*size
		n.Config.Templates(func(_ string, t *expression.Template) { w += t.Weight() })
		for _, t := range n.Lazy {
			w += t.Weight()
		}
		if n.ForEach != nil {
			w += n.ForEach.Weight()
		}
	}
	vars, _ := expression.SizeAtMost(g.Def.Settings.Vars, math.MaxInt64)
	g.weight = w + int64(len(g.Edges))*edgeOverhead + 2*vars
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
	if opts.Limits.Quota == nil {
		// One quota per workflow bounds the total cost of compiling its expressions.
		opts.Limits.Quota = &expression.Quota{}
	}
	c := &checker{def: def, reg: reg, opts: opts, unresolved: map[string]bool{}}
	generation := reg.Generation()
	g := c.run()
	if len(c.errs) > 0 {
		sort.SliceStable(c.errs, func(i, j int) bool { return pointerLess(c.errs[i].Pointer, c.errs[j].Pointer) })
		return nil, c.errs
	}
	g.Generation = generation
	for _, n := range g.Nodes {
		if p := n.Type.Info.Plugin; p != nil {
			if g.Plugins == nil {
				g.Plugins = map[string]string{}
			}
			g.Plugins[n.Spec.Type] = p.String()
		}
	}
	g.measure()
	return g, nil
}

// maxNodeIDLength is the longest node id workflow.NodeIDPattern accepts.
const maxNodeIDLength = 63

type checker struct {
	def  *workflow.Definition
	reg  *node.Registry
	opts Options
	errs workflow.ValidationErrors
	// unresolved holds the ids of nodes whose type is unknown. Their own error says what is wrong;
	// edges and settings naming them are not reported again.
	unresolved map[string]bool
	// incomplete is set when a node or an edge was left out of the graph, so that which node is
	// upstream of which is not known for sure.
	incomplete bool
	// quotaReported is set once the workflow's expression quota was reported spent.
	quotaReported bool
}

// exprFail reports an expression that does not compile; the workflow's expression quota running out
// is reported once, where it ran out.
func (c *checker) exprFail(ptr string, err error) {
	if errors.Is(err, expression.ErrQuota) {
		if c.quotaReported {
			return
		}
		c.quotaReported = true
	}
	c.fail(ptr, "%s", exprMessage(err))
}

// tags checks the workflow's tags: bounded in number, each matching workflow.TagPattern, none twice.
func (c *checker) tags() {
	tags := c.def.Tags
	if len(tags) > workflow.MaxTags {
		c.fail("/tags", "a workflow carries at most %d tags; this one has %d", workflow.MaxTags, len(tags))
		return
	}
	seen := make(map[string]int, len(tags))
	for i, tag := range tags {
		ptr := workflow.Pointer("tags", i)
		if !workflow.TagPattern.MatchString(tag) {
			c.fail(ptr, "tag %q must be 1 to 32 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit", truncate(tag, 40))
			continue
		}
		key := strings.ToLower(tag)
		if j, dup := seen[key]; dup {
			c.fail(ptr, "tag %q is already tag %d; each tag appears once", tag, j+1)
			continue
		}
		seen[key] = i
	}
}

func (c *checker) fail(ptr, format string, args ...any) {
	c.errs = append(c.errs, workflow.ValidationError{Pointer: ptr, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) run() *Graph {
	def := c.def
	g := &Graph{Def: def, byID: make(map[string]*Node, len(def.Nodes))}
	switch {
	case strings.TrimSpace(def.Name) == "":
		c.fail("/name", "name is required")
	case len(def.Name) > workflow.MaxNameLength:
		c.fail("/name", "name is %d bytes long, over the %d-byte limit; shorten it", len(def.Name), workflow.MaxNameLength)
	case !utf8.ValidString(def.Name):
		c.fail("/name", "name must be valid UTF-8")
	case strings.IndexByte(def.Name, 0) >= 0:
		c.fail("/name", "name must not contain a NUL character (\\u0000)")
	}
	switch {
	case !utf8.ValidString(def.Description):
		c.fail("/description", "description must be valid UTF-8")
	case strings.IndexByte(def.Description, 0) >= 0:
		c.fail("/description", "description must not contain a NUL character (\\u0000)")
	}
	c.tags()
	if len(def.Nodes) > workflow.MaxNodes {
		c.fail("/nodes", "a workflow holds at most %d nodes; this one has %d", workflow.MaxNodes, len(def.Nodes))
		return nil
	}
	if len(def.Edges) > workflow.MaxEdges {
		c.fail("/edges", "a workflow holds at most %d edges; this one has %d", workflow.MaxEdges, len(def.Edges))
		return nil
	}
	c.notes()
	for i := range def.Nodes {
		if n := c.node(i); n != nil {
			g.Nodes = append(g.Nodes, n)
		}
	}
	// firstIndex maps each id to the first node holding it; nodes without an id are reported by
	// node and cannot be the end of an edge.
	firstIndex := make(map[string]int, len(def.Nodes))
	for i := range def.Nodes {
		id := def.Nodes[i].ID
		if id == "" {
			c.incomplete = true
			continue
		}
		if prev, dup := firstIndex[id]; dup {
			c.fail(workflow.Pointer("nodes", i, "id"), "node id %q is already used by /nodes/%d; give each node its own id", id, prev)
			c.incomplete = true
			continue
		}
		firstIndex[id] = i
	}
	for _, n := range g.Nodes {
		if first, indexed := firstIndex[n.Spec.ID]; !indexed || first != n.Index {
			continue
		}
		g.byID[n.Spec.ID] = n
		if n.IsTrigger() {
			g.Triggers = append(g.Triggers, n)
		}
	}
	c.edges(g)
	// Edges left out can only remove cycles, never make one, so every cycle found is real.
	cyclic := c.cycles(g)
	if !cyclic && !c.incomplete {
		c.references(g)
	}
	c.settings(g)
	c.webhooks(g)
	c.schedules(g)
	return g
}

// notes checks the sticky notes: bounded in number, text and size, with unique ids. The engine never
// reads them, so nothing else about them matters.
func (c *checker) notes() {
	notes := c.def.Notes
	if len(notes) > workflow.MaxNotes {
		c.fail("/notes", "a workflow holds at most %d notes; this one has %d", workflow.MaxNotes, len(notes))
		return
	}
	seen := make(map[string]int, len(notes))
	for i := range notes {
		n := &notes[i]
		ptr := func(field string) string { return workflow.Pointer("notes", i, field) }
		switch {
		case !workflow.NoteIDPattern.MatchString(n.ID):
			c.fail(ptr("id"), "note id %q must be 1 to 64 letters, digits, _ or -", n.ID)
		default:
			if prev, dup := seen[n.ID]; dup {
				c.fail(ptr("id"), "note id %q is already used by /notes/%d; give each note its own id", n.ID, prev)
			} else {
				seen[n.ID] = i
			}
		}
		switch {
		case len(n.Text) > workflow.MaxNoteTextLength:
			c.fail(ptr("text"), "note text is %d bytes long, over the %d-byte limit; shorten it", len(n.Text), workflow.MaxNoteTextLength)
		case !utf8.ValidString(n.Text):
			c.fail(ptr("text"), "note text must be valid UTF-8")
		case strings.IndexByte(n.Text, 0) >= 0:
			c.fail(ptr("text"), "note text must not contain a NUL character (\\u0000)")
		}
		for _, d := range [...]struct {
			field string
			v     float64
		}{{"width", n.Width}, {"height", n.Height}} {
			if d.v != 0 && (d.v < workflow.MinNoteSize || d.v > workflow.MaxNoteSize || math.IsNaN(d.v)) {
				c.fail(ptr(d.field), "note %s must be between %d and %d, or 0 for the default", d.field, workflow.MinNoteSize, workflow.MaxNoteSize)
			}
		}
		if n.Color != "" && !slices.Contains(workflow.NoteColors, n.Color) {
			c.fail(ptr("color"), "note color %q is not one of %s", n.Color, strings.Join(workflow.NoteColors, ", "))
		}
	}
}

func (c *checker) node(i int) *Node {
	spec := &c.def.Nodes[i]
	ptr := func(tokens ...any) string { return workflow.Pointer(append([]any{"nodes", i}, tokens...)...) }
	switch {
	case spec.ID == "":
		c.fail(ptr("id"), "node id is required: use a lowercase letter followed by lowercase letters, digits or _, such as fetch_orders")
	case len(spec.ID) > maxNodeIDLength:
		c.fail(ptr("id"), "node id %q is %d characters long; shorten it to at most %d", spec.ID, len(spec.ID), maxNodeIDLength)
	case !workflow.NodeIDPattern.MatchString(spec.ID):
		c.fail(ptr("id"), "node id %q must start with a lowercase letter and hold only lowercase letters, digits and _ (at most 63)", spec.ID)
	}
	switch {
	case len(spec.Name) > workflow.MaxNodeNameLength:
		c.fail(ptr("name"), "node name is %d bytes long, over the %d-byte limit; shorten it", len(spec.Name), workflow.MaxNodeNameLength)
	case !utf8.ValidString(spec.Name):
		c.fail(ptr("name"), "node name must be valid UTF-8")
	}
	if !spec.OnError.Valid() {
		c.fail(ptr("onError"), "onError %q is not valid: use fail, continue or errorPort", spec.OnError)
	}
	if spec.Concurrency < 0 || spec.Concurrency > 64 {
		c.fail(ptr("concurrency"), "concurrency must be between 0 and 64")
	}
	if spec.Retry != nil {
		r := spec.Retry
		if r.MaxAttempts < 0 || r.MaxAttempts > 100 {
			c.fail(ptr("retry", "maxAttempts"), "maxAttempts must be between 0 and 100")
		}
		if r.Multiplier != 0 && (r.Multiplier < 1 || r.Multiplier > 10) {
			c.fail(ptr("retry", "multiplier"), "multiplier must be between 1 and 10 (0 means the default, 2)")
		}
		if r.Jitter < 0 || r.Jitter > 1 {
			c.fail(ptr("retry", "jitter"), "jitter must be between 0 and 1")
		}
	}
	typ, found := c.opts.Types[node.TypeName(spec.Type)]
	if !found {
		typ, found = c.reg.Lookup(node.TypeName(spec.Type))
	}
	if !found {
		if spec.Type == "" {
			c.fail(ptr("type"), "node type is required, such as http.request or data.set")
		} else {
			c.fail(ptr("type"), "unknown node type %q: check its spelling, or install the plugin that provides it", spec.Type)
		}
		c.unresolved[spec.ID] = true
		c.incomplete = true
		return nil
	}
	n := &Node{Spec: spec, Index: i, Type: typ, Ports: map[string]bool{}}
	configOK := true
	for _, ce := range oneOfRequired(typ, typ.ValidateConfig(spec.Config, true)) {
		for _, e := range configErrors(typ, spec.Config, ce) {
			c.fail(ptr("config")+e.Pointer, "%s", e.Message)
		}
		configOK = false
	}
	// Once the workflow is refused for the size of its expressions, compiling more would only repeat
	// that error.
	if !c.opts.Limits.Quota.Exhausted() {
		cfg, lazy, errs := expression.CompileValue(anyMap(spec.Config), c.opts.Limits, typ.IsLazy, typ.IsRaw)
		for _, e := range errs {
			c.exprFail(ptr("config")+e.Pointer, e.Err)
			configOK = false
		}
		n.Config, n.Lazy = cfg, lazy
	} else {
		configOK = false
	}
	if configOK {
		c.nodeSemantics(n, ptr)
	}
	for _, p := range typ.OutputPorts(spec.Config) {
		n.Ports[p] = true
	}
	if spec.OnError == workflow.OnErrorPort {
		n.Ports[workflow.PortError] = true
	}
	// Only types with an input policy need their configuration decoded here.
	if probe := typ.Info.New(); isInputPolicy(probe) && decodeProbe(spec.Config, probe) {
		n.WaitAny = probe.(node.InputPolicy).WaitForAny()
	}
	if spec.ForEach != "" {
		t, err := expression.Compile(spec.ForEach, c.opts.Limits)
		switch {
		case err != nil:
			c.exprFail(ptr("forEach"), err)
		case !expression.IsSingle(spec.ForEach):
			c.fail(ptr("forEach"), "forEach must be one {{ expression }} yielding an array, such as {{ input.items }}, with nothing around it")
		default:
			n.ForEach = t
		}
		switch {
		case typ.IsTrigger():
			c.fail(ptr("forEach"), "a trigger cannot fan out: remove forEach here and set it on a node after the trigger")
		case !n.Ports[workflow.PortOut]:
			c.fail(ptr("forEach"), "%s has no out port to collect the fan-out's results on: remove forEach, or fan out in a node before it", spec.Type)
		}
	}
	return n
}

// nodeSemantics runs the type's own Validate on the saved configuration. Validators skip values that
// hold templates, since those are only known at run time; an error that names a field holding a
// template is dropped for the same reason, in case a validator does not.
func (c *checker) nodeSemantics(n *Node, ptr func(...any) string) {
	probe := n.Type.Info.New()
	v, isValidator := probe.(node.Validator)
	if !isValidator || !decodeProbe(n.Spec.Config, probe) {
		return
	}
	err := safeValidate(v)
	var p *panicError
	if errors.As(err, &p) {
		c.fail(ptr("config"), "%s could not check this configuration: its validator panicked (%v); this is a bug in %s, please report it",
			n.Spec.Type, p.value, n.Spec.Type)
		return
	}
	if err == nil {
		return
	}
	errs := []error{err}
	if joined, isJoined := err.(interface{ Unwrap() []error }); isJoined {
		errs = joined.Unwrap()
	}
	for _, err := range errs {
		if err == nil {
			continue
		}
		field := locate(n.Spec.Config, err.Error())
		if v, _ := lookup(n.Spec.Config, field); field != "" && holdsTemplate(v) && !n.Type.IsRaw(topKey(field)) {
			// The value is only known at run time, where the engine validates it again. (A Raw key's
			// "{{" is not a template: its value is the saved one.)
			continue
		}
		c.fail(ptr("config")+field, "%s", err.Error())
	}
}

// panicError is a panic recovered from a node type's Validate.
type panicError struct{ value any }

func (e *panicError) Error() string { return fmt.Sprintf("validator panicked: %v", e.value) }

// safeValidate calls v.Validate, turning a panic into a *panicError: node types may come from
// plugins, and a bug in one must not take down whoever is saving a workflow.
func safeValidate(v node.Validator) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r}
		}
	}()
	return v.Validate()
}

func (c *checker) edges(g *Graph) {
	type key struct{ s, sp, t, tp string }
	seen := map[key]int{}
	for i, e := range c.def.Edges {
		ptr := func(f string) string { return workflow.Pointer("edges", i, f) }
		src, dst := g.byID[e.Source], g.byID[e.Target]
		if src == nil || dst == nil {
			c.incomplete = true
			c.missingEnd(g, ptr("source"), "source", e.Source)
			c.missingEnd(g, ptr("target"), "target", e.Target)
			continue
		}
		if e.Source == e.Target {
			c.fail(ptr("target"), "node %q cannot connect to itself: remove this edge", e.Source)
			continue
		}
		from, to := e.From(), e.To()
		if !src.Ports[from] {
			switch {
			case from == workflow.PortError:
				c.fail(ptr("sourcePort"), "node %q has no error port: set its onError to errorPort, or connect another port", e.Source)
			case len(src.Ports) == 0:
				c.fail(ptr("sourcePort"), "node %q (%s) has no output ports", e.Source, src.Spec.Type)
			default:
				c.fail(ptr("sourcePort"), "node %q (%s) has no output port %q; use one of %s", e.Source, src.Spec.Type, from, portList(src.Ports))
			}
			c.incomplete = true
			continue
		}
		if !dst.Type.HasInput(to) {
			if len(dst.Type.Info.Inputs) == 0 {
				c.fail(ptr("target"), "node %q is a trigger (%s) and takes no input: triggers start executions, so remove this edge", e.Target, dst.Spec.Type)
			} else {
				c.fail(ptr("targetPort"), "node %q (%s) has no input port %q; use %s", e.Target, dst.Spec.Type, to, inputList(dst.Type.Info.Inputs))
			}
			c.incomplete = true
			continue
		}
		k := key{e.Source, from, e.Target, to}
		if prev, dup := seen[k]; dup {
			c.fail(workflow.Pointer("edges", i), "edge repeats /edges/%d (%s.%s → %s.%s): remove one of them", prev, e.Source, from, e.Target, to)
			continue
		}
		seen[k] = i
		edge := &Edge{Index: i, Source: src, Target: dst, SourcePort: from, TargetPort: to}
		g.Edges = append(g.Edges, edge)
		src.Out = append(src.Out, edge)
		dst.In = append(dst.In, edge)
	}
}

// missingEnd reports the end of an edge that names no node of g. An end naming a node whose type is
// unknown is not reported: the node's own error says what to fix.
func (c *checker) missingEnd(g *Graph, ptr, end, id string) {
	switch {
	case g.byID[id] != nil:
	case id == "":
		c.fail(ptr, "edge %s is required: set it to a node id", end)
	case c.unresolved[id]:
	default:
		c.fail(ptr, "edge %s %q is not a node of this workflow: use the id of one of its nodes", end, id)
	}
}

// cycles reports one cycle in every strongly connected component of more than one node, at the edge
// that closes it, and reports whether it found any.
func (c *checker) cycles(g *Graph) bool {
	found := false
	for _, comp := range components(g) {
		if len(comp) < 2 {
			continue
		}
		path, closing := cycleIn(comp)
		ids := make([]string, 0, len(path)+1)
		for _, n := range path {
			ids = append(ids, n.Spec.ID)
		}
		ids = append(ids, path[0].Spec.ID)
		c.fail(workflow.Pointer("edges", closing.Index), "%s: %s; remove this edge or another one on the cycle",
			workflow.ErrCycle, strings.Join(ids, " → "))
		found = true
	}
	return found
}

// components returns the strongly connected components of g by Tarjan's algorithm, each with its
// nodes in definition order, ordered by their first node.
func components(g *Graph) [][]*Node {
	index := make(map[*Node]int, len(g.Nodes))
	low := make(map[*Node]int, len(g.Nodes))
	onStack := make(map[*Node]bool, len(g.Nodes))
	var stack []*Node
	var comps [][]*Node
	var connect func(n *Node)
	connect = func(n *Node) {
		index[n] = len(index) + 1
		low[n] = index[n]
		stack = append(stack, n)
		onStack[n] = true
		for _, e := range n.Out {
			switch {
			case index[e.Target] == 0:
				connect(e.Target)
				low[n] = min(low[n], low[e.Target])
			case onStack[e.Target]:
				low[n] = min(low[n], index[e.Target])
			}
		}
		if low[n] != index[n] {
			return
		}
		var comp []*Node
		for {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[top] = false
			comp = append(comp, top)
			if top == n {
				break
			}
		}
		slices.SortFunc(comp, func(a, b *Node) int { return a.Index - b.Index })
		comps = append(comps, comp)
	}
	for _, n := range g.Nodes {
		if index[n] == 0 {
			connect(n)
		}
	}
	slices.SortFunc(comps, func(a, b []*Node) int { return a[0].Index - b[0].Index })
	return comps
}

// cycleIn returns a cycle within comp, a strongly connected component of at least two nodes, starting
// at its first node, and the edge that closes it.
func cycleIn(comp []*Node) ([]*Node, *Edge) {
	const (
		unvisited = iota
		open
		done
	)
	member := make(map[*Node]bool, len(comp))
	for _, n := range comp {
		member[n] = true
	}
	state := make(map[*Node]int, len(comp))
	var stack []*Node
	var visit func(n *Node) ([]*Node, *Edge)
	visit = func(n *Node) ([]*Node, *Edge) {
		state[n] = open
		stack = append(stack, n)
		for _, e := range n.Out {
			if !member[e.Target] {
				continue
			}
			switch state[e.Target] {
			case open:
				return slices.Clone(stack[slices.Index(stack, e.Target):]), e
			case unvisited:
				if path, closing := visit(e.Target); path != nil {
					return path, closing
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil, nil
	}
	return visit(comp[0])
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
			collect(workflow.Pointer("nodes", n.Index, "config")+lazyPointer(n, src), t)
		}
		if n.ForEach != nil {
			collect(workflow.Pointer("nodes", n.Index, "forEach"), n.ForEach)
		}
		if len(refs) == 0 && !n.Type.HasRaw() {
			continue
		}
		up := ancestors(n)
		if n.Type.HasRaw() {
			// Code may read any upstream node: every ancestor is a reference, in definition order.
			for _, m := range g.Nodes {
				if up[m] {
					refs = append(refs, ref{workflow.Pointer("nodes", n.Index, "config"), m.Spec.ID})
				}
			}
		}
		seen := map[string]bool{}
		for _, r := range refs {
			target := g.byID[r.id]
			switch {
			case target == nil:
				c.fail(r.ptr, "expression reads nodes.%s, but there is no node %q: check the id", r.id, r.id)
			case target == n:
				c.fail(r.ptr, "expression reads nodes.%s, the node's own output, which does not exist while it runs: read input instead", r.id)
			case !up[target]:
				c.fail(r.ptr, "expression reads nodes.%s, but %q is not upstream of %q, so its output is not available: connect %q to %q through edges, or read an upstream node", r.id, r.id, n.Spec.ID, r.id, n.Spec.ID)
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
	if s.OutputNode != "" && g.byID[s.OutputNode] == nil && !c.unresolved[s.OutputNode] {
		c.fail("/settings/outputNode", "outputNode %q is not a node of this workflow: name one of its nodes, or leave it empty", s.OutputNode)
	}
	if r := s.Retention; r != nil {
		if r.MaxAge != 0 && r.MaxAge.Std() < workflow.RetentionMinAge {
			c.fail("/settings/retention/maxAge", "retention maxAge %s is too short: use at least 1m, or leave it out to use the server's setting", r.MaxAge)
		}
		if r.MaxExecutions < 0 || r.MaxExecutions > workflow.RetentionMaxExecutions {
			c.fail("/settings/retention/maxExecutions", "retention maxExecutions must be between 1 and %d, or 0 for the server's setting", workflow.RetentionMaxExecutions)
		}
	}
}

// webhooks refuses two webhook triggers on the same method and path, and paths or methods that are
// expressions: requests are routed by them before any expression could run.
func (c *checker) webhooks(g *Graph) {
	seen := map[string]int{}
	for _, n := range g.Triggers {
		if n.Spec.Type != "trigger.webhook" {
			continue
		}
		path, _ := n.Spec.Config["path"].(string)
		method, _ := n.Spec.Config["method"].(string)
		templated := false
		for _, f := range []struct{ name, value string }{{"path", path}, {"method", method}} {
			if expression.HasExpression(f.value) {
				c.fail(workflow.Pointer("nodes", n.Index, "config", f.name),
					"a webhook's %s must be plain text, not an expression: requests are routed by it before any expression runs", f.name)
				templated = true
			}
		}
		if templated || path == "" {
			continue
		}
		if seg, ok := dotSegment(path); ok {
			c.fail(workflow.Pointer("nodes", n.Index, "config", "path"),
				"webhook path %q has a %q segment, which no request can reach: URLs resolve dot segments away before routing; remove it", path, seg)
			continue
		}
		if method == "" {
			method = "POST"
		}
		key := strings.ToUpper(method) + " /hooks/" + strings.Trim(path, "/")
		if prev, dup := seen[key]; dup {
			c.fail(workflow.Pointer("nodes", n.Index, "config", "path"), "webhook %s is already used by /nodes/%d: change this trigger's path or method", key, prev)
			continue
		}
		seen[key] = n.Index
	}
}

// dotSegment returns the first "." or ".." segment of a webhook path.
func dotSegment(path string) (string, bool) {
	for seg := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		if seg == "." || seg == ".." {
			return seg, true
		}
	}
	return "", false
}

// schedules refuses cron expressions, time zones and missed-run policies that are templates: the
// scheduler needs them before any execution exists to evaluate them in.
func (c *checker) schedules(g *Graph) {
	for _, n := range g.Triggers {
		if n.Spec.Type != "trigger.schedule" {
			continue
		}
		for _, name := range []string{"cron", "timezone", "missed"} {
			if v, _ := n.Spec.Config[name].(string); expression.HasExpression(v) {
				c.fail(workflow.Pointer("nodes", n.Index, "config", name),
					"a schedule's %s must be plain text, not an expression: it is needed before any execution starts", name)
			}
		}
	}
}

// topKey returns the first key of a configuration pointer: "code" for "/code".
func topKey(ptr string) string {
	key, _, _ := strings.Cut(strings.TrimPrefix(ptr, "/"), "/")
	return key
}

func isInputPolicy(n node.Node) bool {
	_, ok := n.(node.InputPolicy)
	return ok
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

// lazyPointer returns the pointer, relative to the configuration, of the first lazy key (in sorted
// order) whose value is src.
func lazyPointer(n *Node, src string) string {
	keys := make([]string, 0, len(n.Spec.Config))
	for k, v := range n.Spec.Config {
		if s, ok := v.(string); ok && s == src && n.Type.IsLazy(k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return workflow.Pointer(slices.Min(keys))
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

func inputList(ports []node.PortSpec) string {
	names := make([]string, len(ports))
	for i, p := range ports {
		names[i] = fmt.Sprintf("%q", p.Name)
	}
	if len(names) == 1 {
		return names[0]
	}
	return "one of " + strings.Join(names, ", ")
}

// exprNames lists what an expression can read, for messages about unknown names.
const exprNames = "trigger, input, nodes, execution, workflow, vars, item and index"

func exprMessage(err error) string {
	msg := err.Error()
	var e *expression.Error
	if errors.As(err, &e) {
		msg = e.Error()
	}
	if strings.Contains(msg, "unknown name ") {
		msg += "; expressions can read " + exprNames
	}
	return msg
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

// truncate shortens s to at most n bytes on a rune boundary, marking the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
