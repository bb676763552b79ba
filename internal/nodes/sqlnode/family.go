package sqlnode

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

// New returns the postgres.query, postgres.execute, mysql.query and mysql.execute node types, for
// a deployment's outbound settings. Each family keeps its own bounded cache of pools.
func New(cfg conn.Config) []node.Node {
	return append(PostgresNodes(NewPostgres(cfg)), MySQLNodes(NewMySQL(cfg))...)
}

// PostgresNodes returns the postgres.* node types running on p.
func PostgresNodes(p *Postgres) []node.Node {
	f := &family{name: "postgres", title: "PostgreSQL", credType: "postgres", cfg: p.cfg, be: p,
		queryDocs: pgQueryDocs, execDocs: pgExecDocs}
	f.querySchema = querySchema(f, pgExamples)
	f.execSchema = execSchema(f, pgExamples)
	return []node.Node{&Query{f: f}, &Execute{f: f}}
}

// MySQLNodes returns the mysql.* node types running on m.
func MySQLNodes(m *MySQL) []node.Node {
	f := &family{name: "mysql", title: "MySQL", credType: "mysql", cfg: m.cfg, be: m,
		queryDocs: myQueryDocs, execDocs: myExecDocs}
	f.querySchema = querySchema(f, myExamples)
	f.execSchema = execSchema(f, myExamples)
	return []node.Node{&Query{f: f}, &Execute{f: f}}
}

// Testers returns the credential testers of the postgres and mysql credential types.
func Testers(cfg conn.Config) map[string]conn.TestFunc {
	return map[string]conn.TestFunc{
		"postgres": NewPostgres(cfg).test,
		"mysql":    NewMySQL(cfg).test,
	}
}

// examples are a family's example statements for the schemas.
type examples struct {
	query, queryParams, exec, execParams string
}

var (
	pgExamples = examples{
		query:       "select id, email, created_at from customers where country = $1 and created_at > $2",
		queryParams: `["{{ input.country }}", "{{ input.since }}"]`,
		exec:        "insert into orders (id, customer_id, total) values ($1, $2, $3) on conflict (id) do update set total = excluded.total",
		execParams:  `["{{ input.id }}", "{{ input.customerId }}", "{{ input.total }}"]`,
	}
	myExamples = examples{
		query:       "select id, email, created_at from customers where country = ? and created_at > ?",
		queryParams: `["{{ input.country }}", "{{ input.since }}"]`,
		exec:        "insert into orders (id, customer_id, total) values (?, ?, ?) on duplicate key update total = values(total)",
		execParams:  `["{{ input.id }}", "{{ input.customerId }}", "{{ input.total }}"]`,
	}
)

// commonProperties are the schema properties both node types have, as JSON object members.
func commonProperties(f *family, ex examples, query, params string) string {
	placeholders := "$1, $2…"
	if f.name == "mysql" {
		placeholders = "?"
	}
	return fmt.Sprintf(`
    "credential": {
      "type": "string", "title": "Credential", "minLength": 1, "x-credentialTypes": [%[1]q],
      "description": "The %[2]s credential to connect with (host, database, user, password).",
      "examples": ["cred_0123456789"]
    },
    "query": {
      "type": "string", "title": "Query", "minLength": 1, "maxLength": 65536, "x-cm-code": "sql",
      "description": "One SQL statement, with placeholders (%[3]s) where values go. Never a template: values go in params, so that they can never change the statement.",
      "examples": [%[4]q]
    },
    "params": {
      "type": "array", "title": "Parameters", "maxItems": %[6]d,
      "description": "The values of the placeholders, in order; each is usually an expression such as {{ input.id }}, or the whole list one expression that yields an array.",
      "examples": [%[5]s]
    },
    "timeout": {
      "type": "string", "title": "Timeout", "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$",
      "description": "Longest time the statement may take, connecting included, as a duration such as 500ms or 30s; past it the statement is canceled. Default: the server's (%[7]s).",
      "examples": ["5s", "2m"]
    }`, f.credType, f.title, placeholders, query, params, MaxParams, f.cfg.Timeout)
}

func querySchema(f *family, ex examples) json.RawMessage {
	s := fmt.Sprintf(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": %[1]q,
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "query"],
  "properties": {%[2]s,
    "maxRows": {
      "type": "integer", "title": "Maximum rows", "minimum": 1, "maximum": %[3]d, "default": %[4]d,
      "description": "Most rows to output; when the statement returns more, the output stops there and says truncated: true.",
      "examples": [100]
    }
  }
}`, f.title+" query", commonProperties(f, ex, ex.query, ex.queryParams), MaxRowsLimit, MaxRowsDefault)
	return mustJSON(s)
}

func execSchema(f *family, ex examples) json.RawMessage {
	s := fmt.Sprintf(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": %[1]q,
  "type": "object",
  "additionalProperties": false,
  "required": ["credential", "query"],
  "properties": {%[2]s,
    "batch": {
      "type": "array", "title": "Batch", "maxItems": %[3]d, "x-cm-expression": true,
      "items": {"type": ["array", "object"]},
      "description": "Runs the statement once per element, all in one transaction (all or nothing): an element is an array of parameters, or an object whose paramKeys are the parameters. Usually one expression such as {{ input.items }}. Leave params empty.",
      "examples": ["{{ input.items }}", [[1, "a"], [2, "b"]]]
    },
    "paramKeys": {
      "type": "array", "title": "Parameter keys", "maxItems": %[4]d,
      "items": {"type": "string", "minLength": 1},
      "description": "For batch elements that are objects: the keys whose values are the parameters, in placeholder order.",
      "examples": [["id", "customerId", "total"]]
    }
  }
}`, f.title+" execute", commonProperties(f, ex, ex.exec, ex.execParams), MaxBatch, MaxParams)
	return mustJSON(s)
}

// mustJSON checks a schema built from constants.
func mustJSON(s string) json.RawMessage {
	if !json.Valid([]byte(s)) {
		panic("sqlnode: invalid schema: " + strings.SplitN(s, "\n", 2)[0])
	}
	return json.RawMessage(s)
}

// dbSystem is the family's db.system.name in spans (OpenTelemetry's names).
func (f *family) dbSystem() string {
	if f.name == "postgres" {
		return "postgresql"
	}
	return f.name
}
