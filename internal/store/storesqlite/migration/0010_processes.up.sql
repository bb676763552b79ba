-- Running server processes (ADR 0018): each refreshes its row every few seconds, so that an API
-- process starting without Redis can see that another one is already serving and refuse to start. A
-- SQLite database belongs to one process, so the table stays small; it exists so that both stores
-- pass one suite. Times are Unix microseconds.
CREATE TABLE processes (
    id           TEXT    NOT NULL PRIMARY KEY,
    role         TEXT    NOT NULL,
    redis        INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
