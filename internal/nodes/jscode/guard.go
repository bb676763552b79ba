package jscode

import (
	"fmt"
	"strings"

	"github.com/dop251/goja"
)

// goja runs its built-ins as Go code that the VM's interrupt cannot stop, and it has no allocation
// limit. A built-in that builds a value whose size the script picks ('a'.repeat(1e9)) or loops over a
// length the script picks (new Array(1e9).fill(0)) would pin a core or take the process down before the
// memory watcher sees anything. The guards below check those sizes before calling the original
// built-in, and refuse with a RangeError past the limits; what they do not cover grows step by step in
// bytecode, where the watcher's interrupt stops it.

// removedGlobals are built-ins the sandbox drops: binary buffers allocate their whole size in one
// step, and nothing a data workflow does needs them.
var removedGlobals = []string{
	"ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics",
	"Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
	"Float16Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
	"WeakRef", "FinalizationRegistry",
}

// arrayUnguarded are Array.prototype methods that do a bounded amount of work whatever the length.
var arrayUnguarded = map[string]bool{"constructor": true, "push": true, "pop": true, "at": true, "toString": true}

func (s *sandbox) rangeError(format string, args ...any) *goja.Object {
	ctor, _ := goja.AssertConstructor(s.vm.Get("RangeError"))
	if ctor != nil {
		if obj, err := ctor(nil, s.vm.ToValue(fmt.Sprintf(format, args...))); err == nil {
			return obj
		}
	}
	return s.vm.NewGoError(fmt.Errorf(format, args...))
}

// lengthOf returns ToLength(v.length) for an object, or the length of a string; 0 for anything else.
func (s *sandbox) lengthOf(v goja.Value) int64 {
	switch x := v.(type) {
	case *goja.Object:
		n := x.Get("length")
		if n == nil {
			return 0
		}
		f := n.ToFloat()
		if f != f || f <= 0 {
			return 0
		}
		if f > 1<<53 {
			return 1 << 53
		}
		return int64(f)
	case goja.String:
		return int64(x.Length())
	}
	return 0
}

func (s *sandbox) checkArrayLength(n int64, what string) {
	if n > s.lim.maxArray {
		panic(s.rangeError("%s has a length of %d, over the sandbox's limit of %d elements", what, n, s.lim.maxArray))
	}
}

func (s *sandbox) checkStringLength(n int64, what string) {
	if n > s.lim.maxString {
		panic(s.rangeError("%s would build a string of %d characters, over the sandbox's limit of %d", what, n, s.lim.maxString))
	}
}

// wrap replaces obj[name] with a function that runs check and then the original.
func (s *sandbox) wrap(obj *goja.Object, name string, check func(call goja.FunctionCall)) {
	orig, ok := goja.AssertFunction(obj.Get(name))
	if !ok {
		return
	}
	s.define(obj, name, func(call goja.FunctionCall) goja.Value {
		check(call)
		return must(orig(call.This, call.Arguments...))
	})
}

