package httpnode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

// encodeBody returns the request body and its default content type; a nil body means none.
func (r *Request) encodeBody() ([]byte, string, error) {
	bodyType := r.BodyType
	if bodyType == "" {
		bodyType = bodyNone
		if r.Body != nil {
			bodyType = bodyJSON
		}
	}
	switch bodyType {
	case bodyNone:
		return nil, "", nil
	case bodyJSON:
		if r.Body == nil {
			return nil, "", nil
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r.Body); err != nil {
			return nil, "", fmt.Errorf("encode body as JSON: %w", err)
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), "application/json", nil
	case bodyText:
		if r.Body == nil {
			return nil, "", nil
		}
		text, ok := formatScalar(r.Body)
		if !ok {
			return nil, "", errors.New("body must be a string, number or boolean when bodyType is text")
		}
		return []byte(text), "text/plain; charset=utf-8", nil
	case bodyForm:
		if r.Body == nil {
			return nil, "", nil
		}
		values, err := formValues(r.Body)
		if err != nil {
			return nil, "", err
		}
		return []byte(values.Encode()), "application/x-www-form-urlencoded", nil
	}
	return nil, "", fmt.Errorf("bodyType %q is not one of json, text, form, none", r.BodyType)
}

// formValues encodes an object of scalars, or arrays of scalars, as form fields.
func formValues(body any) (url.Values, error) {
	obj, ok := body.(map[string]any)
	if !ok {
		return nil, errors.New("body must be an object when bodyType is form")
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)
	values := url.Values{}
	for _, name := range names {
		switch v := obj[name].(type) {
		case nil:
			values.Add(name, "")
		case []any:
			for _, item := range v {
				text, ok := formatScalar(item)
				if !ok {
					return nil, fmt.Errorf("form field %q: array items must be strings, numbers or booleans", name)
				}
				values.Add(name, text)
			}
		default:
			text, ok := formatScalar(v)
			if !ok {
				return nil, fmt.Errorf("form field %q must be a string, number, boolean or an array of them", name)
			}
			values.Add(name, text)
		}
	}
	return values, nil
}

// formatScalar writes a string, number or boolean as text; numbers without exponent or trailing zeros.
func formatScalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// decodeBody decodes a response body per responseType. With auto, a JSON content type whose body does
// not parse falls back to text, and an empty body is nil. The error is a JSON syntax error and comes
// only with responseType json.
func decodeBody(data []byte, contentType, responseType string) (any, error) {
	switch responseType {
	case responseText:
		return decodeText(data, contentType), nil
	case responseJSON:
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, nil
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
	if len(data) == 0 {
		return nil, nil
	}
	if isJSONContentType(contentType) {
		var v any
		if err := json.Unmarshal(data, &v); err == nil {
			return v, nil
		}
	}
	return decodeText(data, contentType), nil
}

// isJSONContentType reports whether a Content-Type is JSON: application/json, text/json or any
// +json type such as application/problem+json.
func isJSONContentType(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mediaType == "application/json" || mediaType == "text/json" || strings.HasSuffix(mediaType, "+json")
}

// decodeText converts a body to a string, decoding the Content-Type's charset when it names one other
// than UTF-8; invalid UTF-8 becomes U+FFFD.
func decodeText(data []byte, contentType string) string {
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
			if enc, err := htmlindex.Get(cs); err == nil {
				if decoded, err := enc.NewDecoder().Bytes(data); err == nil {
					data = decoded
				}
			}
		}
	}
	if utf8.Valid(data) {
		return string(data)
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}
