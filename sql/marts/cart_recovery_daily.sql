-- marts.cart_recovery_daily: cart recovery per abandonment day (brand-local), channel and step.
-- A cart is recovered when its customer (same email) orders, on any channel, within the
-- attribution window after one of its recovery emails; the recovery is credited to the last
-- email sent before that first order. "After click" = a recovery email of the cart was clicked
-- before the order. Parameters: as_of, idle, attribution, horizon (intervals), tz, platform
-- (boolean), flows (lower-cased names or ids of the platform's recovery flows).
-- The emails: the project's own (ops.recovery_outbox, recovery links clicked) or, in platform-flow
-- mode, the platform's flow (Klaviyo flow events, Customer.io campaign deliveries), each matched
-- to the person's latest cart started before it and within the horizon; its step is its rank there.
INSERT INTO marts.cart_recovery_daily (day, channel, step, carts_abandoned, carts_emailable, emails_sent,
    carts_clicked, recovered_carts, recovered_after_click, recovered_without_click, recovered_revenue,
    recovery_rate, attribution_days)
WITH flows AS (
    SELECT 'klaviyo' AS platform, flow_id AS id FROM raw.klaviyo_flows
    WHERE %(platform)s AND (lower(name) = ANY(%(flows)s) OR lower(flow_id) = ANY(%(flows)s))
    UNION ALL
    SELECT 'customerio', object_id::text FROM raw.customerio_campaigns
    WHERE %(platform)s AND kind = 'campaign' AND (lower(name) = ANY(%(flows)s) OR object_id::text = ANY(%(flows)s))
), platform_events AS (  -- the flow's emails and clicks: (email, kind: sent | click, at)
    SELECT core.norm_email(p.email) AS email, CASE e.metric_name WHEN 'Received Email' THEN 'sent' ELSE 'click' END AS kind,
           e.occurred_at AS at
    FROM raw.klaviyo_events e
    JOIN flows f ON f.platform = 'klaviyo' AND f.id = e.flow_id
    JOIN raw.klaviyo_profiles p ON p.profile_id = e.profile_id
    WHERE %(platform)s AND e.metric_name IN ('Received Email', 'Clicked Email')
    UNION ALL
    SELECT d.email, k.kind, k.at
    FROM (SELECT DISTINCT ON (delivery_id) delivery_id, core.norm_email(coalesce(email, recipient)) AS email,
                 sent_at, clicked_at, campaign_id
          FROM raw.customerio_deliveries WHERE %(platform)s  -- nothing is read in the other modes
          ORDER BY delivery_id, partition_date DESC) d
    JOIN flows f ON f.platform = 'customerio' AND f.id = d.campaign_id::text
    CROSS JOIN LATERAL (VALUES ('sent', d.sent_at), ('click', d.clicked_at)) AS k(kind, at)
    WHERE k.at IS NOT NULL
), platform_matched AS (  -- each platform event with the cart it is about
    SELECT m.cart_id, e.kind, e.at
    FROM platform_events e
    CROSS JOIN LATERAL (
        SELECT c.cart_id FROM ops.carts c
        WHERE c.email = e.email AND c.created_at < e.at AND c.created_at >= e.at - %(horizon)s::interval
        ORDER BY c.created_at DESC LIMIT 1
    ) m
), platform_sent AS (
    SELECT cart_id, row_number() OVER (PARTITION BY cart_id ORDER BY at)::smallint AS step, at AS sent_at
    FROM platform_matched WHERE kind = 'sent'
), sent AS (
    SELECT cart_id, step, sent_at FROM ops.recovery_outbox WHERE status = 'sent' AND NOT %(platform)s
    UNION ALL
    SELECT cart_id, step, sent_at FROM platform_sent
), clicks AS (  -- (cart, step, time): our recovery links, or the platform's clicks (step: the email before)
    SELECT cart_id, step, clicked_at FROM ops.recovery_clicks WHERE NOT %(platform)s
    UNION ALL
    SELECT k.cart_id, s.step, k.at
    FROM platform_matched k
    CROSS JOIN LATERAL (SELECT step FROM platform_sent s WHERE s.cart_id = k.cart_id AND s.sent_at <= k.at
                        ORDER BY s.sent_at DESC LIMIT 1) s
    WHERE k.kind = 'click'
), carts AS (
    SELECT c.cart_id, c.channel, c.email,
           (coalesce(c.abandoned_at, c.last_activity_at) AT TIME ZONE %(tz)s)::date AS day
    FROM ops.carts c
    WHERE c.abandoned_at IS NOT NULL
       OR (c.converted_at IS NULL AND c.item_count > 0 AND c.last_activity_at <= %(as_of)s - %(idle)s::interval)
       OR c.cart_id IN (SELECT cart_id FROM platform_sent)
), orders AS (
    SELECT DISTINCT ON (order_id) order_id, email, ordered_at, total FROM (
        SELECT order_id, email, created_at AS ordered_at, total FROM raw.website_orders
        UNION ALL
        SELECT order_id, email, converted_at, order_total FROM ops.carts
        WHERE converted_at IS NOT NULL AND email IS NOT NULL AND order_id IS NOT NULL
        UNION ALL
        SELECT order_id, lower(buyer_email), coalesce(paid_at, created_at), total_amount FROM raw.tiktok_shop_orders
        WHERE status NOT IN ('UNPAID', 'CANCELLED') AND buyer_email IS NOT NULL
    ) u
    ORDER BY order_id, ordered_at
), recovered AS (
    SELECT DISTINCT ON (c.cart_id) c.cart_id, e.step, o.ordered_at, coalesce(o.total, 0) AS total,
           EXISTS (SELECT 1 FROM clicks k WHERE k.cart_id = c.cart_id AND k.clicked_at <= o.ordered_at)
               AS after_click
    FROM carts c
    JOIN sent e ON e.cart_id = c.cart_id
    JOIN orders o ON o.email = c.email AND o.ordered_at > e.sent_at
                 AND o.ordered_at <= e.sent_at + %(attribution)s::interval
    ORDER BY c.cart_id, o.ordered_at, e.sent_at DESC
), clicked AS (
    SELECT DISTINCT cart_id, step FROM clicks
), per_step AS (
    SELECT c.day, c.channel, e.step, count(*) AS carts, count(*) AS emailable, count(*) AS emails,
           count(*) FILTER (WHERE k.cart_id IS NOT NULL) AS clicked,
           count(r.cart_id) AS recovered, count(r.cart_id) FILTER (WHERE r.after_click) AS after_click,
           coalesce(sum(r.total), 0) AS revenue
    FROM carts c
    JOIN sent e ON e.cart_id = c.cart_id
    LEFT JOIN clicked k ON k.cart_id = e.cart_id AND k.step = e.step
    LEFT JOIN recovered r ON r.cart_id = e.cart_id AND r.step = e.step
    GROUP BY c.day, c.channel, e.step
), whole AS (
    SELECT c.day, c.channel, 0::smallint AS step, count(*) AS carts,
           count(*) FILTER (WHERE c.email IS NOT NULL) AS emailable,
           coalesce(sum(s.n), 0) AS emails,
           count(*) FILTER (WHERE c.cart_id IN (SELECT cart_id FROM clicked)) AS clicked,
           count(r.cart_id) AS recovered, count(r.cart_id) FILTER (WHERE r.after_click) AS after_click,
           coalesce(sum(r.total), 0) AS revenue
    FROM carts c
    LEFT JOIN (SELECT cart_id, count(*) AS n FROM sent GROUP BY cart_id) s ON s.cart_id = c.cart_id
    LEFT JOIN recovered r ON r.cart_id = c.cart_id
    GROUP BY c.day, c.channel
)
SELECT day, channel, step, carts, emailable, emails, clicked, recovered, after_click, recovered - after_click,
       revenue, round(recovered::numeric / nullif(CASE WHEN step = 0 THEN carts ELSE emails END, 0), 4),
       extract(day FROM %(attribution)s::interval)::integer
FROM (SELECT * FROM whole UNION ALL SELECT * FROM per_step) t
