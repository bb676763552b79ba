// Package payload encodes the bodies that the queue node types (amqp, mqtt, kafka) publish and
// decodes the ones their triggers receive, the same way for every broker: JSON when the value is not
// a string (or the content type says JSON), text when it is, base64 when the bytes are not text.
package payload

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"
)

// Body types a publishing node's bodyType accepts.
const (
	// TypeAuto sends a string as it is and any other value as JSON.
	TypeAuto = "auto"
	// TypeJSON sends the value as JSON, a string included (quoted).
	TypeJSON = "json"
	// TypeText sends a string, number or boolean as text.
	TypeText = "text"
)

// Content types the encoder sets.
const (
	ContentTypeJSON = "application/json"
	ContentTypeText = "text/plain; charset=utf-8"
)

// Encode returns the bytes of body per bodyType (auto when empty) and the content type they imply.
// A nil body is an empty message under text, and null under json.
func Encode(body any, bodyType string) (data []byte, contentType string, err error) {
	switch bodyType {
	case "", TypeAuto:
		switch v := body.(type) {
		case nil:
			return nil, "", nil
		case string:
			return []byte(v), ContentTypeText, nil
		}
		return encodeJSON(body)
	case TypeJSON:
		return encodeJSON(body)
	case TypeText:
		switch v := body.(type) {
		case nil:
			return nil, ContentTypeText, nil
		case string:
			return []byte(v), ContentTypeText, nil
		case bool, float64, float32, int, int64, int32, json.Number:
			return fmt.Appendf(nil, "%v", v), ContentTypeText, nil
		}
		return nil, "", fmt.Errorf("bodyType text needs a string, number or boolean body, not %T", body)
	}
	return nil, "", fmt.Errorf("bodyType %q is not one of auto, json, text", bodyType)
}

func encodeJSON(body any) ([]byte, string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, "", fmt.Errorf("encode body as JSON: %w", err)
	}
	return b, ContentTypeJSON, nil
}

// Encodings Decode reports.
const (
	EncodingJSON   = "json"
	EncodingText   = "text"
	EncodingBase64 = "base64"
)

// IsJSON reports whether a content type is JSON: application/json, text/json or any …+json.
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// Decode turns a received message body into a value: parsed JSON when the content type is JSON, or
// when there is no content type and the bytes are a JSON value; the text when the bytes are UTF-8;
// else their base64 encoding. encoding says which (json, text or base64). An empty body is "" as text.
func Decode(contentType string, data []byte) (value any, encoding string) {
	if len(data) == 0 {
		return "", EncodingText
	}
	if IsJSON(contentType) || strings.TrimSpace(contentType) == "" {
		if v, ok := parseJSON(data); ok {
			return v, EncodingJSON
		}
	}
	if utf8.Valid(data) {
		return string(data), EncodingText
	}
	return base64.StdEncoding.EncodeToString(data), EncodingBase64
}

func parseJSON(data []byte) (any, bool) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, false
	}
	return v, true
}

// JSONValue turns what a client library gives for a header or property (numbers of every width,
// byte slices, times, nested tables and arrays) into a value that encodes as JSON the way one expects:
// byte slices as text (base64 when not UTF-8), times as RFC 3339 strings, unknown types through
// fmt.
func JSONValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, float64, float32, int, int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return base64.StdEncoding.EncodeToString(x)
	case interface{ Format(string) string }: // time.Time
		return x.Format("2006-01-02T15:04:05.999999999Z07:00")
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = JSONValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSONValue(e)
		}
		return out
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
