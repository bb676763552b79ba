-- Retention (ADR 0011): each workflow's own rule, from settings.retention, written with every save (a
-- table of its own, so that no read of it touches a workflow's definition); and the finished
-- executions of each workflow by finish time, for the pruner. The index is partial: an execution
-- enters it once, when it finishes, and the writes of running executions do not touch it.
-- max_age is in microseconds.
CREATE TABLE workflow_retention (
    tenant_id      TEXT    NOT NULL,
    workflow_id    TEXT    NOT NULL,
    max_age        INTEGER,
    max_executions INTEGER,
    PRIMARY KEY (tenant_id, workflow_id)
);
CREATE INDEX executions_finished ON executions (tenant_id, workflow_id, finished_at) WHERE finished_at IS NOT NULL;
