-- marts.customer_segments keeps a customer's row once per stretch of days over which it does not
-- change, instead of once per customer and day: a new day writes the few thousand customers whose
-- segment, flags, orders or 365-day revenue moved, not all of them. marts.customer_segments becomes
-- a view with the same columns and one row per person and snapshot day, so readers are unchanged.
--
-- marts.customer_segment_days: the days whose snapshot was written (the asset's partitions).
-- marts.customer_segment_spans: a row holds for the written days in [valid_from, valid_to); the
--   rows of the latest written day end at 'infinity', and a later day closes those that change.
-- marts.customer_segment_touched, marts.customer_segment_state: the customers whose inputs were
--   written since, and the settings and prediction fit the latest day's rows were computed with,
--   so the next day recomputes only those customers and the ones whose row moves with the date
--   (sql/marts/customer_segments.sql).
-- The snapshots written so far are kept: each day's rows are folded into spans.
CREATE TABLE marts.customer_segment_days (
    as_of date PRIMARY KEY
);

CREATE TABLE marts.customer_segment_spans (
    customer_id       text    NOT NULL,
    valid_from        date    NOT NULL,
    valid_to          date    NOT NULL DEFAULT 'infinity',   -- exclusive
    segment           text    NOT NULL,
    is_new_subscriber boolean NOT NULL,
    is_new_customer   boolean NOT NULL,
    is_repeat         boolean NOT NULL,
    is_vip            boolean NOT NULL,
    lifecycle         text    NOT NULL,
    is_one_time_buyer boolean NOT NULL,
    orders            integer NOT NULL,
    revenue_365d      numeric NOT NULL,
    last_order_at     timestamptz,
    likely_to_churn   boolean NOT NULL,
    high_predicted_value boolean NOT NULL,
    PRIMARY KEY (customer_id, valid_from),
    CHECK (valid_from < valid_to)
);
-- A day's rows: the spans that end after it (few but the open ones for a recent day).
CREATE INDEX customer_segment_spans_day_idx ON marts.customer_segment_spans (valid_to, valid_from);
-- The open span of each customer, which a new day compares with.
CREATE UNIQUE INDEX customer_segment_spans_open_idx ON marts.customer_segment_spans (customer_id)
    WHERE valid_to = 'infinity';

-- The customers whose core.customers or core.customer_totals rows were written since the segments
-- last read them (statement triggers below); NULL: every customer (a table emptied).
CREATE TABLE marts.customer_segment_touched (
    id          bigserial PRIMARY KEY,
    customer_id text
);
CREATE INDEX customer_segment_touched_all_idx ON marts.customer_segment_touched (id) WHERE customer_id IS NULL;

CREATE TABLE marts.customer_segment_state (
    one_row   boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    as_of     date NOT NULL,      -- the written day the inputs were taken for (the latest one)
    settings  text NOT NULL,      -- the MARTS_* settings the rows were computed with
    fit       text                -- the prediction fit the latest day's flags came from
);

INSERT INTO marts.customer_segment_days SELECT DISTINCT as_of FROM marts.customer_segments;

-- Runs of consecutive written days with the same row become one span; the latest day's stay open.
WITH d AS (
    SELECT as_of, row_number() OVER (ORDER BY as_of) AS n, lead(as_of) OVER (ORDER BY as_of) AS next
    FROM marts.customer_segment_days
), r AS (
    SELECT s.*, d.n, d.next,
           d.n - row_number() OVER (PARTITION BY s.customer_id, s.segment, s.is_new_subscriber,
               s.is_new_customer, s.is_repeat, s.is_vip, s.lifecycle, s.is_one_time_buyer, s.orders,
               s.revenue_365d, s.last_order_at, s.likely_to_churn, s.high_predicted_value
               ORDER BY s.as_of) AS run
    FROM marts.customer_segments s JOIN d USING (as_of)
)
INSERT INTO marts.customer_segment_spans
SELECT customer_id, min(as_of),
       CASE WHEN bool_or(next IS NULL) THEN 'infinity'
            ELSE (max(as_of) + 1) END,   -- a gap (a day not written) ends the span too
       segment, is_new_subscriber, is_new_customer, is_repeat, is_vip, lifecycle, is_one_time_buyer,
       orders, revenue_365d, last_order_at, likely_to_churn, high_predicted_value
FROM r
GROUP BY customer_id, run, segment, is_new_subscriber, is_new_customer, is_repeat, is_vip, lifecycle,
         is_one_time_buyer, orders, revenue_365d, last_order_at, likely_to_churn, high_predicted_value;

DROP VIEW marts.segment_members;
DROP TABLE marts.customer_segments;

-- One row per person and written day, as the table had.
CREATE VIEW marts.customer_segments AS
SELECT d.as_of, s.customer_id, s.segment, s.is_new_subscriber, s.is_new_customer, s.is_repeat, s.is_vip,
       s.lifecycle, s.is_one_time_buyer, s.orders, s.revenue_365d, s.last_order_at, s.likely_to_churn,
       s.high_predicted_value
FROM marts.customer_segment_days d
JOIN marts.customer_segment_spans s ON s.valid_from <= d.as_of AND s.valid_to > d.as_of;

-- As in migration 120.
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
    (s.lifecycle),
    (CASE WHEN s.likely_to_churn THEN 'likely_to_churn' END),
    (CASE WHEN s.high_predicted_value THEN 'high_predicted_value' END)
) AS m(segment)
WHERE m.segment IS NOT NULL;

