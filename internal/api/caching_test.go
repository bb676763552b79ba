package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/api/apitest"
	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/node"
)

const (
	revalidate = "private, no-cache"
	immutable  = "private, max-age=31536000, immutable"
)

func ifNoneMatch(tag string) map[string]string { return map[string]string{"If-None-Match": tag} }

// saveVersion saves body as the next version of workflow id.
func saveVersion(t *testing.T, s *apitest.Server, id, body string) {
	t.Helper()
	r := s.Do(t, http.MethodPut, "/api/v1/workflows/"+id, body, map[string]string{"If-Match": "*"})
	require.Equal(t, http.StatusOK, r.Status, r.Body)
}

// get reads path and returns the answer, requiring status.
func get(t *testing.T, s *apitest.Server, path string, status int, headers map[string]string) *apitest.Response {
	t.Helper()
	r := s.Do(t, http.MethodGet, path, "", headers)
	require.Equal(t, status, r.Status, "GET %s: %s", path, r.Body)
	if status == http.StatusNotModified {
		require.Empty(t, r.Body, "a 304 has no body")
	}
	return r
}

// TestConditionalReads covers each cacheable read: a 200 with a strong ETag and its Cache-Control,
// a 304 (same headers, no body) to If-None-Match naming it in every form RFC 9110 allows, and a 200
// again once the resource changed.
func TestConditionalReads(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	w := create(t, s, orderFlow)
	id := w["id"].(string)
	renamed := strings.Replace(orderFlow, `"name":"orders"`, `"name":"orders v2"`, 1)

	tests := []struct {
		name         string
		path         string
		cacheControl string
		etag         string // a regular expression
		// change makes the representation at path change; nil for one that never changes.
		change func(t *testing.T)
	}{
		{name: "NodeType", path: "/api/v1/node-types/data.set", cacheControl: revalidate, etag: `^"[0-9a-f]{16}"$`},
		{name: "NodeTypes", path: "/api/v1/node-types", cacheControl: revalidate, etag: `^"[0-9a-f]{16}"$`},
		{name: "Version", path: "/api/v1/workflows/" + id + "/versions/1", cacheControl: immutable, etag: `^"1-[0-9a-f]{16}"$`},
		{name: "Versions", path: "/api/v1/workflows/" + id + "/versions", cacheControl: revalidate, etag: `^"[0-9a-f]{16}"$`,
			change: func(t *testing.T) { saveVersion(t, s, id, strings.Replace(orderFlow, `"orders"`, `"orders again"`, 1)) }},
		{name: "Workflow", path: "/api/v1/workflows/" + id, cacheControl: revalidate, etag: `^"[0-9]+-[0-9a-f]{16}"$`,
			change: func(t *testing.T) { saveVersion(t, s, id, renamed) }},
		{name: "Workflows", path: "/api/v1/workflows", cacheControl: revalidate, etag: `^"[0-9a-f]{16}"$`,
			change: func(t *testing.T) { create(t, s, orderFlow) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the changes of one case change the workflow the others read.
			first := get(t, s, tt.path, http.StatusOK, nil)
			tag := first.Header.Get("ETag")
			require.Regexp(t, tt.etag, tag)
			require.Equal(t, tt.cacheControl, first.Header.Get("Cache-Control"))
			if tt.cacheControl == immutable {
				require.Contains(t, first.Header.Values("Vary"), "Authorization")
			}
			again := get(t, s, tt.path, http.StatusOK, nil)
			require.Equal(t, tag, again.Header.Get("ETag"), "the same representation has the same tag")
			require.Equal(t, first.Body, again.Body)

			for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, `W/"other",` + tag + ` , "x"`, "*", " " + tag + " "} {
				r := get(t, s, tt.path, http.StatusNotModified, ifNoneMatch(inm))
				require.Equal(t, tag, r.Header.Get("ETag"), "If-None-Match: %s", inm)
				require.Equal(t, tt.cacheControl, r.Header.Get("Cache-Control"), "If-None-Match: %s", inm)
			}
			get(t, s, tt.path, http.StatusOK, ifNoneMatch(`"other"`))
			// Several If-None-Match lines form one list.
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+tt.path, nil)
			require.NoError(t, err)
			req.Header.Add("If-None-Match", `"other"`)
			req.Header.Add("If-None-Match", tag)
			resp, err := s.Client.Do(req)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusNotModified, resp.StatusCode)

			if tt.change == nil {
				return
			}
			tt.change(t)
			changed := get(t, s, tt.path, http.StatusOK, ifNoneMatch(tag))
			require.NotEqual(t, tag, changed.Header.Get("ETag"))
			require.NotEqual(t, first.Body, changed.Body)
			get(t, s, tt.path, http.StatusNotModified, ifNoneMatch(changed.Header.Get("ETag")))
		})
	}
}

