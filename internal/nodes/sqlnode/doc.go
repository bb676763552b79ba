// Package sqlnode implements the SQL node types: postgres.query and postgres.execute on pgx/v5, and
// mysql.query and mysql.execute on go-sql-driver/mysql, with credential testers for the postgres and
// mysql credential types.
//
// The two families share everything but the driver: the configuration (a credential, one statement
// with placeholders, its params, a timeout, maxRows or a batch), the conversion of rows to JSON, the
// bounds (maxRows, the run's output limit, the batch size) and the error codes. Statements take their
// values only through parameters: the query is a lazy key, so a {{ template }} in it reaches the node
// unevaluated, and the node refuses it.
//
// Each family keeps one pool per credential (keyed by id and fingerprint, so an updated credential
// gets a new pool) in a bounded conn.Cache, at most PoolConns connections each, every connection
// dialled through the deployment's netguard policy.
package sqlnode
