-- Core model and marts: the tables the sql/marts files fill, and the helpers they share.
-- Tables here have a fixed shape; the mart assets replace their rows inside one transaction.

-- Normalisers used by identity matching (and by anyone who needs the same rule).
CREATE FUNCTION core.norm_email(raw text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN lower(btrim(raw)) ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN lower(btrim(raw)) END
$$;

-- E.164: '+' then 8-15 digits. '00' prefix means international; 10 digits get the default country code;
-- 11 digits starting with the default country code get a '+'. Anything else is not a phone.
CREATE FUNCTION core.e164(raw text, default_cc text DEFAULT '1') RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH d AS (SELECT btrim(raw) AS t, regexp_replace(coalesce(raw, ''), '[^0-9]', '', 'g') AS digits)
    SELECT CASE
        WHEN d.t LIKE '+%' AND length(d.digits) BETWEEN 8 AND 15 THEN '+' || d.digits
        WHEN d.digits LIKE '00%' AND length(d.digits) BETWEEN 10 AND 17 THEN '+' || substr(d.digits, 3)
        WHEN length(d.digits) = 10 THEN '+' || default_cc || d.digits
        WHEN length(d.digits) = 10 + length(default_cc) AND d.digits LIKE default_cc || '%' THEN '+' || d.digits
    END
    FROM d
$$;

-- Marketing channel of a touch or an order: one grouping for every report.
CREATE FUNCTION core.channel_group(order_channel text, source text, medium text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN order_channel = 'tiktok_shop' THEN 'tiktok_shop'
        WHEN lower(medium) = 'email' OR lower(source) IN ('klaviyo', 'customerio') THEN 'email'
        WHEN lower(medium) IN ('cpc', 'ppc', 'paid', 'paidsearch', 'paid_search') THEN 'paid_search'
        WHEN lower(medium) IN ('social', 'paid_social', 'paidsocial') THEN 'social'
        WHEN lower(medium) = 'organic' THEN 'organic_search'
        WHEN lower(medium) = 'referral' THEN 'referral'
        WHEN source IS NULL OR source IN ('(direct)', '') THEN 'direct'
        ELSE 'other'
    END
$$;

-- The identity map: every key ever seen and the customer it belongs to. Rows are only ever added,
-- so a customer id never changes once given (see sql/marts/core_customers.sql for the rule).
CREATE TABLE core.customer_keys (
    key_type      text        NOT NULL,   -- email | phone | tiktok_user | website_customer | klaviyo_profile | customerio_person
    key_value     text        NOT NULL,
    customer_id   text        NOT NULL,
    first_seen_at timestamptz NOT NULL,
    added_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_type, key_value)
);
CREATE INDEX customer_keys_customer_idx ON core.customer_keys (customer_id);

CREATE TABLE core.customers (
    customer_id          text PRIMARY KEY,
    email                text,
    phone                text,
    tiktok_user_id       text,
    website_customer_id  text,
    klaviyo_profile_id   text,
    customerio_person_id text,
    accepts_marketing    boolean,
    subscribed_at        timestamptz,
    first_seen_at        timestamptz NOT NULL,
    sources              text[]      NOT NULL
);

CREATE TABLE core.orders (
    order_key        text PRIMARY KEY,       -- '<channel>:<source order id>'
    channel          text        NOT NULL,   -- tiktok_shop | website | klaviyo (an order only Klaviyo knows)
    source_order_id  text        NOT NULL,
    customer_id      text,
    email            text,
    ordered_at       timestamptz NOT NULL,
    order_date       date        NOT NULL,   -- brand-local day: the source partition
    status           text        NOT NULL,   -- the source's status, as sent
    is_cancelled     boolean     NOT NULL,
    is_refunded      boolean     NOT NULL,   -- fully refunded
    currency         text,
    gross_revenue    numeric     NOT NULL,   -- what the source charged (0 is never assumed for cancelled)
    refunded_amount  numeric     NOT NULL,
    net_revenue      numeric     NOT NULL,   -- 0 when cancelled; gross minus refunds otherwise
    discount_code    text,
    utm_source       text,
    utm_medium       text,
    utm_campaign     text,
    customer_order_number integer            -- 1 = first counted (not cancelled) order of the customer
);
CREATE INDEX orders_date_idx ON core.orders (order_date);
CREATE INDEX orders_customer_idx ON core.orders (customer_id, ordered_at);

CREATE TABLE core.order_lines (
    order_key     text    NOT NULL,
    line_id       text    NOT NULL,
    product_id    text,
    sku           text,
    product_name  text,
    quantity      integer NOT NULL,
    unit_price    numeric NOT NULL,
    discount      numeric NOT NULL,
    line_revenue  numeric NOT NULL,
    is_refunded   boolean NOT NULL,
    PRIMARY KEY (order_key, line_id)
);

-- Klaviyo and Customer.io in one shape.
CREATE TABLE core.email_events (
    platform      text        NOT NULL,    -- klaviyo | customerio
    event_id      text        NOT NULL,
    event_type    text        NOT NULL,    -- sent | delivered | open | click | unsubscribe | bounce | spam | conversion
    occurred_at   timestamptz NOT NULL,
    event_date    date        NOT NULL,
    customer_id   text,
    email         text,
    campaign_id   text,
    campaign_name text,
    flow_id       text,
    flow_name     text,
    PRIMARY KEY (platform, event_id)
);
CREATE INDEX email_events_customer_idx ON core.email_events (customer_id, occurred_at) WHERE event_type IN ('click', 'open');

CREATE TABLE core.sessions (
    session_date   date    NOT NULL,
    source         text    NOT NULL,
    medium         text    NOT NULL,
    campaign       text    NOT NULL DEFAULT '(not set)',
    sessions       bigint  NOT NULL,
    engaged_sessions bigint,
    add_to_carts   bigint,
    checkouts      bigint,
    purchases      bigint,
    revenue        numeric,
    PRIMARY KEY (session_date, source, medium, campaign)
);

CREATE TABLE core.content_daily (
    content_date  date   NOT NULL,
    video_id      text   NOT NULL,
    views         bigint NOT NULL,
    engagements   bigint NOT NULL,   -- likes + comments + shares
    shop_clicks   bigint NOT NULL,   -- product link clicks
    PRIMARY KEY (content_date, video_id)
);

-- Which source covered which day: the marts show gaps instead of silent zeros.
CREATE TABLE marts.source_coverage (
    source     text    NOT NULL,      -- tiktok_shop | website | klaviyo | customerio | ga4 | tiktok_content | carts
    day        date    NOT NULL,
    status     text    NOT NULL,      -- loaded | missing (day not loaded) | source_absent (no raw table yet)
    row_count  bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (source, day)
);

CREATE VIEW marts.source_freshness AS
SELECT source,
       max(day) FILTER (WHERE status = 'loaded')                          AS last_loaded_day,
       count(*) FILTER (WHERE status <> 'loaded' AND day >= current_date - 30) AS missing_days_30d,
       bool_or(status = 'source_absent')                                   AS source_absent
FROM marts.source_coverage
GROUP BY source;

-- RFM: (R, FM) -> name, FM = round((F + M) / 2). Editable; documented in sql/marts/rfm.sql.
CREATE TABLE marts.rfm_segment_map (
    r       smallint NOT NULL CHECK (r BETWEEN 1 AND 5),
    fm      smallint NOT NULL CHECK (fm BETWEEN 1 AND 5),
    segment text     NOT NULL,
    PRIMARY KEY (r, fm)
);
INSERT INTO marts.rfm_segment_map (r, fm, segment) VALUES
 (5,1,'New'),            (5,2,'Potential Loyalist'), (5,3,'Potential Loyalist'), (5,4,'Champions'),        (5,5,'Champions'),
 (4,1,'Promising'),      (4,2,'Potential Loyalist'), (4,3,'Loyal'),              (4,4,'Champions'),        (4,5,'Champions'),
 (3,1,'About to Sleep'), (3,2,'About to Sleep'),     (3,3,'Need Attention'),     (3,4,'Loyal'),            (3,5,'Loyal'),
 (2,1,'Hibernating'),    (2,2,'Hibernating'),        (2,3,'At Risk'),            (2,4,'At Risk'),          (2,5,'Cannot Lose Them'),
 (1,1,'Lost'),           (1,2,'Lost'),               (1,3,'At Risk'),            (1,4,'Cannot Lose Them'), (1,5,'Cannot Lose Them');

CREATE TABLE marts.rfm (
    as_of        date    NOT NULL,       -- month end (or today for the running month)
    customer_id  text    NOT NULL,
    recency_days integer NOT NULL,
    frequency    integer NOT NULL,
    monetary     numeric NOT NULL,
    r smallint NOT NULL, f smallint NOT NULL, m smallint NOT NULL,
    segment      text    NOT NULL,
    PRIMARY KEY (as_of, customer_id)
);

CREATE TABLE marts.customer_segments (
    as_of          date    NOT NULL,
    customer_id    text    NOT NULL,
    segment        text    NOT NULL,     -- the one primary segment (precedence in customer_segments.sql)
    is_new_subscriber boolean NOT NULL,
    is_new_customer   boolean NOT NULL,
    is_repeat      boolean NOT NULL,
    is_vip         boolean NOT NULL,
    lifecycle      text    NOT NULL,     -- prospect | active | at_risk | lapsed
    is_one_time_buyer boolean NOT NULL,
    orders         integer NOT NULL,
    revenue_365d   numeric NOT NULL,
    last_order_at  timestamptz,
    PRIMARY KEY (as_of, customer_id)
);

CREATE TABLE marts.cohorts (
    cohort_month    date    NOT NULL,
    months_since    integer NOT NULL,
    cohort_size     integer NOT NULL,
    active_customers integer NOT NULL,
    retention       numeric NOT NULL,
    revenue         numeric NOT NULL,
    cumulative_revenue_per_customer numeric NOT NULL,
    PRIMARY KEY (cohort_month, months_since)
);

CREATE TABLE marts.channel_daily (
    day                 date    NOT NULL,
    channel             text    NOT NULL,
    orders              integer NOT NULL,
    revenue             numeric NOT NULL,   -- net
    gross_revenue       numeric NOT NULL,
    refunds             numeric NOT NULL,
    cancelled_orders    integer NOT NULL,
    aov                 numeric,
    new_customers       integer NOT NULL,
    returning_customers integer NOT NULL,
    PRIMARY KEY (day, channel)
);

CREATE TABLE marts.email_daily (
    day          date    NOT NULL,
    platform     text    NOT NULL,
    sent         bigint  NOT NULL,
    delivered    bigint  NOT NULL,
    opens        bigint  NOT NULL,
    clicks       bigint  NOT NULL,
    unsubscribes bigint  NOT NULL,
    bounces      bigint  NOT NULL,
    recipients   bigint  NOT NULL,
    conversions  bigint  NOT NULL,      -- orders attributed (last touch) to this platform
    revenue      numeric NOT NULL,
    PRIMARY KEY (day, platform)
);

CREATE TABLE marts.funnel_daily (
    day        date    NOT NULL,
    channel    text    NOT NULL,        -- tiktok | website | all
    stage_no   integer NOT NULL,
    stage      text    NOT NULL,
    value      bigint,                  -- NULL: the source for this stage is absent or the day not loaded
    PRIMARY KEY (day, channel, stage_no)
);

CREATE TABLE marts.attribution (
    order_key            text PRIMARY KEY,
    order_date           date    NOT NULL,
    channel              text    NOT NULL,
    net_revenue          numeric NOT NULL,
    first_touch_at       timestamptz,
    first_touch_channel  text    NOT NULL,
    first_touch_source   text,
    first_touch_medium   text,
    first_touch_campaign text,
    first_touch_platform text,
    first_touch_flow     text,
    last_touch_at        timestamptz,
    last_touch_channel   text    NOT NULL,
    last_touch_source    text,
    last_touch_medium    text,
    last_touch_campaign  text,
    last_touch_platform  text,
    last_touch_flow      text
);
CREATE INDEX attribution_date_idx ON marts.attribution (order_date);
