-- Schedules (trigger.schedule): one row per schedule trigger node of an active workflow, written in
-- the transaction that activates, deactivates, updates or deletes the workflow, like webhook_routes.
-- The scheduler fires the rows whose next_fire_at has come: it creates the run and moves next_fire_at
-- in one transaction, with a conditional update (WHERE next_fire_at = the value it read), so that a
-- fire time starts one run however many schedulers race for it. spec is the trigger's configuration
-- as the scheduler reads it (JSON); times are Unix microseconds.
CREATE TABLE schedules (
    tenant_id    TEXT    NOT NULL,
    workflow_id  TEXT    NOT NULL,
    node_id      TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    spec         TEXT    NOT NULL,
    next_fire_at INTEGER NOT NULL,
    last_fire_at INTEGER,
    PRIMARY KEY (tenant_id, workflow_id, node_id)
);
CREATE INDEX schedules_due ON schedules (next_fire_at);
