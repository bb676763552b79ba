package expression

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// Value is a compiled JSON value: a tree whose string leaves holding {{ templates }} are compiled.
// Evaluating it yields a new tree; subtrees without templates are shared with the original, so callers
// must not modify the result.
type Value struct {
	literal  any
	template *Template
	object   map[string]*Value
	array    []*Value
	dynamic  bool
}

// PathError is a template that does not compile, located by its JSON pointer within the value.
type PathError struct {
	Pointer string
	Err     error
}

func (e *PathError) Error() string { return e.Pointer + ": " + e.Err.Error() }
func (e *PathError) Unwrap() error { return e.Err }

// CompileValue compiles every template inside v, which must be made of JSON types. Top-level keys for
// which lazy returns true are left as literal strings, to be evaluated by the node itself; their
// templates are still compiled, to report errors, and returned keyed by source. Top-level keys for
// which raw returns true are literal values, never read as templates (source code in which "{{" is
// ordinary text). Either function may be nil.
func CompileValue(v any, limits Limits, lazy, raw func(key string) bool) (*Value, map[string]*Template, []PathError) {
	c := valueCompiler{limits: limits, lazy: lazy, raw: raw, lazyTemplates: map[string]*Template{}}
	out := c.compile(v, "", 0)
	return out, c.lazyTemplates, c.errs
}

type valueCompiler struct {
	limits        Limits
	lazy          func(string) bool
	raw           func(string) bool
	lazyTemplates map[string]*Template
	errs          []PathError
}

func (c *valueCompiler) compile(v any, ptr string, depth int) *Value {
	switch x := v.(type) {
	case string:
		if !HasExpression(x) {
			return &Value{literal: x}
		}
		t, err := Compile(x, c.limits)
		if err != nil {
			c.errs = append(c.errs, PathError{Pointer: ptr, Err: err})
			return &Value{literal: x}
		}
		if depth == 1 && c.lazy != nil && c.lazy(ptr[1:]) {
			c.lazyTemplates[x] = t
			return &Value{literal: x}
		}
		return &Value{template: t, dynamic: true}
	case map[string]any:
		obj := make(map[string]*Value, len(x))
		dyn := false
		for k, e := range x {
			if depth == 0 && c.raw != nil && c.raw(k) {
				obj[k] = &Value{literal: e}
				continue
			}
			cv := c.compile(e, ptr+"/"+escape(k), depth+1)
			obj[k] = cv
			dyn = dyn || cv.dynamic
		}
		if !dyn {
			return &Value{literal: v}
		}
		return &Value{object: obj, dynamic: true}
	case []any:
		arr := make([]*Value, len(x))
		dyn := false
		for i, e := range x {
			cv := c.compile(e, ptr+"/"+strconv.Itoa(i), depth+1)
			arr[i] = cv
			dyn = dyn || cv.dynamic
		}
		if !dyn {
			return &Value{literal: v}
		}
		return &Value{array: arr, dynamic: true}
	}
	return &Value{literal: v}
}

func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// Dynamic reports whether the value holds any template, that is, whether evaluating it can yield
// something other than the saved value.
func (v *Value) Dynamic() bool { return v != nil && v.dynamic }

// Templates calls f for every compiled template in the value, with its JSON pointer.
func (v *Value) Templates(f func(ptr string, t *Template)) { v.walk("", f) }

func (v *Value) walk(ptr string, f func(string, *Template)) {
	switch {
	case v == nil:
	case v.template != nil:
		f(ptr, v.template)
	case v.object != nil:
		for k, c := range v.object {
			c.walk(ptr+"/"+escape(k), f)
		}
	case v.array != nil:
		for i, c := range v.array {
			c.walk(ptr+"/"+strconv.Itoa(i), f)
		}
	}
}

// Eval evaluates every template in the value. An *Error it returns carries the JSON pointer, within
// the value, of the template that failed.
func (v *Value) Eval(ctx context.Context, env *Env, budget Budget) (any, error) {
	return v.eval(ctx, env, budget, "")
}

func (v *Value) eval(ctx context.Context, env *Env, budget Budget, ptr string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if !v.dynamic {
		return v.literal, nil
	}
	switch {
	case v.template != nil:
		out, err := v.template.Eval(ctx, env, budget)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Pointer == "" {
				e.Pointer = ptr
			}
			return nil, err
		}
		return out, nil
	case v.object != nil:
		out := make(map[string]any, len(v.object))
		for k, c := range v.object {
			r, err := c.eval(ctx, env, budget, ptr+"/"+escape(k))
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	default:
		out := make([]any, len(v.array))
		for i, c := range v.array {
			r, err := c.eval(ctx, env, budget, ptr+"/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
}
