package mqttnode

// credentialProperty is the schema of the credential field both types share.
//
//nolint:gosec // a schema that names a credential id, not a secret
const credentialProperty = `"credential": {
      "title": "Credential",
      "description": "The MQTT credential (host, port, user name, password, client id prefix, TLS) of the broker.",
      "type": "string",
      "minLength": 1,
      "x-credentialTypes": ["mqtt"],
      "examples": ["cred_mosquitto"]
    }`

// publishSchema is mqtt.publish's configuration schema.
const publishSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "MQTT publish",
  "description": "Publishes a message to an MQTT topic at QoS 0, 1 or 2, waiting for the broker's acknowledgement.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "topic"],
  "properties": {
    ` + credentialProperty + `,
    "topic": {
      "title": "Topic",
      "description": "Topic to publish to, such as sensors/kitchen/temperature; no + or # wildcards.",
      "type": "string",
      "minLength": 1,
      "examples": ["sensors/{{ input.room }}/temperature"]
    },
    "payload": {
      "title": "Payload",
      "description": "The message: any JSON value, encoded per Payload type.",
      "examples": [{"celsius": "{{ input.celsius }}"}, "on"]
    },
    "payloadType": {
      "title": "Payload type",
      "description": "How to encode the payload: auto (a string as text, any other value as JSON), json (always JSON, a string quoted) or text (a string, number or boolean as text).",
      "type": "string",
      "enum": ["auto", "json", "text"],
      "default": "auto"
    },
    "qos": {
      "title": "QoS",
      "description": "Quality of service: 0 (at most once, no acknowledgement), 1 (at least once: wait for PUBACK) or 2 (exactly once: wait for PUBCOMP).",
      "type": "integer",
      "enum": [0, 1, 2],
      "default": 1
    },
    "retain": {
      "title": "Retain",
      "description": "Ask the broker to keep the message as the topic's last value, sent to every future subscriber.",
      "type": "boolean",
      "default": false
    },
    "contentType": {
      "title": "Content type",
      "description": "Content type property of the message (MQTT 5); overrides the one the payload type implies.",
      "type": "string",
      "examples": ["application/json"]
    },
    "userProperties": {
      "title": "User properties",
      "description": "MQTT 5 user properties of the message, name to text value.",
      "type": "object",
      "additionalProperties": {"type": "string"},
      "examples": [{"source": "concertmaster"}]
    },
    "messageExpiry": {
      "title": "Message expiry",
      "description": "Seconds after which the broker discards the message if it has not delivered it; 0 means never.",
      "type": "integer",
      "minimum": 0,
      "maximum": 4294967295,
      "examples": [3600]
    },
    "timeout": {
      "title": "Timeout",
      "description": "Longest time to connect and get the broker's acknowledgement, as a duration such as 5s. Defaults to the server's (30s).",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "examples": ["5s"]
    },
    "maxMessageBytes": {
      "title": "Maximum message size",
      "description": "Largest encoded payload to publish, in bytes; a larger one fails with message_too_large. At most 16777216 (16 MiB), the default.",
      "type": "integer",
      "minimum": 1,
      "maximum": 16777216,
      "examples": [65536]
    }
  }
}`

// triggerSchema is trigger.mqtt's configuration schema.
const triggerSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "MQTT trigger",
  "description": "Starts an execution for every message published to an MQTT topic filter.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "topic"],
  "properties": {
    ` + credentialProperty + `,
    "topic": {
      "title": "Topic filter",
      "description": "Topic filter to subscribe to; + matches one level and # every level below, as in sensors/+/temperature or sensors/#.",
      "type": "string",
      "minLength": 1,
      "examples": ["sensors/+/temperature"]
    },
    "qos": {
      "title": "QoS",
      "description": "Quality of service of the subscription: 1 (default: at least once, acknowledged once the execution is queued, kept by the broker while the trigger is away) or 0 (at most once).",
      "type": "integer",
      "enum": [0, 1],
      "default": 1
    },
    "shareGroup": {
      "title": "Share group",
      "description": "When set, subscribe as a member of this shared subscription group ($share/<group>/<topic>): the broker hands each message to one member of the group.",
      "type": "string",
      "examples": ["concertmaster"]
    },
    "sessionExpiry": {
      "title": "Session expiry",
      "description": "How long the broker keeps the trigger's session, and queues its QoS 1 messages, while the trigger is disconnected (the workflow deactivated or the server restarting), as a duration such as 24h.",
      "type": "string",
      "default": "24h",
      "examples": ["1h", "168h"]
    },
    "maxMessageBytes": {
      "title": "Maximum message size",
      "description": "Largest payload the trigger accepts, in bytes; the broker is told (maximum packet size) and discards larger messages for this subscriber. At most 16777216 (16 MiB).",
      "type": "integer",
      "minimum": 1,
      "maximum": 16777216,
      "default": 1048576,
      "examples": [1048576]
    },
    "dedupeKey": {
      "title": "Deduplication key",
      "description": "Expression evaluated by the server with trigger bound to the message; a message whose key was already seen by this trigger starts no execution. QoS 1 messages can be delivered twice, so a key taken from the payload (an event id) drops the duplicates.",
      "type": "string",
      "examples": ["{{ trigger.payload.eventId }}"]
    }
  }
}`
