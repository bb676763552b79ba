-- Reads of big executions (ADR 0008): each input and output gets its size in bytes and, when it is over
-- 4 KiB, its head (the first 4,096 characters here; new rows keep the first 4,096 bytes), so that an
-- execution read never detoasts a payload. (PostgreSQL keeps large values out of line, so unlike SQLite
-- the order of the columns does not matter.)
ALTER TABLE executions ADD COLUMN input_bytes BIGINT, ADD COLUMN output_bytes BIGINT, ADD COLUMN input_head TEXT, ADD COLUMN output_head TEXT;
UPDATE executions SET input_bytes = octet_length(input::text), output_bytes = octet_length(output::text),
    input_head = CASE WHEN octet_length(input::text) > 4096 THEN substr(input::text, 1, 4096) END,
    output_head = CASE WHEN octet_length(output::text) > 4096 THEN substr(output::text, 1, 4096) END
    WHERE input IS NOT NULL OR output IS NOT NULL;

ALTER TABLE node_runs ADD COLUMN input_bytes BIGINT, ADD COLUMN output_bytes BIGINT, ADD COLUMN input_head TEXT, ADD COLUMN output_head TEXT;
UPDATE node_runs SET input_bytes = octet_length(input::text), output_bytes = octet_length(output::text),
    input_head = CASE WHEN octet_length(input::text) > 4096 THEN substr(input::text, 1, 4096) END,
    output_head = CASE WHEN octet_length(output::text) > 4096 THEN substr(output::text, 1, 4096) END
    WHERE input IS NOT NULL OR output IS NOT NULL;
