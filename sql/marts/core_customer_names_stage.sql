-- Staging for core.customer_names: the name on each order that gives one (per present source).
-- core.order_names keeps each named order with its customer: a refresh replaces the orders of the
-- days core.orders changed (scope_days; refresh_*_orders: their raw rows) and recomputes the names
-- of the customers those orders had before or have now; a full rebuild recomputes every name.
CREATE TEMP TABLE stg_customer_names (
    order_key  text        NOT NULL,
    first_name text,
    last_name  text
) ON COMMIT DROP;

CREATE TEMP TABLE names_customers (customer_id text) ON COMMIT DROP;
DO $$
BEGIN
    IF current_setting('marts.incremental')::boolean THEN
        -- the changed days are order days, not the raw rows' partition days: their website orders
        -- are found through core.orders, already refreshed, by order id (in the raw key's collation:
        -- compared as core's "C", the ids could not use that key, and every raw order was read)
        IF to_regclass('raw.website_orders') IS NOT NULL THEN
            CREATE OR REPLACE TEMP VIEW refresh_website_orders AS
            SELECT * FROM raw.website_orders
            WHERE order_id IN (SELECT source_order_id COLLATE "default" FROM core.orders
                               WHERE channel = 'website' AND order_date IN (SELECT day FROM scope_days));
        END IF;
        WITH gone AS (
            DELETE FROM core.order_names WHERE order_date IN (SELECT day FROM scope_days) RETURNING customer_id
        )
        INSERT INTO names_customers SELECT customer_id FROM gone;
    ELSE  -- filled without its indexes, built once afterwards (core_customer_names.sql)
        IF to_regclass('raw.website_orders') IS NOT NULL THEN
            CREATE OR REPLACE TEMP VIEW refresh_website_orders AS SELECT * FROM raw.website_orders;
        END IF;
        TRUNCATE core.order_names, core.customer_names;
        PERFORM marts.set_aside_indexes('core.order_names');
    END IF;
END $$;
