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

-- Every email touch is at or before its order and the order's own source is at its moment and wins
-- a tie, so only email touches need ranking: the last touch is the order's own source when it has
-- one, else its latest email touch; the first is its earliest email touch when that is earlier than
-- the order (or the order has no source of its own), else its own source. Email touches are a
-- fraction of the orders: ranking them alone sorts that fraction, not a row per order as well.
-- At the same instant email touches are ranked by platform, campaign, flow, so every rebuild agrees.
-- The settings are read once (scalar subqueries), not again for every pair the join compares.
WITH email_touches AS (
    SELECT o.order_key, e.occurred_at AS touch_at, e.platform,
           coalesce(e.campaign_name, e.campaign_id) AS campaign, coalesce(e.flow_name, e.flow_id) AS flow
    FROM attribution_orders o
    JOIN core.email_events e
      ON e.customer_id = o.customer_id
     AND (e.event_type = 'click' OR (e.event_type = 'open' AND (SELECT current_setting('marts.attribution_opens')::boolean)))
     AND e.occurred_at >= o.ordered_at - (SELECT make_interval(secs => current_setting('marts.attribution_window_seconds')::int))
     AND e.occurred_at <= o.ordered_at
    WHERE o.is_counted
), email AS (   -- per order: its earliest email touch, and the latest beside it (one sort)
    SELECT DISTINCT ON (order_key) order_key,
           touch_at AS f_at, platform AS f_platform, campaign AS f_campaign, flow AS f_flow,
           last_value(touch_at) OVER w AS l_at, last_value(platform) OVER w AS l_platform,
           last_value(campaign) OVER w AS l_campaign, last_value(flow) OVER w AS l_flow
    FROM email_touches
    WINDOW w AS (PARTITION BY order_key ORDER BY touch_at, platform, campaign, flow
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ORDER BY order_key, touch_at, platform, campaign, flow
), ranked AS (
    SELECT o.order_key, o.order_date, o.channel, o.net_revenue, o.ordered_at, o.utm_campaign,
           coalesce(o.utm_source, CASE WHEN o.channel = 'tiktok_shop' THEN 'tiktok' END) AS own_source,
           coalesce(o.utm_medium, CASE WHEN o.channel = 'tiktok_shop' THEN 'shop' END) AS own_medium,
           core.channel_group(o.channel, o.utm_source, o.utm_medium) AS own_channel,
           o.utm_source,
           e.f_at, e.f_platform, e.f_campaign, e.f_flow, e.l_at, e.l_platform, e.l_campaign, e.l_flow,
           own.own,
           e.f_at IS NOT NULL AND (NOT own.own OR e.f_at < o.ordered_at) AS email_first,
           e.l_at IS NOT NULL AND NOT own.own AS email_last
    FROM attribution_orders o
    CROSS JOIN LATERAL (SELECT o.channel = 'tiktok_shop'
                               OR (o.utm_source IS NOT NULL AND o.utm_source NOT IN ('', '(direct)')) AS own) own
    LEFT JOIN email e USING (order_key)
    WHERE o.is_counted
    OFFSET 0   -- each column computed once per order, not again wherever the CASEs below name it
)
INSERT INTO marts.attribution (order_key, order_date, channel, net_revenue, first_touch_at,
                               first_touch_channel, first_touch_source, first_touch_medium,
                               first_touch_campaign, first_touch_platform, first_touch_flow, last_touch_at,
                               last_touch_channel, last_touch_source, last_touch_medium, last_touch_campaign,
                               last_touch_platform, last_touch_flow)
SELECT order_key, order_date, channel, net_revenue,
       CASE WHEN email_first THEN f_at WHEN own THEN ordered_at END,
       coalesce(CASE WHEN email_first THEN 'email' WHEN own THEN own_channel END, 'direct'),
       CASE WHEN email_first THEN f_platform WHEN own THEN own_source END,
       CASE WHEN email_first THEN 'email' WHEN own THEN own_medium END,
       CASE WHEN email_first THEN f_campaign WHEN own THEN utm_campaign END,
       CASE WHEN email_first THEN f_platform WHEN own AND own_channel = 'email' THEN lower(utm_source) END,
       CASE WHEN email_first THEN f_flow END,
       CASE WHEN email_last THEN l_at WHEN own THEN ordered_at END,
       coalesce(CASE WHEN email_last THEN 'email' WHEN own THEN own_channel END, 'direct'),
       CASE WHEN email_last THEN l_platform WHEN own THEN own_source END,
       CASE WHEN email_last THEN 'email' WHEN own THEN own_medium END,
       CASE WHEN email_last THEN l_campaign WHEN own THEN utm_campaign END,
       CASE WHEN email_last THEN l_platform WHEN own AND own_channel = 'email' THEN lower(utm_source) END,
       CASE WHEN email_last THEN l_flow END
FROM ranked;
DROP VIEW attribution_orders;
DO $$
BEGIN
    IF NOT current_setting('marts.incremental')::boolean THEN
        PERFORM marts.restore_indexes('marts.attribution');
    END IF;
END $$;
