-- Staging for core.orders: each present source stages its orders in a table of its own,
-- stg_orders_<source> (core_orders_from_<source>.sql), with the keys needed to find the customer, and
-- writes their lines to core.order_lines directly (a line needs nothing resolved: it is written once,
-- not staged and copied). A storefront selects its orders by CREATE TABLE AS, which PostgreSQL can
-- run in parallel, with this table's columns in this order; Klaviyo's orders read the storefronts'
-- staged ones. They are all read as one view, stg_orders (marts.stage_view, migration 251).
CREATE TEMP TABLE stg_orders_shape (   -- no rows: the columns, and the view when no source is present
    -- (its NOT NULLs are checked where the rows land, in core.orders)

    channel         text        NOT NULL,
    source_order_id text        NOT NULL,
    email           text,
    phone           text,
    platform_type   text,
    platform_id     text,
    ordered_at      timestamptz NOT NULL,
    order_date      date        NOT NULL,
    status          text        NOT NULL,
    is_cancelled    boolean     NOT NULL,
    currency        text,
    gross_revenue   numeric     NOT NULL,
    refunded_amount numeric     NOT NULL,
    discount_code   text,
    utm_source      text,
    utm_medium      text,
    utm_campaign    text
) ON COMMIT DROP;

-- The orders of the changed days (scope_days: channel and day) are replaced, and the orders only
-- Klaviyo knows whose copies or storefront twins changed (core_orders_from_klaviyo.sql); a full
-- rebuild replaces all,
-- filling the tables without keys and indexes, built once afterwards (core_orders.sql): several
-- times faster than maintaining them row by row in a freshly emptied table.
CREATE TEMP TABLE orders_gone (order_key text, customer_id text, order_date date) ON COMMIT DROP;
DO $$
BEGIN
    IF current_setting('marts.incremental')::boolean THEN
        WITH gone AS (
            DELETE FROM core.orders o USING scope_days d
            WHERE o.order_date = d.day AND o.channel = d.key
            RETURNING o.order_key, o.customer_id, o.order_date
        )
        INSERT INTO orders_gone SELECT * FROM gone;
        DELETE FROM core.order_lines l USING orders_gone g WHERE l.order_key = g.order_key;
    ELSE
        TRUNCATE core.orders, core.order_lines;
        PERFORM marts.set_aside_indexes('core.orders');
        PERFORM marts.set_aside_indexes('core.order_lines');
    END IF;
END $$;
