package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/store"
)

// payloadHeadsMigration is the migration that stores each input and output's size and head.
const payloadHeadsMigration = 3

// UpgradeToPayloadHeads checks the migration that keeps each payload's size and head beside it: it
// builds the schema as it was before (the dialect's earlier migrations, applied to db directly),
// writes rows the way the earlier code did, then opens the store, which migrates, and reads them back
// through previews, summaries and whole values. now is the dialect's literal for a timestamp.
func UpgradeToPayloadHeads(t *testing.T, db *sql.DB, migrations fs.FS, now string, open func() store.Store) {
	t.Helper()
	ctx := context.Background()
	files, err := fs.Glob(migrations, "*.up.sql")
	require.NoError(t, err)
	sort.Strings(files)
	_, err = db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS cm_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
	require.NoError(t, err)
	for _, f := range files {
		version, err := strconv.Atoi(strings.SplitN(f, "_", 2)[0])
		require.NoError(t, err)
		if version >= payloadHeadsMigration {
			break
		}
		body, err := fs.ReadFile(migrations, f)
		require.NoError(t, err)
		for _, stmt := range strings.Split(string(body), ";\n") {
			if strings.TrimSpace(stripSQLComments(stmt)) != "" {
				_, err := db.ExecContext(ctx, stmt)
				require.NoError(t, err, "%s: %s", f, stmt)
			}
		}
		_, err = db.ExecContext(ctx, `INSERT INTO cm_migrations (version, name, applied_at) VALUES (`+strconv.Itoa(version)+`, '`+f+`', 'test')`)
		require.NoError(t, err)
	}

	big := `{"blob":"` + strings.Repeat("é", 6000) + `"}` // 12 kB, over the head size in bytes and in characters
	next := `{"blob":"x","n":2}`
	def := `{"name":"old","nodes":[{"id":"start","type":"trigger.manual"}],"edges":[]}`
	for _, stmt := range []string{
		`INSERT INTO workflows (tenant_id, id, name, description, active, version, node_count, definition, created_at, updated_at)
			VALUES ('default', 'wf-old', 'old', '', FALSE, 1, 1, '` + def + `', ` + now + `, ` + now + `)`,
		`INSERT INTO workflow_versions (tenant_id, workflow_id, version, definition, created_at) VALUES ('default', 'wf-old', 1, '` + def + `', ` + now + `)`,
		`INSERT INTO executions (tenant_id, id, workflow_id, workflow_version, status, trigger_kind, trigger_node, input, output, created_at)
			VALUES ('default', 'exec-old', 'wf-old', 1, 'succeeded', 'manual', 'start', '` + big + `', '` + next + `', ` + now + `)`,
		`INSERT INTO node_runs (tenant_id, execution_id, node_id, attempt, status, input, input_from, output)
			VALUES ('default', 'exec-old', 'start', 1, 'succeeded', '` + big + `', NULL, '` + big + `')`,
		`INSERT INTO node_runs (tenant_id, execution_id, node_id, attempt, status, input, input_from, output)
			VALUES ('default', 'exec-old', 'zz', 1, 'succeeded', NULL, 'start', '` + next + `')`,
	} {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err, stmt)
	}

	s := open()
	w, err := s.GetWorkflow(ctx, store.DefaultTenant, "wf-old")
	require.NoError(t, err)
	require.Equal(t, "old", w.Definition.Name)
	versions, err := s.ListWorkflowVersions(ctx, store.DefaultTenant, "wf-old", store.ListVersionsParams{})
	require.NoError(t, err)
	require.Len(t, versions.Items, 1)

	p, err := s.GetExecutionPreview(ctx, store.DefaultTenant, "exec-old", 0)
	require.NoError(t, err)
	requirePreview(t, []byte(big), store.PreviewBytesDefault, p.InputPreview)
	require.Equal(t, next, p.OutputPreview.Head)
	require.Equal(t, "start", p.TriggerNode)

	runs, err := s.ListNodeRunSummaries(ctx, store.DefaultTenant, "exec-old", store.ListNodeRunSummariesParams{PreviewBytes: 100})
	require.NoError(t, err)
	require.Len(t, runs.Items, 2)
	requirePreview(t, []byte(big), 100, runs.Items[0].Input)
	requirePreview(t, []byte(big), 100, runs.Items[0].Output)
	requirePreview(t, []byte(big), 100, runs.Items[1].Input)
	require.Equal(t, next, runs.Items[1].Output.Head)

	whole, err := s.GetValue(ctx, store.DefaultTenant, store.ValueRef{ExecutionID: "exec-old", NodeID: "zz", Attempt: 1, Field: store.ValueInput})
	require.NoError(t, err)
	require.Equal(t, big, whole)
	old, err := s.GetExecution(ctx, store.DefaultTenant, "exec-old")
	require.NoError(t, err)
	require.JSONEq(t, big, string(old.Input))

	// New rows are written with their heads.
	exec, _, err := s.CreateExecution(ctx, store.DefaultTenant, store.CreateExecutionParams{
		ID: NewID(), WorkflowID: "wf-old", WorkflowVersion: 1, TriggerKind: store.TriggerManual, Input: json.RawMessage(big),
	})
	require.NoError(t, err)
	p, err = s.GetExecutionPreview(ctx, store.DefaultTenant, exec.ID, 0)
	require.NoError(t, err)
	requirePreview(t, []byte(big), store.PreviewBytesDefault, p.InputPreview)
}

func stripSQLComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
