-- ConcertMaster schema, SQLite dialect. Timestamps are Unix microseconds (INTEGER); JSON is TEXT.
CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO tenants (id, name, created_at) VALUES ('default', 'Default', 0);

CREATE TABLE workflows (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    id          TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL,
    node_count  INTEGER NOT NULL,
    definition  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX workflows_list ON workflows (tenant_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE workflow_versions (
    tenant_id   TEXT    NOT NULL,
    workflow_id TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    definition  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, workflow_id, version)
);

CREATE TABLE webhook_routes (
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    node_id     TEXT NOT NULL,
    respond     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    PRIMARY KEY (method, path)
);
CREATE INDEX webhook_routes_workflow ON webhook_routes (tenant_id, workflow_id);

CREATE TABLE executions (
    tenant_id        TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    workflow_id      TEXT    NOT NULL,
    workflow_version INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    trigger_kind     TEXT    NOT NULL,
    trigger_node     TEXT,
    input            TEXT,
    output           TEXT,
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
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX executions_idempotency ON executions (tenant_id, workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX executions_by_workflow ON executions (tenant_id, workflow_id, id);
CREATE INDEX executions_by_status ON executions (tenant_id, status, id);
CREATE INDEX executions_by_workflow_status ON executions (tenant_id, workflow_id, status, id);
CREATE INDEX executions_queue ON executions (id) WHERE status = 'queued';
CREATE INDEX executions_wake ON executions (wake_at) WHERE status = 'waiting';
CREATE INDEX executions_lease ON executions (lease_expires_at) WHERE status = 'running';

CREATE TABLE node_runs (
    tenant_id    TEXT    NOT NULL,
    execution_id TEXT    NOT NULL,
    node_id      TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    input        TEXT,
    input_from   TEXT,
    output       TEXT,
    port         TEXT,
    error        TEXT,
    logs         TEXT,
    started_at   INTEGER,
    finished_at  INTEGER,
    wake_at      INTEGER,
    PRIMARY KEY (tenant_id, execution_id, node_id, attempt)
);

CREATE TABLE events (
    tenant_id    TEXT    NOT NULL,
    execution_id TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    type         TEXT    NOT NULL,
    node_id      TEXT,
    attempt      INTEGER NOT NULL DEFAULT 0,
    time         INTEGER NOT NULL,
    data         TEXT,
    PRIMARY KEY (tenant_id, execution_id, seq)
);
