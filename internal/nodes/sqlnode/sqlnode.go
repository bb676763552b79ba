package sqlnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/telemetry"
)

// Limits of the configuration.
const (
	// MaxRowsDefault is how many rows a query outputs when maxRows is not set.
	MaxRowsDefault = 1000
	// MaxRowsLimit is the largest maxRows.
	MaxRowsLimit = 100000
	// MaxBatch is the most statements one batch runs.
	MaxBatch = 10000
	// MaxParams is the most parameters one statement takes.
	MaxParams = 1000
	// MaxTimeout is the longest timeout a node may set.
	MaxTimeout = time.Hour
	// PoolConns is how many connections the pool of one credential opens at most.
	PoolConns = 4
	// drainBudget is how long a query that stopped early (maxRows, output size) may take to read the
	// rest of its result so that its connection can be reused; past it the query is canceled and the
	// connection closed.
	drainBudget = 100 * time.Millisecond
)

// Codes of the *node.Error values the nodes return, besides conn.CodeSSRFBlocked,
// conn.CodeConnection and the credential codes of package node.
const (
	// CodeSQL is an error the server reported for the statement (syntax, constraint, permission…);
	// Details hold its SQLSTATE (and for MySQL its error number). Permanent, except serialization
	// failures and deadlocks.
	CodeSQL = "sql_error"
	// CodeAuth is a server that refused the credential's user or password. Permanent.
	CodeAuth = "auth_failed"
	// CodeTimeout is a statement that did not finish within the timeout. Retryable.
	CodeTimeout = "timeout"
	// CodeOutputTooLarge is a result larger than the run's output limit. Permanent.
	CodeOutputTooLarge = "output_too_large"
	// CodeInvalidConfig is a configuration the node cannot run: a template in the query, params or
	// batch of the wrong shape, a bad timeout. Permanent.
	CodeInvalidConfig = "invalid_config"
	// CodeInvalidParams is a parameter the driver cannot send as the type the statement expects.
	// Permanent.
	CodeInvalidParams = "invalid_params"
)

// Statement is the configuration both node types of a family share.
type Statement struct {
	// Credential is the id of a credential of the family's type.
	Credential string `json:"credential"`
	// Query is the SQL statement, with placeholders ($1, $2… or ?) for the params. It is never a
	// template: values go in Params.
	Query string `json:"query"`
	// Params are the values of the placeholders, in order.
	Params []any `json:"params,omitempty"`
	// Timeout bounds the statement (connecting included), as a Go duration; empty means the
	// deployment's default.
	Timeout string `json:"timeout,omitempty"`
}

