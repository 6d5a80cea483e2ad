-- A body that cannot be stored verbatim (NUL bytes, invalid UTF-8) is stored escaped:
-- NUL as \x00, undecodable bytes as \xNN, backslashes doubled. This flag says which.
ALTER TABLE ops.dead_letters ADD COLUMN payload_escaped boolean NOT NULL DEFAULT false;