// TestConditionalReadIgnoresMalformedIfNoneMatch: a value that is not a list of entity tags is
// ignored, never a 304, never an error.
func TestConditionalReadIgnoresMalformedIfNoneMatch(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	id := create(t, s, orderFlow)["id"].(string)
	path := "/api/v1/workflows/" + id
	tag := get(t, s, path, http.StatusOK, nil).Header.Get("ETag")
	bare := strings.Trim(tag, `"`)
	for _, inm := range []string{
		"banana", bare, `"` + bare, bare + `"`, "W/", "W/" + bare, tag + " junk", tag + `"`, "**", "*, " + tag, tag + ", banana",
		`"` + "\xff\xfe" + `"`, strings.Repeat(`"x", `, 2000) + "banana", ",,,", `""`,
	} {
		r := s.Do(t, http.MethodGet, path, "", ifNoneMatch(inm))
		require.Equal(t, http.StatusOK, r.Status, "If-None-Match %q: %s", inm, r.Body)
		require.Equal(t, tag, r.Header.Get("ETag"))
	}
}

// TestIfMatchAcceptsTheETag: the ETag a read answers is what If-Match takes to update; activating
// the workflow changes the ETag (the representation changed) without making an editor's copy stale;
// a hash this server did not issue for the workflow is refused.
func TestIfMatchAcceptsTheETag(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	other := create(t, s, orderFlow)["id"].(string)
	id := create(t, s, orderFlow)["id"].(string)
	path := "/api/v1/workflows/" + id
	tag := get(t, s, path, http.StatusOK, nil).Header.Get("ETag")
	otherTag := get(t, s, "/api/v1/workflows/"+other, http.StatusOK, nil).Header.Get("ETag")
	require.NotEqual(t, tag, otherTag, "two workflows at version 1 have different tags")

	r := s.Do(t, http.MethodPost, path+"/activate", "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	active := r.Header.Get("ETag")
	require.NotEqual(t, tag, active, "activation changes the representation")
	require.Equal(t, active, get(t, s, path, http.StatusOK, ifNoneMatch(tag)).Header.Get("ETag"))
	get(t, s, path, http.StatusNotModified, ifNoneMatch(active))

	renamed := strings.Replace(orderFlow, `"name":"orders"`, `"name":"orders v2"`, 1)
	s.Run(t, []apitest.Scenario{
		{Name: "ForeignHash", Method: http.MethodPut, URL: path, Body: renamed, Headers: map[string]string{"If-Match": otherTag},
			ExpectedStatus: http.StatusPreconditionFailed, ExpectedContent: []string{"not an ETag this server issued for this workflow"}},
		{Name: "ForgedHash", Method: http.MethodPut, URL: path, Body: renamed, Headers: map[string]string{"If-Match": `"1-0123456789abcdef"`},
			ExpectedStatus: http.StatusPreconditionFailed},
		{Name: "TagFromBeforeActivation", Method: http.MethodPut, URL: path, Body: renamed, Headers: map[string]string{"If-Match": tag},
			ExpectedStatus: http.StatusOK, ExpectedHeaderPatterns: map[string]string{"ETag": `^"2-[0-9a-f]{16}"$`}},
		{Name: "Stale", Method: http.MethodPut, URL: path, Body: renamed, Headers: map[string]string{"If-Match": active},
			ExpectedStatus: http.StatusPreconditionFailed, ExpectedContent: []string{"version 2, not 1"}},
	})
	current := get(t, s, path, http.StatusOK, nil).Header.Get("ETag")
	r = s.Do(t, http.MethodPut, path, orderFlow, map[string]string{"If-Match": current})
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	require.Equal(t, r.Header.Get("ETag"), get(t, s, path, http.StatusOK, nil).Header.Get("ETag"), "the update answers the tag a read answers")
}

// TestConditionalReadsAcrossRolesAndWorkspaces: a viewer revalidates like the owner (the tag is the
// workspace's, not the caller's); another workspace's caller gets 404 whatever it sends, and its own
// list has another tag, so that a browser shared by both never shows one workspace's copy to the
// other.
func TestConditionalReadsAcrossRolesAndWorkspaces(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	id := create(t, s, orderFlow)["id"].(string)
	viewer := s.AddMember(t, "viewer@example.com", "viewer")
	stranger, _ := s.OtherTenant(t, "stranger@example.com")

	for _, path := range []string{"/api/v1/workflows/" + id, "/api/v1/workflows/" + id + "/versions/1", "/api/v1/workflows/" + id + "/versions"} {
		tag := get(t, s, path, http.StatusOK, nil).Header.Get("ETag")
		r := get(t, s, path, http.StatusNotModified, map[string]string{"If-None-Match": tag, "Authorization": "Bearer " + viewer})
		require.Equal(t, tag, r.Header.Get("ETag"), path)
		for _, inm := range []string{tag, "*"} {
			r := s.Do(t, http.MethodGet, path, "", map[string]string{"If-None-Match": inm, "Authorization": "Bearer " + stranger})
			require.Equal(t, http.StatusNotFound, r.Status, "%s with If-None-Match %s: %s", path, inm, r.Body)
			require.Empty(t, r.Header.Get("ETag"))
		}
	}

	mine := get(t, s, "/api/v1/workflows", http.StatusOK, nil).Header.Get("ETag")
	theirs := get(t, s, "/api/v1/workflows", http.StatusOK, bearer(stranger))
	require.NotEqual(t, mine, theirs.Header.Get("ETag"))
	require.NotContains(t, theirs.Body, id)
	get(t, s, "/api/v1/workflows", http.StatusOK, map[string]string{"If-None-Match": mine, "Authorization": "Bearer " + stranger})
	get(t, s, "/api/v1/workflows", http.StatusNotModified, map[string]string{"If-None-Match": mine, "Authorization": "Bearer " + viewer})

	// Node types are the same for every workspace; a 304 still needs a credential.
	types := get(t, s, "/api/v1/node-types", http.StatusOK, nil).Header.Get("ETag")
	get(t, s, "/api/v1/node-types", http.StatusNotModified, map[string]string{"If-None-Match": types, "Authorization": "Bearer " + stranger})
	r := s.Do(t, http.MethodGet, "/api/v1/node-types", "", map[string]string{"If-None-Match": types, "Authorization": ""})
	require.Equal(t, http.StatusUnauthorized, r.Status, r.Body)
	r = s.Do(t, http.MethodGet, "/api/v1/node-types/no.such", "", ifNoneMatch("*"))
	require.Equal(t, http.StatusNotFound, r.Status, r.Body)
}

// TestVersionTagsAreStable: a version's tag does not change when the workflow moves on, and each
// version has its own.
func TestVersionTagsAreStable(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	id := create(t, s, orderFlow)["id"].(string)
	v1 := get(t, s, "/api/v1/workflows/"+id+"/versions/1", http.StatusOK, nil).Header.Get("ETag")
	for i := 2; i <= 3; i++ {
		saveVersion(t, s, id, strings.Replace(orderFlow, `"orders"`, fmt.Sprintf(`"orders %d"`, i), 1))
	}
	get(t, s, "/api/v1/workflows/"+id+"/versions/1", http.StatusNotModified, ifNoneMatch(v1))
	v3 := get(t, s, "/api/v1/workflows/"+id+"/versions/3", http.StatusOK, ifNoneMatch(v1)).Header.Get("ETag")
	require.NotEqual(t, v1, v3)
}

// TestNodeTypeCatalogueIsEncodedOnce: the catalogue is written from the copy encoded for its ETag —
// the same bytes each time, JSON that decodes to every registered type — and encoded again when a
// type is registered.
func TestNodeTypeCatalogueIsEncodedOnce(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, enginetest.Options{})
	first := get(t, s, "/api/v1/node-types", http.StatusOK, nil)
	require.Equal(t, "application/json", first.Header.Get("Content-Type"))
	again := get(t, s, "/api/v1/node-types", http.StatusOK, nil)
	require.Equal(t, first.Body, again.Body)
	var list struct {
		Items []map[string]any `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(first.Body), &list))
	require.Len(t, list.Items, len(s.Registry.List()))

	s.Registry.MustRegister(lateType{})
	changed := get(t, s, "/api/v1/node-types", http.StatusOK, nil)
	require.NotEqual(t, first.Header.Get("ETag"), changed.Header.Get("ETag"))
	require.Contains(t, changed.Body, `"type":"late.type"`)
}

// lateType is a node type registered while the server runs.
type lateType struct{}

func (lateType) NodeInfo() node.Info {
	return node.Info{Type: "late.type", Title: "Late", Category: "Test",
		Inputs: []node.PortSpec{{Name: "in"}}, Outputs: []node.PortSpec{{Name: "out"}},
		Schema: json.RawMessage(`{"type":"object"}`), New: func() node.Node { return lateType{} }}
}

func (lateType) Execute(_ context.Context, in *node.Input) (node.Output, error) {
	return node.Out(in.Data), nil
}
