package live

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// maxID bounds a subscription id and the execution and workflow ids a client names.
const maxID = 64

// clientMessage is what a client sends (docs/live.md).
type clientMessage struct {
	Type        string     `json:"type"`
	ID          *string    `json:"id"`
	ExecutionID string     `json:"executionId"`
	WorkflowID  string     `json:"workflowId"`
	AfterSeq    *int64     `json:"afterSeq"`
	Since       *time.Time `json:"since"`
	Batch       bool       `json:"batch"`
	Token       string     `json:"token"`
}

// request is a client message that passed every check.
type request struct {
	kind  string // auth, ping, subscribe or unsubscribe
	id    string
	token string
	spec  Spec
	batch bool
}

// protocolError is a refused message: its error code and a message that says what to send instead.
type protocolError struct {
	subscription, code, message string
}

func badMessage(sub, msg string) *protocolError {
	return &protocolError{subscription: sub, code: "bad_message", message: msg}
}

// parseRequest decodes and checks one client message.
func parseRequest(data []byte) (request, *protocolError) {
	var m clientMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return request{}, badMessage("", "the message is not a JSON object of the protocol (docs/live.md): "+excerpt(err.Error()))
	}
	if dec.More() {
		return request{}, badMessage("", "send one JSON object per message")
	}
	switch m.Type {
	case "auth":
		if m.Token == "" {
			return request{}, badMessage("", "auth needs a token: the access token or API key")
		}
		return request{kind: "auth", token: m.Token}, nil
	case "ping":
		return request{kind: "ping"}, nil
	case "subscribe", "unsubscribe":
	default:
		return request{}, badMessage("", fmt.Sprintf("unknown message type %q: use auth, subscribe, unsubscribe or ping", excerpt(m.Type)))
	}
	if m.ID == nil || *m.ID == "" || len(*m.ID) > maxID || !utf8.ValidString(*m.ID) {
		return request{}, badMessage("", m.Type+" needs an id of 1 to 64 characters")
	}
	id := *m.ID
	if m.Type == "unsubscribe" {
		return request{kind: "unsubscribe", id: id}, nil
	}
	switch {
	case m.ExecutionID != "" && m.WorkflowID != "":
		return request{}, badMessage(id, "give executionId or workflowId, not both")
	case m.AfterSeq != nil && m.Since != nil:
		return request{}, badMessage(id, "give afterSeq or since, not both")
	case m.AfterSeq != nil && m.ExecutionID == "":
		return request{}, badMessage(id, "afterSeq resumes one execution: give executionId, or since for a workflow or every execution")
	case m.AfterSeq != nil && *m.AfterSeq < 0:
		return request{}, badMessage(id, "afterSeq must be 0 or more")
	case len(m.ExecutionID) > maxID || len(m.WorkflowID) > maxID:
		return request{}, badMessage(id, "ids are at most 64 characters")
	}
	spec := Spec{ExecutionID: m.ExecutionID, WorkflowID: m.WorkflowID, Since: m.Since}
	if m.AfterSeq != nil {
		spec.AfterSeq = *m.AfterSeq
	}
	return request{kind: "subscribe", id: id, spec: spec, batch: m.Batch}, nil
}
