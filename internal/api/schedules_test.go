package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/store"
)

// scheduledFlow has a manual trigger and two schedule triggers.
const scheduledFlow = `{"name":"reports","nodes":[
	{"id":"start","type":"trigger.manual"},
	{"id":"hourly","type":"trigger.schedule","config":{"cron":"@every 1h"}},
	{"id":"mornings","type":"trigger.schedule","config":{"cron":"0 9 * * 1-5","timezone":"Europe/Paris","missed":"runOnce"}},
	{"id":"report","type":"data.set","config":{"fields":{"ok":true}}}],
	"edges":[{"source":"start","target":"report"},{"source":"hourly","target":"report"},{"source":"mornings","target":"report"}]}`

type scheduleView struct {
	NodeID     string
	Cron       string
	Timezone   string
	Missed     string
	Active     bool
	LastFireAt *time.Time
	Next       []time.Time
}

func listSchedules(t *testing.T, s *apitest.Server, id string) []scheduleView {
	t.Helper()
	resp := s.Do(t, http.MethodGet, "/api/v1/workflows/"+id+"/schedules", "", nil)
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	var body struct{ Items []scheduleView }
	resp.JSON(t, &body)
	return body.Items
}

func TestWorkflowSchedules(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{NoDispatcher: true})
	id := create(t, s, scheduledFlow)["id"].(string)

	// Inactive: the fire times it would have from now.
	before := time.Now()
	items := listSchedules(t, s, id)
	require.Len(t, items, 2)
	hourly, mornings := items[0], items[1]
	require.Equal(t, "hourly", hourly.NodeID)
	require.Equal(t, "@every 1h", hourly.Cron)
	require.Equal(t, "UTC", hourly.Timezone, "no time zone means UTC")
	require.Equal(t, "skip", hourly.Missed)
	require.False(t, hourly.Active)
	require.Nil(t, hourly.LastFireAt)
	require.Len(t, hourly.Next, 5)
	require.WithinDuration(t, before.Add(time.Hour), hourly.Next[0], 5*time.Second)
	for i := 1; i < 5; i++ {
		require.Equal(t, time.Hour, hourly.Next[i].Sub(hourly.Next[i-1]))
	}
	require.Equal(t, "Europe/Paris", mornings.Timezone)
	require.Equal(t, "runOnce", mornings.Missed)
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	require.Len(t, mornings.Next, 5)
	for _, at := range mornings.Next {
		local := at.In(paris)
		require.Equal(t, 9, local.Hour(), "%s", local)
		require.NotContains(t, []time.Weekday{time.Saturday, time.Sunday}, local.Weekday())
		require.Equal(t, time.UTC, at.Location(), "times are sent in UTC")
	}

	// Active: the stored fire times, and when it last fired.
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodPost, "/api/v1/workflows/"+id+"/activate", "", nil).Status)
	stored, err := s.Store.ListSchedules(context.Background(), store.DefaultTenant, id)
	require.NoError(t, err)
	require.Len(t, stored, 2)
	fired := time.Now().UTC().Truncate(time.Millisecond)
	require.NoError(t, s.Store.FireSchedule(context.Background(), nil, store.FireScheduleParams{TenantID: store.DefaultTenant, WorkflowID: id,
		NodeID: "hourly", Due: stored[0].NextFireAt, Next: stored[0].NextFireAt.Add(time.Hour), FiredAt: &fired}))
	items = listSchedules(t, s, id)
	require.True(t, items[0].Active)
	require.NotNil(t, items[0].LastFireAt)
	require.True(t, fired.Equal(*items[0].LastFireAt))
	require.True(t, stored[0].NextFireAt.Add(time.Hour).Equal(items[0].Next[0]), "the stored next fire time comes first")
	require.Equal(t, time.Hour, items[0].Next[1].Sub(items[0].Next[0]))
	require.True(t, items[1].Active)
	require.True(t, stored[1].NextFireAt.Equal(items[1].Next[0]))

	// A viewer may read them.
	viewer := s.AddMember(t, "viewer@example.com", "viewer")
	resp := s.Do(t, http.MethodGet, "/api/v1/workflows/"+id+"/schedules", "", map[string]string{"Authorization": "Bearer " + viewer})
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)

	plain := create(t, s, orderFlow)["id"].(string)
	s.Run(t, []apitest.Scenario{
		{Name: "NoSchedules", Method: "GET", URL: "/api/v1/workflows/" + plain + "/schedules", ExpectedStatus: 200, ExpectedContent: []string{`"items":[]`}},
		{Name: "UnknownWorkflow", Method: "GET", URL: "/api/v1/workflows/nope/schedules", ExpectedStatus: 404},
		{Name: "Deactivated", Method: "POST", URL: "/api/v1/workflows/" + id + "/deactivate", ExpectedStatus: 200},
		{Name: "InactiveAgain", Method: "GET", URL: "/api/v1/workflows/" + id + "/schedules", ExpectedStatus: 200,
			ExpectedContent: []string{`"active":false`}, NotExpectedContent: []string{`"active":true`, "lastFireAt"}},
	})
}

