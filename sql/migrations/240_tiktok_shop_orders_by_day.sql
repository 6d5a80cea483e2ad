-- The TikTok Shop order tables, partitioned by day: raw.tiktok_shop_orders_dYYYYMMDD holds one
-- partition_date. Replacing a day is then a TRUNCATE of its partition and a COPY into an empty one
-- (marketing_pipeline/warehouse/loader.py), instead of a DELETE whose dead rows every COPYed row's
-- unique-index insert had to visit. The loader creates a day's partition when it first loads it.
--
-- The keys include partition_date, as a partitioned table's keys must. That changes no answer: a
-- row's partition_date is the day it was fetched for, and an order is fetched for its creation day
-- (brand-local) only, the day-of-creation search and the order-changes sensor alike, so an order id
-- is on one day and a line item id on one day of its order.
--
-- A DEFAULT partition keeps rows of days without a partition of their own (hand-written INSERTs:
-- tests, bench/marts_data.sql, sandbox code); the loader takes a day's rows out of it when it
-- creates that day's partition. Its partition_date index finds them; the day partitions need none
-- (a query by day reads only that day's partition).
--
-- The change-log triggers stay on the parents: statement triggers of a partitioned table fire for
-- statements through it. A TRUNCATE of one partition fires none, so the loader logs those days itself.
-- Existing rows move over: one partition per day they are on.

ALTER TABLE raw.tiktok_shop_orders RENAME TO tiktok_shop_orders_unpartitioned;
ALTER TABLE raw.tiktok_shop_orders_unpartitioned RENAME CONSTRAINT tiktok_shop_orders_pkey
    TO tiktok_shop_orders_unpartitioned_pkey;
CREATE TABLE raw.tiktok_shop_orders (
    LIKE raw.tiktok_shop_orders_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS
        INCLUDING STORAGE INCLUDING COMPRESSION,
    PRIMARY KEY (order_id, partition_date)
) PARTITION BY RANGE (partition_date);

ALTER TABLE raw.tiktok_shop_order_lines RENAME TO tiktok_shop_order_lines_unpartitioned;
ALTER TABLE raw.tiktok_shop_order_lines_unpartitioned RENAME CONSTRAINT tiktok_shop_order_lines_pkey
    TO tiktok_shop_order_lines_unpartitioned_pkey;
CREATE TABLE raw.tiktok_shop_order_lines (
    LIKE raw.tiktok_shop_order_lines_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS
        INCLUDING STORAGE INCLUDING COMPRESSION,
    PRIMARY KEY (order_id, line_item_id, partition_date)
) PARTITION BY RANGE (partition_date);

DO $$
DECLARE
    t text;
    d date;
BEGIN
    FOREACH t IN ARRAY ARRAY['tiktok_shop_orders', 'tiktok_shop_order_lines'] LOOP
        EXECUTE format('CREATE TABLE raw.%I PARTITION OF raw.%I DEFAULT', t || '_default', t);
        EXECUTE format('CREATE INDEX %I ON raw.%I (partition_date)', t || '_default_day_idx', t || '_default');
        FOR d IN EXECUTE format('SELECT DISTINCT partition_date FROM raw.%I ORDER BY 1', t || '_unpartitioned') LOOP
            EXECUTE format('CREATE TABLE raw.%I PARTITION OF raw.%I FOR VALUES FROM (%L) TO (%L)',
                           t || '_d' || to_char(d, 'YYYYMMDD'), t, d, d + 1);
        END LOOP;
        EXECUTE format('INSERT INTO raw.%I SELECT * FROM raw.%I', t, t || '_unpartitioned');
        EXECUTE format('DROP TABLE raw.%I', t || '_unpartitioned');
        -- The triggers of migrations 110 and 220, as they were.
        EXECUTE format('CREATE TRIGGER marts_log_whole AFTER INSERT OR UPDATE OR DELETE ON raw.%I FOR EACH STATEMENT'
                       ' WHEN (current_setting(''marts.days_logged'', true) IS DISTINCT FROM ''on'')'
                       ' EXECUTE FUNCTION marts.log_whole_table()', t);
        EXECUTE format('CREATE TRIGGER marts_log_trunc AFTER TRUNCATE ON raw.%I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_whole_table()', t);
    END LOOP;
END $$;

-- Autovacuum analyzes the partitions, never a partitioned table: the planner's statistics of the
-- whole table (joins over every day) come from an ANALYZE of the parent.
ANALYZE raw.tiktok_shop_orders, raw.tiktok_shop_order_lines;
