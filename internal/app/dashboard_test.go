package app_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// metricName matches the ConcertMaster series a PromQL expression names.
var metricName = regexp.MustCompile(`concertmaster_[a-z0-9_]+`)

// checkDashboard checks that deploy/grafana-dashboard.json is valid JSON and that every metric its
// panels query is in metricsText, the /metrics output of a running server (a histogram's _bucket,
// _sum and _count series by the histogram's name).
func checkDashboard(t *testing.T, metricsText string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana-dashboard.json"))
	require.NoError(t, err)
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &dash), "the dashboard is valid JSON")
	require.NotEmpty(t, dash.Title)
	types := map[string]string{}
	for line := range strings.SplitSeq(metricsText, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
	}
	queried := 0
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q queries something", p.Title)
		for _, target := range p.Targets {
			names := metricName.FindAllString(target.Expr, -1)
			require.NotEmpty(t, names, "panel %q: %s", p.Title, target.Expr)
			for _, name := range names {
				queried++
				if _, ok := types[name]; ok {
					continue
				}
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
				require.Equal(t, "histogram", types[base], "panel %q queries %s, which /metrics does not serve", p.Title, name)
			}
		}
	}
	require.Greater(t, queried, 10)
}
