package api_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

// tagged is orderFlow named name with the given tags (a JSON array).
func tagged(name, tags string) string {
	return strings.Replace(orderFlow, `"name":"orders"`, `"name":"`+name+`","tags":`+tags, 1)
}

func TestWorkflowTags(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	billing := create(t, s, tagged("billing", `["Finance","nightly"]`))["id"].(string)
	create(t, s, tagged("payroll", `["finance"]`))
	create(t, s, orderFlow)
	viewer := "Bearer " + s.AddMember(t, "viewer@example.com", "viewer")
	otherToken, _ := s.OtherTenant(t, "other@example.com")
	other := map[string]string{"Authorization": "Bearer " + otherToken}
	r := s.Do(t, "POST", "/api/v1/workflows", tagged("theirs", `["finance","secret"]`), other)
	require.Equal(t, 201, r.Status, r.Body)

	s.Run(t, []apitest.Scenario{
		{Name: "ListShowsTags", Method: "GET", URL: "/api/v1/workflows?tag=nightly", ExpectedStatus: 200,
			ExpectedContent: []string{billing, `"tags":["Finance","nightly"]`}, NotExpectedContent: []string{"payroll"}},
		{Name: "FilterIgnoresCase", Method: "GET", URL: "/api/v1/workflows?tag=FINANCE", ExpectedStatus: 200,
			ExpectedContent: []string{`"name":"billing"`, `"name":"payroll"`}, NotExpectedContent: []string{`"name":"orders"`, "theirs"}},
		{Name: "UntaggedListsEmptyTags", Method: "GET", URL: "/api/v1/workflows?name=orders", ExpectedStatus: 200, ExpectedContent: []string{`"tags":[]`}},
		{Name: "TagTooLong", Method: "GET", URL: "/api/v1/workflows?tag=" + strings.Repeat("x", 33), ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/query/tag"`}},
		{Name: "TagCounts", Method: "GET", URL: "/api/v1/workflow-tags", ExpectedStatus: 200,
			ExpectedContent: []string{`{"items":[{"tag":"Finance","count":2},{"tag":"nightly","count":1}]}`}, NotExpectedContent: []string{"secret"}},
		{Name: "ViewerReadsTags", Method: "GET", URL: "/api/v1/workflow-tags", Headers: map[string]string{"Authorization": viewer}, ExpectedStatus: 200},
		{Name: "AnonymousRefused", Method: "GET", URL: "/api/v1/workflow-tags", Headers: map[string]string{"Authorization": ""}, ExpectedStatus: 401},
		{Name: "BadTagRefused", Method: "POST", URL: "/api/v1/workflows", Body: tagged("bad", `["ok","O K","ok"]`), ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/tags/2"`, "each tag appears once"}},
		{Name: "TooManyTags", Method: "POST", URL: "/api/v1/workflows", ExpectedStatus: 422,
			Body: tagged("many", `["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u"]`), ExpectedContent: []string{`"location":"/tags"`}},
	})

	// Versions say who saved them: the owner by name, an API key by id.
	key := s.Do(t, "POST", "/api/v1/api-keys", `{"name":"ci","role":"editor"}`, nil)
	require.Equal(t, 201, key.Status, key.Body)
	var k struct {
		ID    string `json:"id"`
		Token string `json:"key"`
	}
	key.JSON(t, &k)
	require.NotEmpty(t, k.Token, key.Body)
	r = s.Do(t, "PUT", "/api/v1/workflows/"+billing, tagged("billing", `["ops"]`), map[string]string{"If-Match": "*", "Authorization": "Bearer " + k.Token})
	require.Equal(t, 200, r.Status, r.Body)
	s.Run(t, []apitest.Scenario{
		{Name: "VersionAuthors", Method: "GET", URL: "/api/v1/workflows/" + billing + "/versions", ExpectedStatus: 200,
			ExpectedContent: []string{`"createdBy":"apikey:` + k.ID + `","author":{"kind":"apikey","name":"` + k.ID + `"}`, `"author":{"kind":"user","name":"Owner"}`}},
		{Name: "VersionCreatedBy", Method: "GET", URL: "/api/v1/workflows/" + billing + "/versions/2", ExpectedStatus: 200,
			ExpectedContent: []string{`"createdBy":"apikey:` + k.ID + `"`, `"tags":["ops"]`}},
		{Name: "TagsFollowCurrentVersion", Method: "GET", URL: "/api/v1/workflows?tag=nightly", ExpectedStatus: 200, ExpectedContent: []string{`"items":[]`}},
	})
}

func TestExecutionFilters(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	id := create(t, s, orderFlow)["id"].(string)
	before := time.Now().UTC().Add(-time.Second)
	r := s.Do(t, "POST", "/api/v1/workflows/"+id+"/executions?wait=10s", `{"input":{"total":5}}`, nil)
	require.Equal(t, 200, r.Status, r.Body)
	q := func(v url.Values) string { return "/api/v1/executions?" + v.Encode() }
	future := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	s.Run(t, []apitest.Scenario{
		{Name: "Manual", Method: "GET", URL: q(url.Values{"trigger": {"manual"}, "workflowId": {id}}), ExpectedStatus: 200, ExpectedContent: []string{`"trigger":{"kind":"manual"`}},
		{Name: "NoWebhookRuns", Method: "GET", URL: q(url.Values{"trigger": {"webhook"}, "workflowId": {id}}), ExpectedStatus: 200, ExpectedContent: []string{`"items":[]`}},
		{Name: "InWindow", Method: "GET", URL: q(url.Values{"createdAfter": {before.Format(time.RFC3339Nano)}, "createdBefore": {future}}), ExpectedStatus: 200,
			ExpectedContent: []string{`"workflowId":"` + id + `"`}},
		{Name: "AfterWindow", Method: "GET", URL: q(url.Values{"createdAfter": {future}}), ExpectedStatus: 200, ExpectedContent: []string{`"items":[]`}},
		{Name: "BadTrigger", Method: "GET", URL: q(url.Values{"trigger": {"telepathy"}}), ExpectedStatus: 422, ExpectedContent: []string{`"location":"/query/trigger"`}},
		{Name: "BadTime", Method: "GET", URL: q(url.Values{"createdAfter": {"yesterday"}}), ExpectedStatus: 422, ExpectedContent: []string{`"location":"/query/createdAfter"`}},
	})
}
