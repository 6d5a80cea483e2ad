-- Campaign performance (values report, partitioned by the campaign's send day) and flow
-- performance per day (series report, daily interval).
CREATE TABLE raw.klaviyo_campaign_performance (
    partition_date       date        NOT NULL,
    campaign_id          text        NOT NULL,
    campaign_message_id  text        NOT NULL,
    send_channel         text        NOT NULL,
    recipients           integer,
    delivered            integer,
    opens                integer,
    opens_unique         integer,
    clicks               integer,
    clicks_unique        integer,
    bounced              integer,
    unsubscribes         integer,
    conversions          integer,
    conversion_value     numeric,
    payload              jsonb       NOT NULL,
    _loaded_at           timestamptz NOT NULL DEFAULT now(),
    _run_id              text,
    PRIMARY KEY (partition_date, campaign_id, campaign_message_id, send_channel)
);
CREATE TABLE raw.klaviyo_flow_performance (
    partition_date       date        NOT NULL,
    flow_id              text        NOT NULL,
    flow_message_id      text        NOT NULL,
    send_channel         text        NOT NULL,
    recipients           integer,
    delivered            integer,
    opens                integer,
    opens_unique         integer,
    clicks               integer,
    clicks_unique        integer,
    bounced              integer,
    unsubscribes         integer,
    conversions          integer,
    conversion_value     numeric,
    payload              jsonb       NOT NULL,
    _loaded_at           timestamptz NOT NULL DEFAULT now(),
    _run_id              text,
    PRIMARY KEY (partition_date, flow_id, flow_message_id, send_channel)
);

-- Every reporting call, kept outside the load transaction: the 225-per-day cap is account-wide,
-- so runs check the last 24 hours here before they call.
CREATE TABLE ops.klaviyo_report_calls (
    id        bigserial   PRIMARY KEY,
    report    text        NOT NULL,
    called_at timestamptz NOT NULL DEFAULT now(),
    run_id    text
);
CREATE INDEX klaviyo_report_calls_at_idx ON ops.klaviyo_report_calls (called_at);
