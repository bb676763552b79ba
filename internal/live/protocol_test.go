package live

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// FuzzParseRequest: no input panics, and what passes names a valid id and a coherent spec.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		`{"type":"ping"}`,
		`{"type":"subscribe","id":"s1","executionId":"e","afterSeq":3}`,
		`{"type":"subscribe","id":"s2","workflowId":"w","since":"2026-11-30T21:00:00Z"}`,
		`{"type":"subscribe","id":"s3"}`,
		`{"type":"unsubscribe","id":"s1"}`,
		`{"type":"subscribe","id":"a","executionId":"x","workflowId":"y"}`,
		`{"type":`, `[]`, `null`, `{"type":"subscribe","id":"\u0000"}`, `{"type":"ping"} {}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, perr := parseRequest(data)
		if perr != nil {
			require.NotEmpty(t, perr.code)
			require.NotEmpty(t, perr.message)
			require.LessOrEqual(t, len(perr.message), 400, "an error quotes a bounded excerpt")
			return
		}
		switch r.kind {
		case "ping":
		case "subscribe", "unsubscribe":
			require.True(t, r.id != "" && len(r.id) <= maxID && utf8.ValidString(r.id))
			require.False(t, r.spec.ExecutionID != "" && r.spec.WorkflowID != "")
			require.LessOrEqual(t, len(r.spec.ExecutionID), maxID)
			require.LessOrEqual(t, len(r.spec.WorkflowID), maxID)
			require.GreaterOrEqual(t, r.spec.AfterSeq, int64(0))
			require.False(t, r.spec.AfterSeq > 0 && r.spec.ExecutionID == "")
		default:
			t.Fatalf("unexpected kind %q", r.kind)
		}
	})
}

// FuzzParseCursor: no input panics, and a parsed cursor formats back to an id that parses the same.
func FuzzParseCursor(f *testing.F) {
	for _, seed := range []string{"1796074232788856_01a2-b_1", "", "_", "1_e_0", "-5_e_3", "99999999999999999999_e_1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		again, err := ParseCursor(FormatCursor(*c))
		require.NoError(t, err)
		require.Equal(t, *c, *again)
	})
}
