package live_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

// TestWebSocketResumeAfterTheEnd: a client that resumes a finished execution after its last event
// (its connection dropped between execution.finished and complete), or from a time after it, is told
// complete at once instead of being left live on an execution that will say nothing more — what the
// SSE stream answers with 204.
func TestWebSocketResumeAfterTheEnd(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := s.Save(t, chain(2))
	exec := s.Env.Run(t, w.ID, `{}`)
	stored := s.Events(t, exec.ID)
	last := stored[len(stored)-1]
	require.Equal(t, "execution.finished", last.Type)

	for name, sub := range map[string]map[string]any{
		"AfterTheLastSeq": {"afterSeq": last.Seq},
		"BeyondIt":        {"afterSeq": last.Seq + 10},
		"SinceAfterIt":    {"since": last.Time.Add(time.Second)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cl := dial(t, s)
			sub["type"], sub["id"], sub["executionId"] = "subscribe", "x", exec.ID
			cl.send(sub)
			ms := cl.until(func(m msg) bool { return m.Type == "complete" })
			require.Equal(t, []string{"subscribed", "complete"}, types(ms))
			require.Equal(t, exec.ID, ms[1].ExecutionID)
		})
	}
}

func types(ms []msg) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Type
	}
	return out
}
