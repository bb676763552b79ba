package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var typeNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// ErrUnknownType is returned for a type name the registry does not hold.
var ErrUnknownType = errors.New("unknown node type")

// Registry holds node types by name. It is safe for concurrent use; plugins may register and
// unregister types while it is in use.
type Registry struct {
	mu    sync.RWMutex
	types map[TypeName]*Type
	// generation counts the changes made after start-up registration: plugin types added, replaced
	// or removed (Swap, Unregister). Compiled graphs record it to know when to look again.
	generation atomic.Uint64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{types: make(map[TypeName]*Type)}
}

// Type is a registered node type: its Info and its compiled configuration schema.
type Type struct {
	Info    Info
	schema  *jsonschema.Schema
	outputs []string
	lazy    map[string]bool
	raw     map[string]bool
}

// Register adds the type of n. It fails on an empty or malformed name, a nil New, a New that returns
// nil, a duplicate name, or a schema that does not compile.
func (r *Registry) Register(n Node) error {
	t, err := NewType(n)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[t.Info.Type]; dup {
		return fmt.Errorf("node type %q is already registered", t.Info.Type)
	}
	r.types[t.Info.Type] = t
	return nil
}

// NewType checks n's description and compiles its schema into a Type that is not registered anywhere
// (plugins build their types first and Swap them in at once). It fails like Register.
func NewType(n Node) (*Type, error) {
	if n == nil {
		return nil, errors.New("register node type: nil node")
	}
	info := n.NodeInfo()
	if !typeNamePattern.MatchString(string(info.Type)) {
		return nil, fmt.Errorf("register node type %q: name must look like family.name in lowercase", info.Type)
	}
	if info.New == nil {
		return nil, fmt.Errorf("register node type %s: New is nil", info.Type)
	}
	if info.New() == nil {
		return nil, fmt.Errorf("register node type %s: New returned nil", info.Type)
	}
	schemaDoc := info.Schema
	if len(schemaDoc) == 0 {
		schemaDoc = json.RawMessage(`{"type":"object","additionalProperties":false}`)
	}
	sch, err := compileSchema(string(info.Type), schemaDoc)
	if err != nil {
		return nil, fmt.Errorf("register node type %s: %w", info.Type, err)
	}
	info.Schema = schemaDoc
	if len(info.Output) > 0 && !json.Valid(info.Output) {
		return nil, fmt.Errorf("register node type %s: its Output schema is not JSON", info.Type)
	}
	if info.Version == 0 {
		info.Version = 1
	}
	t := &Type{Info: info, schema: sch, lazy: make(map[string]bool), raw: make(map[string]bool)}
	for _, p := range info.Outputs {
		t.outputs = append(t.outputs, p.Name)
	}
	for _, k := range info.Lazy {
		t.lazy[k] = true
	}
	for _, k := range info.Raw {
		if t.lazy[k] {
			return nil, fmt.Errorf("register node type %s: key %q cannot be both Lazy and Raw", info.Type, k)
		}
		t.raw[k] = true
	}
	return t, nil
}

// MustRegister registers every node and panics on the first error. Registration mistakes are
// programmer errors, found at start-up.
func (r *Registry) MustRegister(nodes ...Node) {
	for _, n := range nodes {
		if err := r.Register(n); err != nil {
			panic(err)
		}
	}
}

// Unregister removes a type; it reports whether the type was present.
func (r *Registry) Unregister(name TypeName) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.types[name]
	delete(r.types, name)
	if ok {
		r.generation.Add(1)
	}
	return ok
}

