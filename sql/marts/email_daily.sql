-- marts.email_daily: per day and email platform, from core.email_events; conversions and revenue
-- are orders whose last touch (marts.attribution) was that platform's email.
-- A refresh rewrites the days core.email_events or marts.attribution changed (scope_days; the
-- refresh_* views: their rows); a full rebuild every day.
DELETE FROM marts.email_daily
WHERE NOT current_setting('marts.incremental')::boolean OR day IN (SELECT day FROM scope_days);

-- Recipients are counted from the distinct (day, platform, email) first: both aggregates then hash,
-- where count(DISTINCT) would sort every event (spilling at millions). Selected by CREATE TABLE AS,
-- which PostgreSQL runs in parallel (INSERT ... SELECT runs in one process), then appended.
CREATE TEMP TABLE email_daily_new (day, platform, sent, delivered, opens, clicks, unsubscribes, bounces,
                                   recipients, conversions, revenue)
ON COMMIT DROP AS
WITH counts AS (
    SELECT event_date AS day, platform,
           count(*) FILTER (WHERE event_type = 'sent') AS sent,
           count(*) FILTER (WHERE event_type = 'delivered') AS delivered,
           count(*) FILTER (WHERE event_type = 'open') AS opens,
           count(*) FILTER (WHERE event_type = 'click') AS clicks,
           count(*) FILTER (WHERE event_type = 'unsubscribe') AS unsubscribes,
           count(*) FILTER (WHERE event_type = 'bounce') AS bounces
    FROM refresh_email_events GROUP BY 1, 2
), recipients AS (
    SELECT day, platform, count(*) AS recipients
    FROM (SELECT DISTINCT event_date AS day, platform, email FROM refresh_email_events
          WHERE event_type IN ('sent', 'delivered') AND email IS NOT NULL) r
    GROUP BY 1, 2
), events AS (
    SELECT day, platform, c.sent, c.delivered, c.opens, c.clicks, c.unsubscribes, c.bounces,
           coalesce(r.recipients, 0) AS recipients
    FROM counts c LEFT JOIN recipients r USING (day, platform)
), conv AS (
    SELECT order_date AS day, last_touch_platform AS platform, count(*) AS conversions, sum(net_revenue) AS revenue
    FROM refresh_attribution WHERE last_touch_platform IS NOT NULL GROUP BY 1, 2
)
SELECT day, platform, coalesce(e.sent, 0), coalesce(e.delivered, 0), coalesce(e.opens, 0), coalesce(e.clicks, 0),
       coalesce(e.unsubscribes, 0), coalesce(e.bounces, 0), coalesce(e.recipients, 0),
       coalesce(c.conversions, 0), coalesce(c.revenue, 0)
FROM events e FULL JOIN conv c USING (day, platform);
INSERT INTO marts.email_daily TABLE email_daily_new;
DROP TABLE email_daily_new;
