package core_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/core"
)

func registry(t *testing.T) *node.Registry {
	t.Helper()
	r := node.NewRegistry()
	r.MustRegister(core.All()...)
	return r
}

func run(t *testing.T, typ string, config map[string]any, in *node.Input) (node.Output, error) {
	t.Helper()
	nt, ok := registry(t).Lookup(node.TypeName(typ))
	require.True(t, ok)
	n, err := nt.Instantiate(config, false)
	require.NoError(t, err)
	if in.Eval == nil {
		in.Eval = func(ctx context.Context, src string, item any, index int) (any, error) {
			tmpl, err := expression.Compile(src, expression.Limits{})
			if err != nil {
				return nil, err
			}
			return tmpl.Eval(ctx, &expression.Env{Input: in.Data, Item: item, Index: index}, expression.Budget{})
		}
	}
	return n.Execute(context.Background(), in)
}

func TestNodes(t *testing.T) {
	t.Parallel()

	order := map[string]any{"id": 7.0, "customer": map[string]any{"name": "Ada"}}
	tests := []struct {
		name     string
		typ      string
		config   map[string]any
		in       *node.Input
		wantPort string
		want     any
		errCode  string
	}{
		{name: "ManualPassesTriggerData", typ: "trigger.manual", in: &node.Input{Data: order}, wantPort: "out", want: order},
		{name: "WebhookPassesRequest", typ: "trigger.webhook", config: map[string]any{"path": "x"}, in: &node.Input{Data: "req"}, wantPort: "out", want: "req"},
		{name: "SetAddsFields", typ: "data.set", config: map[string]any{"fields": map[string]any{"total": 12.0}},
			in: &node.Input{Data: order}, wantPort: "out",
			want: map[string]any{"id": 7.0, "customer": map[string]any{"name": "Ada"}, "total": 12.0}},
		{name: "SetDotPathCopiesNestedObjects", typ: "data.set", config: map[string]any{"fields": map[string]any{"customer.tier": "gold"}},
			in: &node.Input{Data: order}, wantPort: "out",
			want: map[string]any{"id": 7.0, "customer": map[string]any{"name": "Ada", "tier": "gold"}}},
		{name: "SetWithoutInput", typ: "data.set", config: map[string]any{"fields": map[string]any{"a": 1.0}, "keepInput": false},
			in: &node.Input{Data: order}, wantPort: "out", want: map[string]any{"a": 1.0}},
		{name: "SetOnNonObjectInput", typ: "data.set", config: map[string]any{"fields": map[string]any{"a": 1.0}},
			in: &node.Input{Data: []any{1.0}}, wantPort: "out", want: map[string]any{"a": 1.0}},
		{name: "Transform", typ: "data.transform", config: map[string]any{"expression": []any{1.0, 2.0}}, in: &node.Input{}, wantPort: "out", want: []any{1.0, 2.0}},
		{name: "FilterInput", typ: "data.filter", config: map[string]any{"condition": "{{ item > 1 }}"},
			in: &node.Input{Data: []any{1.0, 2.0, 3.0}}, wantPort: "out", want: []any{2.0, 3.0}},
		{name: "FilterItemsUsesIndex", typ: "data.filter", config: map[string]any{"items": []any{"a", "b", "c"}, "condition": "{{ index != 1 }}"},
			in: &node.Input{}, wantPort: "out", want: []any{"a", "c"}},
		{name: "FilterNeedsArray", typ: "data.filter", config: map[string]any{"condition": "{{ true }}"},
			in: &node.Input{Data: "nope"}, errCode: "not_array"},
		{name: "IfTrue", typ: "flow.if", config: map[string]any{"condition": true}, in: &node.Input{Data: 1.0}, wantPort: "true", want: 1.0},
		{name: "IfFalsyString", typ: "flow.if", config: map[string]any{"condition": "false"}, in: &node.Input{Data: 1.0}, wantPort: "false", want: 1.0},
		{name: "IfEmptyArray", typ: "flow.if", config: map[string]any{"condition": []any{}}, in: &node.Input{Data: 1.0}, wantPort: "false", want: 1.0},
		{name: "SwitchFirstMatch", typ: "flow.switch", config: map[string]any{"cases": []any{
			map[string]any{"port": "a", "condition": false}, map[string]any{"port": "b", "condition": true}, map[string]any{"port": "c", "condition": true}}},
			in: &node.Input{Data: "x"}, wantPort: "b", want: "x"},
		{name: "SwitchDefault", typ: "flow.switch", config: map[string]any{"cases": []any{map[string]any{"port": "a", "condition": 0.0}}},
			in: &node.Input{Data: "x"}, wantPort: "default", want: "x"},
		{name: "MergeAllObject", typ: "flow.merge", config: map[string]any{},
			in: &node.Input{Sources: []node.Source{{Node: "a", Value: 1.0}, {Node: "b", Value: 2.0}}}, wantPort: "out", want: map[string]any{"a": 1.0, "b": 2.0}},
		{name: "MergeAllArray", typ: "flow.merge", config: map[string]any{"output": "array"},
			in: &node.Input{Sources: []node.Source{{Node: "a", Value: 1.0}, {Node: "b", Value: 2.0}}}, wantPort: "out", want: []any{1.0, 2.0}},
		{name: "MergeAny", typ: "flow.merge", config: map[string]any{"mode": "any"}, in: &node.Input{Data: "first"}, wantPort: "out", want: "first"},
		{name: "DelayPastTimePassesThrough", typ: "flow.delay", config: map[string]any{"until": "2000-01-01T00:00:00Z"},
			in: &node.Input{Data: "x"}, wantPort: "out", want: "x"},
		{name: "DelayResumed", typ: "flow.delay", config: map[string]any{"duration": "1h"},
			in: &node.Input{Data: "x", Resume: &node.Resume{WakeAt: time.Now()}}, wantPort: "out", want: "x"},
		{name: "Fail", typ: "flow.fail", config: map[string]any{"message": "stop", "code": "E42"}, in: &node.Input{}, errCode: "E42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := run(t, tt.typ, tt.config, tt.in)
			if tt.errCode != "" {
				require.Error(t, err)
				require.True(t, node.IsPermanent(err), "this failure cannot be fixed by retrying")
				var ne *node.Error
				require.True(t, errors.As(err, &ne))
				require.Equal(t, tt.errCode, ne.Code)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantPort, out.Port)
			require.Equal(t, tt.want, out.Value)
		})
	}
}

