-- Staging for core.orders / core.order_lines: each present source adds its orders and lines
-- (core_orders_from_<source>.sql) with the keys needed to find the customer.
CREATE TEMP TABLE stg_orders (
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

CREATE TEMP TABLE stg_order_lines (LIKE core.order_lines) ON COMMIT DROP;
