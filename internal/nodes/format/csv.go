package format

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/meter"
)

// CSV modes.
const (
	modeParse  = "parse"
	modeFormat = "format"
)

// maxColumns bounds the columns option.
const maxColumns = 1000

// CSV is a data.csv node: it parses CSV text into an array or formats an array as CSV text.
type CSV struct {
	// Mode is parse (text to array) or format (array to text).
	Mode string `json:"mode"`
	// Text is the CSV to parse; nil means the input, which must then be a string.
	Text any `json:"text,omitempty"`
	// Items is the array to format; nil means the input.
	Items any `json:"items,omitempty"`
	// Header says whether the first row names the columns (parse) or whether to write a header row
	// (format); nil means true.
	Header *bool `json:"header,omitempty"`
	// Columns names the columns: the column order when formatting, the keys of a header-less CSV when
	// parsing.
	Columns []string `json:"columns,omitempty"`
	// Delimiter separates fields: one character, "tab" or "\t"; empty means a comma.
	Delimiter string `json:"delimiter,omitempty"`
	// Comment, when set, makes lines starting with this character comments (parse).
	Comment string `json:"comment,omitempty"`
	// Trim removes leading and trailing white space from every field (parse).
	Trim bool `json:"trim,omitempty"`
	// SkipEmptyLines skips rows whose every field is empty (parse); nil means true. Blank lines are
	// always skipped.
	SkipEmptyLines *bool `json:"skipEmptyLines,omitempty"`
	// LazyQuotes accepts quotes inside unquoted fields and stray quotes in quoted ones (parse).
	LazyQuotes bool `json:"lazyQuotes,omitempty"`
	// InferTypes turns numbers, true and false into JSON numbers and booleans (parse).
	InferTypes bool `json:"inferTypes,omitempty"`
	// CRLF ends lines with \r\n instead of \n (format).
	CRLF bool `json:"crlf,omitempty"`
}

