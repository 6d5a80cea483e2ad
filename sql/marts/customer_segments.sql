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

WITH days AS (
    SELECT generate_series(current_setting('marts.first_day')::date,
                           current_setting('marts.last_day')::date, interval '1 day')::date AS as_of
), stats AS (
    SELECT d.as_of, o.customer_id, count(*) AS orders, max(o.order_date) AS last_order_date,
           max(o.ordered_at) AS last_order_at, min(o.order_date) AS first_order_date,
           coalesce(sum(o.net_revenue) FILTER (WHERE o.order_date > d.as_of - 365), 0) AS revenue_365d
    FROM days d
    JOIN core.orders o ON o.order_date <= d.as_of
    WHERE o.customer_id IS NOT NULL AND o.is_counted
    GROUP BY d.as_of, o.customer_id
), people AS (
    SELECT d.as_of, c.customer_id, (c.subscribed_at AT TIME ZONE current_setting('marts.tz'))::date AS subscribed_on
    FROM days d
    JOIN core.customers c ON (c.first_seen_at AT TIME ZONE current_setting('marts.tz'))::date <= d.as_of
), flags AS (
    SELECT p.as_of, p.customer_id, coalesce(s.orders, 0) AS orders, coalesce(s.revenue_365d, 0) AS revenue_365d,
           s.last_order_at,
           coalesce(s.orders, 0) = 0 AND p.subscribed_on > p.as_of - current_setting('marts.new_days')::int
               AND p.subscribed_on <= p.as_of AS is_new_subscriber,
           s.orders = 1 AND s.first_order_date > p.as_of - current_setting('marts.new_days')::int AS is_new_customer,
           coalesce(s.orders >= 2, false) AS is_repeat,
           CASE WHEN s.orders IS NULL THEN 'prospect'
                WHEN p.as_of - s.last_order_date <= current_setting('marts.active_days')::int THEN 'active'
                WHEN p.as_of - s.last_order_date <= current_setting('marts.lapsed_days')::int THEN 'at_risk'
                ELSE 'lapsed' END AS lifecycle,
           p.subscribed_on
    FROM people p LEFT JOIN stats s USING (as_of, customer_id)
), typed AS (
    SELECT f.*,
           coalesce(f.is_new_customer, false) AS new_customer,
           f.lifecycle = 'active' AND f.orders >= current_setting('marts.vip_min_orders')::int
               AND f.revenue_365d >= current_setting('marts.vip_min_revenue')::numeric AS vip,
           f.orders = 1 AND NOT coalesce(f.is_new_customer, false) AS one_time
    FROM flags f
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
