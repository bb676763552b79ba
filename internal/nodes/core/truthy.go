package core

// Truthy reports whether v counts as true in a condition: false, nil, zero, the empty string and
// empty arrays and objects are false; the strings "false" and "0" are false too, so that a condition
// written as a template ("{{ a }} and {{ b }}" style) behaves as people expect.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != "" && x != "false" && x != "0"
	case float64:
		return x != 0
	case int:
		return x != 0
	case int64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}
