-- Staging for core.customers: one row per source record that names a person.
-- Each present source stages its rows in a table of its own, stg_identities_<source>
-- (core_customers_from_<source>.sql), by CREATE TABLE AS, which PostgreSQL can run in parallel
-- (INSERT ... SELECT runs in one process), with this table's columns in this order; absent sources
-- stage none. core_customers.sql reads them all as one view, stg_identities (marts.stage_view).
-- Sources read refresh_<raw table>: the whole table, or its changed days (marketing_pipeline/marts/scope.py).
CREATE TEMP TABLE stg_identities_shape (   -- no rows: the columns, and the view when no source is present
    -- (its NOT NULLs are checked where the rows land, in core.identity_records)
    source            text        NOT NULL,
    record_id         text        NOT NULL,
    day               date        NOT NULL,  -- the source row's partition day
    email             text,                 -- core.norm_email
    phone             text,                 -- core.e164
    platform_type     text,                 -- tiktok_user | website_customer | klaviyo_profile | customerio_person
    platform_id       text,
    seen_at           timestamptz NOT NULL,
    accepts_marketing boolean,
    subscribed_at     timestamptz
) ON COMMIT DROP;
