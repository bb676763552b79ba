-- Observability (ADR 0021): the W3C traceparent of the span that created an execution (an API
-- request, a parent execution's node), so that the worker that runs it, in whatever process,
-- continues that trace. Empty when tracing was off.
ALTER TABLE executions ADD COLUMN trace_parent TEXT;
