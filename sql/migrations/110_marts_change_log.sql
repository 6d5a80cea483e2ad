-- Incremental marts: which raw days changed since each mart last ran, and the state a refresh keeps.
--
-- Triggers on the raw tables the core model reads write the partition days each statement touched
-- (inserted, updated or deleted rows) to marts.changed_days; a table without days, or a TRUNCATE,
-- writes 'infinity' (everything). The core builders write the days they changed too ('core.orders',
-- 'core.email_events', 'marts.attribution'), so the marts downstream rewrite only those days.
-- Each builder remembers the snapshot it last read the log under (marts.refresh_state): rows not
-- visible in it are the changes it has not seen, whatever order concurrent loads commit in.
CREATE TABLE marts.changed_days (
    tbl   text NOT NULL,                              -- schema.table
    day   date NOT NULL,                              -- 'infinity': the whole table
    xact  xid8 NOT NULL DEFAULT pg_current_xact_id()  -- who wrote it, compared with the readers' snapshots
);
CREATE INDEX changed_days_tbl_idx ON marts.changed_days (tbl);

CREATE TABLE marts.refresh_state (
    target   text PRIMARY KEY,     -- the builder (sql/marts target)
    snap     pg_snapshot NOT NULL, -- the log rows visible in it were handled
    xact     xid8 NOT NULL,        -- its own transaction: the rows it wrote itself were handled too
    settings text NOT NULL         -- marts settings and present sources: a change means a full rebuild
);

CREATE FUNCTION marts.log_new_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO marts.changed_days (tbl, day)
    SELECT DISTINCT TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, partition_date FROM new_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION marts.log_old_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO marts.changed_days (tbl, day)
    SELECT DISTINCT TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, partition_date FROM old_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION marts.log_both_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO marts.changed_days (tbl, day)
    SELECT TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, partition_date FROM new_rows
    UNION SELECT TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, partition_date FROM old_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION marts.log_whole_table() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO marts.changed_days (tbl, day) VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, 'infinity');
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['raw.tiktok_shop_orders', 'raw.tiktok_shop_order_lines', 'raw.website_orders',
                             'raw.website_order_lines', 'raw.customerio_deliveries', 'raw.klaviyo_events',
                             'raw.klaviyo_orders', 'raw.klaviyo_order_lines', 'raw.klaviyo_profiles'] LOOP
        EXECUTE format('CREATE TRIGGER marts_log_ins AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_new_days()', t);
        EXECUTE format('CREATE TRIGGER marts_log_upd AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows'
                       ' NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION marts.log_both_days()', t);
        EXECUTE format('CREATE TRIGGER marts_log_del AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_old_days()', t);
        EXECUTE format('CREATE TRIGGER marts_log_trunc AFTER TRUNCATE ON %s'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_whole_table()', t);
    END LOOP;
    -- Names of campaigns and flows: rare changes, every event may carry them.
    FOREACH t IN ARRAY ARRAY['raw.customerio_campaigns', 'raw.klaviyo_campaigns', 'raw.klaviyo_campaign_messages',
                             'raw.klaviyo_flows'] LOOP
        EXECUTE format('CREATE TRIGGER marts_log_all AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_whole_table()', t);
    END LOOP;
END $$;

-- The identity map is only appended to: anything else (a rebuild from scratch) changes whose orders
-- and events are whose, everywhere.
CREATE TRIGGER marts_log_rewrite AFTER UPDATE OR DELETE OR TRUNCATE ON core.customer_keys
    FOR EACH STATEMENT EXECUTE FUNCTION marts.log_whole_table();

-- A Customer.io delivery is looked up by id (its copies under other days, the later one wins).
CREATE INDEX customerio_deliveries_delivery_idx ON raw.customerio_deliveries (delivery_id, partition_date);

-- Every identity record as resolved, by the source day it came from: a refresh rewrites the
-- changed days' records and recomputes core.customers only for the customers they touch.
CREATE TABLE core.identity_records (
    source            text        NOT NULL,
    day               date        NOT NULL,
    record_id         text        NOT NULL,
    customer_id       text,
    seen_at           timestamptz NOT NULL,
    accepts_marketing boolean,
    subscribed_at     timestamptz
);
CREATE INDEX identity_records_day_idx ON core.identity_records (source, day);
CREATE INDEX identity_records_customer_idx ON core.identity_records (customer_id);

-- A refresh replaces every order only Klaviyo knows: found without reading the others.
CREATE INDEX orders_klaviyo_idx ON core.orders (order_key) WHERE channel = 'klaviyo';

-- The raw day an email event was read from, so a changed day's events can be replaced.
ALTER TABLE core.email_events ADD COLUMN source_date date;
CREATE INDEX email_events_source_date_idx ON core.email_events (platform, source_date);
CREATE INDEX email_events_date_idx ON core.email_events (event_date);

-- Counted orders per customer and month (with the customer's cohort month), and their sums per
-- cohort and month since: cohorts change by the delta of the customers whose orders changed, and
-- RFM reads each customer's months instead of every order.
CREATE TABLE core.customer_months (
    customer_id  text    NOT NULL,
    month        date    NOT NULL,
    cohort_month date    NOT NULL,
    orders       integer NOT NULL,
    revenue      numeric NOT NULL,
    last_day     date    NOT NULL,   -- the last order day in the month (RFM recency)
    PRIMARY KEY (customer_id, month)
);
CREATE TABLE core.cohort_activity (
    cohort_month     date    NOT NULL,
    months_since     integer NOT NULL,
    active_customers integer NOT NULL,
    revenue          numeric NOT NULL,
    PRIMARY KEY (cohort_month, months_since)
);
