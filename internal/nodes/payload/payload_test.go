package payload

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEncode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, bodyType string
		body           any
		want, wantCT   string
		wantErr        bool
	}{
		{name: "AutoNil", body: nil, want: "", wantCT: ""},
		{name: "AutoObject", body: map[string]any{"a": 1.0}, want: `{"a":1}`, wantCT: ContentTypeJSON},
		{name: "AutoString", body: "hi", want: "hi", wantCT: ContentTypeText},
		{name: "JSONNil", bodyType: TypeJSON, body: nil, want: "null", wantCT: ContentTypeJSON},
		{name: "JSONString", bodyType: TypeJSON, body: "hi", want: `"hi"`, wantCT: ContentTypeJSON},
		{name: "TextBool", bodyType: TypeText, body: true, want: "true", wantCT: ContentTypeText},
		{name: "TextNumber", bodyType: TypeText, body: 1.5, want: "1.5", wantCT: ContentTypeText},
		{name: "TextObject", bodyType: TypeText, body: map[string]any{}, wantErr: true},
		{name: "UnknownType", bodyType: "xml", body: "x", wantErr: true},
		{name: "Unencodable", bodyType: TypeJSON, body: func() {}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ct, err := Encode(tt.body, tt.bodyType)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
			require.Equal(t, tt.wantCT, ct)
		})
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType string
		data              []byte
		want              any
		wantEnc           string
	}{
		{name: "Base64", data: []byte{0xff, 0x00}, want: "/wA=", wantEnc: EncodingBase64},
		{name: "Empty", data: nil, want: "", wantEnc: EncodingText},
		{name: "JSONContentType", contentType: "application/json; charset=utf-8", data: []byte(`[1,"a"]`), want: []any{1.0, "a"}, wantEnc: EncodingJSON},
		{name: "JSONContentTypeInvalid", contentType: "application/json", data: []byte(`{`), want: "{", wantEnc: EncodingText},
		{name: "NoContentTypeJSON", data: []byte(` {"a": true} `), want: map[string]any{"a": true}, wantEnc: EncodingJSON},
		{name: "NoContentTypeText", data: []byte("hello"), want: "hello", wantEnc: EncodingText},
		{name: "SuffixJSON", contentType: "application/vnd.acme+json", data: []byte(`7`), want: 7.0, wantEnc: EncodingJSON},
		{name: "TextContentTypeKeepsJSONText", contentType: "text/plain", data: []byte(`{"a":1}`), want: `{"a":1}`, wantEnc: EncodingText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, enc := Decode(tt.contentType, tt.data)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wantEnc, enc)
		})
	}
}

func TestJSONValue(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 12, 1, 9, 0, 0, 5, time.UTC)
	require.Equal(t, map[string]any{"b": "text", "bin": "/w==", "t": "2026-12-01T09:00:00.000000005Z", "n": []any{int32(1), "x"}},
		JSONValue(map[string]any{"b": []byte("text"), "bin": []byte{0xff}, "t": ts, "n": []any{int32(1), []byte("x")}}))
	type other struct{ A int }
	require.Equal(t, "{1}", JSONValue(other{A: 1}))
}