// Swap removes the types named in remove and adds the types in add, at once: a lookup sees either
// every old type or every new one, never a gap. It fails, changing nothing, when a type in add has the
// name of a registered type that remove does not name (a built-in, another plugin's type).
func (r *Registry) Swap(remove []TypeName, add []*Type) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	leaving := make(map[TypeName]bool, len(remove))
	for _, name := range remove {
		leaving[name] = true
	}
	for _, t := range add {
		if old, taken := r.types[t.Info.Type]; taken && !leaving[t.Info.Type] {
			if old.Info.Plugin != nil {
				return fmt.Errorf("node type %s is already added by plugin %s", t.Info.Type, old.Info.Plugin.Name)
			}
			return fmt.Errorf("node type %s is a built-in type; a plugin cannot replace it", t.Info.Type)
		}
	}
	for _, name := range remove {
		delete(r.types, name)
	}
	for _, t := range add {
		r.types[t.Info.Type] = t
	}
	r.generation.Add(1)
	return nil
}

// Generation counts the changes made by Swap and Unregister; it starts at zero.
func (r *Registry) Generation() uint64 { return r.generation.Load() }

// Lookup returns the type registered under name.
func (r *Registry) Lookup(name TypeName) (*Type, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// List returns every type, sorted by name.
func (r *Registry) List() []*Type {
	r.mu.RLock()
	out := make([]*Type, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Info.Type < out[j].Info.Type })
	return out
}

// IsTrigger reports whether the type starts executions.
func (t *Type) IsTrigger() bool { return t.Info.Type.Family() == FamilyTrigger }

// IsLazy reports whether the top-level configuration key is evaluated by the node itself.
func (t *Type) IsLazy(key string) bool { return t.lazy[key] }

// IsRaw reports whether the top-level configuration key is passed to the node as saved, never read as
// a template.
func (t *Type) IsRaw(key string) bool { return t.raw[key] }

// HasRaw reports whether the type has Raw keys, that is, runs code that may read any upstream node.
func (t *Type) HasRaw() bool { return len(t.raw) > 0 }

// HasInput reports whether the type has the named input port.
func (t *Type) HasInput(port string) bool {
	return slices.ContainsFunc(t.Info.Inputs, func(p PortSpec) bool { return p.Name == port })
}

// OutputPorts returns the output port names for a node of this type with the given (unevaluated)
// configuration.
func (t *Type) OutputPorts(config map[string]any) []string {
	probe := t.Info.New()
	if _, ok := probe.(DynamicPorts); !ok {
		return t.outputs
	}
	if err := decodeInto(config, probe); err != nil {
		return t.outputs
	}
	return probe.(DynamicPorts).OutputPorts()
}

// ConfigError is one configuration problem; Pointer is relative to the configuration object.
type ConfigError struct {
	Pointer string
	Message string
}

// ValidateConfig checks config against the type's schema. With templates true, a problem located at a
// string holding a {{ template }} is ignored, since its value is only known at run time; the engine
// checks the evaluated configuration again before each attempt.
func (t *Type) ValidateConfig(config map[string]any, templates bool) []ConfigError {
	var doc any = map[string]any{}
	if plainJSON(config, 0) {
		doc = config
	} else if config != nil {
		// Round-trip through JSON so that the validator sees only JSON types.
		b, err := json.Marshal(config)
		if err != nil {
			return []ConfigError{{Message: "configuration is not JSON: " + err.Error()}}
		}
		doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return []ConfigError{{Message: "configuration is not JSON: " + err.Error()}}
		}
	}
	err := t.schema.Validate(doc)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return []ConfigError{{Message: err.Error()}}
	}
	var out []ConfigError
	seen := map[string]bool{}
	collectLeaves(verr, func(e *jsonschema.ValidationError) {
		if templates && holdsTemplate(doc, e.InstanceLocation) && (len(e.InstanceLocation) == 0 || !t.raw[e.InstanceLocation[0]]) {
			return
		}
		ptr := pointerOf(e.InstanceLocation)
		msg := e.ErrorKind.LocalizedString(messagePrinter)
		key := ptr + "\x00" + msg
		if seen[key] {
			return
		}
		seen[key] = true
		out = append(out, ConfigError{Pointer: ptr, Message: msg})
	})
	return out
}

