-- Sub-workflows: a child execution names the execution and flow.call node that started it, its key
-- among that node's children, and the workflow ids of its ancestors (cycle detection, depth).
ALTER TABLE executions ADD COLUMN parent_execution_id TEXT;
ALTER TABLE executions ADD COLUMN parent_node_id TEXT;
ALTER TABLE executions ADD COLUMN call_key TEXT;
ALTER TABLE executions ADD COLUMN call_path TEXT;
-- Set by a signal (an approval, a resume request, a child that finished) until the execution is
-- claimed again: a waiting execution becomes due at once, a running one as soon as it suspends.
ALTER TABLE executions ADD COLUMN wake_requested INTEGER NOT NULL DEFAULT 0;
CREATE INDEX executions_children ON executions (tenant_id, parent_execution_id, parent_node_id, created_at) WHERE parent_execution_id IS NOT NULL;

-- Signals delivered to waiting nodes (flow.wait approvals and resume requests): one per node.
CREATE TABLE signals (
    tenant_id    TEXT    NOT NULL,
    execution_id TEXT    NOT NULL,
    node_id      TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, execution_id, node_id)
);
