package builtin_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/node/nodedoc"
	"github.com/concertmaster/concertmaster/internal/nodes/builtin"
)

var update = flag.Bool("update", false, "rewrite docs/nodes/ and the README's node table from the registry")

// pendingDocs lists built-in types whose Docs another change is writing; their missing Docs are not
// a failure yet. Remove a type once its Docs land (the test says so).
var pendingDocs = map[node.TypeName]string{}

const (
	docsDir      = "../../../docs/nodes"
	readmePath   = "../../../README.md"
	nodeIconPath = "../../../web/src/components/NodeIcon.tsx"
)

// iconKey is one entry of NodeIcon.tsx's ICONS map: a kebab-case name, quoted or not, and a component.
var iconKey = regexp.MustCompile(`(?m)^\s*'?([a-z0-9]+(?:-[a-z0-9]+)*)'?:\s*[A-Z][A-Za-z0-9]*,\s*$`)

func registry(t *testing.T) []*node.Type {
	t.Helper()
	reg, err := builtin.NewRegistry(builtin.Config{})
	require.NoError(t, err)
	return reg.List()
}

// TestDocs keeps the documentation of the built-in node types complete and generated: every type has
// Docs, an icon, a category, titled ports and documented fields (nodedoc.Check); docs/nodes/<type>.md,
// docs/nodes/README.md and the README's node table are what the registry generates. Run
// `go test ./internal/nodes/builtin -run TestDocs -update` to rewrite them.
func TestDocs(t *testing.T) {
	t.Parallel()
	types := registry(t)

	t.Run("Complete", func(t *testing.T) {
		t.Parallel()
		for _, typ := range types {
			name := typ.Info.Type
			_, pending := pendingDocs[name]
			problems := nodedoc.Check(typ.Info, pending)
			if pending && strings.TrimSpace(typ.Info.Docs) != "" {
				problems = append(problems, "its Docs are written now: remove it from pendingDocs in internal/nodes/builtin/docs_test.go")
			}
			if len(problems) > 0 {
				t.Errorf("node type %s is not fully documented:\n  - %s", name, strings.Join(problems, "\n  - "))
			}
		}
		for name := range pendingDocs {
			require.True(t, slices.ContainsFunc(types, func(t *node.Type) bool { return t.Info.Type == name }),
				"pendingDocs names %s, which is not registered", name)
		}
	})

	t.Run("Pages", func(t *testing.T) {
		t.Parallel()
		want := map[string]string{"README.md": nodedoc.Index(types)}
		for _, typ := range types {
			page, err := nodedoc.Page(typ)
			require.NoError(t, err)
			want[string(typ.Info.Type)+".md"] = page
		}
		if *update {
			require.NoError(t, os.MkdirAll(docsDir, 0o755))
		}
		existing, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
		require.NoError(t, err)
		for _, path := range existing {
			if _, ok := want[filepath.Base(path)]; ok {
				continue
			}
			if *update {
				require.NoError(t, os.Remove(path))
				continue
			}
			t.Errorf("docs/nodes/%s documents no registered type: delete it, or run go test ./internal/nodes/builtin -run TestDocs -update", filepath.Base(path))
		}
		for name, content := range want {
			path := filepath.Join(docsDir, name)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
				continue
			}
			got, err := os.ReadFile(path)
			switch {
			case os.IsNotExist(err):
				t.Errorf("docs/nodes/%s is missing: run go test ./internal/nodes/builtin -run TestDocs -update", name)
			case err != nil:
				t.Error(err)
			case string(got) != content:
				t.Errorf("docs/nodes/%s is stale: run go test ./internal/nodes/builtin -run TestDocs -update", name)
			}
		}
	})

	t.Run("Icons", func(t *testing.T) {
		t.Parallel()
		src, err := os.ReadFile(nodeIconPath)
		require.NoError(t, err)
		start := strings.Index(string(src), "ICONS")
		require.Positive(t, start, "NodeIcon.tsx has no ICONS map")
		end := strings.Index(string(src[start:]), "};")
		require.Positive(t, end, "NodeIcon.tsx's ICONS map does not end")
		mapped := map[string]bool{}
		for _, m := range iconKey.FindAllStringSubmatch(string(src[start:start+end]), -1) {
			mapped[m[1]] = true
		}
		for _, typ := range types {
			if icon := typ.Info.Icon; icon != "" && !mapped[icon] {
				t.Errorf("node type %s uses the icon %q, which web/src/components/NodeIcon.tsx does not map: import the lucide icon there and add it to ICONS",
					typ.Info.Type, icon)
			}
		}
	})

	t.Run("Readme", func(t *testing.T) {
		t.Parallel()
		doc, err := os.ReadFile(readmePath)
		require.NoError(t, err)
		want, err := nodedoc.ReplaceBlock(doc, nodedoc.ReadmeBegin, nodedoc.ReadmeEnd, nodedoc.ReadmeTable(types, "docs/nodes"))
		require.NoError(t, err, "README.md")
		if *update {
			require.NoError(t, os.WriteFile(readmePath, want, 0o644))
			return
		}
		if string(want) != string(doc) {
			t.Errorf("the README's node table (between %s and %s) is stale: run go test ./internal/nodes/builtin -run TestDocs -update",
				nodedoc.ReadmeBegin, nodedoc.ReadmeEnd)
		}
	})
}
