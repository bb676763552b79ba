package service

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/concertmaster/concertmaster/internal/workflow"
)

// Bounds of a workflow diff in the audit log: it records what changed, not a copy of the workflow.
const (
	maxDiffChanges    = 100
	maxDiffValueBytes = 512
)

// secretKey matches configuration keys whose values the audit log never records.
var secretKey = regexp.MustCompile(`(?i)(secret|password|passwd|token|api_?key|authorization|credential|private)`)

// Change is one difference between two versions of a workflow, at a JSON pointer into a keyed view of
// the definition: nodes by id (/nodes/<id>/config/url) and edges by their ends
// (/edges/<source>:<port>-><target>:<port>).
type Change struct {
	Path   string `json:"path"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// DefinitionDiff lists what changed from before to after (before nil: a new workflow), at most
// maxDiffChanges changes, values over maxDiffValueBytes summarised by their size and secret-looking
// fields redacted. truncated tells that changes were left out.
func DefinitionDiff(before, after *workflow.Definition) (changes []Change, truncated bool) {
	var a, b any
	if before != nil {
		a = keyed(before)
	}
	if after != nil {
		b = keyed(after)
	}
	d := &differ{}
	d.walk("", a, b)
	return d.changes, d.truncated
}

type differ struct {
	changes   []Change
	truncated bool
}

func (d *differ) walk(path string, a, b any) {
	if len(d.changes) >= maxDiffChanges {
		d.truncated = d.truncated || !reflect.DeepEqual(a, b)
		return
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			d.walk(path+"/"+escape(k), am[k], bm[k])
		}
		return
	}
	if reflect.DeepEqual(a, b) {
		return
	}
	d.changes = append(d.changes, Change{Path: path, Before: summarise(path, a), After: summarise(path, b)})
}

func escape(k string) string { return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1") }

// summarise returns v as the audit log keeps it: redacted under a secret-looking key, or its size
// when its JSON is large.
func summarise(path string, v any) any {
	if v == nil {
		return nil
	}
	if secretKey.MatchString(path[strings.LastIndexByte(path, '/')+1:]) {
		return "[redacted]"
	}
	v = redact(v)
	b, err := json.Marshal(v)
	if err != nil || len(b) > maxDiffValueBytes {
		return map[string]any{"bytes": len(b), "omitted": true}
	}
	return v
}

// redact replaces the values of secret-looking keys inside v.
func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if secretKey.MatchString(k) {
				out[k] = "[redacted]"
			} else {
				out[k] = redact(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = redact(x)
		}
		return out
	}
	return v
}

// keyed turns a definition into plain JSON values with nodes keyed by id and edges by their ends,
// so that a diff names "node fetch's url" rather than "the third element".
func keyed(def *workflow.Definition) map[string]any {
	toAny := func(v any) any {
		b, err := json.Marshal(v)
		if err != nil {
			return nil
		}
		var out any
		if json.Unmarshal(b, &out) != nil {
			return nil
		}
		return out
	}
	nodes := make(map[string]any, len(def.Nodes))
	for _, n := range def.Nodes {
		nodes[n.ID] = toAny(n)
	}
	edges := make(map[string]any, len(def.Edges))
	for _, e := range def.Edges {
		sp, tp := e.SourcePort, e.TargetPort
		if sp == "" {
			sp = "out"
		}
		if tp == "" {
			tp = "in"
		}
		edges[e.Source+":"+sp+"->"+e.Target+":"+tp] = true
	}
	return map[string]any{"name": def.Name, "description": def.Description, "nodes": nodes, "edges": edges, "settings": toAny(def.Settings)}
}
