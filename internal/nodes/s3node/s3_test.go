package s3node

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

const testSecret = "s3-secret-access-key"

type testBundle struct {
	srv    *httptest.Server
	types  map[node.TypeName]*node.Type
	shared *shared
	creds  *conntest.Credentials
	cred   string
}

// setup starts an in-memory S3 server with the bucket "data" and registers the types with cfg.
func setup(t *testing.T, cfg conn.Config) *testBundle {
	t.Helper()
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket("data"))
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	reg := node.NewRegistry()
	nodes := New(cfg)
	for _, n := range nodes {
		require.NoError(t, reg.Register(n))
	}
	b := &testBundle{srv: srv, types: map[node.TypeName]*node.Type{}, shared: nodes[0].(*Get).shared, creds: conntest.NewCredentials()}
	t.Cleanup(b.shared.transports.Close)
	for _, name := range []node.TypeName{"s3.get", "s3.put", "s3.list", "s3.delete"} {
		typ, ok := reg.Lookup(name)
		require.True(t, ok)
		b.types[name] = typ
	}
	b.cred = b.addCred(t, map[string]any{"bucket": "data"})
	return b
}

func (b *testBundle) addCred(t *testing.T, extra map[string]any) string {
	t.Helper()
	data := map[string]any{
		"endpoint": strings.TrimPrefix(b.srv.URL, "http://"), "accessKeyId": "AKIDTEST", "secretAccessKey": testSecret,
		"pathStyle": true, "tls": false,
	}
	for k, v := range extra {
		data[k] = v
	}
	return b.creds.Add(t, "s3", data)
}

func (b *testBundle) run(t *testing.T, typ node.TypeName, config map[string]any) (map[string]any, error) {
	t.Helper()
	if _, ok := config["credential"]; !ok {
		config["credential"] = b.cred
	}
	n, err := b.types[typ].Instantiate(config, false)
	require.NoError(t, err)
	in := conntest.Input(b.creds, nil)
	in.Limits.MaxOutputBytes = 1 << 20
	out, err := n.Execute(t.Context(), in)
	if err != nil {
		return nil, err
	}
	return out.Value.(map[string]any), nil
}

func (b *testBundle) runOK(t *testing.T, typ node.TypeName, config map[string]any) map[string]any {
	t.Helper()
	out, err := b.run(t, typ, config)
	require.NoError(t, err)
	return out
}

func requireNodeError(t *testing.T, err error, code string, permanent bool) *node.Error {
	t.Helper()
	var ne *node.Error
	require.ErrorAs(t, err, &ne)
	require.Equal(t, code, ne.Code, "error: %v", err)
	require.Equal(t, permanent, node.IsPermanent(err), "error: %v", err)
	require.NotContains(t, err.Error(), testSecret)
	return ne
}

func TestPutGet(t *testing.T) {
	t.Parallel()

	binary := []byte{0, 1, 2, 0xff, 0xfe, 'x'}
	tests := []struct {
		name        string
		put         map[string]any
		as          string
		body        any
		contentType string
	}{
		{name: "Base64", put: map[string]any{"body": base64.StdEncoding.EncodeToString(binary), "encoding": "base64"},
			as: "base64", body: base64.StdEncoding.EncodeToString(binary), contentType: "application/octet-stream"},
		{name: "ContentType", put: map[string]any{"body": "a,b\n1,2\n", "contentType": "text/csv"},
			as: "text", body: "a,b\n1,2\n", contentType: "text/csv"},
		{name: "JSON", put: map[string]any{"body": map[string]any{"n": 1.5, "tags": []any{"a", "<b>"}}},
			as: "json", body: map[string]any{"n": 1.5, "tags": []any{"a", "<b>"}}, contentType: "application/json"},
		{name: "JSONAsText", put: map[string]any{"body": []any{1.0, 2.0}},
			as: "text", body: "[1,2]", contentType: "application/json"},
		{name: "Text", put: map[string]any{"body": "héllo"},
			as: "", body: "héllo", contentType: "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, conntest.Config())
			put := map[string]any{"key": "dir/" + tt.name, "metadata": map[string]any{"source": "test"}}
			for k, v := range tt.put {
				put[k] = v
			}
			stored := b.runOK(t, "s3.put", put)
			require.Equal(t, "data", stored["bucket"])
			require.NotEmpty(t, stored["etag"])

			get := map[string]any{"key": "dir/" + tt.name}
			if tt.as != "" {
				get["as"] = tt.as
			}
			out := b.runOK(t, "s3.get", get)
			require.Equal(t, tt.body, out["body"])
			require.Equal(t, tt.contentType, out["contentType"])
			require.Equal(t, map[string]any{"source": "test"}, out["metadata"])
			require.Equal(t, stored["size"], out["size"])
		})
	}
}