func TestPreviewSchedule(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{NoDispatcher: true})
	const url = "/api/v1/schedules/preview"

	resp := s.Do(t, http.MethodPost, url, `{"cron":"*/15 * * * *","timezone":"Asia/Kolkata"}`, nil)
	require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	var body struct{ Next []time.Time }
	resp.JSON(t, &body)
	require.Len(t, body.Next, 5)
	require.True(t, body.Next[0].After(time.Now().Add(-time.Second)))
	for i, at := range body.Next {
		require.Zero(t, at.Minute()%15, "Kolkata is UTC+5:30, so quarter hours fall on quarter hours")
		if i > 0 {
			require.Equal(t, 15*time.Minute, at.Sub(body.Next[i-1]))
		}
	}

	viewer := s.AddMember(t, "viewer@example.com", "viewer")
	s.Run(t, []apitest.Scenario{
		{Name: "SixFields", Method: "POST", URL: url, Body: `{"cron":"30 0 2 * * *"}`, ExpectedStatus: 200, ExpectedContent: []string{`T02:00:30Z"`}},
		{Name: "Descriptor", Method: "POST", URL: url, Body: `{"cron":"@yearly"}`, ExpectedStatus: 200, ExpectedContent: []string{`-01-01T00:00:00Z"`}},
		{Name: "Viewer", Method: "POST", URL: url, Body: `{"cron":"@daily"}`, Headers: map[string]string{"Authorization": "Bearer " + viewer}, ExpectedStatus: 200},
		{Name: "BadCron", Method: "POST", URL: url, Body: `{"cron":"every day"}`, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/cron"`, `cron \"every day\": expected 5 to 6 fields`}},
		{Name: "BadTimezone", Method: "POST", URL: url, Body: `{"cron":"@daily","timezone":"Mars/Olympus"}`, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/timezone"`, "not a known IANA time zone"}},
		{Name: "EveryTooShort", Method: "POST", URL: url, Body: `{"cron":"@every 100ms"}`, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/cron"`, "shorter than the minimum"}},
		{Name: "Expression", Method: "POST", URL: url, Body: `{"cron":"{{ vars.cron }}"}`, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/cron"`, "plain text"}},
		{Name: "NeverFires", Method: "POST", URL: url, Body: `{"cron":"0 0 31 2 *"}`, ExpectedStatus: 422,
			ExpectedContent: []string{`"location":"/cron"`, "never fires"}},
		{Name: "Missing", Method: "POST", URL: url, Body: `{}`, ExpectedStatus: 422, ExpectedContent: []string{`"location":"/cron"`}},
		{Name: "TooLong", Method: "POST", URL: url, Body: `{"cron":"` + string(make101()) + `"}`, ExpectedStatus: 422, ExpectedContent: []string{`"location":"/cron"`}},
		{Name: "UnknownField", Method: "POST", URL: url, Body: `{"cron":"@daily","when":"now"}`, ExpectedStatus: 422},
	})
}

func make101() []byte {
	b := make([]byte, 101)
	for i := range b {
		b[i] = '*'
	}
	return b
}
