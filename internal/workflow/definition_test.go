package workflow

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		input   string
		wantErr string
		check   func(t *testing.T, def *Definition)
	}{
		{
			name: "DurationsParsed",
			input: `{"name": "d", "nodes": [{"id": "a", "type": "data.set", "timeout": "1m30s",
				"retry": {"initialInterval": "250ms", "maxInterval": "1h2m3s"}}],
				"edges": [], "settings": {"timeout": "10m"}}`,
			check: func(t *testing.T, def *Definition) {
				t.Helper()
				require.Equal(t, 90*time.Second, def.Nodes[0].Timeout.Std())
				require.Equal(t, 250*time.Millisecond, def.Nodes[0].Retry.InitialInterval.Std())
				require.Equal(t, time.Hour+2*time.Minute+3*time.Second, def.Nodes[0].Retry.MaxInterval.Std())
				require.Equal(t, 10*time.Minute, def.Settings.Timeout.Std())
			},
		},
		{
			name:  "DurationZero",
			input: `{"name": "d", "nodes": [{"id": "a", "type": "data.set", "timeout": "0s"}], "edges": []}`,
			check: func(t *testing.T, def *Definition) {
				t.Helper()
				require.Zero(t, def.Nodes[0].Timeout)
			},
		},
		{
			name:    "DurationMalformed",
			input:   `{"name": "d", "nodes": [{"id": "a", "type": "data.set", "timeout": "soon"}], "edges": []}`,
			wantErr: `invalid duration "soon": use a number with a unit, such as 500ms, 30s or 5m`,
		},
		{
			name:    "DurationNegative",
			input:   `{"name": "d", "nodes": [], "edges": [], "settings": {"timeout": "-1s"}}`,
			wantErr: `invalid duration "-1s": must not be negative`,
		},
		{
			name:    "DurationNumber",
			input:   `{"name": "d", "nodes": [{"id": "a", "type": "data.set", "timeout": 30}], "edges": []}`,
			wantErr: "cannot unmarshal number",
		},
		{
			name:    "DurationWithoutUnit",
			input:   `{"name": "d", "nodes": [{"id": "a", "type": "data.set", "retry": {"maxInterval": "30"}}], "edges": []}`,
			wantErr: `invalid duration "30"`,
		},
		{
			name:    "Empty",
			input:   ``,
			wantErr: "parse workflow: EOF",
		},
		{
			name:  "Full",
			input: `{"name": "Orders", "description": "d", "nodes": [{"id": "start", "type": "trigger.manual", "name": "Start", "position": {"x": 1.5, "y": -2}, "onError": "continue", "forEach": "{{ input }}", "concurrency": 2, "config": {"a": [1, "x", null, true]}}], "edges": [{"source": "start", "target": "b", "sourcePort": "true", "targetPort": "in"}], "settings": {"maxConcurrentNodes": 3, "outputNode": "start", "vars": {"k": "v"}, "retention": {"maxAge": "24h", "maxExecutions": 100}}}`,
			check: func(t *testing.T, def *Definition) {
				t.Helper()
				require.Equal(t, &Definition{
					Name:        "Orders",
					Description: "d",
					Nodes: []Node{{
						ID: "start", Type: "trigger.manual", Name: "Start", Position: Position{X: 1.5, Y: -2},
						OnError: OnErrorContinue, ForEach: "{{ input }}", Concurrency: 2,
						Config: map[string]any{"a": []any{1.0, "x", nil, true}},
					}},
					Edges: []Edge{{Source: "start", Target: "b", SourcePort: "true", TargetPort: "in"}},
					Settings: Settings{MaxConcurrentNodes: 3, OutputNode: "start", Vars: map[string]any{"k": "v"},
						Retention: &Retention{MaxAge: Duration(24 * time.Hour), MaxExecutions: 100}},
				}, def)
			},
		},
		{
			name:    "NotAnObject",
			input:   `[]`,
			wantErr: "cannot unmarshal array",
		},
		{
			name:    "TrailingBrace",
			input:   `{"name": "a", "nodes": [], "edges": []}}`,
			wantErr: "parse workflow: unexpected data after the JSON object",
		},
		{
			name:    "TrailingBracket",
			input:   `{"name": "a", "nodes": [], "edges": []}]`,
			wantErr: "parse workflow: unexpected data after the JSON object",
		},
		{
			name:    "TrailingGarbage",
			input:   `{"name": "a", "nodes": [], "edges": []} x`,
			wantErr: "parse workflow: unexpected data after the JSON object",
		},
		{
			name:    "TrailingObject",
			input:   `{"name": "a", "nodes": [], "edges": []} {"name": "b"}`,
			wantErr: "parse workflow: unexpected data after the JSON object",
		},
		{
			name:  "TrailingWhitespace",
			input: "{\"name\": \"a\", \"nodes\": [], \"edges\": []}\n\t \n",
			check: func(t *testing.T, def *Definition) {
				t.Helper()
				require.Equal(t, "a", def.Name)
			},
		},
		{
			name:    "Truncated",
			input:   `{"name": "a", "nodes": [`,
			wantErr: "parse workflow: unexpected EOF",
		},
		{
			name:    "UnknownEdgeField",
			input:   `{"name": "a", "nodes": [], "edges": [{"source": "a", "target": "b", "port": "x"}]}`,
			wantErr: `parse workflow: json: unknown field "port"`,
		},
		{
			name:    "UnknownNodeField",
			input:   `{"name": "a", "nodes": [{"id": "a", "kind": "data.set"}], "edges": []}`,
			wantErr: `parse workflow: json: unknown field "kind"`,
		},
		{
			name:    "UnknownRetryField",
			input:   `{"name": "a", "nodes": [{"id": "a", "type": "data.set", "retry": {"attempts": 3}}], "edges": []}`,
			wantErr: `parse workflow: json: unknown field "attempts"`,
		},
		{
			name:    "UnknownSettingsField",
			input:   `{"name": "a", "nodes": [], "edges": [], "settings": {"parallelism": 2}}`,
			wantErr: `parse workflow: json: unknown field "parallelism"`,
		},
		{
			name:    "UnknownTopLevelField",
			input:   `{"name": "a", "nodes": [], "edges": [], "version": 2}`,
			wantErr: `parse workflow: json: unknown field "version"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			def, err := Decode(strings.NewReader(tt.input))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, def)
				return
			}
			require.NoError(t, err)
			tt.check(t, def)

			again, err := DecodeBytes([]byte(tt.input))
			require.NoError(t, err)
			require.Equal(t, def, again)
		})
	}
}

func TestDurationText(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   Duration
		want string
	}{
		{name: "Fraction", in: Duration(1500 * time.Millisecond), want: "1.5s"},
		{name: "Minutes", in: Duration(90 * time.Second), want: "1m30s"},
		{name: "Zero", in: 0, want: "0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			b, err := tt.in.MarshalText()
			require.NoError(t, err)
			require.Equal(t, tt.want, string(b))
			require.Equal(t, tt.want, tt.in.String())

			var back Duration
			require.NoError(t, back.UnmarshalText(b))
			require.Equal(t, tt.in, back)
		})
	}
}

func TestDefinitionJSONRoundTrip(t *testing.T) {
	t.Parallel()

	def := &Definition{
		Name:  "Round trip",
		Nodes: []Node{{ID: "a", Type: "data.set", Timeout: Duration(90 * time.Second), Retry: &RetryPolicy{MaxAttempts: 3, InitialInterval: Duration(time.Second)}}},
		Edges: []Edge{{Source: "a", Target: "b"}},
		Settings: Settings{
			Timeout:   Duration(10 * time.Minute),
			Retention: &Retention{MaxAge: Duration(48 * time.Hour)},
		},
	}
	b, err := json.Marshal(def)
	require.NoError(t, err)
	require.Contains(t, string(b), `"timeout":"1m30s"`)
	require.Contains(t, string(b), `"timeout":"10m0s"`)
	require.Contains(t, string(b), `"retention":{"maxAge":"48h0m0s"}`)
	require.NotContains(t, string(b), "sourcePort")
	back, err := DecodeBytes(b)
	require.NoError(t, err)
	require.Equal(t, def, back)
}

func TestEdgePorts(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		edge     Edge
		wantFrom string
		wantTo   string
	}{
		{name: "Defaults", edge: Edge{Source: "a", Target: "b"}, wantFrom: PortOut, wantTo: PortIn},
		{name: "ErrorPort", edge: Edge{SourcePort: PortError}, wantFrom: "error", wantTo: "in"},
		{name: "Explicit", edge: Edge{SourcePort: "true", TargetPort: "left"}, wantFrom: "true", wantTo: "left"},
		{name: "ExplicitDefaults", edge: Edge{SourcePort: "out", TargetPort: "in"}, wantFrom: "out", wantTo: "in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.wantFrom, tt.edge.From())
			require.Equal(t, tt.wantTo, tt.edge.To())
		})
	}
}

func TestEdgePortsDecoded(t *testing.T) {
	t.Parallel()

	def, err := DecodeBytes([]byte(`{"name": "p", "nodes": [], "edges": [
		{"source": "a", "target": "b"},
		{"source": "a", "target": "b", "sourcePort": "", "targetPort": ""},
		{"source": "a", "target": "b", "sourcePort": "error", "targetPort": "in"}
	]}`))
	require.NoError(t, err)
	var got [][2]string
	for _, e := range def.Edges {
		got = append(got, [2]string{e.From(), e.To()})
	}
	require.Equal(t, [][2]string{{"out", "in"}, {"out", "in"}, {"error", "in"}}, got)
}

func TestNodeByID(t *testing.T) {
	t.Parallel()

	def := &Definition{Nodes: []Node{{ID: "a"}, {ID: "b"}, {ID: "b", Name: "second"}}}
	require.Same(t, &def.Nodes[1], def.NodeByID("b"))
	require.Nil(t, def.NodeByID("c"))
}

func TestOnErrorValid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   OnError
		want bool
	}{
		{name: "Continue", in: OnErrorContinue, want: true},
		{name: "Empty", in: "", want: true},
		{name: "ErrorPort", in: OnErrorPort, want: true},
		{name: "Fail", in: OnErrorFail, want: true},
		{name: "Unknown", in: "retry", want: false},
		{name: "WrongCase", in: "errorport", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.want, tt.in.Valid())
		})
	}
}

func TestRetryPolicyAttempts(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		policy *RetryPolicy
		want   int
	}{
		{name: "Negative", policy: &RetryPolicy{MaxAttempts: -3}, want: 1},
		{name: "Nil", policy: nil, want: 1},
		{name: "One", policy: &RetryPolicy{MaxAttempts: 1}, want: 1},
		{name: "Set", policy: &RetryPolicy{MaxAttempts: 5}, want: 5},
		{name: "Zero", policy: &RetryPolicy{}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.want, tt.policy.Attempts())
		})
	}
}

func TestRetryPolicyBackoff(t *testing.T) {
	t.Parallel()

	custom := &RetryPolicy{
		InitialInterval: Duration(500 * time.Millisecond),
		Multiplier:      3,
		MaxInterval:     Duration(10 * time.Second),
	}
	tests := []struct {
		name   string
		policy *RetryPolicy
		next   int
		want   time.Duration
	}{
		{name: "CustomCapped", policy: custom, next: 5, want: 10 * time.Second},
		{name: "CustomFirstRetry", policy: custom, next: 2, want: 500 * time.Millisecond},
		{name: "CustomSecondRetry", policy: custom, next: 3, want: 1500 * time.Millisecond},
		{name: "CustomThirdRetry", policy: custom, next: 4, want: 4500 * time.Millisecond},
		{name: "DefaultsCapAtFiveMinutes", policy: &RetryPolicy{}, next: 11, want: 5 * time.Minute},
		{name: "DefaultsFarAttemptStaysCapped", policy: &RetryPolicy{}, next: 10_000, want: 5 * time.Minute},
		{name: "DefaultsFirstRetry", policy: &RetryPolicy{}, next: 2, want: time.Second},
		{name: "DefaultsJustUnderCap", policy: &RetryPolicy{}, next: 10, want: 256 * time.Second},
		{name: "DefaultsSecondRetry", policy: &RetryPolicy{}, next: 3, want: 2 * time.Second},
		{name: "DefaultsThirdRetry", policy: &RetryPolicy{}, next: 4, want: 4 * time.Second},
		{name: "FirstAttempt", policy: &RetryPolicy{}, next: 1, want: 0},
		{name: "InitialOverCap", policy: &RetryPolicy{InitialInterval: Duration(time.Hour), MaxInterval: Duration(time.Minute)}, next: 2, want: time.Minute},
		{name: "JitterIgnored", policy: &RetryPolicy{Jitter: 1}, next: 3, want: 2 * time.Second},
		{name: "MultiplierOne", policy: &RetryPolicy{Multiplier: 1, InitialInterval: Duration(3 * time.Second)}, next: 9, want: 3 * time.Second},
		{name: "NegativeMultiplierMeansDefault", policy: &RetryPolicy{Multiplier: -1}, next: 3, want: 2 * time.Second},
		{name: "Nil", policy: nil, next: 5, want: 0},
		{name: "ZeroAttempt", policy: &RetryPolicy{}, next: 0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.want, tt.policy.Backoff(tt.next))
		})
	}
}

func TestRetryPolicyBackoffGrows(t *testing.T) {
	t.Parallel()

	policy := &RetryPolicy{InitialInterval: Duration(100 * time.Millisecond), Multiplier: 1.5, MaxInterval: Duration(time.Minute)}
	prev := time.Duration(0)
	for next := 2; next < 100; next++ {
		d := policy.Backoff(next)
		require.GreaterOrEqual(t, d, prev, "attempt %d", next)
		require.LessOrEqual(t, d, time.Minute, "attempt %d", next)
		prev = d
	}
	require.Equal(t, time.Minute, prev)
}

func TestSettingsParallelism(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   Settings
		want int
	}{
		{name: "Negative", in: Settings{MaxConcurrentNodes: -1}, want: MaxConcurrentNodesDefault},
		{name: "Set", in: Settings{MaxConcurrentNodes: 3}, want: 3},
		{name: "Zero", in: Settings{}, want: MaxConcurrentNodesDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.want, tt.in.Parallelism())
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		``,
		`{}`,
		`null`,
		`{"name": "a", "nodes": [], "edges": []}`,
		`{"name": "a", "nodes": [{"id": "a", "type": "data.set", "timeout": "1m30s", "retry": {"maxAttempts": 3, "initialInterval": "1s"}}], "edges": [{"source": "a", "target": "b"}]}`,
		`{"name": "a", "nodes": [], "edges": []}}`,
		`{"name": "a", "settings": {"timeout": "-1s", "vars": {"x": [1, {"y": null}]}}}`,
		`{"nodes": [{"config": {"a": "{{ input }}"}, "position": {"x": 1e308, "y": -0}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Parallel()

		def, err := DecodeBytes(data)
		if err != nil {
			require.Nil(t, def)
			return
		}
		// What decodes must encode, and decode again to the same document.
		first, err := json.Marshal(def)
		require.NoError(t, err)
		again, err := DecodeBytes(first)
		require.NoError(t, err, "decode the re-encoded definition %s", first)
		second, err := json.Marshal(again)
		require.NoError(t, err)
		require.Equal(t, string(first), string(second))
	})
}
