package files_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/files"
)

type testBundle struct {
	dir     string // the files directory
	outside string // a directory beside it, holding secret.txt
	reg     *node.Registry
}

func setup(t *testing.T, cfg files.Config) *testBundle {
	t.Helper()
	base := t.TempDir()
	b := &testBundle{dir: filepath.Join(base, "files"), outside: filepath.Join(base, "outside")}
	require.NoError(t, os.MkdirAll(b.outside, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(b.outside, "secret.txt"), []byte("top secret"), 0o600))
	if cfg.Dir == "" {
		cfg.Dir = b.dir
	}
	b.reg = node.NewRegistry()
	b.reg.MustRegister(files.New(cfg)...)
	return b
}

func (b *testBundle) instantiate(t *testing.T, typ string, config map[string]any) (node.Node, error) {
	t.Helper()
	nt, ok := b.reg.Lookup(node.TypeName(typ))
	require.True(t, ok)
	return nt.Instantiate(config, false)
}

func (b *testBundle) run(t *testing.T, typ string, config map[string]any) (any, error) {
	t.Helper()
	return b.runIn(context.Background(), t, typ, config, &node.Input{})
}

func (b *testBundle) runIn(ctx context.Context, t *testing.T, typ string, config map[string]any, in *node.Input) (any, error) {
	t.Helper()
	n, err := b.instantiate(t, typ, config)
	require.NoError(t, err)
	out, err := n.Execute(ctx, in)
	if err != nil {
		return nil, err
	}
	require.Equal(t, "out", out.Port)
	return out.Value, nil
}

