package ainode

// schemaTemplate is ai.chat's configuration schema; %[1]q is the deployment's default timeout.
const schemaTemplate = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "AI chat",
  "description": "Asks a chat model for a completion, as text or as JSON.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "model"],
  "properties": {
    "credential": {
      "title": "Credential",
      "description": "An openai credential: the API key, and the base URL of an OpenAI-compatible service (OpenAI by default).",
      "type": "string",
      "minLength": 1,
      "x-credentialTypes": ["openai"],
      "examples": ["cred_openai"]
    },
    "model": {
      "title": "Model",
      "description": "The model to ask, as the service names it.",
      "type": "string",
      "minLength": 1,
      "maxLength": 256,
      "examples": ["gpt-4o-mini", "llama3.1:8b"]
    },
    "messages": {
      "title": "Messages",
      "description": "The conversation, oldest first: each message has a role (system, developer, user or assistant) and a text content. Use prompt and system instead for a single question.",
      "type": "array",
      "maxItems": 1000,
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["role", "content"],
        "properties": {
          "role": {"title": "Role", "description": "Who speaks: system or developer (instructions), user, or assistant (an earlier answer).", "type": "string", "enum": ["system", "developer", "user", "assistant"]},
          "content": {"title": "Content", "description": "The message's text.", "type": "string"}
        }
      },
      "examples": [[{"role": "system", "content": "You classify support tickets."}, {"role": "user", "content": "{{ input.text }}"}]]
    },
    "prompt": {
      "title": "Prompt",
      "description": "A single user message, when messages is not set.",
      "type": "string",
      "examples": ["Summarise in one sentence: {{ input.body }}"]
    },
    "system": {
      "title": "System message",
      "description": "Instructions sent as a system message before prompt.",
      "type": "string",
      "examples": ["You are a terse assistant."]
    },
    "temperature": {
      "title": "Temperature",
      "description": "Sampling temperature from 0 (most deterministic) to 2; the service's default when not set.",
      "type": "number",
      "minimum": 0,
      "maximum": 2,
      "examples": [0, 0.7]
    },
    "maxTokens": {
      "title": "Maximum tokens",
      "description": "Longest completion, in tokens; the service's default when not set.",
      "type": "integer",
      "minimum": 1,
      "maximum": 1000000,
      "examples": [500]
    },
    "responseFormat": {
      "title": "Response format",
      "description": "text, or json: the service's JSON mode, and the parsed value in the output's json (the node fails with invalid_json when the model returned none). With json, say in the messages that the answer must be JSON.",
      "type": "string",
      "enum": ["text", "json"],
      "default": "text"
    },
    "timeout": {
      "title": "Timeout",
      "description": "Longest time to wait for the whole answer, as a duration such as 30s or 2m.",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "default": %[1]q,
      "examples": ["60s"]
    }
  }
}`
