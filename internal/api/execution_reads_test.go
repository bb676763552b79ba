package api_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api"
	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

// chain returns a workflow of a manual trigger followed by n chained data.set nodes (n_1 … n_n),
// each adding one small field to its input.
func chain(n int) string {
	nodes := []string{`{"id":"start","type":"trigger.manual"}`}
	var edges []string
	prev := "start"
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("n_%d", i)
		nodes = append(nodes, fmt.Sprintf(`{"id":%q,"type":"data.set","config":{"fields":{"step%d":%d}}}`, id, i, i))
		edges = append(edges, fmt.Sprintf(`{"source":%q,"target":%q}`, prev, id))
		prev = id
	}
	return `{"name":"chain","nodes":[` + strings.Join(nodes, ",") + `],"edges":[` + strings.Join(edges, ",") + `]}`
}

// detail is the part of an execution read these tests look at.
type detail struct {
	ID                 string
	Status             string
	Input              json.RawMessage
	InputPreview       string
	InputTruncated     bool
	InputBytes         int64
	Output             json.RawMessage
	OutputPreview      string
	OutputTruncated    bool
	OutputBytes        int64
	NodeRuns           []nodeRun
	NodeRunsNextCursor string
}

type nodeRun struct {
	NodeID          string
	Attempt         int
	Status          string
	InputFrom       string
	Input           json.RawMessage
	InputPreview    string
	InputTruncated  bool
	InputBytes      int64
	Output          json.RawMessage
	OutputPreview   string
	OutputTruncated bool
	OutputBytes     int64
	Error           *struct{ Message, Code string }
	ErrorTruncated  bool
	ErrorBytes      int64
	Logs            []map[string]any
	LogsTruncated   bool
	LogsBytes       int64
}

// TestBigExecutionReadIsSmall is the regression test of issue 6: a multi-megabyte input through a
// chain of data.set nodes once made the execution read return every value whole (588 MB for
// 7 MB × 40). Now the read carries previews and stays under 2 MiB, and every value is still there,
// whole, at its own endpoint.
func TestBigExecutionReadIsSmall(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	const nodes = 20
	id := create(t, s, chain(nodes))["id"].(string)
	blob := strings.Repeat("a", 2<<20)
	input := `{"blob":"` + blob + `"}`

	run := s.Do(t, "POST", "/api/v1/workflows/"+id+"/executions?wait=2m", `{"input":`+input+`}`, nil)
	require.Equal(t, 200, run.Status, run.Body[:min(len(run.Body), 2000)])
	require.LessOrEqual(t, len(run.Body), 2<<20, "the ?wait= answer is bounded too")

	var ran detail
	run.JSON(t, &ran)
	require.Equal(t, "succeeded", ran.Status)
	require.Len(t, ran.NodeRuns, nodes+1)
	require.True(t, ran.OutputTruncated)

	resp := s.Do(t, "GET", "/api/v1/executions/"+ran.ID, "", nil)
	require.Equal(t, 200, resp.Status)
	require.LessOrEqual(t, len(resp.Body), 2<<20, "an execution read is at most 2 MiB")
	require.Less(t, len(resp.Body), 300<<10, "about 8 KiB per node run")
	var d detail
	resp.JSON(t, &d)
	require.Equal(t, "succeeded", d.Status)
	require.True(t, d.InputTruncated)
	require.Nil(t, d.Input, "a large value is not sent whole")
	require.Equal(t, int64(len(input)), d.InputBytes)
	require.Equal(t, input[:4096], d.InputPreview, "the preview is the head of the JSON text")
	require.True(t, d.OutputTruncated)
	require.Greater(t, d.OutputBytes, int64(len(input)))
	require.True(t, strings.HasPrefix(d.OutputPreview, `{"blob":"aaaa`))
	require.Len(t, d.NodeRuns, nodes+1)
	require.Empty(t, d.NodeRunsNextCursor)
	for _, r := range d.NodeRuns {
		require.Equal(t, "succeeded", r.Status, r.NodeID)
		require.True(t, r.InputTruncated, r.NodeID)
		require.True(t, r.OutputTruncated, r.NodeID)
		require.Nil(t, r.Input, r.NodeID)
		require.Nil(t, r.Output, r.NodeID)
		require.Len(t, r.InputPreview, 4096, r.NodeID)
		require.Len(t, r.OutputPreview, 4096, r.NodeID)
		require.Greater(t, r.InputBytes, int64(len(blob)), r.NodeID)
		require.Greater(t, r.OutputBytes, int64(len(blob)), r.NodeID)
	}

	// The whole values, each from its own endpoint, as stored.
	whole := s.Do(t, "GET", "/api/v1/executions/"+d.ID+"/input", "", nil)
	require.Equal(t, 200, whole.Status)
	require.Equal(t, "application/json", whole.Header.Get("Content-Type"))
	require.Equal(t, strconv.FormatInt(d.InputBytes, 10), whole.Header.Get("Content-Length"))
	require.JSONEq(t, input, whole.Body)

	byNode := map[string]nodeRun{}
	for _, r := range d.NodeRuns {
		byNode[r.NodeID] = r
	}
	out := s.Do(t, "GET", "/api/v1/executions/"+d.ID+"/node-runs/n_7/attempts/1/output", "", nil)
	require.Equal(t, 200, out.Status)
	require.Equal(t, byNode["n_7"].OutputBytes, int64(len(out.Body)))
	var n7 map[string]any
	out.JSON(t, &n7)
	require.Equal(t, blob, n7["blob"])
	require.InDelta(t, 7, n7["step7"], 0)
	require.Equal(t, "n_7", byNode["n_8"].InputFrom)
	in8 := s.Do(t, "GET", "/api/v1/executions/"+d.ID+"/node-runs/n_8/attempts/1/input", "", nil)
	require.Equal(t, 200, in8.Status)
	require.Equal(t, out.Body, in8.Body, "an input kept by reference is the referenced output")
	final := s.Do(t, "GET", "/api/v1/executions/"+d.ID+"/output", "", nil)
	require.Equal(t, 200, final.Status)
	require.Equal(t, d.OutputBytes, int64(len(final.Body)))
}