// file writes a file under the files directory.
func (b *testBundle) file(t *testing.T, rel, content string) {
	t.Helper()
	p := filepath.Join(b.dir, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
}

// requireCode checks that err is a permanent *node.Error with code and returns its message.
func requireCode(t *testing.T, err error, code string) string {
	t.Helper()
	require.Error(t, err)
	var ne *node.Error
	require.True(t, errors.As(err, &ne), "a *node.Error, got %v", err)
	require.Equal(t, code, ne.Code, ne.Message)
	require.True(t, node.IsPermanent(err))
	return ne.Message
}

func TestReadWriteList(t *testing.T) {
	t.Parallel()

	t.Run("CreatesTheDirectoryOnFirstUse", func(t *testing.T) {
		t.Parallel()
		b := setup(t, files.Config{})
		_, err := os.Stat(b.dir)
		require.ErrorIs(t, err, os.ErrNotExist, "registering creates nothing")
		got, err := b.run(t, "file.list", map[string]any{})
		require.NoError(t, err)
		require.Equal(t, []any{}, got)
		st, err := os.Stat(b.dir)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	})

	t.Run("ListFilters", func(t *testing.T) {
		t.Parallel()
		b := setup(t, files.Config{})
		b.file(t, "exports/a.csv", "1")
		b.file(t, "exports/b.json", "22")
		b.file(t, "exports/2026/c.csv", "333")
		b.file(t, "top.csv", "4444")
		got, err := b.run(t, "file.list", map[string]any{"path": "exports", "pattern": "*.csv", "recursive": true})
		require.NoError(t, err)
		entries := got.([]any)
		require.Len(t, entries, 2)
		first := entries[0].(map[string]any)
		require.Equal(t, "exports/2026/c.csv", first["path"])
		require.Equal(t, "c.csv", first["name"])
		require.Equal(t, 3.0, first["size"])
		require.Equal(t, false, first["isDir"])
		_, err = time.Parse(time.RFC3339Nano, first["modifiedAt"].(string))
		require.NoError(t, err)
		require.Equal(t, "exports/a.csv", entries[1].(map[string]any)["path"])

		got, err = b.run(t, "file.list", map[string]any{})
		require.NoError(t, err)
		var names []string
		for _, e := range got.([]any) {
			names = append(names, fmt.Sprintf("%s:%v", e.(map[string]any)["path"], e.(map[string]any)["isDir"]))
		}
		require.Equal(t, []string{"exports:true", "top.csv:false"}, names)
	})

	t.Run("ReadEncodings", func(t *testing.T) {
		t.Parallel()
		b := setup(t, files.Config{})
		b.file(t, "a/data.json", `{"apple": 1.2, "tags": ["x"]}`)
		b.file(t, "bin", "\x00\xff")
		got, err := b.run(t, "file.read", map[string]any{"path": "a/./data.json", "encoding": "json"})
		require.NoError(t, err)
		out := got.(map[string]any)
		require.Equal(t, "a/data.json", out["path"])
		require.Equal(t, 29.0, out["size"])
		require.Equal(t, map[string]any{"apple": 1.2, "tags": []any{"x"}}, out["content"])
		got, err = b.run(t, "file.read", map[string]any{"path": "a/data.json"})
		require.NoError(t, err)
		require.Equal(t, `{"apple": 1.2, "tags": ["x"]}`, got.(map[string]any)["content"])
		got, err = b.run(t, "file.read", map[string]any{"path": "bin", "encoding": "base64"})
		require.NoError(t, err)
		require.Equal(t, "AP8=", got.(map[string]any)["content"])
	})

	t.Run("SymlinkInsideIsFollowed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, files.Config{})
		b.file(t, "real/x.txt", "inside")
		require.NoError(t, os.Symlink("real/x.txt", filepath.Join(b.dir, "alias.txt")))
		got, err := b.run(t, "file.read", map[string]any{"path": "alias.txt"})
		require.NoError(t, err)
		require.Equal(t, "inside", got.(map[string]any)["content"])
	})

	t.Run("WriteModes", func(t *testing.T) {
		t.Parallel()
		b := setup(t, files.Config{})
		got, err := b.run(t, "file.write", map[string]any{"path": "out/report.txt", "content": "one\n", "createDirs": true})
		require.NoError(t, err)
		require.Equal(t, map[string]any{"path": "out/report.txt", "size": 4.0}, got)
		got, err = b.run(t, "file.write", map[string]any{"path": "out/report.txt", "content": "two\n", "mode": "append"})
		require.NoError(t, err)
		require.Equal(t, 8.0, got.(map[string]any)["size"])
		data, err := os.ReadFile(filepath.Join(b.dir, "out", "report.txt"))
		require.NoError(t, err)
		require.Equal(t, "one\ntwo\n", string(data))
		st, err := os.Stat(filepath.Join(b.dir, "out", "report.txt"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

		_, err = b.run(t, "file.write", map[string]any{"path": "out/report.txt", "content": "x", "mode": "create"})
		requireCode(t, err, "file_exists")

		_, err = b.run(t, "file.write", map[string]any{"path": "out/report.txt", "content": map[string]any{"n": 1.0}, "encoding": "json"})
		require.NoError(t, err)
		data, err = os.ReadFile(filepath.Join(b.dir, "out", "report.txt"))
		require.NoError(t, err)
		require.Equal(t, "{\n  \"n\": 1\n}\n", string(data))

		_, err = b.run(t, "file.write", map[string]any{"path": "bytes.bin", "content": "AP8", "encoding": "base64", "mode": "create"})
		require.NoError(t, err)
		data, err = os.ReadFile(filepath.Join(b.dir, "bytes.bin"))
		require.NoError(t, err)
		require.Equal(t, []byte{0, 0xff}, data)

		entries, err := os.ReadDir(filepath.Join(b.dir, "out"))
		require.NoError(t, err)
		require.Len(t, entries, 1, "no temporary file is left behind")
	})
}

func TestFilesBadConfig(t *testing.T) {
	t.Parallel()
	b := setup(t, files.Config{})
	tests := []struct {
		name   string
		typ    string
		config map[string]any
		want   string
	}{
		{name: "Absolute", typ: "file.read", config: map[string]any{"path": "/etc/passwd"},
			want: `path "/etc/passwd" is absolute: paths are relative to the files directory (CM_FILES_DIR)`},
		{name: "Backslash", typ: "file.read", config: map[string]any{"path": `..\x`}, want: "separate directories with /"},
		{name: "DotDot", typ: "file.read", config: map[string]any{"path": "../outside/secret.txt"}, want: `path "../outside/secret.txt" would leave the files directory: ".." is not allowed`},
		{name: "DotDotInside", typ: "file.write", config: map[string]any{"path": "a/../../x", "content": ""}, want: "would leave the files directory"},
		{name: "ListBadPattern", typ: "file.list", config: map[string]any{"pattern": "[a-"}, want: "pattern: not a valid glob"},
		{name: "ListDotDot", typ: "file.list", config: map[string]any{"path": ".."}, want: "would leave the files directory"},
		{name: "ListLimit", typ: "file.list", config: map[string]any{"limit": 10001}, want: "config/limit: maximum"},
		{name: "NUL", typ: "file.read", config: map[string]any{"path": "a\x00b"}, want: "path: contains a NUL byte"},
		{name: "NoFile", typ: "file.read", config: map[string]any{"path": "."}, want: "path: name a file"},
		{name: "WriteNoContent", typ: "file.write", config: map[string]any{"path": "x"}, want: "missing property 'content'"},
		{name: "WriteUnknownMode", typ: "file.write", config: map[string]any{"path": "x", "content": "", "mode": "truncate"}, want: "config/mode: value must be one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.instantiate(t, tt.typ, tt.config)
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err := b.instantiate(t, "file.read", map[string]any{"path": "{{ input.name }}"})
	require.NoError(t, err, "templated paths are checked at run time")
}

func TestFilesBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, files.Config{})
	b.file(t, "dir/a.txt", "a")
	b.file(t, "latin1.txt", "caf\xe9")
	b.file(t, "bad.json", `{"a": }`)
	tests := []struct {
		name   string
		typ    string
		config map[string]any
		code   string
		msg    string
	}{
		{name: "ListFile", typ: "file.list", config: map[string]any{"path": "dir/a.txt"}, code: "not_directory", msg: "dir/a.txt is a file, not a directory"},
		{name: "ListMissing", typ: "file.list", config: map[string]any{"path": "nope"}, code: "not_found", msg: "nope does not exist"},
		{name: "ReadDirectory", typ: "file.read", config: map[string]any{"path": "dir"}, code: "is_directory", msg: "dir is a directory"},
		{name: "ReadMissing", typ: "file.read", config: map[string]any{"path": "missing.txt"}, code: "not_found", msg: "missing.txt does not exist"},
		{name: "ReadNotJSON", typ: "file.read", config: map[string]any{"path": "bad.json", "encoding": "json"}, code: "invalid_json", msg: "bad.json is not JSON: invalid character '}' looking for beginning of value at byte 7"},
		{name: "ReadNotText", typ: "file.read", config: map[string]any{"path": "latin1.txt"}, code: "not_text", msg: "read it with encoding base64"},
		{name: "ReadThroughFile", typ: "file.read", config: map[string]any{"path": "dir/a.txt/b"}, code: "not_directory", msg: "not a directory"},
		{name: "WriteBadBase64", typ: "file.write", config: map[string]any{"path": "x", "content": "%%%", "encoding": "base64"}, code: "invalid_content", msg: "content is not valid base64"},
		{name: "WriteMissingParent", typ: "file.write", config: map[string]any{"path": "no/such/x", "content": ""}, code: "not_found", msg: "no/such/x does not exist"},
		{name: "WriteObjectAsText", typ: "file.write", config: map[string]any{"path": "x", "content": map[string]any{}}, code: "invalid_content", msg: "content is an object; encoding text takes a string (use encoding json"},
		{name: "WriteOverDirectory", typ: "file.write", config: map[string]any{"path": "dir", "content": ""}, code: "is_directory", msg: "dir is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.run(t, tt.typ, tt.config)
			msg := requireCode(t, err, tt.code)
			require.Contains(t, msg, tt.msg)
			require.NotContains(t, msg, b.dir, "messages do not show the server's directory")
		})
	}
}

func TestFilesHostile(t *testing.T) {
	t.Parallel()

	t.Run("SymlinkOut", func(t *testing.T) {
		t.Parallel()
		b := setup(t, files.Config{})
		b.file(t, "keep.txt", "x")
		require.NoError(t, os.Symlink("../outside/secret.txt", filepath.Join(b.dir, "rel-link")))
		require.NoError(t, os.Symlink(filepath.Join(b.outside, "secret.txt"), filepath.Join(b.dir, "abs-link")))
		require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(b.dir, "passwd")))
		for _, p := range []string{"rel-link", "abs-link", "passwd"} {
			_, err := b.run(t, "file.read", map[string]any{"path": p})
			msg := requireCode(t, err, "invalid_path")
			require.Contains(t, msg, p+" leads outside the files directory")

			_, err = b.run(t, "file.write", map[string]any{"path": p, "content": "pwned", "mode": "append"})
			requireCode(t, err, "invalid_path")
		}
		// Overwriting replaces the link itself: the target outside is untouched.
		_, err := b.run(t, "file.write", map[string]any{"path": "rel-link", "content": "new"})
		require.NoError(t, err)
		data, err := os.ReadFile(filepath.Join(b.outside, "secret.txt"))
		require.NoError(t, err)
		require.Equal(t, "top secret", string(data))
		st, err := os.Lstat(filepath.Join(b.dir, "rel-link"))
		require.NoError(t, err)
		require.True(t, st.Mode().IsRegular())
	})

	t.Run("SymlinkedDirectory", func(t *testing.T) {
		t.Parallel()
		b := setup(t, files.Config{})
		b.file(t, "keep.txt", "x")
		require.NoError(t, os.Symlink("../outside", filepath.Join(b.dir, "out")))
		_, err := b.run(t, "file.read", map[string]any{"path": "out/secret.txt"})
		requireCode(t, err, "invalid_path")
		_, err = b.run(t, "file.write", map[string]any{"path": "out/planted.txt", "content": "x", "mode": "create"})
		requireCode(t, err, "invalid_path")
		_, err = b.run(t, "file.write", map[string]any{"path": "out/sub/planted.txt", "content": "x", "createDirs": true})
		requireCode(t, err, "invalid_path")
		_, err = os.Stat(filepath.Join(b.outside, "planted.txt"))
		require.ErrorIs(t, err, os.ErrNotExist)
		_, err = b.run(t, "file.list", map[string]any{"path": "out"})
		requireCode(t, err, "invalid_path")
		// Listing the parent shows the link and does not descend into it.
		got, err := b.run(t, "file.list", map[string]any{"recursive": true})
		require.NoError(t, err)
		var paths []string
		for _, e := range got.([]any) {
			paths = append(paths, e.(map[string]any)["path"].(string))
		}
		require.Equal(t, []string{"keep.txt", "out"}, paths)
	})

	t.Run("FIFO", func(t *testing.T) {
		t.Parallel()
		b := setup(t, files.Config{})
		b.file(t, "x", "")
		require.NoError(t, syscall.Mkfifo(filepath.Join(b.dir, "pipe"), 0o600))
		_, err := b.run(t, "file.read", map[string]any{"path": "pipe"})
		requireCode(t, err, "not_regular_file")
		_, err = b.run(t, "file.write", map[string]any{"path": "pipe", "content": "x", "mode": "append"})
		requireCode(t, err, "not_regular_file")
	})

	t.Run("HugeFile", func(t *testing.T) {
		t.Parallel()
		b := setup(t, files.Config{MaxBytes: 1 << 20})
		b.file(t, "x", "")
		f, err := os.Create(filepath.Join(b.dir, "huge.bin"))
		require.NoError(t, err)
		require.NoError(t, f.Truncate(10<<30)) // sparse: 10 GiB that take no disk
		require.NoError(t, f.Close())
		_, err = b.run(t, "file.read", map[string]any{"path": "huge.bin", "encoding": "base64"})
		msg := requireCode(t, err, "file_too_large")
		require.Equal(t, "huge.bin is 10 GiB, over the 1 MiB limit (CM_FILES_MAX_BYTES)", msg)

		// The output cap applies when it is lower.
		b.file(t, "medium.txt", strings.Repeat("x", 4096))
		_, err = b.runIn(context.Background(), t, "file.read", map[string]any{"path": "medium.txt"}, &node.Input{Limits: node.Limits{MaxOutputBytes: 2048}})
		msg = requireCode(t, err, "file_too_large")
		require.Contains(t, msg, "(CM_MAX_OUTPUT_BYTES)")

		// And the memory budget.
		mem := budget.NewMemory(1024)
		_, err = b.runIn(context.Background(), t, "file.read", map[string]any{"path": "medium.txt"}, &node.Input{Limits: node.Limits{Memory: mem.Open()}})
		require.ErrorIs(t, err, budget.ErrExceeded)

		_, err = b.run(t, "file.write", map[string]any{"path": "big.txt", "content": strings.Repeat("x", 2<<20)})
		requireCode(t, err, "file_too_large")
		_, err = b.run(t, "file.write", map[string]any{"path": "medium.txt", "content": strings.Repeat("x", 1<<20), "mode": "append"})
		msg = requireCode(t, err, "file_too_large")
		require.Contains(t, msg, "medium.txt would grow to")
	})

	t.Run("DeepTree", func(t *testing.T) {
		t.Parallel()
		b := setup(t, files.Config{})
		deep := strings.Repeat("d/", 100)
		b.file(t, deep+"bottom.txt", "x")
		got, err := b.run(t, "file.list", map[string]any{"recursive": true, "pattern": "*.txt"})
		require.NoError(t, err)
		require.Equal(t, []any{}, got, "64 levels at most: the file 100 levels down is not reached")
		got, err = b.run(t, "file.list", map[string]any{"recursive": true, "limit": 10000})
		require.NoError(t, err)
		require.Len(t, got, 64)
		// It can be reached from nearer.
		got, err = b.run(t, "file.list", map[string]any{"path": deep, "pattern": "*.txt"})
		require.NoError(t, err)
		require.Len(t, got, 1)
	})

	t.Run("ManyFiles", func(t *testing.T) {
		t.Parallel()
		if testing.Short() {
			t.Skip("creates 100,001 files")
		}
		b := setup(t, files.Config{})
		b.file(t, "x", "")
		many := filepath.Join(b.dir, "many")
		require.NoError(t, os.Mkdir(many, 0o700))
		for i := range 100_001 {
			f, err := os.OpenFile(filepath.Join(many, fmt.Sprintf("f%06d.log", i)), os.O_CREATE|os.O_WRONLY, 0o600)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}
		got, err := b.run(t, "file.list", map[string]any{"path": "many"})
		require.NoError(t, err)
		require.Len(t, got, 1000)
		got, err = b.run(t, "file.list", map[string]any{"path": "many", "limit": 10000})
		require.NoError(t, err)
		require.Len(t, got, 10000)
		_, err = b.run(t, "file.list", map[string]any{"path": "many", "pattern": "*.csv"})
		msg := requireCode(t, err, "too_many_entries")
		require.Contains(t, msg, "looked at 100000 entries and found 0 matches")

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = b.runIn(ctx, t, "file.list", map[string]any{"path": "many", "pattern": "*.csv"}, &node.Input{})
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestDocsSections(t *testing.T) {
	t.Parallel()
	for _, n := range files.New(files.Config{}) {
		info := n.NodeInfo()
		require.Equal(t, "Files", info.Category)
		for _, section := range []string{"## Configuration", "## Output", "## Limits", "## Errors", "## Example"} {
			require.Contains(t, info.Docs, section, info.Type)
		}
	}
}
