// Package templates is the gallery of workflow templates the editor offers as "New from template":
// one JSON file per template in this directory, embedded in the binary. A template is a workflow
// definition whose credential fields hold placeholders, "$credential:<type>", that Instantiate replaces
// with the ids of the user's credentials of those types. Each template also carries an example run
// that TestTemplates performs against real servers in CI.
package templates

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/concertmaster/concertmaster/internal/workflow"
)

//go:embed *.json
var files embed.FS

// Placeholder is the prefix of a credential placeholder: "$credential:postgres".
const Placeholder = "$credential:"

// Example is how a template is tried out: the input of a manual or webhook run, or, for a template
// whose trigger listens to a queue, a node that feeds it (run once, from a manual trigger, with Input).
// TestTemplates runs every example against real servers.
//
// In every string of an example, "$runId" stands for an id unique to the test run (letters and
// digits), so that the rows, keys and messages of one run are told from those of earlier runs, and
// "$testServer" for the URL of the HTTP server the test runs beside the template (it answers every path
// with a JSON echo of the request, or with Responses). Nodes of an example (Feed, Setup, Checks) may
// hold credential placeholders like the template's.
type Example struct {
	// Input is the run's input (or the feeder's, and the setup's).
	Input any `json:"input,omitempty"`
	// Feed, for a listening trigger, is a node (type and config, placeholders allowed) that sends one
	// message the template then consumes.
	Feed *workflow.Node `json:"feed,omitempty"`
	// Setup nodes run in order, once, before the example (from a manual trigger, with Input): they
	// prepare what the template reads but does not own, such as a source table and its rows. Their ids
	// are replaced with setup1, setup2…
	Setup []workflow.Node `json:"setup,omitempty"`
	// Approve names a flow.wait node in approval mode that the example approves when the run waits
	// there.
	Approve string `json:"approve,omitempty"`
	// Vars override the template's settings.vars for the example run.
	Vars map[string]any `json:"vars,omitempty"`
	// ExpectNode names a node whose output must contain Expect (a JSON subset: objects match by the
	// keys Expect names, arrays element by element and of the same length, scalars exactly).
	ExpectNode string `json:"expectNode,omitempty"`
	Expect     any    `json:"expect,omitempty"`
	// Checks run after the example succeeded, in order, each node from a manual trigger: its output
	// must contain the check's Expect. They prove what the run did outside itself, such as a query
	// that reads back the row the template wrote, or a get of the object it stored.
	Checks []Check `json:"checks,omitempty"`
	// Responses map a path of the test HTTP server to the JSON value it answers there instead of the
	// echo: the answer of a GraphQL API, say.
	Responses map[string]any `json:"responses,omitempty"`
	// ChatReply, for a template with an ai.chat node, is the content the test's chat-completions
	// server (the openai credential's base URL) answers with: a string as it is, any other value as
	// its JSON text. Without it, the server answers with the last user message.
	ChatReply any `json:"chatReply,omitempty"`
	// Mail, for a template that sends e-mail, describes messages the test's SMTP server (the smtp
	// credential's host) must have received during the run, one each.
	Mail []MailCheck `json:"mail,omitempty"`
}

// MailCheck describes a message an example must have sent: a message matches when every address of
// To is among its envelope recipients, its subject is Subject (when set), and its decoded text (the
// headers of the message and of its parts, and every body and attachment once decoded, with LF line
// ends) contains each string of Contains.
type MailCheck struct {
	To       []string `json:"to,omitempty"`
	Subject  string   `json:"subject,omitempty"`
	Contains []string `json:"contains,omitempty"`
}

// Check is a node run after an example, and what its output must contain (the subset rules of
// Example.Expect).
type Check struct {
	Node   workflow.Node `json:"node"`
	Expect any           `json:"expect"`
}

// Template is one template of the gallery.
type Template struct {
	ID          string              `json:"-"`
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Tags        []string            `json:"tags"`
	Definition  workflow.Definition `json:"definition"`
	Example     Example             `json:"example"`
	// NodeTypes and CredentialTypes are derived from the definition.
	NodeTypes       []string `json:"-"`
	CredentialTypes []string `json:"-"`
}

var (
	loadOnce sync.Once
	loaded   []Template
	loadErr  error
)

// All returns every template, by name.
func All() ([]Template, error) {
	loadOnce.Do(func() { loaded, loadErr = load(files) })
	return loaded, loadErr
}

// Get returns the template id, or false.
func Get(id string) (*Template, bool, error) {
	all, err := All()
	if err != nil {
		return nil, false, err
	}
	for i := range all {
		if all[i].ID == id {
			t := all[i]
			return &t, true, nil
		}
	}
	return nil, false, nil
}

func load(fsys fs.FS) ([]Template, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	var out []Template
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var t Template
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		t.ID = strings.TrimSuffix(path.Base(name), ".json")
		for _, n := range t.Definition.Nodes {
			if !slices.Contains(t.NodeTypes, n.Type) {
				t.NodeTypes = append(t.NodeTypes, n.Type)
			}
			for _, typ := range placeholders(n.Config) {
				if !slices.Contains(t.CredentialTypes, typ) {
					t.CredentialTypes = append(t.CredentialTypes, typ)
				}
			}
		}
		sort.Strings(t.CredentialTypes)
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// placeholders returns the credential types named by placeholders in v.
func placeholders(v any) []string {
	var out []string
	walk(v, func(s string) string {
		if typ, ok := strings.CutPrefix(s, Placeholder); ok {
			out = append(out, typ)
		}
		return s
	})
	return out
}

// walk calls f on every string of v and replaces it with what f returns, in place.
func walk(v any, f func(string) string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok {
				v[k] = f(s)
				continue
			}
			walk(e, f)
		}
	case []any:
		for i, e := range v {
			if s, ok := e.(string); ok {
				v[i] = f(s)
				continue
			}
			walk(e, f)
		}
	}
}

// MissingCredentialError names a credential type a template needs and was not given.
type MissingCredentialError struct{ Type string }

func (e *MissingCredentialError) Error() string {
	return fmt.Sprintf("this template needs a %s credential", e.Type)
}

// Resolve returns a deep copy of v with every placeholder replaced by the id credentials maps its type
// to; a placeholder whose type is missing fails with a *MissingCredentialError.
func Resolve[T any](v T, credentials map[string]string) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return out, err
	}
	var missing string
	walk(generic, func(s string) string {
		typ, ok := strings.CutPrefix(s, Placeholder)
		if !ok {
			return s
		}
		id, ok := credentials[typ]
		if !ok && missing == "" {
			missing = typ
		}
		return id
	})
	if missing != "" {
		return out, &MissingCredentialError{Type: missing}
	}
	b, err = json.Marshal(generic)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(b, &out)
	return out, err
}

// Instantiate returns the template's definition named name (the template's name when empty) with its
// placeholders replaced by the given credential ids, by type.
func (t *Template) Instantiate(name string, credentials map[string]string) (*workflow.Definition, error) {
	def, err := Resolve(t.Definition, credentials)
	if err != nil {
		return nil, err
	}
	if name != "" {
		def.Name = name
	}
	return &def, nil
}
