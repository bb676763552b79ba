package jscode

import (
	"errors"
	"strings"
	"testing"
)

// FuzzCompile feeds arbitrary code to the compiler that Validate runs when a workflow is saved: it must
// return a program or an error, never panic or hang, and a syntax error's position must lie within the
// code.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		"return {sum: input.a + input.b}", "return 1 +", "const s = `${'{{'}`", "/* unterminated",
		"'unterminated", "await x", "return await Promise.resolve(1)", "}); (function(){", "((((", "\"\\",
		"//# sourceMappingURL=/dev/zero", "with (x) {}", "let a = 1; let a = 2",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, err := compileSource(src)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line == 0 {
			return
		}
		lines := strings.Split(src, "\n")
		if se.Line > len(lines) {
			t.Fatalf("error at line %d of %d-line code: %v", se.Line, len(lines), err)
		}
	})
}
