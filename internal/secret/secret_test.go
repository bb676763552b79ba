package secret

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func testLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, nil))
}

func TestLoadCreatesFileOnFirstUseAndReusesIt(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	var logs bytes.Buffer

	first, err := Load("", dir, testLogger(&logs))
	require.NoError(t, err)
	path := filepath.Join(dir, FileName)
	require.Equal(t, path, first.Source())
	require.Contains(t, logs.String(), "level=WARN")
	require.Contains(t, logs.String(), path)

	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	dirInfo, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), dirInfo.Mode().Perm())
	content, err := os.ReadFile(path)
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(content)))
	require.NoError(t, err)
	require.Len(t, raw, Size)

	logs.Reset()
	second, err := Load("", dir, testLogger(&logs))
	require.NoError(t, err)
	require.Equal(t, first.Derive("x"), second.Derive("x"))
	require.Empty(t, logs.String(), "reusing the file logs nothing")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")
}

func TestLoadConcurrentFirstUseAgreesOnOneSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := Load("", dir, nil)
			if err == nil {
				keys[i] = s.Derive("x")
			}
		})
	}
	wg.Wait()
	for i := range n {
		require.NotNil(t, keys[i])
		require.Equal(t, keys[0], keys[i])
	}
}

func TestLoadValueWinsOverFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	value, err := Generate()
	require.NoError(t, err)

	s, err := Load(value, dir, nil)
	require.NoError(t, err)
	require.Equal(t, EnvVar, s.Source())
	_, err = os.Stat(filepath.Join(dir, FileName))
	require.ErrorIs(t, err, os.ErrNotExist, "a value in the environment creates no file")

	raw, err := base64.StdEncoding.DecodeString(value)
	require.NoError(t, err)
	for _, v := range []string{
		base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
		"  " + value + "\n",
	} {
		other, err := Load(v, "", nil)
		require.NoError(t, err, v)
		require.Equal(t, s.Derive("x"), other.Derive("x"))
	}
}

func TestLoadMalformedValue(t *testing.T) {
	t.Parallel()
	short := base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!"))
	for _, v := range []string{"not base64 at all!", short, short + short + "AAAA", "QUJD=x"} {
		_, err := Load(v, t.TempDir(), nil)
		require.ErrorIs(t, err, ErrMalformed, v)
		require.Contains(t, err.Error(), EnvVar)
		require.NotContains(t, err.Error(), v, "the error never repeats the value")
	}
	_, err := Load(short, "", nil)
	require.ErrorContains(t, err, "decodes to 16 bytes")
}

func TestLoadMalformedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	require.NoError(t, os.WriteFile(path, []byte("garbage\n"), 0o600))
	_, err := Load("", dir, nil)
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorContains(t, err, path)

	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte("A"), 4096), 0o600))
	_, err = Load("", dir, nil)
	require.ErrorIs(t, err, ErrMalformed)
}

func TestLoadRefusesFileReadableByOthers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := Load("", dir, nil)
	require.NoError(t, err)
	path := filepath.Join(dir, FileName)

	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		require.NoError(t, os.Chmod(path, mode))
		_, err = Load("", dir, nil)
		require.ErrorIs(t, err, ErrInsecureFile, "mode %04o", mode)
		require.ErrorContains(t, err, "chmod 600 "+path)
	}
	require.NoError(t, os.Chmod(path, 0o400))
	_, err = Load("", dir, nil)
	require.NoError(t, err, "read-only for the owner is fine")
}

func TestLoadNeedsValueOrDataDir(t *testing.T) {
	t.Parallel()
	_, err := Load("", "", nil)
	require.ErrorContains(t, err, EnvVar)
}

func TestDerive(t *testing.T) {
	t.Parallel()
	s, err := Load("", t.TempDir(), nil)
	require.NoError(t, err)
	a := s.Derive("concertmaster jwt v1")
	b := s.Derive("concertmaster credentials v1")
	require.Len(t, a, Size)
	require.Len(t, b, Size)
	require.NotEqual(t, a, b, "two infos give different keys")
	require.Equal(t, a, s.Derive("concertmaster jwt v1"), "derivation is deterministic")

	other, err := Load("", t.TempDir(), nil)
	require.NoError(t, err)
	require.NotEqual(t, a, other.Derive("concertmaster jwt v1"), "two secrets give different keys")
}

func TestDeriveMatchesHKDFByHand(t *testing.T) {
	t.Parallel()
	// HKDF-SHA256 (RFC 5869) written out with HMAC: extract with an all-zero salt (no salt), then one
	// expand block, which is all a 32-byte output needs. Pins the hash, the salt and the info.
	key := bytes.Repeat([]byte{7}, Size)
	s, err := Parse(base64.StdEncoding.EncodeToString(key))
	require.NoError(t, err)
	require.Equal(t, "value", s.Source())

	extract := hmac.New(sha256.New, make([]byte, sha256.Size))
	extract.Write(key)
	prk := extract.Sum(nil)
	expand := hmac.New(sha256.New, prk)
	expand.Write([]byte("concertmaster jwt v1"))
	expand.Write([]byte{1})
	require.Equal(t, expand.Sum(nil), s.Derive("concertmaster jwt v1"))
}

func TestSecretIsRedactedWhenPrinted(t *testing.T) {
	t.Parallel()
	value, err := Generate()
	require.NoError(t, err)
	s, err := Load(value, "", nil)
	require.NoError(t, err)
	var logs bytes.Buffer
	testLogger(&logs).Info("loaded", slog.Any("secret", s))
	require.NotContains(t, logs.String(), value)
	require.Contains(t, logs.String(), "redacted")
	require.NotContains(t, s.String(), value)
}
