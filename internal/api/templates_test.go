package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
)

func TestTemplatesAPI(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{NoDispatcher: true})
	list := s.Do(t, http.MethodGet, "/api/v1/templates", "", nil)
	require.Equal(t, http.StatusOK, list.Status, list.Body)
	var page struct {
		Items []struct {
			ID              string
			CredentialTypes []string
		}
	}
	list.JSON(t, &page)
	require.NotEmpty(t, page.Items)
	var id string
	for _, it := range page.Items {
		if it.ID == "amqp-orders-enrich" {
			id = it.ID
			require.Equal(t, []string{"amqp", "httpBearer"}, it.CredentialTypes)
		}
	}
	require.NotEmpty(t, id)
	one := s.Do(t, http.MethodGet, "/api/v1/templates/"+id, "", nil)
	require.Equal(t, http.StatusOK, one.Status, one.Body)
	require.Contains(t, one.Body, `"credential":"$credential:amqp"`)

	amqp := createCredential(t, s, `{"name":"broker","type":"amqp","data":{"host":"rabbit.internal","username":"guest","password":"guest-pw"}}`)
	token := createCredential(t, s, `{"name":"crm","type":"httpBearer","data":{"token":"crm-token"}}`)
	s.Run(t, []apitest.Scenario{
		{Name: "Missing", Method: "GET", URL: "/api/v1/templates/nope", ExpectedStatus: 404},
		{Name: "InstantiateMissing", Method: "POST", URL: "/api/v1/templates/nope/instantiate", Body: `{}`, ExpectedStatus: 404},
		{Name: "NeedsCredentials", Method: "POST", URL: "/api/v1/templates/" + id + "/instantiate", Body: `{"credentials":{"amqp":"` + amqp.ID + `"}}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/credentials/httpBearer"`}},
		{Name: "WrongType", Method: "POST", URL: "/api/v1/templates/" + id + "/instantiate", Body: `{"credentials":{"amqp":"` + token.ID + `","httpBearer":"` + token.ID + `"}}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/credentials/amqp"`, "is of type httpBearer"}},
		{Name: "UnknownCredential", Method: "POST", URL: "/api/v1/templates/" + id + "/instantiate", Body: `{"credentials":{"amqp":"nope","httpBearer":"` + token.ID + `"}}`,
			ExpectedStatus: 422, ExpectedContent: []string{`"location":"/credentials/amqp"`}},
	})
	created := s.Do(t, http.MethodPost, "/api/v1/templates/"+id+"/instantiate", `{"name":"my orders","credentials":{"amqp":"`+amqp.ID+`","httpBearer":"`+token.ID+`"}}`, nil)
	require.Equal(t, http.StatusCreated, created.Status, created.Body)
	var w struct {
		ID     string
		Name   string
		Active bool
	}
	created.JSON(t, &w)
	require.Equal(t, "my orders", w.Name)
	require.False(t, w.Active)
	// The workflow now uses the credentials: deleting one is refused.
	require.Equal(t, http.StatusConflict, s.Do(t, http.MethodDelete, "/api/v1/credentials/"+amqp.ID, "", nil).Status)
}
