// Package scaffold writes a new plugin folder that works as it is: `concertmaster plugin new`. A Go
// plugin is a WebAssembly module built with the plugin kit (pkg/plugin); a Python plugin is a process
// plugin with the single-file helper (pkg/plugin/python). Each has a plugin.json, a README and one
// node type, NAME.hello, that turns {"name": "Ada"} into {"greeting": "Hello, Ada!"}.
package scaffold

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/concertmaster/concertmaster/pkg/plugin"
	"github.com/concertmaster/concertmaster/pkg/plugin/python"
)

// Languages a plugin can be scaffolded in.
const (
	LangGo     = "go"
	LangPython = "python"
)

// Module is the Go module that holds the plugin kit.
const Module = "github.com/concertmaster/concertmaster"

// GoVersion is the go directive of a scaffolded go.mod: the plugin kit's module needs it.
const GoVersion = "1.26.0"

//go:embed templates
var templates embed.FS

// Options describe the plugin to create.
type Options struct {
	// Name is the plugin's name (plugin.json's name): lowercase letters, digits and dashes.
	Name string
	// Lang is LangGo or LangPython.
	Lang string
	// Dir is the folder to create; it must not exist or be empty.
	Dir string
	// SDK is a ConcertMaster checkout that a Go plugin outside it builds against (a replace directive
	// in its go.mod). Empty: the checkout holding Dir or WorkDir, if there is one.
	SDK string
	// WorkDir is searched for a checkout too (the current folder).
	WorkDir string
	// Version is the running binary's version: a release (v1.2.3) is what a go.mod requires when no
	// checkout is known.
	Version string
}

// Result is the plugin created.
type Result struct {
	// Dir is the plugin's folder, absolute.
	Dir string
	// Files are the files written, relative to Dir.
	Files []string
	// Type is the example node type.
	Type string
	// Build is the command that builds the plugin in Dir; empty when nothing needs building.
	Build string
	// Warning, when set, is something the user must do before the plugin builds.
	Warning string
}

// InvalidError is a plugin that cannot be created as asked: a bad name or language, or a folder in
// the way. Nothing was written.
type InvalidError struct{ Message string }

func (e *InvalidError) Error() string { return e.Message }

func invalid(format string, args ...any) error {
	return &InvalidError{Message: fmt.Sprintf(format, args...)}
}

var releasePattern = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)

// Create writes the plugin's folder.
func Create(o Options) (*Result, error) {
	if o.Lang != LangGo && o.Lang != LangPython {
		return nil, invalid("--lang must be go or python, not %q", o.Lang)
	}
	typ := strings.ReplaceAll(o.Name, "-", "_") + ".hello"
	m := manifest(o.Name, typ, o.Lang)
	if ps := m.Validate(); len(ps) > 0 {
		return nil, invalid("plugin name %q cannot be used: %s", o.Name, ps[0].Message)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", o.Dir, err)
	}
	created, err := prepare(dir)
	if err != nil {
		return nil, err
	}
	res := &Result{Dir: dir, Type: typ}
	files, err := render(o, m, res)
	if err == nil {
		err = write(dir, files, res)
	}
	if err != nil {
		if created {
			_ = os.RemoveAll(dir)
		}
		return nil, err
	}
	return res, nil
}

// prepare checks that dir is absent or empty, creates it, and reports whether it did.
func prepare(dir string) (bool, error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // a source folder others read
			return false, err
		}
		return true, nil
	case err != nil:
		return false, err
	case !info.IsDir():
		return false, invalid("%s exists and is not a folder", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	if len(entries) > 0 {
		return false, invalid("%s is not empty (it holds %s); pick another --dir or empty it", dir, entries[0].Name())
	}
	return false, nil
}

type file struct {
	name string
	body []byte
}

