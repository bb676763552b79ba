// Package files implements the file.read, file.write and file.list node types. They work inside one
// directory (CM_FILES_DIR) opened as an os.Root, so that no path can leave it: "..", absolute paths and
// symbolic links that lead out are refused by the operating system interface itself, and Validate
// refuses the first two with a clear message before anything runs.
package files

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
)

// Defaults of Config.
const (
	// DirDefault is the files directory when Config.Dir is empty, relative to the working directory.
	DirDefault = "./data/files"
	// MaxBytesDefault is the largest file read or written when Config.MaxBytes is zero: 64 MiB.
	MaxBytesDefault int64 = 64 << 20
)

// Limits.
const (
	// maxPathLen bounds a path.
	maxPathLen = 1024
	// MaxListLimit is the most entries file.list returns.
	MaxListLimit = 10000
	// defaultListLimit is what file.list returns when it sets no limit.
	defaultListLimit = 1000
	// maxListVisits is the most entries one file.list looks at.
	maxListVisits = 100_000
	// maxListDepth is how deep a recursive file.list descends.
	maxListDepth = 64
	// dirMode and fileMode are the permissions of what the nodes create.
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// Codes of the *node.Error values the nodes return.
const (
	// CodeInvalidPath is a path that leaves the files directory or is not well formed.
	CodeInvalidPath = "invalid_path"
	// CodeNotFound is a file or directory that does not exist.
	CodeNotFound = "not_found"
	// CodeFileExists is a file that already exists, for file.write in mode create.
	CodeFileExists = "file_exists"
	// CodeIsDirectory is a directory where a file is needed.
	CodeIsDirectory = "is_directory"
	// CodeNotDirectory is a file where a directory is needed.
	CodeNotDirectory = "not_directory"
	// CodeNotRegular is a device, pipe or socket.
	CodeNotRegular = "not_regular_file"
	// CodeFileTooLarge is a file, or content, over the size limit.
	CodeFileTooLarge = "file_too_large"
	// CodeNotText is a file read as text that is not UTF-8.
	CodeNotText = "not_text"
	// CodeInvalidJSON is a file read as JSON that is not JSON.
	CodeInvalidJSON = "invalid_json"
	// CodeInvalidContent is content of the wrong kind for its encoding.
	CodeInvalidContent = "invalid_content"
	// CodeTooManyEntries is a listing that looked at too many entries.
	CodeTooManyEntries = "too_many_entries"
	// CodePermissionDenied is a file the server may not read or write.
	CodePermissionDenied = "permission_denied"
)

// Config configures the file node types for a deployment.
type Config struct {
	// Dir is the directory the nodes work in (CM_FILES_DIR); empty means DirDefault. It is created
	// with mode 0700 the first time a node uses it.
	Dir string
	// MaxBytes caps what file.read reads and file.write writes, in bytes (CM_FILES_MAX_BYTES); zero or
	// negative means MaxBytesDefault. A read is also capped by the output cap (CM_MAX_OUTPUT_BYTES).
	MaxBytes int64
}

// shared is what the nodes made by one New share. It is immutable.
type shared struct {
	dir      string
	maxBytes int64
}

// New returns the file.read, file.write and file.list node types to register.
func New(cfg Config) []node.Node {
	s := &shared{dir: cmp.Or(cfg.Dir, DirDefault), maxBytes: cfg.MaxBytes}
	if s.maxBytes <= 0 {
		s.maxBytes = MaxBytesDefault
	}
	return []node.Node{&Read{shared: s}, &Write{shared: s}, &List{shared: s}}
}

// open creates the directory when it is missing and opens it as a root.
func (s *shared) open() (*os.Root, error) {
	if s == nil {
		return nil, node.Permanent(errors.New("file node was not made by files.New"))
	}
	if err := os.MkdirAll(s.dir, dirMode); err != nil {
		return nil, fmt.Errorf("create the files directory (CM_FILES_DIR): %w", err)
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open the files directory (CM_FILES_DIR): %w", err)
	}
	return root, nil
}

// cleanPath checks a path relative to the files directory and returns it cleaned. With dirOK, the
// directory itself ("" or ".") is allowed.
func cleanPath(field, p string, dirOK bool) (string, error) {
	switch {
	case strings.IndexByte(p, 0) >= 0:
		return "", fmt.Errorf("%s: contains a NUL byte", field)
	case len(p) > maxPathLen:
		return "", fmt.Errorf("%s: longer than %d bytes", field, maxPathLen)
	case !utf8.ValidString(p):
		return "", fmt.Errorf("%s: not valid UTF-8", field)
	case strings.Contains(p, `\`):
		return "", fmt.Errorf("%s %q: separate directories with /, not \\", field, p)
	case strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("%s %q is absolute: paths are relative to the files directory (CM_FILES_DIR)", field, p)
	}
	for elem := range strings.SplitSeq(p, "/") {
		if elem == ".." {
			return "", fmt.Errorf("%s %q would leave the files directory: \"..\" is not allowed", field, p)
		}
	}
	clean := path.Clean("./" + p)
	if clean == "." && !dirOK {
		return "", fmt.Errorf("%s: name a file, such as reports/today.csv", field)
	}
	return clean, nil
}

// invalidPath is a permanent invalid_path error.
func invalidPath(err error) error {
	return node.Permanent(&node.Error{Code: CodeInvalidPath, Message: err.Error()})
}

// fsError turns an error from the root into a node failure naming p. Errors the nodes cannot classify
// (I/O errors) stay retryable.
func fsError(p string, err error) error {
	perm := func(code, format string, args ...any) error {
		return node.Permanent(node.Errorf(code, format, args...))
	}
	switch {
	case isEscape(err):
		return perm(CodeInvalidPath, "%s leads outside the files directory (through a symbolic link or ..)", p)
	case errors.Is(err, fs.ErrNotExist):
		return perm(CodeNotFound, "%s does not exist", p)
	case errors.Is(err, fs.ErrExist):
		return perm(CodeFileExists, "%s already exists", p)
	case errors.Is(err, syscall.ENOTDIR):
		return perm(CodeNotDirectory, "%s: a part of the path is a file, not a directory", p)
	case errors.Is(err, syscall.EISDIR):
		return perm(CodeIsDirectory, "%s is a directory", p)
	case errors.Is(err, syscall.ELOOP):
		return perm(CodeInvalidPath, "%s: too many symbolic links", p)
	case errors.Is(err, fs.ErrPermission):
		return perm(CodePermissionDenied, "%s: permission denied", p)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// Name the relative path only: the server's directory is not the workflow's business.
		return fmt.Errorf("%s %s: %w", pe.Op, p, pe.Err)
	}
	return fmt.Errorf("%s: %w", p, err)
}

// isEscape reports whether err is os.Root refusing a path that leaves it. The os package does not
// export that error, so it is recognised by its text.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// tooLarge is a permanent file_too_large error.
func tooLarge(format string, args ...any) error {
	return node.Permanent(node.Errorf(CodeFileTooLarge, format, args...))
}

// bytesText writes n for messages.
func bytesText(n int64) string { return budget.Bytes(n) }

// templated reports whether s holds an expression the engine evaluates before running the node.
func templated(s string) bool { return strings.Contains(s, "{{") }
