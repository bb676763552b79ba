package kafkanode

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	part := func(p int32) *int32 { return &p }
	tests := []struct {
		name    string
		node    node.Validator
		wantErr string
	}{
		{name: "ProduceOK", node: &Produce{Topic: "t", Partition: part(0), ValueType: "json"}},
		{name: "ProducePartition", node: &Produce{Topic: "t", Partition: part(-1)}, wantErr: "partition"},
		{name: "ProduceValueType", node: &Produce{Topic: "t", ValueType: "avro"}, wantErr: "valueType"},
		{name: "TriggerNoTopic", node: &Trigger{}, wantErr: "at least one topic"},
		{name: "TriggerOK", node: &Trigger{Topics: []string{"orders", "a.b_c-1"}, StartOffset: "earliest"}},
		{name: "TriggerStartOffset", node: &Trigger{Topics: []string{"t"}, StartOffset: "middle"}, wantErr: "startOffset"},
		{name: "TriggerTopicName", node: &Trigger{Topics: []string{"no spaces"}}, wantErr: "not a Kafka topic name"},
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
