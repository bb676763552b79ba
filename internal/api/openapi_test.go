package api_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestOpenAPIGolden keeps testdata/openapi.golden.json equal to the served document, so that every
// API change shows in review and the web app's generated types follow it.
func TestOpenAPIGolden(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	resp := s.Do(t, "GET", "/openapi.json", "", nil)
	require.Equal(t, 200, resp.Status)
	var doc map[string]any
	resp.JSON(t, &doc)
	require.Equal(t, "3.1.0", doc["openapi"])
	doc["info"].(map[string]any)["version"] = "golden"
	got, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	golden := filepath.Join("testdata", "openapi.golden.json")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./internal/api -run TestOpenAPIGolden -update")
	require.JSONEq(t, string(want), string(got), "the OpenAPI document changed: review it and run with -update")

	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/node-types", "/api/v1/node-types/{type}", "/api/v1/workflows", "/api/v1/workflows/{id}",
		"/api/v1/workflows/validate", "/api/v1/workflows/{id}/versions", "/api/v1/workflows/{id}/activate", "/api/v1/workflows/{id}/deactivate",
		"/api/v1/workflows/{id}/executions", "/api/v1/executions", "/api/v1/executions/{id}", "/api/v1/executions/{id}/cancel",
		"/api/v1/executions/{id}/retry", "/api/v1/executions/{id}/events", "/hooks/{path}", "/healthz", "/readyz", "/metrics"} {
		require.Contains(t, paths, p, "every route is documented")
	}
}