// NodeInfo describes data.csv.
func (*CSV) NodeInfo() node.Info {
	return node.Info{
		Type: "data.csv", Pure: true, Title: "CSV", Category: "Data", Icon: "sheet",
		Description: "Parses CSV text into an array of objects (or arrays), or formats an array of objects (or arrays) as CSV text.",
		Docs:        csvDocs,
		Inputs:      portIn, Outputs: portOut,
		Schema: json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["mode"],
  "properties": {
    "mode": {"type": "string", "enum": ["parse", "format"], "title": "Mode", "description": "parse turns CSV text into an array; format turns an array into CSV text", "default": "parse"},
    "text": {"type": "string", "title": "Text", "description": "parse: the CSV text; default: the input, which must then be a string", "examples": ["{{ input.body }}"], "x-cm-expression": true},
    "items": {"title": "Items", "description": "format: the array of objects or arrays to write; default: the input", "examples": ["{{ input.orders }}"], "x-cm-expression": true},
    "header": {"type": "boolean", "title": "Header row", "description": "parse: the first row names the columns and each row becomes an object; format: write the column names as the first row", "default": true},
    "columns": {"type": "array", "title": "Columns", "description": "format: the columns to write, in order (default: every key in the order first seen, each object's keys sorted); parse: the keys of each row's object, replacing the header row's names when there is one", "items": {"type": "string", "minLength": 1, "maxLength": 256}, "maxItems": 1000, "examples": [["id", "name", "total"]]},
    "delimiter": {"type": "string", "title": "Delimiter", "description": "The field separator: one character, or tab (also written \\t)", "default": ",", "examples": [",", ";", "tab", "|"], "minLength": 1, "maxLength": 4},
    "comment": {"type": "string", "title": "Comment character", "description": "parse: lines starting with this character are skipped", "examples": ["#"], "minLength": 1, "maxLength": 4},
    "trim": {"type": "boolean", "title": "Trim fields", "description": "parse: remove leading and trailing white space from every field and column name", "default": false},
    "skipEmptyLines": {"type": "boolean", "title": "Skip empty rows", "description": "parse: skip rows whose every field is empty, such as ,, (blank lines are always skipped)", "default": true},
    "lazyQuotes": {"type": "boolean", "title": "Lazy quotes", "description": "parse: accept a quote inside an unquoted field and a lone quote inside a quoted field instead of failing", "default": false},
    "inferTypes": {"type": "boolean", "title": "Infer types", "description": "parse: turn fields that are JSON numbers (not 007 or 1e400) into numbers and true/false into booleans; otherwise every field stays a string", "default": false},
    "crlf": {"type": "boolean", "title": "CRLF line endings", "description": "format: end lines with \\r\\n (RFC 4180) instead of \\n", "default": false}
  }
}`),
		New: func() node.Node { return &CSV{} },
	}
}

// Validate checks the options the schema cannot.
func (c *CSV) Validate() error {
	var errs []error
	delim, err := c.delimiter()
	if err != nil {
		errs = append(errs, err)
	}
	if c.Comment != "" {
		r, err := oneRune("comment", c.Comment)
		switch {
		case err != nil:
			errs = append(errs, err)
		case r == delim:
			errs = append(errs, errors.New("comment: must differ from the delimiter"))
		}
	}
	if len(c.Columns) > maxColumns {
		errs = append(errs, fmt.Errorf("columns: at most %d", maxColumns))
	}
	seen := make(map[string]int, len(c.Columns))
	for i, name := range c.Columns {
		if name == "" {
			errs = append(errs, fmt.Errorf("columns[%d]: must not be empty", i))
		}
		if j, dup := seen[name]; dup {
			errs = append(errs, fmt.Errorf("columns[%d]: %q is already columns[%d]", i, name, j))
		}
		seen[name] = i
	}
	if c.Text != nil && c.Mode == modeFormat {
		errs = append(errs, errors.New("text: only for mode parse; format reads items"))
	}
	if c.Items != nil && c.Mode == modeParse {
		errs = append(errs, errors.New("items: only for mode format; parse reads text"))
	}
	return errors.Join(errs...)
}

func (c *CSV) delimiter() (rune, error) {
	switch c.Delimiter {
	case "":
		return ',', nil
	case "tab", `\t`:
		return '\t', nil
	}
	return oneRune("delimiter", c.Delimiter)
}

// oneRune returns the single character s holds, refusing those CSV reserves.
func oneRune(field, s string) (rune, error) {
	r, size := utf8.DecodeRuneInString(s)
	if size != len(s) || r == utf8.RuneError {
		return 0, fmt.Errorf("%s: want one character, got %q", field, s)
	}
	if r == '"' || r == '\r' || r == '\n' || r == 0xFEFF {
		return 0, fmt.Errorf("%s: %q cannot separate CSV fields", field, s)
	}
	return r, nil
}

// Execute parses or formats.
func (c *CSV) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	if err := c.Validate(); err != nil {
		return node.Output{}, node.Permanent(&node.Error{Code: "invalid_config", Message: err.Error()})
	}
	if c.Mode == modeFormat {
		src := c.Items
		if src == nil {
			src = in.Data
		}
		text, err := c.format(ctx, src, in.Limits)
		if err != nil {
			return node.Output{}, err
		}
		return node.Out(text), nil
	}
	src := c.Text
	if src == nil {
		src = in.Data
	}
	text, ok := src.(string)
	if !ok {
		return node.Output{}, invalidInput("data.csv parses text, got %s; set text, such as {{ input.body }}", kindOf(src))
	}
	rows, err := c.parse(ctx, text, in.Limits)
	if err != nil {
		return node.Output{}, err
	}
	return node.Out(rows), nil
}

// parse reads text into an array of objects (with a header row or columns) or of arrays.
func (c *CSV) parse(ctx context.Context, text string, limits node.Limits) ([]any, error) {
	delim, _ := c.delimiter()
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(text, "\uFEFF")))
	r.Comma = delim
	if c.Comment != "" {
		r.Comment, _ = utf8.DecodeRuneInString(c.Comment)
	}
	r.LazyQuotes = c.LazyQuotes
	r.TrimLeadingSpace = c.Trim
	r.FieldsPerRecord = -1
	r.ReuseRecord = true

	m := meter.New(limits, "the parsed CSV")
	skipEmpty := c.SkipEmptyLines == nil || *c.SkipEmptyLines
	keys := c.Columns
	needHeader := c.Header == nil || *c.Header
	keyCost := keysCost(keys) // JSON bytes of every key of one row, with quotes and colons
	rows := []any{}
	if err := m.Add(2, 0, ""); err != nil {
		return nil, err
	}
	for n := 0; ; n++ {
		if n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := r.FieldPos(0)
		if c.Trim {
			for i, f := range record {
				record[i] = strings.TrimSpace(f)
			}
		}
		if skipEmpty && !slices.ContainsFunc(record, func(f string) bool { return f != "" }) {
			continue
		}
		if needHeader {
			needHeader = false
			if c.Columns != nil {
				// The header row is replaced by columns.
				continue
			}
			if len(record) > maxColumns {
				return nil, node.Permanent(node.Errorf(CodeInvalidCSV, "line %d: the header has %d columns, more than %d", line, len(record), maxColumns))
			}
			if keys, err = headerKeys(record, line); err != nil {
				return nil, err
			}
			keyCost = keysCost(keys)
			continue
		}
		var values int64
		for _, f := range record {
			values += int64(len(f)) + 3 // quotes and a comma; escapes are counted by the engine
		}
		if keys == nil {
			if err := m.Add(2+values, 40+16*int64(len(record))+values, fmt.Sprintf("at line %d", line)); err != nil {
				return nil, err
			}
			row := make([]any, len(record))
			for i, f := range record {
				row[i] = c.cell(f)
			}
			rows = append(rows, row)
			continue
		}
		if len(record) != len(keys) {
			col := len(keys) + 1
			if len(record) < len(keys) {
				col = len(record)
			}
			_, pos := r.FieldPos(col - 1)
			return nil, node.Permanent(node.Errorf(CodeInvalidCSV, "line %d, column %d: the row has %d fields, the header has %d",
				line, pos, len(record), len(keys)))
		}
		if err := m.Add(2+keyCost+values, 64+48*int64(len(record))+values, fmt.Sprintf("at line %d", line)); err != nil {
			return nil, err
		}
		row := make(map[string]any, len(keys))
		for i, f := range record {
			row[keys[i]] = c.cell(f)
		}
		rows = append(rows, row)
	}
	if err := m.Flush(); err != nil {
		return nil, err
	}
	return rows, nil
}

// keysCost returns the JSON bytes the keys take in one object.
func keysCost(keys []string) int64 {
	var n int64
	for _, k := range keys {
		n += int64(len(k)) + 3
	}
	return n
}

// headerKeys returns the column names of a header row, refusing empty and duplicate names.
func headerKeys(record []string, line int) ([]string, error) {
	keys := make([]string, len(record))
	seen := make(map[string]int, len(record))
	for i, name := range record {
		if name == "" {
			return nil, node.Permanent(node.Errorf(CodeInvalidCSV, "line %d: column %d of the header row has no name; set header to false and name the columns in columns", line, i+1))
		}
		if j, dup := seen[name]; dup {
			return nil, node.Permanent(node.Errorf(CodeInvalidCSV, "line %d: columns %d and %d of the header row are both named %q", line, j+1, i+1, name))
		}
		seen[name] = i
		keys[i] = name
	}
	return keys, nil
}

// csvError turns a reader error into a permanent invalid_csv error naming the line and column.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
		if errors.Is(pe.Err, csv.ErrBareQuote) || errors.Is(pe.Err, csv.ErrQuote) {
			msg += " (lazyQuotes accepts stray quotes)"
		}
		return node.Permanent(node.Errorf(CodeInvalidCSV, "%s", msg))
	}
	return node.Permanent(node.Errorf(CodeInvalidCSV, "%v", err))
}

// cell returns a field as a string or, with InferTypes, as the number or boolean it spells.
func (c *CSV) cell(f string) any {
	if !c.InferTypes {
		return f
	}
	return inferType(f)
}

// inferType returns f as a float64 when it is a JSON number that a float64 holds exactly enough (an
// integer beyond 2^53 stays a string), as a bool for true and false, and as itself otherwise.
func inferType(f string) any {
	switch f {
	case "true":
		return true
	case "false":
		return false
	case "":
		return f
	}
	if !isJSONNumber(f) {
		return f
	}
	v, err := strconv.ParseFloat(f, 64)
	if err != nil || math.IsInf(v, 0) {
		return f
	}
	if !strings.ContainsAny(f, ".eE") && math.Abs(v) >= 1<<53 && strconv.FormatFloat(v, 'f', -1, 64) != f {
		return f
	}
	return v
}

// isJSONNumber reports whether s is a number in JSON's grammar: no leading zeros, plus sign, or bare
// dot.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// format writes src, an array of objects or arrays, as CSV text.
func (c *CSV) format(ctx context.Context, src any, limits node.Limits) (string, error) {
	items, ok := src.([]any)
	if !ok {
		return "", invalidInput("data.csv formats an array of objects or arrays, got %s; set items, such as {{ input.orders }}", kindOf(src))
	}
	columns := c.Columns
	if columns == nil {
		var err error
		if columns, err = firstSeenKeys(ctx, items); err != nil {
			return "", err
		}
	}
	m := meter.New(limits, "the CSV text")
	out := &meteredBuilder{m: m}
	w := csv.NewWriter(out)
	w.Comma, _ = c.delimiter()
	w.UseCRLF = c.CRLF
	if (c.Header == nil || *c.Header) && len(columns) > 0 {
		if err := w.Write(columns); err != nil {
			return "", writeError(err)
		}
	}
	record := make([]string, 0, len(columns))
	for i, item := range items {
		if i%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
		}
		record = record[:0]
		switch row := item.(type) {
		case map[string]any:
			for _, col := range columns {
				cell, err := formatCell(row[col], m)
				if err != nil {
					return "", cellError(err, fmt.Sprintf("items[%d].%s", i, col))
				}
				record = append(record, cell)
			}
		case []any:
			for j, v := range row {
				cell, err := formatCell(v, m)
				if err != nil {
					return "", cellError(err, fmt.Sprintf("items[%d][%d]", i, j))
				}
				record = append(record, cell)
			}
		default:
			return "", invalidInput("items[%d] is %s, not an object or an array", i, kindOf(item))
		}
		if err := w.Write(record); err != nil {
			return "", writeError(err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return "", writeError(err)
	}
	if err := m.Flush(); err != nil {
		return "", err
	}
	return out.b.String(), nil
}

// firstSeenKeys returns every key of the objects in items, in the order first seen, each object's
// keys in sorted order.
func firstSeenKeys(ctx context.Context, items []any) ([]string, error) {
	var keys []string
	seen := map[string]bool{}
	for i, item := range items {
		if i%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		obj, ok := item.(map[string]any)
		if !ok {
			continue
		}
		var fresh []string
		for k := range obj {
			if !seen[k] {
				fresh = append(fresh, k)
			}
		}
		slices.Sort(fresh)
		for _, k := range fresh {
			seen[k] = true
			keys = append(keys, k)
		}
		if len(keys) > maxColumns {
			return nil, invalidInput("the objects have more than %d distinct keys; name the columns to write in columns", maxColumns)
		}
	}
	return keys, nil
}

// formatCell writes one value as a CSV field: strings as they are, numbers in plain decimal, booleans
// as true/false, null as an empty field, objects and arrays as their JSON.
func formatCell(v any, m *meter.Meter) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("%v is not a number JSON can hold", x)
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case json.Number:
		return x.String(), nil
	}
	// Objects and arrays: size them before encoding, against what the output may still take.
	size, ok := expression.SizeAtMost(v, math.MaxInt64/2)
	if !ok || !m.Fits(size) {
		return "", m.TooLarge("")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("cannot be written as JSON: %w", err)
	}
	return string(b), nil
}

// cellError names the cell in a formatting error; an output_too_large error passes unchanged.
func cellError(err error, where string) error {
	var ne *node.Error
	if errors.As(err, &ne) {
		return err
	}
	return invalidInput("%s: %v", where, err)
}

// writeError returns the meter's error carried out of the CSV writer, or wraps another one.
func writeError(err error) error {
	var ne *node.Error
	if errors.As(err, &ne) || errors.Is(err, budget.ErrExceeded) {
		return err
	}
	return fmt.Errorf("write CSV: %w", err)
}

// meteredBuilder is an io.Writer into a strings.Builder that accounts for every byte in a meter and
// refuses the write that would pass the output cap.
type meteredBuilder struct {
	b strings.Builder
	m *meter.Meter
}

func (w *meteredBuilder) Write(p []byte) (int, error) {
	if err := w.m.Add(int64(len(p)), int64(len(p)), ""); err != nil {
		return 0, err
	}
	return w.b.Write(p)
}

var (
	_ node.Node      = (*CSV)(nil)
	_ node.Validator = (*CSV)(nil)
)

const csvDocs = "Reads CSV text into JSON or writes JSON as CSV text, with Go's RFC 4180 reader and writer.\n\n" +
	"## Configuration\n\n" +
	"- `mode`: `parse` (CSV text → array) or `format` (array → CSV text).\n" +
	"- `text` (parse): the CSV text, usually an expression such as `{{ nodes.download.output.body }}`. " +
	"Without it the node parses its input, which must then be a string. A leading byte order mark is dropped.\n" +
	"- `items` (format): the array to write; without it, the input. Each element is an object (one field per " +
	"column) or an array (its values in order).\n" +
	"- `header` (default `true`): parse: the first row names the columns and every later row becomes an object " +
	"keyed by them; off, every row becomes an array of strings. Format: write the column names first.\n" +
	"- `columns`: format: the columns to write, in this order (default: every key of the objects, in the order " +
	"first seen, each object's own keys in sorted order; a missing key writes an empty field). Parse: the keys of " +
	"each row's object, so that a CSV without a header row still gives objects, or replacing the header row's names.\n" +
	"- `delimiter` (default `,`): one character; `tab` or `\\t` for tab-separated values.\n" +
	"- `comment` (parse): lines starting with this character are skipped.\n" +
	"- `trim` (parse): remove leading and trailing white space from every field and column name.\n" +
	"- `skipEmptyLines` (parse, default `true`): skip rows whose every field is empty (`,,`). Blank lines are always skipped.\n" +
	"- `lazyQuotes` (parse): accept a quote in an unquoted field (`5\" screen`) and a lone quote in a quoted field.\n" +
	"- `inferTypes` (parse): turn fields that are JSON numbers into numbers (`42`, `-1.5`, `2e3`; not `007`, " +
	"`+1`, `1,5` or integers beyond 2^53, which stay strings) and `true`/`false` into booleans. Off, every field is a string.\n" +
	"- `crlf` (format): end lines with `\\r\\n` as RFC 4180 does, instead of `\\n`.\n\n" +
	"Format writes strings as they are (quoted when they hold the delimiter, a quote or a line break), numbers in " +
	"plain decimal (`1500`, `0.25`), booleans as `true`/`false`, `null` as an empty field and objects or arrays as their JSON.\n\n" +
	"## Output\n\n" +
	"Parse: an array with one element per row, an object (with a header row or `columns`) or an array of fields. " +
	"Every row must have as many fields as the header. Format: the CSV text, a string ending with a line break.\n\n" +
	"## Limits\n\n" +
	"- The output is sized row by row while it is built: parsing or formatting stops with `output_too_large` as soon " +
	"as it would pass `CM_MAX_OUTPUT_BYTES`, naming the line it reached.\n" +
	"- The rows are charged to the execution's memory budget (`CM_MAX_EXECUTION_BYTES`) as they are built.\n" +
	"- At most 1000 columns. A timeout or a cancel stops the node within a few hundred rows.\n\n" +
	"## Errors\n\n" +
	"- `invalid_csv`: the text is not valid CSV, such as `line 3, column 7: bare \" in non-quoted-field`, a row " +
	"whose field count differs from the header's, or a header with an empty or repeated name.\n" +
	"- `invalid_input`: parse got something other than text, format something other than an array of objects or " +
	"arrays (`items[3] is a string, not an object or an array`).\n" +
	"- `output_too_large`, `budget_exceeded`: the limits above.\n" +
	"- `invalid_config`: a delimiter that is not one character, a comment character equal to the delimiter.\n\n" +
	"## Example\n\n" +
	"Parse with types:\n\n" +
	"```json\n{\"mode\": \"parse\", \"text\": \"{{ input.body }}\", \"inferTypes\": true}\n```\n\n" +
	"With the input body `id,name,total\\n1,Ada,12.5\\n2,Grace,7\\n` the output is\n\n" +
	"```json\n[{\"id\": 1, \"name\": \"Ada\", \"total\": 12.5}, {\"id\": 2, \"name\": \"Grace\", \"total\": 7}]\n```\n\n" +
	"Format with chosen columns and a semicolon:\n\n" +
	"```json\n{\"mode\": \"format\", \"items\": \"{{ input.orders }}\", \"columns\": [\"id\", \"total\"], \"delimiter\": \";\"}\n```\n\n" +
	"With `orders` `[{\"id\": 1, \"total\": 12.5, \"note\": \"x\"}, {\"id\": 2, \"total\": 7}]` the output is `\"id;total\\n1;12.5\\n2;7\\n\"`.\n"
