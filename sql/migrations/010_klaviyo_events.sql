-- Klaviyo metrics (reference) and events of the metrics the pipeline uses.
-- partition_date: the brand-local day of the event's own datetime.
CREATE TABLE raw.klaviyo_metrics (
    metric_id        text        PRIMARY KEY,
    name             text        NOT NULL,
    integration      text,
    created_at       timestamptz,
    updated_at       timestamptz,
    payload          jsonb       NOT NULL,
    _loaded_at       timestamptz NOT NULL DEFAULT now(),
    _run_id          text
);

CREATE TABLE raw.klaviyo_events (
    event_id                text        PRIMARY KEY,
    metric_id               text        NOT NULL,
    metric_name             text        NOT NULL,
    profile_id              text,
    occurred_at             timestamptz NOT NULL,
    value                   numeric,
    unique_key              text,              -- event_properties.$event_id
    message_id              text,              -- $message: the campaign/flow message an email event belongs to
    flow_id                 text,              -- $flow
    attributed_message_id   text,              -- $attribution.$message (conversions)
    attributed_campaign_id  text,
    attributed_flow_id      text,
    payload                 jsonb       NOT NULL,
    partition_date          date        NOT NULL,
    _loaded_at              timestamptz NOT NULL DEFAULT now(),
    _run_id                 text
);
CREATE INDEX klaviyo_events_partition_idx ON raw.klaviyo_events (partition_date, metric_name);
CREATE INDEX klaviyo_events_profile_idx ON raw.klaviyo_events (profile_id, occurred_at);
