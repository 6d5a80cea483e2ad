-- Whether this warehouse holds generated sandbox data or a brand's real data. Recorded by the
-- first run that writes, and checked by every later one: the two never share a warehouse.
CREATE TABLE IF NOT EXISTS ops.warehouse_mode (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    sandbox boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