// TestNodeRunPaging: the execution read carries the first 50 node runs and a cursor; the node-runs
// endpoint pages through all of them, each once.
func TestNodeRunPaging(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	const nodes = 59
	id := create(t, s, chain(nodes))["id"].(string)
	run := s.Do(t, "POST", "/api/v1/workflows/"+id+"/executions?wait=2m", `{"input":{"small":true}}`, nil)
	require.Equal(t, 200, run.Status, run.Body)
	var d detail
	run.JSON(t, &d)
	require.Len(t, d.NodeRuns, api.NodeRunsPageDefault)
	require.NotEmpty(t, d.NodeRunsNextCursor)
	require.JSONEq(t, `{"small":true}`, string(d.Input), "a small value comes whole")
	require.False(t, d.InputTruncated)
	require.Equal(t, int64(len(`{"small":true}`)), d.InputBytes)

	seen := map[string]bool{}
	for _, r := range d.NodeRuns {
		seen[r.NodeID] = true
		require.NotNil(t, r.Output, "small outputs come whole")
	}
	cursor := d.NodeRunsNextCursor
	pages := 0
	for cursor != "" {
		resp := s.Do(t, "GET", "/api/v1/executions/"+d.ID+"/node-runs?limit=4&cursor="+cursor, "", nil)
		require.Equal(t, 200, resp.Status, resp.Body)
		var page struct {
			Items      []nodeRun
			NextCursor string
		}
		resp.JSON(t, &page)
		require.LessOrEqual(t, len(page.Items), 4)
		for _, r := range page.Items {
			require.False(t, seen[r.NodeID], "%s appears once", r.NodeID)
			seen[r.NodeID] = true
		}
		cursor = page.NextCursor
		pages++
	}
	require.Equal(t, 3, pages, "10 remaining runs in pages of 4")
	require.Len(t, seen, nodes+1)

	first := s.Do(t, "GET", "/api/v1/executions/"+d.ID+"/node-runs", "", nil)
	require.Equal(t, 200, first.Status)
	var page struct {
		Items      []nodeRun
		NextCursor string
	}
	first.JSON(t, &page)
	require.Len(t, page.Items, api.NodeRunsPageDefault)
	require.Equal(t, d.NodeRunsNextCursor, page.NextCursor)
}

