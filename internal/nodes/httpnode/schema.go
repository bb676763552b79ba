package httpnode

import (
	"encoding/json"
	"fmt"
)

// schemaTemplate is the configuration's JSON Schema; %[1]q is the default timeout and %[2]d the
// response size cap.
const schemaTemplate = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "HTTP request",
  "description": "Sends an HTTP request and emits the response's status, headers and body.",
  "type": "object",
  "additionalProperties": false,
  "required": ["url"],
  "properties": {
    "method": {
      "title": "Method",
      "description": "HTTP method of the request.",
      "type": "string",
      "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
      "default": "GET"
    },
    "url": {
      "title": "URL",
      "description": "Absolute http or https URL to send the request to, such as https://api.example.com/v1/orders. Put credentials in a header, not in the URL.",
      "type": "string",
      "minLength": 1,
      "examples": ["https://api.example.com/v1/orders", "https://api.example.com/v1/orders/{{ input.id }}"]
    },
    "headers": {
      "title": "Headers",
      "description": "Request headers by name, such as Authorization or Accept.",
      "type": "object",
      "additionalProperties": {"type": "string"},
      "examples": [{"Authorization": "Bearer {{ vars.apiToken }}", "Accept": "application/json"}]
    },
    "query": {
      "title": "Query parameters",
      "description": "Query parameters added to the URL's own; a parameter named here replaces the URL's parameter of the same name.",
      "type": "object",
      "additionalProperties": {"type": ["string", "number", "boolean"]},
      "examples": [{"status": "open", "limit": 50}]
    },
    "body": {
      "title": "Body",
      "description": "Request body: any JSON value. It is sent as JSON unless Body type says otherwise; a string is sent as a JSON string unless Body type is text.",
      "examples": [{"sku": "{{ input.sku }}", "qty": "{{ input.qty }}"}]
    },
    "bodyType": {
      "title": "Body type",
      "description": "How to encode the body: json (application/json), text (a string as text/plain), form (an object of strings, numbers, booleans or arrays of them, as application/x-www-form-urlencoded) or none. Defaults to json when a body is set. A Content-Type header overrides the content type.",
      "type": "string",
      "enum": ["json", "text", "form", "none"]
    },
    "timeout": {
      "title": "Timeout",
      "description": "Longest time the whole request may take, from sending it to reading the full response, as a duration such as 500ms, 30s or 1m30s.",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "default": %[1]q,
      "examples": ["500ms", "10s", "1m30s"]
    },
    "responseType": {
      "title": "Response type",
      "description": "How to decode the response body: auto (JSON when the response's Content-Type is JSON, text otherwise), json (fail unless the body is JSON) or text.",
      "type": "string",
      "enum": ["auto", "json", "text"],
      "default": "auto"
    },
    "failOnStatus": {
      "title": "Fail on error status",
      "description": "Fail when the response status is 400 or above. When off, such responses are emitted like any other.",
      "type": "boolean",
      "default": true
    },
    "maxResponseBytes": {
      "title": "Maximum response size",
      "description": "Largest response body to read, in bytes; a larger body fails the node. At most %[2]d, the server's limit, which also applies when this is not set.",
      "type": "integer",
      "minimum": 1
    },
    "credential": {
      "title": "Credential",
      "description": "A stored credential whose header the request carries: a bearer token, basic auth, a named header such as X-API-Key, or OAuth2 client credentials (an access token fetched, cached and refreshed for you). Headers must not set the same header.",
      "type": "string",
      "minLength": 1,
      "x-credentialTypes": ["httpBearer", "httpBasic", "httpHeader", "oauth2ClientCredentials"],
      "examples": ["cred_7f3a"]
    }
  }
}`

// schemaFor returns the configuration schema with the deployment's defaults filled in.
func schemaFor(s *shared) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(schemaTemplate, s.defaultTimeout.String(), s.maxResponseBytes))
}

// graphqlSchemaTemplate is graphql.request's configuration schema; %[1]q is the default timeout and
// %[2]d the response size cap.
const graphqlSchemaTemplate = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "GraphQL request",
  "description": "Sends a GraphQL query or mutation and emits the response's data and errors.",
  "type": "object",
  "additionalProperties": false,
  "required": ["url", "query"],
  "properties": {
    "url": {
      "title": "Endpoint",
      "description": "Absolute http or https URL of the GraphQL endpoint.",
      "type": "string",
      "minLength": 1,
      "examples": ["https://api.example.com/graphql"]
    },
    "query": {
      "title": "Query",
      "description": "The GraphQL document: a query or a mutation. Pass values through variables rather than writing them into the document.",
      "type": "string",
      "minLength": 1,
      "maxLength": 1048576,
      "examples": ["query Order($id: ID!) { order(id: $id) { id status total } }"]
    },
    "variables": {
      "title": "Variables",
      "description": "The operation's variables, by name.",
      "type": "object",
      "examples": [{"id": "{{ input.orderId }}"}]
    },
    "operationName": {
      "title": "Operation name",
      "description": "Which operation to run when the document holds several.",
      "type": "string",
      "examples": ["Order"]
    },
    "headers": {
      "title": "Headers",
      "description": "Extra request headers by name. Put secrets in a credential instead.",
      "type": "object",
      "additionalProperties": {"type": "string"},
      "examples": [{"X-Request-Source": "concertmaster"}]
    },
    "credential": {
      "title": "Credential",
      "description": "A stored credential whose header the request carries: a bearer token, basic auth, a named header, or OAuth2 client credentials. Headers must not set the same header.",
      "type": "string",
      "minLength": 1,
      "x-credentialTypes": ["httpBearer", "httpBasic", "httpHeader", "oauth2ClientCredentials"],
      "examples": ["cred_7f3a"]
    },
    "timeout": {
      "title": "Timeout",
      "description": "Longest time the whole request may take, as a duration such as 500ms, 30s or 1m30s.",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "default": %[1]q,
      "examples": ["10s"]
    },
    "failOnErrors": {
      "title": "Fail on GraphQL errors",
      "description": "Fail the node when the response has errors (code graphql_errors, with data and errors in the details). When off, they are emitted in errors beside any partial data.",
      "type": "boolean",
      "default": true
    },
    "maxResponseBytes": {
      "title": "Maximum response size",
      "description": "Largest response body to read, in bytes. At most %[2]d, the server's limit, which also applies when this is not set.",
      "type": "integer",
      "minimum": 1
    }
  }
}`

// graphqlSchemaFor returns graphql.request's schema with the deployment's defaults filled in.
func graphqlSchemaFor(s *shared) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(graphqlSchemaTemplate, s.defaultTimeout.String(), s.maxResponseBytes))
}
