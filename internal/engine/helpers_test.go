package engine_test

import (
	"encoding/json"

	"github.com/concertmaster/concertmaster/internal/service"
)

func serviceStart(workflowID, input, key string) service.StartParams {
	return service.StartParams{WorkflowID: workflowID, Input: json.RawMessage(input), IdempotencyKey: key}
}
