-- marts.customer_segments: every known person as of each day in [marts.first_day, marts.last_day].
-- Counted orders are neither cancelled nor fully refunded. Thresholds (days and money) come from
-- configuration (MARTS_* variables, see README "Models and dashboard"):
--   lifecycle      prospect (no order) | active (last order <= active_days ago)
--                  | at_risk (<= lapsed_days) | lapsed (older)
--   new_subscriber no order, subscribed within new_days
--   new_customer   exactly one order, placed within new_days
--   repeat         two or more orders
--   vip            active, >= vip_min_orders orders and >= vip_min_revenue net revenue in the last 365 days
--   one_time_buyer exactly one order, placed before the new_days window
-- Primary segment, first match wins: new_subscriber, new_customer, vip, lapsed, at_risk, repeat,
-- one_time_buyer, subscriber (a prospect who subscribed earlier), prospect.
--
-- The rows are computed here into segment_rows; customer_segments_predictions.sql adds the
-- prediction flags and customer_segments_store.sql folds them into marts.customer_segment_spans
-- (migration 210), which the view marts.customer_segments reads. Four ways, in marts.segments_mode:
--   changes  one day after the latest written one, with the same settings and prediction fit as it:
--            only the customers whose row can differ from that day's are computed, those whose
--            core.customers or core.customer_totals rows were written since (logged by triggers in
--            marts.customer_segment_touched) and those the date alone moves (an order leaves the
--            365 days, a last order passes active_days or lapsed_days, a first order or a
--            subscription leaves new_days, a person first seen or subscribed since), found by index.
--   day      one day after the latest written one otherwise: every person.
--   again    the latest written day again (after a full rebuild, a rerun): every person, and only
--            the rows that differ from its spans are written.
--   days     any other days (a backfill, a past day written again): every person on every day.
CREATE TEMP TABLE segment_candidates (customer_id text PRIMARY KEY) ON COMMIT DROP;
CREATE TEMP TABLE segment_stats (as_of date, customer_id text, orders bigint, last_order_date date,
                                 last_order_at timestamptz, first_order_date date, revenue_365d numeric)
    ON COMMIT DROP;
DO $$
DECLARE
    from_day date := current_setting('marts.first_day')::date;
    one_day date := current_setting('marts.last_day')::date;
    written date := (SELECT max(as_of) FROM marts.customer_segment_days);
    prev date;   -- the day the open spans are the rows of, in mode changes
    tz text := current_setting('marts.tz');
    new_days int := current_setting('marts.new_days')::int;
    active_days int := current_setting('marts.active_days')::int;
    lapsed_days int := current_setting('marts.lapsed_days')::int;
    mode text := 'days';
    seen bigint := (SELECT coalesce(max(id), 0) FROM marts.customer_segment_touched);
