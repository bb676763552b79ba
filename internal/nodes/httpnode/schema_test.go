package httpnode

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
)

func TestRegister(t *testing.T) {
	t.Parallel()

	reg := node.NewRegistry()
	require.NoError(t, reg.Register(New(Config{DefaultTimeout: 10 * time.Second, MaxResponseBytes: 4096})))
	typ, ok := reg.Lookup("http.request")
	require.True(t, ok)

	info := typ.Info
	require.Equal(t, TypeName, info.Type)
	require.Equal(t, 1, info.Version)
	require.Equal(t, "HTTP request", info.Title)
	require.Equal(t, "HTTP", info.Category)
	require.Equal(t, "globe", info.Icon)
	require.NotEmpty(t, info.Description)
	require.Contains(t, info.Docs, "## Errors")
	require.Equal(t, "in", info.Inputs[0].Name)
	require.Len(t, info.Inputs, 1)
	require.Equal(t, "Response", info.Outputs[0].Title)
	require.Len(t, info.Outputs, 1)
	require.True(t, typ.HasInput("in"))
	require.Equal(t, []string{"out"}, typ.OutputPorts(map[string]any{"url": "http://example.com"}))

	var schema struct {
		Schema               string                    `json:"$schema"`
		AdditionalProperties bool                      `json:"additionalProperties"`
		Required             []string                  `json:"required"`
		Properties           map[string]map[string]any `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(info.Schema, &schema))
	require.Equal(t, "https://json-schema.org/draft/2020-12/schema", schema.Schema)
	require.False(t, schema.AdditionalProperties)
	require.Equal(t, []string{"url"}, schema.Required)
	require.ElementsMatch(t, []string{
		"method", "url", "headers", "query", "body", "bodyType", "timeout", "responseType", "failOnStatus", "maxResponseBytes", "credential",
	}, keys(schema.Properties))
	for name, prop := range schema.Properties {
		require.NotEmpty(t, prop["title"], "property %s has no title", name)
		require.NotEmpty(t, prop["description"], "property %s has no description", name)
	}
	require.Equal(t, "10s", schema.Properties["timeout"]["default"], "the deployment's default timeout")
	require.Contains(t, schema.Properties["maxResponseBytes"]["description"], "4096")

	// Every property in the schema is a field of the configuration struct, and back.
	full := map[string]any{
		"method": "POST", "url": "https://example.com", "headers": map[string]any{"a": "b"}, "query": map[string]any{"q": 1},
		"body": map[string]any{"x": 1}, "bodyType": "json", "timeout": "1s", "responseType": "json", "failOnStatus": false,
		"maxResponseBytes": 10, "credential": "c1",
	}
	require.Empty(t, typ.ValidateConfig(full, false))
	n, err := typ.Instantiate(full, false)
	require.NoError(t, err)
	encoded, err := json.Marshal(n)
	require.NoError(t, err)
	var roundTrip map[string]any
	require.NoError(t, json.Unmarshal(encoded, &roundTrip))
	require.ElementsMatch(t, keys(full), keys(roundTrip))
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		config    map[string]any
		templates bool
		pointer   string // empty with no want errors
		wantNone  bool
	}{
		{name: "AdditionalProperty", config: map[string]any{"url": "http://x", "bogus": 1}, pointer: ""},
		{name: "BadBodyType", config: map[string]any{"url": "http://x", "bodyType": "xml"}, pointer: "/bodyType"},
		{name: "BadFailOnStatus", config: map[string]any{"url": "http://x", "failOnStatus": "yes"}, pointer: "/failOnStatus"},
		{name: "BadHeaderValue", config: map[string]any{"url": "http://x", "headers": map[string]any{"X-N": 1}}, pointer: "/headers/X-N"},
		{name: "BadMaxResponseBytes", config: map[string]any{"url": "http://x", "maxResponseBytes": 0}, pointer: "/maxResponseBytes"},
		{name: "BadMethod", config: map[string]any{"url": "http://x", "method": "FETCH"}, pointer: "/method"},
		{name: "BadMethodLowerCase", config: map[string]any{"url": "http://x", "method": "get"}, pointer: "/method"},
		{name: "BadQueryValue", config: map[string]any{"url": "http://x", "query": map[string]any{"a": map[string]any{"b": 1}}}, pointer: "/query/a"},
		{name: "BadResponseType", config: map[string]any{"url": "http://x", "responseType": "xml"}, pointer: "/responseType"},
		{name: "BadTimeout", config: map[string]any{"url": "http://x", "timeout": "soon"}, pointer: "/timeout"},
		{name: "BadTimeoutNumber", config: map[string]any{"url": "http://x", "timeout": 30}, pointer: "/timeout"},
		{name: "EmptyURL", config: map[string]any{"url": ""}, pointer: "/url"},
		{name: "Minimal", config: map[string]any{"url": "http://x"}, wantNone: true},
		{name: "MissingURL", config: map[string]any{}, pointer: ""},
		{name: "Templates", config: map[string]any{"url": "{{ vars.base }}/x", "timeout": "{{ vars.timeout }}", "method": "{{ vars.method }}"}, templates: true, wantNone: true},
		{name: "TimeoutForms", config: map[string]any{"url": "http://x", "timeout": "1m30.5s"}, wantNone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := node.NewRegistry()
			reg.MustRegister(New(Config{}))
			typ, ok := reg.Lookup(TypeName)
			require.True(t, ok)
			errs := typ.ValidateConfig(tt.config, tt.templates)
			if tt.wantNone {
				require.Empty(t, errs)
				return
			}
			require.NotEmpty(t, errs)
			pointers := make([]string, 0, len(errs))
			for _, e := range errs {
				pointers = append(pointers, e.Pointer)
			}
			require.Contains(t, pointers, tt.pointer, "errors: %+v", errs)
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		config  map[string]any
		message string // empty when valid
	}{
		{name: "Credentials", config: map[string]any{"url": "https://user:pw@example.com/"}, message: "url must not contain credentials"},
		{name: "FTP", config: map[string]any{"url": "ftp://example.com/"}, message: "url must start with http:// or https://"},
		{name: "FormBodyNested", config: map[string]any{"url": "http://x", "bodyType": "form", "body": map[string]any{"a": map[string]any{}}}, message: `form field "a" must be a string, number, boolean or an array of them`},
		{name: "FormBodyNotObject", config: map[string]any{"url": "http://x", "bodyType": "form", "body": []any{1}}, message: "body must be an object when bodyType is form"},
		{name: "HeaderName", config: map[string]any{"url": "http://x", "headers": map[string]any{"Bad Header": "v"}}, message: `header name "Bad Header" is not valid`},
		{name: "HeaderValueNotEchoed", config: map[string]any{"url": "http://x", "headers": map[string]any{"Authorization": "s3cret\r\nX-Injected: 1"}}, message: `header "Authorization" has a value with control characters`},
		{name: "NoHost", config: map[string]any{"url": "http:///path"}, message: "url has no host"},
		{name: "Relative", config: map[string]any{"url": "/path"}, message: "url must start with http:// or https://"},
		{name: "TextBodyObject", config: map[string]any{"url": "http://x", "bodyType": "text", "body": map[string]any{}}, message: "body must be a string, number or boolean when bodyType is text"},
		{name: "UnparsableURL", config: map[string]any{"url": "http://[::1"}, message: "url is not valid: missing ']' in host"},
		{name: "Valid", config: map[string]any{"url": "https://example.com/a?b=c", "timeout": "2.5s", "bodyType": "form", "body": map[string]any{"a": []any{"x", 1, true}}}},
		{name: "ZeroTimeout", config: map[string]any{"url": "http://x", "timeout": "0s"}, message: `timeout "0s" is not a positive duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := node.NewRegistry()
			reg.MustRegister(New(Config{}))
			typ, ok := reg.Lookup(TypeName)
			require.True(t, ok)
			_, err := typ.Instantiate(tt.config, false)
			if tt.message == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.message)
			require.NotContains(t, err.Error(), "s3cret")
		})
	}
}