// TestLargeErrorsAndLogs: an error or a log list over 8 KiB comes without its details in the read,
// and whole from its endpoint.
func TestLargeErrorsAndLogs(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	key := strings.Repeat("k", 10000)
	id := create(t, s, `{"name":"loud","nodes":[{"id":"start","type":"trigger.manual"},
		{"id":"talk","type":"test.work","config":{"key":"`+key+`"}},
		{"id":"fail","type":"test.work","config":{"key":"f`+key+`","failures":1,"permanent":true}}],
		"edges":[{"source":"start","target":"talk"},{"source":"talk","target":"fail"}]}`)["id"].(string)
	run := s.Do(t, "POST", "/api/v1/workflows/"+id+"/executions?wait=2m", `{}`, nil)
	require.Equal(t, 200, run.Status, run.Body)
	var d detail
	run.JSON(t, &d)
	require.Equal(t, "failed", d.Status)
	byNode := map[string]nodeRun{}
	for _, r := range d.NodeRuns {
		byNode[r.NodeID] = r
	}

	talk := byNode["talk"]
	require.True(t, talk.LogsTruncated)
	require.Nil(t, talk.Logs)
	logs := s.Do(t, "GET", "/api/v1/executions/"+d.ID+"/node-runs/talk/attempts/1/logs", "", nil)
	require.Equal(t, 200, logs.Status)
	require.Equal(t, talk.LogsBytes, int64(len(logs.Body)))
	var entries []map[string]any
	logs.JSON(t, &entries)
	require.Equal(t, "work done", entries[0]["message"])

	fail := byNode["fail"]
	require.True(t, fail.ErrorTruncated)
	require.Equal(t, "test_failure", fail.Error.Code)
	require.Len(t, fail.Error.Message, 4096, "the message is cut to the preview size")
	full := s.Do(t, "GET", "/api/v1/executions/"+d.ID+"/node-runs/fail/attempts/1/error", "", nil)
	require.Equal(t, 200, full.Status)
	require.Equal(t, fail.ErrorBytes, int64(len(full.Body)))
	var e struct{ Message, Code string }
	full.JSON(t, &e)
	require.Equal(t, "f"+key+" failed on call 1", e.Message)

	s.Run(t, []apitest.Scenario{
		{Name: "NoOutput", Method: "GET", URL: "/api/v1/executions/" + d.ID + "/node-runs/fail/attempts/1/output", ExpectedStatus: 404,
			ExpectedContent: []string{"has no output", "urn:concertmaster:problem:not-found"}},
		{Name: "NoExecutionOutput", Method: "GET", URL: "/api/v1/executions/" + d.ID + "/output", ExpectedStatus: 404, ExpectedContent: []string{"has no output"}},
		{Name: "UnknownAttempt", Method: "GET", URL: "/api/v1/executions/" + d.ID + "/node-runs/talk/attempts/2/input", ExpectedStatus: 404},
		{Name: "UnknownNode", Method: "GET", URL: "/api/v1/executions/" + d.ID + "/node-runs/ghost/attempts/1/logs", ExpectedStatus: 404},
		{Name: "UnknownExecution", Method: "GET", URL: "/api/v1/executions/nope/input", ExpectedStatus: 404},
		{Name: "UnknownExecutionRuns", Method: "GET", URL: "/api/v1/executions/nope/node-runs", ExpectedStatus: 404},
		{Name: "AttemptZero", Method: "GET", URL: "/api/v1/executions/" + d.ID + "/node-runs/talk/attempts/0/input", ExpectedStatus: 422,
			ExpectedContent: []string{"attempt"}},
		{Name: "BadCursor", Method: "GET", URL: "/api/v1/executions/" + d.ID + "/node-runs?cursor=%21%21", ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/query/cursor"`}},
		{Name: "BadLimit", Method: "GET", URL: "/api/v1/executions/" + d.ID + "/node-runs?limit=1000", ExpectedStatus: 422},
		{Name: "SmallInputWhole", Method: "GET", URL: "/api/v1/executions/" + d.ID + "/node-runs/talk/attempts/1/input", ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"Content-Type": "application/json"}},
	})
}