BEGIN
    IF from_day > one_day THEN
        RAISE EXCEPTION 'customer_segments: first day % is after the last day %', from_day, one_day;
    END IF;
    IF from_day = one_day AND (written IS NULL OR one_day > written) THEN
        mode := 'day';
        SELECT s.as_of INTO prev FROM marts.customer_segment_state s
        WHERE s.as_of = written AND s.settings = marts.segment_settings()
          AND s.fit IS NOT DISTINCT FROM marts.segment_fit(one_day);
        IF prev IS NOT NULL AND NOT EXISTS (SELECT 1 FROM marts.customer_segment_touched
                                            WHERE customer_id IS NULL AND id <= seen) THEN
            mode := 'changes';
        END IF;
    ELSIF from_day = one_day AND one_day = written THEN
        mode := 'again';
    END IF;
    PERFORM set_config('marts.segments_mode', mode, true);
    PERFORM set_config('marts.segments_seen', seen::text, true);

    IF mode = 'changes' THEN
        INSERT INTO segment_candidates
        SELECT customer_id FROM marts.customer_segment_touched WHERE id <= seen AND customer_id IS NOT NULL
        UNION
        SELECT customer_id FROM core.customers WHERE first_seen_at >= prev::timestamp AT TIME ZONE tz
        UNION
        SELECT customer_id FROM core.customers
        WHERE subscribed_at >= (prev - new_days - 1)::timestamp AT TIME ZONE tz
        UNION
        SELECT customer_id FROM core.customer_totals
        WHERE last_day >= one_day
           OR last_day BETWEEN prev - active_days - 1 AND one_day - active_days + 1
           OR last_day BETWEEN prev - lapsed_days - 1 AND one_day - lapsed_days + 1
        UNION
        SELECT customer_id FROM core.customer_totals
        WHERE orders = 1 AND first_day BETWEEN prev - new_days - 1 AND one_day - new_days + 1
        UNION
        SELECT customer_id FROM core.orders   -- orders leaving the 365 days
        WHERE order_date BETWEEN prev - 366 AND one_day - 365 AND customer_id IS NOT NULL;
        ANALYZE segment_candidates;
        INSERT INTO segment_stats
        WITH year AS (   -- each candidate's orders by index, not the year's orders
            SELECT c.customer_id,
                   (SELECT sum(o.net_revenue) FROM core.orders o
                    WHERE o.customer_id = c.customer_id AND o.order_date > one_day - 365
                      AND o.order_date <= one_day AND o.is_counted) AS revenue
            FROM segment_candidates c
        ), totals AS (
            SELECT customer_id, orders, last_day, last_at, first_day
            FROM core.customer_totals
            -- = ANY of the candidates' ids: a few thousand rows read by key, where IN is planned as a
            -- hash join over every customer's row
            WHERE last_day <= one_day AND customer_id = ANY (ARRAY(SELECT customer_id FROM segment_candidates))
            UNION ALL
            SELECT customer_id, count(*), max(order_date), max(ordered_at), min(order_date)
            FROM core.orders
            WHERE customer_id IN (SELECT customer_id FROM core.customer_totals
                                  WHERE last_day > one_day AND first_day <= one_day)
              AND order_date <= one_day AND is_counted
            GROUP BY customer_id
        )
        SELECT one_day, t.customer_id, t.orders, t.last_day, t.last_at, t.first_day, coalesce(y.revenue, 0)
        FROM totals t LEFT JOIN year y USING (customer_id);
    -- Each person's counted orders up to each day. One day: core.customer_totals (one row per
    -- customer, kept by core_orders) for everyone whose orders all fall on or before the day, the
    -- orders of the others read again (none on the latest day), and the 365 days' net revenue from
    -- that year's orders only, whatever the length of the history. Several days (a backfill):
    -- every order up to each day.
    ELSIF from_day = one_day THEN
        INSERT INTO segment_stats
        WITH year AS (
            SELECT customer_id, sum(net_revenue) AS revenue
            FROM core.orders
            WHERE order_date > one_day - 365 AND order_date <= one_day AND customer_id IS NOT NULL AND is_counted
            GROUP BY customer_id
        ), totals AS (
            SELECT customer_id, orders, last_day, last_at, first_day
            FROM core.customer_totals WHERE last_day <= one_day
            UNION ALL
            SELECT customer_id, count(*), max(order_date), max(ordered_at), min(order_date)
            FROM core.orders
            WHERE customer_id IN (SELECT customer_id FROM core.customer_totals
                                  WHERE last_day > one_day AND first_day <= one_day)
              AND order_date <= one_day AND is_counted
            GROUP BY customer_id
        )
        SELECT one_day, t.customer_id, t.orders, t.last_day, t.last_at, t.first_day, coalesce(y.revenue, 0)
        FROM totals t LEFT JOIN year y USING (customer_id);
    ELSE
        INSERT INTO segment_stats
        SELECT d.as_of, o.customer_id, count(*), max(o.order_date), max(o.ordered_at), min(o.order_date),
               coalesce(sum(o.net_revenue) FILTER (WHERE o.order_date > d.as_of - 365), 0)
        FROM (SELECT generate_series(from_day, one_day, interval '1 day')::date AS as_of) d
        JOIN core.orders o ON o.order_date <= d.as_of
        WHERE o.customer_id IS NOT NULL AND o.is_counted
        GROUP BY d.as_of, o.customer_id;
    END IF;
