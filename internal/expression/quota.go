package expression

import (
	"errors"
	"fmt"
	"sync"

	"github.com/concertmaster/concertmaster/internal/budget"
)

// ErrQuota is wrapped by the errors of a Compile refused because the workflow's Quota is spent.
var ErrQuota = errors.New("expression quota exceeded")

// Defaults for Quota.
const (
	QuotaSourceDefault = 128 << 10
	QuotaNodesDefault  = 20_000
)

// Quota bounds what the expressions of one workflow may hold in total, so that validating or saving a
// workflow costs milliseconds whatever it contains. Every Compile given the same Quota counts against
// it, cached templates included, so the answer does not depend on what the cache holds. It is safe
// for concurrent use.
type Quota struct {
	// MaxSource is the total expression source, in bytes (default 128 KiB).
	MaxSource int
	// MaxNodes is the total of the expressions' syntax trees, in nodes (default 20,000).
	MaxNodes int

	mu        sync.Mutex
	source    int
	nodes     int
	exhausted bool
}

func (q *Quota) limits() (int, int) {
	src, nodes := q.MaxSource, q.MaxNodes
	if src <= 0 {
		src = QuotaSourceDefault
	}
	if nodes <= 0 {
		nodes = QuotaNodesDefault
	}
	return src, nodes
}

// reserveSource counts n bytes of expression source, refusing when the total would pass the quota.
func (q *Quota) reserveSource(n int) error {
	if q == nil {
		return nil
	}
	maxSource, _ := q.limits()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.source+n > maxSource {
		q.exhausted = true
		return fmt.Errorf("brings the workflow's expressions to over %s of source, the limit per workflow: %w", budget.Bytes(int64(maxSource)), ErrQuota)
	}
	q.source += n
	return nil
}

// reserveNodes counts n syntax nodes, refusing when the total would pass the quota.
func (q *Quota) reserveNodes(n int) error {
	if q == nil {
		return nil
	}
	_, maxNodes := q.limits()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.nodes+n > maxNodes {
		q.exhausted = true
		return fmt.Errorf("brings the workflow's expressions to over %d syntax nodes, the limit per workflow: %w", maxNodes, ErrQuota)
	}
	q.nodes += n
	return nil
}

// charge counts a compiled template.
func (q *Quota) charge(t *Template) error {
	if q == nil {
		return nil
	}
	if err := q.reserveSource(t.srcBytes); err != nil {
		return err
	}
	return q.reserveNodes(t.astNodes)
}

// Used returns the expression source bytes and syntax nodes counted so far.
func (q *Quota) Used() (source, nodes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.source, q.nodes
}

func quotaSource(q *Quota) int {
	src, _ := q.limits()
	return src
}

// Exhausted reports whether a Compile was refused for want of quota; a caller then need not compile
// the workflow's remaining expressions to know that it is refused.
func (q *Quota) Exhausted() bool {
	if q == nil {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.exhausted
}

func (q *Quota) markExhausted() {
	q.mu.Lock()
	q.exhausted = true
	q.mu.Unlock()
}
