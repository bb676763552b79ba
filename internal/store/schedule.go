package store

import "time"

// Schedule is a schedule trigger of an active workflow and when it fires next. The store keeps one per
// schedule trigger node of each active workflow, written in the transaction that activates,
// deactivates, updates or deletes the workflow, as it does webhook routes.
type Schedule struct {
	TenantID   string
	WorkflowID string
	NodeID     string
	// Version is the workflow version the schedule belongs to (set by the store).
	Version int
	// Spec is the trigger's configuration as the scheduler reads it (JSON). A save that keeps a
	// node's Spec keeps its NextFireAt and LastFireAt; one that changes it takes the new NextFireAt.
	Spec string
	// NextFireAt is the next fire time.
	NextFireAt time.Time
	// LastFireAt is when the schedule last started a run, nil if never.
	LastFireAt *time.Time
}

// FireScheduleParams moves a schedule past a fire time.
type FireScheduleParams struct {
	TenantID, WorkflowID, NodeID string
	// Due is the NextFireAt the caller read: the move happens only while it is still the current one.
	Due time.Time
	// Next is the new NextFireAt.
	Next time.Time
	// FiredAt, when set, becomes LastFireAt; a fire time skipped without a run leaves it nil.
	FiredAt *time.Time
}

// ListDueSchedulesParams selects ListDueSchedules' schedules.
type ListDueSchedulesParams struct {
	// Now selects the schedules whose NextFireAt is not after it.
	Now time.Time
	// Limit caps the result (1 to 1000; 0 means 100).
	Limit int
}
