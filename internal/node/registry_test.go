package node_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
)

type fake struct {
	info node.Info
	URL  string `json:"url"`
}

func (f *fake) NodeInfo() node.Info { return f.info }
func (f *fake) Execute(context.Context, *node.Input) (node.Output, error) {
	return node.Out(f.URL), nil
}

func newFake(typ string, schema string) *fake {
	f := &fake{}
	f.info = node.Info{Type: node.TypeName(typ), Title: "Fake", Schema: json.RawMessage(schema),
		Outputs: []node.PortSpec{{Name: "out"}}, New: func() node.Node { return &fake{info: f.info} }}
	return f
}

func TestRegister(t *testing.T) {
	t.Parallel()

	lazyAndRaw := newFake("test.both", `{}`)
	lazyAndRaw.info.Lazy, lazyAndRaw.info.Raw = []string{"url"}, []string{"url"}
	tests := []struct {
		name string
		n    node.Node
		err  string
	}{
		{name: "BadName", n: newFake("Fake", `{}`), err: "family.name"},
		{name: "FileRef", n: newFake("test.fileref", `{"$ref": "file:///etc/passwd"}`), err: "may only refer within themselves"},
		{name: "URLRef", n: newFake("test.urlref", `{"$ref": "https://example.com/schema.json"}`), err: "may only refer within themselves"},
		{name: "LazyAndRaw", n: lazyAndRaw, err: `key "url" cannot be both Lazy and Raw`},
		{name: "NoFamily", n: newFake("fake", `{}`), err: "family.name"},
		{name: "BadSchema", n: newFake("test.bad", `{"type": 12}`), err: "schema"},
		{name: "NilNew", n: &fake{info: node.Info{Type: "test.nil"}}, err: "New is nil"},
		{name: "Nil", n: nil, err: "nil node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := node.NewRegistry().Register(tt.n)
			require.ErrorContains(t, err, tt.err)
		})
	}

	t.Run("DuplicateAndUnregister", func(t *testing.T) {
		t.Parallel()
		r := node.NewRegistry()
		require.NoError(t, r.Register(newFake("test.one", `{}`)))
		require.ErrorContains(t, r.Register(newFake("test.one", `{}`)), "already registered")
		require.Panics(t, func() { r.MustRegister(newFake("test.one", `{}`)) })
		require.Len(t, r.List(), 1)
		require.True(t, r.Unregister("test.one"))
		require.False(t, r.Unregister("test.one"))
		_, ok := r.Lookup("test.one")
		require.False(t, ok)
	})
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	r := node.NewRegistry()
	r.MustRegister(newFake("test.http", `{"type":"object","additionalProperties":false,"required":["url"],
		"properties":{"url":{"type":"string","format":"uri"},"retries":{"type":"integer","minimum":0}}}`))
	typ, _ := r.Lookup("test.http")

	tests := []struct {
		name      string
		config    map[string]any
		templates bool
		pointers  []string
	}{
		{name: "Valid", config: map[string]any{"url": "https://example.com", "retries": 2.0}},
		{name: "Missing", config: map[string]any{}, pointers: []string{""}},
		{name: "WrongType", config: map[string]any{"url": "https://x.y", "retries": "two"}, pointers: []string{"/retries"}},
		{name: "TemplateAcceptedAtSave", config: map[string]any{"url": "{{ input.url }}", "retries": "{{ input.n }}"}, templates: true},
		{name: "TemplateRefusedAtRunTime", config: map[string]any{"url": "https://x.y", "retries": "{{ input.n }}"}, pointers: []string{"/retries"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errs := typ.ValidateConfig(tt.config, tt.templates)
			got := []string{}
			for _, e := range errs {
				got = append(got, e.Pointer)
			}
			if len(tt.pointers) == 0 {
				require.Empty(t, errs)
				return
			}
			require.Equal(t, tt.pointers, got)
		})
	}

	n, err := typ.Instantiate(map[string]any{"url": "https://example.com"}, false)
	require.NoError(t, err)
	out, err := n.Execute(context.Background(), &node.Input{})
	require.NoError(t, err)
	require.Equal(t, "https://example.com", out.Value)
	_, err = typ.Instantiate(map[string]any{}, false)
	var cerrs *node.ConfigErrors
	require.ErrorAs(t, err, &cerrs)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	require.Nil(t, node.Permanent(nil))
	err := node.Permanent(node.Errorf("x", "bad %d", 1))
	require.True(t, node.IsPermanent(err))
	require.Equal(t, "bad 1", err.Error())
	require.False(t, node.IsPermanent(node.Errorf("x", "y")))
	require.Equal(t, node.TypeName("http.request").Family(), "http")
}
