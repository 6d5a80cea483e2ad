-- GA4 Data API daily reports. report_date is the property's calendar day (GA4 "date" dimension);
-- partition_date equals it. Metrics arrive as strings and are stored typed; the row as received
-- is kept in payload. is_other marks the row GA4 folds low-volume keys into ("(other)").
CREATE TABLE raw.ga4_traffic_daily (
    property_id           text        NOT NULL,
    report_date           date        NOT NULL,
    session_source        text        NOT NULL,
    session_medium        text        NOT NULL,
    session_campaign_name text        NOT NULL,
    sessions              bigint,
    total_users           bigint,
    new_users             bigint,
    engaged_sessions      bigint,
    key_events            numeric,
    add_to_carts          bigint,
    checkouts             bigint,
    ecommerce_purchases   bigint,
    purchase_revenue      numeric,
    is_other              boolean     NOT NULL,
    payload               jsonb       NOT NULL,
    partition_date        date        NOT NULL,
    _loaded_at            timestamptz NOT NULL DEFAULT now(),
    _run_id               text,
    PRIMARY KEY (partition_date, property_id, session_source, session_medium, session_campaign_name)
);

CREATE TABLE raw.ga4_landing_pages_daily (
    property_id           text        NOT NULL,
    report_date           date        NOT NULL,
    landing_page          text        NOT NULL,
    sessions              bigint,
    total_users           bigint,
    new_users             bigint,
    engaged_sessions      bigint,
    key_events            numeric,
    add_to_carts          bigint,
    checkouts             bigint,
    ecommerce_purchases   bigint,
    purchase_revenue      numeric,
    is_other              boolean     NOT NULL,
    payload               jsonb       NOT NULL,
    partition_date        date        NOT NULL,
    _loaded_at            timestamptz NOT NULL DEFAULT now(),
    _run_id               text,
    PRIMARY KEY (partition_date, property_id, landing_page)
);
