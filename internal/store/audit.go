package store

import (
	"context"
	"iter"
	"sync/atomic"
)

// auditKey is the context key of the audit entries WithAudit attaches.
type auditKey struct{}

// auditMarker carries audit entries to the next write. claimed makes the entries go to one write
// only, however many writes the context reaches.
type auditMarker struct {
	entries []AuditEntry
	claimed atomic.Bool
	// parent is the marker of the context WithAudit was given, claimed with this one.
	parent *auditMarker
}

// WithAudit returns a context whose next store write records entries in its own transaction: they
// commit with the write, or roll back with it. Exactly one write consumes them, the first to start
// with the context (or a context derived from it); later writes with the same context record
// nothing more. Entries an outer WithAudit attached and no write consumed yet go with them.
//
// A write consumes the entries even when it fails, so a caller that retries a failed write
// attaches its entries again. Validation that refuses a call before it writes consumes nothing. A
// write that finds its change already made — an idempotent repeat of CreateExecution or
// RequestCancel, a refresh token reuse — consumes them without writing them: the change they
// record is not this call's.
func WithAudit(ctx context.Context, entries ...AuditEntry) context.Context {
	m := &auditMarker{entries: entries}
	if parent, ok := ctx.Value(auditKey{}).(*auditMarker); ok {
		m.parent = parent
	}
	return context.WithValue(ctx, auditKey{}, m)
}

// ClaimAudit takes the audit entries of ctx that no write has taken yet, oldest first, and marks
// them taken. Store implementations call it once per write, before running the write's
// transaction, and insert the entries in that transaction.
func ClaimAudit(ctx context.Context) []AuditEntry {
	m, _ := ctx.Value(auditKey{}).(*auditMarker)
	var chain []*auditMarker
	for ; m != nil; m = m.parent {
		if !m.claimed.CompareAndSwap(false, true) {
			// Its parents were claimed with it, or by a write that came first.
			break
		}
		chain = append(chain, m)
	}
	var out []AuditEntry
	for i := len(chain) - 1; i >= 0; i-- {
		out = append(out, chain[i].entries...)
	}
	return out
}

// AuditEntries yields a tenant's audit entries that params selects, page after page, for an export
// (such as JSON lines) that must not hold the whole log in memory. params.Cursor and params.Limit
// set where it starts and the size of each read. It stops at the first error, which it yields.
func AuditEntries(ctx context.Context, s Identity, tenantID string, params ListAuditParams) iter.Seq2[AuditEntry, error] {
	return func(yield func(AuditEntry, error) bool) {
		p := params
		for {
			page, err := s.ListAudit(ctx, tenantID, p)
			if err != nil {
				yield(AuditEntry{}, err)
				return
			}
			for _, e := range page.Items {
				if !yield(e, nil) {
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			p.Cursor = page.NextCursor
		}
	}
}

// AuditPending reports whether ctx carries audit entries that no write has taken yet, without
// taking them: a store that has a faster path for writes that record no audit uses it to choose.
func AuditPending(ctx context.Context) bool {
	m, _ := ctx.Value(auditKey{}).(*auditMarker)
	return m != nil && !m.claimed.Load()
}