END $$;
ANALYZE segment_stats;

CREATE TEMP TABLE segment_rows ON COMMIT DROP AS
WITH days AS (
    SELECT generate_series(current_setting('marts.first_day')::date,
                           current_setting('marts.last_day')::date, interval '1 day')::date AS as_of
), conf AS MATERIALIZED (   -- the settings read once, not for every person
    SELECT current_setting('marts.tz') AS tz, current_setting('marts.new_days')::int AS new_days,
           current_setting('marts.active_days')::int AS active_days,
           current_setting('marts.lapsed_days')::int AS lapsed_days,
           current_setting('marts.vip_min_orders')::int AS vip_min_orders,
           current_setting('marts.vip_min_revenue')::numeric AS vip_min_revenue
), customers AS (
    SELECT customer_id, first_seen_at, subscribed_at FROM core.customers
    WHERE current_setting('marts.segments_mode') <> 'changes'
    UNION ALL
    SELECT customer_id, first_seen_at, subscribed_at FROM core.customers
    WHERE current_setting('marts.segments_mode') = 'changes'
      AND customer_id = ANY (ARRAY(SELECT customer_id FROM segment_candidates))   -- by key, as above
), people AS (
    SELECT d.as_of, c.customer_id, (c.subscribed_at AT TIME ZONE conf.tz)::date AS subscribed_on
    FROM days d
    CROSS JOIN conf
    JOIN customers c ON (c.first_seen_at AT TIME ZONE conf.tz)::date <= d.as_of
), flags AS (
    SELECT p.as_of, p.customer_id, coalesce(s.orders, 0) AS orders, coalesce(s.revenue_365d, 0) AS revenue_365d,
           s.last_order_at,
           coalesce(s.orders, 0) = 0 AND p.subscribed_on > p.as_of - conf.new_days
               AND p.subscribed_on <= p.as_of AS is_new_subscriber,
           s.orders = 1 AND s.first_order_date > p.as_of - conf.new_days AS is_new_customer,
           coalesce(s.orders >= 2, false) AS is_repeat,
           CASE WHEN s.orders IS NULL THEN 'prospect'
                WHEN p.as_of - s.last_order_date <= conf.active_days THEN 'active'
                WHEN p.as_of - s.last_order_date <= conf.lapsed_days THEN 'at_risk'
                ELSE 'lapsed' END AS lifecycle,
           p.subscribed_on
    FROM people p CROSS JOIN conf LEFT JOIN segment_stats s USING (as_of, customer_id)
), typed AS (
    SELECT f.*,
           coalesce(f.is_new_customer, false) AS new_customer,
           f.lifecycle = 'active' AND f.orders >= conf.vip_min_orders
               AND f.revenue_365d >= conf.vip_min_revenue AS vip,
           f.orders = 1 AND NOT coalesce(f.is_new_customer, false) AS one_time
    FROM flags f CROSS JOIN conf
)
SELECT as_of, customer_id,
       CASE WHEN coalesce(is_new_subscriber, false) THEN 'new_subscriber'
            WHEN new_customer THEN 'new_customer'
            WHEN vip THEN 'vip'
            WHEN lifecycle = 'lapsed' THEN 'lapsed'
            WHEN lifecycle = 'at_risk' THEN 'at_risk'
            WHEN is_repeat THEN 'repeat'
            WHEN one_time THEN 'one_time_buyer'
            WHEN subscribed_on IS NOT NULL THEN 'subscriber'
            ELSE 'prospect' END AS segment,
       coalesce(is_new_subscriber, false) AS is_new_subscriber, new_customer AS is_new_customer,
       is_repeat, vip AS is_vip, lifecycle, one_time AS is_one_time_buyer,
       orders::integer AS orders, revenue_365d, last_order_at,
       false AS likely_to_churn, false AS high_predicted_value
FROM typed;
ANALYZE segment_rows;
