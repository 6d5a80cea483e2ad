-- Fingerprints of what each stored RFM snapshot was computed from, so a refresh keeps the
-- snapshots whose inputs did not change (closed months) and recomputes only the others.
CREATE TABLE marts.rfm_snapshots (
    as_of  date PRIMARY KEY,
    inputs text NOT NULL       -- counted orders up to as_of (count and hash) and the segment map
);