func TestSetDoesNotModifyItsInput(t *testing.T) {
	t.Parallel()
	in := map[string]any{"customer": map[string]any{"name": "Ada"}}
	_, err := run(t, "data.set", map[string]any{"fields": map[string]any{"customer.name": "Bob", "x": 1.0}}, &node.Input{Data: in})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"customer": map[string]any{"name": "Ada"}}, in)
}

func TestDelaySuspends(t *testing.T) {
	t.Parallel()
	_, err := run(t, "flow.delay", map[string]any{"duration": "5m"}, &node.Input{Data: "x"})
	var suspend *node.SuspendError
	require.ErrorAs(t, err, &suspend)
	require.WithinDuration(t, time.Now().Add(5*time.Minute), suspend.Until, 5*time.Second)
}

func TestValidation(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		typ     string
		config  map[string]any
		message string
	}{
		{name: "SwitchDuplicatePort", typ: "flow.switch", config: map[string]any{"cases": []any{
			map[string]any{"port": "a", "condition": true}, map[string]any{"port": "a", "condition": true}}}, message: "used by an earlier case"},
		{name: "SwitchReservedPort", typ: "flow.switch", config: map[string]any{"cases": []any{map[string]any{"port": "default", "condition": true}}}, message: "reserved"},
		{name: "ScheduleBadCron", typ: "trigger.schedule", config: map[string]any{"cron": "every day"}, message: "cron"},
		{name: "ScheduleTimezoneInCron", typ: "trigger.schedule", config: map[string]any{"cron": "TZ=UTC 0 * * * *"}, message: "timezone field"},
		{name: "ScheduleBadTimezone", typ: "trigger.schedule", config: map[string]any{"cron": "@daily", "timezone": "Mars/Olympus"}, message: "IANA"},
		{name: "DelayBadUntil", typ: "flow.delay", config: map[string]any{"until": "tomorrow"}, message: "date-time"},
		{name: "WebhookRedactHeadersBadName", typ: "trigger.webhook", config: map[string]any{"path": "x", "redactHeaders": []any{"x api key"}}, message: "redactHeaders/0"},
		{name: "WebhookRedactHeadersDuplicate", typ: "trigger.webhook", config: map[string]any{"path": "x", "redactHeaders": []any{"a", "a"}}, message: "redactHeaders"},
		{name: "WebhookRedactHeadersEmptyName", typ: "trigger.webhook", config: map[string]any{"path": "x", "redactHeaders": []any{""}}, message: "redactHeaders/0"},
		{name: "WebhookRedactHeadersNotAList", typ: "trigger.webhook", config: map[string]any{"path": "x", "redactHeaders": "x-api-key"}, message: "redactHeaders"},
		{name: "WebhookRedactHeadersNotStrings", typ: "trigger.webhook", config: map[string]any{"path": "x", "redactHeaders": []any{7.0}}, message: "redactHeaders/0"},
		{name: "WebhookRedactHeadersTooMany", typ: "trigger.webhook", config: map[string]any{"path": "x", "redactHeaders": manyHeaders(51)}, message: "redactHeaders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nt, _ := registry(t).Lookup(node.TypeName(tt.typ))
			_, err := nt.Instantiate(tt.config, false)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.message)
		})
	}
}

