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
DELETE FROM marts.customer_segments
WHERE as_of BETWEEN current_setting('marts.first_day')::date AND current_setting('marts.last_day')::date;

-- Each person's counted orders up to each day. One day (the daily snapshot): core.customer_totals
-- (one row per customer, kept by core_orders) for everyone whose orders all fall on or before the
-- day, the orders of the others read again (none on the latest day), and the 365 days' net revenue
-- from that year's orders only, whatever the length of the history. Several days (a backfill):
-- every order up to each day.
CREATE TEMP TABLE segment_stats (as_of date, customer_id text, orders bigint, last_order_date date,
                                 last_order_at timestamptz, first_order_date date, revenue_365d numeric)
    ON COMMIT DROP;
DO $$
DECLARE
    one_day date := current_setting('marts.first_day')::date;
BEGIN
    IF one_day = current_setting('marts.last_day')::date THEN
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
        FROM (SELECT generate_series(current_setting('marts.first_day')::date,
                                     current_setting('marts.last_day')::date, interval '1 day')::date AS as_of) d
        JOIN core.orders o ON o.order_date <= d.as_of
        WHERE o.customer_id IS NOT NULL AND o.is_counted
        GROUP BY d.as_of, o.customer_id;
    END IF;
END $$;
ANALYZE segment_stats;

WITH days AS (
    SELECT generate_series(current_setting('marts.first_day')::date,
                           current_setting('marts.last_day')::date, interval '1 day')::date AS as_of
), conf AS MATERIALIZED (   -- the settings read once, not for every person
    SELECT current_setting('marts.tz') AS tz, current_setting('marts.new_days')::int AS new_days,
           current_setting('marts.active_days')::int AS active_days,
           current_setting('marts.lapsed_days')::int AS lapsed_days,
           current_setting('marts.vip_min_orders')::int AS vip_min_orders,
           current_setting('marts.vip_min_revenue')::numeric AS vip_min_revenue
), stats AS (
    SELECT * FROM segment_stats
), people AS (
    SELECT d.as_of, c.customer_id, (c.subscribed_at AT TIME ZONE conf.tz)::date AS subscribed_on
    FROM days d
    CROSS JOIN conf
    JOIN core.customers c ON (c.first_seen_at AT TIME ZONE conf.tz)::date <= d.as_of
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
    FROM people p CROSS JOIN conf LEFT JOIN stats s USING (as_of, customer_id)
), typed AS (
    SELECT f.*,
           coalesce(f.is_new_customer, false) AS new_customer,
           f.lifecycle = 'active' AND f.orders >= conf.vip_min_orders
               AND f.revenue_365d >= conf.vip_min_revenue AS vip,
           f.orders = 1 AND NOT coalesce(f.is_new_customer, false) AS one_time
    FROM flags f CROSS JOIN conf
)
INSERT INTO marts.customer_segments (as_of, customer_id, segment, is_new_subscriber, is_new_customer,
                                     is_repeat, is_vip, lifecycle, is_one_time_buyer, orders, revenue_365d,
                                     last_order_at)
SELECT as_of, customer_id,
       CASE WHEN coalesce(is_new_subscriber, false) THEN 'new_subscriber'
            WHEN new_customer THEN 'new_customer'
            WHEN vip THEN 'vip'
            WHEN lifecycle = 'lapsed' THEN 'lapsed'
            WHEN lifecycle = 'at_risk' THEN 'at_risk'
            WHEN is_repeat THEN 'repeat'
            WHEN one_time THEN 'one_time_buyer'
            WHEN subscribed_on IS NOT NULL THEN 'subscriber'
            ELSE 'prospect' END,
       coalesce(is_new_subscriber, false), new_customer, is_repeat, vip, lifecycle, one_time,
       orders, revenue_365d, last_order_at
FROM typed;
