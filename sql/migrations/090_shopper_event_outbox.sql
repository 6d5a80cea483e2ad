-- Shopper events forwarded to the brand's platforms (Klaviyo, Customer.io Pipelines), each once.
-- One row per (cart event, destination): pending -> claimed (before the send) -> sent | unknown
-- (the send may or may not have happened: never re-sent) | failed (refused) | skipped (consent).
CREATE TABLE ops.shopper_event_outbox (
    id           bigserial   PRIMARY KEY,
    event_id     text        NOT NULL REFERENCES ops.cart_events (event_id),
    destination  text        NOT NULL CHECK (destination IN ('klaviyo', 'customerio')),
    status       text        NOT NULL CHECK (status IN ('pending', 'claimed', 'sent', 'unknown', 'failed', 'skipped')),
    enqueued_at  timestamptz NOT NULL DEFAULT now(),
    claimed_at   timestamptz,
    sent_at      timestamptz,
    run_id       text,
    detail       text,
    UNIQUE (event_id, destination)
);
CREATE INDEX shopper_event_outbox_pending_idx ON ops.shopper_event_outbox (destination, id) WHERE status = 'pending';
CREATE INDEX cart_events_received_idx ON ops.cart_events (received_at);
