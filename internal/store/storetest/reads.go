package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// bigJSON returns a JSON object of about size bytes whose string is made of three-byte characters,
// so that a cut in bytes can fall inside one.
func bigJSON(size int) json.RawMessage {
	return json.RawMessage(`{"s":"` + strings.Repeat("€", size/3) + `"}`)
}

// requirePreview checks that p is the head of whole, cut at a character boundary within n bytes.
func requirePreview(t *testing.T, whole []byte, n int, p store.ValuePreview) {
	t.Helper()
	require.Equal(t, int64(len(whole)), p.Bytes)
	require.True(t, utf8.ValidString(p.Head), "the head is cut between characters")
	require.True(t, strings.HasPrefix(string(whole), p.Head))
	if len(whole) <= n {
		require.Equal(t, string(whole), p.Head)
		require.False(t, p.Truncated())
		return
	}
	require.True(t, p.Truncated())
	require.LessOrEqual(t, len(p.Head), n)
	require.Greater(t, len(p.Head), n-utf8.UTFMax, "the head is as long as the bound allows")
}

// bigExecution creates an execution with a large input, a large output and node runs of every
// shape: an input kept by reference, a retried node, a large error and large logs.
func bigExecution(t *testing.T, s store.Store, tenant string) (*store.Execution, map[string]json.RawMessage) {
	t.Helper()
	ctx := context.Background()
	wf := NewID()
	_, err := s.CreateWorkflow(ctx, tenant, wf, Definition("big"))
	require.NoError(t, err)
	input := bigJSON(20000)
	exec, _, err := s.CreateExecution(ctx, tenant, store.CreateExecutionParams{
		ID: NewID(), WorkflowID: wf, WorkflowVersion: 1, TriggerKind: store.TriggerManual, TriggerNode: "start", Input: input,
		Events: []store.Event{{Type: "execution.queued", Time: time.Now()}},
	})
	require.NoError(t, err)
	_, err = s.ClaimExecution(ctx, store.ExecutionRef{TenantID: tenant, ID: exec.ID}, "w", time.Minute, false)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Millisecond)
	bigErr := &store.NodeError{Message: "upstream answered 500", Code: "http_status", Details: bigJSON(30000)}
	errJSON, err := json.Marshal(bigErr)
	require.NoError(t, err)
	logs := make([]store.LogEntry, 50)
	for i := range logs {
		logs[i] = store.LogEntry{Time: now, Level: "INFO", Message: strings.Repeat("l", 400)}
	}
	logsJSON, err := json.Marshal(logs)
	require.NoError(t, err)
	fetched, output := bigJSON(12000), bigJSON(9000)
	err = s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{
		ExecutionID: exec.ID, Owner: "w",
		From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, To: workflow.ExecutionSucceeded, SetFinishedAt: &now, Output: output,
		NodeRuns: []store.NodeRun{
			{NodeID: "start", Attempt: 1, Status: workflow.NodeRunSucceeded, Input: input, Output: input, StartedAt: &now, FinishedAt: &now},
			{NodeID: "fetch", Attempt: 1, Status: workflow.NodeRunFailed, InputFrom: "start", Error: bigErr, Logs: logs, StartedAt: &now, FinishedAt: &now},
			{NodeID: "fetch", Attempt: 2, Status: workflow.NodeRunSucceeded, InputFrom: "start", Output: fetched, Port: "out",
				Error: nil, Logs: []store.LogEntry{{Time: now, Level: "INFO", Message: "ok"}}, StartedAt: &now, FinishedAt: &now},
			{NodeID: "last", Attempt: 1, Status: workflow.NodeRunSucceeded, InputFrom: "fetch", Output: output, StartedAt: &now, FinishedAt: &now},
			{NodeID: "small", Attempt: 1, Status: workflow.NodeRunFailed, Input: json.RawMessage(`{"a":1}`),
				Error: &store.NodeError{Message: "nope", Code: "x", Details: json.RawMessage(`{"why":"small"}`)}, StartedAt: &now, FinishedAt: &now},
			{NodeID: "waiting", Attempt: 1, Status: workflow.NodeRunPending},
		},
		Events: []store.Event{{Seq: 2, Type: "execution.finished", Time: now}},
	})
	require.NoError(t, err)
	return exec, map[string]json.RawMessage{"input": input, "output": output, "fetched": fetched, "error": errJSON, "logs": logsJSON}
}