// Instantiate returns a fresh node holding config, which must already be evaluated: the
// configuration is checked against the schema (unless checked is true: a configuration without
// templates was checked when the workflow was saved), unmarshalled, and, when the node is a
// Validator, validated.
func (t *Type) Instantiate(config map[string]any, checked bool) (Node, error) {
	if !checked {
		if errs := t.ValidateConfig(config, false); len(errs) > 0 {
			return nil, &ConfigErrors{Errors: errs}
		}
	}
	n := t.Info.New()
	if err := decodeInto(config, n); err != nil {
		return nil, fmt.Errorf("decode configuration: %w", err)
	}
	if v, ok := n.(Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// ConfigErrors is a configuration that breaks its schema.
type ConfigErrors struct{ Errors []ConfigError }

func (e *ConfigErrors) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, ce := range e.Errors {
		if ce.Pointer == "" {
			parts = append(parts, "config: "+ce.Message)
		} else {
			parts = append(parts, "config"+ce.Pointer+": "+ce.Message)
		}
	}
	return "invalid configuration: " + strings.Join(parts, "; ")
}

// Decode unmarshals config into n through JSON.
func Decode(config map[string]any, n Node) error { return decodeInto(config, n) }

func decodeInto(config map[string]any, n Node) error {
	if len(config) == 0 {
		return nil
	}
	b, err := json.Marshal(config)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, n)
}

func compileSchema(name string, doc json.RawMessage) (*jsonschema.Schema, error) {
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	// A schema may only refer within itself: no file or URL is ever read for a $ref (plugins bring
	// schemas of their own).
	c.UseLoader(refusingLoader{})
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	url := "urn:concertmaster:node:" + name
	if err := c.AddResource(url, parsed); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", plainSchemaError(err))
	}
	return sch, nil
}

// plainSchemaError turns a schema that breaks the JSON Schema metaschema into one line per problem,
// each at its JSON pointer within the schema, instead of the validator's tree of causes.
func plainSchemaError(err error) error {
	var sve *jsonschema.SchemaValidationError
	if !errors.As(err, &sve) {
		return err
	}
	var verr *jsonschema.ValidationError
	if !errors.As(sve.Err, &verr) {
		return err
	}
	var parts []string
	seen := map[string]bool{}
	collectLeaves(verr, func(e *jsonschema.ValidationError) {
		msg := "at " + cmpOr(pointerOf(e.InstanceLocation), "the root") + ": " + e.ErrorKind.LocalizedString(messagePrinter)
		if !seen[msg] && len(parts) < 5 {
			seen[msg] = true
			parts = append(parts, msg)
		}
	})
	if len(parts) == 0 {
		return err
	}
	return fmt.Errorf("the schema is not valid JSON Schema: %s", strings.Join(parts, "; "))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// refusingLoader refuses to load any schema a $ref names outside the schema itself.
type refusingLoader struct{}

func (refusingLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref %s: schemas may only refer within themselves", url)
}

// plainJSON reports whether v holds only the types encoding/json decodes into (plus int), so that the
// validator can check it without a round trip.
func plainJSON(v any, depth int) bool {
	if depth > 64 {
		return false
	}
	switch x := v.(type) {
	case nil, string, bool, float64, int:
		return true
	case map[string]any:
		for _, e := range x {
			if !plainJSON(e, depth+1) {
				return false
			}
		}
		return x != nil
	case []any:
		for _, e := range x {
			if !plainJSON(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

func collectLeaves(e *jsonschema.ValidationError, f func(*jsonschema.ValidationError)) {
	if len(e.Causes) == 0 {
		f(e)
		return
	}
	for _, c := range e.Causes {
		collectLeaves(c, f)
	}
}

func holdsTemplate(doc any, loc []string) bool {
	v := doc
	for _, tok := range loc {
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return false
			}
			v = x[i]
		default:
			return false
		}
	}
	s, ok := v.(string)
	return ok && strings.Contains(s, "{{")
}

func pointerOf(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
