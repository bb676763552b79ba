-- Idempotent cancel: the Idempotency-Key of the first cancel request, so that repeating it answers
-- with the execution instead of a conflict once it has finished.
ALTER TABLE executions ADD COLUMN cancel_key TEXT;

-- An execution is retried at most once: the retry of an execution is found by retry_of.
CREATE INDEX executions_retry_of ON executions (tenant_id, retry_of) WHERE retry_of IS NOT NULL;
