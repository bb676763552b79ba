package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// countingStore counts the engine's writes.
type countingStore struct {
	engine.RunStore
	writes atomic.Int32
}

func (s *countingStore) ApplyExecutionUpdate(ctx context.Context, tenantID string, u *store.ExecutionUpdate) error {
	s.writes.Add(1)
	return s.RunStore.ApplyExecutionUpdate(ctx, tenantID, u)
}

// chain returns a workflow of a manual trigger followed by the given node types, in a line.
func chain(name string, types ...string) string {
	nodes := []string{`{"id":"start","type":"trigger.manual"}`}
	edges := []string{}
	prev := "start"
	for i, typ := range types {
		id := fmt.Sprintf("n%d", i)
		cfg := `{"fields":{"` + id + `":true}}`
		if typ == "test.work" {
			cfg = `{"key":"` + name + `"}`
		}
		nodes = append(nodes, `{"id":"`+id+`","type":"`+typ+`","config":`+cfg+`}`)
		edges = append(edges, `{"source":"`+prev+`","target":"`+id+`"}`)
		prev = id
	}
	return `{"name":"` + name + `","nodes":[` + strings.Join(nodes, ",") + `],"edges":[` + strings.Join(edges, ",") + `]}`
}

// TestPureNodesShareOneWrite runs chains through an engine whose writes are counted: consecutive pure
// nodes are written together with the next effectful step or the end of the run, and the log stays
// complete (every node's start and end, gapless, in order, inputs kept).
func TestPureNodesShareOneWrite(t *testing.T) {
	t.Parallel()
	set := "data.set"
	tests := []struct {
		name   string
		types  []string
		writes int32
	}{
		// Everything at the end: the trigger and ten data.set.
		{"pure", []string{set, set, set, set, set, set, set, set, set, set}, 1},
		// Before test.work starts, once it has ended (with the next pure node's start), at the end.
		{"effect-in-the-middle", []string{set, "test.work", set, set}, 3},
		// An effectful first node: its start is written before it runs.
		{"effect-first", []string{"test.work", set}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			env := enginetest.Start(t, enginetest.Options{NoDispatcher: true})
			counted := &countingStore{RunStore: env.Store}
			eng, err := engine.New(engine.Config{Store: counted, Registry: env.Registry, Publisher: env.Bus})
			require.NoError(t, err)
			w := env.Save(t, chain("ckpt-"+tt.name, tt.types...))
			exec := env.Start(t, w.ID, `{"in":1}`)
			claimed, err := env.Store.ClaimExecution(ctx, store.ExecutionRef{TenantID: store.DefaultTenant, ID: exec.ID}, "w/1", time.Minute, false)
			require.NoError(t, err)
			out, err := eng.Run(ctx, claimed, "w/1", nil)
			require.NoError(t, err)
			require.Equal(t, workflow.ExecutionSucceeded, out.Status)
			require.Equal(t, tt.writes, counted.writes.Load(), "writes")

			evs := env.Events(t, exec.ID)
			started, ended := map[string]bool{}, map[string]bool{}
			for i, ev := range evs {
				require.Equal(t, int64(i+1), ev.Seq, "gapless")
				switch ev.Type {
				case engine.EventNodeStarted:
					started[ev.NodeID] = true
				case engine.EventNodeSucceeded:
					require.True(t, started[ev.NodeID], "%s ended before it started", ev.NodeID)
					ended[ev.NodeID] = true
				}
			}
			require.Len(t, ended, len(tt.types)+1, "every node's end is logged")
			require.Equal(t, engine.EventExecutionFinished, evs[len(evs)-1].Type)
			for id, r := range env.Runs(t, exec.ID) {
				require.Equal(t, workflow.NodeRunSucceeded, r.Status, id)
				require.NotNil(t, r.StartedAt, "%s keeps its start time", id)
				require.True(t, len(r.Input) > 0 || r.InputFrom != "", "%s keeps its input", id)
			}
		})
	}
}
