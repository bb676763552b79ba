-- Running server processes (ADR 0018): each refreshes its row every few seconds by the database's
-- clock, so that an API process starting without Redis can see that another one is already serving
-- and refuse to start. Rows of processes that stopped refreshing are deleted by the next heartbeat.
CREATE TABLE processes (
    id           TEXT        NOT NULL PRIMARY KEY,
    role         TEXT        NOT NULL,
    redis        BOOLEAN     NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL
);
