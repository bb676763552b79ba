package jscode

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/dop251/goja"
)

// maxDepth bounds how deeply the output may nest.
const maxDepth = 200

// mapExportType is what goja exports a Map as.
var mapExportType = reflect.TypeOf([][2]any{})

// toJS returns a deep-frozen JavaScript copy of a JSON-like Go value: plain objects and arrays whose
// properties can be neither changed, added nor removed, so that a script sees the run's data and can
// change nothing that another script or node sees.
func (s *sandbox) toJS(v any, depth int) goja.Value {
	if depth > maxDepth*10 {
		panic(s.vm.NewGoError(fmt.Errorf("value nests more than %d levels deep", maxDepth*10)))
	}
	switch x := v.(type) {
	case nil:
		return goja.Null()
	case bool, string, float64, int, int64, int32, float32, uint, uint64, uint32:
		return s.vm.ToValue(x)
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return s.vm.ToValue(f)
		}
		return s.vm.ToValue(x.String())
	case time.Time:
		return s.vm.ToValue(x.UTC().Format(time.RFC3339Nano))
	case map[string]any:
		obj := s.vm.NewObject()
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			_ = obj.Set(k, s.toJS(x[k], depth+1))
		}
		return s.freeze(obj)
	case []any:
		items := make([]any, len(x))
		for i, e := range x {
			items[i] = s.toJS(e, depth+1)
		}
		return s.freeze(s.vm.NewArray(items...))
	}
	// Anything else goes through JSON, as the engine would store it.
	b, err := json.Marshal(v)
	if err != nil {
		return goja.Null()
	}
	var decoded any
	if err := json.Unmarshal(b, &decoded); err != nil {
		return goja.Null()
	}
	return s.toJS(decoded, depth)
}

func (s *sandbox) freeze(obj *goja.Object) *goja.Object {
	if _, err := s.objectFreeze(goja.Undefined(), obj); err != nil {
		panic(err)
	}
	return obj
}

// OutputError is a returned value that cannot become the node's output.
type OutputError struct {
	Path    string
	Message string
}

func (e *OutputError) Error() string { return e.Path + " " + e.Message }

// exporter converts the script's result into plain JSON values, counting its JSON size as it goes and
// refusing before it passes the limit.
type exporter struct {
	s     *sandbox
	limit int64
	size  int64
	// path holds the objects being converted, to refuse cycles.
	path []*goja.Object
}

func (x *exporter) charge(n int64, path string) {
	x.size += n
	if x.limit > 0 && x.size > x.limit {
		panic(&sizeError{path: path, limit: x.limit})
	}
}

type sizeError struct {
	path  string
	limit int64
}

func (e *sizeError) Error() string {
	return fmt.Sprintf("the output passes the limit of %d bytes (CM_MAX_OUTPUT_BYTES) at %s", e.limit, e.path)
}

// export converts v; it panics with *OutputError, *sizeError or a JavaScript error raised by a getter
// or proxy trap, which the caller recovers.
func (x *exporter) export(v goja.Value, path string, depth int) any {
	if depth > maxDepth {
		panic(&OutputError{Path: path, Message: fmt.Sprintf("nests more than %d levels deep", maxDepth)})
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		x.charge(4, path)
		return nil
	}
	obj, isObj := v.(*goja.Object)
	if !isObj {
		return x.primitive(v, path)
	}
	for _, p := range x.path {
		if p == obj {
			panic(&OutputError{Path: path, Message: "refers back to an object that contains it (a cycle): return a tree of plain values"})
		}
	}
	x.path = append(x.path, obj)
	defer func() { x.path = x.path[:len(x.path)-1] }()

	if _, ok := goja.AssertFunction(obj); ok {
		panic(&OutputError{Path: path, Message: "is a function: return data, not functions"})
	}
	switch obj.ClassName() {
	case "Date":
		t, ok := obj.Export().(time.Time)
		if !ok {
			panic(&OutputError{Path: path, Message: "is a Date that cannot be read"})
		}
		if t.IsZero() && math.IsNaN(obj.ToFloat()) {
			x.charge(4, path)
			return nil // an invalid date, as JSON.stringify does
		}
		x.charge(32, path)
		return t.UTC().Format(time.RFC3339Nano)
	case "Number", "Boolean":
		// The wrapped primitive, read without calling valueOf.
		return x.primitive(x.s.vm.ToValue(obj.Export()), path)
	case "String":
		v, err := x.s.stringValueOf(obj)
		if err != nil {
			panic(err)
		}
		return x.primitive(v, path)
	case "Symbol":
		panic(&OutputError{Path: path, Message: "is a Symbol, which has no JSON form"})
	}
	if _, ok := obj.Export().(*goja.Promise); ok {
		panic(&OutputError{Path: path, Message: "is a Promise: await it before returning it"})
	}
	array := isArray(x.s, obj)
	switch t := obj.ExportType(); {
	case t == mapExportType:
		panic(&OutputError{Path: path, Message: "is a Map, which has no JSON form: return Object.fromEntries(map)"})
	case !array && t != nil && t.Kind() == reflect.Slice:
		panic(&OutputError{Path: path, Message: "is a Set, which has no JSON form: return Array.from(set)"})
	}
	if array {
		n := obj.Get("length").ToInteger()
		// Every element takes at least one byte of JSON: refuse before allocating for them.
		x.charge(2+n, path)
		out := make([]any, n)
		for i := range n {
			out[i] = x.export(obj.Get(strconv.FormatInt(i, 10)), path+"["+strconv.FormatInt(i, 10)+"]", depth+1)
		}
		return out
	}
	keys := obj.Keys()
	x.charge(2+int64(len(keys)), path)
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		ev := obj.Get(k)
		if ev == nil || goja.IsUndefined(ev) {
			continue // as JSON.stringify does
		}
		x.charge(int64(len(k))+3, path)
		out[k] = x.export(ev, path+keyPath(k), depth+1)
	}
	return out
}

func keyPath(k string) string {
	if isIdent(k) {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}

func isIdent(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		letter := r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		digit := i > 0 && r >= '0' && r <= '9'
		if !letter && !digit {
			return false
		}
	}
	return true
}

// primitive converts a value that is not an object.
func (x *exporter) primitive(v goja.Value, path string) any {
	if _, ok := v.(*goja.Symbol); ok {
		panic(&OutputError{Path: path, Message: "is a Symbol, which has no JSON form"})
	}
	switch e := v.Export().(type) {
	case bool:
		x.charge(5, path)
		return e
	case int64:
		x.charge(20, path)
		return e
	case float64:
		if math.IsNaN(e) || math.IsInf(e, 0) {
			x.charge(4, path)
			return nil // as JSON.stringify does
		}
		x.charge(24, path)
		return e
	case string:
		x.charge(int64(len(e))+2, path)
		return e
	case *big.Int:
		panic(&OutputError{Path: path, Message: "is a BigInt, which has no JSON form: convert it with String() or Number()"})
	}
	panic(&OutputError{Path: path, Message: fmt.Sprintf("is a %s, which has no JSON form", v.ExportType())})
}

func isArray(s *sandbox, obj *goja.Object) bool {
	r, err := s.arrayIsArray(goja.Undefined(), obj)
	return err == nil && r.ToBoolean()
}
