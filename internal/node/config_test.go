package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
)

// router is a node type whose output ports come from its configuration (as flow.switch's do) and
// that validates its own configuration beyond the schema.
type router struct {
	Ports []string `json:"ports"`
}

func (*router) NodeInfo() node.Info {
	return node.Info{Type: "test.router", Outputs: []node.PortSpec{{Name: "default"}},
		Schema: json.RawMessage(`{"type":"object","properties":{"ports":{"type":"array","items":{"type":"string"}}}}`),
		New:    func() node.Node { return &router{} }}
}

func (r *router) Execute(context.Context, *node.Input) (node.Output, error) {
	return node.Emit(r.Ports[0], nil), nil
}

func (r *router) OutputPorts() []string { return append(r.Ports, "default") }

var errNoDefault = errors.New(`a port may not be named "default"`)

func (r *router) Validate() error {
	for _, p := range r.Ports {
		if p == "default" {
			return errNoDefault
		}
	}
	return nil
}

// nilNew is a node type whose New returns nil.
type nilNew struct{}

func (nilNew) NodeInfo() node.Info {
	return node.Info{Type: "test.nilnew", New: func() node.Node { return nil }}
}
func (nilNew) Execute(context.Context, *node.Input) (node.Output, error) { return node.Output{}, nil }

func TestRegisterDefaults(t *testing.T) {
	t.Parallel()
	r := node.NewRegistry()
	require.EqualError(t, r.Register(nilNew{}), "register node type test.nilnew: New returned nil")

	// Without a schema a type takes no configuration; its version defaults to 1.
	r.MustRegister(newFake("test.bare", ""))
	typ, ok := r.Lookup("test.bare")
	require.True(t, ok)
	require.Equal(t, 1, typ.Info.Version)
	require.JSONEq(t, `{"type":"object","additionalProperties":false}`, string(typ.Info.Schema))
	require.Empty(t, typ.ValidateConfig(nil, false))
	require.Empty(t, typ.ValidateConfig(map[string]any{}, false))
	errs := typ.ValidateConfig(map[string]any{"url": "x"}, false)
	require.Len(t, errs, 1)
	require.Equal(t, "", errs[0].Pointer)
}

func TestOutputPortsFromConfig(t *testing.T) {
	t.Parallel()
	r := node.NewRegistry()
	r.MustRegister(&router{}, newFake("test.static", `{}`))
	typ, _ := r.Lookup("test.router")
	require.Equal(t, []string{"a", "b", "default"}, typ.OutputPorts(map[string]any{"ports": []any{"a", "b"}}))
	require.Equal(t, []string{"default"}, typ.OutputPorts(map[string]any{"ports": "not a list"}), "a configuration that does not decode has the declared ports")
	static, _ := r.Lookup("test.static")
	require.Equal(t, []string{"out"}, static.OutputPorts(map[string]any{"ports": []any{"a"}}))
}

func TestInstantiate(t *testing.T) {
	t.Parallel()
	r := node.NewRegistry()
	r.MustRegister(&router{}, newFake("test.http", `{"type":"object","required":["url"],"properties":{"url":{"type":"string"}}}`))
	routerType, _ := r.Lookup("test.router")
	n, err := routerType.Instantiate(map[string]any{"ports": []any{"hot"}}, false)
	require.NoError(t, err)
	out, err := n.Execute(context.Background(), &node.Input{})
	require.NoError(t, err)
	require.Equal(t, "hot", out.Port)

	_, err = routerType.Instantiate(map[string]any{"ports": []any{"default"}}, false)
	require.ErrorIs(t, err, errNoDefault, "the node's own Validate runs")

	httpType, _ := r.Lookup("test.http")
	_, err = httpType.Instantiate(map[string]any{"url": 5.0}, true)
	require.ErrorContains(t, err, "decode configuration", "a configuration said to be checked is still decoded safely")
	_, err = httpType.Instantiate(map[string]any{"url": 5.0}, false)
	var cerrs *node.ConfigErrors
	require.ErrorAs(t, err, &cerrs)
	require.EqualError(t, err, "invalid configuration: config/url: got number, want string")
	_, err = httpType.Instantiate(map[string]any{}, false)
	require.EqualError(t, err, "invalid configuration: config: missing property 'url'")
}

// TestValidateConfigOfGoValues: configurations built in Go (typed slices and numbers, structs, deep
// nesting) are checked as the JSON they encode to; one that cannot be JSON is refused.
func TestValidateConfigOfGoValues(t *testing.T) {
	t.Parallel()
	r := node.NewRegistry()
	r.MustRegister(newFake("test.typed", `{"type":"object","properties":{
		"tags":{"type":"array","items":{"type":"string"}},
		"port":{"type":"integer","maximum":65535},
		"list":{"type":"array","items":{"type":"integer"}},
		"deep":{}}}`))
	typ, _ := r.Lookup("test.typed")
	deep := any("leaf")
	for range 70 {
		deep = map[string]any{"d": deep}
	}
	tests := []struct {
		name      string
		config    map[string]any
		templates bool
		want      []node.ConfigError
	}{
		{name: "TypedValues", config: map[string]any{"tags": []string{"a", "b"}, "port": int64(8080)}},
		{name: "TypedValueOutOfRange", config: map[string]any{"port": uint16(0xFFFF), "tags": []int{1}},
			want: []node.ConfigError{{Pointer: "/tags/0", Message: "got number, want string"}}},
		{name: "Struct", config: map[string]any{"tags": struct{ A string }{"x"}},
			want: []node.ConfigError{{Pointer: "/tags", Message: "got object, want array"}}},
		{name: "DeepNesting", config: map[string]any{"deep": deep, "port": "x"},
			want: []node.ConfigError{{Pointer: "/port", Message: "got string, want integer"}}},
		{name: "TemplateInAList", config: map[string]any{"list": []any{"{{ input.n }}", 2.0, "three"}}, templates: true,
			want: []node.ConfigError{{Pointer: "/list/2", Message: "got string, want integer"}}},
		{name: "NotJSON", config: map[string]any{"tags": make(chan int)},
			want: []node.ConfigError{{Message: "configuration is not JSON: json: unsupported type: chan int"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, typ.ValidateConfig(tc.config, tc.templates))
		})
	}
}
