package credential

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Redacted replaces a secret value found where it must not be.
const Redacted = "[redacted]"

// MinSecretLen is the shortest value a Redactor removes: shorter ones (a one-letter password) would
// mangle every text they occur in by chance and reveal nothing a guess would not.
const MinSecretLen = 4

// Redactor removes secret values, and the usual encodings of them (URL, JSON and base64), from
// strings and JSON values. It is safe for concurrent use; the zero value is ready and redacts nothing.
type Redactor struct {
	mu       sync.Mutex
	secrets  []string
	replacer *strings.Replacer
}

// Add registers values to remove. Values shorter than MinSecretLen are ignored.
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, v := range values {
		if len(v) < MinSecretLen {
			continue
		}
		for _, variant := range variants(v) {
			if len(variant) >= MinSecretLen && !slices.Contains(r.secrets, variant) {
				r.secrets = append(r.secrets, variant)
				changed = true
			}
		}
	}
	if !changed {
		return
	}
	// Longest first, so that a secret that contains another is replaced whole.
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, s := range r.secrets {
		pairs = append(pairs, s, Redacted)
	}
	r.replacer = strings.NewReplacer(pairs...)
}

// variants returns v and its encodings a server or a node may echo back.
func variants(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v),
		base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v))}
	if b, err := json.Marshal(v); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	return out
}

// Empty reports whether nothing is registered.
func (r *Redactor) Empty() bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.replacer == nil
}

func (r *Redactor) current() *strings.Replacer {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.replacer
}

// String returns s with every registered secret replaced by Redacted.
func (r *Redactor) String(s string) string {
	rep := r.current()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// Value returns v, a JSON-like value (maps, slices, strings, numbers…), with every registered secret
// replaced in its strings and map keys. Parts that hold no secret are shared with v, which is never
// modified; changed reports whether anything was replaced.
func (r *Redactor) Value(v any) (out any, changed bool) {
	rep := r.current()
	if rep == nil {
		return v, false
	}
	return redactValue(rep, v)
}

func redactValue(rep *strings.Replacer, v any) (any, bool) {
	switch v := v.(type) {
	case string:
		s := rep.Replace(v)
		return s, s != v
	case json.RawMessage:
		s := rep.Replace(string(v))
		if s == string(v) {
			return v, false
		}
		return json.RawMessage(s), true
	case []byte:
		s := rep.Replace(string(v))
		return []byte(s), s != string(v)
	case map[string]any:
		var out map[string]any
		for k, e := range v {
			nk := rep.Replace(k)
			ne, ch := redactValue(rep, e)
			if ch || nk != k {
				if out == nil {
					out = make(map[string]any, len(v))
					for k2, e2 := range v {
						out[k2] = e2
					}
				}
				if nk != k {
					delete(out, k)
				}
				out[nk] = ne
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	case []any:
		var out []any
		for i, e := range v {
			ne, ch := redactValue(rep, e)
			if ch {
				if out == nil {
					out = slices.Clone(v)
				}
				out[i] = ne
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	case map[string]string:
		var out map[string]string
		for k, e := range v {
			nk, ne := rep.Replace(k), rep.Replace(e)
			if nk != k || ne != e {
				if out == nil {
					out = make(map[string]string, len(v))
					for k2, e2 := range v {
						out[k2] = e2
					}
				}
				delete(out, k)
				out[nk] = ne
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	}
	// Other types (numbers, booleans, typed structs) are checked through their JSON form.
	b, err := json.Marshal(v)
	if err != nil {
		return v, false
	}
	s := rep.Replace(string(b))
	if s == string(b) {
		return v, false
	}
	var decoded any
	if err := json.Unmarshal([]byte(s), &decoded); err != nil {
		return Redacted, true
	}
	return decoded, true
}
