package sqlnode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// TestWorkflows runs the SQL node types the way the server does: a credential in the vault, a saved
// workflow whose params are expressions over the trigger, the engine evaluating them (the query, a
// lazy key, reaches the node as written).
func TestWorkflows(t *testing.T) {
	t.Parallel()
	families := []struct {
		name, env, hostPort, credType, placeholder string
	}{
		{"postgres", "CM_TEST_DATABASE_URL", "127.0.0.1:5432", "postgres", "$%d"},
		{"mysql", "CM_TEST_MYSQL_URL", "127.0.0.1:3306", "mysql", "?"},
	}
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			t.Parallel()
			url := conntest.ServerURL(t, fam.env, fam.hostPort)
			env := enginetest.Start(t, enginetest.Options{})
			ctx := context.Background()
			cred, err := env.Credentials.Create(ctx, store.DefaultTenant, "db", fam.credType, map[string]any{"url": url})
			require.NoError(t, err)
			ph := func(i int) string {
				if fam.placeholder == "?" {
					return "?"
				}
				return fmt.Sprintf(fam.placeholder, i)
			}
			tbl := "cm_sql_wf_" + suffix(t)
			def := map[string]any{"name": "sql " + fam.name, "nodes": []any{
				map[string]any{"id": "start", "type": "trigger.manual"},
				map[string]any{"id": "create", "type": fam.name + ".execute", "config": map[string]any{"credential": cred.ID,
					"query": "create table " + tbl + " (id int primary key, name varchar(100))"}},
				map[string]any{"id": "insert", "type": fam.name + ".execute", "config": map[string]any{"credential": cred.ID,
					"query": "insert into " + tbl + " (id, name) values (" + ph(1) + ", " + ph(2) + ")", "paramKeys": []any{"id", "name"},
					"batch": "{{ trigger.items }}"}},
				map[string]any{"id": "select", "type": fam.name + ".query", "config": map[string]any{"credential": cred.ID,
					"query": "select id, name from " + tbl + " where id >= " + ph(1) + " order by id", "params": []any{"{{ trigger.from }}"}}},
				map[string]any{"id": "drop", "type": fam.name + ".execute", "config": map[string]any{"credential": cred.ID, "query": "drop table " + tbl}},
			}, "edges": []any{
				map[string]any{"source": "start", "target": "create"}, map[string]any{"source": "create", "target": "insert"},
				map[string]any{"source": "insert", "target": "select"}, map[string]any{"source": "select", "target": "drop"},
			}}
			b, err := json.Marshal(def)
			require.NoError(t, err)
			w := env.Save(t, string(b))
			exec := env.Run(t, w.ID, `{"from": 2, "items": [{"id": 1, "name": "a"}, {"id": 2, "name": "'; drop table `+tbl+`; --"}, {"id": 3, "name": "c"}]}`)
			runs := env.Runs(t, exec.ID)
			require.Equal(t, workflow.ExecutionSucceeded, exec.Status, "%+v", runs)
			var inserted, selected map[string]any
			require.NoError(t, json.Unmarshal(runs["insert"].Output, &inserted))
			require.InDelta(t, 3, inserted["rowsAffected"], 0)
			require.NoError(t, json.Unmarshal(runs["select"].Output, &selected))
			require.Equal(t, []any{
				map[string]any{"id": 2.0, "name": "'; drop table " + tbl + "; --"},
				map[string]any{"id": 3.0, "name": "c"},
			}, selected["rows"])

			// A template in the query is saved (it compiles) but never evaluated: the run fails.
			def["nodes"] = []any{
				map[string]any{"id": "start", "type": "trigger.manual"},
				map[string]any{"id": "select", "type": fam.name + ".query", "config": map[string]any{"credential": cred.ID,
					"query": "select * from t where id = {{ trigger.id }}"}},
			}
			def["edges"] = []any{map[string]any{"source": "start", "target": "select"}}
			b, err = json.Marshal(def)
			require.NoError(t, err)
			w = env.Save(t, string(b))
			exec = env.Run(t, w.ID, `{"id": "1 or 1=1"}`)
			require.Equal(t, workflow.ExecutionFailed, exec.Status)
			runs = env.Runs(t, exec.ID)
			require.NotNil(t, runs["select"].Error)
			require.Equal(t, "invalid_config", runs["select"].Error.Code)
		})
	}
}
