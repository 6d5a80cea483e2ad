-- TikTok Shop shoppable-video analytics, one row per video and shop-local day (content_date =
-- partition_date). Counts are daily; saves is NULL when the API does not report it.
CREATE TABLE raw.tiktok_content_daily (
    video_id            text        NOT NULL,
    content_date        date        NOT NULL,
    username            text,
    title               text,
    video_post_time     timestamptz,
    views               bigint,
    likes               bigint,
    comments            bigint,
    shares              bigint,
    saves               bigint,
    new_followers       bigint,
    product_impressions bigint,
    product_clicks      bigint,
    click_through_rate  numeric,
    gmv                 numeric,
    currency            text,
    sku_orders          bigint,
    units_sold          bigint,
    customers           bigint,
    payload             jsonb       NOT NULL,
    partition_date      date        NOT NULL,
    _loaded_at          timestamptz NOT NULL DEFAULT now(),
    _run_id             text,
    PRIMARY KEY (partition_date, video_id)
);

-- The same numbers per posting account (the brand's own accounts and affiliates) and day.
CREATE TABLE raw.tiktok_content_account_daily (
    username            text        NOT NULL,
    content_date        date        NOT NULL,
    videos              integer     NOT NULL,
    views               bigint,
    likes               bigint,
    comments            bigint,
    shares              bigint,
    saves               bigint,
    new_followers       bigint,
    product_impressions bigint,
    product_clicks      bigint,
    gmv                 numeric,
    sku_orders          bigint,
    units_sold          bigint,
    partition_date      date        NOT NULL,
    _loaded_at          timestamptz NOT NULL DEFAULT now(),
    _run_id             text,
    PRIMARY KEY (partition_date, username)
);
