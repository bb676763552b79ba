package sqlnode

import (
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed" // docs
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/concertmaster/concertmaster/internal/netguard"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
)

var (
	//go:embed docs/mysql.query.md
	myQueryDocs string
	//go:embed docs/mysql.execute.md
	myExecDocs string
)

// myCredential is the data of a mysql credential.
type myCredential struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	Password string `json:"password"`
	conn.TLSFields
}

// MySQL runs the mysql.* node types: one database/sql pool per credential (keyed by its
// fingerprint), at most PoolConns connections each, every connection dialled through the
// deployment's policy.
type MySQL struct {
	cfg   conn.Config
	pools *conn.Cache[*myPool]
}

// myPool is the pool of one credential, with what it takes to stop a statement on the server.
type myPool struct {
	db        *sql.DB
	connector driver.Connector

	mu  sync.Mutex
	ids map[any]int64 // server thread id by driver connection
}

// maxThreadIDs bounds myPool.ids: past it the map is cleared (ids are fetched again), so that
// closed connections are not kept alive by it.
const maxThreadIDs = 64

// NewMySQL returns the MySQL backend for cfg; Close closes its pools.
func NewMySQL(cfg conn.Config) *MySQL {
	cfg = cfg.WithDefaults()
	return &MySQL{cfg: cfg, pools: conn.NewCache(cfg.MaxPools, cfg.Idle, func(p *myPool) { _ = p.db.Close() })}
}

// Close closes every pool (those in use once released).
func (m *MySQL) Close() { m.pools.Close() }

// discardLogger silences the driver's own logging (it writes to stderr); errors reach the node run.
type discardLogger struct{}

func (discardLogger) Print(...any) {}

// connector returns the driver configuration of cred and the server's name for messages. Neither
// the password nor a DSN appears in errors.
func (m *MySQL) connector(cred *node.Credential) (driver.Connector, string, error) {
	var c myCredential
	if err := cred.Decode(&c); err != nil {
		return nil, "MySQL", node.Permanent(node.Errorf("invalid_credential", "credential %s cannot be read as a mysql credential", cred.Name))
	}
	if c.Port == 0 {
		c.Port = 3306
	}
	hostPort := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	what := "MySQL at " + hostPort
	if c.Host == "" || c.User == "" {
		return nil, what, node.Permanent(node.Errorf("invalid_credential", "credential %s has no host or no user", cred.Name))
	}
	tlsCfg, err := c.TLSConfig(c.Host)
	if err != nil {
		return nil, what, err
	}
	mc := mysql.NewConfig()
	mc.Net, mc.Addr, mc.User, mc.Passwd, mc.DBName = "tcp", hostPort, c.User, c.Password, c.Database
	mc.ParseTime, mc.Loc = true, time.UTC
	mc.TLS = tlsCfg
	mc.Timeout = m.cfg.Timeout
	mc.DialFunc = m.cfg.Dial
	mc.Logger = discardLogger{}
	mc.ConnectionAttributes = "program_name:concertmaster"
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, what, node.Permanent(node.Errorf("invalid_credential", "credential %s: its connection settings are not valid", cred.Name))
	}
	return connector, what, nil
}

// DB returns the pool of cred, opening it when there is none, and the function that releases it.
func (m *MySQL) DB(ctx context.Context, cred *node.Credential) (*sql.DB, func(), error) {
	p, release, err := m.pool(ctx, cred)
	if err != nil {
		return nil, nil, err
	}
	return p.db, release, nil
}

func (m *MySQL) pool(ctx context.Context, cred *node.Credential) (*myPool, func(), error) {
	return m.pools.Acquire(ctx, conn.Key(cred), func(context.Context) (*myPool, error) {
		c, _, err := m.connector(cred)
		if err != nil {
			return nil, err
		}
		db := sql.OpenDB(c)
		db.SetMaxOpenConns(PoolConns)
		db.SetMaxIdleConns(PoolConns)
		db.SetConnMaxIdleTime(m.cfg.Idle)
		db.SetConnMaxLifetime(30 * time.Minute)
		return &myPool{db: db, connector: c, ids: map[any]int64{}}, nil
	})
}

// conn takes a connection from the pool for one run, with its server thread id (fetched once per
// connection).
func (p *myPool) conn(ctx context.Context) (*sql.Conn, int64, error) {
	c, err := p.db.Conn(ctx)
	if err != nil {
		return nil, 0, err
	}
	var key any
	_ = c.Raw(func(dc any) error {
		key = dc
		return nil
	})
	p.mu.Lock()
	id, ok := p.ids[key]
	p.mu.Unlock()
	if ok {
		return c, id, nil
	}
	if err := c.QueryRowContext(ctx, "select connection_id()").Scan(&id); err != nil {
		_ = c.Close()
		return nil, 0, err
	}
	p.mu.Lock()
	if len(p.ids) >= maxThreadIDs {
		clear(p.ids)
	}
	p.ids[key] = id
	p.mu.Unlock()
	return c, id, nil
}