// validate checks what the schema cannot, without I/O.
func (s *Statement) validate() error {
	var errs []error
	if strings.TrimSpace(s.Query) == "" {
		errs = append(errs, errors.New("query is empty"))
	}
	if len(s.Params) > MaxParams {
		errs = append(errs, fmt.Errorf("params has %d values, more than %d", len(s.Params), MaxParams))
	}
	if s.Timeout != "" && !expression.HasExpression(s.Timeout) {
		if _, err := parseTimeout(s.Timeout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkQuery refuses a query that holds a template: the query is a lazy key, so the engine leaves
// its {{ }} as written, and building SQL from values is what params are for.
func (s *Statement) checkQuery() error {
	if expression.HasExpression(s.Query) {
		return node.Permanent(node.Errorf(CodeInvalidConfig,
			"query holds a {{ template }}: SQL is never built from values; put a placeholder in the query and the value in params"))
	}
	return nil
}

func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > MaxTimeout {
		return 0, fmt.Errorf("timeout %q is not a duration between 1ms and %s, such as 30s", s, MaxTimeout)
	}
	return d, nil
}

// timeout returns the statement's timeout, or the deployment's.
func (s *Statement) timeout(cfg conn.Config) (time.Duration, error) {
	if s.Timeout == "" {
		return cfg.Timeout, nil
	}
	d, err := parseTimeout(s.Timeout)
	if err != nil {
		return 0, node.Permanent(&node.Error{Code: CodeInvalidConfig, Message: err.Error()})
	}
	return d, nil
}

// QueryConfig is the configuration of the <family>.query types.
type QueryConfig struct {
	Statement
	// MaxRows is the most rows output; zero means MaxRowsDefault.
	MaxRows int `json:"maxRows,omitempty"`
}

// ExecuteConfig is the configuration of the <family>.execute types.
type ExecuteConfig struct {
	Statement
	// Batch, when set, runs the statement once per element in one transaction: an element is an
	// array of parameters, or an object whose ParamKeys are the parameters.
	Batch []any `json:"batch,omitempty"`
	// ParamKeys name, in placeholder order, the keys of object elements of Batch.
	ParamKeys []string `json:"paramKeys,omitempty"`
}

// batchParams returns the parameter lists of the batch, checking its shape.
func (e *ExecuteConfig) batchParams() ([][]any, error) {
	if len(e.Batch) > MaxBatch {
		return nil, node.Permanent(node.Errorf(CodeInvalidConfig, "batch has %d statements, more than %d: split it (forEach over chunks)", len(e.Batch), MaxBatch))
	}
	if len(e.Params) > 0 {
		return nil, node.Permanent(node.Errorf(CodeInvalidConfig, "params and batch are both set: with batch, each element holds the parameters of one statement"))
	}
	out := make([][]any, len(e.Batch))
	for i, el := range e.Batch {
		switch v := el.(type) {
		case []any:
			if len(v) > MaxParams {
				return nil, node.Permanent(node.Errorf(CodeInvalidConfig, "batch[%d] has %d values, more than %d", i, len(v), MaxParams))
			}
			out[i] = v
		case map[string]any:
			if len(e.ParamKeys) == 0 {
				return nil, node.Permanent(node.Errorf(CodeInvalidConfig,
					"batch[%d] is an object: set paramKeys to the keys whose values are the parameters, in placeholder order", i))
			}
			params := make([]any, len(e.ParamKeys))
			for j, k := range e.ParamKeys {
				val, ok := v[k]
				if !ok {
					return nil, node.Permanent(node.Errorf(CodeInvalidConfig, "batch[%d] has no key %q (paramKeys[%d])", i, k, j))
				}
				params[j] = val
			}
			out[i] = params
		default:
			return nil, node.Permanent(node.Errorf(CodeInvalidConfig, "batch[%d] is %s, not an array of parameters or an object", i, kindOf(el)))
		}
	}
	return out, nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return "a number"
	}
}

// backend is what a family's driver does; the node types around it are shared.
type backend interface {
	// query runs a statement that returns rows into sink.
	query(ctx context.Context, cred *node.Credential, q string, params []any, sink *rowSink) error
	// exec runs one statement and returns its output.
	exec(ctx context.Context, cred *node.Credential, q string, params []any) (map[string]any, error)
	// batch runs the statement once per parameter list in one transaction and returns the rows each
	// affected.
	batch(ctx context.Context, cred *node.Credential, q string, batch [][]any) ([]int64, error)
}

// family is one database's pair of node types.
type family struct {
	name     string // "postgres"
	title    string // "PostgreSQL"
	credType string
	cfg      conn.Config
	be       backend

	querySchema, execSchema json.RawMessage
	queryDocs, execDocs     string
}

// prepare refuses a templated query, bounds ctx by the statement's timeout and fetches the
// credential.
func (f *family) prepare(ctx context.Context, s *Statement, in *node.Input) (context.Context, context.CancelFunc, *node.Credential, error) {
	if err := s.checkQuery(); err != nil {
		return nil, nil, nil, err
	}
	d, err := s.timeout(f.cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	cred, err := node.GetCredential(ctx, in.Credentials, s.Credential, f.credType)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, d, errStatementTimeout)
	return ctx, cancel, cred, nil
}

// errStatementTimeout is the cause of a context canceled by the statement's timeout.
var errStatementTimeout = errors.New("statement timeout")

// timedOut reports whether ctx ended by the statement's own timeout (rather than the run's cancel).
func timedOut(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errStatementTimeout)
}

// failed is the error of a statement that failed with err while ctx was its context: a timeout
// when the statement's own timeout ended it, the context's error when the run was canceled (the
// server's "canceling statement" is only the echo of either), else err.
func (f *family) failed(ctx context.Context, s *Statement, err error) error {
	if timedOut(ctx) {
		d, _ := s.timeout(f.cfg)
		return &node.Error{Code: CodeTimeout, Message: fmt.Sprintf("%s: the statement did not finish within %s", f.title, d)}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Query is a <family>.query node.
type Query struct {
	QueryConfig

	f *family
}

// NodeInfo describes the type.
func (q *Query) NodeInfo() node.Info {
	f := q.f
	return node.Info{
		Type: node.TypeName(f.name + ".query"), Version: 1, Title: f.title + " query", Category: "Databases", Icon: "database",
		Description: fmt.Sprintf("Runs a %s statement with parameters and outputs the rows it returns.", f.title),
		Docs:        f.queryDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: parameters come from the configuration, through expressions"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Result", Description: "rows, rowCount, columns and truncated"}},
		Schema:      f.querySchema,
		Lazy:        []string{"query"},
		New:         func() node.Node { return &Query{f: f} },
	}
}

