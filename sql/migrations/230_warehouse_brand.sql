-- Which brand this warehouse holds. Each brand keeps its data in a database of its own; the first
-- run that writes records the brand and every later one must match, so one brand's data never
-- lands in another's warehouse. A warehouse of a single-brand deployment holds brand 'default'
-- until the brands file's default brand claims it (it carries over, rows untouched).
CREATE TABLE IF NOT EXISTS ops.warehouse_brand (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    brand_id text NOT NULL CHECK (brand_id ~ '^[a-z][a-z0-9_]{0,39}$'),
    brand_name text NOT NULL DEFAULT '',
    recorded_at timestamptz NOT NULL DEFAULT now()
);
