package expression

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFunctionsDocumented(t *testing.T) {
	t.Parallel()
	fns := Functions()
	require.Greater(t, len(fns), 60)
	seen := map[string]bool{}
	for _, f := range fns {
		seen[f.Name] = true
		require.NotEmpty(t, f.Signature, "function %s has no signature in functionDocs", f.Name)
		require.NotEmpty(t, f.Doc, "function %s has no doc in functionDocs", f.Name)
		require.Contains(t, f.Signature, f.Name+"(", "signature of %s", f.Name)
	}
	for name := range functionDocs {
		require.True(t, seen[name], "functionDocs documents %s, which expressions cannot call", name)
	}
	for _, name := range []string{"filter", "upper", "uuid", "sha256", "toJSON"} {
		require.True(t, seen[name], name)
	}
	require.False(t, seen["__chk"])
}

func TestFunctionsCompile(t *testing.T) {
	t.Parallel()
	// Every listed own function compiles when called as its signature says.
	for _, src := range []string{`{{ uuid() }}`, `{{ urlEncode("a b") }}`, `{{ sha256("x") }}`} {
		tpl, err := Compile(src, Limits{})
		require.NoError(t, err, src)
		_, err = tpl.Eval(context.Background(), &Env{}, Budget{})
		require.NoError(t, err, src)
	}
}
