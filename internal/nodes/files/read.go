package files

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
	"unicode/utf8"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/meter"
)

// Encodings of file contents.
const (
	encText   = "text"
	encBase64 = "base64"
	encJSON   = "json"
)

// jsonMemoryFactor estimates the decoded value's size from the JSON text's.
const jsonMemoryFactor = 4

// Read is a file.read node.
type Read struct {
	// Path is the file, relative to the files directory.
	Path string `json:"path"`
	// Encoding is text (default), base64 or json.
	Encoding string `json:"encoding,omitempty"`

	shared *shared
}

// NodeInfo describes file.read.
func (r *Read) NodeInfo() node.Info {
	s := r.shared
	return node.Info{
		Type: "file.read", Title: "Read file", Category: "Files", Icon: "file-input",
		Description: "Reads a file from the files directory (CM_FILES_DIR) as text, base64 or JSON.",
		Docs:        readDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "File"}},
		Schema: json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["path"],
  "properties": {
    "path": {"type": "string", "title": "Path", "description": "The file, relative to the files directory; no .. and no leading /", "minLength": 1, "maxLength": 1024, "examples": ["reports/2026-03.csv", "{{ input.fileName }}"], "x-cm-expression": true},
    "encoding": {"type": "string", "enum": ["text", "base64", "json"], "title": "Encoding", "description": "How the content is returned: text (UTF-8), base64 (any bytes) or json (parsed)", "default": "text"}
  }
}`),
		New: func() node.Node { return &Read{shared: s} },
	}
}

// Validate checks the path.
func (r *Read) Validate() error {
	if templated(r.Path) {
		return nil
	}
	_, err := cleanPath("path", r.Path, false)
	return err
}

// Execute reads the file and emits {path, size, modifiedAt, content}.
func (r *Read) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	p, err := cleanPath("path", r.Path, false)
	if err != nil {
		return node.Output{}, invalidPath(err)
	}
	root, err := r.shared.open()
	if err != nil {
		return node.Output{}, err
	}
	defer func() { _ = root.Close() }()
	// Stat before opening: opening a named pipe would block.
	st, err := root.Stat(p)
	if err != nil {
		return node.Output{}, fsError(p, err)
	}
	if err := checkRegular(p, st.Mode()); err != nil {
		return node.Output{}, err
	}
	limit, why := r.limit(in.Limits)
	if st.Size() > limit {
		return node.Output{}, tooLarge("%s is %s, over the %s limit (%s)", p, bytesText(st.Size()), bytesText(limit), why)
	}
	m := meter.New(in.Limits, "the file's content")
	factor := int64(1)
	if r.Encoding == encJSON {
		factor = jsonMemoryFactor
	}
	if err := m.Reserve(st.Size() * factor); err != nil {
		return node.Output{}, err
	}
	f, err := root.Open(p)
	if err != nil {
		return node.Output{}, fsError(p, err)
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return node.Output{}, fsError(p, err)
	}
	if err := checkRegular(p, st.Mode()); err != nil {
		return node.Output{}, err
	}
	if err := ctx.Err(); err != nil {
		return node.Output{}, err
	}
	// The file may have grown since Stat: read at most one byte past the limit.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return node.Output{}, fsError(p, err)
	}
	if int64(len(data)) > limit {
		return node.Output{}, tooLarge("%s is over the %s limit (%s)", p, bytesText(limit), why)
	}
	content, err := r.decode(p, data)
	if err != nil {
		return node.Output{}, err
	}
	return node.Out(map[string]any{
		"path":       p,
		"size":       float64(len(data)),
		"modifiedAt": st.ModTime().UTC().Format(time.RFC3339Nano),
		"content":    content,
	}), nil
}

// limit returns the largest file the node reads and which setting sets it.
func (r *Read) limit(limits node.Limits) (int64, string) {
	limit, why := r.shared.maxBytes, "CM_FILES_MAX_BYTES"
	if out := limits.MaxOutputBytes; out > 0 {
		if r.Encoding == encBase64 {
			out = out / 4 * 3 // base64 writes 4 bytes for every 3
		}
		if out < limit {
			limit, why = out, "CM_MAX_OUTPUT_BYTES"
		}
	}
	return limit, why
}

func (r *Read) decode(p string, data []byte) (any, error) {
	switch r.Encoding {
	case encBase64:
		return base64.StdEncoding.EncodeToString(data), nil
	case encJSON:
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			msg := err.Error()
			var se *json.SyntaxError
			if errors.As(err, &se) {
				msg = fmt.Sprintf("%v at byte %d", se, se.Offset)
			}
			return nil, node.Permanent(node.Errorf(CodeInvalidJSON, "%s is not JSON: %s", p, msg))
		}
		return v, nil
	}
	if !utf8.Valid(data) {
		return nil, node.Permanent(node.Errorf(CodeNotText, "%s is not UTF-8 text; read it with encoding base64", p))
	}
	return string(data), nil
}

// checkRegular refuses directories, devices, pipes and sockets.
func checkRegular(p string, mode fs.FileMode) error {
	switch {
	case mode.IsDir():
		return node.Permanent(node.Errorf(CodeIsDirectory, "%s is a directory; list it with file.list", p))
	case !mode.IsRegular():
		return node.Permanent(node.Errorf(CodeNotRegular, "%s is not a regular file", p))
	}
	return nil
}

var (
	_ node.Node      = (*Read)(nil)
	_ node.Validator = (*Read)(nil)
)