// Validate checks the configuration without I/O.
func (q *Query) Validate() error {
	err := q.validate()
	if q.MaxRows < 0 || q.MaxRows > MaxRowsLimit {
		err = errors.Join(err, fmt.Errorf("maxRows must be between 1 and %d", MaxRowsLimit))
	}
	return err
}

// Execute runs the query and outputs {rows, rowCount, columns, truncated}.
func (q *Query) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	f := q.f
	ctx, cancel, cred, err := f.prepare(ctx, &q.Statement, in)
	if err != nil {
		return node.Output{}, err
	}
	defer cancel()
	maxRows := q.MaxRows
	if maxRows <= 0 {
		maxRows = MaxRowsDefault
	}
	sink := &rowSink{maxRows: min(maxRows, MaxRowsLimit), maxBytes: in.Limits.MaxOutputBytes}
	sctx, end := telemetry.StartDB(ctx, f.dbSystem(), "query", q.Query)
	err = f.be.query(sctx, cred, q.Query, q.Params, sink)
	end(err)
	if err != nil {
		return node.Output{}, f.failed(ctx, &q.Statement, err)
	}
	return node.Out(sink.output()), nil
}

// Execute is a <family>.execute node.
type Execute struct {
	ExecuteConfig

	f *family
}

// NodeInfo describes the type.
func (e *Execute) NodeInfo() node.Info {
	f := e.f
	return node.Info{
		Type: node.TypeName(f.name + ".execute"), Version: 1, Title: f.title + " execute", Category: "Databases", Icon: "database",
		Description: fmt.Sprintf("Runs a %s statement (insert, update, delete, DDL) with parameters, or a batch of them in one transaction, and outputs the rows affected.", f.title),
		Docs:        f.execDocs,
		Inputs:      []node.PortSpec{{Name: "in", Title: "Input", Description: "Not read: parameters come from the configuration, through expressions"}},
		Outputs:     []node.PortSpec{{Name: "out", Title: "Result", Description: "rowsAffected, and per statement for a batch"}},
		Schema:      f.execSchema,
		Lazy:        []string{"query"},
		New:         func() node.Node { return &Execute{f: e.f} },
	}
}

// Validate checks the configuration without I/O.
func (e *Execute) Validate() error {
	err := e.validate()
	if len(e.Batch) > 0 && len(e.Params) > 0 {
		err = errors.Join(err, errors.New("params and batch are both set: with batch, each element holds the parameters of one statement"))
	}
	if len(e.Batch) > MaxBatch {
		err = errors.Join(err, fmt.Errorf("batch has more than %d statements", MaxBatch))
	}
	return err
}

// Execute runs the statement, or the batch in one transaction.
func (e *Execute) Execute(ctx context.Context, in *node.Input) (node.Output, error) {
	f := e.f
	var batch [][]any
	if e.Batch != nil {
		var err error
		if batch, err = e.batchParams(); err != nil {
			return node.Output{}, err
		}
	}
	ctx, cancel, cred, err := f.prepare(ctx, &e.Statement, in)
	if err != nil {
		return node.Output{}, err
	}
	defer cancel()
	if e.Batch == nil {
		sctx, end := telemetry.StartDB(ctx, f.dbSystem(), "execute", e.Query)
		out, err := f.be.exec(sctx, cred, e.Query, e.Params)
		end(err)
		if err != nil {
			return node.Output{}, f.failed(ctx, &e.Statement, err)
		}
		return node.Out(out), nil
	}
	sctx, end := telemetry.StartDB(ctx, f.dbSystem(), "batch", e.Query)
	each, err := f.be.batch(sctx, cred, e.Query, batch)
	end(err)
	if err != nil {
		return node.Output{}, f.failed(ctx, &e.Statement, err)
	}
	var total int64
	per := make([]any, len(each))
	for i, n := range each {
		total += n
		per[i] = float64(n)
	}
	return node.Out(map[string]any{"rowsAffected": float64(total), "statements": float64(len(each)), "perStatement": per}), nil
}

// batchError wraps the error of statement i of a batch: its message and details name the statement.
func batchError(i int, err error) error {
	var ne *node.Error
	if !errors.As(err, &ne) {
		return err
	}
	out := &node.Error{Code: ne.Code, Message: fmt.Sprintf("batch[%d]: %s (the transaction was rolled back: no statement of the batch took effect)", i, ne.Message)}
	details := map[string]any{"statement": float64(i)}
	if d, ok := ne.Details.(map[string]any); ok {
		for k, v := range d {
			details[k] = v
		}
	}
	out.Details = details
	if node.IsPermanent(err) {
		return node.Permanent(out)
	}
	return out
}

var (
	_ node.Validator = (*Query)(nil)
	_ node.Validator = (*Execute)(nil)
)