func render(o Options, m *plugin.Manifest, res *Result) ([]file, error) {
	manifestJSON, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	files := []file{{plugin.ManifestFile, append(manifestJSON, '\n')}}
	data := struct{ Name, Type, GoMod string }{Name: o.Name, Type: res.Type}
	exec := func(name, tmpl string) error {
		t, err := template.ParseFS(templates, "templates/"+tmpl)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return err
		}
		files = append(files, file{name, b.Bytes()})
		return nil
	}
	switch o.Lang {
	case LangPython:
		files = append(files, file{python.FileName, python.Source()})
		if err := exec("main.py", "main.py.tmpl"); err != nil {
			return nil, err
		}
		if err := exec("README.md", "README.python.md.tmpl"); err != nil {
			return nil, err
		}
	case LangGo:
		res.Build = "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm ."
		goMod, note, err := goModFor(o, res)
		if err != nil {
			return nil, err
		}
		data.GoMod = note
		if goMod != nil {
			files = append(files, file{"go.mod", goMod})
		}
		for _, f := range [][2]string{{"main.go", "main.go.tmpl"}, {"README.md", "README.go.md.tmpl"}, {".gitignore", "gitignore.go.tmpl"}} {
			if err := exec(f[0], f[1]); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

// goModFor returns the go.mod of a Go plugin in res.Dir (nil inside ConcertMaster's module, which
// provides the kit) and a sentence for the README on where the kit comes from.
func goModFor(o Options, res *Result) ([]byte, string, error) {
	if root := moduleRoot(res.Dir); root != "" {
		return nil, "", nil
	}
	sdk := o.SDK
	if sdk != "" {
		abs, err := filepath.Abs(sdk)
		if err != nil {
			return nil, "", fmt.Errorf("resolve --sdk %s: %w", sdk, err)
		}
		if moduleRoot(abs) != abs {
			return nil, "", invalid("--sdk %s is not a ConcertMaster checkout (its go.mod must declare module %s)", sdk, Module)
		}
		sdk = abs
	} else if o.WorkDir != "" {
		sdk = moduleRoot(o.WorkDir)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n\ngo %s\n\n", o.Name, GoVersion)
	switch {
	case sdk != "":
		fmt.Fprintf(&b, "require %s v0.0.0\n\n", Module)
		fmt.Fprintf(&b, "// The plugin kit comes from this ConcertMaster checkout. Point it at another with\n")
		fmt.Fprintf(&b, "// go mod edit -replace %s=DIR, or drop the line to use a release.\n", Module)
		fmt.Fprintf(&b, "replace %s => %s\n", Module, sdk)
		return []byte(b.String()), "It builds against the ConcertMaster checkout in " + sdk + " (the `replace` line).", nil
	case releasePattern.MatchString(o.Version):
		fmt.Fprintf(&b, "require %s %s\n", Module, o.Version)
		return []byte(b.String()), "It requires the kit at ConcertMaster " + o.Version + ".", nil
	}
	fmt.Fprintf(&b, "require %s v0.0.0\n\n", Module)
	fmt.Fprintf(&b, "// No ConcertMaster checkout was found: point this at one before building, with\n")
	fmt.Fprintf(&b, "// go mod edit -replace %s=/path/to/concertmaster\n", Module)
	res.Warning = fmt.Sprintf("no ConcertMaster checkout found: before building, run go mod edit -replace %s=/path/to/concertmaster in %s (or scaffold again with --sdk)", Module, res.Dir)
	return []byte(b.String()), "Point it at a ConcertMaster checkout with `go mod edit -replace " + Module + "=/path/to/concertmaster`.", nil
}

// moduleRoot returns the folder of the go.mod governing dir (or its nearest existing parent) when it
// declares ConcertMaster's module, and "" otherwise.
func moduleRoot(dir string) string {
	for d := filepath.Clean(dir); ; {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil { //nolint:gosec // a go.mod above the user's folder
			if modulePath(b) == Module {
				return d
			}
			return ""
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

func modulePath(goMod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(goMod))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

func write(dir string, files []file, res *Result) error {
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.body, 0o644); err != nil { //nolint:gosec // source files others read
			return err
		}
		res.Files = append(res.Files, f.name)
	}
	return nil
}

func manifest(name, typ, lang string) *plugin.Manifest {
	m := &plugin.Manifest{
		Name:        name,
		Version:     "0.1.0",
		Description: "Greets someone by name: a plugin scaffold to build on.",
		Nodes: []plugin.NodeSpec{{
			Type:        typ,
			Title:       "Hello",
			Description: "Turns a name into a greeting.",
			Icon:        "hand",
			Pure:        true,
			Docs: "# Hello\n\nTurns `name` into a greeting.\n\n## Example\n\n" +
				"Configuration `{\"name\": \"Ada\"}` outputs `{\"greeting\": \"Hello, Ada!\"}`.\n\n## Errors\n\nAn empty name fails the node permanently.",
			Schema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string","title":"Name","description":"Who to greet.","minLength":1,"maxLength":200}},"required":["name"],"additionalProperties":false}`),
		}},
	}
	if lang == LangPython {
		m.Kind, m.Process = plugin.KindProcess, &plugin.ProcessSpec{Command: []string{"python3", "main.py"}}
	} else {
		m.Kind, m.Wasm = plugin.KindWasm, &plugin.WasmSpec{Module: "plugin.wasm"}
	}
	return m
}