// kill stops what the server thread id runs. The driver closes a connection whose context ends,
// but the server would go on running its statement until it ends by itself: a timed-out or
// canceled statement is killed on a connection of its own (outside the pool's bound), which can
// only hit that statement since its connection is closed.
func (p *myPool) kill(id int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dc, err := p.connector.Connect(ctx)
	if err != nil {
		return
	}
	defer func() { _ = dc.Close() }()
	if ex, ok := dc.(driver.ExecerContext); ok {
		// The id is the server's integer, not a value from the workflow.
		_, _ = ex.ExecContext(ctx, "kill connection "+strconv.FormatInt(id, 10), nil)
	}
}

// abandoned kills the statement on thread id when ctx ended while it ran.
func (p *myPool) abandoned(ctx context.Context, id int64) {
	if ctx.Err() != nil {
		p.kill(id)
	}
}

func myWhat(cred *node.Credential) string {
	var c myCredential
	_ = cred.Decode(&c)
	if c.Port == 0 {
		c.Port = 3306
	}
	return "MySQL at " + net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// myArgs converts JSON parameter values for the driver: whole numbers as integers, objects and
// arrays as JSON text.
func myArgs(params []any) ([]any, error) {
	out := make([]any, len(params))
	for i, v := range params {
		switch v := v.(type) {
		case float64:
			if v == math.Trunc(v) && math.Abs(v) <= maxExactInt {
				out[i] = int64(v)
			} else {
				out[i] = v
			}
		case int:
			out[i] = int64(v)
		case map[string]any, []any:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, node.Permanent(node.Errorf(CodeInvalidParams, "params[%d] cannot be encoded as JSON: %s", i, err.Error()))
			}
			out[i] = string(b)
		default:
			out[i] = v
		}
	}
	return out, nil
}

func (m *MySQL) query(ctx context.Context, cred *node.Credential, q string, params []any, sink *rowSink) error {
	args, err := myArgs(params)
	if err != nil {
		return err
	}
	p, release, err := m.pool(ctx, cred)
	if err != nil {
		return err
	}
	defer release()
	what := myWhat(cred)
	c, id, err := p.conn(ctx)
	if err != nil {
		return myClassify(what, err)
	}
	defer func() { _ = c.Close() }()
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() { p.abandoned(qctx, id) }()
	rows, err := c.QueryContext(qctx, q, args...)
	if err != nil {
		return myClassify(what, err)
	}
	defer func() { _ = rows.Close() }()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return myClassify(what, err)
	}
	names := make([]string, len(cts))
	types := make([]string, len(cts))
	for i, ct := range cts {
		names[i], types[i] = ct.Name(), ct.DatabaseTypeName()
	}
	sink.setColumns(names)
	raw := make([]any, len(cts))
	ptrs := make([]any, len(cts))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	values := make([]any, len(cts))
	stop := func() {
		// Read the rest of the result for a moment so the connection stays usable; then cancel,
		// which closes it. (Close itself would read the whole rest: the driver stops watching ctx
		// as soon as Close starts.)
		deadline := time.Now().Add(drainBudget)
		for rows.Next() {
			if time.Now().After(deadline) {
				cancel()
				break
			}
		}
		_ = rows.Close()
	}
	for rows.Next() {
		if sink.full() {
			sink.truncated = true
			stop()
			return nil
		}
		if err := rows.Scan(ptrs...); err != nil {
			stop()
			return node.Permanent(node.Errorf(CodeSQL, "%s: reading a row: %s", what, err.Error()))
		}
		for i, v := range raw {
			values[i] = myValue(types[i], v)
		}
		if err := sink.add(values); err != nil {
			stop()
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return myClassify(what, err)
	}
	return nil
}

func (m *MySQL) exec(ctx context.Context, cred *node.Credential, q string, params []any) (map[string]any, error) {
	args, err := myArgs(params)
	if err != nil {
		return nil, err
	}
	p, release, err := m.pool(ctx, cred)
	if err != nil {
		return nil, err
	}
	defer release()
	c, id, err := p.conn(ctx)
	if err != nil {
		return nil, myClassify(myWhat(cred), err)
	}
	defer func() { _ = c.Close() }()
	res, err := c.ExecContext(ctx, q, args...)
	if err != nil {
		p.abandoned(ctx, id)
		return nil, myClassify(myWhat(cred), err)
	}
	affected, _ := res.RowsAffected()
	out := map[string]any{"rowsAffected": intValue(affected)}
	if id, err := res.LastInsertId(); err == nil {
		out["lastInsertId"] = intValue(id)
	}
	return out, nil
}

