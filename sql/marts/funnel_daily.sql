-- marts.funnel_daily: the path from attention to repeat purchase, per day and channel.
--   tiktok : 1 video views, 2 engagements, 3 shop clicks (core.content_daily),
--            5 add to cart, 6 checkout started (ops.carts), 7 orders, 8 repeat orders (core.orders)
--   website: 4 sessions (core.sessions, GA4), 5 add to cart, 6 checkout started (ops.carts),
--            7 orders, 8 repeat orders
-- Orders are counted orders (core.orders.is_counted), as in marts.channel_daily.
-- A stage whose source did not cover the day (marts.source_coverage) is NULL, not 0.
-- Conversion and drop-off between stages are computed over any date range by the readers
-- (the dashboard): ratios of sums over the range, never averages of daily ratios.
-- A refresh rewrites the days whose inputs changed: the days core.orders, core.sessions,
-- core.content_daily or a source's coverage status changed (scope_days), the days whose cart counts
-- differ from the stored ones (carts have no change log: counted whole, a small table), and the
-- days that joined the range; days that left it are deleted. A full rebuild writes every day.
CREATE TEMP TABLE funnel_carts ON COMMIT DROP AS
SELECT (created_at AT TIME ZONE current_setting('marts.tz'))::date AS day,
       CASE WHEN channel = 'tiktok_shop' THEN 'tiktok' ELSE 'website' END AS channel,
       count(*) AS add_to_carts, count(checkout_started_at) AS checkouts
FROM ops.carts GROUP BY 1, 2;

CREATE TEMP TABLE funnel_days ON COMMIT DROP AS
WITH range AS (   -- every day from the first to the last day any source loaded: gaps included
    SELECT generate_series(min(day), max(day), interval '1 day')::date AS day
    FROM marts.source_coverage WHERE status = 'loaded'
)
SELECT day FROM range
WHERE NOT current_setting('marts.incremental')::boolean
   OR day IN (SELECT day FROM scope_days)
   OR day NOT IN (SELECT day FROM marts.funnel_daily)
   OR day IN (SELECT f.day FROM marts.funnel_daily f
              LEFT JOIN funnel_carts c ON c.day = f.day AND c.channel = f.channel
              WHERE f.stage_no IN (5, 6) AND f.value IS NOT NULL
                AND f.value <> coalesce(CASE f.stage_no WHEN 5 THEN c.add_to_carts ELSE c.checkouts END, 0));
ANALYZE funnel_days;

DELETE FROM marts.funnel_daily f
WHERE f.day IN (SELECT day FROM funnel_days)
   OR f.day NOT BETWEEN (SELECT min(day) FROM marts.source_coverage WHERE status = 'loaded')
                    AND (SELECT max(day) FROM marts.source_coverage WHERE status = 'loaded')
   OR NOT EXISTS (SELECT 1 FROM marts.source_coverage WHERE status = 'loaded');

WITH days AS (
    SELECT day FROM funnel_days
), covered AS (
    SELECT day, source, status = 'loaded' AS ok FROM marts.source_coverage WHERE day IN (SELECT day FROM funnel_days)
), content AS (
    SELECT content_date AS day, sum(views) AS views, sum(engagements) AS engagements, sum(shop_clicks) AS shop_clicks
    FROM core.content_daily WHERE content_date IN (SELECT day FROM funnel_days) GROUP BY 1
), sessions AS (
    SELECT session_date AS day, sum(sessions) AS sessions, sum(add_to_carts) AS add_to_carts, sum(checkouts) AS checkouts
    FROM core.sessions WHERE session_date IN (SELECT day FROM funnel_days) GROUP BY 1
), carts AS (
    SELECT * FROM funnel_carts
), orders AS (
    SELECT order_date AS day, CASE WHEN channel = 'tiktok_shop' THEN 'tiktok' ELSE 'website' END AS channel,
           count(*) AS orders, count(*) FILTER (WHERE customer_order_number > 1) AS repeat_orders
    FROM core.orders WHERE is_counted AND order_date IN (SELECT day FROM funnel_days) GROUP BY 1, 2
), stages AS (
    SELECT d.day, 'tiktok' AS channel, 1 AS stage_no, 'video views' AS stage, c.views AS value, 'tiktok_content' AS src FROM days d LEFT JOIN content c USING (day)
    UNION ALL SELECT d.day, 'tiktok', 2, 'engagements', c.engagements, 'tiktok_content' FROM days d LEFT JOIN content c USING (day)
    UNION ALL SELECT d.day, 'tiktok', 3, 'shop clicks', c.shop_clicks, 'tiktok_content' FROM days d LEFT JOIN content c USING (day)
    UNION ALL SELECT d.day, 'tiktok', 7, 'orders', coalesce(o.orders, 0), 'tiktok_shop' FROM days d LEFT JOIN orders o ON o.day = d.day AND o.channel = 'tiktok'
    UNION ALL SELECT d.day, 'tiktok', 8, 'repeat orders', coalesce(o.repeat_orders, 0), 'tiktok_shop' FROM days d LEFT JOIN orders o ON o.day = d.day AND o.channel = 'tiktok'
    UNION ALL SELECT d.day, 'website', 4, 'sessions', s.sessions, 'ga4' FROM days d LEFT JOIN sessions s USING (day)
    UNION ALL SELECT d.day, ch.channel, 5, 'add to cart', c.add_to_carts, 'carts'
              FROM days d CROSS JOIN (VALUES ('tiktok'), ('website')) ch(channel) LEFT JOIN carts c ON c.day = d.day AND c.channel = ch.channel
    UNION ALL SELECT d.day, ch.channel, 6, 'checkout started', c.checkouts, 'carts'
              FROM days d CROSS JOIN (VALUES ('tiktok'), ('website')) ch(channel) LEFT JOIN carts c ON c.day = d.day AND c.channel = ch.channel
    UNION ALL SELECT d.day, 'website', 7, 'orders', coalesce(o.orders, 0), 'website' FROM days d LEFT JOIN orders o ON o.day = d.day AND o.channel = 'website'
    UNION ALL SELECT d.day, 'website', 8, 'repeat orders', coalesce(o.repeat_orders, 0), 'website' FROM days d LEFT JOIN orders o ON o.day = d.day AND o.channel = 'website'
)
INSERT INTO marts.funnel_daily (day, channel, stage_no, stage, value)
SELECT s.day, s.channel, s.stage_no, s.stage, CASE WHEN coalesce(c.ok, false) THEN coalesce(s.value, 0) END
FROM stages s LEFT JOIN covered c ON c.day = s.day AND c.source = s.src;
