package amqpnode

// credentialProperty is the schema of the credential field both types share.
//
//nolint:gosec // a schema that names a credential id, not a secret
const credentialProperty = `"credential": {
      "title": "Credential",
      "description": "The AMQP credential (host, port, virtual host, user name, password, TLS) of the broker.",
      "type": "string",
      "minLength": 1,
      "x-credentialTypes": ["amqp"],
      "examples": ["cred_rabbitmq"]
    }`

// publishSchema is amqp.publish's configuration schema.
const publishSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "AMQP publish",
  "description": "Publishes a message to a RabbitMQ (AMQP 0-9-1) exchange and waits for the broker to confirm it.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential"],
  "properties": {
    ` + credentialProperty + `,
    "exchange": {
      "title": "Exchange",
      "description": "Exchange to publish to. Empty means the default exchange, which delivers to the queue named by the routing key.",
      "type": "string",
      "default": "",
      "examples": ["orders", "amq.topic"]
    },
    "routingKey": {
      "title": "Routing key",
      "description": "Routing key of the message: the queue name on the default exchange, a topic such as orders.eu.created on a topic exchange.",
      "type": "string",
      "default": "",
      "examples": ["orders.created", "{{ input.region }}.orders"]
    },
    "body": {
      "title": "Body",
      "description": "The message: any JSON value, encoded per Body type.",
      "examples": [{"orderId": "{{ input.id }}", "total": "{{ input.total }}"}, "plain text"]
    },
    "bodyType": {
      "title": "Body type",
      "description": "How to encode the body: auto (a string as text/plain, any other value as application/json), json (always JSON, a string quoted) or text (a string, number or boolean as text/plain).",
      "type": "string",
      "enum": ["auto", "json", "text"],
      "default": "auto"
    },
    "contentType": {
      "title": "Content type",
      "description": "Content type property of the message; overrides the one the body type implies.",
      "type": "string",
      "examples": ["application/vnd.acme.order+json"]
    },
    "headers": {
      "title": "Headers",
      "description": "Headers of the message (strings, numbers, booleans, arrays and objects of them), as a headers exchange or the consumer reads them.",
      "type": "object",
      "additionalProperties": true,
      "examples": [{"source": "concertmaster", "attempt": 1}]
    },
    "persistent": {
      "title": "Persistent",
      "description": "Ask the broker to write the message to disk (delivery mode 2), so that it survives a broker restart on a durable queue.",
      "type": "boolean",
      "default": true
    },
    "mandatory": {
      "title": "Mandatory",
      "description": "Fail with unroutable when no queue is bound to receive the message, instead of letting the broker drop it.",
      "type": "boolean",
      "default": false
    },
    "messageId": {
      "title": "Message id",
      "description": "message-id property of the message, for consumers that deduplicate.",
      "type": "string",
      "examples": ["{{ execution.id }}"]
    },
    "correlationId": {
      "title": "Correlation id",
      "description": "correlation-id property of the message.",
      "type": "string",
      "examples": ["{{ input.requestId }}"]
    },
    "timeout": {
      "title": "Timeout",
      "description": "Longest time to connect, publish and wait for the broker's confirm, as a duration such as 5s. Defaults to the server's (30s).",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "examples": ["5s", "30s"]
    },
    "maxMessageBytes": {
      "title": "Maximum message size",
      "description": "Largest encoded body to publish, in bytes; a larger one fails with message_too_large. At most 16777216 (16 MiB), the default.",
      "type": "integer",
      "minimum": 1,
      "maximum": 16777216,
      "examples": [1048576]
    }
  }
}`

// triggerSchema is trigger.amqp's configuration schema.
const triggerSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "AMQP trigger",
  "description": "Consumes a RabbitMQ queue and starts one execution per message.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "queue"],
  "properties": {
    ` + credentialProperty + `,
    "queue": {
      "title": "Queue",
      "description": "Name of the queue to consume.",
      "type": "string",
      "minLength": 1,
      "examples": ["orders"]
    },
    "declare": {
      "title": "Declare",
      "description": "passive: check that the queue exists and fail clearly when it does not; durable: declare it as a durable queue, creating it when missing (an existing queue must be durable too).",
      "type": "string",
      "enum": ["passive", "durable"],
      "default": "passive"
    },
    "exchange": {
      "title": "Bind to exchange",
      "description": "When set, bind the queue to this exchange with the binding key before consuming.",
      "type": "string",
      "examples": ["orders"]
    },
    "bindingKey": {
      "title": "Binding key",
      "description": "Binding key of the binding to the exchange, such as orders.# on a topic exchange.",
      "type": "string",
      "default": "",
      "examples": ["orders.#"]
    },
    "prefetch": {
      "title": "Prefetch",
      "description": "Most messages the broker sends before they are acknowledged (QoS prefetch count).",
      "type": "integer",
      "minimum": 1,
      "maximum": 1000,
      "default": 10,
      "examples": [10]
    },
    "concurrency": {
      "title": "Concurrency",
      "description": "Messages handed to new executions at once; 1 keeps the queue's order. At most the prefetch.",
      "type": "integer",
      "minimum": 1,
      "maximum": 64,
      "default": 1,
      "examples": [4]
    },
    "maxMessageBytes": {
      "title": "Maximum message size",
      "description": "Largest message body that starts an execution, in bytes; a larger message is rejected without requeue (to the queue's dead-letter exchange, if it has one). At most 16777216 (16 MiB).",
      "type": "integer",
      "minimum": 1,
      "maximum": 16777216,
      "default": 1048576,
      "examples": [1048576]
    },
    "dedupeKey": {
      "title": "Deduplication key",
      "description": "Expression evaluated by the server with trigger bound to the message; a message whose key was already seen by this trigger starts no execution. Messages can be delivered twice (at-least-once), so a key such as the message id drops the duplicates.",
      "type": "string",
      "examples": ["{{ trigger.messageId }}"]
    }
  }
}`
