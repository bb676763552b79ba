-- Reads of big executions (ADR 0008). SQLite stores a row's columns in order, and a value larger than
-- a page continues in a chain of overflow pages: reading any column after it walks the whole chain, so
-- a list of executions or a node run's status read every page of every payload before them. Payloads
-- (inputs, outputs, definitions) move to the end of their rows, and each input and output gets its size
-- in bytes and, when it is over 4 KiB, its head (the first 4,096 characters here; new rows keep the
-- first 4,096 bytes), so that an execution read touches no payload page at all.

CREATE TABLE workflows_new (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    id          TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL,
    node_count  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER,
    definition  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO workflows_new (tenant_id, id, name, description, active, version, node_count, created_at, updated_at, deleted_at, definition)
    SELECT tenant_id, id, name, description, active, version, node_count, created_at, updated_at, deleted_at, definition FROM workflows;
DROP TABLE workflows;
ALTER TABLE workflows_new RENAME TO workflows;
CREATE INDEX workflows_list ON workflows (tenant_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE workflow_versions_new (
    tenant_id   TEXT    NOT NULL,
    workflow_id TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    definition  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, workflow_id, version)
);
INSERT INTO workflow_versions_new (tenant_id, workflow_id, version, created_at, definition)
    SELECT tenant_id, workflow_id, version, created_at, definition FROM workflow_versions;
DROP TABLE workflow_versions;
ALTER TABLE workflow_versions_new RENAME TO workflow_versions;

CREATE TABLE executions_new (
    tenant_id        TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    workflow_id      TEXT    NOT NULL,
    workflow_version INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    trigger_kind     TEXT    NOT NULL,
    trigger_node     TEXT,
    error            TEXT,
    idempotency_key  TEXT,
    request_hash     TEXT,
    retry_of         TEXT,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    wake_at          INTEGER,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    cancel_key       TEXT,
    input_bytes      INTEGER,
    output_bytes     INTEGER,
    input_head       TEXT,
    output_head      TEXT,
    input            TEXT,
    output           TEXT,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO executions_new (tenant_id, id, workflow_id, workflow_version, status, trigger_kind, trigger_node, error, idempotency_key,
        request_hash, retry_of, created_at, started_at, finished_at, wake_at, lease_owner, lease_expires_at, cancel_requested, cancel_key,
        input_bytes, output_bytes, input_head, output_head, input, output)
    SELECT tenant_id, id, workflow_id, workflow_version, status, trigger_kind, trigger_node, error, idempotency_key,
        request_hash, retry_of, created_at, started_at, finished_at, wake_at, lease_owner, lease_expires_at, cancel_requested, cancel_key,
        octet_length(input), octet_length(output),
        CASE WHEN octet_length(input) > 4096 THEN substr(input, 1, 4096) END,
        CASE WHEN octet_length(output) > 4096 THEN substr(output, 1, 4096) END,
        input, output
    FROM executions;
DROP TABLE executions;
ALTER TABLE executions_new RENAME TO executions;
CREATE UNIQUE INDEX executions_idempotency ON executions (tenant_id, workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX executions_by_workflow ON executions (tenant_id, workflow_id, id);
CREATE INDEX executions_by_status ON executions (tenant_id, status, id);
CREATE INDEX executions_by_workflow_status ON executions (tenant_id, workflow_id, status, id);
CREATE INDEX executions_queue ON executions (id) WHERE status = 'queued';
CREATE INDEX executions_wake ON executions (wake_at) WHERE status = 'waiting';
CREATE INDEX executions_lease ON executions (lease_expires_at) WHERE status = 'running';
CREATE INDEX executions_retry_of ON executions (tenant_id, retry_of) WHERE retry_of IS NOT NULL;

CREATE TABLE node_runs_new (
    tenant_id    TEXT    NOT NULL,
    execution_id TEXT    NOT NULL,
    node_id      TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    input_from   TEXT,
    port         TEXT,
    started_at   INTEGER,
    finished_at  INTEGER,
    wake_at      INTEGER,
    input_bytes  INTEGER,
    output_bytes INTEGER,
    input_head   TEXT,
    output_head  TEXT,
    error        TEXT,
    logs         TEXT,
    input        TEXT,
    output       TEXT,
    PRIMARY KEY (tenant_id, execution_id, node_id, attempt)
);
INSERT INTO node_runs_new (tenant_id, execution_id, node_id, attempt, status, input_from, port, started_at, finished_at, wake_at,
        input_bytes, output_bytes, input_head, output_head, error, logs, input, output)
    SELECT tenant_id, execution_id, node_id, attempt, status, input_from, port, started_at, finished_at, wake_at,
        octet_length(input), octet_length(output),
        CASE WHEN octet_length(input) > 4096 THEN substr(input, 1, 4096) END,
        CASE WHEN octet_length(output) > 4096 THEN substr(output, 1, 4096) END,
        error, logs, input, output
    FROM node_runs;
DROP TABLE node_runs;
ALTER TABLE node_runs_new RENAME TO node_runs;
