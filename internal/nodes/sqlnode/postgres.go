package sqlnode

import (
	"context"
	_ "embed" // docs
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

var (
	//go:embed docs/postgres.query.md
	pgQueryDocs string
	//go:embed docs/postgres.execute.md
	pgExecDocs string
)

// pgCredential is the data of a postgres credential.
type pgCredential struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	Password string `json:"password"`
	SSLMode  string `json:"sslmode"`
}

// Postgres runs the postgres.* node types: one pgx pool per credential (keyed by its fingerprint),
// at most PoolConns connections each, every connection dialled through the deployment's policy.
type Postgres struct {
	cfg   conn.Config
	pools *conn.Cache[*pgxpool.Pool]
}

// NewPostgres returns the PostgreSQL backend for cfg; Close closes its pools.
func NewPostgres(cfg conn.Config) *Postgres {
	cfg = cfg.WithDefaults()
	return &Postgres{cfg: cfg, pools: conn.NewCache(cfg.MaxPools, cfg.Idle, func(p *pgxpool.Pool) { p.Close() })}
}

// Close closes every pool (those in use once released).
func (p *Postgres) Close() { p.pools.Close() }

// Pool returns the pool of cred, opening it when there is none, and the function that releases it.
// Benchmarks and tests compare the nodes with raw queries on the same pool.
func (p *Postgres) Pool(ctx context.Context, cred *node.Credential) (*pgxpool.Pool, func(), error) {
	return p.pools.Acquire(ctx, conn.Key(cred), func(context.Context) (*pgxpool.Pool, error) {
		pc, err := p.poolConfig(cred)
		if err != nil {
			return nil, err
		}
		// The pool outlives the attempt that opens it; it connects lazily, on first use.
		pool, err := pgxpool.NewWithConfig(context.Background(), pc)
		if err != nil {
			return nil, node.Permanent(node.Errorf("invalid_credential", "credential %s: %s", cred.Name, err.Error()))
		}
		return pool, nil
	})
}

// connConfig returns the pgx configuration of cred, dialling through the policy.
func (p *Postgres) connConfig(cred *node.Credential) (*pgx.ConnConfig, string, error) {
	pc, what, err := p.parse(cred)
	if err != nil {
		return nil, what, err
	}
	return pc.ConnConfig, what, nil
}

func (p *Postgres) poolConfig(cred *node.Credential) (*pgxpool.Config, error) {
	pc, _, err := p.parse(cred)
	if err != nil {
		return nil, err
	}
	pc.MaxConns = PoolConns
	pc.MinConns = 0
	pc.MaxConnIdleTime = p.cfg.Idle
	pc.MaxConnLifetime = 30 * time.Minute
	return pc, nil
}

// parse builds the pool configuration of cred. The connection URL is built here, with every part
// escaped; neither it nor the password appears in errors.
func (p *Postgres) parse(cred *node.Credential) (*pgxpool.Config, string, error) {
	var c pgCredential
	if err := cred.Decode(&c); err != nil {
		return nil, "PostgreSQL", node.Permanent(node.Errorf("invalid_credential", "credential %s cannot be read as a postgres credential", cred.Name))
	}
	if c.Port == 0 {
		c.Port = 5432
	}
	if c.SSLMode == "" {
		c.SSLMode = "prefer"
	}
	hostPort := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	what := "PostgreSQL at " + hostPort
	if c.Host == "" || c.User == "" {
		return nil, what, node.Permanent(node.Errorf("invalid_credential", "credential %s has no host or no user", cred.Name))
	}
	u := url.URL{Scheme: "postgres", Host: hostPort, Path: "/" + c.Database}
	if c.Password != "" {
		u.User = url.UserPassword(c.User, c.Password)
	} else {
		u.User = url.User(c.User)
	}
	u.RawQuery = url.Values{"sslmode": {c.SSLMode}, "application_name": {"concertmaster"}}.Encode()
	pc, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, what, node.Permanent(node.Errorf("invalid_credential", "credential %s: its connection settings are not valid", cred.Name))
	}
	// Every connection, the fallbacks of sslmode prefer and allow and the cancel requests included,
	// is dialled through the policy.
	pc.ConnConfig.DialFunc = p.cfg.Dial
	pc.ConnConfig.ConnectTimeout = p.cfg.Timeout
	// A statement whose context ends (timeout, cancel, maxRows reached) is canceled on the server,
	// so that it stops working and the connection stays usable; a server that does not answer the
	// cancel within a second loses the connection instead.
	pc.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
	}
	return pc, what, nil
}

