package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// ManifestFile is the name of the manifest in a plugin folder.
const ManifestFile = "plugin.json"

// Kinds of plugin implementation.
const (
	KindWasm    = "wasm"
	KindProcess = "process"
)

// Bounds on a manifest, checked by Manifest.Validate.
const (
	MaxManifestBytes   = 1 << 20
	MaxNodeTypes       = 100
	MaxDocsBytes       = 64 << 10
	MaxSchemaBytes     = 64 << 10
	MaxPorts           = 32
	MaxConcurrency     = 64
	MaxMemoryMiB       = 1024
	MaxTimeoutMs       = 15 * 60 * 1000
	MaxNetworkHosts    = 64
	maxTextBytes       = 1024
	maxCommandArgs     = 32
	defaultModule      = "plugin.wasm"
	defaultConcurrency = 4
	defaultMemoryMiB   = 128
	defaultTimeoutMs   = 30_000
)

var (
	pluginNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	typeNamePattern   = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)
	portNamePattern   = regexp.MustCompile(`^[a-z][a-zA-Z0-9_-]{0,31}$`)
	semverPattern     = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	hostPattern       = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:(\d{1,5}))?$`)
)

// Manifest is a plugin folder's plugin.json.
type Manifest struct {
	// Name names the plugin: lowercase letters, digits and dashes, such as "hello-wasm".
	Name string `json:"name"`
	// Version is a semantic version, such as "1.2.0".
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	Author      string `json:"author,omitempty"`
	License     string `json:"license,omitempty"`
	Homepage    string `json:"homepage,omitempty"`
	// Kind is "wasm" (the default) or "process".
	Kind string `json:"kind,omitempty"`
	// Wasm configures a WebAssembly plugin.
	Wasm *WasmSpec `json:"wasm,omitempty"`
	// Process configures a process plugin.
	Process *ProcessSpec `json:"process,omitempty"`
	// Network lists the hosts a WebAssembly plugin may reach through the host's HTTP function; without
	// it the plugin has no network at all. The server's outbound guard applies on top.
	Network *Network `json:"network,omitempty"`
	// TimeoutMs bounds each call, in milliseconds (default 30,000); a node's own timeout may be shorter.
	TimeoutMs int64 `json:"timeoutMs,omitempty"`
	// Nodes are the node types the plugin adds.
	Nodes []NodeSpec `json:"nodes"`
}

// WasmSpec configures a WebAssembly plugin.
type WasmSpec struct {
	// Module is the module's file in the folder (default "plugin.wasm").
	Module string `json:"module,omitempty"`
	// MemoryMiB caps each instance's linear memory (default 128, at most 1024).
	MemoryMiB int `json:"memoryMiB,omitempty"`
	// Instances caps the instances run at once (default 4, at most 64): calls beyond it wait.
	Instances int `json:"instances,omitempty"`
}

// ProcessSpec configures a process plugin.
type ProcessSpec struct {
	// Command is the program and its arguments, such as ["python3", "main.py"]. A program given as a
	// relative path with a slash (./run) is found in the plugin folder; a bare name is looked up in
	// PATH. The process starts in the plugin folder.
	Command []string `json:"command"`
	// Concurrency caps the requests in flight at once (default 4, at most 64).
	Concurrency int `json:"concurrency,omitempty"`
}

// AnyHost is the Network.Hosts entry that lets a plugin call any host.
const AnyHost = "*"

// Network is a WebAssembly plugin's network allowlist.
type Network struct {
	// Hosts are lowercase host names, optionally with a port, that the plugin may call:
	// "api.example.com", "api.example.com:8443", "*.example.com" (every subdomain of example.com) or
	// "*" (any host). Whatever the list says, the server's outbound guard still applies: "*" does not
	// open the private addresses the guard refuses.
	Hosts []string `json:"hosts"`
}

// Port describes an input or output port.
type Port struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// NodeSpec describes one node type a plugin adds.
type NodeSpec struct {
	// Type is the type's name, family.action, such as "hello.greet". It must not be a built-in type.
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Category groups the type in the editor's palette (default "Plugins").
	Category string `json:"category,omitempty"`
	// Icon is a lucide icon name in kebab case (default "puzzle").
	Icon string `json:"icon,omitempty"`
	// Docs is the type's documentation in Markdown.
	Docs string `json:"docs,omitempty"`
	// Schema is the JSON Schema (draft 2020-12) of the configuration; absent means no configuration.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Inputs default to one port "in"; an empty list means the type takes no input. Outputs default to
	// one port "out". An empty list is encoded (omitzero, not omitempty), so it survives a round trip.
	Inputs  []Port `json:"inputs,omitzero"`
	Outputs []Port `json:"outputs,omitzero"`
	// Pure says the node only computes its output from its input and configuration: no calls, no
	// writes, no waiting. The engine may then skip persisting each of its steps.
	Pure bool `json:"pure,omitempty"`
}

// Problem is one thing wrong with a manifest; Pointer locates it in plugin.json.
type Problem struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// Problems is every problem found in a manifest.
type Problems []Problem

func (p Problems) Error() string {
	parts := make([]string, 0, len(p))
	for _, e := range p {
		if e.Pointer == "" {
			parts = append(parts, e.Message)
		} else {
			parts = append(parts, e.Pointer+": "+e.Message)
		}
	}
	return "invalid plugin.json: " + strings.Join(parts, "; ")
}

// ParseManifest decodes plugin.json, refusing unknown fields and more than MaxManifestBytes, and
// validates it. The manifest returned has its defaults filled in.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestBytes {
		return nil, Problems{{Pointer: "", Message: fmt.Sprintf("plugin.json is %d bytes, over the %d-byte limit", len(data), MaxManifestBytes)}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, Problems{{Pointer: "", Message: "plugin.json is not a valid manifest: " + err.Error()}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, Problems{{Pointer: "", Message: "plugin.json holds more than one JSON value"}}
	}
	if problems := m.Validate(); len(problems) > 0 {
		return nil, problems
	}
	m.fillDefaults()
	return &m, nil
}

// Validate checks the manifest's structure: names, versions, kinds, bounds. It does not compile the
// schemas or the module; the server and `concertmaster plugin validate` do.
func (m *Manifest) Validate() Problems {
	var ps Problems
	fail := func(ptr, format string, args ...any) {
		ps = append(ps, Problem{Pointer: ptr, Message: fmt.Sprintf(format, args...)})
	}
	if !pluginNamePattern.MatchString(m.Name) {
		fail("/name", "name must be 1 to 63 lowercase letters, digits and dashes, starting with a letter")
	}
	if !semverPattern.MatchString(m.Version) {
		fail("/version", "version must be a semantic version such as 1.0.0")
	}
	for _, f := range []struct{ ptr, s string }{
		{"/description", m.Description}, {"/author", m.Author}, {"/license", m.License}, {"/homepage", m.Homepage},
	} {
		if len(f.s) > maxTextBytes {
			fail(f.ptr, "is %d bytes long, over the %d-byte limit", len(f.s), maxTextBytes)
		}
	}
	switch m.Kind {
	case "", KindWasm:
		if m.Process != nil {
			fail("/process", "a wasm plugin takes no process section")
		}
		if w := m.Wasm; w != nil {
			if w.Module != "" && !localFile(w.Module) {
				fail("/wasm/module", "module must be a file inside the plugin folder, such as plugin.wasm")
			}
			if w.MemoryMiB < 0 || w.MemoryMiB > MaxMemoryMiB {
				fail("/wasm/memoryMiB", "memoryMiB must be between 1 and %d", MaxMemoryMiB)
			}
			if w.Instances < 0 || w.Instances > MaxConcurrency {
				fail("/wasm/instances", "instances must be between 1 and %d", MaxConcurrency)
			}
		}
	case KindProcess:
		if m.Wasm != nil {
			fail("/wasm", "a process plugin takes no wasm section")
		}
		if m.Network != nil {
			fail("/network", "a process plugin is trusted and reaches the network itself; network applies to wasm plugins")
		}
		switch p := m.Process; {
		case p == nil || len(p.Command) == 0:
			fail("/process/command", "a process plugin needs a command, such as [\"python3\", \"main.py\"]")
		case len(p.Command) > maxCommandArgs:
			fail("/process/command", "command has %d arguments, more than %d", len(p.Command), maxCommandArgs)
		default:
			for i, a := range p.Command {
				if a == "" || len(a) > maxTextBytes || strings.ContainsRune(a, 0) {
					fail("/process/command/"+strconv.Itoa(i), "arguments must be non-empty and at most %d bytes", maxTextBytes)
				}
			}
			if p.Concurrency < 0 || p.Concurrency > MaxConcurrency {
				fail("/process/concurrency", "concurrency must be between 1 and %d", MaxConcurrency)
			}
		}
	default:
		fail("/kind", "kind must be wasm or process")
	}
	if m.Network != nil {
		if len(m.Network.Hosts) > MaxNetworkHosts {
			fail("/network/hosts", "at most %d hosts", MaxNetworkHosts)
		}
		for i, h := range m.Network.Hosts {
			if !validHost(h) {
				fail("/network/hosts/"+strconv.Itoa(i), "%q is not a host such as api.example.com, api.example.com:8443, *.example.com or *", h)
			}
		}
	}
	if m.TimeoutMs < 0 || m.TimeoutMs > MaxTimeoutMs {
		fail("/timeoutMs", "timeoutMs must be between 1 and %d", MaxTimeoutMs)
	}
	switch {
	case len(m.Nodes) == 0:
		fail("/nodes", "a plugin adds at least one node type")
	case len(m.Nodes) > MaxNodeTypes:
		fail("/nodes", "a plugin adds at most %d node types; this one has %d", MaxNodeTypes, len(m.Nodes))
	default:
		seen := map[string]int{}
		for i := range m.Nodes {
			m.Nodes[i].validate("/nodes/"+strconv.Itoa(i), seen, i, fail)
		}
	}
	return ps
}

func (n *NodeSpec) validate(ptr string, seen map[string]int, i int, fail func(string, string, ...any)) {
	if !typeNamePattern.MatchString(n.Type) || len(n.Type) > 128 {
		fail(ptr+"/type", "type must look like family.action in lowercase, such as hello.greet")
	} else if prev, dup := seen[n.Type]; dup {
		fail(ptr+"/type", "type %s is already declared at /nodes/%d", n.Type, prev)
	} else {
		seen[n.Type] = i
	}
	if strings.HasPrefix(n.Type, "trigger.") {
		fail(ptr+"/type", "plugins cannot add triggers (the trigger family is the server's)")
	}
	if strings.TrimSpace(n.Title) == "" || len(n.Title) > 100 {
		fail(ptr+"/title", "title is required, at most 100 bytes")
	}
	for _, f := range []struct{ sub, s string }{{"/description", n.Description}, {"/category", n.Category}, {"/icon", n.Icon}} {
		if len(f.s) > maxTextBytes {
			fail(ptr+f.sub, "is %d bytes long, over the %d-byte limit", len(f.s), maxTextBytes)
		}
	}
	if len(n.Docs) > MaxDocsBytes {
		fail(ptr+"/docs", "docs are %d bytes long, over the %d-byte limit", len(n.Docs), MaxDocsBytes)
	}
	if len(n.Schema) > MaxSchemaBytes {
		fail(ptr+"/schema", "schema is %d bytes long, over the %d-byte limit", len(n.Schema), MaxSchemaBytes)
	} else if len(n.Schema) > 0 {
		var doc any
		if err := json.Unmarshal(n.Schema, &doc); err != nil {
			fail(ptr+"/schema", "schema is not JSON: %v", err)
		} else if _, isObject := doc.(map[string]any); !isObject {
			if b, isBool := doc.(bool); !isBool || !b {
				fail(ptr+"/schema", "schema must be a JSON Schema object")
			}
		}
	}
	checkPorts := func(sub string, ports []Port) {
		if len(ports) > MaxPorts {
			fail(ptr+sub, "at most %d ports", MaxPorts)
			return
		}
		names := map[string]bool{}
		for j, p := range ports {
			pp := ptr + sub + "/" + strconv.Itoa(j)
			switch {
			case !portNamePattern.MatchString(p.Name):
				fail(pp+"/name", "port names are 1 to 32 letters, digits, dashes or underscores, starting with a lowercase letter")
			case names[p.Name]:
				fail(pp+"/name", "port %s is declared twice", p.Name)
			}
			names[p.Name] = true
			if len(p.Title) > 100 || len(p.Description) > maxTextBytes {
				fail(pp, "port title or description is too long")
			}
		}
	}
	checkPorts("/inputs", n.Inputs)
	if n.Outputs != nil && len(n.Outputs) == 0 {
		fail(ptr+"/outputs", "a node type has at least one output port; leave outputs out for the default \"out\"")
	}
	checkPorts("/outputs", n.Outputs)
}

func (m *Manifest) fillDefaults() {
	if m.Kind == "" {
		m.Kind = KindWasm
	}
	if m.Kind == KindWasm {
		if m.Wasm == nil {
			m.Wasm = &WasmSpec{}
		}
		if m.Wasm.Module == "" {
			m.Wasm.Module = defaultModule
		}
		if m.Wasm.MemoryMiB == 0 {
			m.Wasm.MemoryMiB = defaultMemoryMiB
		}
		if m.Wasm.Instances == 0 {
			m.Wasm.Instances = defaultConcurrency
		}
	}
	if m.Process != nil && m.Process.Concurrency == 0 {
		m.Process.Concurrency = defaultConcurrency
	}
	if m.TimeoutMs == 0 {
		m.TimeoutMs = defaultTimeoutMs
	}
	for i := range m.Nodes {
		n := &m.Nodes[i]
		if n.Category == "" {
			n.Category = "Plugins"
		}
		if n.Icon == "" {
			n.Icon = "puzzle"
		}
		if n.Inputs == nil {
			n.Inputs = []Port{{Name: "in", Title: "Input"}}
		}
		if n.Outputs == nil {
			n.Outputs = []Port{{Name: "out", Title: "Output"}}
		}
	}
}

// validHost reports whether h is an allowlist entry: AnyHost, or a host name with an optional
// "*." prefix and an optional port from 1 to 65535.
func validHost(h string) bool {
	if h == AnyHost {
		return true
	}
	if len(h) > 260 {
		return false
	}
	m := hostPattern.FindStringSubmatch(h)
	if m == nil {
		return false
	}
	if port := m[len(m)-1]; port != "" {
		n, err := strconv.Atoi(port)
		return err == nil && n >= 1 && n <= 65535
	}
	return true
}

// localFile reports whether name is a relative path that stays inside its folder.
func localFile(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsRune(name, '\\') || strings.ContainsRune(name, 0) {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." || part == "" {
			return false
		}
	}
	return true
}

// ErrNoHandler is returned for a request whose type the plugin did not register.
var ErrNoHandler = errors.New("no handler for this node type")
