-- Live replay (docs/live.md): a subscriber to a workflow's or a tenant's runs replays their
-- execution-level events from a point in time. The index is partial: it holds those events only
-- (a few per execution), in the order the replay reads them.
CREATE INDEX events_execution_level ON events (tenant_id, time, execution_id, seq) WHERE type LIKE 'execution.%';
