package emailnode

// schemaTemplate is email.send's configuration schema; %[1]q is the deployment's default timeout.
const schemaTemplate = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Send e-mail",
  "description": "Sends an e-mail through an SMTP server.",
  "type": "object",
  "additionalProperties": false,
  "required": ["credential"],
  "properties": {
    "credential": {
      "title": "Credential",
      "description": "An smtp credential: the server, its security (STARTTLS, TLS or none), the user name and password, and a default sender.",
      "type": "string",
      "minLength": 1,
      "x-credentialTypes": ["smtp"],
      "examples": ["cred_smtp"]
    },
    "from": {
      "title": "From",
      "description": "The sender, as an address or \"Name <address>\"; the credential's default sender when not set.",
      "type": "string",
      "maxLength": 512,
      "examples": ["Reports <reports@example.com>"]
    },
    "to": {
      "title": "To",
      "description": "Recipients, each an address or \"Name <address>\". to, cc and bcc hold at most 100 addresses together.",
      "type": "array",
      "maxItems": 100,
      "items": {"type": "string", "maxLength": 512},
      "examples": [["ada@example.com", "Grace Hopper <grace@example.com>"], ["{{ input.email }}"]]
    },
    "cc": {
      "title": "Cc",
      "description": "Copy recipients.",
      "type": "array",
      "maxItems": 100,
      "items": {"type": "string", "maxLength": 512},
      "examples": [["team@example.com"]]
    },
    "bcc": {
      "title": "Bcc",
      "description": "Blind copy recipients: they receive the message without appearing in its headers.",
      "type": "array",
      "maxItems": 100,
      "items": {"type": "string", "maxLength": 512},
      "examples": [["archive@example.com"]]
    },
    "replyTo": {
      "title": "Reply to",
      "description": "The address replies go to, when it is not the sender.",
      "type": "string",
      "maxLength": 512,
      "examples": ["support@example.com"]
    },
    "subject": {
      "title": "Subject",
      "description": "The subject line (at most 998 bytes, no line breaks).",
      "type": "string",
      "maxLength": 998,
      "examples": ["Order {{ input.id }} shipped"]
    },
    "text": {
      "title": "Text body",
      "description": "The plain-text body. With html too, the message carries both and the reader's program picks one.",
      "type": "string",
      "examples": ["Hello {{ input.name }},\n\nyour order shipped today."]
    },
    "html": {
      "title": "HTML body",
      "description": "The HTML body.",
      "type": "string",
      "examples": ["<p>Hello {{ input.name }},</p><p>your order shipped today.</p>"]
    },
    "headers": {
      "title": "Headers",
      "description": "Extra headers, such as In-Reply-To, References or List-Unsubscribe. The headers the node writes itself (From, To, Subject, Content-Type…) cannot be set here.",
      "type": "object",
      "maxProperties": 50,
      "additionalProperties": {"type": "string", "maxLength": 2048},
      "examples": [{"X-Campaign": "welcome"}]
    },
    "attachments": {
      "title": "Attachments",
      "description": "Files to attach, typically an expression over the input: an array of {filename, content, contentType, encoding}, where encoding is text (content is the file's text, the default) or base64.",
      "type": "array",
      "maxItems": 20,
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["filename", "content"],
        "properties": {
          "filename": {"title": "File name", "description": "The name the reader sees.", "type": "string", "minLength": 1, "maxLength": 255},
          "content": {"title": "Content", "description": "The file's text, or its bytes in base64.", "type": "string"},
          "contentType": {"title": "Content type", "description": "The media type, such as text/csv or application/pdf; text/plain or application/octet-stream when not set.", "type": "string", "maxLength": 255},
          "encoding": {"title": "Encoding", "description": "text (the default) or base64.", "type": "string", "enum": ["text", "base64"]}
        }
      },
      "examples": [[{"filename": "report.csv", "content": "{{ nodes.csv.output }}", "contentType": "text/csv"}], "{{ input.attachments }}"]
    },
    "timeout": {
      "title": "Timeout",
      "description": "Longest time to connect and send, as a duration such as 30s.",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "default": %[1]q,
      "examples": ["30s"]
    }
  }
}`
