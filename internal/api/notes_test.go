package api_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

// TestNotes: sticky notes save with the workflow, come back on reads and in every version, and bad
// ones are refused at their JSON pointers; runs ignore them.
func TestNotes(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	withNotes := strings.Replace(orderFlow, `"name":"orders"`,
		`"name":"orders","notes":[{"id":"n1","text":"# Read me\n\n**big** orders go up","position":{"x":-300,"y":10},"width":320,"height":200,"color":"green"}]`, 1)
	w := create(t, s, withNotes)
	id := w["id"].(string)
	note := `"notes":[{"id":"n1","text":"# Read me\n\n**big** orders go up","position":{"x":-300,"y":10},"width":320,"height":200,"color":"green"}]`
	edited := strings.Replace(withNotes, `**big** orders go up`, `moved`, 1)
	noteOf := func(kind, text string) string {
		return strings.Replace(orderFlow, `"name":"orders"`, `"name":"orders","notes":[`+kind+`]`, 1) + text
	}

	s.Run(t, []apitest.Scenario{
		{Name: "Get", Method: "GET", URL: "/api/v1/workflows/" + id, ExpectedStatus: 200, ExpectedContent: []string{note}},
		{Name: "Update", Method: "PUT", URL: "/api/v1/workflows/" + id, Body: edited, Headers: map[string]string{"If-Match": `"1"`},
			ExpectedStatus: 200, ExpectedContent: []string{`"version":2`, `"text":"# Read me\n\nmoved"`}},
		{Name: "FirstVersionKeepsItsNote", Method: "GET", URL: "/api/v1/workflows/" + id + "/versions/1", ExpectedStatus: 200, ExpectedContent: []string{note}},
		{Name: "Run", Method: "POST", URL: "/api/v1/workflows/" + id + "/executions?wait=10s", Body: `{"input":{"total":150}}`, ExpectedStatus: 200,
			ExpectedContent: []string{`"status":"succeeded"`}},
		{Name: "NoNotes", Method: "GET", URL: "/api/v1/workflows/" + create(t, s, orderFlow)["id"].(string), ExpectedStatus: 200, NotExpectedContent: []string{`"notes"`}},
		{Name: "BadNotes", Method: "POST", URL: "/api/v1/workflows/validate", ExpectedStatus: 422,
			Body:            noteOf(`{"id":"a","text":"x","width":5},{"id":"a","height":99999},{"id":"b c"}`, ""),
			ExpectedContent: []string{`"location":"/notes/0/width"`, `"location":"/notes/1/id"`, `"location":"/notes/1/height"`, `"location":"/notes/2/id"`}},
		{Name: "NoteTextTooLong", Method: "POST", URL: "/api/v1/workflows/validate", ExpectedStatus: 422,
			Body: noteOf(`{"id":"a","text":"`+strings.Repeat("é", 6000)+`"}`, ""), ExpectedContent: []string{`"location":"/notes/0/text"`, "10240-byte limit"}},
		{Name: "NoteUnknownField", Method: "POST", URL: "/api/v1/workflows/validate", ExpectedStatus: 422,
			Body: noteOf(`{"id":"a","font":"serif"}`, ""), ExpectedContent: []string{`"location":"/notes/0/font"`}},
		{Name: "NoteBadColor", Method: "POST", URL: "/api/v1/workflows/validate", ExpectedStatus: 422,
			Body: noteOf(`{"id":"a","color":"orange"}`, ""), ExpectedContent: []string{`"location":"/notes/0/color"`}},
		{Name: "NodeNameTooLong", Method: "POST", URL: "/api/v1/workflows/validate", ExpectedStatus: 422,
			Body:            strings.Replace(orderFlow, `"id":"big",`, `"id":"big","name":"`+strings.Repeat("n", 201)+`",`, 1),
			ExpectedContent: []string{`"location":"/nodes/2/name"`}},
	})
	resp := s.Do(t, "GET", "/api/v1/workflows/"+id+"/versions/2", "", nil)
	require.Equal(t, 200, resp.Status, resp.Body)
	require.Contains(t, resp.Body, `"text":"# Read me\n\nmoved"`)
}
