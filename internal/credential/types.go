// Package credential defines the credential types (their fields, JSON Schemas and which fields are
// secret), masks and merges credential data for the API, encrypts it at rest (vault.go) and redacts
// secret values from whatever a node produces (redact.go). ADR 0017 records the design.
package credential

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Stored is the marker the API shows in place of a secret value that is set. Sending it back in an
// update keeps the stored value.
const Stored = "[stored]"

// Field is one field of a credential type.
type Field struct {
	Name        string
	Title       string
	Description string
	// Kind is the JSON type: string, integer, boolean or array (of strings).
	Kind     string
	Secret   bool
	Required bool
	Default  any
	Enum     []string
	Format   string
	// Example is shown as the placeholder in the editor.
	Example string
}

// Type is a credential type.
type Type struct {
	Name        string
	Title       string
	Description string
	// Icon is a lucide icon name for the editor.
	Icon   string
	Fields []Field
	// AnyOf lists alternative sets of required fields (for example url, or host and user), checked
	// after normalising; empty means the fields' own Required flags suffice.
	AnyOf [][]string
	// normalize rewrites data before it is checked and stored (a connection URL into its parts).
	normalize func(map[string]any) error
}

// SecretFields returns the names of the type's secret fields.
func (t *Type) SecretFields() []string {
	var out []string
	for _, f := range t.Fields {
		if f.Secret {
			out = append(out, f.Name)
		}
	}
	return out
}

func (t *Type) field(name string) *Field {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i]
		}
	}
	return nil
}

// Schema returns the type's JSON Schema (draft 2020-12) for its data: secret fields are writeOnly.
func (t *Type) Schema() json.RawMessage {
	props := map[string]any{}
	var required []string
	for _, f := range t.Fields {
		p := map[string]any{"type": f.Kind, "title": f.Title}
		if f.Kind == "array" {
			p["items"] = map[string]any{"type": "string", "maxLength": 512}
			p["maxItems"] = 64
		}
		if f.Kind == "string" {
			p["maxLength"] = maxStringLen
		}
		if f.Description != "" {
			p["description"] = f.Description
		}
		if f.Secret {
			p["writeOnly"] = true
		}
		if f.Default != nil {
			p["default"] = f.Default
		}
		if len(f.Enum) > 0 {
			p["enum"] = f.Enum
		}
		if f.Format != "" {
			p["format"] = f.Format
		}
		if f.Example != "" {
			p["examples"] = []string{f.Example}
		}
		if f.Kind == "integer" && f.Name == "port" {
			p["minimum"], p["maximum"] = 1, 65535
		}
		props[f.Name] = p
		if f.Required {
			required = append(required, f.Name)
		}
	}
	s := map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "title": t.Title,
		"description": t.Description, "additionalProperties": false, "properties": props,
	}
	if len(required) > 0 {
		s["required"] = required
	}
	if len(t.AnyOf) > 0 {
		var alts []any
		for _, set := range t.AnyOf {
			alts = append(alts, map[string]any{"required": set})
		}
		s["anyOf"] = alts
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // built from constants
	}
	return b
}

// maxStringLen bounds every string field: certificates and JSON keys fit, nothing much larger does.
const maxStringLen = 16 << 10

// FieldError is a data field that is missing, of the wrong kind or malformed. Field is its name ("" for
// the whole data).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Check normalises data in place (a postgres url becomes host, port, user…) and checks it against the
// type: unknown fields, kinds, enums, lengths and required fields. It returns the first problem.
func (t *Type) Check(data map[string]any) error {
	if t.normalize != nil {
		if err := t.normalize(data); err != nil {
			return err
		}
	}
	names := slices.Sorted(maps.Keys(data))
	for _, name := range names {
		f := t.field(name)
		if f == nil {
			return fieldErr(name, "%s credentials have no field %q", t.Name, name)
		}
		v := data[name]
		if v == nil {
			delete(data, name)
			continue
		}
		if err := checkKind(f, v); err != nil {
			return err
		}
		if s, ok := v.(string); ok && s == Stored {
			return fieldErr(name, "%q is the marker of a stored value, not a value", Stored)
		}
	}
	for _, f := range t.Fields {
		if f.Required && isEmpty(data[f.Name]) {
			return fieldErr(f.Name, "is required")
		}
	}
	if len(t.AnyOf) > 0 {
		ok := false
		for _, set := range t.AnyOf {
			if slices.IndexFunc(set, func(n string) bool { return isEmpty(data[n]) }) < 0 {
				ok = true
				break
			}
		}
		if !ok {
			var alts []string
			for _, set := range t.AnyOf {
				alts = append(alts, strings.Join(set, " and "))
			}
			return fieldErr("", "%s credentials need %s", t.Name, strings.Join(alts, ", or "))
		}
	}
	return nil
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	}
	return false
}

