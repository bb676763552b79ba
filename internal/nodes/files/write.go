package files

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/meter"
)

// Write modes.
const (
	modeOverwrite = "overwrite"
	modeAppend    = "append"
	modeCreate    = "create"
)

// Write is a file.write node.
type Write struct {
	// Path is the file, relative to the files directory.
	Path string `json:"path"`
	// Content is what to write.
	Content any `json:"content"`
	// Encoding is text (default: Content is a string written as is), base64 (Content is decoded) or
	// json (Content is written as JSON).
	Encoding string `json:"encoding,omitempty"`
	// Mode is overwrite (default), append or create (fail when the file exists).
	Mode string `json:"mode,omitempty"`
	// CreateDirs creates missing parent directories.
	CreateDirs bool `json:"createDirs,omitempty"`

	shared *shared
}

// NodeInfo describes file.write.
func (w *Write) NodeInfo() node.Info {
	s := w.shared
	return node.Info{
		Type: "file.write", Title: "Write file", Category: "Files", Icon: "file-output",
		Description: "Writes text, base64-encoded bytes or JSON to a file in the files directory (CM_FILES_DIR): overwrite (atomically), append or create.",
		Docs:        writeDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Written file"}},
		Schema: json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["path", "content"],
  "properties": {
    "path": {"type": "string", "title": "Path", "description": "The file, relative to the files directory; no .. and no leading /", "minLength": 1, "maxLength": 1024, "examples": ["exports/orders-{{ execution.id }}.csv"], "x-cm-expression": true},
    "content": {"title": "Content", "description": "What to write: a string (text or base64) or any value (json)", "examples": ["{{ nodes.csv.output }}"], "x-cm-expression": true},
    "encoding": {"type": "string", "enum": ["text", "base64", "json"], "title": "Encoding", "description": "text writes a string as is, base64 decodes a base64 string into bytes, json writes any value as indented JSON", "default": "text"},
    "mode": {"type": "string", "enum": ["overwrite", "append", "create"], "title": "Mode", "description": "overwrite replaces the file atomically (a temporary file renamed over it), append adds to its end, create fails when it exists", "default": "overwrite"},
    "createDirs": {"type": "boolean", "title": "Create directories", "description": "Create missing parent directories (mode 0700)", "default": false}
  }
}`),
		New: func() node.Node { return &Write{shared: s} },
	}
}

// Validate checks the path.
func (w *Write) Validate() error {
	if templated(w.Path) {
		return nil
	}
	_, err := cleanPath("path", w.Path, false)
	return err
}

// Execute writes the file and emits {path, size}.
func (w *Write) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	p, err := cleanPath("path", w.Path, false)
	if err != nil {
		return node.Output{}, invalidPath(err)
	}
	data, err := w.content(in.Limits)
	if err != nil {
		return node.Output{}, err
	}
	root, err := w.shared.open()
	if err != nil {
		return node.Output{}, err
	}
	defer func() { _ = root.Close() }()
	if dir := path.Dir(p); dir != "." && w.CreateDirs {
		if err := root.MkdirAll(dir, dirMode); err != nil {
			return node.Output{}, fsError(dir, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return node.Output{}, err
	}
	var size int64
	switch w.Mode {
	case modeCreate:
		size, err = w.create(root, p, data)
	case modeAppend:
		size, err = w.append(root, p, data)
	default:
		size, err = w.overwrite(root, p, data)
	}
	if err != nil {
		return node.Output{}, err
	}
	return node.Out(map[string]any{"path": p, "size": float64(size)}), nil
}

// content returns the bytes to write.
func (w *Write) content(limits node.Limits) ([]byte, error) {
	maxBytes := w.shared.maxBytes
	invalid := func(format string, args ...any) error {
		return node.Permanent(node.Errorf(CodeInvalidContent, format, args...))
	}
	switch w.Encoding {
	case encJSON:
		size, ok := expression.SizeAtMost(w.Content, maxBytes)
		if !ok {
			return nil, tooLarge("the content's JSON is over the %s limit (CM_FILES_MAX_BYTES)", bytesText(maxBytes))
		}
		if err := meter.New(limits, "the content's JSON").Reserve(size * 2); err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(w.Content, "", "  ")
		if err != nil {
			return nil, invalid("the content cannot be written as JSON: %v", err)
		}
		b = append(b, '\n')
		if int64(len(b)) > maxBytes {
			return nil, tooLarge("the content's JSON is %s, over the %s limit (CM_FILES_MAX_BYTES)", bytesText(int64(len(b))), bytesText(maxBytes))
		}
		return b, nil
	case encBase64:
		s, ok := w.Content.(string)
		if !ok {
			return nil, invalid("content is %s; encoding base64 takes a base64 string", kindOf(w.Content))
		}
		if int64(base64.StdEncoding.DecodedLen(len(s))) > maxBytes+2 {
			return nil, tooLarge("the content is over the %s limit (CM_FILES_MAX_BYTES)", bytesText(maxBytes))
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
				return nil, invalid("content is not valid base64")
			}
		}
		if int64(len(b)) > maxBytes {
			return nil, tooLarge("the content is %s, over the %s limit (CM_FILES_MAX_BYTES)", bytesText(int64(len(b))), bytesText(maxBytes))
		}
		return b, nil
	}
	s, ok := w.Content.(string)
	if !ok {
		return nil, invalid("content is %s; encoding text takes a string (use encoding json to write a value as JSON)", kindOf(w.Content))
	}
	if int64(len(s)) > maxBytes {
		return nil, tooLarge("the content is %s, over the %s limit (CM_FILES_MAX_BYTES)", bytesText(int64(len(s))), bytesText(maxBytes))
	}
	return []byte(s), nil
}

// create writes a new file, failing when it exists.
func (w *Write) create(root *os.Root, p string, data []byte) (int64, error) {
	f, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return 0, fsError(p, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = root.Remove(p)
		return 0, fsError(p, err)
	}
	if err := f.Close(); err != nil {
		_ = root.Remove(p)
		return 0, fsError(p, err)
	}
	return int64(len(data)), nil
}

// append adds to the end of the file, creating it when missing; the result must stay under the limit.
func (w *Write) append(root *os.Root, p string, data []byte) (int64, error) {
	if st, err := root.Stat(p); err == nil {
		if err := checkRegular(p, st.Mode()); err != nil {
			return 0, err
		}
		if st.Size()+int64(len(data)) > w.shared.maxBytes {
			return 0, tooLarge("%s would grow to %s, over the %s limit (CM_FILES_MAX_BYTES)", p, bytesText(st.Size()+int64(len(data))), bytesText(w.shared.maxBytes))
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, fsError(p, err)
	}
	f, err := root.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return 0, fsError(p, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return 0, fsError(p, err)
	}
	st, err := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fsError(p, err)
	}
	return st.Size(), nil
}

// overwrite writes a temporary file beside p and renames it over p, so that readers see the old
// content or the new, never a part.
func (w *Write) overwrite(root *os.Root, p string, data []byte) (int64, error) {
	if st, err := root.Lstat(p); err == nil && st.IsDir() {
		return 0, node.Permanent(node.Errorf(CodeIsDirectory, "%s is a directory", p))
	}
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return 0, err
	}
	tmp := path.Join(path.Dir(p), "."+path.Base(p)+".tmp-"+hex.EncodeToString(suffix[:]))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return 0, fsError(p, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, p)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return 0, fsError(p, err)
	}
	return int64(len(data)), nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, int, int64:
		return "a number"
	}
	return "a value of another kind"
}

var (
	_ node.Node      = (*Write)(nil)
	_ node.Validator = (*Write)(nil)
)
