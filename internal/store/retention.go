package store

import "time"

// RetentionWorkflow is a workflow as the retention pruner sees it: its key and its own retention
// rule. A deleted workflow has no rule of its own: the server's rules apply to its executions.
type RetentionWorkflow struct {
	TenantID   string
	WorkflowID string
	// Deleted tells whether the workflow was deleted.
	Deleted bool
	// MaxAge is the workflow's own maximum age of finished executions; zero means none.
	MaxAge time.Duration
	// MaxExecutions is the workflow's own cap on finished executions; zero means none.
	MaxExecutions int
}

// ListRetentionWorkflowsParams pages ListRetentionWorkflows, whose workflows come ordered by tenant
// and id.
type ListRetentionWorkflowsParams struct {
	// AfterTenantID and AfterWorkflowID continue a listing past this workflow.
	AfterTenantID, AfterWorkflowID string
	// Limit is the page size (1 to 1000; 0 means 100).
	Limit int
}

// PruneParams selects the finished (succeeded, failed or canceled) executions of one workflow that one
// PruneExecutions call deletes; queued, running and waiting executions are never selected.
type PruneParams struct {
	TenantID   string
	WorkflowID string
	// FinishedBefore selects the executions that finished before it; it must be set.
	FinishedBefore time.Time
	// Limit bounds the executions one call deletes, oldest first (1 to 10000; 0 means 500).
	Limit int
}

// PruneResult counts what PruneExecutions deleted.
type PruneResult struct {
	Executions int64
	NodeRuns   int64
	Events     int64
}

// Add adds o to r.
func (r *PruneResult) Add(o PruneResult) {
	r.Executions += o.Executions
	r.NodeRuns += o.NodeRuns
	r.Events += o.Events
}
