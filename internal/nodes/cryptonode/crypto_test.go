package cryptonode_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/cryptonode"
)

func instantiate(t testing.TB, config map[string]any) (node.Node, error) {
	t.Helper()
	r := node.NewRegistry()
	r.MustRegister(cryptonode.All()...)
	nt, ok := r.Lookup("data.crypto")
	require.True(t, ok)
	return nt.Instantiate(config, false)
}

func run(t testing.TB, config map[string]any, in *node.Input) (any, error) {
	t.Helper()
	n, err := instantiate(t, config)
	require.NoError(t, err)
	out, err := n.Execute(context.Background(), in)
	if err != nil {
		return nil, err
	}
	require.Equal(t, "out", out.Port)
	return out.Value, nil
}

func TestCrypto(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		input  any
		want   string
	}{
		{name: "HashDefaultSHA256", config: map[string]any{"operation": "hash"}, input: "hello", want: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
		{name: "HashEmpty", config: map[string]any{"operation": "hash", "value": ""}, input: "ignored", want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{name: "HashHexValue", config: map[string]any{"operation": "hash", "algorithm": "sha1", "valueEncoding": "hex"}, input: "68656c6c6f", want: "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"},
		{name: "HashJSONValueSortedKeys", config: map[string]any{"operation": "hash", "algorithm": "md5"}, input: map[string]any{"b": []any{true}, "a": 1.0},
			want: "75e3dfe1b4ef353fab4cea1525266bcf"},
		{name: "HashMD5Base64", config: map[string]any{"operation": "hash", "algorithm": "md5", "value": "hello", "encoding": "base64"}, input: nil, want: "XUFAKrxLKna5cZ2REBfFkg=="},
		{name: "HashSHA384", config: map[string]any{"operation": "hash", "algorithm": "sha384"}, input: "hello",
			want: "59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f"},
		{name: "HashSHA512Base64URL", config: map[string]any{"operation": "hash", "algorithm": "sha512", "encoding": "base64url", "valueEncoding": "base64"}, input: "aGVsbG8",
			want: "m3HSJL1i83hdltRq0-o9czGb-8KJDKra4t_3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw"},
		{name: "HMACSHA256", config: map[string]any{"operation": "hmac", "key": "secret"}, input: "hello", want: "88aab3ede8d3adf94d26ab90d3bafd4a2083070c3bcce9c014ee04a443847c0b"},
		{name: "HMACSHA512HexKey", config: map[string]any{"operation": "hmac", "algorithm": "sha512", "key": "736563726574", "keyEncoding": "hex", "encoding": "base64"}, input: "hello",
			want: "2xWVroimL9FR7By6gbmMOd+C2q57TLmCD0RtW/AvHc/KZoPYjKs+Jz9ZY6uOxGmnRrWxkIY3Ejn2fR5fmaeUQA=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := run(t, tt.config, &node.Input{Data: tt.input})
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCryptoRandomAndUUID(t *testing.T) {
	t.Parallel()
	a, err := run(t, map[string]any{"operation": "random"}, &node.Input{})
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{64}$`), a)
	b, err := run(t, map[string]any{"operation": "random"}, &node.Input{})
	require.NoError(t, err)
	require.NotEqual(t, a, b)

	c, err := run(t, map[string]any{"operation": "random", "bytes": 1024, "encoding": "base64url"}, &node.Input{})
	require.NoError(t, err)
	require.Len(t, c, 1366)

	v4, err := run(t, map[string]any{"operation": "uuid"}, &node.Input{})
	require.NoError(t, err)
	require.Equal(t, uuid.Version(4), uuid.MustParse(v4.(string)).Version())

	first, err := run(t, map[string]any{"operation": "uuid", "version": 7}, &node.Input{})
	require.NoError(t, err)
	second, err := run(t, map[string]any{"operation": "uuid", "version": 7}, &node.Input{})
	require.NoError(t, err)
	require.Equal(t, uuid.Version(7), uuid.MustParse(first.(string)).Version())
	require.Less(t, first.(string), second.(string), "v7 sorts by creation")
}

func TestCryptoBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{name: "BytesTooMany", config: map[string]any{"operation": "random", "bytes": 1025}, want: "config/bytes: maximum: got 1,025, want 1,024"},
		{name: "BytesWithHash", config: map[string]any{"operation": "hash", "bytes": 8}, want: "bytes: only for random"},
		{name: "HMACBadHexKey", config: map[string]any{"operation": "hmac", "key": "xyz", "keyEncoding": "hex"}, want: "key: not valid hex"},
		{name: "HMACMD5", config: map[string]any{"operation": "hmac", "key": "k", "algorithm": "md5"}, want: "algorithm: hmac takes sha1, sha256, sha384 or sha512"},
		{name: "HMACNoKey", config: map[string]any{"operation": "hmac"}, want: "key: hmac needs a key"},
		{name: "HashWithKey", config: map[string]any{"operation": "hash", "key": "k"}, want: "key: only for hmac"},
		{name: "UnknownAlgorithm", config: map[string]any{"operation": "hash", "algorithm": "sha3"}, want: "config/algorithm: value must be one of"},
		{name: "UUIDVersion5", config: map[string]any{"operation": "uuid", "version": 5}, want: "config/version: value must be one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := instantiate(t, tt.config)
			require.ErrorContains(t, err, tt.want)
		})
	}
	// The key is a secret: writeOnly in the schema, never echoed in errors.
	require.Contains(t, string((&cryptonode.Crypto{}).NodeInfo().Schema), `"writeOnly": true`)
	_, err := instantiate(t, map[string]any{"operation": "hmac", "key": "s3cr3t-not-hex", "keyEncoding": "hex"})
	require.NotContains(t, err.Error(), "s3cr3t")
}

func TestCryptoBadInput(t *testing.T) {
	t.Parallel()
	_, err := run(t, map[string]any{"operation": "hash", "valueEncoding": "base64"}, &node.Input{Data: "not base64!"})
	var ne *node.Error
	require.True(t, errors.As(err, &ne))
	require.Equal(t, "invalid_input", ne.Code)
	require.Equal(t, "value: not valid base64", ne.Message)
	require.True(t, node.IsPermanent(err))
}

func TestCryptoHostile(t *testing.T) {
	t.Parallel()
	// A value whose JSON is huge (one array shared a thousand times) is refused before it is encoded.
	row := []any{strings.Repeat("x", 10000)}
	big := make([]any, 1000)
	for i := range big {
		big[i] = row
	}
	_, err := run(t, map[string]any{"operation": "hash"}, &node.Input{Data: big, Limits: node.Limits{MaxOutputBytes: 1 << 20}})
	var ne *node.Error
	require.True(t, errors.As(err, &ne))
	require.Equal(t, "invalid_input", ne.Code)
	require.Contains(t, ne.Message, "over the 1048576-byte limit")

	mem := budget.NewMemory(1 << 20)
	_, err = run(t, map[string]any{"operation": "hash"}, &node.Input{Data: big, Limits: node.Limits{MaxOutputBytes: 64 << 20, Memory: mem.Open()}})
	require.ErrorIs(t, err, budget.ErrExceeded)

	_, err = run(t, map[string]any{"operation": "hash"}, &node.Input{Data: strings.Repeat("x", 2048), Limits: node.Limits{MaxOutputBytes: 1024}})
	require.ErrorContains(t, err, "the value is 2048 bytes, over the 1024-byte limit")
}

func TestDocsSections(t *testing.T) {
	t.Parallel()
	info := (&cryptonode.Crypto{}).NodeInfo()
	for _, section := range []string{"## Configuration", "## Output", "## Limits", "## Errors", "## Example"} {
		require.Contains(t, info.Docs, section)
	}
}
