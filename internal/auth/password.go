package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id parameters of a password hash. They are stored in the hash (PHC string
// format) so that they can change: a hash made with other parameters than the current ones still
// verifies, and VerifyPassword reports it needs a rehash.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Iterations is the number of passes over the memory.
	Iterations uint32
	// Parallelism is the number of lanes.
	Parallelism uint8
	// SaltLength is the length of the random salt in bytes.
	SaltLength uint32
	// KeyLength is the length of the derived key in bytes.
	KeyLength uint32
}

// DefaultParams returns the parameters new hashes use: 32 MiB, 3 passes, 2 lanes, chosen so one hash
// takes 50–250 ms on the reference machine (BenchmarkHashPassword prints the figure). The memory cost
// bounds how many logins run at once per GiB of RAM (about 30); login is rate limited in front of it.
func DefaultParams() Params {
	return Params{Memory: 32 * 1024, Iterations: 3, Parallelism: 2, SaltLength: 16, KeyLength: 32}
}

// MaxPasswordLength bounds a password in bytes: longer ones are refused by HashPassword and
// CheckStrength and never verify.
const MaxPasswordLength = 1024

// Bounds on parameters read from a stored hash, so that a corrupt or planted hash cannot make a
// verification take unbounded memory or time.
const (
	maxMemory      = 1024 * 1024 // KiB: 1 GiB
	maxIterations  = 64
	minSaltLength  = 8
	maxSaltLength  = 64
	minKeyLength   = 16
	maxKeyLength   = 64
	maxHashEncoded = 512
)

// ErrPasswordTooLong reports a password longer than MaxPasswordLength.
var ErrPasswordTooLong = fmt.Errorf("password is too long: use at most %d bytes", MaxPasswordLength)

// ErrMalformedHash reports a stored hash that is not an argon2id PHC string within bounds.
var ErrMalformedHash = errors.New("malformed password hash")

// HashPassword hashes a password with argon2id and DefaultParams, returning a PHC string:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key> (unpadded standard base64).
func HashPassword(password string) (string, error) {
	return HashPasswordWith(DefaultParams(), password)
}

// HashPasswordWith hashes a password with the given parameters; see HashPassword.
func HashPasswordWith(p Params, password string) (string, error) {
	if len(password) > MaxPasswordLength {
		return "", ErrPasswordTooLong
	}
	if err := p.validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading random salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

func (p Params) validate() error {
	switch {
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemory:
		return fmt.Errorf("%w: memory %d KiB out of range", ErrMalformedHash, p.Memory)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("%w: %d iterations out of range", ErrMalformedHash, p.Iterations)
	case p.Parallelism < 1:
		return fmt.Errorf("%w: parallelism 0", ErrMalformedHash)
	case p.SaltLength < minSaltLength || p.SaltLength > maxSaltLength:
		return fmt.Errorf("%w: salt of %d bytes out of range", ErrMalformedHash, p.SaltLength)
	case p.KeyLength < minKeyLength || p.KeyLength > maxKeyLength:
		return fmt.Errorf("%w: key of %d bytes out of range", ErrMalformedHash, p.KeyLength)
	}
	return nil
}

// VerifyPassword checks a password against a hash made by HashPassword, comparing in constant time.
// ok tells whether it matches; needsRehash is true when it matches but the hash was made with other
// parameters than DefaultParams, so the caller should store a fresh HashPassword. err is non-nil only
// for a malformed hash (never for a wrong password).
func VerifyPassword(hash, password string) (ok, needsRehash bool, err error) {
	p, salt, key, err := parseHash(hash)
	if err != nil {
		return false, false, err
	}
	if len(password) > MaxPasswordLength {
		// Spend the same time as a real verification so a long password tells nothing.
		DummyVerify(password[:MaxPasswordLength])
		return false, false, nil
	}
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p != DefaultParams(), nil
}

// dummySalt is a fixed salt for DummyVerify: its result is thrown away, so it need not be secret.
const dummySalt = "concertmaster!!!"

// DummyVerify spends the time of a VerifyPassword with DefaultParams and reports nothing. Call it when
// the account is unknown, so that login takes the same time for an unknown e-mail as for a wrong
// password.
func DummyVerify(password string) {
	p := DefaultParams()
	if len(password) > MaxPasswordLength {
		password = password[:MaxPasswordLength]
	}
	key := argon2.IDKey([]byte(password), []byte(dummySalt), p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	// Compare like a real verification does, against a key that cannot match.
	_ = subtle.ConstantTimeCompare(key, make([]byte, len(key)))
}

// parseHash reads a PHC argon2id string, checking every field and bound.
func parseHash(hash string) (Params, []byte, []byte, error) {
	var p Params
	if len(hash) > maxHashEncoded {
		return p, nil, nil, fmt.Errorf("%w: too long", ErrMalformedHash)
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: want $argon2id$v=…$m=…,t=…,p=…$salt$key", ErrMalformedHash)
	}
	if parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm %q is not argon2id", ErrMalformedHash, parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, parts[2])
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return p, nil, nil, fmt.Errorf("%w: want m=…,t=…,p=…", ErrMalformedHash)
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(fields[i], name+"=")
		if !ok {
			return p, nil, nil, fmt.Errorf("%w: want m=…,t=…,p=…", ErrMalformedHash)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || strconv.FormatUint(n, 10) != v {
			return p, nil, nil, fmt.Errorf("%w: parameter %s is not a number", ErrMalformedHash, name)
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return p, nil, nil, fmt.Errorf("%w: parallelism %d out of range", ErrMalformedHash, vals[2])
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: salt is not base64", ErrMalformedHash)
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: key is not base64", ErrMalformedHash)
	}
	//nolint:gosec // vals were parsed as 32-bit numbers and parallelism checked ≤ 255 above; salt and key decode from a hash string far below 4 GiB, and validate bounds them next
	p = Params{
		Memory: uint32(vals[0]), Iterations: uint32(vals[1]), Parallelism: uint8(vals[2]),
		SaltLength: uint32(len(salt)), KeyLength: uint32(len(key)),
	}
	if err := p.validate(); err != nil {
		return p, nil, nil, err
	}
	return p, salt, key, nil
}
