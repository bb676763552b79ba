package store

import (
	"time"
	"unicode/utf8"

	"github.com/concertmaster/concertmaster/internal/workflow"
)

// Read bounds: how much of a stored value a summary carries (see ADR 0008).
const (
	// PreviewBytesDefault is the size of an input or output preview, in bytes.
	PreviewBytesDefault = 4096
	// InlineBytesDefault is the largest stored error or log list a summary carries whole, in bytes.
	InlineBytesDefault = 8192
	// PreviewBytesMax bounds PreviewBytes and InlineBytes, whatever a caller asks.
	PreviewBytesMax = 1 << 20
)

// ValuePreview is the head of a stored JSON value and the value's full size. Head is the JSON text
// itself, cut at a UTF-8 boundary, so it is valid JSON only when Truncated is false.
type ValuePreview struct {
	// Head is the value's first bytes: the whole value when it fits in the preview size.
	Head string
	// Bytes is the size of the whole value in bytes; 0 means there is no value.
	Bytes int64
}

// Truncated reports whether Head is shorter than the value.
func (p ValuePreview) Truncated() bool { return int64(len(p.Head)) < p.Bytes }

// Preview cuts raw to at most n bytes, at a UTF-8 boundary, for values already in memory.
func Preview(raw []byte, n int) ValuePreview {
	return ValuePreview{Head: CutUTF8(string(raw[:min(len(raw), n+utf8.UTFMax)]), n), Bytes: int64(len(raw))}
}

// CutUTF8 returns the longest prefix of s that is at most n bytes and does not split a character.
func CutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	i := n
	// Step back over continuation bytes to the start of the character that would be split.
	for i > 0 && i > n-utf8.UTFMax+1 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// ExecutionPreview is an execution whose input and output are previews: Execution.Input and
// Execution.Output are left empty.
type ExecutionPreview struct {
	Execution
	InputPreview, OutputPreview ValuePreview
}

// NodeRunSummary is a node run as reads of big executions show it: input and output cut to
// previews, and the error and logs whole only when they are small.
type NodeRunSummary struct {
	NodeID  string
	Attempt int
	Status  workflow.NodeRunStatus
	// InputFrom names the node whose output is this run's input, when the store keeps it by
	// reference; Input then previews that output.
	InputFrom string
	Input     ValuePreview
	Output    ValuePreview
	Port      string
	// Error is the attempt's error. When the stored error is over the inline size (ErrorTruncated),
	// Details is left out and Message is cut to the preview size; ErrorBytes is the stored size.
	Error          *NodeError
	ErrorBytes     int64
	ErrorTruncated bool
	// Logs are the attempt's log entries; when the stored list is over the inline size
	// (LogsTruncated) they are left out. LogsBytes is the stored size.
	Logs          []LogEntry
	LogsBytes     int64
	LogsTruncated bool
	StartedAt     *time.Time
	FinishedAt    *time.Time
	WakeAt        *time.Time
}

// ListNodeRunSummariesParams sizes and pages ListNodeRunSummaries.
type ListNodeRunSummariesParams struct {
	// PreviewBytes is the size of each input and output preview (0 means PreviewBytesDefault).
	PreviewBytes int
	// InlineBytes is the largest error and log list returned whole (0 means InlineBytesDefault).
	InlineBytes int
	// Limit is the page size (1 to 500; 0 means 50).
	Limit int
	// Cursor continues a previous page.
	Cursor string
}

// ValueField names one stored value of an execution or a node run.
type ValueField string

// The stored values a ValueRef can name. An execution has an input and an output; a node run
// attempt also has its logs and its error.
const (
	ValueInput  ValueField = "input"
	ValueOutput ValueField = "output"
	ValueLogs   ValueField = "logs"
	ValueError  ValueField = "error"
)

// ValueRef names one stored JSON value: the execution's own input or output when NodeID is empty,
// otherwise a field of one node run attempt.
type ValueRef struct {
	ExecutionID string
	NodeID      string
	Attempt     int
	Field       ValueField
}
