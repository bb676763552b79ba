package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"
)

// Limits on the size of one definition. They keep a single workflow from exhausting the validator, the
// engine or the editor; the HTTP layer caps the body size before these apply.
const (
	// MaxNodes is the largest number of nodes a workflow may hold.
	MaxNodes = 2000
	// MaxEdges is the largest number of edges a workflow may hold.
	MaxEdges = 8000
	// MaxTags is the most tags a workflow carries.
	MaxTags = 20
	// MaxNameLength is the longest workflow name, in bytes.
	MaxNameLength = 200
	// MaxNodeNameLength is the longest node display name, in bytes.
	MaxNodeNameLength = 200
	// MaxNotes is the largest number of sticky notes a workflow may hold.
	MaxNotes = 200
	// MaxNoteTextLength is the longest text of one sticky note, in bytes.
	MaxNoteTextLength = 10 * 1024
	// MaxNoteSize is the largest width or height of a sticky note, in canvas units.
	MaxNoteSize = 4000
	// MinNoteSize is the smallest width or height of a sticky note, in canvas units.
	MinNoteSize = 40
)

// Default port names. An edge whose sourcePort or targetPort is empty uses these.
const (
	PortOut   = "out"
	PortIn    = "in"
	PortError = "error"
)

// NodeIDPattern is the pattern every node id matches. Ids are expression identifiers, so that
// `{{ nodes.fetch_orders.output }}` works without any renaming.
var NodeIDPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// TagPattern is the pattern every workflow tag matches: it leaves out quotes, backslashes and
// percent signs, so that a tag can be searched for in the stored JSON array without escaping.
var TagPattern = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,31}$`)

// NoteIDPattern is the pattern every sticky note id matches.
var NoteIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Definition is the editable body of a workflow: what a user saves and what every version freezes.
type Definition struct {
	// Name is the workflow's display name; it need not be unique.
	Name string `json:"name" doc:"Display name"`
	// Description is free text shown in lists.
	Description string `json:"description,omitempty" doc:"Free text"`
	// Tags label the workflow so that lists can filter on them (TagPattern, at most MaxTags).
	Tags []string `json:"tags,omitempty" maxItems:"20" doc:"Labels the workflow list filters on: at most 20, each 1 to 32 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit; no two the same ignoring case"`
	// Nodes are the steps of the graph.
	Nodes []Node `json:"nodes" doc:"The steps of the graph"`
	// Edges connect an output port of one node to an input port of another.
	Edges []Edge `json:"edges" required:"false" doc:"Connections between node ports"`
	// Settings tune how executions of the workflow run.
	Settings Settings `json:"settings,omitzero" doc:"Execution settings"`
	// Notes are sticky notes on the canvas; the engine ignores them.
	Notes []Note `json:"notes,omitempty" doc:"Sticky notes on the canvas (markdown); executions ignore them" maxItems:"200"`
}

// NoteColors are the colours a sticky note may take; empty means the first.
var NoteColors = []string{"yellow", "blue", "green", "pink", "purple", "gray"}

// Note is a sticky note on the canvas: markdown text in a box. Executions ignore it.
type Note struct {
	// ID identifies the note within its workflow.
	ID string `json:"id" doc:"Identifier, unique among the workflow's notes" maxLength:"64"`
	// Text is the note's markdown.
	Text string `json:"text" required:"false" doc:"Markdown text (at most 10 kB)" maxLength:"10240"`
	// Position is the note's top-left corner on the canvas.
	Position Position `json:"position" required:"false" doc:"Canvas position of the top-left corner"`
	// Width and Height are the note's size on the canvas; zero means the default.
	Width  float64 `json:"width,omitempty" doc:"Width on the canvas (40 to 4000; default 240)"`
	Height float64 `json:"height,omitempty" doc:"Height on the canvas (40 to 4000; default 160)"`
	// Color is one of NoteColors; empty means yellow.
	Color string `json:"color,omitempty" doc:"yellow (default), blue, green, pink, purple or gray" enum:"yellow,blue,green,pink,purple,gray"`
}

// Node is one step of a workflow: an instance of a registered node type with its configuration.
type Node struct {
	// ID identifies the node within its workflow and names it in expressions.
	ID string `json:"id" doc:"Identifier, used in expressions as nodes.<id>"`
	// Type is the registered node type, such as "http.request".
	Type string `json:"type" doc:"Registered node type, e.g. http.request"`
	// Name is an optional display name.
	Name string `json:"name,omitempty" doc:"Display name"`
	// Config is the node type's configuration; string values may hold {{ expressions }}.
	Config map[string]any `json:"config,omitempty" doc:"Configuration, checked against the node type's JSON Schema"`
	// Position is where the editor draws the node.
	Position Position `json:"position" required:"false" doc:"Canvas position"`
	// Retry re-runs a failed attempt with backoff; nil means a single attempt.
	Retry *RetryPolicy `json:"retry,omitempty" doc:"Retry policy for failed attempts"`
	// Timeout bounds each attempt; zero means no limit beyond the execution's.
	Timeout Duration `json:"timeout,omitzero" doc:"Time limit per attempt, e.g. 30s"`
	// OnError says what a failure does once retries are exhausted; empty means OnErrorFail.
	OnError OnError `json:"onError,omitempty" enum:"fail,continue,errorPort" doc:"fail (default), continue, or errorPort"`
	// ForEach, when set, is an expression yielding an array; the node then runs once per element.
	ForEach string `json:"forEach,omitempty" doc:"Expression yielding an array to fan out over"`
	// Concurrency bounds the parallel runs of a fan-out; zero means one at a time.
	Concurrency int `json:"concurrency,omitempty" doc:"Parallel items in a fan-out (default 1)"`
}

// Position is a canvas coordinate.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Edge connects SourcePort of Source to TargetPort of Target.
type Edge struct {
	// Source is the id of the node the edge leaves.
	Source string `json:"source" doc:"Source node id"`
	// Target is the id of the node the edge enters.
	Target string `json:"target" doc:"Target node id"`
	// SourcePort is the output port; empty means "out".
	SourcePort string `json:"sourcePort,omitempty" doc:"Output port of the source (default out)"`
	// TargetPort is the input port; empty means "in".
	TargetPort string `json:"targetPort,omitempty" doc:"Input port of the target (default in)"`
}

// From returns the edge's source port, defaulting to PortOut.
func (e Edge) From() string {
	if e.SourcePort == "" {
		return PortOut
	}
	return e.SourcePort
}

// To returns the edge's target port, defaulting to PortIn.
func (e Edge) To() string {
	if e.TargetPort == "" {
		return PortIn
	}
	return e.TargetPort
}

// Settings tune how executions of one workflow run.
type Settings struct {
	// MaxConcurrentNodes bounds how many ready nodes run at once; zero means MaxConcurrentNodesDefault.
	MaxConcurrentNodes int `json:"maxConcurrentNodes,omitempty" doc:"Ready nodes run in parallel up to this bound (default 8)"`
	// Timeout bounds a whole execution; zero means no limit.
	Timeout Duration `json:"timeout,omitzero" doc:"Time limit for a whole execution, e.g. 10m"`
	// OutputNode names the node whose output is the execution's output. Empty means the output of the
	// single sink node that ran, or an object keyed by node id when several did.
	OutputNode string `json:"outputNode,omitempty" doc:"Node whose output becomes the execution's output"`
	// Vars are constants available to expressions as vars.<name>.
	Vars map[string]any `json:"vars,omitempty" doc:"Constants available to expressions as vars"`
	// ErrorWorkflow names a workflow (with a trigger.error node) started when a run of this one fails.
	ErrorWorkflow string `json:"errorWorkflow,omitempty" doc:"Id of a workflow with a trigger.error node, started when a run of this workflow fails" maxLength:"64"`
	// Retention overrides the server's retention rules for this workflow's finished executions; nil
	// means the server's rules (CM_RETENTION_MAX_AGE, CM_RETENTION_MAX_PER_WORKFLOW).
	Retention *Retention `json:"retention,omitempty" doc:"How long this workflow's finished executions are kept (default: the server's rules)"`
}

// Retention is a workflow's own retention rule for its finished (succeeded, failed or canceled)
// executions. A zero field falls back to the server's setting.
type Retention struct {
	// MaxAge deletes finished executions once they finished longer ago than this; zero means the
	// server's CM_RETENTION_MAX_AGE.
	MaxAge Duration `json:"maxAge,omitzero" doc:"Delete finished executions older than this, e.g. 24h (at least 1m; default: the server's CM_RETENTION_MAX_AGE)"`
	// MaxExecutions keeps at most this many finished executions, the newest; zero means the server's
	// CM_RETENTION_MAX_PER_WORKFLOW.
	MaxExecutions int `json:"maxExecutions,omitempty" doc:"Keep at most this many finished executions, the most recently finished (default: the server's CM_RETENTION_MAX_PER_WORKFLOW)"`
}

// Retention limits.
const (
	// RetentionMinAge is the shortest maximum age a workflow may set.
	RetentionMinAge = time.Minute
	// RetentionMaxExecutions is the largest per-workflow cap a workflow may set.
	RetentionMaxExecutions = 100_000_000
)

// MaxConcurrentNodesDefault is the parallelism of an execution when its settings leave it unset.
const MaxConcurrentNodesDefault = 8

// Parallelism returns MaxConcurrentNodes or its default.
func (s Settings) Parallelism() int {
	if s.MaxConcurrentNodes <= 0 {
		return MaxConcurrentNodesDefault
	}
	return s.MaxConcurrentNodes
}

// OnError is what a node failure does once its retries are exhausted.
type OnError string

// The values of OnError.
const (
	// OnErrorFail fails the execution (the default).
	OnErrorFail OnError = "fail"
	// OnErrorContinue makes the error the node's output on its "out" port and carries on.
	OnErrorContinue OnError = "continue"
	// OnErrorPort emits the error on the node's "error" port, to a handler branch.
	OnErrorPort OnError = "errorPort"
)

// Valid reports whether o is empty or one of the known values.
func (o OnError) Valid() bool {
	switch o {
	case "", OnErrorFail, OnErrorContinue, OnErrorPort:
		return true
	}
	return false
}

// RetryPolicy re-runs a failed node attempt after a growing delay.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, the first included; 0 or 1 means no retry.
	MaxAttempts int `json:"maxAttempts,omitempty" doc:"Total attempts including the first"`
	// InitialInterval is the delay before the second attempt; zero means 1s.
	InitialInterval Duration `json:"initialInterval,omitzero" doc:"Delay before the first retry (default 1s)"`
	// Multiplier grows the delay after each retry; zero means 2.
	Multiplier float64 `json:"multiplier,omitempty" doc:"Backoff multiplier (default 2)"`
	// MaxInterval caps the delay; zero means 5m.
	MaxInterval Duration `json:"maxInterval,omitzero" doc:"Longest delay between attempts (default 5m)"`
	// Jitter randomises each delay by up to this fraction (0 to 1) either way; zero means none.
	Jitter float64 `json:"jitter,omitempty" doc:"Random spread of each delay, 0 to 1"`
}

// Retry defaults, used where a RetryPolicy leaves a field zero.
const (
	RetryInitialIntervalDefault = time.Second
	RetryMultiplierDefault      = 2.0
	RetryMaxIntervalDefault     = 5 * time.Minute
)

// Attempts returns the total number of attempts the policy allows, at least 1.
func (p *RetryPolicy) Attempts() int {
	if p == nil || p.MaxAttempts < 1 {
		return 1
	}
	return p.MaxAttempts
}

// Backoff returns the delay before attempt number next (2 for the first retry), before jitter.
func (p *RetryPolicy) Backoff(next int) time.Duration {
	if p == nil || next < 2 {
		return 0
	}
	d := float64(RetryInitialIntervalDefault)
	if p.InitialInterval > 0 {
		d = float64(p.InitialInterval)
	}
	mult := p.Multiplier
	if mult <= 0 {
		mult = RetryMultiplierDefault
	}
	maxInterval := RetryMaxIntervalDefault
	if p.MaxInterval > 0 {
		maxInterval = time.Duration(p.MaxInterval)
	}
	for i := 2; i < next && d < float64(maxInterval); i++ {
		d *= mult
	}
	return min(time.Duration(d), maxInterval)
}

// Duration is a time.Duration written in JSON as a Go duration string ("1.5s", "2m", "1h30m").
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String returns d in Go duration syntax.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d in Go duration syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses Go duration syntax; negative durations are refused.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a number with a unit, such as 500ms, 30s or 5m", b)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: must not be negative", b)
	}
	*d = Duration(v)
	return nil
}

// Decode parses a definition from JSON, refusing unknown fields and trailing data.
func Decode(r io.Reader) (*Definition, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var def Definition
	if err := dec.Decode(&def); err != nil {
		return nil, fmt.Errorf("parse workflow: %w", err)
	}
	// More would miss a stray "}" or "]": only the end of the input may follow the object.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse workflow: unexpected data after the JSON object")
	}
	return &def, nil
}

// DecodeBytes parses a definition from a JSON document, as Decode does.
func DecodeBytes(b []byte) (*Definition, error) { return Decode(bytes.NewReader(b)) }

// NodeByID returns the node with the given id, or nil.
func (d *Definition) NodeByID(id string) *Node {
	for i := range d.Nodes {
		if d.Nodes[i].ID == id {
			return &d.Nodes[i]
		}
	}
	return nil
}