// what names the server of cred in messages.
func pgWhat(cred *node.Credential) string {
	var c pgCredential
	_ = cred.Decode(&c)
	if c.Port == 0 {
		c.Port = 5432
	}
	return "PostgreSQL at " + net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// pgArgs converts JSON parameter values for pgx: scalars become text, which PostgreSQL parses as
// the type the statement expects ("42" as an integer, "true" as a boolean); objects go as JSON and
// arrays as PostgreSQL arrays (or JSON, for a json parameter).
func pgArgs(params []any) []any {
	out := make([]any, len(params))
	for i, v := range params {
		switch v := v.(type) {
		case float64:
			out[i] = strconv.FormatFloat(v, 'f', -1, 64)
		case float32:
			out[i] = strconv.FormatFloat(float64(v), 'f', -1, 32)
		case int:
			out[i] = strconv.Itoa(v)
		case int64:
			out[i] = strconv.FormatInt(v, 10)
		case bool:
			out[i] = strconv.FormatBool(v)
		default:
			out[i] = v
		}
	}
	return out
}

func (p *Postgres) query(ctx context.Context, cred *node.Credential, q string, params []any, sink *rowSink) error {
	pool, release, err := p.Pool(ctx, cred)
	if err != nil {
		return err
	}
	defer release()
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := pool.Query(qctx, q, pgArgs(params)...)
	if err != nil {
		return pgClassify(pgWhat(cred), err)
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	names := make([]string, len(fds))
	for i, fd := range fds {
		names[i] = fd.Name
	}
	sink.setColumns(names)
	tm := rows.Conn().TypeMap()
	values := make([]any, len(fds))
	stop := func() {
		// Read the rest of the result for a moment so the connection stays usable; then give up on
		// it.
		t := time.AfterFunc(drainBudget, cancel)
		rows.Close()
		t.Stop()
	}
	for rows.Next() {
		if sink.full() {
			sink.truncated = true
			stop()
			return nil
		}
		raw, err := rows.Values()
		if err != nil {
			stop()
			return node.Permanent(node.Errorf(CodeSQL, "%s: reading a row: %s", pgWhat(cred), err.Error()))
		}
		for i, v := range raw {
			values[i] = pgValue(tm, fds[i].DataTypeOID, v)
		}
		if err := sink.add(values); err != nil {
			stop()
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return pgClassify(pgWhat(cred), err)
	}
	return nil
}

func (p *Postgres) exec(ctx context.Context, cred *node.Credential, q string, params []any) (map[string]any, error) {
	pool, release, err := p.Pool(ctx, cred)
	if err != nil {
		return nil, err
	}
	defer release()
	tag, err := pool.Exec(ctx, q, pgArgs(params)...)
	if err != nil {
		return nil, pgClassify(pgWhat(cred), err)
	}
	return map[string]any{"rowsAffected": intValue(tag.RowsAffected()), "commandTag": tag.String()}, nil
}

func (p *Postgres) batch(ctx context.Context, cred *node.Credential, q string, batch [][]any) ([]int64, error) {
	out := make([]int64, len(batch))
	if len(batch) == 0 {
		return out, nil
	}
	pool, release, err := p.Pool(ctx, cred)
	if err != nil {
		return nil, err
	}
	defer release()
	what := pgWhat(cred)
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, pgClassify(what, err)
	}
	// Rolling back after a commit does nothing; after a failure it undoes every statement.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var b pgx.Batch
	for _, params := range batch {
		b.Queue(q, pgArgs(params)...)
	}
	br := tx.SendBatch(ctx, &b)
	for i := range batch {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return nil, batchError(i, pgClassify(what, err))
		}
		out[i] = tag.RowsAffected()
	}
	if err := br.Close(); err != nil {
		return nil, pgClassify(what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, pgClassify(what, err)
	}
	return out, nil
}

// pgClassify turns a pgx error into a node error: what the server said about the statement
// (sql_error), the credential (auth_failed) or the connection, a refused address (ssrf_blocked), a
// network failure (connection_failed, retryable). Context errors are returned as they are, for the
// caller to tell a timeout from a cancel.
func pgClassify(what string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgServerError(what, pgErr)
	}
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		return conn.ClassifyDial(what, blocked)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return conn.ClassifyDial(what, err)
	}
	if strings.Contains(err.Error(), "failed to encode args") {
		return node.Permanent(node.Errorf(CodeInvalidParams, "%s: %s", what, err.Error()))
	}
	return node.Permanent(node.Errorf(CodeSQL, "%s: %s", what, err.Error()))
}

