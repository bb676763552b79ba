// Package cryptonode implements the data.crypto node type: hashes (MD5, SHA-1, SHA-2), HMACs,
// random bytes and UUIDs (versions 4 and 7).
package cryptonode

import (
	"context"
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // MD5 and SHA-1 checksums are offered for interoperability (ETags, legacy APIs), not for security
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // see crypto/md5
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/google/uuid"

	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/meter"
)

// All returns one prototype of every node type in this package, ready to register.
func All() []node.Node {
	return []node.Node{&Crypto{}}
}

// Operations.
const (
	opHash   = "hash"
	opHMAC   = "hmac"
	opRandom = "random"
	opUUID   = "uuid"
)

// Encodings.
const (
	encHex       = "hex"
	encBase64    = "base64"
	encBase64URL = "base64url"
	encUTF8      = "utf8"
)

// Limits.
const (
	// MaxRandomBytes is the most random bytes one node makes.
	MaxRandomBytes = 1024
	// defaultRandomBytes is what random makes when bytes is not set.
	defaultRandomBytes = 32
	// maxValueBytes bounds what is hashed when the attempt has no output cap.
	maxValueBytes = 64 << 20
)

// Codes of the *node.Error values Execute returns.
const (
	// CodeInvalidInput is a value that cannot be decoded with valueEncoding, or one too large to hash.
	CodeInvalidInput = "invalid_input"
)

// Crypto is a data.crypto node.
type Crypto struct {
	// Operation is hash, hmac, random or uuid.
	Operation string `json:"operation"`
	// Value is what hash and hmac digest; nil means the input.
	Value any `json:"value,omitempty"`
	// ValueEncoding says how a string value becomes bytes: utf8 (default), base64 or hex.
	ValueEncoding string `json:"valueEncoding,omitempty"`
	// Algorithm is the hash function; empty means sha256.
	Algorithm string `json:"algorithm,omitempty"`
	// Key is the HMAC key.
	Key string `json:"key,omitempty"`
	// KeyEncoding says how the key becomes bytes: utf8 (default), base64 or hex.
	KeyEncoding string `json:"keyEncoding,omitempty"`
	// Encoding is how digests and random bytes are written: hex (default), base64 or base64url.
	Encoding string `json:"encoding,omitempty"`
	// Bytes is how many random bytes to make; zero means 32.
	Bytes int `json:"bytes,omitempty"`
	// Version is the UUID version, 4 (default) or 7.
	Version int `json:"version,omitempty"`
}

