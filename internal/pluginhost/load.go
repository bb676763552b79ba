package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/pkg/plugin"
)

// Bounds of a plugin folder.
const (
	// MaxModuleBytes bounds a WebAssembly module's file.
	MaxModuleBytes = 128 << 20
	// maxFolderFiles bounds the files of one plugin folder that are looked at.
	maxFolderFiles = 10_000
	maxFolderDepth = 8
)

// bundle is a plugin folder read into memory and checked.
type bundle struct {
	dir      string
	manifest *plugin.Manifest
	module   []byte
	digest   string
	types    []*plugin.NodeSpec
}

// readBundle reads and checks a plugin folder: its manifest, its node types' schemas, its module or
// command. Problems are the plugin's faults; an error is an I/O failure of the server.
func readBundle(dir string) (*bundle, plugin.Problems, error) {
	raw, err := readFileMax(filepath.Join(dir, plugin.ManifestFile), plugin.MaxManifestBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, plugin.Problems{{Pointer: "", Message: "the folder has no plugin.json"}}, nil
	}
	if errors.Is(err, errTooLarge) {
		return nil, plugin.Problems{{Pointer: "", Message: fmt.Sprintf("plugin.json is over the %d-byte limit", plugin.MaxManifestBytes)}}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", plugin.ManifestFile, err)
	}
	m, err := plugin.ParseManifest(raw)
	if err != nil {
		var ps plugin.Problems
		if errors.As(err, &ps) {
			return nil, ps, nil
		}
		return nil, nil, err
	}
	b := &bundle{dir: dir, manifest: m}
	sum := sha256.New()
	sum.Write(raw)
	var ps plugin.Problems
	switch m.Kind {
	case plugin.KindWasm:
		b.module, err = readFileMax(filepath.Join(dir, filepath.FromSlash(m.Wasm.Module)), MaxModuleBytes)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			ps = append(ps, plugin.Problem{Pointer: "/wasm/module", Message: fmt.Sprintf("the module %s is not in the folder: build it (make plugins, or GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o %s)", m.Wasm.Module, m.Wasm.Module)})
		case errors.Is(err, errTooLarge):
			ps = append(ps, plugin.Problem{Pointer: "/wasm/module", Message: fmt.Sprintf("the module is over the %d-byte limit", MaxModuleBytes)})
		case err != nil:
			return nil, nil, fmt.Errorf("read module: %w", err)
		}
		sum.Write(b.module)
	case plugin.KindProcess:
		if p := commandProblem(dir, m.Process.Command[0]); p != "" {
			ps = append(ps, plugin.Problem{Pointer: "/process/command/0", Message: p})
		}
		// A process plugin's code is every file of its folder: their names, sizes and times stand for it.
		fp, err := fingerprint(dir)
		if err != nil {
			ps = append(ps, plugin.Problem{Pointer: "", Message: err.Error()})
		}
		sum.Write([]byte(fp))
	}
	for i := range m.Nodes {
		spec := &m.Nodes[i]
		if _, err := node.NewType(newNode(spec, nil, nil)); err != nil {
			ps = append(ps, plugin.Problem{Pointer: "/nodes/" + strconv.Itoa(i) + "/schema", Message: strings.TrimPrefix(err.Error(), "register node type "+spec.Type+": ")})
		}
		b.types = append(b.types, spec)
	}
	b.digest = hex.EncodeToString(sum.Sum(nil))[:12]
	return b, ps, nil
}

// commandProblem says what is wrong with a process plugin's program, or "" when it can be run.
func commandProblem(dir, program string) string {
	if !strings.Contains(program, "/") {
		if _, err := exec.LookPath(program); err != nil {
			return fmt.Sprintf("%s is not found in PATH", program)
		}
		return ""
	}
	if filepath.IsAbs(program) {
		return "give the program as a name in PATH (python3) or a path inside the plugin folder (./run)"
	}
	path := filepath.Join(dir, filepath.FromSlash(program))
	if rel, err := filepath.Rel(dir, path); err != nil || strings.HasPrefix(rel, "..") {
		return "the program must be inside the plugin folder"
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Sprintf("%s is not in the plugin folder", program)
	case st.IsDir() || st.Mode().Perm()&0o111 == 0:
		return fmt.Sprintf("%s is not an executable file (chmod +x it)", program)
	}
	return ""
}

var errTooLarge = errors.New("file too large")

func readFileMax(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path) //nolint:gosec // a file of a plugin folder the operator installed
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// fingerprint describes a folder's files by name, size, mode and time, bounded in count and depth: it
// changes when a file is added, removed or written.
func fingerprint(dir string) (string, error) {
	var b strings.Builder
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if rel != "." && (strings.Count(rel, string(filepath.Separator)) >= maxFolderDepth || strings.HasPrefix(d.Name(), "__pycache__")) {
				return filepath.SkipDir
			}
			return nil
		}
		files++
		if files > maxFolderFiles {
			return fmt.Errorf("the folder holds more than %d files", maxFolderFiles)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s\x00%d\x00%o\x00%d\n", rel, info.Size(), info.Mode(), info.ModTime().UnixNano())
		return nil
	})
	return b.String(), err
}

// Check reads and checks the plugin folder dir as the server would load it: its manifest, its node
// types' schemas, and its module (compiled and started) or command. Problems are the plugin's faults,
// with JSON pointers into plugin.json; an error is an I/O failure. It does not check names against the
// built-in types; CheckAgainst does.
func Check(ctx context.Context, dir string) (*plugin.Manifest, plugin.Problems, error) {
	return CheckAgainst(ctx, dir, nil)
}

// CheckAgainst is Check that also refuses node types reg already holds from elsewhere (built-ins).
func CheckAgainst(ctx context.Context, dir string, reg *node.Registry) (*plugin.Manifest, plugin.Problems, error) {
	b, ps, err := readBundle(dir)
	if err != nil || b == nil {
		return nil, ps, err
	}
	ps = append(ps, clashes(b, reg)...)
	if len(ps) == 0 && b.manifest.Kind == plugin.KindWasm {
		w, err := NewWasm(ctx, b.manifest, b.module, WasmOptions{Cache: wazero.NewCompilationCache()})
		if err != nil {
			ps = append(ps, plugin.Problem{Pointer: "/wasm/module", Message: err.Error()})
		} else {
			_ = w.Close(ctx)
		}
	}
	return b.manifest, ps, nil
}

// clashes reports the node types of b that reg holds as built-ins.
func clashes(b *bundle, reg *node.Registry) plugin.Problems {
	if reg == nil {
		return nil
	}
	var ps plugin.Problems
	for i, spec := range b.types {
		if t, ok := reg.Lookup(node.TypeName(spec.Type)); ok && t.Info.Plugin == nil {
			ps = append(ps, plugin.Problem{Pointer: "/nodes/" + strconv.Itoa(i) + "/type", Message: fmt.Sprintf("%s is a built-in node type; pick another name", spec.Type)})
		}
	}
	return ps
}