// pgServerError classifies an error the server reported by its SQLSTATE.
func pgServerError(what string, e *pgconn.PgError) error {
	details := map[string]any{"sqlstate": e.Code}
	for k, v := range map[string]string{"severity": e.Severity, "detail": e.Detail, "hint": e.Hint, "schema": e.SchemaName,
		"table": e.TableName, "column": e.ColumnName, "constraint": e.ConstraintName, "where": e.Where} {
		if v != "" {
			details[k] = v
		}
	}
	if e.Position > 0 {
		details["position"] = float64(e.Position)
	}
	msg := fmt.Sprintf("%s: %s (SQLSTATE %s)", what, e.Message, e.Code)
	class := e.Code[:min(2, len(e.Code))]
	switch {
	case class == "28":
		return node.Permanent(&node.Error{Code: CodeAuth, Message: fmt.Sprintf("%s refused the credential: %s (SQLSTATE %s)", what, e.Message, e.Code), Details: details})
	case e.Code == "3D000":
		return node.Permanent(&node.Error{Code: conn.CodeConnection, Message: msg, Details: details})
	case class == "08" || class == "53" || e.Code == "57P01" || e.Code == "57P02" || e.Code == "57P03":
		return &node.Error{Code: conn.CodeConnection, Message: msg, Details: details}
	case e.Code == "57014":
		return &node.Error{Code: CodeTimeout, Message: msg, Details: details}
	case e.Code == "40001" || e.Code == "40P01" || e.Code == "0A000" && strings.Contains(e.Message, "cached plan"):
		// Serialization failures and deadlocks pass on a retry; so does a cached statement whose
		// table changed shape, which the driver prepares again.
		return &node.Error{Code: CodeSQL, Message: msg, Details: details}
	}
	return node.Permanent(&node.Error{Code: CodeSQL, Message: msg, Details: details})
}

// pgValue converts a value pgx decoded from a column of type oid to JSON: see the type table in the
// docs.
func pgValue(tm *pgtype.Map, oid uint32, v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return v
	case bool:
		return v
	case int16:
		return float64(v)
	case int32:
		return float64(v)
	case int64:
		return intValue(v)
	case uint32:
		return float64(v)
	case float32:
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
		return floatValue(f)
	case float64:
		return floatValue(v)
	case pgtype.Numeric:
		return numericValue(v)
	case time.Time:
		if oid == pgtype.DateOID {
			return dateValue(v)
		}
		return timestampValue(v)
	case []byte:
		return bytesValue(v)
	case [16]byte:
		return uuidString(v)
	case pgtype.Time:
		if !v.Valid {
			return nil
		}
		return timeOfDay(time.Duration(v.Microseconds) * time.Microsecond)
	case netip.Prefix:
		if v.IsSingleIP() {
			return v.Addr().String()
		}
		return v.String()
	case map[string]any:
		return v // json, jsonb: decoded already
	case []any:
		if oid == pgtype.JSONOID || oid == pgtype.JSONBOID {
			return v
		}
		elem := uint32(0)
		if t, ok := tm.TypeForOID(oid); ok {
			if ac, ok := t.Codec.(*pgtype.ArrayCodec); ok && ac.ElementType != nil {
				elem = ac.ElementType.OID
			}
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = pgValue(tm, elem, e)
		}
		return out
	}
	// Anything else (interval, time, ranges, geometry, bit strings, infinite dates…) as PostgreSQL
	// writes it.
	if oid != 0 {
		if b, err := tm.Encode(oid, pgtype.TextFormatCode, v, nil); err == nil && b != nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

// timeOfDay writes a time of day as PostgreSQL does: hh:mm:ss, with fractional seconds when set.
func timeOfDay(d time.Duration) string {
	s := fmt.Sprintf("%02d:%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second))
	if us := int(d % time.Second / time.Microsecond); us != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", us), "0")
	}
	return s
}

func numericValue(n pgtype.Numeric) any {
	switch {
	case !n.Valid:
		return nil
	case n.NaN:
		return "NaN"
	case n.InfinityModifier == pgtype.Infinity:
		return "Infinity"
	case n.InfinityModifier == pgtype.NegativeInfinity:
		return "-Infinity"
	}
	v, err := n.Value()
	s, ok := v.(string)
	if err != nil || !ok {
		return nil
	}
	return decimalValue(s)
}

func uuidString(b [16]byte) string {
	const hexDigits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return string(out)
}

// test connects once (no pool) and says which server and user answered.
func (p *Postgres) test(ctx context.Context, cred *node.Credential) (string, error) {
	cc, what, err := p.connConfig(cred)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, min(p.cfg.Timeout, 15*time.Second))
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		if ctx.Err() != nil {
			return "", node.Errorf(CodeTimeout, "%s did not answer in time", what)
		}
		return "", pgClassify(what, err)
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	var version, user, database string
	if err := c.QueryRow(ctx, "select current_setting('server_version'), current_user, current_database()").Scan(&version, &user, &database); err != nil {
		return "", pgClassify(what, err)
	}
	if f := strings.Fields(version); len(f) > 0 {
		version = f[0]
	}
	return fmt.Sprintf("Connected to PostgreSQL %s as %s (database %s)", version, user, database), nil
}
