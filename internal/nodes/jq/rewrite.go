package jq

import (
	"fmt"
	"strings"

	"github.com/itchyny/gojq"
)

// reservedPrefix starts the names of the functions and variables the guards add; programs may not
// use them.
const reservedPrefix = "_cm_"

// runVar is the hidden variable holding the run's state, passed to the guards that need it.
const runVar = "$__cm_run"

// guardedOps maps operators whose evaluation can build or walk large values in one step to the
// guard functions that replace them.
var guardedOps = map[gojq.Operator]string{
	gojq.OpAdd: "_cm_op_add",
	gojq.OpSub: "_cm_op_sub",
	gojq.OpMul: "_cm_op_mul",
	gojq.OpEq:  "_cm_op_eq",
	gojq.OpNe:  "_cm_op_ne",
	gojq.OpLt:  "_cm_op_lt",
	gojq.OpLe:  "_cm_op_le",
	gojq.OpGt:  "_cm_op_gt",
	gojq.OpGe:  "_cm_op_ge",
}

// guardedUpdates maps arithmetic update-assignments to the operator they apply.
var guardedUpdates = map[gojq.Operator]gojq.Operator{
	gojq.OpUpdateAdd: gojq.OpAdd,
	gojq.OpUpdateSub: gojq.OpSub,
	gojq.OpUpdateMul: gojq.OpMul,
}

// internalOps are gojq's internal names of the guarded operators, which a program could call
// directly.
var internalOps = map[string]gojq.Operator{
	"_add": gojq.OpAdd, "_subtract": gojq.OpSub, "_multiply": gojq.OpMul,
	"_equal": gojq.OpEq, "_notequal": gojq.OpNe, "_less": gojq.OpLt, "_lesseq": gojq.OpLe,
	"_greater": gojq.OpGt, "_greatereq": gojq.OpGe,
}

// rewriter replaces operators by guards and checks that the program uses no reserved name.
type rewriter struct {
	err error
	// names collects every function name the program calls, to pick the prelude definitions it
	// needs.
	names map[string]bool
}

func fnTerm(name string, args ...*gojq.Query) *gojq.Query {
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: name, Args: args}}}
}

func identity() *gojq.Query { return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeIdentity}} }

func (w *rewriter) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf(format, args...)
	}
}

func (w *rewriter) query(q *gojq.Query) {
	if q == nil || w.err != nil {
		return
	}
	for _, fd := range q.FuncDefs {
		if strings.HasPrefix(fd.Name, reservedPrefix) {
			w.fail("the name %s is reserved", fd.Name)
		}
		for _, a := range fd.Args {
			if strings.HasPrefix(strings.TrimPrefix(a, "$"), reservedPrefix) || strings.HasPrefix(a, "$__cm") {
				w.fail("the name %s is reserved", a)
			}
		}
		w.query(fd.Body)
	}
	w.term(q.Term)
	w.query(q.Left)
	w.query(q.Right)
	for _, p := range q.Patterns {
		w.pattern(p)
	}
	var nq *gojq.Query
	if guard, ok := guardedOps[q.Op]; ok {
		// L op R becomes guard(L; R): gojq evaluates a function's arguments as it does an operator's
		// operands, so the results come in the same order.
		nq = fnTerm(guard, q.Left, q.Right)
	} else if op, ok := guardedUpdates[q.Op]; ok {
		// L op= R is R as $x | L |= guard(.; $x), as jq defines it.
		v := "$__cm_update"
		modify := &gojq.Query{Left: q.Left, Op: gojq.OpModify, Right: fnTerm(guardedOps[op], identity(), fnTerm(v))}
		nq = &gojq.Query{Left: q.Right, Op: gojq.OpPipe, Patterns: []*gojq.Pattern{{Name: v}}, Right: w.pathGuard(modify)}
	} else {
		switch q.Op {
		case gojq.OpAssign, gojq.OpModify, gojq.OpUpdateDiv, gojq.OpUpdateMod, gojq.OpUpdateAlt:
			nq = w.pathGuard(&gojq.Query{Left: q.Left, Op: q.Op, Right: q.Right})
		default:
			return
		}
	}
	nq.Meta, nq.Imports, nq.FuncDefs = q.Meta, q.Imports, q.FuncDefs
	*q = *nq
}

