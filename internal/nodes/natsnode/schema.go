package natsnode

// connectionProperty is the schema of the credential field of every NATS node type (not called
// credentialProperty, which gosec takes for a hard-coded secret).
const connectionProperty = `"credential": {
      "title": "Credential",
      "description": "The nats credential (host, port, user and password or token, TLS) to connect with.",
      "type": "string",
      "minLength": 1,
      "x-credentialTypes": ["nats"],
      "examples": ["cred_nats"]
    }`

// messageProperties are the fields nats.publish and nats.request share.
const messageProperties = connectionProperty + `,
    "subject": {
      "title": "Subject",
      "description": "The subject to send to: dot-separated tokens without wildcards, such as orders.created.",
      "type": "string",
      "minLength": 1,
      "maxLength": 1024,
      "examples": ["orders.created", "orders.{{ input.region }}.created"]
    },
    "payload": {
      "title": "Payload",
      "description": "The message body: a string is sent as it is, any other JSON value as JSON. Without it the body is empty.",
      "examples": [{"id": "{{ input.id }}", "status": "paid"}, "ping"]
    },
    "headers": {
      "title": "Headers",
      "description": "NATS headers by name, such as a correlation id.",
      "type": "object",
      "additionalProperties": {"type": "string"},
      "examples": [{"X-Correlation-Id": "{{ execution.id }}"}]
    },
    "timeout": {
      "title": "Timeout",
      "description": "Longest time the call may take, connecting included, as a duration such as 500ms or 10s. Default: the server's (30s).",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "examples": ["5s"]
    }`

// publishSchema is nats.publish's configuration schema.
const publishSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "NATS publish",
  "description": "Publishes a message to a NATS subject.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "subject"],
  "properties": {
    ` + messageProperties + `,
    "jetstream": {
      "title": "Publish to JetStream",
      "description": "Publish through JetStream and wait until the stream that captures the subject has stored the message; the output then holds the stream and the sequence. Off: a core NATS publish, delivered to the subscribers connected at that moment.",
      "type": "boolean",
      "default": false
    },
    "messageId": {
      "title": "Message id",
      "description": "Sent as the Nats-Msg-Id header with JetStream: the stream stores a message with an id it saw within its duplicates window only once (the output's duplicate is then true).",
      "type": "string",
      "maxLength": 1024,
      "examples": ["order-{{ input.id }}"]
    }
  }
}`

// requestSchema is nats.request's configuration schema.
const requestSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "NATS request",
  "description": "Sends a request to a NATS subject and outputs the first reply.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "subject"],
  "properties": {
    ` + messageProperties + `,
    "maxResponseBytes": {
      "title": "Maximum reply size",
      "description": "Largest reply accepted, in bytes; a larger one fails the node. It cannot raise the output limit.",
      "type": "integer",
      "minimum": 1,
      "examples": [65536]
    }
  }
}`

// triggerSchema is trigger.nats's configuration schema.
const triggerSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "NATS trigger",
  "description": "Starts one execution per message of a JetStream durable consumer or a core NATS subscription.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential"],
  "properties": {
    ` + connectionProperty + `,
    "mode": {
      "title": "Mode",
      "description": "jetstream: consume a stream through a durable consumer, at least once (a message is acknowledged once its execution is queued). core: a plain subscription, at most once: messages published while the trigger is down, or that cannot be queued, are lost.",
      "type": "string",
      "enum": ["jetstream", "core"],
      "default": "jetstream"
    },
    "stream": {
      "title": "Stream",
      "description": "The JetStream stream to consume (jetstream mode). It must exist.",
      "type": "string",
      "maxLength": 256,
      "examples": ["ORDERS"]
    },
    "subject": {
      "title": "Subject",
      "description": "jetstream: an optional filter on the stream's subjects; core: the subject to subscribe to (required). Wildcards * (one token) and > (the rest) are allowed.",
      "type": "string",
      "maxLength": 1024,
      "examples": ["orders.*.created", "sensors.>"]
    },
    "durable": {
      "title": "Durable name",
      "description": "The durable consumer's name (jetstream mode). It is created when missing and updated to this configuration otherwise; every server running the trigger shares it, so each message starts one execution.",
      "type": "string",
      "maxLength": 256,
      "pattern": "^[^.*>\\s]+$",
      "examples": ["concertmaster-orders"]
    },
    "deliverPolicy": {
      "title": "Start from",
      "description": "Where a newly created consumer starts: all (every message in the stream) or new (messages stored from now on). An existing consumer keeps its position.",
      "type": "string",
      "enum": ["all", "new"],
      "default": "all"
    },
    "ackWait": {
      "title": "Acknowledgement wait",
      "description": "How long the server waits for the acknowledgement of a delivered message before delivering it again (jetstream mode), at least 1s. Default 30s.",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "default": "30s",
      "examples": ["30s", "2m"]
    },
    "maxAckPending": {
      "title": "Maximum unacknowledged",
      "description": "Most messages delivered and not yet acknowledged (jetstream mode), 1 to 10000. Default 100.",
      "type": "integer",
      "minimum": 1,
      "maximum": 10000,
      "default": 100
    },
    "queue": {
      "title": "Queue group",
      "description": "Core mode: subscribe in this queue group, so that each message goes to one of the servers running the trigger instead of all.",
      "type": "string",
      "maxLength": 256,
      "examples": ["concertmaster"]
    },
    "dedupeKey": {
      "title": "Dedupe key",
      "description": "An expression the server evaluates for each message, with trigger bound to the message; a message whose key this trigger already used starts no execution. With JetStream, {{ trigger.stream }}-{{ trigger.sequence }} is unique.",
      "type": "string",
      "examples": ["{{ trigger.stream }}-{{ trigger.sequence }}", "{{ trigger.headers['Nats-Msg-Id'] }}"]
    }
  }
}`
