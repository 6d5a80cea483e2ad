-- Campaigns and flows: the current state (upserted) and a daily snapshot (state as read on that day).
CREATE TABLE raw.klaviyo_campaigns (
    campaign_id    text        PRIMARY KEY,
    name           text        NOT NULL,
    status         text        NOT NULL,
    archived       boolean     NOT NULL,
    channel        text        NOT NULL,
    send_time      timestamptz,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    message_ids    text[]      NOT NULL,
    payload        jsonb       NOT NULL,
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    _run_id        text
);
CREATE TABLE raw.klaviyo_campaign_messages (
    message_id     text        PRIMARY KEY,
    campaign_id    text        NOT NULL,
    channel        text,
    label          text,
    subject        text,
    send_time      timestamptz,
    payload        jsonb       NOT NULL,
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    _run_id        text
);
CREATE TABLE raw.klaviyo_campaign_snapshots (
    partition_date date        NOT NULL,
    campaign_id    text        NOT NULL,
    name           text        NOT NULL,
    status         text        NOT NULL,
    send_time      timestamptz,
    updated_at     timestamptz NOT NULL,
    payload        jsonb       NOT NULL,       -- the campaign with its messages
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    _run_id        text,
    PRIMARY KEY (partition_date, campaign_id)
);

CREATE TABLE raw.klaviyo_flows (
    flow_id        text        PRIMARY KEY,
    name           text,
    status         text,
    archived       boolean,
    trigger_type   text,
    created_at     timestamptz,
    updated_at     timestamptz,
    payload        jsonb       NOT NULL,
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    _run_id        text
);
CREATE TABLE raw.klaviyo_flow_actions (
    action_id      text        PRIMARY KEY,
    flow_id        text        NOT NULL,
    action_type    text,
    status         text,
    payload        jsonb       NOT NULL,
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    _run_id        text
);
CREATE TABLE raw.klaviyo_flow_messages (
    message_id     text        PRIMARY KEY,
    action_id      text        NOT NULL,
    flow_id        text        NOT NULL,
    name           text,
    channel        text,
    payload        jsonb       NOT NULL,
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    _run_id        text
);
CREATE TABLE raw.klaviyo_flow_snapshots (
    partition_date date        NOT NULL,
    flow_id        text        NOT NULL,
    name           text,
    status         text,
    payload        jsonb       NOT NULL,       -- the flow with its actions and messages
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    _run_id        text,
    PRIMARY KEY (partition_date, flow_id)
);
