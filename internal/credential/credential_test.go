package credential

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckAndNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, typ string
		data      string
		want      string // JSON of the normalised data, or "" when an error is expected
		field     string // the FieldError's field
	}{
		{"postgres url", "postgres", `{"url":"postgresql://app:s%2Fecret@db:6432/orders?sslmode=verify-full"}`,
			`{"host":"db","port":6432,"database":"orders","user":"app","password":"s/ecret","sslmode":"verify-full"}`, ""},
		{"postgres parts", "postgres", `{"host":"db","user":"app"}`, `{"host":"db","user":"app"}`, ""},
		{"postgres neither", "postgres", `{"database":"x"}`, "", ""},
		{"postgres wrong scheme", "postgres", `{"url":"mysql://a:b@h/db"}`, "", "url"},
		{"postgres no host", "postgres", `{"url":"postgres:///db"}`, "", "url"},
		{"postgres bad port", "postgres", `{"url":"postgres://h:99999/db"}`, "", "url"},
		{"mysql url tls", "mysql", `{"url":"mysql://root@h:3307/test?tls=skip-verify"}`,
			`{"host":"h","port":3307,"database":"test","user":"root","tls":true,"tlsSkipVerify":true}`, ""},
		{"unknown field", "httpBearer", `{"token":"abcd","x":1}`, "", "x"},
		{"wrong kind", "redis", `{"host":"h","port":"6379"}`, "", "port"},
		{"port range", "redis", `{"host":"h","port":0}`, "", "port"},
		{"enum", "smtp", `{"host":"h","security":"ssl"}`, "", "security"},
		{"array of strings", "kafka", `{"brokers":["a:9092",1]}`, "", "brokers/1"},
		{"required", "s3", `{"accessKeyId":"a"}`, "", "secretAccessKey"},
		{"null drops", "redis", `{"host":"h","password":null}`, `{"host":"h"}`, ""},
		{"marker is not a value", "httpBearer", `{"token":"[stored]"}`, "", "token"},
		{"too long", "httpBearer", `{"token":"` + strings.Repeat("a", maxStringLen+1) + `"}`, "", "token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var data map[string]any
			require.NoError(t, json.Unmarshal([]byte(tt.data), &data))
			err := Lookup(tt.typ).Check(data)
			if tt.want == "" {
				var fe *FieldError
				require.ErrorAs(t, err, &fe)
				require.Equal(t, tt.field, fe.Field)
				require.NotContains(t, err.Error(), "s%2Fecret")
				return
			}
			require.NoError(t, err)
			got, _ := json.Marshal(data)
			require.JSONEq(t, tt.want, string(got))
		})
	}
}

func TestMaskAndMerge(t *testing.T) {
	t.Parallel()
	pg := Lookup("postgres")
	stored := map[string]any{"host": "db", "user": "app", "password": "old", "sslmode": "require"}
	require.Equal(t, map[string]any{"host": "db", "user": "app", "password": Stored, "sslmode": "require"}, pg.Mask(stored))

	merged, err := pg.Merge(stored, map[string]any{"password": Stored, "host": "db2", "sslmode": nil})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"host": "db2", "user": "app", "password": "old"}, merged)
	require.Equal(t, "old", stored["password"], "stored is not modified")

	// A new URL replaces every part.
	merged, err = pg.Merge(stored, map[string]any{"url": "postgres://u2:p2@h2/db2"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"host": "h2", "user": "u2", "password": "p2", "database": "db2"}, merged)

	_, err = Lookup("redis").Merge(map[string]any{"host": "h"}, map[string]any{"password": Stored})
	require.Error(t, err, "nothing stored to keep")

	require.ElementsMatch(t, []string{"old"}, pg.SecretValues(stored))
	for _, ct := range Types() {
		var s map[string]any
		require.NoError(t, json.Unmarshal(ct.Schema(), &s), ct.Name)
		for _, f := range ct.SecretFields() {
			require.Equal(t, true, s["properties"].(map[string]any)[f].(map[string]any)["writeOnly"], "%s.%s", ct.Name, f)
		}
	}
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	var r Redactor
	require.True(t, r.Empty())
	require.Equal(t, "abc", r.String("abc"))
	r.Add("pw", "s3cr3t/pa ss", "s3cr3t/pa ss-longer")
	require.False(t, r.Empty())
	require.Equal(t, "x [redacted] y", r.String("x s3cr3t/pa ss-longer y"), "the longest match wins")
	require.Equal(t, "pw stays: too short to redact", r.String("pw stays: too short to redact"))
	for _, enc := range []string{url.QueryEscape("s3cr3t/pa ss"), url.PathEscape("s3cr3t/pa ss"), base64.StdEncoding.EncodeToString([]byte("s3cr3t/pa ss"))} {
		require.Equal(t, "<[redacted]>", r.String("<"+enc+">"), enc)
	}
	in := map[string]any{"keep": []any{1.0, "fine"}, "leak": []any{"a s3cr3t/pa ss"}, "s3cr3t/pa ss": true, "n": json.Number("1")}
	out, changed := r.Value(in)
	require.True(t, changed)
	require.Equal(t, map[string]any{"keep": []any{1.0, "fine"}, "leak": []any{"a [redacted]"}, "[redacted]": true, "n": json.Number("1")}, out)
	require.Equal(t, "a s3cr3t/pa ss", in["leak"].([]any)[0], "the input is not modified")
	same, changed := r.Value(map[string]any{"a": "b"})
	require.False(t, changed)
	require.Equal(t, map[string]any{"a": "b"}, same)
	type typed struct{ Token string }
	v, changed := r.Value(typed{Token: "s3cr3t/pa ss"})
	require.True(t, changed)
	require.Equal(t, map[string]any{"Token": "[redacted]"}, v)
}

func FuzzRedactor(f *testing.F) {
	f.Add("hunter22", "my password is hunter22!")
	f.Add("a%b c", `{"x":"a%25b+c"}`)
	f.Fuzz(func(t *testing.T, secret, text string) {
		var r Redactor
		r.Add(secret)
		out := r.String(text)
		if len(secret) >= MinSecretLen && strings.Contains(out, secret) && !strings.Contains(Redacted, secret) {
			t.Fatalf("secret %q survives in %q", secret, out)
		}
	})
}

// FuzzCheckMerge feeds arbitrary JSON to every type's Check and Merge: they must answer, never panic,
// and what Check accepts must mask without showing a secret.
func FuzzCheckMerge(f *testing.F) {
	f.Add(`{"url":"postgres://u:p@h:1/d?sslmode=require"}`, `{"password":"[stored]"}`)
	f.Add(`{"host":"h","port":65535,"brokers":["a:1"]}`, `{"port":null}`)
	f.Add(`{"token":"abcd","scopes":["a","b"]}`, `{"url":"mysql://a@b/c"}`)
	f.Fuzz(func(t *testing.T, data, update string) {
		for _, ct := range Types() {
			var d, u map[string]any
			if json.Unmarshal([]byte(data), &d) != nil || json.Unmarshal([]byte(update), &u) != nil || d == nil {
				return
			}
			if ct.Check(d) != nil {
				continue
			}
			masked := ct.Mask(d)
			for _, f := range ct.SecretFields() {
				if v, set := d[f]; set && !isEmpty(v) && masked[f] != Stored {
					t.Fatalf("%s: mask shows secret field %s", ct.Name, f)
				}
			}
			_, _ = ct.Merge(d, u)
		}
	})
}
