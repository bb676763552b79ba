// Package meter bounds what a node builds from user content: it keeps a running estimate of the
// JSON size of the output under construction against the attempt's output cap (CM_MAX_OUTPUT_BYTES)
// and charges the memory the node holds to the execution's budget, in chunks, before the node
// allocates it.
package meter

import (
	"fmt"
	"math"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
)

// CodeOutputTooLarge is the code of the error a Meter returns when the output would pass its cap.
const CodeOutputTooLarge = "output_too_large"

// chunk is how many bytes of memory a Meter gathers before it reserves them.
const chunk = 64 << 10

// Meter accounts for one attempt's output and memory. The zero value has no limits. It is not safe for
// concurrent use.
type Meter struct {
	limits  node.Limits
	what    string
	out     int64
	pending int64
}

// New returns a meter over limits; what names the output in messages, such as "the parsed CSV".
func New(limits node.Limits, what string) *Meter {
	return &Meter{limits: limits, what: what}
}

// Output returns the estimated output size so far, in bytes.
func (m *Meter) Output() int64 { return m.out }

// Remaining returns how many output bytes the cap still allows; math.MaxInt64 when there is no cap.
func (m *Meter) Remaining() int64 {
	if m.limits.MaxOutputBytes <= 0 {
		return math.MaxInt64
	}
	return max(m.limits.MaxOutputBytes-m.out, 0)
}

// Fits reports whether n more output bytes stay within the cap.
func (m *Meter) Fits(n int64) bool {
	return m.limits.MaxOutputBytes <= 0 || n <= m.limits.MaxOutputBytes-m.out
}

// Add accounts for outBytes more bytes of output and memBytes more bytes of memory. It fails, before
// the caller builds anything, when the output would pass the cap (a permanent output_too_large
// *node.Error whose message adds where, when not empty) or when the memory budget refuses the
// reservation (an error wrapping budget.ErrExceeded).
func (m *Meter) Add(outBytes, memBytes int64, where string) error {
	if !m.Fits(outBytes) {
		return m.TooLarge(where)
	}
	m.out += outBytes
	m.pending += memBytes
	if m.pending >= chunk {
		return m.Flush()
	}
	return nil
}

// Reserve charges n bytes of memory at once.
func (m *Meter) Reserve(n int64) error {
	m.pending += n
	return m.Flush()
}

// Flush reserves the memory gathered so far.
func (m *Meter) Flush() error {
	n := m.pending
	m.pending = 0
	if m.limits.Memory == nil || n <= 0 {
		return nil
	}
	if err := m.limits.Memory.Reserve(n); err != nil {
		return fmt.Errorf("%s: %w", m.what, err)
	}
	return nil
}

// TooLarge returns the permanent output_too_large error of this meter; where, when not empty, says
// how far the node got, such as "at line 1200".
func (m *Meter) TooLarge(where string) error {
	msg := fmt.Sprintf("%s is over the %s output limit (CM_MAX_OUTPUT_BYTES)", m.what, budget.Bytes(m.limits.MaxOutputBytes))
	if where != "" {
		msg += " " + where
	}
	return node.Permanent(&node.Error{Code: CodeOutputTooLarge, Message: msg})
}