func checkKind(f *Field, v any) error {
	switch f.Kind {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fieldErr(f.Name, "must be a string")
		}
		if len(s) > maxStringLen {
			return fieldErr(f.Name, "is longer than %d bytes", maxStringLen)
		}
		if len(f.Enum) > 0 && !slices.Contains(f.Enum, s) {
			return fieldErr(f.Name, "must be one of %s", strings.Join(f.Enum, ", "))
		}
	case "integer":
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			if jn, isNum := v.(json.Number); isNum {
				if _, err := jn.Int64(); err == nil {
					return nil
				}
			}
			if _, isInt := v.(int); isInt {
				return nil
			}
			return fieldErr(f.Name, "must be an integer")
		}
		if f.Name == "port" && (n < 1 || n > 65535) {
			return fieldErr(f.Name, "must be between 1 and 65535")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fieldErr(f.Name, "must be true or false")
		}
	case "array":
		items, ok := v.([]any)
		if !ok {
			return fieldErr(f.Name, "must be an array of strings")
		}
		if len(items) > 64 {
			return fieldErr(f.Name, "has more than 64 entries")
		}
		for i, it := range items {
			s, ok := it.(string)
			if !ok || len(s) > 512 {
				return fieldErr(f.Name+"/"+strconv.Itoa(i), "must be a string of at most 512 bytes")
			}
		}
	}
	return nil
}

// Mask returns a copy of data with every secret field that is set replaced by Stored.
func (t *Type) Mask(data map[string]any) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		if f := t.field(k); f != nil && f.Secret && !isEmpty(v) {
			v = Stored
		}
		out[k] = v
	}
	return out
}

// Merge applies an update to stored data: a field left out, or sent as Stored, keeps its stored value;
// a field sent as null is removed; any other value replaces it. The result is then normalised and
// checked. Fields that a normalisation derives (a postgres url's parts) are replaced as a whole when
// the update sends the source field.
func (t *Type) Merge(stored, update map[string]any) (map[string]any, error) {
	out := maps.Clone(stored)
	if out == nil {
		out = map[string]any{}
	}
	if _, ok := update["url"]; ok && t.field("url") != nil && t.normalize != nil {
		// A new URL replaces every part it carries.
		for _, f := range t.Fields {
			delete(out, f.Name)
		}
	}
	for k, v := range update {
		switch v {
		case nil:
			delete(out, k)
		case Stored:
			if _, ok := stored[k]; !ok {
				return nil, fieldErr(k, "no value is stored to keep")
			}
		default:
			out[k] = v
		}
	}
	if err := t.Check(out); err != nil {
		return nil, err
	}
	return out, nil
}

