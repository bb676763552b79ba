-- Plugins (ADR 0025): the plugin versions an execution runs on, as a JSON object from node type to
-- name@version#digest, recorded by its first run when its workflow uses plugin node types, so that
-- later runs (after a wait, on another worker) keep to the versions it started with. NULL otherwise.
ALTER TABLE executions ADD COLUMN plugin_versions TEXT;
