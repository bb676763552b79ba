package expression

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/google/uuid"
)

// runBudget is the per-evaluation state behind the hidden __budget variable. It has no exported
// fields or methods, so an expression cannot do anything with it.
type runBudget struct {
	ctx      context.Context
	deadline time.Time
	maxSize  int64
	ticks    int
}

func newRunBudget(ctx context.Context, b Budget) *runBudget {
	deadline := time.Now().Add(b.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return &runBudget{ctx: ctx, deadline: deadline, maxSize: b.MaxSize}
}

func (b *runBudget) check(v any) error {
	b.ticks++
	if b.ticks&63 == 0 || b.ticks < 4 {
		if time.Now().After(b.deadline) {
			return fmt.Errorf("ran past its time budget: %w", ErrBudget)
		}
		if b.ctx.Err() != nil {
			return fmt.Errorf("canceled: %w", b.ctx.Err())
		}
	}
	switch x := v.(type) {
	case nil, bool, int, int64, float64:
		return nil
	case string:
		if int64(len(x)) > b.maxSize {
			return fmt.Errorf("built a %d-byte string, over its %d-byte budget: %w", len(x), b.maxSize, ErrBudget)
		}
		return nil
	}
	if _, ok := SizeAtMost(v, b.maxSize); !ok {
		return fmt.Errorf("built a value over its %d-byte budget: %w", b.maxSize, ErrBudget)
	}
	return nil
}

func budgetOf(v any) (*runBudget, error) {
	b, ok := v.(*runBudget)
	if !ok {
		return nil, fmt.Errorf("internal: budget missing")
	}
	return b, nil
}

// checkFunc is the __chk(budget, value) function the patcher wraps around risky nodes.
func checkFunc(params ...any) (any, error) {
	b, err := budgetOf(params[0])
	if err != nil {
		return nil, err
	}
	if err := b.check(params[1]); err != nil {
		return nil, err
	}
	return params[1], nil
}

// budgetPatcher wraps every call, "+", array and map literal and predicate body in __chk.
type budgetPatcher struct{}

func wrap(n ast.Node) ast.Node {
	call := &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: "__chk"},
		Arguments: []ast.Node{&ast.IdentifierNode{Value: budgetName}, n},
	}
	call.SetLocation(n.Location())
	return call
}

func (budgetPatcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		if n.Operator == "+" {
			*node = wrap(n)
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == "__chk" {
			return
		}
		*node = wrap(n)
	case *ast.BuiltinNode, *ast.ArrayNode, *ast.MapNode:
		*node = wrap(n)
	case *ast.PredicateNode:
		n.Node = wrap(n.Node)
	}
}

func compileOptions(limits Limits, refs *refCollector) []expr.Option {
	return []expr.Option{
		expr.Env(runEnv{}),
		expr.MaxNodes(limits.MaxNodes),
		expr.Patch(refs),
		expr.Patch(budgetPatcher{}),
		expr.Function("__chk", checkFunc, new(func(*runBudget, any) any)),
		expr.DisableBuiltin("repeat"),
		expr.DisableBuiltin("toJSON"),
		expr.Function("repeat", repeatFunc, new(func(string, int) string)),
		expr.Function("toJSON", toJSONFunc, new(func(any) string)),
		expr.Function("uuid", func(...any) (any, error) { return uuid.NewString(), nil }, new(func() string)),
		expr.Function("urlEncode", func(p ...any) (any, error) { return url.QueryEscape(fmt.Sprint(p[0])), nil }, new(func(any) string)),
		expr.Function("sha256", func(p ...any) (any, error) {
			sum := sha256.Sum256([]byte(fmt.Sprint(p[0])))
			return hex.EncodeToString(sum[:]), nil
		}, new(func(any) string)),
	}
}

const boundedFuncMax = 1 << 20

func repeatFunc(params ...any) (any, error) {
	s, _ := params[0].(string)
	n, _ := params[1].(int)
	if n < 0 {
		return nil, fmt.Errorf("repeat count %d is negative", n)
	}
	if n > 0 && len(s) > boundedFuncMax/n {
		return nil, fmt.Errorf("repeat would build more than %d bytes: %w", boundedFuncMax, ErrBudget)
	}
	return strings.Repeat(s, n), nil
}

func toJSONFunc(params ...any) (any, error) {
	if _, ok := SizeAtMost(params[0], MaxSizeDefault); !ok {
		return nil, fmt.Errorf("toJSON input is over %d bytes: %w", MaxSizeDefault, ErrBudget)
	}
	b, err := json.MarshalIndent(params[0], "", "  ")
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// SizeAtMost estimates the JSON-encoded size of v in bytes, stopping as soon as it passes limit. It
// reports the estimate and whether it stayed within limit. Shared sub-values count every time they
// appear, as they would when encoded.
func SizeAtMost(v any, limit int64) (int64, bool) {
	var n int64
	ok := sizeWalk(v, limit, &n)
	return n, ok && n <= limit
}

func sizeWalk(v any, limit int64, n *int64) bool {
	if *n > limit {
		return false
	}
	switch x := v.(type) {
	case nil:
		*n += 4
	case bool:
		*n += 5
	case string:
		*n += int64(len(x)) + 2
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32:
		*n += 8
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			*n += 4
		} else {
			*n += 8
		}
	case json.RawMessage:
		*n += int64(len(x))
	case []byte:
		*n += int64(len(x))*4/3 + 2
	case []any:
		*n += 2
		for _, e := range x {
			*n++
			if !sizeWalk(e, limit, n) {
				return false
			}
		}
	case map[string]any:
		*n += 2
		for k, e := range x {
			*n += int64(len(k)) + 4
			if !sizeWalk(e, limit, n) {
				return false
			}
		}
	default:
		return sizeReflect(reflect.ValueOf(v), limit, n)
	}
	return *n <= limit
}

func sizeReflect(rv reflect.Value, limit int64, n *int64) bool {
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		*n += 2
		for i := 0; i < rv.Len(); i++ {
			*n++
			if !sizeWalk(rv.Index(i).Interface(), limit, n) {
				return false
			}
		}
	case reflect.Map:
		*n += 2
		iter := rv.MapRange()
		for iter.Next() {
			*n += 4 + int64(len(fmt.Sprint(iter.Key().Interface())))
			if !sizeWalk(iter.Value().Interface(), limit, n) {
				return false
			}
		}
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			*n += 4
			return true
		}
		return sizeWalk(rv.Elem().Interface(), limit, n)
	default:
		*n += 16
	}
	return *n <= limit
}
