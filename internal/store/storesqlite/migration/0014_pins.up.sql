-- Pinned outputs (issue 13, ADR 0028): data the editor pins on a node, which test runs use instead of
-- running the node. They are kept apart from the workflow's definition and versions, and only test
-- runs read them: production runs never do. data is the pinned JSON value as text; port is the output
-- port it leaves by; updated_by is the actor who pinned it (a user id or apikey:<id>).
CREATE TABLE workflow_pins (
    tenant_id   TEXT    NOT NULL,
    workflow_id TEXT    NOT NULL,
    node_id     TEXT    NOT NULL,
    port        TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, workflow_id, node_id)
);
