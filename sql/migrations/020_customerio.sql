-- Customer.io: campaign catalog and daily metrics, message deliveries, reporting-webhook events,
-- and the activation ledger that keeps an order event from being sent twice.

-- Campaigns, newsletters and API-triggered broadcasts as last listed (mutable: upserted).
CREATE TABLE raw.customerio_campaigns (
    kind        text        NOT NULL,             -- campaign | newsletter | broadcast
    object_id   bigint      NOT NULL,
    name        text,
    state       text,
    created_at  timestamptz,
    updated_at  timestamptz,
    payload     jsonb       NOT NULL,
    _loaded_at  timestamptz NOT NULL DEFAULT now(),
    _run_id     text,
    PRIMARY KEY (kind, object_id)
);

-- One row per (object, brand-local day) with that day's counts from the metrics series.
CREATE TABLE raw.customerio_campaign_metrics (
    kind           text    NOT NULL,
    object_id      bigint  NOT NULL,
    partition_date date    NOT NULL,
    sent           integer NOT NULL DEFAULT 0,
    delivered      integer NOT NULL DEFAULT 0,
    opened         integer NOT NULL DEFAULT 0,
    clicked        integer NOT NULL DEFAULT 0,
    converted      integer NOT NULL DEFAULT 0,
    bounced        integer NOT NULL DEFAULT 0,
    spammed        integer NOT NULL DEFAULT 0,
    unsubscribed   integer NOT NULL DEFAULT 0,
    failed         integer NOT NULL DEFAULT 0,
    payload        jsonb   NOT NULL,              -- every series value for the day, as sent
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    _run_id        text,
    PRIMARY KEY (partition_date, kind, object_id)
);

-- Message deliveries (GET /v1/messages), by the brand-local day they were created.
CREATE TABLE raw.customerio_deliveries (
    delivery_id     text        NOT NULL,
    customer_id     text,
    email           text,
    recipient       text,
    subject         text,
    type            text,
    state           text        NOT NULL,         -- the furthest metric the delivery reached
    campaign_id     bigint,
    newsletter_id   bigint,
    broadcast_id    bigint,
    action_id       bigint,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    delivered_at    timestamptz,
    opened_at       timestamptz,
    clicked_at      timestamptz,
    converted_at    timestamptz,
    bounced_at      timestamptz,
    spammed_at      timestamptz,
    unsubscribed_at timestamptz,
    failure_message text,
    payload         jsonb       NOT NULL,
    partition_date  date        NOT NULL,
    _loaded_at      timestamptz NOT NULL DEFAULT now(),
    _run_id         text,
    PRIMARY KEY (partition_date, delivery_id)
);
CREATE INDEX customerio_deliveries_email_idx ON raw.customerio_deliveries (email);

-- Reporting-webhook events, stored once per event_id whatever the retries.
CREATE TABLE raw.customerio_webhook_events (
    event_id      text        PRIMARY KEY,
    object_type   text        NOT NULL,
    metric        text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    delivery_id   text,
    customer_id   text,
    email         text,
    campaign_id   bigint,
    newsletter_id bigint,
    broadcast_id  bigint,
    payload       jsonb       NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customerio_webhook_events_occurred_idx ON raw.customerio_webhook_events (occurred_at);

-- Refused webhook calls per day and reason (bad signature, stale timestamp, malformed body).
CREATE TABLE ops.customerio_webhook_counters (
    day     date   NOT NULL,
    counter text   NOT NULL,
    count   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, counter)
);

-- Track API events already accepted: a replayed sync skips them (Customer.io also de-duplicates by id).
CREATE TABLE ops.customerio_sent_events (
    event_id    text        PRIMARY KEY,          -- the ULID sent as the event id
    order_id    text        NOT NULL,
    customer_id text        NOT NULL,
    name        text        NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    run_id      text
);
