-- Orders and their lines as Klaviyo saw them, parsed from Placed Order events (same partitioning).
CREATE TABLE raw.klaviyo_orders (
    event_id               text        PRIMARY KEY,  -- a re-sent order is a second event: keep both
    order_id               text        NOT NULL,
    profile_id             text,
    placed_at              timestamptz NOT NULL,
    value                  numeric     NOT NULL,
    currency               text        NOT NULL,
    subtotal               numeric,
    discount_code          text,
    discount_value         numeric     NOT NULL,
    shipping               numeric     NOT NULL,
    tax                    numeric     NOT NULL,
    source                 text,                 -- the storefront channel: website | tiktok_shop
    utm_source             text,
    utm_medium             text,
    utm_campaign           text,
    categories             text[]      NOT NULL,
    brands                 text[]      NOT NULL,
    item_count             integer     NOT NULL,
    attributed_campaign_id text,
    attributed_message_id  text,
    payload                jsonb       NOT NULL,
    partition_date         date        NOT NULL,
    _loaded_at             timestamptz NOT NULL DEFAULT now(),
    _run_id                text
);
CREATE INDEX klaviyo_orders_partition_idx ON raw.klaviyo_orders (partition_date);
CREATE INDEX klaviyo_orders_order_idx ON raw.klaviyo_orders (order_id);

CREATE TABLE raw.klaviyo_order_lines (
    event_id       text        NOT NULL,
    order_id       text        NOT NULL,
    line_number    integer     NOT NULL,
    product_id     text        NOT NULL,
    sku            text,
    product_name   text,
    quantity       integer     NOT NULL,
    item_price     numeric     NOT NULL,
    row_total      numeric     NOT NULL,
    discount       numeric     NOT NULL,
    categories     text[]      NOT NULL,
    brand          text,
    payload        jsonb       NOT NULL,
    partition_date date        NOT NULL,
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    _run_id        text,
    PRIMARY KEY (event_id, line_number)
);
CREATE INDEX klaviyo_order_lines_partition_idx ON raw.klaviyo_order_lines (partition_date);