// NodeInfo describes data.crypto.
func (*Crypto) NodeInfo() node.Info {
	return node.Info{
		Type: "data.crypto", Pure: true, Title: "Crypto", Category: "Data", Icon: "fingerprint",
		Description: "Computes a hash (MD5, SHA-1, SHA-256/384/512) or an HMAC of a value, or makes random bytes or a UUID (v4 or v7).",
		Docs:        cryptoDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Output"}},
		Schema: json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["operation"],
  "properties": {
    "operation": {"type": "string", "enum": ["hash", "hmac", "random", "uuid"], "title": "Operation", "description": "hash or hmac a value, make random bytes, or make a UUID", "default": "hash"},
    "value": {"title": "Value", "description": "hash and hmac: what to digest; a string is digested as its bytes (see valueEncoding), anything else as its JSON; default: the input", "examples": ["{{ input.body }}"], "x-cm-expression": true},
    "valueEncoding": {"type": "string", "enum": ["utf8", "base64", "hex"], "title": "Value encoding", "description": "How a string value becomes bytes: utf8 (the text itself), or base64 / hex to digest binary data", "default": "utf8"},
    "algorithm": {"type": "string", "enum": ["md5", "sha1", "sha256", "sha384", "sha512"], "title": "Algorithm", "description": "The hash function (hmac: sha1, sha256, sha384 or sha512). MD5 and SHA-1 are for checksums and legacy systems only", "default": "sha256"},
    "key": {"type": "string", "title": "HMAC key", "description": "hmac: the secret key. It is stored in the workflow until credentials are available; prefer an expression that reads it from vars", "writeOnly": true, "minLength": 1, "maxLength": 4096},
    "keyEncoding": {"type": "string", "enum": ["utf8", "base64", "hex"], "title": "Key encoding", "description": "How the key becomes bytes: utf8, or base64 / hex for binary keys", "default": "utf8"},
    "encoding": {"type": "string", "enum": ["hex", "base64", "base64url"], "title": "Output encoding", "description": "How digests and random bytes are written: hex (lower case), base64 (standard, padded) or base64url (URL-safe, unpadded)", "default": "hex"},
    "bytes": {"type": "integer", "title": "Bytes", "description": "random: how many random bytes to make", "minimum": 1, "maximum": 1024, "default": 32},
    "version": {"type": "integer", "enum": [4, 7], "title": "UUID version", "description": "uuid: 4 (random) or 7 (time-ordered, sorts by creation time)", "default": 4}
  }
}`),
		New: func() node.Node { return &Crypto{} },
	}
}

// Validate checks that each operation has what it needs and nothing it ignores.
func (c *Crypto) Validate() error {
	var errs []error
	switch c.Operation {
	case opHMAC:
		if c.Key == "" {
			errs = append(errs, errors.New("key: hmac needs a key"))
		} else if !strings.Contains(c.Key, "{{") {
			if _, err := decode(c.Key, c.KeyEncoding); err != nil {
				errs = append(errs, fmt.Errorf("key: %w", err))
			}
		}
		if c.Algorithm == "md5" {
			errs = append(errs, errors.New("algorithm: hmac takes sha1, sha256, sha384 or sha512"))
		}
	case opHash:
		if c.Key != "" {
			errs = append(errs, errors.New("key: only for hmac; hash takes no key"))
		}
	}
	if c.Operation != opRandom && c.Bytes != 0 {
		errs = append(errs, errors.New("bytes: only for random"))
	}
	if c.Operation != opUUID && c.Version != 0 {
		errs = append(errs, errors.New("version: only for uuid"))
	}
	return errors.Join(errs...)
}

// Execute runs the operation.
func (c *Crypto) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	if err := c.Validate(); err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: "invalid_config", Message: err.Error()})
	}
	switch c.Operation {
	case opUUID:
		var id uuid.UUID
		var err error
		if c.Version == 7 {
			id, err = uuid.NewV7()
		} else {
			id, err = uuid.NewRandom()
		}
		if err != nil {
			return node.Output{}, fmt.Errorf("make a UUID: %w", err)
		}
		return node.Out(id.String()), nil
	case opRandom:
		n := c.Bytes
		if n == 0 {
			n = defaultRandomBytes
		}
		b := make([]byte, min(n, MaxRandomBytes))
		if _, err := rand.Read(b); err != nil {
			return node.Output{}, fmt.Errorf("read random bytes: %w", err)
		}
		return node.Out(encode(b, c.Encoding)), nil
	}
	src := c.Value
	if src == nil {
		src = in.Data
	}
	data, err := c.bytes(src, in.Limits)
	if err != nil {
		return node.Output{}, err
	}
	var h hash.Hash
	if c.Operation == opHMAC {
		key, err := decode(c.Key, c.KeyEncoding)
		if err != nil {
			return node.Output{}, node.Permanent(&node.Error{Code: "invalid_config", Message: "key: " + err.Error()})
		}
		h = hmac.New(hashFunc(c.Algorithm), key)
	} else {
		h = hashFunc(c.Algorithm)()
	}
	h.Write(data)
	return node.Out(encode(h.Sum(nil), c.Encoding)), nil
}

// bytes returns what to digest: a string decoded with valueEncoding, anything else as JSON.
func (c *Crypto) bytes(v any, limits node.Limits) ([]byte, error) {
	limit := int64(maxValueBytes)
	if limits.MaxOutputBytes > 0 {
		limit = limits.MaxOutputBytes
	}
	if s, ok := v.(string); ok {
		if int64(len(s)) > limit {
			return nil, node.Permanent(node.Errorf(CodeInvalidInput, "the value is %d bytes, over the %d-byte limit", len(s), limit))
		}
		b, err := decode(s, c.ValueEncoding)
		if err != nil {
			return nil, node.Permanent(node.Errorf(CodeInvalidInput, "value: %v", err))
		}
		return b, nil
	}
	size, ok := expression.SizeAtMost(v, limit)
	if !ok {
		return nil, node.Permanent(node.Errorf(CodeInvalidInput, "the value's JSON is over the %d-byte limit", limit))
	}
	if err := meter.New(limits, "the value's JSON").Reserve(size); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, node.Permanent(node.Errorf(CodeInvalidInput, "the value cannot be written as JSON: %v", err))
	}
	return b, nil
}

// decode turns s into bytes: utf8 (or empty) as is, base64 (standard or URL-safe, padded or not) or
// hex.
func decode(s, encoding string) ([]byte, error) {
	switch encoding {
	case encBase64:
		t := strings.TrimRight(s, "=")
		if b, err := base64.RawStdEncoding.DecodeString(t); err == nil {
			return b, nil
		}
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return nil, errors.New("not valid base64")
		}
		return b, nil
	case encHex:
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, errors.New("not valid hex")
		}
		return b, nil
	}
	return []byte(s), nil
}

func encode(b []byte, encoding string) string {
	switch encoding {
	case encBase64:
		return base64.StdEncoding.EncodeToString(b)
	case encBase64URL:
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return hex.EncodeToString(b)
}

func hashFunc(algorithm string) func() hash.Hash {
	switch algorithm {
	case "md5":
		return md5.New
	case "sha1":
		return sha1.New
	case "sha384":
		return sha512.New384
	case "sha512":
		return sha512.New
	}
	return sha256.New
}

var (
	_ node.Node      = (*Crypto)(nil)
	_ node.Validator = (*Crypto)(nil)
)

const cryptoDocs = "Hashes and HMACs of values, random bytes and UUIDs, with Go's standard library and google/uuid.\n\n" +
	"## Configuration\n\n" +
	"- `operation`: `hash`, `hmac`, `random` or `uuid`.\n" +
	"- `value` (hash, hmac): what to digest; without it, the input. A string is digested as its bytes: its UTF-8 " +
	"text, or with `valueEncoding: base64` / `hex` the binary data it encodes. Any other value (object, array, " +
	"number, boolean, null) is digested as its compact JSON, object keys sorted (`{\"a\":1,\"b\":[true]}`), so that " +
	"the same value always gives the same digest.\n" +
	"- `algorithm` (default `sha256`): `md5`, `sha1`, `sha256`, `sha384` or `sha512`; HMAC takes all but `md5`. " +
	"MD5 and SHA-1 are broken for security: use them only for checksums and systems that require them.\n" +
	"- `key` (hmac): the secret key, read as UTF-8 text, or with `keyEncoding: base64` / `hex` as binary. **Until " +
	"the credential vault exists, the key is stored in the workflow** like any other configuration (the editor " +
	"does not show it back, but anyone who can read the workflow through the API can): prefer `{{ vars.… }}`.\n" +
	"- `encoding` (default `hex`): how digests and random bytes are written: `hex` (lower case), `base64` " +
	"(standard, padded) or `base64url` (URL-safe, unpadded).\n" +
	"- `bytes` (random, default 32): how many random bytes, 1 to 1024, from the operating system's secure generator.\n" +
	"- `version` (uuid, default 4): `4` (random) or `7` (time-ordered: sorts by creation time, good for database keys).\n\n" +
	"## Output\n\n" +
	"A string: the encoded digest, the encoded random bytes, or the UUID in its canonical form " +
	"(`0190c1c4-7b1e-7c3a-9f5e-2d1b8f0a4c6e`).\n\n" +
	"## Limits\n\n" +
	"The value digested is at most `CM_MAX_OUTPUT_BYTES` (as text, or as JSON for other values); the JSON of a " +
	"non-string value is charged to the execution's memory budget before it is built. Random bytes: at most 1024.\n\n" +
	"## Errors\n\n" +
	"- `invalid_input`: a value that is not valid base64 or hex with that `valueEncoding`, or a value over the size limit.\n" +
	"- `invalid_config`: hmac without a key or with `md5`, a key that is not valid base64 or hex with that " +
	"`keyEncoding`, an option that the operation does not take (`bytes: only for random`).\n" +
	"- `budget_exceeded`: the JSON of the value does not fit in the execution's memory budget.\n\n" +
	"## Example\n\n" +
	"Sign a webhook body as many providers do:\n\n" +
	"```json\n{\"operation\": \"hmac\", \"algorithm\": \"sha256\", \"key\": \"{{ vars.webhookSecret }}\", \"value\": \"{{ input.rawBody }}\"}\n```\n\n" +
	"With the key `secret` and the value `hello` the output is " +
	"`\"88aab3ede8d3adf94d26ab90d3bafd4a2083070c3bcce9c014ee04a443847c0b\"`.\n\n" +
	"```json\n{\"operation\": \"hash\", \"algorithm\": \"md5\", \"value\": \"hello\", \"encoding\": \"base64\"}\n```\n\n" +
	"outputs `\"XUFAKrxLKna5cZ2REBfFkg==\"`.\n"