// SecretValues returns the values of data's secret fields that are set, for redaction.
func (t *Type) SecretValues(data map[string]any) []string {
	var out []string
	for _, f := range t.Fields {
		if !f.Secret {
			continue
		}
		switch v := data[f.Name].(type) {
		case string:
			if v != "" {
				out = append(out, v)
			}
		case []any:
			for _, it := range v {
				if s, ok := it.(string); ok && s != "" {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// Types returns every credential type, sorted by name.
func Types() []*Type {
	out := slices.Clone(types)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the type named name, or nil.
func Lookup(name string) *Type {
	for _, t := range types {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Common fields.
var (
	fHost     = Field{Name: "host", Title: "Host", Kind: "string", Example: "db.example.com"}
	fUser     = Field{Name: "username", Title: "User name", Kind: "string"}
	fPassword = Field{Name: "password", Title: "Password", Kind: "string", Secret: true, Format: "password"}
	fTLS      = Field{Name: "tls", Title: "Use TLS", Kind: "boolean", Default: false}
	fInsecure = Field{Name: "tlsSkipVerify", Title: "Skip TLS certificate verification", Kind: "boolean", Default: false,
		Description: "Accept any server certificate. Only for testing: it allows anyone on the path to read the traffic."}
	fCA = Field{Name: "tlsCA", Title: "CA certificate (PEM)", Kind: "string", Description: "Trust this certificate authority for the server's certificate."}
)

func port(def int) Field {
	return Field{Name: "port", Title: "Port", Kind: "integer", Default: def}
}

func urlField(example string) Field {
	return Field{Name: "url", Title: "Connection URL", Kind: "string", Secret: true, Example: example,
		Description: "The whole connection as a URL; it is split into the other fields when saved."}
}

// types lists the credential types.
var types = []*Type{
	{Name: "httpBearer", Title: "HTTP bearer token", Icon: "key-round",
		Description: "Sends Authorization: Bearer <token> with HTTP requests.",
		Fields:      []Field{{Name: "token", Title: "Token", Kind: "string", Secret: true, Required: true, Format: "password"}}},
	{Name: "httpBasic", Title: "HTTP basic auth", Icon: "key-round",
		Description: "Sends Authorization: Basic with a user name and password.",
		Fields:      []Field{{Name: "username", Title: "User name", Kind: "string", Required: true}, {Name: "password", Title: "Password", Kind: "string", Secret: true, Format: "password"}}},
	{Name: "httpHeader", Title: "HTTP header", Icon: "key-round",
		Description: "Sends one header (such as X-API-Key) with a secret value.",
		Fields: []Field{{Name: "name", Title: "Header name", Kind: "string", Required: true, Example: "X-API-Key"},
			{Name: "value", Title: "Header value", Kind: "string", Secret: true, Required: true, Format: "password"}}},
	{Name: "oauth2ClientCredentials", Title: "OAuth2 client credentials", Icon: "key-round",
		Description: "Gets an access token from a token endpoint with a client id and secret (RFC 6749 §4.4), caches it until it expires and sends it as a bearer token.",
		Fields: []Field{{Name: "tokenUrl", Title: "Token URL", Kind: "string", Required: true, Format: "uri", Example: "https://auth.example.com/oauth/token"},
			{Name: "clientId", Title: "Client id", Kind: "string", Required: true},
			{Name: "clientSecret", Title: "Client secret", Kind: "string", Secret: true, Required: true, Format: "password"},
			{Name: "scopes", Title: "Scopes", Kind: "array"},
			{Name: "audience", Title: "Audience", Kind: "string"},
			{Name: "authStyle", Title: "Send client credentials", Kind: "string", Enum: []string{"header", "body"}, Default: "header",
				Description: "header: HTTP basic auth (the standard); body: client_id and client_secret form fields."}}},
	{Name: "postgres", Title: "PostgreSQL", Icon: "database",
		Description: "A PostgreSQL server: a connection URL, or host, port, database, user and password.",
		Fields: []Field{urlField("postgres://user:password@db.example.com:5432/app"), fHost, port(5432),
			{Name: "database", Title: "Database", Kind: "string"}, {Name: "user", Title: "User", Kind: "string"}, fPassword,
			{Name: "sslmode", Title: "SSL mode", Kind: "string", Enum: []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}, Default: "prefer"}},
		AnyOf: [][]string{{"host", "user"}}, normalize: normalizePostgres},
	{Name: "mysql", Title: "MySQL / MariaDB", Icon: "database",
		Description: "A MySQL or MariaDB server: a connection URL, or host, port, database, user and password.",
		Fields: []Field{urlField("mysql://user:password@db.example.com:3306/app"), fHost, port(3306),
			{Name: "database", Title: "Database", Kind: "string"}, {Name: "user", Title: "User", Kind: "string"}, fPassword, fTLS, fInsecure},
		AnyOf: [][]string{{"host", "user"}}, normalize: normalizeMySQL},
	{Name: "redis", Title: "Redis", Icon: "database-zap",
		Description: "A Redis server.",
		Fields:      []Field{withRequired(fHost), port(6379), fUser, fPassword, {Name: "database", Title: "Database number", Kind: "integer", Default: 0}, fTLS, fInsecure}},
	{Name: "amqp", Title: "AMQP (RabbitMQ)", Icon: "rabbit",
		Description: "An AMQP 0-9-1 broker such as RabbitMQ.",
		Fields:      []Field{withRequired(fHost), port(5672), {Name: "vhost", Title: "Virtual host", Kind: "string", Default: "/"}, fUser, fPassword, fTLS, fInsecure}},
	{Name: "mqtt", Title: "MQTT", Icon: "radio",
		Description: "An MQTT broker (v5, or 3.1.1).",
		Fields: []Field{withRequired(fHost), port(1883), fUser, fPassword,
			{Name: "clientId", Title: "Client id prefix", Kind: "string", Description: "Prefix of the client ids the server connects with; a random suffix keeps them unique."}, fTLS, fInsecure}},
	{Name: "nats", Title: "NATS", Icon: "send",
		Description: "A NATS server, with user and password or a token.",
		Fields:      []Field{withRequired(fHost), port(4222), fUser, fPassword, {Name: "token", Title: "Token", Kind: "string", Secret: true, Format: "password"}, fTLS, fInsecure}},
	{Name: "kafka", Title: "Kafka", Icon: "layers",
		Description: "A Kafka cluster, with optional SASL authentication.",
		Fields: []Field{{Name: "brokers", Title: "Brokers", Kind: "array", Required: true, Description: "host:port of one or more brokers."},
			{Name: "mechanism", Title: "SASL mechanism", Kind: "string", Enum: []string{"none", "plain", "scram-sha-256", "scram-sha-512"}, Default: "none"},
			fUser, fPassword, fTLS, fInsecure}},
	{Name: "smtp", Title: "SMTP", Icon: "mail",
		Description: "An SMTP server to send e-mail through.",
		Fields: []Field{withRequired(fHost), port(587), fUser, fPassword,
			{Name: "security", Title: "Security", Kind: "string", Enum: []string{"starttls", "tls", "none"}, Default: "starttls",
				Description: "starttls: upgrade the connection (port 587); tls: TLS from the start (port 465); none: plain text, only on trusted networks."},
			{Name: "from", Title: "Default sender", Kind: "string", Format: "email"}, fInsecure, fCA}},
	{Name: "s3", Title: "S3-compatible storage", Icon: "cloud",
		Description: "Amazon S3 or any S3-compatible object store (MinIO, R2, Wasabi…).",
		Fields: []Field{{Name: "endpoint", Title: "Endpoint", Kind: "string", Description: "host[:port] of the service; empty means Amazon S3.", Example: "s3.eu-west-1.amazonaws.com"},
			{Name: "region", Title: "Region", Kind: "string", Default: "us-east-1"},
			{Name: "accessKeyId", Title: "Access key id", Kind: "string", Required: true},
			{Name: "secretAccessKey", Title: "Secret access key", Kind: "string", Secret: true, Required: true, Format: "password"},
			{Name: "bucket", Title: "Default bucket", Kind: "string"},
			{Name: "pathStyle", Title: "Path-style addressing", Kind: "boolean", Default: false, Description: "Address buckets as endpoint/bucket rather than bucket.endpoint (most self-hosted servers)."},
			{Name: "tls", Title: "Use TLS", Kind: "boolean", Default: true}, fInsecure}},
	{Name: "openai", Title: "OpenAI-compatible API", Icon: "sparkles",
		Description: "An API key for OpenAI or any service speaking its chat completions protocol.",
		Fields: []Field{{Name: "apiKey", Title: "API key", Kind: "string", Secret: true, Required: true, Format: "password"},
			{Name: "baseUrl", Title: "Base URL", Kind: "string", Default: "https://api.openai.com/v1", Format: "uri"},
			{Name: "organization", Title: "Organization", Kind: "string"}}},
}

func withRequired(f Field) Field {
	f.Required = true
	return f
}

// normalizePostgres splits a postgres:// or postgresql:// url into host, port, database, user,
// password and sslmode.
func normalizePostgres(data map[string]any) error {
	return splitURL(data, []string{"postgres", "postgresql"}, func(u *url.URL) error {
		if mode := u.Query().Get("sslmode"); mode != "" {
			data["sslmode"] = mode
		}
		return nil
	})
}

// normalizeMySQL splits a mysql:// url into host, port, database, user and password.
func normalizeMySQL(data map[string]any) error {
	return splitURL(data, []string{"mysql", "mariadb"}, func(u *url.URL) error {
		if v := u.Query().Get("tls"); v == "true" || v == "skip-verify" {
			data["tls"] = true
			data["tlsSkipVerify"] = v == "skip-verify"
		}
		return nil
	})
}

func splitURL(data map[string]any, schemes []string, extra func(*url.URL) error) error {
	raw, ok := data["url"].(string)
	if !ok || raw == "" {
		delete(data, "url")
		return nil
	}
	delete(data, "url")
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the input, password included: say only what is wrong.
		return fieldErr("url", "is not a valid URL")
	}
	if !slices.Contains(schemes, u.Scheme) {
		return fieldErr("url", "must start with %s://", schemes[0])
	}
	host, portStr, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, portStr = u.Host, ""
	}
	if host == "" {
		return fieldErr("url", "names no host")
	}
	data["host"] = host
	if portStr != "" {
		p, err := strconv.Atoi(portStr)
		if err != nil || p < 1 || p > 65535 {
			return fieldErr("url", "has an invalid port")
		}
		data["port"] = float64(p)
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		data["database"] = db
	}
	if u.User != nil {
		data["user"] = u.User.Username()
		if pw, ok := u.User.Password(); ok {
			data["password"] = pw
		}
	}
	return extra(u)
}
