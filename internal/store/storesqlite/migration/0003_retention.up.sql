-- Retention: each workflow's own rule (from settings.retention, written with every save), and the
-- finished executions of each workflow by finish time, for the pruner. The index is partial: an
-- execution enters it once, when it finishes, and the writes of running executions do not touch it.
-- retention_max_age is in microseconds.
ALTER TABLE workflows ADD COLUMN retention_max_age INTEGER;
ALTER TABLE workflows ADD COLUMN retention_max_executions INTEGER;
CREATE INDEX executions_finished ON executions (tenant_id, workflow_id, finished_at) WHERE finished_at IS NOT NULL;
