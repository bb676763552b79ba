package auth

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"
)

// MinPasswordLength is the minimum length of a password in characters (Unicode code points).
const MinPasswordLength = 10

// MinPasswordScore is the minimum zxcvbn score (0–4) a password needs.
const MinPasswordScore = 3

// zxcvbnMaxRunes bounds what zxcvbn sees: its matching grows about as the cube of the length.
// Measured here (2 shared cores) on the slowest inputs tried: 64 characters 3–13 ms, 128 25–85 ms, 256
// 0.2–0.75 s, 512 2–4 s, 1 KiB 13–48 s. A password is at least as strong as its first 64 characters,
// and 64 characters without guessable patterns score 4 by far.
const zxcvbnMaxRunes = 64

// maxUserInput bounds each user input (e-mail, name) given to zxcvbn, in bytes.
const maxUserInput = 256

// ErrWeakPassword is matched (errors.Is) by every refusal of CheckStrength.
var ErrWeakPassword = errors.New("weak password")

// WeakPasswordError is a refusal of CheckStrength; its message says why in plain words, fit to show
// the user.
type WeakPasswordError struct {
	// Reason is the plain-words explanation, e.g. "password is too short: use at least 10 characters".
	Reason string
}

// Error returns the reason.
func (e *WeakPasswordError) Error() string { return e.Reason }

// Is makes errors.Is(err, ErrWeakPassword) true.
func (e *WeakPasswordError) Is(target error) bool { return target == ErrWeakPassword }

// CheckStrength refuses a password that is shorter than MinPasswordLength characters, longer than
// MaxPasswordLength bytes, not valid UTF-8, or whose zxcvbn score is below MinPasswordScore. userInputs
// (typically the e-mail address and the name) count as guessable words. The error is a
// *WeakPasswordError naming the reason.
func CheckStrength(password string, userInputs ...string) error {
	switch {
	case len(password) > MaxPasswordLength:
		return &WeakPasswordError{Reason: ErrPasswordTooLong.Error()}
	case !utf8.ValidString(password):
		return &WeakPasswordError{Reason: "password contains invalid characters (it is not valid UTF-8)"}
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return &WeakPasswordError{Reason: fmt.Sprintf("password is too short: use at least %d characters", MinPasswordLength)}
	}
	inputs := make([]string, 0, len(userInputs)*2)
	for _, in := range userInputs {
		in = strings.ToLower(truncate(in, maxUserInput))
		if in == "" {
			continue
		}
		inputs = append(inputs, in)
		// The local part of an e-mail address is a likely word on its own.
		if local, _, ok := strings.Cut(in, "@"); ok && local != "" {
			inputs = append(inputs, local)
		}
	}
	res := zxcvbn.PasswordStrength(truncateRunes(password, zxcvbnMaxRunes), inputs)
	if res.Score >= MinPasswordScore {
		return nil
	}
	return &WeakPasswordError{Reason: fmt.Sprintf("password is too easy to guess%s: add a few uncommon words or more characters",
		weakness(res.Sequence))}
}

// weakness names the first guessable pattern zxcvbn found, as a clause starting with a space.
func weakness(seq []*match.Match) string {
	for _, m := range seq {
		switch m.Pattern {
		case "dictionary":
			if m.DictionaryName == "user_inputs" {
				return " (it contains your e-mail address or name)"
			}
			if m.DictionaryName == "passwords" {
				return " (it contains a commonly used password)"
			}
			return " (it contains a common word or name)"
		case "spatial":
			return " (it contains a keyboard pattern)"
		case "repeat":
			return " (it contains repeated characters)"
		case "sequence":
			return " (it contains a sequence such as abc or 123)"
		case "date":
			return " (it contains a date)"
		}
	}
	return ""
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// truncateRunes cuts s to at most n code points.
func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
