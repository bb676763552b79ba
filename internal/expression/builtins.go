package expression

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/google/uuid"

	"github.com/concertmaster/concertmaster/internal/budget"
)

// builders are the functions that can build a value much larger than their arguments. Each computes
// the size of its result from its arguments and refuses, before allocating anything, to build more
// than maxValue bytes; the __chk around the call then charges the result to the memory budget.
type builders struct {
	maxValue int64
}

func (b builders) refuse(fn string, n int64) error {
	return fmt.Errorf("%s would build %s, over the %s size limit: %w", fn, budget.Bytes(n), budget.Bytes(b.maxValue), ErrBudget)
}

func (b builders) repeat(params ...any) (any, error) {
	s, _ := params[0].(string)
	n, ok := params[1].(int)
	if !ok {
		return nil, fmt.Errorf("repeat needs a whole number of times, not %s", typeName(params[1]))
	}
	if n < 0 {
		return nil, fmt.Errorf("repeat count %d is negative", n)
	}
	if n > 0 && int64(len(s)) > b.maxValue/int64(n) {
		return nil, b.refuse("repeat", int64(len(s))*min(int64(n), 1<<32))
	}
	return strings.Repeat(s, n), nil
}

func (b builders) replace(params ...any) (any, error) {
	s, old, repl := params[0].(string), params[1].(string), params[2].(string)
	n := -1
	if len(params) == 4 {
		var ok bool
		if n, ok = params[3].(int); !ok {
			return nil, fmt.Errorf("replace needs a whole number as its count, not %s", typeName(params[3]))
		}
	}
	count := 0
	if old == "" {
		count = utf8.RuneCountInString(s) + 1
	} else {
		count = strings.Count(s, old)
	}
	if n >= 0 && n < count {
		count = n
	}
	if size := int64(len(s)) + int64(count)*(int64(len(repl))-int64(len(old))); size > b.maxValue {
		return nil, b.refuse("replace", size)
	}
	return strings.Replace(s, old, repl, n), nil
}

func (b builders) join(params ...any) (any, error) {
	glue := ""
	if len(params) == 2 {
		glue, _ = params[1].(string)
	}
	var parts []string
	switch x := params[0].(type) {
	case []string:
		parts = x
	case []any:
		parts = make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("join needs an array of strings; element %d is %s", i, typeName(e))
			}
			parts[i] = s
		}
	case nil:
		return nil, fmt.Errorf("join needs an array of strings, not null")
	default:
		return nil, fmt.Errorf("join needs an array of strings, not %s", typeName(params[0]))
	}
	size := int64(0)
	if len(parts) > 1 {
		size = int64(len(glue)) * int64(len(parts)-1)
	}
	for _, p := range parts {
		size += int64(len(p))
		if size > b.maxValue {
			break
		}
	}
	if size > b.maxValue {
		return nil, b.refuse("join", size)
	}
	return strings.Join(parts, glue), nil
}

// splitter implements split and splitAfter: the pieces share the string's memory, so the cost is a
// string header per piece.
func (b builders) splitter(name string, split func(s, sep string, n int) []string) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		s, sep := params[0].(string), params[1].(string)
		n := -1
		if len(params) == 3 {
			var ok bool
			if n, ok = params[2].(int); !ok {
				return nil, fmt.Errorf("%s needs a whole number as its count, not %s", name, typeName(params[2]))
			}
		}
		pieces := 0
		if sep == "" {
			pieces = utf8.RuneCountInString(s)
		} else {
			pieces = strings.Count(s, sep) + 1
		}
		if n > 0 && n < pieces {
			pieces = n
		}
		if size := int64(pieces) * 16; size > b.maxValue {
			return nil, b.refuse(name, size)
		}
		return split(s, sep, n), nil
	}
}

func (b builders) toJSON(params ...any) (any, error) {
	w := sizer{limit: b.maxValue, indent: 2}
	if !w.walk(params[0], 0) || w.n > b.maxValue {
		return nil, b.refuse("toJSON", w.n)
	}
	out, err := json.MarshalIndent(params[0], "", "  ")
	if err != nil {
		return nil, fmt.Errorf("toJSON: %w", err)
	}
	return string(out), nil
}

// fromJSON decodes a JSON text. A decoded value takes more memory than its text (about 16 bytes per
// value on top of the text), so the estimate counts the text's structural characters.
func (b builders) fromJSON(params ...any) (any, error) {
	s := params[0].(string)
	tokens := int64(strings.Count(s, ",") + strings.Count(s, ":") + strings.Count(s, "[") + strings.Count(s, "{"))
	if size := int64(len(s)) + 16*tokens; size > 2*b.maxValue {
		return nil, b.refuse("fromJSON", size)
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("fromJSON: %w", err)
	}
	return v, nil
}

func (b builders) toBase64(params ...any) (any, error) {
	s := params[0].(string)
	if size := int64(base64.StdEncoding.EncodedLen(len(s))); size > b.maxValue {
		return nil, b.refuse("toBase64", size)
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func (b builders) urlEncode(params ...any) (any, error) {
	s := fmt.Sprint(params[0])
	if size := 3 * int64(len(s)); size > b.maxValue {
		return nil, b.refuse("urlEncode", size)
	}
	return url.QueryEscape(s), nil
}

func sha256Func(params ...any) (any, error) {
	var sum [32]byte
	if s, ok := params[0].(string); ok {
		sum = sha256.Sum256([]byte(s))
	} else {
		sum = sha256.Sum256([]byte(fmt.Sprint(params[0])))
	}
	return hex.EncodeToString(sum[:]), nil
}

// builtinOptions replaces expr-lang's unbounded builders with bounded ones (same names and types)
// and adds ConcertMaster's own functions.
func builtinOptions(maxValue int64) []expr.Option {
	b := builders{maxValue: maxValue}
	opts := make([]expr.Option, 0, 24)
	for _, name := range []string{"repeat", "replace", "join", "split", "splitAfter", "toJSON", "fromJSON", "toBase64"} {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	return append(opts,
		expr.Function("repeat", b.repeat, new(func(string, int) string)),
		expr.Function("replace", b.replace, new(func(string, string, string) string), new(func(string, string, string, int) string)),
		expr.Function("join", b.join, new(func([]any, string) string), new(func([]any) string),
			new(func([]string, string) string), new(func([]string) string)),
		expr.Function("split", b.splitter("split", strings.SplitN), new(func(string, string) []string), new(func(string, string, int) []string)),
		expr.Function("splitAfter", b.splitter("splitAfter", strings.SplitAfterN), new(func(string, string) []string), new(func(string, string, int) []string)),
		expr.Function("toJSON", b.toJSON, new(func(any) string)),
		expr.Function("fromJSON", b.fromJSON, new(func(string) any)),
		expr.Function("toBase64", b.toBase64, new(func(string) string)),
		expr.Function("uuid", func(...any) (any, error) { return uuid.NewString(), nil }, new(func() string)),
		expr.Function("urlEncode", b.urlEncode, new(func(any) string)),
		expr.Function("sha256", sha256Func, new(func(any) string)),
	)
}

// typeName names a value's type in the words of JSON: null, a boolean, a number, a string, an array,
// an object.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return "a number"
	case string:
		return "a string"
	case []any, []string:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}
