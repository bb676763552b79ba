package scaffold_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/plugin/scaffold"
	"github.com/concertmaster/concertmaster/pkg/plugin"
	"github.com/concertmaster/concertmaster/pkg/plugin/python"
)

// checkout makes a folder whose go.mod declares ConcertMaster's module.
func checkout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("// comment\nmodule "+scaffold.Module+"\n\ngo 1.26.0\n"), 0o600))
	return dir
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestCreate(t *testing.T) {
	t.Parallel()

	t.Run("GoInsideTheModule", func(t *testing.T) {
		t.Parallel()
		root := checkout(t)
		res, err := scaffold.Create(scaffold.Options{Name: "inside", Lang: scaffold.LangGo, Dir: filepath.Join(root, "plugins", "inside")})
		require.NoError(t, err)
		require.Equal(t, []string{"plugin.json", "main.go", "README.md", ".gitignore"}, res.Files, "no go.mod: the module provides the kit")
		require.Empty(t, res.Warning)
	})

	t.Run("GoWithARelease", func(t *testing.T) {
		t.Parallel()
		res, err := scaffold.Create(scaffold.Options{Name: "rel", Lang: scaffold.LangGo, Dir: filepath.Join(t.TempDir(), "rel"), Version: "v1.4.0"})
		require.NoError(t, err)
		require.Equal(t, "module rel\n\ngo "+scaffold.GoVersion+"\n\nrequire "+scaffold.Module+" v1.4.0\n", read(t, filepath.Join(res.Dir, "go.mod")))
		require.Empty(t, res.Warning)
	})

	t.Run("GoWithoutACheckout", func(t *testing.T) {
		t.Parallel()
		res, err := scaffold.Create(scaffold.Options{Name: "lost", Lang: scaffold.LangGo, Dir: filepath.Join(t.TempDir(), "lost"), Version: "dev"})
		require.NoError(t, err)
		require.Contains(t, res.Warning, "no ConcertMaster checkout found")
		goMod := read(t, filepath.Join(res.Dir, "go.mod"))
		require.Contains(t, goMod, "require "+scaffold.Module+" v0.0.0\n")
		require.NotContains(t, goMod, "\nreplace ")
		require.Contains(t, read(t, filepath.Join(res.Dir, "README.md")), "go mod edit -replace")
	})

	t.Run("GoWithSDK", func(t *testing.T) {
		t.Parallel()
		sdk := checkout(t)
		res, err := scaffold.Create(scaffold.Options{Name: "my-plugin", Lang: scaffold.LangGo, Dir: filepath.Join(t.TempDir(), "out"), SDK: sdk, Version: "v9.9.9"})
		require.NoError(t, err)
		require.Equal(t, "my_plugin.hello", res.Type)
		require.Equal(t, []string{"plugin.json", "go.mod", "main.go", "README.md", ".gitignore"}, res.Files)
		require.Equal(t, "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .", res.Build)
		goMod := read(t, filepath.Join(res.Dir, "go.mod"))
		require.Contains(t, goMod, "module my-plugin\n\ngo "+scaffold.GoVersion+"\n\nrequire "+scaffold.Module+" v0.0.0\n")
		require.Contains(t, goMod, "\nreplace "+scaffold.Module+" => "+sdk+"\n", "the checkout wins over the release")
		require.Contains(t, read(t, filepath.Join(res.Dir, "main.go")), `plugin.Handle("my_plugin.hello", hello)`)
		require.Contains(t, read(t, filepath.Join(res.Dir, "README.md")), "checkout in "+sdk)

		m, err := plugin.ParseManifest([]byte(read(t, filepath.Join(res.Dir, "plugin.json"))))
		require.NoError(t, err)
		require.Equal(t, "my-plugin", m.Name)
		require.Equal(t, plugin.KindWasm, m.Kind)
		require.Equal(t, "plugin.wasm", m.Wasm.Module)
		require.Equal(t, "my_plugin.hello", m.Nodes[0].Type)
	})

	t.Run("GoWorkDirInACheckout", func(t *testing.T) {
		t.Parallel()
		root := checkout(t)
		work := filepath.Join(root, "cmd")
		require.NoError(t, os.Mkdir(work, 0o750))
		res, err := scaffold.Create(scaffold.Options{Name: "found", Lang: scaffold.LangGo, Dir: filepath.Join(t.TempDir(), "found"), WorkDir: work})
		require.NoError(t, err)
		require.Contains(t, read(t, filepath.Join(res.Dir, "go.mod")), "replace "+scaffold.Module+" => "+root+"\n")
	})

	t.Run("IntoAnEmptyFolder", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, err := scaffold.Create(scaffold.Options{Name: "empty", Lang: scaffold.LangPython, Dir: dir})
		require.NoError(t, err)
		require.FileExists(t, filepath.Join(dir, "main.py"))
	})

	t.Run("Python", func(t *testing.T) {
		t.Parallel()
		res, err := scaffold.Create(scaffold.Options{Name: "hello-py", Lang: scaffold.LangPython, Dir: filepath.Join(t.TempDir(), "a", "b")})
		require.NoError(t, err)
		require.Equal(t, []string{"plugin.json", python.FileName, "main.py", "README.md"}, res.Files)
		require.Empty(t, res.Build)
		require.Equal(t, string(python.Source()), read(t, filepath.Join(res.Dir, python.FileName)))
		require.Contains(t, read(t, filepath.Join(res.Dir, "main.py")), `@cm.handler("hello_py.hello")`)
		m, err := plugin.ParseManifest([]byte(read(t, filepath.Join(res.Dir, "plugin.json"))))
		require.NoError(t, err)
		require.Equal(t, plugin.KindProcess, m.Kind)
		require.Equal(t, []string{"python3", "main.py"}, m.Process.Command)
	})
}

