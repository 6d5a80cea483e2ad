-- Abandoned-cart recovery: carts folded from their events, the recovery outbox, links and clicks.

-- Every cart event as received; the event id makes a redelivery a no-op.
CREATE TABLE ops.cart_events (
    id          bigserial   PRIMARY KEY,
    event_id    text        NOT NULL UNIQUE,
    cart_id     text        NOT NULL,
    type        text        NOT NULL,
    source      text        NOT NULL,                 -- website | tiktok_shop
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    payload     jsonb       NOT NULL
);
CREATE INDEX cart_events_cart_idx ON ops.cart_events (cart_id, occurred_at, id);

-- A cart's state: the fold of its events in occurrence order (recomputed on every new event),
-- plus the recovery progress the sensor and the job keep (recovery_* columns, abandoned_at).
CREATE TABLE ops.carts (
    cart_id               text        PRIMARY KEY,
    channel               text        NOT NULL,       -- website | tiktok_shop
    email                 text,
    customer_id           text,
    currency              text        NOT NULL DEFAULT 'USD',
    item_count            integer     NOT NULL DEFAULT 0,
    subtotal              numeric     NOT NULL DEFAULT 0,
    product_url           text,                       -- where a TikTok Shop buyer goes back to
    created_at            timestamptz NOT NULL,
    last_activity_at      timestamptz NOT NULL,
    checkout_started_at   timestamptz,
    converted_at          timestamptz,
    order_id              text,
    order_total           numeric,
    abandoned_at          timestamptz,                -- idle since, when the first step was requested
    recovery_step         smallint    NOT NULL DEFAULT 0,  -- last step requested
    recovery_step_at      timestamptz,
    recovery_ended_at     timestamptz,
    recovery_exit_reason  text,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
-- The sensor's one query: per step, a range scan over idle open carts that can be emailed.
CREATE INDEX carts_recovery_due_idx ON ops.carts (recovery_step, last_activity_at)
    WHERE email IS NOT NULL AND item_count > 0 AND converted_at IS NULL AND recovery_ended_at IS NULL;
CREATE INDEX carts_email_idx ON ops.carts (email, converted_at);

CREATE TABLE ops.cart_items (
    cart_id     text     NOT NULL REFERENCES ops.carts ON DELETE CASCADE,
    sku_id      text     NOT NULL,
    product_id  text,
    name        text     NOT NULL,
    variant     text,
    image_url   text,
    product_url text,
    quantity    integer  NOT NULL CHECK (quantity > 0),
    unit_price  numeric  NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (cart_id, sku_id)
);

-- Exactly-once sending: one row per (cart, step). requested (sensor) -> claimed (job, before
-- the send) -> sent | unknown (the send may or may not have happened: flagged, never re-sent)
-- | failed (refused by SendGrid) | skipped (an exit rule held).
CREATE TABLE ops.recovery_outbox (
    id               bigserial   PRIMARY KEY,
    cart_id          text        NOT NULL,
    step             smallint    NOT NULL,
    email            text,
    status           text        NOT NULL CHECK (status IN ('requested', 'claimed', 'sent', 'unknown', 'failed', 'skipped')),
    requested_at     timestamptz,
    claimed_at       timestamptz,
    sent_at          timestamptz,
    run_id           text,
    message_id       text,
    discount_code    text        UNIQUE,
    discount_percent numeric,
    detail           text,
    UNIQUE (cart_id, step)
);
CREATE INDEX recovery_outbox_email_idx ON ops.recovery_outbox (email, claimed_at);
CREATE INDEX recovery_outbox_requested_idx ON ops.recovery_outbox (id) WHERE status = 'requested';

-- Link tokens: only a SHA-256 of the token is stored. kind: recover | unsubscribe.
CREATE TABLE ops.recovery_links (
    token_hash  text        PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('recover', 'unsubscribe')),
    cart_id     text        NOT NULL,
    step        smallint    NOT NULL,
    email       text        NOT NULL,
    target_url  text,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz                           -- null: never (unsubscribe links)
);
CREATE INDEX recovery_links_cart_idx ON ops.recovery_links (cart_id, step);

CREATE TABLE ops.recovery_clicks (
    id          bigserial   PRIMARY KEY,
    token_hash  text        NOT NULL,
    cart_id     text        NOT NULL,
    step        smallint    NOT NULL,
    clicked_at  timestamptz NOT NULL,
    user_agent  text
);
CREATE INDEX recovery_clicks_cart_idx ON ops.recovery_clicks (cart_id, clicked_at);
