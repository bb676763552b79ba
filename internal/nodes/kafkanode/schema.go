package kafkanode

// credentialProperty is the schema of the credential field both types share.
//
//nolint:gosec // a schema that names a credential id, not a secret
const credentialProperty = `"credential": {
      "title": "Credential",
      "description": "The Kafka credential (brokers, SASL mechanism, user name, password, TLS) of the cluster.",
      "type": "string",
      "minLength": 1,
      "x-credentialTypes": ["kafka"],
      "examples": ["cred_kafka"]
    }`

// produceSchema is kafka.produce's configuration schema.
const produceSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Kafka produce",
  "description": "Produces a record (key, value, headers) to a Kafka topic and waits for the cluster's acknowledgement.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "topic"],
  "properties": {
    ` + credentialProperty + `,
    "topic": {
      "title": "Topic",
      "description": "Topic to produce to; it must exist.",
      "type": "string",
      "minLength": 1,
      "examples": ["orders"]
    },
    "key": {
      "title": "Key",
      "description": "Key of the record: records with the same key go to the same partition, in order. Empty means no key.",
      "type": "string",
      "examples": ["{{ input.customerId }}"]
    },
    "value": {
      "title": "Value",
      "description": "Value of the record: any JSON value, encoded per Value type.",
      "examples": [{"orderId": "{{ input.id }}", "total": "{{ input.total }}"}]
    },
    "valueType": {
      "title": "Value type",
      "description": "How to encode the value: auto (a string as it is, any other value as JSON), json (always JSON, a string quoted) or text (a string, number or boolean as text).",
      "type": "string",
      "enum": ["auto", "json", "text"],
      "default": "auto"
    },
    "headers": {
      "title": "Headers",
      "description": "Headers of the record, name to text value.",
      "type": "object",
      "additionalProperties": {"type": "string"},
      "examples": [{"content-type": "application/json", "source": "concertmaster"}]
    },
    "partition": {
      "title": "Partition",
      "description": "Send the record to this partition instead of the key's; the topic must have it.",
      "type": "integer",
      "minimum": 0,
      "examples": [0]
    },
    "timeout": {
      "title": "Timeout",
      "description": "Longest time to produce the record and get the acknowledgement of all in-sync replicas, as a duration such as 10s. Defaults to the server's (30s).",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "examples": ["10s"]
    },
    "maxMessageBytes": {
      "title": "Maximum message size",
      "description": "Largest key plus encoded value to produce, in bytes; a larger record fails with message_too_large. At most 16777216 (16 MiB), the default; the topic's own limit (max.message.bytes, 1 MiB by default) applies too.",
      "type": "integer",
      "minimum": 1,
      "maximum": 16777216,
      "examples": [1048576]
    }
  }
}`

// triggerSchema is trigger.kafka's configuration schema.
const triggerSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Kafka trigger",
  "description": "Starts an execution for every record of Kafka topics, in a consumer group.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "topics"],
  "properties": {
    ` + credentialProperty + `,
    "topics": {
      "title": "Topics",
      "description": "Topics to consume.",
      "type": "array",
      "items": {"type": "string", "minLength": 1, "maxLength": 249},
      "minItems": 1,
      "maxItems": 50,
      "examples": [["orders"]]
    },
    "group": {
      "title": "Consumer group",
      "description": "Consumer group id; the group's committed offsets say where consuming resumes. Empty means an id derived from the workflow and node, the same on every start.",
      "type": "string",
      "examples": ["concertmaster-orders"]
    },
    "startOffset": {
      "title": "Start offset",
      "description": "Where a group without committed offsets starts: latest (only records produced from now on) or earliest (every record the topics hold).",
      "type": "string",
      "enum": ["latest", "earliest"],
      "default": "latest"
    },
    "maxMessageBytes": {
      "title": "Maximum message size",
      "description": "Largest key plus value that starts an execution, in bytes; a larger record is skipped (its offset committed) with a warning in the server's log. At most 16777216 (16 MiB).",
      "type": "integer",
      "minimum": 1,
      "maximum": 16777216,
      "default": 1048576,
      "examples": [1048576]
    },
    "dedupeKey": {
      "title": "Deduplication key",
      "description": "Expression evaluated by the server with trigger bound to the record; a record whose key was already seen by this trigger starts no execution. Records can be delivered twice (after a restart or a rebalance), so a key such as topic, partition and offset drops the duplicates.",
      "type": "string",
      "examples": ["{{ trigger.topic }}/{{ trigger.partition }}/{{ trigger.offset }}"]
    }
  }
}`
