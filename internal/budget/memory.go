// Package budget accounts for the memory an execution holds: the outputs it keeps for later nodes and
// what its running evaluations build. Producers reserve bytes before they allocate them, so that a
// workflow over its budget fails with a clear error instead of taking the process down.
package budget

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrExceeded is wrapped by every error that reports a budget that would be exceeded.
var ErrExceeded = errors.New("memory budget exceeded")

// ExceededError reports a reservation refused because it would take a Memory past its limit.
type ExceededError struct {
	// Limit is the budget, in bytes.
	Limit int64
	// Used is what was already reserved when the reservation was refused.
	Used int64
	// Requested is the size of the refused reservation.
	Requested int64
}

func (e *ExceededError) Error() string {
	return fmt.Sprintf("needs %s more while holding %s, over the memory budget of %s",
		Bytes(e.Requested), Bytes(e.Used), Bytes(e.Limit))
}

// Is makes errors.Is(err, ErrExceeded) true.
func (e *ExceededError) Is(target error) bool { return target == ErrExceeded }

// Memory is a byte budget shared by concurrent users. A nil *Memory is an unlimited budget.
type Memory struct {
	limit int64
	used  atomic.Int64
}

// NewMemory returns a budget of limit bytes; limit ≤ 0 means unlimited.
func NewMemory(limit int64) *Memory {
	return &Memory{limit: limit}
}

// Limit returns the budget in bytes (≤ 0: unlimited).
func (m *Memory) Limit() int64 {
	if m == nil {
		return 0
	}
	return m.limit
}

// Used returns the bytes currently reserved.
func (m *Memory) Used() int64 {
	if m == nil {
		return 0
	}
	return m.used.Load()
}

// Reserve takes n bytes from the budget, or returns an *ExceededError and takes nothing.
func (m *Memory) Reserve(n int64) error {
	if m == nil || n <= 0 {
		return nil
	}
	if m.limit <= 0 {
		m.used.Add(n)
		return nil
	}
	for {
		used := m.used.Load()
		if n > m.limit-used {
			return &ExceededError{Limit: m.limit, Used: used, Requested: n}
		}
		if m.used.CompareAndSwap(used, used+n) {
			return nil
		}
	}
}

// Hold takes n bytes from the budget even when that goes past the limit: for memory that is already
// held, such as outputs restored from the store. Later reservations are then refused.
func (m *Memory) Hold(n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.used.Add(n)
}

// Release gives n bytes back.
func (m *Memory) Release(n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.used.Add(-n)
}

// Open returns an account that reserves from m and can give back everything it reserved at once.
func (m *Memory) Open() *Account {
	return &Account{mem: m}
}

// Account is a scope of reservations on a Memory, such as one node attempt: Close releases them all.
// It is safe for concurrent use.
type Account struct {
	mem  *Memory
	held atomic.Int64
}

// Reserve takes n bytes from the account's budget.
func (a *Account) Reserve(n int64) error {
	if a == nil || n <= 0 {
		return nil
	}
	if err := a.mem.Reserve(n); err != nil {
		return err
	}
	a.held.Add(n)
	return nil
}

// Held returns the bytes the account holds.
func (a *Account) Held() int64 {
	if a == nil {
		return 0
	}
	return a.held.Load()
}

// Limit returns the limit of the underlying budget (≤ 0: unlimited).
func (a *Account) Limit() int64 {
	if a == nil {
		return 0
	}
	return a.mem.Limit()
}

// Close releases everything the account holds. The account stays usable.
func (a *Account) Close() {
	if a == nil {
		return
	}
	a.mem.Release(a.held.Swap(0))
}

// Bytes formats a byte count for people: 512 bytes, 3.5 KiB, 256 MiB, 1.2 GiB.
func Bytes(n int64) string {
	const unit = 1024
	switch {
	case n >= unit*unit*unit:
		return trim(float64(n)/(unit*unit*unit)) + " GiB"
	case n >= unit*unit:
		return trim(float64(n)/(unit*unit)) + " MiB"
	case n >= unit:
		return trim(float64(n)/unit) + " KiB"
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

func trim(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}
