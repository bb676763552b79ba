package sqlnode_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

// suffix returns a random name suffix, so that tests sharing the servers never collide.
func suffix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// runner runs the node types of one family against credentials held in memory.
type runner struct {
	reg   *node.Registry
	creds *conntest.Credentials
	// Limit is the output limit of each attempt (16 MiB when zero).
	limit int64
}

func newRunner(nodes ...node.Node) *runner {
	r := node.NewRegistry()
	r.MustRegister(nodes...)
	return &runner{reg: r, creds: conntest.NewCredentials()}
}

// run instantiates typ with config (schema and Validate, as the engine does) and executes it.
func (r *runner) run(ctx context.Context, t testing.TB, typ string, config map[string]any) (map[string]any, error) {
	t.Helper()
	nt, ok := r.reg.Lookup(node.TypeName(typ))
	require.True(t, ok, typ)
	n, err := nt.Instantiate(config, false)
	if err != nil {
		return nil, err
	}
	in := conntest.Input(r.creds, nil)
	if r.limit > 0 {
		in.Limits.MaxOutputBytes = r.limit
	}
	out, err := n.Execute(ctx, in)
	if err != nil {
		return nil, err
	}
	require.Equal(t, "out", out.Port)
	v, ok := out.Value.(map[string]any)
	require.True(t, ok, "output is %T", out.Value)
	return v, nil
}

// mustRun is run that requires success.
func (r *runner) mustRun(ctx context.Context, t testing.TB, typ string, config map[string]any) map[string]any {
	t.Helper()
	out, err := r.run(ctx, t, typ, config)
	require.NoError(t, err)
	return out
}

// nodeError requires err to be a *node.Error of code, permanent or not, and returns it.
func nodeError(t testing.TB, err error, code string, permanent bool) *node.Error {
	t.Helper()
	require.Error(t, err)
	var ne *node.Error
	require.True(t, errors.As(err, &ne), "error %v (%T) is not a *node.Error", err, err)
	require.Equal(t, code, ne.Code, "error: %v", err)
	require.Equal(t, permanent, node.IsPermanent(err), "permanent: %v", err)
	return ne
}

// requireCode is nodeError for callers that need only the check.
func requireCode(t testing.TB, err error, code string, permanent bool) {
	t.Helper()
	_ = nodeError(t, err, code, permanent)
}

// rows returns the rows of a query output.
func rows(t testing.TB, out map[string]any) []map[string]any {
	t.Helper()
	raw, ok := out["rows"].([]any)
	require.True(t, ok)
	res := make([]map[string]any, len(raw))
	for i, r := range raw {
		res[i], ok = r.(map[string]any)
		require.True(t, ok)
	}
	return res
}
