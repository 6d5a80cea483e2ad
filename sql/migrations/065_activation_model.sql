-- Activation reads the model: segment membership defined once (from marts.customer_segments),
-- customer names for profiles, and a ledger of consent pushed to each platform.

-- Every segment a customer belongs to on a snapshot day, one row each: the primary segment, every
-- flag and the lifecycle stage. 'customer' = at least one counted order. Klaviyo lists and
-- Customer.io attributes are configured by these names; nothing else defines membership.
CREATE VIEW marts.segment_members AS
SELECT DISTINCT s.as_of, s.customer_id, m.segment
FROM marts.customer_segments s
CROSS JOIN LATERAL (VALUES
    (s.segment),
    (CASE WHEN s.orders > 0 THEN 'customer' END),
    (CASE WHEN s.is_new_subscriber THEN 'new_subscriber' END),
    (CASE WHEN s.is_new_customer THEN 'new_customer' END),
    (CASE WHEN s.is_repeat THEN 'repeat' END),
    (CASE WHEN s.is_vip THEN 'vip' END),
    (CASE WHEN s.is_one_time_buyer THEN 'one_time_buyer' END),
    (s.lifecycle)
) AS m(segment)
WHERE m.segment IS NOT NULL;

-- The name each customer last gave on an order (filled by sql/marts/core_customer_names*.sql).
CREATE TABLE core.customer_names (
    customer_id text PRIMARY KEY,
    first_name  text,
    last_name   text
);

-- A suppression pushed to a platform: once per email and platform, whichever source it came from.
CREATE TABLE ops.consent_pushes (
    email     text        NOT NULL,
    platform  text        NOT NULL,   -- klaviyo | customerio | sendgrid
    reason    text        NOT NULL,   -- what was pushed: unsubscribed | gdpr
    sources   text[]      NOT NULL,   -- the ops.suppressions sources behind it
    pushed_at timestamptz NOT NULL DEFAULT now(),
    run_id    text,
    PRIMARY KEY (email, platform)
);

-- Customer.io person attributes last sent for the configured segments (only changes are sent).
CREATE TABLE ops.customerio_segment_attributes (
    email      text PRIMARY KEY,
    attributes jsonb       NOT NULL,
    synced_at  timestamptz NOT NULL DEFAULT now()
);