// pathGuard returns reduce path(L) as $p (.; _cm_path_fit($p)) | update: every path an update
// writes is checked before it writes, since an index far past the end of an array would allocate
// the array whole.
func (w *rewriter) pathGuard(update *gojq.Query) *gojq.Query {
	w.names["_cm_path_fit"] = true
	check := &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeReduce, Reduce: &gojq.Reduce{
		Query:    fnTerm("path", update.Left),
		Patterns: []*gojq.Pattern{{Name: "$__cm_path"}},
		Start:    identity(),
		Update:   fnTerm("_cm_path_fit", fnTerm("$__cm_path")),
	}}}
	return &gojq.Query{Left: check, Op: gojq.OpPipe, Right: update}
}

func (w *rewriter) pattern(p *gojq.Pattern) {
	if p == nil {
		return
	}
	if strings.HasPrefix(p.Name, "$__cm") {
		w.fail("the name %s is reserved", p.Name)
	}
	for _, e := range p.Array {
		w.pattern(e)
	}
	for _, o := range p.Object {
		if strings.HasPrefix(o.Key, "$__cm") {
			w.fail("the name %s is reserved", o.Key)
		}
		w.str(o.KeyString)
		w.query(o.KeyQuery)
		w.pattern(o.Val)
	}
}

func (w *rewriter) str(s *gojq.String) {
	if s == nil {
		return
	}
	for _, q := range s.Queries {
		w.query(q)
	}
}

func (w *rewriter) index(x *gojq.Index) {
	if x == nil {
		return
	}
	w.str(x.Str)
	w.query(x.Start)
	w.query(x.End)
}

func (w *rewriter) term(t *gojq.Term) {
	if t == nil || w.err != nil {
		return
	}
	w.index(t.Index)
	if f := t.Func; f != nil {
		if strings.HasPrefix(f.Name, reservedPrefix) || strings.HasPrefix(f.Name, "$__cm") {
			w.fail("the name %s is reserved", f.Name)
		}
		if op, ok := internalOps[f.Name]; ok && len(f.Args) == 2 {
			f.Name = guardedOps[op]
		}
		w.names[f.Name] = true
		for _, a := range f.Args {
			w.query(a)
		}
	}
	if t.Object != nil {
		for _, kv := range t.Object.KeyVals {
			w.str(kv.KeyString)
			w.query(kv.KeyQuery)
			w.query(kv.Val)
		}
	}
	if t.Array != nil {
		w.query(t.Array.Query)
	}
	if t.Unary != nil {
		w.term(t.Unary.Term)
	}
	if t.Type == gojq.TermTypeFormat {
		w.names[t.Format] = true
	}
	if t.Str != nil && t.Str.Queries != nil {
		// String interpolation formats each value with tostring (or the format's function).
		w.names["tostring"] = true
	}
	w.str(t.Str)
	if t.If != nil {
		w.query(t.If.Cond)
		w.query(t.If.Then)
		for _, e := range t.If.Elif {
			w.query(e.Cond)
			w.query(e.Then)
		}
		w.query(t.If.Else)
	}
	if t.Try != nil {
		w.query(t.Try.Body)
		w.query(t.Try.Catch)
	}
	if r := t.Reduce; r != nil {
		w.query(r.Query)
		for _, p := range r.Patterns {
			w.pattern(p)
		}
		w.query(r.Start)
		w.query(r.Update)
	}
	if f := t.Foreach; f != nil {
		w.query(f.Query)
		for _, p := range f.Patterns {
			w.pattern(p)
		}
		w.query(f.Start)
		w.query(f.Update)
		w.query(f.Extract)
	}
	if t.Label != nil {
		w.query(t.Label.Body)
	}
	w.query(t.Query)
	for _, s := range t.SuffixList {
		w.index(s.Index)
	}
}
