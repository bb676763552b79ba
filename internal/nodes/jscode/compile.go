package jscode

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
	lru "github.com/hashicorp/golang-lru/v2"
)

// Source limits, checked before the parser runs.
const (
	// MaxSourceBytes is the longest code a node may hold.
	MaxSourceBytes = 256 << 10
	// maxNesting bounds how deeply brackets nest in the code: the parser recurses once per level.
	maxNesting = 500
	// scriptName names the code in stack traces.
	scriptName = "code"
)

// The code is compiled as the body of a function expression. The prefix stays on the code's first
// line, so that line numbers need no shift; columns on line 1 are shifted back by its length.
const (
	prefixSync  = `(function (item, index) {"use strict";`
	prefixAsync = `(async function (item, index) {"use strict";`
	suffix      = "\n})"
)

// program is compiled code and how to map its positions back to the user's source.
type program struct {
	prg       *goja.Program
	prefixLen int
	async     bool
}

// SyntaxError is code that does not compile, with the position of the problem in the user's code.
type SyntaxError struct {
	Line, Column int
	Message      string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("code: syntax error at line %d, column %d: %s", e.Line, e.Column, e.Message)
	}
	return "code: syntax error: " + e.Message
}

// compiler compiles code and caches the programs by source. It is safe for concurrent use.
type compiler struct {
	cache *lru.Cache[string, *program]
}

func newCompiler(size int) *compiler {
	c, err := lru.New[string, *program](size)
	if err != nil {
		panic(err) // only for size <= 0, which New never passes
	}
	return &compiler{cache: c}
}

// compile returns the program for src, from the cache when it was compiled before.
func (c *compiler) compile(src string) (*program, error) {
	if p, ok := c.cache.Get(src); ok {
		return p, nil
	}
	p, err := compileSource(src)
	if err != nil {
		return nil, err
	}
	c.cache.Add(src, p)
	return p, nil
}

// compileSource parses and compiles src as a function body, of an async function when the code
// uses await.
func compileSource(src string) (*program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("code: is empty; write a function body that returns the output, such as return {sum: input.a + input.b}")
	}
	if len(src) > MaxSourceBytes {
		return nil, fmt.Errorf("code: is %d bytes, over the limit of %d", len(src), MaxSourceBytes)
	}
	if line, col, ok := tooDeep(src); !ok {
		return nil, &SyntaxError{Line: line, Column: col, Message: fmt.Sprintf("brackets nest more than %d levels deep", maxNesting)}
	}
	if strings.Contains(src, "await") {
		// await is an operator only inside an async function (elsewhere it parses as a name, so
		// "await (x)" would be a call): code that mentions it runs as an async body when it compiles as
		// one.
		if p, err := compileWith(src, prefixAsync); err == nil {
			return p, nil
		}
	}
	return compileWith(src, prefixSync)
}

func compileWith(src, prefix string) (*program, error) {
	full := prefix + src + suffix
	ast, err := parser.ParseFile(nil, scriptName, full, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, atEnd(syntaxError(err, len(prefix)), src)
	}
	prg, err := goja.CompileAST(ast, false)
	if err != nil {
		var ce *goja.CompilerSyntaxError
		if errors.As(err, &ce) && ce.File != nil {
			pos := ce.File.Position(ce.Offset)
			line, col := shift(pos.Line, pos.Column, len(prefix))
			return nil, &SyntaxError{Line: line, Column: col, Message: ce.Message}
		}
		return nil, &SyntaxError{Message: err.Error()}
	}
	return &program{prg: prg, prefixLen: len(prefix), async: prefix == prefixAsync}, nil
}

// syntaxError turns the parser's error list into a SyntaxError at the first problem.
func syntaxError(err error, prefixLen int) error {
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		line, col := shift(list[0].Position.Line, list[0].Position.Column, prefixLen)
		return &SyntaxError{Line: line, Column: col, Message: list[0].Message}
	}
	var one *parser.Error
	if errors.As(err, &one) {
		line, col := shift(one.Position.Line, one.Position.Column, prefixLen)
		return &SyntaxError{Line: line, Column: col, Message: one.Message}
	}
	return &SyntaxError{Message: err.Error()}
}

// atEnd moves an error found in the wrapper's closing line (code that ends too early, such as
// "return 1 +") to the end of the user's code.
func atEnd(err error, src string) error {
	var se *SyntaxError
	lines := strings.Count(src, "\n") + 1
	if errors.As(err, &se) && se.Line > lines {
		last := src[strings.LastIndexByte(src, '\n')+1:]
		se.Line, se.Column = lines, len(last)+1
		se.Message = "unexpected end of code (" + se.Message + ")"
	}
	return err
}

// shift maps a position in the wrapped source to the user's code.
func shift(line, col, prefixLen int) (int, int) {
	if line == 1 {
		col -= prefixLen
	}
	if col < 1 {
		col = 1
	}
	return line, col
}

// tooDeep reports the position where brackets first nest deeper than maxNesting, skipping strings,
// template text, comments and regular expression literals well enough for the estimate. ok is true
// when the code stays within the bound.
func tooDeep(src string) (line, col int, ok bool) {
	depth := 0
	line, col = 1, 0
	var quote byte
	for i := 0; i < len(src); i++ {
		c := src[i]
		col++
		if c == '\n' {
			line, col = line+1, 0
		}
		switch {
		case quote != 0:
			switch c {
			case '\\':
				i++
				col++
			case quote:
				quote = 0
			}
			continue
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			line, col = line+1, 0
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return 0, 0, true
			}
			line += strings.Count(src[i:i+2+end], "\n")
			i += end + 3
		case c == '(' || c == '[' || c == '{':
			depth++
			if depth > maxNesting {
				return line, col, false
			}
		case c == ')' || c == ']' || c == '}':
			depth--
		}
	}
	return 0, 0, true
}
