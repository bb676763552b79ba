package builtin_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
)

// TestOutputSchemas checks the output schemas the editor completes from: each is a JSON object, its
// x-cm-fields and x-cm-keep-input name configuration properties of the type, and the common types
// have one.
func TestOutputSchemas(t *testing.T) {
	t.Parallel()
	have := map[node.TypeName]bool{}
	for _, typ := range registry(t) {
		if len(typ.Info.Output) == 0 {
			continue
		}
		have[typ.Info.Type] = true
		var out map[string]any
		require.NoError(t, json.Unmarshal(typ.Info.Output, &out), "%s: Output is a JSON object", typ.Info.Type)
		var config struct {
			Properties map[string]any `json:"properties"`
		}
		require.NoError(t, json.Unmarshal(typ.Info.Schema, &config))
		for _, k := range []string{"x-cm-fields", "x-cm-keep-input"} {
			if key, ok := out[k]; ok {
				require.Contains(t, config.Properties, key, "%s: %s names a configuration property", typ.Info.Type, k)
			}
		}
		if pt, ok := out["x-cm-passthrough"]; ok {
			require.Equal(t, true, pt, "%s", typ.Info.Type)
		}
	}
	for _, name := range []node.TypeName{"trigger.webhook", "trigger.schedule", "trigger.error", "http.request", "data.set", "flow.if", "flow.switch"} {
		require.True(t, have[name], "%s has an output schema", name)
	}
}