func (s *sandbox) define(obj *goja.Object, name string, f func(call goja.FunctionCall) goja.Value) {
	_ = obj.DefineDataProperty(name, s.vm.ToValue(f), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// must returns v, or rethrows err into the script (a JavaScript exception stays catchable; an
// interrupt stays uncatchable).
func must(v goja.Value, err error) goja.Value {
	if err != nil {
		panic(err)
	}
	return v
}

func (s *sandbox) protoOf(name string) *goja.Object {
	return s.vm.Get(name).ToObject(s.vm).Get("prototype").ToObject(s.vm)
}

// installGuards removes the binary buffers and puts size checks in front of the built-ins that could
// build or loop over script-sized values in one native call.
func (s *sandbox) installGuards() {
	global := s.vm.GlobalObject()
	for _, name := range removedGlobals {
		_ = global.Delete(name)
	}
	s.guardArrays()
	s.guardStrings()
	s.guardCalls()
	s.guardJSON()
}

func (s *sandbox) guardArrays() {
	proto := s.protoOf("Array")
	thisLength := func(name string) func(goja.FunctionCall) {
		return func(call goja.FunctionCall) {
			s.checkArrayLength(s.lengthOf(call.This), "Array.prototype."+name+": the array")
		}
	}
	for _, name := range proto.GetOwnPropertyNames() {
		if arrayUnguarded[name] {
			continue
		}
		switch name {
		case "join":
			s.define(proto, name, func(call goja.FunctionCall) goja.Value { return s.join(call, false) })
		case "toLocaleString":
			s.define(proto, name, func(call goja.FunctionCall) goja.Value { return s.join(call, true) })
		case "concat":
			s.wrap(proto, name, func(call goja.FunctionCall) {
				n := s.lengthOf(call.This)
				for _, a := range call.Arguments {
					n++
					if obj, ok := a.(*goja.Object); ok && isArray(s, obj) {
						n += s.lengthOf(obj)
					}
				}
				s.checkArrayLength(n, "Array.prototype.concat: the result")
			})
		case "flat", "flatMap":
			s.wrap(proto, name, func(call goja.FunctionCall) {
				depth := int64(1)
				if name == "flat" && len(call.Arguments) > 0 && !goja.IsUndefined(call.Arguments[0]) {
					depth = call.Arguments[0].ToInteger()
				}
				s.checkArrayLength(s.flatCount(call.This, depth, 0), "Array.prototype."+name+": the result")
			})
		default:
			if _, ok := goja.AssertFunction(proto.Get(name)); ok {
				s.wrap(proto, name, thisLength(name))
			}
		}
	}
	// The iterator is the same function as values; spreading and for...of go through it.
	_ = proto.DefineDataPropertySymbol(goja.SymIterator, proto.Get("values"), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)

	array := s.vm.Get("Array").ToObject(s.vm)
	s.wrap(array, "from", func(call goja.FunctionCall) {
		if obj, ok := call.Argument(0).(*goja.Object); ok {
			if it := obj.GetSymbol(goja.SymIterator); it == nil || goja.IsUndefined(it) {
				s.checkArrayLength(s.lengthOf(obj), "Array.from: the array-like")
			}
		}
	})
}

// flatCount counts the elements flattening v to depth would produce, stopping past the limit.
func (s *sandbox) flatCount(v goja.Value, depth, count int64) int64 {
	obj, ok := v.(*goja.Object)
	if !ok {
		return count
	}
	n := s.lengthOf(obj)
	s.checkArrayLength(n, "Array.prototype.flat: an array")
	for i := range n {
		e := obj.Get(fmt.Sprint(i))
		if eo, ok := e.(*goja.Object); ok && depth > 0 && isArray(s, eo) {
			count = s.flatCount(eo, depth-1, count)
		} else {
			count++
		}
		if count > s.lim.maxArray {
			return count
		}
	}
	return count
}

// join is Array.prototype.join (and, with locale, toLocaleString), counting the result's length as
// it goes and refusing past the string limit.
func (s *sandbox) join(call goja.FunctionCall, locale bool) goja.Value {
	obj := call.This.ToObject(s.vm)
	n := s.lengthOf(obj)
	s.checkArrayLength(n, "Array.prototype.join: the array")
	sep := ","
	if !locale && len(call.Arguments) > 0 && !goja.IsUndefined(call.Arguments[0]) {
		sep = call.Arguments[0].String()
	}
	var b strings.Builder
	total := int64(0)
	for i := range n {
		if i > 0 {
			total += int64(len(sep))
			b.WriteString(sep)
		}
		e := obj.Get(fmt.Sprint(i))
		if e == nil || goja.IsUndefined(e) || goja.IsNull(e) {
			continue
		}
		var str string
		if locale {
			if eo, ok := e.(*goja.Object); ok {
				f, ok := goja.AssertFunction(eo.Get("toLocaleString"))
				if !ok {
					panic(s.vm.NewTypeError("toLocaleString is not a function"))
				}
				str = must(f(eo)).String()
			} else {
				str = e.String()
			}
		} else {
			str = e.String()
		}
		total += int64(len(str))
		s.checkStringLength(total, "Array.prototype.join")
		b.WriteString(str)
	}
	return s.vm.ToValue(b.String())
}

func (s *sandbox) guardStrings() {
	proto := s.protoOf("String")
	this := func(call goja.FunctionCall) int64 { return int64(len(call.This.String())) }
	s.wrap(proto, "repeat", func(call goja.FunctionCall) {
		count := call.Argument(0).ToFloat()
		if count >= 1 {
			s.checkStringLength(int64(min(count, 1<<53))*this(call), "String.prototype.repeat")
		}
	})
	for _, name := range []string{"padStart", "padEnd"} {
		s.wrap(proto, name, func(call goja.FunctionCall) {
			s.checkStringLength(int64(min(call.Argument(0).ToFloat(), 1<<53)), "String.prototype."+name)
		})
	}
	s.wrap(proto, "concat", func(call goja.FunctionCall) {
		n := this(call)
		for _, a := range call.Arguments {
			n += int64(len(a.String()))
		}
		s.checkStringLength(n, "String.prototype.concat")
	})
	for _, name := range []string{"replace", "replaceAll"} {
		orig, _ := goja.AssertFunction(proto.Get(name))
		s.define(proto, name, func(call goja.FunctionCall) goja.Value {
			return s.replace(orig, call, "String.prototype."+name)
		})
	}
	s.wrap(proto, "split", func(call goja.FunctionCall) {
		if len(call.This.String()) > int(s.lim.maxArray) && (len(call.Arguments) < 2 || goja.IsUndefined(call.Arguments[1])) {
			s.checkArrayLength(int64(len(call.This.String()))+1, "String.prototype.split: the result")
		}
	})
	str := s.vm.Get("String").ToObject(s.vm)
	s.wrap(str, "raw", func(call goja.FunctionCall) {
		if obj, ok := call.Argument(0).(*goja.Object); ok {
			if raw, ok := obj.Get("raw").(*goja.Object); ok {
				s.checkArrayLength(s.lengthOf(raw), "String.raw: the template")
			}
		}
	})
	re := s.protoOf("RegExp")
	orig, _ := goja.AssertFunction(re.GetSymbol(goja.SymReplace))
	_ = re.DefineDataPropertySymbol(goja.SymReplace, s.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		// re[Symbol.replace](string, replacement): the subject is the first argument.
		args := append([]goja.Value{}, call.Arguments...)
		return s.replaceWith(orig, call.This, args, 0, "RegExp.prototype[Symbol.replace]")
	}), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// replace guards String.prototype.replace and replaceAll: this is the subject.
func (s *sandbox) replace(orig goja.Callable, call goja.FunctionCall, what string) goja.Value {
	subject := call.This.ToString()
	args := []goja.Value{call.Argument(0), call.Argument(1)}
	return s.replaceWith(func(this goja.Value, a ...goja.Value) (goja.Value, error) {
		return orig(this, a...)
	}, subject, append([]goja.Value{subject}, args...), 1, what)
}

// replaceWith calls orig with args, where args[first] is the pattern's subject position: for
// String.prototype.replace args are (subject, pattern, replacement) and the call's this is the
// subject; for RegExp.prototype[Symbol.replace] args are (subject, replacement). When the result could
// pass the string limit, the replacement is made a function that counts what it adds.
func (s *sandbox) replaceWith(orig goja.Callable, this goja.Value, args []goja.Value, first int, what string) goja.Value {
	var subject goja.String
	var repIdx int
	if first == 1 {
		subject, _ = args[0].(goja.String)
		repIdx = 2
	} else {
		for len(args) < 2 {
			args = append(args, goja.Undefined())
		}
		args[0] = args[0].ToString()
		subject, _ = args[0].(goja.String)
		repIdx = 1
	}
	n := int64(0)
	if subject != nil {
		n = int64(subject.Length())
	}
	rep := args[repIdx]
	callArgs := args[first:]
	callThis := this
	if first == 1 {
		callThis = args[0]
	}
	if replaceFunc, ok := goja.AssertFunction(rep); ok {
		total := n
		callArgs[len(callArgs)-1] = s.vm.ToValue(func(c goja.FunctionCall) goja.Value {
			r := must(replaceFunc(goja.Undefined(), c.Arguments...)).ToString()
			total += int64(r.(goja.String).Length())
			s.checkStringLength(total, what)
			return r
		})
		return must(orig(callThis, callArgs...))
	}
	repStr := rep.ToString().(goja.String)
	r := int64(repStr.Length())
	dollars := int64(strings.Count(repStr.String(), "$"))
	if n+(n+1)*(r+dollars*n) <= s.lim.maxString {
		return must(orig(callThis, callArgs...))
	}
	total := n
	plain := dollars == 0
	callArgs[len(callArgs)-1] = s.vm.ToValue(func(c goja.FunctionCall) goja.Value {
		out := repStr
		if !plain {
			out = s.substitute(repStr, c.Arguments)
		}
		total += int64(out.Length())
		s.checkStringLength(total, what)
		return out
	})
	return must(orig(callThis, callArgs...))
}

// substitute expands a replacement pattern ($$, $&, $`, $', $1…$99, $<name>) for one match, given the
// arguments a replacer function receives: match, captures…, position, subject[, groups].
func (s *sandbox) substitute(rep goja.String, args []goja.Value) goja.String {
	n := len(args)
	var groups *goja.Object
	if g, ok := args[n-1].(*goja.Object); ok {
		groups, n = g, n-1
	}
	matched := args[0].ToString().(goja.String)
	subject := args[n-1].ToString().(goja.String)
	pos := int(args[n-2].ToInteger())
	captures := args[1 : n-2]
	var b goja.StringBuilder
	src := rep.String()
	for i := 0; i < len(src); i++ {
		if src[i] != '$' {
			j := i + 1
			for j < len(src) && src[j] != '$' {
				j++
			}
			b.WriteUTF8String(src[i:j])
			i = j - 1
			continue
		}
		if i+1 == len(src) {
			b.WriteRune('$')
			continue
		}
		next := src[i+1]
		switch {
		case next == '$':
			b.WriteRune('$')
			i++
		case next == '&':
			b.WriteString(matched)
			i++
		case next == '`':
			b.WriteString(subject.Substring(0, min(pos, subject.Length())))
			i++
		case next == '\'':
			end := min(pos+matched.Length(), subject.Length())
			b.WriteString(subject.Substring(end, subject.Length()))
			i++
		case next >= '0' && next <= '9':
			idx, width := int(next-'0'), 1
			if i+2 < len(src) && src[i+2] >= '0' && src[i+2] <= '9' {
				if two := idx*10 + int(src[i+2]-'0'); two >= 1 && two <= len(captures) {
					idx, width = two, 2
				}
			}
			if idx < 1 || idx > len(captures) {
				b.WriteRune('$')
				continue
			}
			if v := captures[idx-1]; !goja.IsUndefined(v) {
				b.WriteString(v.ToString().(goja.String))
			}
			i += width
		case next == '<' && groups != nil:
			end := strings.IndexByte(src[i+2:], '>')
			if end < 0 {
				b.WriteRune('$')
				continue
			}
			if v := groups.Get(src[i+2 : i+2+end]); v != nil && !goja.IsUndefined(v) {
				b.WriteString(v.ToString().(goja.String))
			}
			i += end + 2
		default:
			b.WriteRune('$')
		}
	}
	return b.String()
}

// guardCalls bounds the argument lists built from array-likes.
func (s *sandbox) guardCalls() {
	fproto := s.protoOf("Function")
	s.wrap(fproto, "apply", func(call goja.FunctionCall) {
		if obj, ok := call.Argument(1).(*goja.Object); ok {
			s.checkArrayLength(s.lengthOf(obj), "Function.prototype.apply: the arguments")
		}
	})
	reflect := s.vm.Get("Reflect").ToObject(s.vm)
	s.wrap(reflect, "apply", func(call goja.FunctionCall) {
		if obj, ok := call.Argument(2).(*goja.Object); ok {
			s.checkArrayLength(s.lengthOf(obj), "Reflect.apply: the arguments")
		}
	})
	s.wrap(reflect, "construct", func(call goja.FunctionCall) {
		if obj, ok := call.Argument(1).(*goja.Object); ok {
			s.checkArrayLength(s.lengthOf(obj), "Reflect.construct: the arguments")
		}
	})
	for _, name := range []string{"fromCharCode", "fromCodePoint"} {
		s.wrap(s.vm.Get("String").ToObject(s.vm), name, func(call goja.FunctionCall) {
			s.checkArrayLength(int64(len(call.Arguments)), "String."+name+": the arguments")
		})
	}
}

// guardJSON bounds JSON.stringify's output as it is built, and the nesting JSON.parse recurses into.
func (s *sandbox) guardJSON() {
	j := s.vm.Get("JSON").ToObject(s.vm)
	stringify, _ := goja.AssertFunction(j.Get("stringify"))
	s.define(j, "stringify", func(call goja.FunctionCall) goja.Value {
		return s.stringify(stringify, call)
	})
	s.wrap(j, "parse", func(call goja.FunctionCall) {
		text := call.Argument(0).String()
		s.checkStringLength(int64(len(text)), "JSON.parse")
		depth := 0
		inString := false
		for i := 0; i < len(text); i++ {
			switch c := text[i]; {
			case inString && c == '\\':
				i++
			case c == '"':
				inString = !inString
			case inString:
			case c == '[' || c == '{':
				depth++
				if depth > maxDepth {
					panic(s.rangeError("JSON.parse: the text nests more than %d levels deep", maxDepth))
				}
			case c == ']' || c == '}':
				depth--
			}
		}
	})
}

// stringify calls JSON.stringify with a replacer that counts the output and the nesting as they grow,
// wrapping the script's own replacer (a function or a list of keys).
func (s *sandbox) stringify(orig goja.Callable, call goja.FunctionCall) goja.Value {
	value := call.Argument(0)
	user := call.Argument(1)
	space := call.Argument(2)
	userFunc, isFunc := goja.AssertFunction(user)
	var allow map[string]bool
	if obj, ok := user.(*goja.Object); ok && !isFunc && isArray(s, obj) {
		n := s.lengthOf(obj)
		s.checkArrayLength(n, "JSON.stringify: the replacer")
		allow = make(map[string]bool, n)
		for i := range n {
			allow[obj.Get(fmt.Sprint(i)).String()] = true
		}
	}
	indent := int64(0)
	if space != nil && !goja.IsUndefined(space) {
		if str, ok := space.Export().(string); ok {
			indent = int64(min(len(str), 10))
		} else {
			indent = min(max(space.ToInteger(), 0), 10)
		}
	}
	total := int64(0)
	var stack []*goja.Object
	replacer := func(c goja.FunctionCall) goja.Value {
		holder, _ := c.This.(*goja.Object)
		key := c.Argument(0).String()
		v := c.Argument(1)
		for len(stack) > 0 && stack[len(stack)-1] != holder {
			stack = stack[:len(stack)-1]
		}
		if allow != nil && holder != nil && len(stack) > 0 && !isArray(s, holder) && !allow[key] {
			return goja.Undefined()
		}
		if isFunc {
			v = must(userFunc(c.This, c.Argument(0), v))
		}
		total += int64(len(key)) + 4 + indent*int64(len(stack)+1)
		switch x := v.(type) {
		case *goja.Object:
			if _, isCallable := goja.AssertFunction(x); !isCallable {
				stack = append(stack, x)
				if len(stack) > maxDepth {
					panic(s.rangeError("JSON.stringify: the value nests more than %d levels deep", maxDepth))
				}
			}
		case goja.String:
			total += int64(x.Length())
		default:
			total += 24
		}
		s.checkStringLength(total, "JSON.stringify")
		return v
	}
	return must(orig(goja.Undefined(), value, s.vm.ToValue(replacer), space))
}
