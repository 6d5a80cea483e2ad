-- TikTok Shop orders as the Partner API returns them (Order Search 202309).
-- partition_date: the brand-local day of create_time. Money is exact numeric.
CREATE TABLE raw.tiktok_shop_orders (
    order_id          text        PRIMARY KEY,
    status            text        NOT NULL,
    buyer_user_id     text        NOT NULL,
    buyer_email       text,
    currency          text        NOT NULL,
    sub_total         numeric,
    shipping_fee      numeric     NOT NULL,
    seller_discount   numeric     NOT NULL,
    platform_discount numeric     NOT NULL,
    tax               numeric     NOT NULL,
    total_amount      numeric     NOT NULL,
    line_count        integer     NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    paid_at           timestamptz,
    payload           jsonb       NOT NULL,
    partition_date    date        NOT NULL,
    _loaded_at        timestamptz NOT NULL DEFAULT now(),
    _run_id           text
);
CREATE INDEX tiktok_shop_orders_partition_idx ON raw.tiktok_shop_orders (partition_date);

-- One row per line item; TikTok lists one line item per unit sold.
CREATE TABLE raw.tiktok_shop_order_lines (
    order_id          text        NOT NULL,
    line_item_id      text        NOT NULL,
    sku_id            text        NOT NULL,
    product_id        text        NOT NULL,
    product_name      text,
    sku_name          text,
    seller_sku        text,
    sku_image         text,
    sale_price        numeric     NOT NULL,
    original_price    numeric     NOT NULL,
    seller_discount   numeric     NOT NULL,
    platform_discount numeric     NOT NULL,
    currency          text,
    display_status    text,
    payload           jsonb       NOT NULL,
    partition_date    date        NOT NULL,
    _loaded_at        timestamptz NOT NULL DEFAULT now(),
    _run_id           text,
    PRIMARY KEY (order_id, line_item_id)
);
CREATE INDEX tiktok_shop_order_lines_partition_idx ON raw.tiktok_shop_order_lines (partition_date);