func TestCreateRefuses(t *testing.T) {
	t.Parallel()
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "notes.txt"), nil, 0o600))
	aFile := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(aFile, nil, 0o600))
	tests := []struct {
		name string
		o    scaffold.Options
		want string
	}{
		{name: "FolderNotEmpty", o: scaffold.Options{Name: "x", Lang: "go", Dir: full}, want: "is not empty (it holds notes.txt); pick another --dir or empty it"},
		{name: "FolderIsAFile", o: scaffold.Options{Name: "x", Lang: "go", Dir: aFile}, want: "exists and is not a folder"},
		{name: "Lang", o: scaffold.Options{Name: "x", Lang: "rust"}, want: `--lang must be go or python, not "rust"`},
		{name: "NameEmpty", o: scaffold.Options{Name: "", Lang: "go"}, want: `plugin name "" cannot be used: name must be 1 to 63 lowercase letters`},
		{name: "NameLeadingDigit", o: scaffold.Options{Name: "1x", Lang: "go"}, want: `plugin name "1x" cannot be used`},
		{name: "NameTooLong", o: scaffold.Options{Name: strings.Repeat("a", 64), Lang: "python"}, want: "cannot be used: name must be 1 to 63"},
		{name: "NameTrigger", o: scaffold.Options{Name: "trigger", Lang: "go"}, want: `plugin name "trigger" cannot be used: plugins cannot add triggers`},
		{name: "NameUnderscore", o: scaffold.Options{Name: "a_b", Lang: "go"}, want: "lowercase letters, digits and dashes"},
		{name: "NameUppercase", o: scaffold.Options{Name: "Hello", Lang: "python"}, want: "lowercase letters"},
		{name: "SDKNotACheckout", o: scaffold.Options{Name: "x", Lang: "go", SDK: t.TempDir()}, want: "is not a ConcertMaster checkout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.o.Dir == "" {
				tt.o.Dir = filepath.Join(t.TempDir(), "new")
			}
			res, err := scaffold.Create(tt.o)
			require.Nil(t, res)
			var invalid *scaffold.InvalidError
			require.True(t, errors.As(err, &invalid), "%v", err)
			require.Contains(t, err.Error(), tt.want)
			if tt.o.Dir != full && tt.o.Dir != aFile {
				require.NoDirExists(t, tt.o.Dir, "nothing is left behind")
			}
		})
	}
	require.Equal(t, []string{"notes.txt"}, func() []string {
		entries, err := os.ReadDir(full)
		require.NoError(t, err)
		return []string{entries[0].Name()}
	}())
}

func TestGoVersionIsTheModules(t *testing.T) {
	t.Parallel()
	require.Contains(t, read(t, "../../../go.mod"), "\ngo "+scaffold.GoVersion+"\n", "a scaffold's go.mod asks for the Go the kit needs")
}
