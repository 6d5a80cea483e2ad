-- Website (storefront) orders: pushed by the checkout intake or imported from CSV history.
-- Keyed on the storefront's order id; a re-import or a repeated push replaces the order and its lines.
-- partition_date: the brand-local day of created_at.
CREATE TABLE raw.website_orders (
    order_id          text        PRIMARY KEY,
    email             text        NOT NULL,
    created_at        timestamptz NOT NULL,
    currency          text        NOT NULL,
    subtotal          numeric     NOT NULL,
    discount          numeric     NOT NULL,
    shipping          numeric     NOT NULL,
    tax               numeric     NOT NULL,
    total             numeric     NOT NULL,
    discount_code     text,
    utm_source        text,
    utm_medium        text,
    utm_campaign      text,
    utm_content       text,
    utm_term          text,
    accepts_marketing boolean,                 -- null: the source did not say
    channel           text        NOT NULL DEFAULT 'website',
    line_count        integer     NOT NULL,
    source            text        NOT NULL,    -- 'checkout', 'csv:<file name>', ...
    payload           jsonb       NOT NULL,
    partition_date    date        NOT NULL,
    _loaded_at        timestamptz NOT NULL DEFAULT now(),
    _run_id           text
);
CREATE INDEX website_orders_partition_idx ON raw.website_orders (partition_date);

-- Every field of a line is a typed column; the order's payload keeps the order as received
-- (pushed orders) or where it came from (CSV: file and first line).
CREATE TABLE raw.website_order_lines (
    order_id       text        NOT NULL,
    line_number    integer     NOT NULL,       -- 1.. in the order's own line order
    sku            text        NOT NULL,
    product_id     text,
    product_name   text,
    variant        text,
    quantity       integer     NOT NULL CHECK (quantity > 0),
    unit_price     numeric     NOT NULL,
    discount       numeric     NOT NULL,
    image_url      text,
    currency       text        NOT NULL,
    partition_date date        NOT NULL,
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    _run_id        text,
    PRIMARY KEY (order_id, line_number)
);
CREATE INDEX website_order_lines_partition_idx ON raw.website_order_lines (partition_date);
