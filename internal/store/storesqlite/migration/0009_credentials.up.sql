-- Credentials (ADR 0017). Their data is sealed with AES-256-GCM under a data key (key_id); the data
-- keys are kept in credential_keys wrapped (AES-256-GCM) under a key-encryption key derived from the
-- server secret (kek_id names which), so that the database alone yields no secret. A data key may be
-- wrapped under several key-encryption keys while the server secret changes. Times are Unix
-- microseconds.
CREATE TABLE credential_keys (
    id         TEXT    NOT NULL,
    kek_id     TEXT    NOT NULL,
    wrapped    BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (id, kek_id)
);
CREATE TABLE credentials (
    tenant_id  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    key_id     TEXT    NOT NULL,
    ciphertext BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX credentials_name ON credentials (tenant_id, name);
CREATE INDEX credentials_key ON credentials (key_id);
