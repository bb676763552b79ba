package format_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/format"
)

// sharedRegistry is built once: the fuzzers instantiate nodes thousands of times a second.
var sharedRegistry = sync.OnceValue(func() *node.Registry {
	r := node.NewRegistry()
	r.MustRegister(format.All()...)
	return r
})

func registry(t testing.TB) *node.Registry {
	t.Helper()
	return sharedRegistry()
}

// instantiate checks config against the type's schema and Validate, as the engine does.
func instantiate(t testing.TB, typ string, config map[string]any) (node.Node, error) {
	t.Helper()
	nt, ok := registry(t).Lookup(node.TypeName(typ))
	require.True(t, ok)
	return nt.Instantiate(config, false)
}

func run(t testing.TB, typ string, config map[string]any, in *node.Input) (any, error) {
	t.Helper()
	return runCtx(context.Background(), t, typ, config, in)
}

func runCtx(ctx context.Context, t testing.TB, typ string, config map[string]any, in *node.Input) (any, error) {
	t.Helper()
	n, err := instantiate(t, typ, config)
	require.NoError(t, err)
	out, err := n.Execute(ctx, in)
	if err != nil {
		return nil, err
	}
	require.Equal(t, "out", out.Port)
	return out.Value, nil
}

// requireCode checks that err is a permanent *node.Error with code and returns its message.
func requireCode(t testing.TB, err error, code string) string {
	t.Helper()
	require.Error(t, err)
	var ne *node.Error
	require.True(t, errors.As(err, &ne), "a *node.Error, got %v", err)
	require.Equal(t, code, ne.Code, ne.Message)
	require.True(t, node.IsPermanent(err), "retrying cannot fix %s", code)
	return ne.Message
}

// requireBudget checks that err reports the memory budget spent.
func requireBudget(t testing.TB, err error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, budget.ErrExceeded), "a budget error, got %v", err)
}

// configErrors returns the schema's and Validate's complaints about config, as "pointer: message" or
// the Validate message.
func configError(t testing.TB, typ string, config map[string]any) string {
	t.Helper()
	_, err := instantiate(t, typ, config)
	require.Error(t, err)
	return err.Error()
}

func TestRegistersWithDocs(t *testing.T) {
	t.Parallel()
	for _, ty := range registry(t).List() {
		info := ty.Info
		require.NotEmpty(t, info.Icon, info.Type)
		require.Equal(t, "Data", info.Category, info.Type)
		for _, section := range []string{"## Configuration", "## Output", "## Limits", "## Errors", "## Example"} {
			require.Contains(t, info.Docs, section, info.Type)
		}
	}
}
