package expression

import (
	"sort"
	"strings"

	"github.com/expr-lang/expr/conf"
)

// FunctionDoc describes one function an expression may call, for the editor's completions.
type FunctionDoc struct {
	// Name is what an expression calls.
	Name string `json:"name"`
	// Signature shows the arguments and the result, such as "upper(s string) string".
	Signature string `json:"signature"`
	// Doc says in one line what the function does.
	Doc string `json:"doc"`
	// Own is true for ConcertMaster's functions, false for expr-lang's builtins.
	Own bool `json:"own"`
}

// functionDocs documents every function the compiler offers. Functions lists the compiler's own table
// and takes the words from here; TestFunctionsDocumented fails when a function has none, so that the
// list the editor shows cannot drift from what compiles.
var functionDocs = map[string][2]string{
	// Predicates over arrays: the second argument is a predicate using # (the element).
	"all":           {"all(array, predicate) bool", "Whether the predicate is true for every element (# is the element)"},
	"any":           {"any(array, predicate) bool", "Whether the predicate is true for at least one element"},
	"none":          {"none(array, predicate) bool", "Whether the predicate is false for every element"},
	"one":           {"one(array, predicate) bool", "Whether the predicate is true for exactly one element"},
	"filter":        {"filter(array, predicate) array", "The elements for which the predicate is true"},
	"map":           {"map(array, expression) array", "The expression applied to every element (# is the element)"},
	"find":          {"find(array, predicate) any", "The first element for which the predicate is true, or null"},
	"findIndex":     {"findIndex(array, predicate) int", "The index of the first matching element, or -1"},
	"findLast":      {"findLast(array, predicate) any", "The last element for which the predicate is true, or null"},
	"findLastIndex": {"findLastIndex(array, predicate) int", "The index of the last matching element, or -1"},
	"count":         {"count(array[, predicate]) int", "How many elements match the predicate (or are true)"},
	"sum":           {"sum(array[, expression]) number", "The sum of the elements (or of the expression over them)"},
	"groupBy":       {"groupBy(array, expression) object", "The elements grouped by the expression's value"},
	"sortBy":        {"sortBy(array, expression[, order]) array", `The elements sorted by the expression ("asc" or "desc")`},
	"reduce":        {"reduce(array, expression[, initial]) any", "Folds the array: #acc is the accumulator, # the element"},
	"len":           {"len(v array|object|string) int", "The length of an array, object or string"},
	"type":          {"type(v any) string", "The type of a value: nil, bool, int, float, string, array, map…"},
	"abs":           {"abs(n number) number", "The absolute value of a number"},
	"ceil":          {"ceil(n number) float", "The smallest whole number not below n"},
	"floor":         {"floor(n number) float", "The largest whole number not above n"},
	"round":         {"round(n number) float", "n rounded to the nearest whole number"},
	"int":           {"int(v number|string) int", "v as a whole number"},
	"float":         {"float(v number|string) float", "v as a floating-point number"},
	"string":        {"string(v any) string", "v as a string"},
	"trim":          {"trim(s string[, chars string]) string", "s without leading and trailing blanks (or chars)"},
	"trimPrefix":    {"trimPrefix(s string, prefix string) string", "s without the prefix"},
	"trimSuffix":    {"trimSuffix(s string, suffix string) string", "s without the suffix"},
	"upper":         {"upper(s string) string", "s in upper case"},
	"lower":         {"lower(s string) string", "s in lower case"},
	"split":         {"split(s string, sep string[, n int]) array", "s cut at every sep (at most n pieces)"},
	"splitAfter":    {"splitAfter(s string, sep string[, n int]) array", "s cut after every sep, keeping it"},
	"replace":       {"replace(s string, old string, new string[, n int]) string", "s with old replaced by new (at most n times)"},
	"repeat":        {"repeat(s string, n int) string", "s repeated n times (bounded in size)"},
	"join":          {"join(array[, glue string]) string", "The strings of the array joined with glue"},
	"indexOf":       {"indexOf(s string, sub string) int", "The position of the first sub in s, or -1"},
	"lastIndexOf":   {"lastIndexOf(s string, sub string) int", "The position of the last sub in s, or -1"},
	"hasPrefix":     {"hasPrefix(s string, prefix string) bool", "Whether s starts with prefix"},
	"hasSuffix":     {"hasSuffix(s string, suffix string) bool", "Whether s ends with suffix"},
	"max":           {"max(n number, …) number", "The largest of the numbers (or of an array)"},
	"min":           {"min(n number, …) number", "The smallest of the numbers (or of an array)"},
	"mean":          {"mean(array) float", "The average of the numbers"},
	"median":        {"median(array) float", "The median of the numbers"},
	"toJSON":        {"toJSON(v any) string", "v as indented JSON text"},
	"fromJSON":      {"fromJSON(s string) any", "The value the JSON text s holds"},
	"toBase64":      {"toBase64(s string) string", "s encoded in base64"},
	"fromBase64":    {"fromBase64(s string) string", "The text base64 s encodes"},
	"now":           {"now() date", "The current time (recorded, so a resumed run sees the same)"},
	"duration":      {"duration(s string) duration", `A duration from text such as "1h30m"`},
	"date":          {"date(s string[, layout string[, zone string]]) date", "A date parsed from text"},
	"timezone":      {"timezone(name string) location", `A time zone by name, such as "Europe/Paris"`},
	"first":         {"first(array) any", "The first element, or null"},
	"last":          {"last(array) any", "The last element, or null"},
	"get":           {"get(v array|object, key) any", "The element at key, or null when there is none"},
	"take":          {"take(array, n int) array", "The first n elements"},
	"keys":          {"keys(object) array", "The keys of an object"},
	"values":        {"values(object) array", "The values of an object"},
	"toPairs":       {"toPairs(object) array", "The object as [key, value] pairs"},
	"fromPairs":     {"fromPairs(array) object", "An object from [key, value] pairs"},
	"reverse":       {"reverse(array) array", "The elements in reverse order"},
	"uniq":          {"uniq(array) array", "The elements without repeats"},
	"concat":        {"concat(array, …) array", "The arrays one after another"},
	"flatten":       {"flatten(array) array", "Nested arrays flattened into one"},
	"sort":          {"sort(array[, order string]) array", `The elements sorted ("asc" or "desc")`},
	"bitnot":        {"bitnot(n int) int", "Bitwise not"},
	"bitand":        {"bitand(a int, b int) int", "Bitwise and"},
	"bitor":         {"bitor(a int, b int) int", "Bitwise or"},
	"bitxor":        {"bitxor(a int, b int) int", "Bitwise exclusive or"},
	"bitnand":       {"bitnand(a int, b int) int", "Bitwise and not"},
	"bitshl":        {"bitshl(a int, n int) int", "a shifted left by n bits"},
	"bitshr":        {"bitshr(a int, n int) int", "a shifted right by n bits"},
	"bitushr":       {"bitushr(a int, n int) int", "a shifted right by n bits, without sign"},
	// ConcertMaster's own.
	"uuid":      {"uuid() string", "A new random UUID (recorded, so a resumed run sees the same)"},
	"urlEncode": {"urlEncode(v any) string", "v escaped for a URL query"},
	"sha256":    {"sha256(v any) string", "The SHA-256 of v, in hex"},
}

// ownFunctions are ConcertMaster's functions, as opposed to expr-lang's builtins (some of which it
// replaces with bounded versions of the same name).
var ownFunctions = map[string]bool{"uuid": true, "urlEncode": true, "sha256": true}

// Functions lists every function an expression may call, by name, read from the compiler's own
// configuration: expr-lang's builtins that are enabled and the functions ConcertMaster adds.
func Functions() []FunctionDoc {
	c := conf.CreateNew()
	for _, opt := range compileOptions(Limits{}.withDefaults(), &patcher{}, newRegexes()) {
		opt(c)
	}
	names := map[string]bool{}
	for name := range c.Builtins {
		if !c.Disabled[name] {
			names[name] = true
		}
	}
	for name := range c.Functions {
		if !strings.HasPrefix(name, "__") {
			names[name] = true
		}
	}
	out := make([]FunctionDoc, 0, len(names))
	for name := range names {
		d := functionDocs[name]
		out = append(out, FunctionDoc{Name: name, Signature: d[0], Doc: d[1], Own: ownFunctions[name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