func (m *MySQL) batch(ctx context.Context, cred *node.Credential, q string, batch [][]any) ([]int64, error) {
	out := make([]int64, len(batch))
	if len(batch) == 0 {
		return out, nil
	}
	all := make([][]any, len(batch))
	for i, params := range batch {
		args, err := myArgs(params)
		if err != nil {
			return nil, batchError(i, err)
		}
		all[i] = args
	}
	p, release, err := m.pool(ctx, cred)
	if err != nil {
		return nil, err
	}
	defer release()
	what := myWhat(cred)
	c, id, err := p.conn(ctx)
	if err != nil {
		return nil, myClassify(what, err)
	}
	defer func() { _ = c.Close() }()
	defer func() { p.abandoned(ctx, id) }()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return nil, myClassify(what, err)
	}
	// Rolling back after a commit does nothing; after a failure it undoes every statement.
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, myClassify(what, err)
	}
	defer func() { _ = stmt.Close() }()
	for i, args := range all {
		res, err := stmt.ExecContext(ctx, args...)
		if err != nil {
			return nil, batchError(i, myClassify(what, err))
		}
		out[i], _ = res.RowsAffected()
	}
	if err := tx.Commit(); err != nil {
		return nil, myClassify(what, err)
	}
	return out, nil
}

// myClassify turns a driver error into a node error, like pgClassify.
func myClassify(what string, err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return myServerError(what, me)
	}
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		return conn.ClassifyDial(what, blocked)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, sql.ErrConnDone) {
		return conn.ClassifyDial(what, err)
	}
	if strings.Contains(err.Error(), "converting argument") || strings.Contains(err.Error(), "unsupported type") {
		return node.Permanent(node.Errorf(CodeInvalidParams, "%s: %s", what, err.Error()))
	}
	return node.Permanent(node.Errorf(CodeSQL, "%s: %s", what, err.Error()))
}

// myServerError classifies an error the server reported by its number.
func myServerError(what string, e *mysql.MySQLError) error {
	details := map[string]any{"errno": float64(e.Number)}
	state := strings.TrimRight(string(e.SQLState[:]), "\x00")
	if state != "" {
		details["sqlstate"] = state
	}
	msg := fmt.Sprintf("%s: %s (error %d)", what, e.Message, e.Number)
	switch e.Number {
	case 1045, 1044, 1698, 1251, 1129, 1130:
		return node.Permanent(&node.Error{Code: CodeAuth, Message: fmt.Sprintf("%s refused the credential: %s (error %d)", what, e.Message, e.Number), Details: details})
	case 1049:
		return node.Permanent(&node.Error{Code: conn.CodeConnection, Message: msg, Details: details})
	case 1040, 1053, 1081, 1152, 1158, 1159, 1160, 1161:
		return &node.Error{Code: conn.CodeConnection, Message: msg, Details: details}
	case 1969, 3024, 1317:
		return &node.Error{Code: CodeTimeout, Message: msg, Details: details}
	case 1213, 1205:
		return &node.Error{Code: CodeSQL, Message: msg, Details: details}
	}
	return node.Permanent(&node.Error{Code: CodeSQL, Message: msg, Details: details})
}

// myValue converts a value the driver scanned from a column of type typeName (DatabaseTypeName) to
// JSON: see the type table in the docs.
func myValue(typeName string, v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case int64:
		return intValue(v)
	case uint64:
		return uintValue(v)
	case float32:
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
		return floatValue(f)
	case float64:
		if typeName == "FLOAT" {
			f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', -1, 32), 64)
			return floatValue(f)
		}
		return floatValue(v)
	case bool:
		return v
	case time.Time:
		if typeName == "DATE" {
			return dateValue(v)
		}
		return timestampValue(v)
	case string:
		return myText(typeName, v)
	case []byte:
		switch typeName {
		case "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "GEOMETRY":
			return bytesValue(v)
		case "BIT":
			var n uint64
			for _, b := range v {
				n = n<<8 | uint64(b)
			}
			return uintValue(n)
		}
		return myText(typeName, string(v))
	}
	return fmt.Sprint(v)
}

// myText converts a value that arrived as text by its column type.
func myText(typeName, s string) any {
	base := strings.TrimPrefix(typeName, "UNSIGNED ")
	switch base {
	case "DECIMAL":
		return decimalValue(s)
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "YEAR":
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return intValue(n)
		}
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return uintValue(n)
		}
	case "FLOAT", "DOUBLE":
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return floatValue(f)
		}
	case "JSON":
		var out any
		if json.Unmarshal([]byte(s), &out) == nil {
			return out
		}
	}
	return s
}

// test connects once (no pool) and says which server and user answered.
func (m *MySQL) test(ctx context.Context, cred *node.Credential) (string, error) {
	c, what, err := m.connector(cred)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, min(m.cfg.Timeout, 15*time.Second))
	defer cancel()
	db := sql.OpenDB(c)
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)
	var version, user string
	var database sql.NullString
	if err := db.QueryRowContext(ctx, "select version(), current_user(), database()").Scan(&version, &user, &database); err != nil {
		if ctx.Err() != nil {
			return "", node.Errorf(CodeTimeout, "%s did not answer in time", what)
		}
		return "", myClassify(what, err)
	}
	product := "MySQL"
	if strings.Contains(strings.ToLower(version), "mariadb") {
		product = "MariaDB"
	}
	version, _, _ = strings.Cut(version, "-")
	msg := fmt.Sprintf("Connected to %s %s as %s", product, version, user)
	if database.Valid && database.String != "" {
		msg += " (database " + database.String + ")"
	}
	return msg, nil
}