func manyHeaders(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("x-h%d", i)
	}
	return out
}

func TestSensitiveHeader(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		sensitive bool
	}{
		{name: "accept"},
		{name: "Authorization", sensitive: true},
		{name: "content-type"},
		{name: "Cookie", sensitive: true},
		{name: "Proxy-Authorization", sensitive: true},
		{name: "set-cookie", sensitive: true},
		{name: "Stripe-Signature"},
		{name: "user-agent"},
		{name: "X-Amz-Security-Token", sensitive: true},
		{name: "X-Api-Key", sensitive: true},
		{name: "x-apikey", sensitive: true},
		{name: "X-Auth-Token", sensitive: true},
		{name: "X-Client-Secret", sensitive: true},
		{name: "X-Csrf-Token", sensitive: true},
		{name: "X-Forwarded-For"},
		{name: "X-Gitlab-Token", sensitive: true},
		{name: "X-Hub-Signature-256"},
		{name: "X-Password", sensitive: true},
		{name: "X-Request-ID"},
		{name: "X-Session-Id", sensitive: true},
		{name: "X-Upstream-Credentials", sensitive: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.sensitive, core.SensitiveHeader(tt.name))
		})
	}
}

func TestWebhookRedact(t *testing.T) {
	t.Parallel()
	headers := map[string]any{
		"authorization": "Bearer s3cret", "cookie": "sid=s3cret", "x-api-key": "s3cret", "x-shop-key": "s3cret",
		"content-type": "application/json", "x-hub-signature-256": "sha256=abc",
	}
	wh := &core.Webhook{Path: "x", RedactHeaders: []string{"X-Shop-Key"}}
	require.Equal(t, map[string]any{
		"authorization": core.Redacted, "cookie": core.Redacted, "x-api-key": core.Redacted, "x-shop-key": core.Redacted,
		"content-type": "application/json", "x-hub-signature-256": "sha256=abc",
	}, wh.Redact(headers))
	require.Equal(t, "s3cret", headers["x-shop-key"], "the caller's map is not modified")

	// Without a trigger configuration the sensitive headers are still redacted.
	var none *core.Webhook
	got := none.Redact(headers)
	require.Equal(t, core.Redacted, got["authorization"])
	require.Equal(t, "s3cret", got["x-shop-key"])
	require.Empty(t, none.Redact(nil))
}

func TestSwitchPorts(t *testing.T) {
	t.Parallel()
	nt, _ := registry(t).Lookup("flow.switch")
	ports := nt.OutputPorts(map[string]any{"cases": []any{map[string]any{"port": "high", "condition": "{{ x }}"}, map[string]any{"port": "low", "condition": true}}})
	require.Equal(t, []string{"high", "low", "default"}, ports)
}