func testExecutionPreview(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	exec, values := bigExecution(t, s, tenant)

	// Up to the stored head's size, and past it (read from the value itself), and past the bound.
	for _, n := range []int{1, 100, 101, 4096, 5000, store.PreviewBytesMax + 1} {
		p, err := s.GetExecutionPreview(ctx, tenant, exec.ID, n)
		require.NoError(t, err)
		require.Equal(t, workflow.ExecutionSucceeded, p.Status)
		require.Equal(t, int64(2), p.LastSeq)
		require.Empty(t, p.Input, "the whole input is not read")
		require.Empty(t, p.Output)
		requirePreview(t, values["input"], n, p.InputPreview)
		requirePreview(t, values["output"], n, p.OutputPreview)
	}
	p, err := s.GetExecutionPreview(ctx, tenant, exec.ID, 0)
	require.NoError(t, err)
	requirePreview(t, values["input"], store.PreviewBytesDefault, p.InputPreview)

	// A small value comes whole; a missing one has no bytes.
	queued := NewExecution(t, s, tenant)
	p, err = s.GetExecutionPreview(ctx, tenant, queued.ID, 0)
	require.NoError(t, err)
	require.Equal(t, `{"n":1}`, p.InputPreview.Head)
	require.False(t, p.InputPreview.Truncated())
	require.Equal(t, store.ValuePreview{}, p.OutputPreview)
	require.Equal(t, workflow.ExecutionQueued, p.Status)

	_, err = s.GetExecutionPreview(ctx, tenant, NewID(), 0)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetExecutionPreview(ctx, "tenant-"+NewID(), exec.ID, 0)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testNodeRunSummaries(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	exec, values := bigExecution(t, s, tenant)
	const n = 200

	var all []store.NodeRunSummary
	cursor := ""
	pages := 0
	for {
		page, err := s.ListNodeRunSummaries(ctx, tenant, exec.ID, store.ListNodeRunSummariesParams{PreviewBytes: n, Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Items), 2)
		all = append(all, page.Items...)
		pages++
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	require.Equal(t, 3, pages)
	keys := make([]string, len(all))
	for i, r := range all {
		keys[i] = r.NodeID + "#" + string(rune('0'+r.Attempt))
	}
	require.Equal(t, []string{"fetch#1", "fetch#2", "last#1", "small#1", "start#1", "waiting#1"}, keys, "by node and attempt")
	by := map[string]store.NodeRunSummary{}
	for i, r := range all {
		by[keys[i]] = r
	}

	start := by["start#1"]
	requirePreview(t, values["input"], n, start.Input)
	requirePreview(t, values["input"], n, start.Output)

	fetch1 := by["fetch#1"]
	require.Equal(t, "start", fetch1.InputFrom)
	requirePreview(t, values["input"], n, fetch1.Input)
	require.Equal(t, store.ValuePreview{}, fetch1.Output)
	require.True(t, fetch1.ErrorTruncated)
	require.Equal(t, int64(len(values["error"])), fetch1.ErrorBytes)
	require.Equal(t, "upstream answered 500", fetch1.Error.Message)
	require.Equal(t, "http_status", fetch1.Error.Code)
	require.Nil(t, fetch1.Error.Details, "large details stay in the store")
	require.True(t, fetch1.LogsTruncated)
	require.Nil(t, fetch1.Logs)
	require.Equal(t, int64(len(values["logs"])), fetch1.LogsBytes)

	fetch2 := by["fetch#2"]
	require.Equal(t, workflow.NodeRunSucceeded, fetch2.Status)
	require.Equal(t, "out", fetch2.Port)
	requirePreview(t, values["fetched"], n, fetch2.Output)
	require.Nil(t, fetch2.Error)
	require.False(t, fetch2.LogsTruncated)
	require.Len(t, fetch2.Logs, 1)
	require.NotNil(t, fetch2.StartedAt)
	require.NotNil(t, fetch2.FinishedAt)

	last := by["last#1"]
	require.Equal(t, "fetch", last.InputFrom)
	requirePreview(t, values["fetched"], n, last.Input) // the referenced node's last attempt with an output

	small := by["small#1"]
	require.Equal(t, `{"a":1}`, small.Input.Head)
	require.False(t, small.ErrorTruncated)
	require.JSONEq(t, `{"why":"small"}`, string(small.Error.Details))
	require.Equal(t, "nope", small.Error.Message)

	waiting := by["waiting#1"]
	require.Equal(t, workflow.NodeRunPending, waiting.Status)
	require.Equal(t, store.ValuePreview{}, waiting.Input)
	require.Nil(t, waiting.Error)
	require.Nil(t, waiting.StartedAt)

	// Previews larger than the stored heads come from the values themselves.
	page, err := s.ListNodeRunSummaries(ctx, tenant, exec.ID, store.ListNodeRunSummariesParams{PreviewBytes: 6000})
	require.NoError(t, err)
	require.Len(t, page.Items, 6)
	requirePreview(t, values["input"], 6000, page.Items[4].Input)
	requirePreview(t, values["fetched"], 6000, page.Items[2].Input)
	requirePreview(t, values["fetched"], 6000, page.Items[1].Output)

	// The defaults: one page, previews of the default size.
	page, err = s.ListNodeRunSummaries(ctx, tenant, exec.ID, store.ListNodeRunSummariesParams{})
	require.NoError(t, err)
	require.Len(t, page.Items, 6)
	require.Empty(t, page.NextCursor)
	requirePreview(t, values["input"], store.PreviewBytesDefault, page.Items[4].Input)

	_, err = s.ListNodeRunSummaries(ctx, tenant, exec.ID, store.ListNodeRunSummariesParams{Cursor: "!!"})
	require.ErrorIs(t, err, store.ErrInvalidInput)
	_, err = s.ListNodeRunSummaries(ctx, tenant, NewID(), store.ListNodeRunSummariesParams{})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.ListNodeRunSummaries(ctx, "tenant-"+NewID(), exec.ID, store.ListNodeRunSummariesParams{})
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testGetValue(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tenant = store.DefaultTenant
	exec, values := bigExecution(t, s, tenant)
	ref := func(node string, attempt int, f store.ValueField) store.ValueRef {
		return store.ValueRef{ExecutionID: exec.ID, NodeID: node, Attempt: attempt, Field: f}
	}
	tests := []struct {
		name string
		ref  store.ValueRef
		want json.RawMessage
		err  error
	}{
		{"ExecutionInput", ref("", 0, store.ValueInput), values["input"], nil},
		{"ExecutionLogs", ref("", 0, store.ValueLogs), nil, store.ErrInvalidInput},
		{"ExecutionOutput", ref("", 0, store.ValueOutput), values["output"], nil},
		{"InputByReference", ref("last", 1, store.ValueInput), values["fetched"], nil},
		{"InputOfTrigger", ref("start", 1, store.ValueInput), values["input"], nil},
		{"MissingValue", ref("fetch", 1, store.ValueOutput), nil, store.ErrNotFound},
		{"NodeError", ref("fetch", 1, store.ValueError), values["error"], nil},
		{"NodeLogs", ref("fetch", 1, store.ValueLogs), values["logs"], nil},
		{"NodeOutput", ref("fetch", 2, store.ValueOutput), values["fetched"], nil},
		{"UnknownAttempt", ref("fetch", 3, store.ValueOutput), nil, store.ErrNotFound},
		{"UnknownExecution", store.ValueRef{ExecutionID: NewID(), Field: store.ValueInput}, nil, store.ErrNotFound},
		{"UnknownField", ref("fetch", 1, "secrets"), nil, store.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.GetValue(ctx, tenant, tt.ref)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.JSONEq(t, string(tt.want), got)
		})
	}
	_, err := s.GetValue(ctx, "tenant-"+NewID(), ref("", 0, store.ValueInput))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetValue(ctx, "tenant-"+NewID(), ref("start", 1, store.ValueInput))
	require.ErrorIs(t, err, store.ErrNotFound)
}

// testExecutionLevelEvents: a replay by time returns the execution-level events of a tenant's or a
// workflow's executions in (time, execution, seq) order, pages on from a cursor, and nothing else.
func testExecutionLevelEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	tenant := "live-" + NewID()
	require.NoError(t, s.CreateTenant(ctx, tenant, "Live"))
	base := time.Now().UTC().Truncate(time.Millisecond)
	wfA, wfB := NewID(), NewID()
	for _, wf := range []string{wfA, wfB} {
		_, err := s.CreateWorkflow(ctx, tenant, wf, Definition("live"))
		require.NoError(t, err)
	}
	// Three executions whose events interleave in time; node events are left out of the replay.
	type exec struct {
		wf    string
		start time.Duration
	}
	var ids []string
	for _, e := range []exec{{wfA, 0}, {wfB, time.Millisecond}, {wfA, 2 * time.Millisecond}} {
		id := NewID()
		ids = append(ids, id)
		_, _, err := s.CreateExecution(ctx, tenant, store.CreateExecutionParams{
			ID: id, WorkflowID: e.wf, WorkflowVersion: 1, TriggerKind: store.TriggerManual, TriggerNode: "start",
			Events: []store.Event{{Type: "execution.queued", Time: base.Add(e.start)}},
		})
		require.NoError(t, err)
		_, err = s.ClaimExecution(ctx, store.ExecutionRef{TenantID: tenant, ID: id}, "w", time.Minute, false)
		require.NoError(t, err)
		require.NoError(t, s.ApplyExecutionUpdate(ctx, tenant, &store.ExecutionUpdate{ExecutionID: id, Owner: "w",
			Events: []store.Event{
				{Seq: 2, Type: "execution.started", Time: base.Add(e.start + 10*time.Millisecond)},
				{Seq: 3, Type: "node.started", NodeID: "set", Attempt: 1, Time: base.Add(e.start + 11*time.Millisecond)},
			}}))
	}
	names := func(evs []store.WorkflowEvent) []string {
		var out []string
		for _, ev := range evs {
			require.True(t, strings.HasPrefix(ev.Type, "execution."))
			out = append(out, fmt.Sprintf("%d %s", slices.Index(ids, ev.ExecutionID), ev.Type))
		}
		return out
	}

	all, err := s.ListExecutionLevelEvents(ctx, tenant, store.ExecutionLevelEventsParams{Since: base})
	require.NoError(t, err)
	require.Equal(t, []string{"0 execution.queued", "1 execution.queued", "2 execution.queued",
		"0 execution.started", "1 execution.started", "2 execution.started"}, names(all))
	require.Equal(t, wfB, all[1].WorkflowID)
	require.Equal(t, base.Add(time.Millisecond), all[1].Time.UTC())

	byWorkflow, err := s.ListExecutionLevelEvents(ctx, tenant, store.ExecutionLevelEventsParams{WorkflowID: wfA, Since: base.Add(time.Millisecond)})
	require.NoError(t, err)
	require.Equal(t, []string{"2 execution.queued", "0 execution.started", "2 execution.started"}, names(byWorkflow), "since is inclusive")

	// Paging from a cursor reads the same sequence, each event once.
	var paged []store.WorkflowEvent
	var after *store.EventCursor
	for {
		page, err := s.ListExecutionLevelEvents(ctx, tenant, store.ExecutionLevelEventsParams{Since: base, After: after, Limit: 2})
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		c := page[len(page)-1].Cursor()
		after = &c
	}
	require.Equal(t, names(all), names(paged))

	other, err := s.ListExecutionLevelEvents(ctx, "other-"+tenant, store.ExecutionLevelEventsParams{Since: base})
	require.NoError(t, err)
	require.Empty(t, other, "tenants are isolated")
	_, err = s.ListExecutionLevelEvents(ctx, tenant, store.ExecutionLevelEventsParams{WorkflowID: "a\x00b"})
	require.ErrorIs(t, err, store.ErrInvalidInput)
}
