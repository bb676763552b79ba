package mqttnode

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	qos := func(i int) *int { return &i }
	tests := []struct {
		name    string
		node    node.Validator
		wantErr string
	}{
		{name: "PublishMessageExpiry", node: &Publish{Topic: "a", MessageExpiry: 1 << 33}, wantErr: "messageExpiry"},
		{name: "PublishOK", node: &Publish{Topic: "a/b", QoS: qos(2), PayloadType: "text"}},
		{name: "PublishPayloadType", node: &Publish{Topic: "a", PayloadType: "xml"}, wantErr: "payloadType"},
		{name: "PublishQoS", node: &Publish{Topic: "a", QoS: qos(3)}, wantErr: "qos"},
		{name: "PublishWildcard", node: &Publish{Topic: "a/#"}, wantErr: "wildcard"},
		{name: "PublishWildcardTemplate", node: &Publish{Topic: "{{ input.topic }}"}},
		{name: "TriggerOK", node: &Trigger{Topic: "a/+/b", ShareGroup: "g", SessionExpiry: "1h"}},
		{name: "TriggerQoS2", node: &Trigger{Topic: "a", QoS: qos(2)}, wantErr: "qos"},
		{name: "TriggerSessionExpiry", node: &Trigger{Topic: "a", SessionExpiry: "forever"}, wantErr: "sessionExpiry"},
		{name: "TriggerShareGroup", node: &Trigger{Topic: "a", ShareGroup: "g/h"}, wantErr: "shareGroup"},
		{name: "TriggerSharePrefix", node: &Trigger{Topic: "$share/g/a"}, wantErr: "shareGroup"},
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