-- What a day's rows depend on besides the customers' own inputs: the settings
-- (sql/marts/customer_segments.sql) and the prediction fit in force on the day (each rewrite of a
-- fit is a new row version).
CREATE FUNCTION marts.segment_settings() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT concat_ws('|', current_setting('marts.tz'), current_setting('marts.new_days'),
                     current_setting('marts.active_days'), current_setting('marts.lapsed_days'),
                     current_setting('marts.vip_min_orders'), current_setting('marts.vip_min_revenue'))
$$;

CREATE FUNCTION marts.segment_fit(day date) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT f.as_of || '|' || f.fitted_at || '|' || f.xmin
    FROM marts.customer_prediction_fits f
    WHERE f.fit_ok AND f.as_of <= day
    ORDER BY f.as_of DESC LIMIT 1
$$;

-- Joins each span ending on the day with the customer's span starting on it when their rows are
-- equal (after a rewrite of some days, at either end of them).
CREATE FUNCTION marts.join_segment_spans(day date) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS segment_joined (customer_id text, valid_to date) ON COMMIT DROP;
    TRUNCATE segment_joined;
    WITH later AS (   -- deleted first: the joined span may become the open one
        DELETE FROM marts.customer_segment_spans b
        USING marts.customer_segment_spans a
        WHERE a.valid_to = day AND b.valid_from = day AND b.customer_id = a.customer_id
          AND (a.segment, a.is_new_subscriber, a.is_new_customer, a.is_repeat, a.is_vip, a.lifecycle,
               a.is_one_time_buyer, a.orders, a.revenue_365d, a.last_order_at, a.likely_to_churn,
               a.high_predicted_value)
              IS NOT DISTINCT FROM
              (b.segment, b.is_new_subscriber, b.is_new_customer, b.is_repeat, b.is_vip, b.lifecycle,
               b.is_one_time_buyer, b.orders, b.revenue_365d, b.last_order_at, b.likely_to_churn,
               b.high_predicted_value)
        RETURNING b.customer_id, b.valid_to
    )
    INSERT INTO segment_joined SELECT * FROM later;
    ANALYZE segment_joined;
    UPDATE marts.customer_segment_spans s SET valid_to = j.valid_to
    FROM segment_joined j
    WHERE s.customer_id = j.customer_id AND s.valid_to = day;
END $$;

CREATE FUNCTION marts.log_segment_customers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO marts.customer_segment_touched (customer_id) VALUES (NULL);
    ELSIF EXISTS (SELECT 1 FROM marts.customer_segment_touched WHERE customer_id IS NULL) THEN
        NULL;  -- every customer is recomputed anyway (a full rebuild)
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO marts.customer_segment_touched (customer_id) SELECT DISTINCT customer_id FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO marts.customer_segment_touched (customer_id) SELECT DISTINCT customer_id FROM old_rows;
    ELSE
        INSERT INTO marts.customer_segment_touched (customer_id)
        SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows;
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'customer_totals'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_segments_ins AFTER INSERT ON core.%1$s REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_segment_customers()', t);
        EXECUTE format('CREATE TRIGGER %1$s_segments_del AFTER DELETE ON core.%1$s REFERENCING OLD TABLE AS old_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_segment_customers()', t);
        EXECUTE format('CREATE TRIGGER %1$s_segments_upd AFTER UPDATE ON core.%1$s'
                       ' REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_segment_customers()', t);
        EXECUTE format('CREATE TRIGGER %1$s_segments_trunc AFTER TRUNCATE ON core.%1$s'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION marts.log_segment_customers()', t);
    END LOOP;
END $$;

-- What the date alone moves, found by index: last and first order days, first seen, subscribed.
CREATE INDEX customer_totals_last_day_idx ON core.customer_totals (last_day);
CREATE INDEX customer_totals_first_day_idx ON core.customer_totals (first_day) WHERE orders = 1;
CREATE INDEX customers_first_seen_idx ON core.customers (first_seen_at);
CREATE INDEX customers_subscribed_idx ON core.customers (subscribed_at);