func TestGetErrors(t *testing.T) {
	t.Parallel()

	b := setup(t, conntest.Config())
	b.runOK(t, "s3.put", map[string]any{"key": "big", "body": strings.Repeat("x", 2000)})
	b.runOK(t, "s3.put", map[string]any{"key": "huge", "body": strings.Repeat("y", 1<<20)})

	_, err := b.run(t, "s3.get", map[string]any{"key": "missing"})
	ne := requireNodeError(t, err, CodeNotFound, true)
	require.Equal(t, "S3 at "+strings.TrimPrefix(b.srv.URL, "http://")+": data/missing does not exist", ne.Message)

	_, err = b.run(t, "s3.get", map[string]any{"key": "x", "bucket": "nope"})
	_ = requireNodeError(t, err, CodeBucketNotFound, true)

	_, err = b.run(t, "s3.get", map[string]any{"key": "big", "maxBytes": 1000})
	_ = requireNodeError(t, err, CodeObjectTooLarge, true)

	_, err = b.run(t, "s3.get", map[string]any{"key": "huge", "as": "base64"})
	_ = requireNodeError(t, err, CodeOutputTooLarge, true)

	_, err = b.run(t, "s3.get", map[string]any{"key": "big", "as": "json"})
	_ = requireNodeError(t, err, CodeInvalidJSON, true)

	noBucket := b.addCred(t, nil)
	_, err = b.run(t, "s3.get", map[string]any{"key": "big", "credential": noBucket})
	_ = requireNodeError(t, err, CodeInvalidConfig, true)
	out := b.runOK(t, "s3.get", map[string]any{"key": "big", "credential": noBucket, "bucket": "data"})
	require.Equal(t, 2000, out["size"])

	require.Equal(t, 2, b.shared.transports.Len(), "one pool per credential, shared by runs")
}

func TestListAndDelete(t *testing.T) {
	t.Parallel()

	b := setup(t, conntest.Config())
	var all []string
	for i := range 25 {
		key := fmt.Sprintf("logs/%02d.txt", i)
		all = append(all, key)
		b.runOK(t, "s3.put", map[string]any{"key": key, "body": "x"})
	}
	for _, k := range []string{"logs/2026/a.txt", "logs/2026/b.txt", "logs/2027/c.txt", "other.txt"} {
		b.runOK(t, "s3.put", map[string]any{"key": k, "body": "y"})
	}

	t.Run("Delimiter", func(t *testing.T) {
		out := b.runOK(t, "s3.list", map[string]any{"prefix": "logs/", "delimiter": "/"})
		require.Equal(t, []any{"logs/2026/", "logs/2027/"}, out["prefixes"])
		require.Len(t, out["objects"], 25)
		require.Equal(t, false, out["isTruncated"])
		first := out["objects"].([]any)[0].(map[string]any)
		require.Equal(t, "logs/00.txt", first["key"])
		require.EqualValues(t, 1, first["size"])
	})

	t.Run("Pages", func(t *testing.T) {
		var keys []string
		token := ""
		pages := 0
		for {
			config := map[string]any{"prefix": "logs/", "delimiter": "/", "maxKeys": 10}
			if token != "" {
				config["continuationToken"] = token
			}
			out := b.runOK(t, "s3.list", config)
			pages++
			for _, o := range out["objects"].([]any) {
				keys = append(keys, o.(map[string]any)["key"].(string))
			}
			if out["isTruncated"] != true {
				require.NotContains(t, out, "nextContinuationToken")
				break
			}
			token = out["nextContinuationToken"].(string)
			require.NotEmpty(t, token)
			require.Less(t, pages, 10)
		}
		require.Equal(t, all, keys, "every key once, in order")
		require.GreaterOrEqual(t, pages, 3)
	})

	t.Run("Delete", func(t *testing.T) {
		out := b.runOK(t, "s3.delete", map[string]any{"key": "other.txt"})
		require.Equal(t, []any{"other.txt"}, out["deleted"])
		out = b.runOK(t, "s3.delete", map[string]any{"keys": []any{"logs/2026/a.txt", "logs/2026/b.txt", "logs/never.txt"}})
		require.Equal(t, []any{"logs/2026/a.txt", "logs/2026/b.txt", "logs/never.txt"}, out["deleted"])
		require.Empty(t, out["errors"])
		out = b.runOK(t, "s3.list", map[string]any{"prefix": "logs/2026/"})
		require.Empty(t, out["objects"])
		out = b.runOK(t, "s3.list", map[string]any{"prefix": "other"})
		require.Empty(t, out["objects"])
	})
}

