-- marts.attribution: one model for every channel. An order's touches are
--   * the order's own traffic source (its UTM source/medium/campaign; TikTok Shop for TikTok
--     orders), at the moment of the order;
--   * the customer's email clicks (and opens when marts.attribution_opens is on) on any platform,
--     at most marts.attribution_window_seconds (default 5 days) before the order, inclusive.
-- First touch = the earliest touch, last touch = the latest; at the same instant the order's own
-- source wins. An order without touches is 'direct'. GA4 reports only daily aggregates (no user
-- or order ids), so it feeds sessions and the funnel, not order-level touches.
-- Only counted orders (core.orders.is_counted) are rows here: no reader filters again.
-- A refresh rewrites the orders of the days core.orders changed, and of the days an email event
-- changed up to the window after it (scope_changed: those days, logged for email_daily); a full
-- rebuild fills the emptied table without key and index, built once afterwards (faster than
-- maintaining them row by row). attribution_orders: the orders to attribute.
DO $$
BEGIN
    IF current_setting('marts.incremental')::boolean THEN
        INSERT INTO scope_changed
        SELECT day FROM scope_days WHERE key = 'day'
        UNION
        SELECT d.day + g
        FROM scope_days d,
             generate_series(0, ceil(current_setting('marts.attribution_window_seconds')::numeric / 86400)::int + 1) g
        WHERE d.key = 'email';
        ANALYZE scope_changed;
        DELETE FROM marts.attribution WHERE order_date IN (SELECT day FROM scope_changed);
        CREATE TEMP VIEW attribution_orders AS
        SELECT * FROM core.orders WHERE order_date IN (SELECT day FROM scope_changed);
    ELSE
        TRUNCATE marts.attribution;
        PERFORM marts.set_aside_indexes('marts.attribution');
        CREATE TEMP VIEW attribution_orders AS SELECT * FROM core.orders;
    END IF;
END $$;

WITH touches AS (
    SELECT o.order_key, o.ordered_at AS touch_at, 1 AS tie,
           core.channel_group(o.channel, o.utm_source, o.utm_medium) AS channel,
           coalesce(o.utm_source, CASE WHEN o.channel = 'tiktok_shop' THEN 'tiktok' END) AS source,
           coalesce(o.utm_medium, CASE WHEN o.channel = 'tiktok_shop' THEN 'shop' END) AS medium,
           o.utm_campaign AS campaign,
           CASE WHEN core.channel_group(o.channel, o.utm_source, o.utm_medium) = 'email'
                THEN lower(o.utm_source) END AS platform,
           NULL::text AS flow
    FROM attribution_orders o
    WHERE o.channel = 'tiktok_shop' OR (o.utm_source IS NOT NULL AND o.utm_source NOT IN ('', '(direct)'))
    UNION ALL
    SELECT o.order_key, e.occurred_at, 2, 'email', e.platform, 'email',
           coalesce(e.campaign_name, e.campaign_id), e.platform, coalesce(e.flow_name, e.flow_id)
    FROM attribution_orders o
    JOIN core.email_events e
      ON e.customer_id = o.customer_id
     AND (e.event_type = 'click' OR (e.event_type = 'open' AND current_setting('marts.attribution_opens')::boolean))
     AND e.occurred_at >= o.ordered_at - make_interval(secs => current_setting('marts.attribution_window_seconds')::int)
     AND e.occurred_at <= o.ordered_at
), firsts AS (   -- byte order ("C") to group by order: the same groups, a cheaper sort
    SELECT DISTINCT ON (order_key COLLATE "C") * FROM touches ORDER BY order_key COLLATE "C", touch_at, tie
), lasts AS (
    SELECT DISTINCT ON (order_key COLLATE "C") * FROM touches ORDER BY order_key COLLATE "C", touch_at DESC, tie
)
INSERT INTO marts.attribution (order_key, order_date, channel, net_revenue, first_touch_at,
                               first_touch_channel, first_touch_source, first_touch_medium,
                               first_touch_campaign, first_touch_platform, first_touch_flow, last_touch_at,
                               last_touch_channel, last_touch_source, last_touch_medium, last_touch_campaign,
                               last_touch_platform, last_touch_flow)
SELECT o.order_key, o.order_date, o.channel, o.net_revenue,
       f.touch_at, coalesce(f.channel, 'direct'), f.source, f.medium, f.campaign, f.platform, f.flow,
       l.touch_at, coalesce(l.channel, 'direct'), l.source, l.medium, l.campaign, l.platform, l.flow
FROM attribution_orders o
LEFT JOIN firsts f USING (order_key)
LEFT JOIN lasts l USING (order_key)
WHERE o.is_counted;
DROP VIEW attribution_orders;
DO $$
BEGIN
    IF NOT current_setting('marts.incremental')::boolean THEN
        PERFORM marts.restore_indexes('marts.attribution');
    END IF;
END $$;
