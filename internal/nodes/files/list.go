package files

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/meter"
)

// maxPatternLen bounds a pattern.
const maxPatternLen = 256

// List is a file.list node.
type List struct {
	// Path is the directory to list, relative to the files directory; empty means the files directory.
	Path string `json:"path,omitempty"`
	// Pattern keeps the entries whose name matches this glob (path.Match syntax).
	Pattern string `json:"pattern,omitempty"`
	// Recursive lists subdirectories too.
	Recursive bool `json:"recursive,omitempty"`
	// Limit caps the entries returned; zero means 1000.
	Limit int `json:"limit,omitempty"`

	shared *shared
}

// NodeInfo describes file.list.
func (l *List) NodeInfo() node.Info {
	s := l.shared
	return node.Info{
		Type: "file.list", Title: "List files", Category: "Files", Icon: "folder-open",
		Description: "Lists the files and directories in a directory of the files directory (CM_FILES_DIR), optionally recursively and filtered by a glob pattern.",
		Docs:        listDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Entries"}},
		Schema: json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "path": {"type": "string", "title": "Directory", "description": "The directory to list, relative to the files directory; empty lists the files directory itself", "maxLength": 1024, "examples": ["", "exports/2026"], "x-cm-expression": true},
    "pattern": {"type": "string", "title": "Pattern", "description": "Keep entries whose name matches this glob: * (any run of characters but /), ? (one character), [a-z] (a class)", "maxLength": 256, "examples": ["*.csv", "report-??.json"]},
    "recursive": {"type": "boolean", "title": "Recursive", "description": "List the entries of subdirectories too (up to 64 levels; symbolic links are listed, not followed)", "default": false},
    "limit": {"type": "integer", "title": "Limit", "description": "The most entries to return", "minimum": 1, "maximum": 10000, "default": 1000}
  }
}`),
		New: func() node.Node { return &List{shared: s} },
	}
}

// Validate checks the path and the pattern.
func (l *List) Validate() error {
	var errs []error
	if !templated(l.Path) {
		if _, err := cleanPath("path", l.Path, true); err != nil {
			errs = append(errs, err)
		}
	}
	if len(l.Pattern) > maxPatternLen {
		errs = append(errs, errors.New("pattern: longer than 256 characters"))
	} else if _, err := path.Match(l.Pattern, ""); err != nil {
		errs = append(errs, errors.New("pattern: not a valid glob (check the [ ] classes and \\ escapes)"))
	}
	if l.Limit < 0 || l.Limit > MaxListLimit {
		errs = append(errs, errors.New("limit: want 1 to 10000"))
	}
	return errors.Join(errs...)
}

type pending struct {
	dir   string
	depth int
}

// Execute lists the directory and emits an array of {path, name, size, isDir, modifiedAt}, sorted by
// path.
func (l *List) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	dir, err := cleanPath("path", l.Path, true)
	if err != nil {
		return node.Output{}, invalidPath(err)
	}
	if err := l.Validate(); err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: "invalid_config", Message: err.Error()})
	}
	limit := l.Limit
	if limit == 0 {
		limit = defaultListLimit
	}
	root, err := l.shared.open()
	if err != nil {
		return node.Output{}, err
	}
	defer func() { _ = root.Close() }()
	st, err := root.Stat(dir)
	if err != nil {
		return node.Output{}, fsError(dir, err)
	}
	if !st.IsDir() {
		return node.Output{}, node.Permanent(node.Errorf(CodeNotDirectory, "%s is a file, not a directory; read it with file.read", dir))
	}
	m := meter.New(in.Limits, "the listing")
	entries := []any{}
	queue := []pending{{dir: dir}}
	visits := 0
	for len(queue) > 0 && len(entries) < limit {
		next := queue[0]
		queue = queue[1:]
		f, err := root.Open(next.dir)
		if err != nil {
			if next.dir == dir {
				return node.Output{}, fsError(dir, err)
			}
			continue // removed or replaced while listing
		}
		for len(entries) < limit {
			batch, err := f.ReadDir(256)
			for _, e := range batch {
				visits++
				if visits%256 == 0 {
					if err := ctx.Err(); err != nil {
						_ = f.Close()
						return node.Output{}, err
					}
				}
				if visits > maxListVisits {
					_ = f.Close()
					return node.Output{}, node.Permanent(node.Errorf(CodeTooManyEntries,
						"looked at %d entries and found %d matches; list a narrower directory or pattern", maxListVisits, len(entries)))
				}
				rel := path.Join(next.dir, e.Name())
				if e.IsDir() && l.Recursive && next.depth+1 < maxListDepth {
					queue = append(queue, pending{dir: rel, depth: next.depth + 1})
				}
				if len(entries) >= limit {
					continue
				}
				if ok, _ := path.Match(l.Pattern, e.Name()); l.Pattern != "" && !ok {
					continue
				}
				info, err := e.Info()
				if err != nil {
					continue // removed while listing
				}
				size := info.Size()
				if e.IsDir() {
					size = 0
				}
				if err := m.Add(int64(len(rel)+len(e.Name()))+100, int64(len(rel)+len(e.Name()))+200, ""); err != nil {
					_ = f.Close()
					return node.Output{}, err
				}
				entries = append(entries, map[string]any{
					"path":       rel,
					"name":       e.Name(),
					"size":       float64(size),
					"isDir":      e.IsDir(),
					"modifiedAt": info.ModTime().UTC().Format(time.RFC3339Nano),
				})
			}
			if errors.Is(err, io.EOF) || len(batch) == 0 {
				break
			}
			if err != nil {
				_ = f.Close()
				return node.Output{}, fsError(next.dir, err)
			}
		}
		_ = f.Close()
	}
	slices.SortFunc(entries, func(a, b any) int {
		return strings.Compare(a.(map[string]any)["path"].(string), b.(map[string]any)["path"].(string))
	})
	return node.Out(entries), nil
}

var (
	_ node.Node      = (*List)(nil)
	_ node.Validator = (*List)(nil)
)
