-- Workflow lists (issue 13): a workflow's tags, copied from its current definition as a JSON array of
-- strings so that the list can filter on them, and who saved each version (the principal's actor: a
-- user id or apikey:<id>; empty for versions saved before this migration or by the system).
ALTER TABLE workflows ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE workflow_versions ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
