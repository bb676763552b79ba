package amqpnode

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		node    node.Validator
		wantErr string
	}{
		{name: "PublishBodyType", node: &Publish{BodyType: "xml"}, wantErr: "bodyType"},
		{name: "PublishMaxMessageBytes", node: &Publish{MaxMessageBytes: MaxMessageBytesLimit + 1}, wantErr: "maxMessageBytes"},
		{name: "PublishOK", node: &Publish{BodyType: "json", Timeout: "5s"}},
		{name: "PublishTimeout", node: &Publish{Timeout: "soon"}, wantErr: "timeout"},
		{name: "PublishTimeoutTemplate", node: &Publish{Timeout: "{{ vars.timeout }}"}},
		{name: "TriggerConcurrencyOverPrefetch", node: &Trigger{Prefetch: 2, Concurrency: 3}, wantErr: "must not exceed prefetch"},
		{name: "TriggerDeclare", node: &Trigger{Declare: "exclusive"}, wantErr: "declare"},
		{name: "TriggerOK", node: &Trigger{Declare: "durable", Prefetch: 100, Concurrency: 8}},
		{name: "TriggerPrefetch", node: &Trigger{Prefetch: PrefetchLimit + 1}, wantErr: "prefetch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.node.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