func TestGuardAndTimeout(t *testing.T) {
	t.Parallel()

	t.Run("SSRFBlocked", func(t *testing.T) {
		t.Parallel()
		b := setup(t, conntest.StrictConfig())
		for typ, config := range map[node.TypeName]map[string]any{
			"s3.get": {"key": "k"}, "s3.put": {"key": "k", "body": "x"}, "s3.list": {}, "s3.delete": {"key": "k"},
		} {
			_, err := b.run(t, typ, config)
			_ = requireNodeError(t, err, conn.CodeSSRFBlocked, true)
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		b := setup(t, conntest.Config())
		slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		t.Cleanup(slow.Close)
		id := b.creds.Add(t, "s3", map[string]any{"endpoint": strings.TrimPrefix(slow.URL, "http://"), "accessKeyId": "a",
			"secretAccessKey": testSecret, "bucket": "data", "pathStyle": true, "tls": false})
		_, err := b.run(t, "s3.list", map[string]any{"credential": id, "timeout": "200ms"})
		_ = requireNodeError(t, err, CodeTimeout, false)
	})
}

func TestConfig(t *testing.T) {
	t.Parallel()

	b := setup(t, conntest.Config())
	tests := []struct {
		name   string
		typ    node.TypeName
		config map[string]any
		want   string
	}{
		{name: "DeleteBoth", typ: "s3.delete", config: map[string]any{"key": "a", "keys": []any{"b"}}, want: "not both"},
		{name: "DeleteNeither", typ: "s3.delete", config: map[string]any{}, want: "set key"},
		{name: "GetNoKey", typ: "s3.get", config: map[string]any{}, want: "key"},
		{name: "GetUnknownAs", typ: "s3.get", config: map[string]any{"key": "k", "as": "xml"}, want: "as"},
		{name: "ListTooMany", typ: "s3.list", config: map[string]any{"maxKeys": 5000}, want: "maxKeys"},
		{name: "PutBadMetadata", typ: "s3.put", config: map[string]any{"key": "k", "body": "x", "metadata": map[string]any{"a b": "c"}}, want: "metadata"},
		{name: "PutNoBody", typ: "s3.put", config: map[string]any{"key": "k"}, want: "body"},
		{name: "UnknownField", typ: "s3.list", config: map[string]any{"recursive": true}, want: "recursive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.config["credential"] = "c"
			_, err := b.types[tt.typ].Instantiate(tt.config, false)
			require.ErrorContains(t, err, tt.want)
		})
	}

	t.Run("PutEncodingMismatch", func(t *testing.T) {
		t.Parallel()
		_, err := b.run(t, "s3.put", map[string]any{"key": "k", "body": map[string]any{"a": 1}, "encoding": "base64"})
		_ = requireNodeError(t, err, CodeInvalidConfig, true)
		_, err = b.run(t, "s3.put", map[string]any{"key": "k", "body": "***", "encoding": "base64"})
		_ = requireNodeError(t, err, CodeInvalidConfig, true)
	})
}

func TestTesters(t *testing.T) {
	t.Parallel()

	b := setup(t, conntest.Config())
	get := func(extra map[string]any) *node.Credential {
		c, err := b.creds.Get(t.Context(), b.addCred(t, extra))
		require.NoError(t, err)
		return c
	}
	host := strings.TrimPrefix(b.srv.URL, "http://")
	test := Testers(conntest.Config())["s3"]
	msg, err := test(t.Context(), get(map[string]any{"bucket": "data"}))
	require.NoError(t, err)
	require.Equal(t, "Connected to "+host+": bucket data exists", msg)

	msg, err = test(t.Context(), get(nil))
	require.NoError(t, err)
	require.Equal(t, "Connected to "+host+": the key lists 1 buckets", msg)

	_, err = test(t.Context(), get(map[string]any{"bucket": "nope"}))
	_ = requireNodeError(t, err, CodeBucketNotFound, false)

	_, err = Testers(conntest.StrictConfig())["s3"](t.Context(), get(nil))
	_ = requireNodeError(t, err, conn.CodeSSRFBlocked, true)
}
