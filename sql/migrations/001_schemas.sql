-- The four layers, and the operational tables every part of the project shares.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS ops;

-- Anything from outside that we could not accept: kept as received, with the reason.
CREATE TABLE ops.dead_letters (
    id          bigserial PRIMARY KEY,
    source      text        NOT NULL,            -- e.g. 'tiktok_shop.orders', 'web.cart_events'
    reason      text        NOT NULL,
    payload     text        NOT NULL,            -- raw text: it may not even be JSON
    headers     jsonb,
    run_id      text,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_source_idx ON ops.dead_letters (source, received_at DESC);

-- One row per sync back to a vendor (activation).
CREATE TABLE ops.sync_history (
    id          bigserial PRIMARY KEY,
    destination text        NOT NULL,            -- 'klaviyo', 'customerio', ...
    sync        text        NOT NULL,            -- 'profiles', 'order_events', 'lists', ...
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text        NOT NULL DEFAULT 'running',  -- running | succeeded | failed
    sent        integer     NOT NULL DEFAULT 0,
    created     integer     NOT NULL DEFAULT 0,
    updated     integer     NOT NULL DEFAULT 0,
    skipped     integer     NOT NULL DEFAULT 0,
    failed      integer     NOT NULL DEFAULT 0,
    errors      jsonb       NOT NULL DEFAULT '[]'::jsonb,
    run_id      text
);
