// Package secret loads the server secret, the 32 random bytes every other key of ConcertMaster is
// derived from (ADR 0013): the JWT signing key, and later the credentials' encryption key, each through
// HKDF-SHA256 with its own info string.
//
// The secret comes from a base64 value (what CM_SECRET_KEY holds) or, when that is empty, from
// <data dir>/secret.key, which is created with mode 0600 on first use. Processes that share a database
// must share the secret, through the environment.
package secret

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Size is the length of the server secret in bytes.
const Size = 32

// FileName is the name of the secret file inside the data directory.
const FileName = "secret.key"

// EnvVar is the environment variable that holds the secret, base64-encoded. It is named in error
// messages; reading it is the caller's job.
const EnvVar = "CM_SECRET_KEY"

// maxFileSize bounds what is read from the secret file: a base64 secret and a newline are 45 bytes.
const maxFileSize = 1024

// ErrMalformed reports a secret value that is not the base64 encoding of exactly Size bytes.
var ErrMalformed = errors.New("malformed secret: want the base64 encoding of 32 bytes")

// ErrInsecureFile reports a secret file that group or others may read or write.
var ErrInsecureFile = errors.New("secret file is accessible by group or others")

// Secret is the server secret. Its String and LogValue never show the bytes.
type Secret struct {
	key    [Size]byte
	source string
}

// Parse decodes a base64 secret (standard or URL alphabet, with or without padding; surrounding white
// space is ignored). The error never contains the value.
func Parse(value string) (*Secret, error) {
	raw, err := decode(strings.TrimSpace(value))
	if err != nil {
		return nil, err
	}
	s := &Secret{source: "value"}
	copy(s.key[:], raw)
	return s, nil
}

func decode(v string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		raw, err := enc.Strict().DecodeString(v)
		if err == nil && len(raw) == Size {
			return raw, nil
		}
		if err == nil {
			return nil, fmt.Errorf("%w (it decodes to %d bytes)", ErrMalformed, len(raw))
		}
	}
	return nil, ErrMalformed
}

// Generate returns a new random secret encoded as Load and Parse expect it (standard base64, padded),
// e.g. for an operator to put in CM_SECRET_KEY.
func Generate() (string, error) {
	var b [Size]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// Load returns the server secret: decoded from value when it is not empty (typically the content of
// CM_SECRET_KEY), otherwise read from <dataDir>/secret.key. When that file does not exist it is created
// atomically with mode 0600 (and dataDir with 0700 if missing), and the creation is logged at WARN level
// with its path, since losing the file signs everybody out. A file that group or others can access is
// refused with an error naming the chmod to run; a malformed value or file content is an error that
// never contains the secret itself. logger may be nil.
func Load(value, dataDir string, logger *slog.Logger) (*Secret, error) {
	if strings.TrimSpace(value) != "" {
		s, err := Parse(value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvVar, err)
		}
		s.source = EnvVar
		return s, nil
	}
	if dataDir == "" {
		return nil, fmt.Errorf("no secret: set %s or a data directory to keep %s in", EnvVar, FileName)
	}
	path := filepath.Join(dataDir, FileName)
	s, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		var created bool
		s, created, err = createFile(dataDir, path)
		if err == nil && created && logger != nil {
			logger.Warn("created a new server secret: keep this file (losing it signs everybody out and makes every stored credential unreadable) or set "+EnvVar+" instead",
				slog.String("path", path))
		}
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// readFile reads and checks an existing secret file.
func readFile(path string) (*Secret, error) {
	f, err := os.Open(path) // #nosec G304 -- the path is the operator's data directory
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("secret file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; run: chmod 600 %s", ErrInsecureFile, path, perm, path)
	}
	content, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading secret file: %w", err)
	}
	if len(content) > maxFileSize {
		return nil, fmt.Errorf("secret file %s: %w", path, ErrMalformed)
	}
	raw, err := decode(string(bytes.TrimSpace(content)))
	if err != nil {
		return nil, fmt.Errorf("secret file %s: %w", path, err)
	}
	s := &Secret{source: path}
	copy(s.key[:], raw)
	return s, nil
}

// createFile writes a new secret to a temporary file and links it into place, so that a reader never
// sees a partial file and two processes starting together agree on one secret: the one whose link
// fails reads the winner's file. It reports whether this call created the file.
func createFile(dataDir, path string) (*Secret, bool, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("creating data directory for the secret: %w", err)
	}
	encoded, err := Generate()
	if err != nil {
		return nil, false, err
	}
	tmp, err := os.CreateTemp(dataDir, ".secret.key.*")
	if err != nil {
		return nil, false, fmt.Errorf("creating secret file: %w", err)
	}
	tmpName := tmp.Name()
	defer func() { _ = os.Remove(tmpName) }() // the link below keeps the content under its real name
	// CreateTemp already uses 0600; Chmod makes it independent of that detail.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("creating secret file: %w", err)
	}
	if _, err := tmp.WriteString(encoded + "\n"); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("writing secret file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("writing secret file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("writing secret file: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			s, err := readFile(path)
			return s, false, err
		}
		return nil, false, fmt.Errorf("creating secret file: %w", err)
	}
	syncDir(dataDir)
	s, err := readFile(path)
	return s, err == nil, err
}

// syncDir makes the new directory entry durable; failing to is not fatal (the file is already written).
func syncDir(dir string) {
	d, err := os.Open(dir) // #nosec G304 -- the operator's data directory
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// Derive returns a 32-byte key for one purpose, derived from the secret with HKDF-SHA256 (no salt) and
// info naming that purpose, e.g. "concertmaster jwt v1". Different infos give independent keys.
func (s *Secret) Derive(info string) []byte {
	key, err := hkdf.Key(sha256.New, s.key[:], nil, info, Size)
	if err != nil {
		// hkdf.Key fails only for lengths above 255 hash sizes or in FIPS mode with short keys;
		// neither applies to a 32-byte output from a 32-byte secret.
		panic(fmt.Sprintf("secret: deriving a key: %v", err))
	}
	return key
}

// Source tells where the secret came from: EnvVar, the secret file's path, or "value" for Parse.
func (s *Secret) Source() string { return s.source }

// String redacts the secret so that printing it by mistake leaks nothing.
func (s *Secret) String() string { return "secret(" + s.source + ", redacted)" }

// LogValue redacts the secret in structured logs.
func (s *Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
